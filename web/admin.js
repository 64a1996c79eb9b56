/*
 * shiptrack web: the operator page (admin.html).
 *
 * Flow: token from sessionStorage (this tab only; never localStorage, never the
 * URL) -> none: ask for it -> GET {api}/v1/stats and {api}/v1/orders with
 * `Authorization: Bearer <token>` -> table with filters and cursor paging
 * (a client-side stack of cursors makes "Previous" work) -> click an order ->
 * GET {api}/v1/orders/{id} in the detail panel (shipments, poll errors, events).
 * 401 anywhere forgets the token and asks again; 403 means the server has no
 * api_token configured. "Export CSV" writes the listed rows (RFC 4180) to a
 * Blob URL. API strings only ever reach the page through textContent.
 */
(function () {
  'use strict';

  var S = window.ShipTrack;
  var el = S.el;

  var TOKEN_KEY = 'shiptrack.operatorToken';

  var $ = S.$;
  var announce = S.announce;
  var dom = {
    live: $('live-status'),
    tokenView: $('token-view'), tokenForm: $('token-form'), tokenInput: $('token-input'), tokenError: $('token-error'),
    forget: $('forget-token'),
    appView: $('app-view'), notices: $('admin-notices'),
    statsBody: $('stats-body'),
    layout: $('admin-layout'),
    filters: $('filters'), status: $('filter-status'), stage: $('filter-stage'), stale: $('filter-stale'), limit: $('filter-limit'),
    exportCsv: $('export-csv'),
    tableRegion: document.querySelector('.table-scroll'), caption: $('orders-caption'), tbody: $('orders-body'),
    pageInfo: $('page-info'), prev: $('prev-page'), next: $('next-page'),
    detail: $('detail'), detailHeading: $('detail-heading'), detailBody: $('detail-body'), detailClose: $('detail-close')
  };

  /* The filters: one option per status and stage the pages have words for. */
  [[dom.status, S.STATUSES], [dom.stage, S.STAGES]].forEach(function (f) {
    f[1].forEach(function (code) { f[0].appendChild(el('option', { value: code, text: code })); });
  });

  var state = {
    token: null,
    cursors: [null],    /* cursor used for each page visited; last = current page */
    orders: [],
    nextCursor: null,
    selected: null,
    controllers: {}
  };

  /* ---------- token ---------- */

  function showTokenView(message) {
    dom.appView.hidden = true;
    dom.forget.hidden = true;
    dom.tokenView.hidden = false;
    dom.tokenInput.value = '';
    setTokenError(message || '');
    document.title = 'Sign in \u00b7 shiptrack operator';
    dom.tokenInput.focus();
  }

  function setTokenError(message) {
    dom.tokenError.textContent = message;
    dom.tokenError.hidden = !message;
    if (message) dom.tokenInput.setAttribute('aria-invalid', 'true');
    else dom.tokenInput.removeAttribute('aria-invalid');
  }

  function abortAll() {
    Object.keys(state.controllers).forEach(function (k) {
      if (state.controllers[k]) state.controllers[k].abort();
    });
    state.controllers = {};
  }

  /* Forget the token and everything shown with it. */
  function signOut(message) {
    abortAll();
    S.store.remove(TOKEN_KEY);
    state.token = null;
    state.orders = [];
    state.nextCursor = null;
    state.cursors = [null];
    state.selected = null;
    S.clear(dom.tbody);
    S.clear(dom.statsBody);
    S.clear(dom.notices);
    S.clear(dom.detailBody);
    dom.pageInfo.textContent = '';
    dom.caption.textContent = 'Orders, newest first';
    closeDetail(false);
    dom.exportCsv.disabled = true;
    dom.prev.disabled = true;
    dom.next.disabled = true;
    announce(message ? '' : 'Token forgotten.');
    showTokenView(message);
  }

  dom.tokenForm.addEventListener('submit', function (ev) {
    ev.preventDefault();
    var t = dom.tokenInput.value.trim();
    if (!t) { setTokenError('Enter the API token.'); dom.tokenInput.focus(); return; }
    /* HTTP header values must be printable ASCII here; anything else cannot be the token. */
    if (!/^[\x21-\x7e]+$/.test(t)) { setTokenError('The token can only contain printable ASCII characters, without spaces.'); dom.tokenInput.focus(); return; }
    state.token = t;
    if (!S.store.set(TOKEN_KEY, t)) {
      /* sessionStorage unavailable: keep it in memory for this page only. */
      announce('The token will be forgotten when this page reloads.');
    }
    dom.tokenInput.value = '';
    setTokenError('');
    startApp();
  });

  dom.forget.addEventListener('click', function () { signOut(''); });

  /* ---------- requests ---------- */

  /*
   * GET an operator route. Resolves to {ok: true, body} on 200, {ok: false,
   * status} for other failures (already shown as a notice), or null when
   * nothing more is to be done (401: signed out; superseded by a newer request).
   * `slot` names the request: a new request in the same slot aborts the old one.
   */
  function apiGet(slot, path, query, what) {
    if (state.controllers[slot]) state.controllers[slot].abort();
    var ctl = new AbortController();
    state.controllers[slot] = ctl;
    var token = state.token;
    return S.request(S.apiUrl(path, query), {
      headers: { Accept: 'application/json', Authorization: 'Bearer ' + token },
      cache: 'no-store',
      controller: ctl
    }, function (res) {
      return S.readJson(res).then(function (body) { return { status: res.status, body: body }; });
    }, function (timedOut) {
      return { status: 0, body: null, superseded: !timedOut && state.controllers[slot] !== ctl, timedOut: timedOut };
    }).then(function (r) {
      if (r.superseded || state.controllers[slot] !== ctl || state.token !== token) return null;
      delete state.controllers[slot];
      if (r.status === 200 && r.body && typeof r.body === 'object') { clearNotice(slot); return { ok: true, body: r.body }; }
      if (r.status === 401) { signOut('The token was not accepted. Enter it again.'); return null; }
      if (r.status === 403) {
        showNotice('config', 'error', 'Operator API not configured',
          'The server answered 403: no api_token is set (api_token in shiptrack.conf or SHIPTRACK_API_TOKEN).');
        return { ok: false, status: 403 };
      }
      var detail;
      if (r.status === 0) detail = r.timedOut ? 'The server did not answer in time.' : 'The server could not be reached.';
      else if (r.status === 200) detail = 'The answer was not valid JSON.';
      else {
        detail = 'HTTP ' + r.status;
        if (r.body && typeof r.body === 'object') {
          if (r.body.error) detail += ' \u00b7 ' + S.str(r.body.error);
          if (r.body.message) detail += ': ' + S.str(r.body.message);
        }
      }
      showNotice(slot, 'error', 'Couldn\u2019t load ' + what, detail);
      return { ok: false, status: r.status };
    });
  }

  function showNotice(source, tone, title, body) {
    clearNotice(source);
    var n = S.notice(tone, 'notice-' + source, title, body);
    n.setAttribute('data-source', source);
    n.setAttribute('role', 'alert');
    dom.notices.appendChild(n);
  }

  function clearNotice(source) {
    var old = dom.notices.querySelector('[data-source="' + source + '"]');
    if (old) old.remove();
  }

  /* ---------- stats ---------- */

  function loadStats() {
    return apiGet('stats', '/v1/stats', null, 'the summary').then(function (r) {
      if (r && r.ok) renderStats(r.body);
    });
  }

  function renderStats(body) {
    S.clear(dom.statsBody);
    if (typeof body !== 'object' || Array.isArray(body)) {
      dom.statsBody.appendChild(el('div', { class: 'card stats-group' }, S.renderValue(body)));
      return;
    }
    var scalars = {}, hasScalars = false;
    Object.keys(body).forEach(function (k) {
      var v = body[k];
      if (v === null || typeof v !== 'object') { scalars[k] = v; hasScalars = true; }
    });
    if (hasScalars) {
      dom.statsBody.appendChild(el('section', { class: 'card stats-group', testid: 'stats-group', 'data-key': '' }, [
        el('h3', { text: 'Overview' }), S.renderValue(scalars)
      ]));
    }
    Object.keys(body).forEach(function (k) {
      var v = body[k];
      if (v === null || typeof v !== 'object') return;
      dom.statsBody.appendChild(el('section', { class: 'card stats-group', testid: 'stats-group', 'data-key': k }, [
        el('h3', { text: k }), S.renderValue(v)
      ]));
    });
    if (!dom.statsBody.firstChild) dom.statsBody.appendChild(el('p', { class: 'muted', text: 'No figures.' }));
  }

  /* ---------- order list ---------- */

  function currentQuery() {
    return {
      status: dom.status.value,
      stage: dom.stage.value,
      stale: dom.stale.checked ? '1' : '',
      limit: dom.limit.value,
      cursor: state.cursors[state.cursors.length - 1]
    };
  }

  function setListBusy(busy) {
    dom.tableRegion.setAttribute('aria-busy', busy ? 'true' : 'false');
    dom.prev.disabled = busy || state.cursors.length <= 1;
    dom.next.disabled = busy || !state.nextCursor;
    /* Shown in the table caption (no layout jump); announced by the live region. */
    if (busy) { dom.caption.textContent = 'Loading orders\u2026'; dom.live.textContent = 'Loading orders\u2026'; }
  }

  function loadOrders(direction) {
    setListBusy(true);
    return apiGet('orders', '/v1/orders', currentQuery(), 'the order list').then(function (r) {
      if (!r) return;
      if (!r.ok) {
        /* Leave the page we were on; undo a half-made page step. */
        if (direction === 'next') state.cursors.pop();
        if (direction === 'prev' && state.poppedCursor !== undefined) state.cursors.push(state.poppedCursor);
        setListBusy(false);
        dom.caption.textContent = 'Orders, newest first (not loaded)';
        announce('');
        return;
      }
      var body = r.body;
      state.orders = Array.isArray(body.orders) ? body.orders.filter(function (o) { return o && typeof o === 'object'; }) : [];
      state.nextCursor = (typeof body.nextCursor === 'string' && body.nextCursor !== '') ? body.nextCursor : null;
      renderOrders();
      setListBusy(false);
      announce(state.orders.length + (state.orders.length === 1 ? ' order' : ' orders') + ' shown, page ' + state.cursors.length + '.');
    });
  }

  function renderOrders() {
    S.clear(dom.tbody);
    var page = state.cursors.length;
    dom.pageInfo.textContent = 'Page ' + page + ' \u00b7 ' + state.orders.length + (state.orders.length === 1 ? ' order' : ' orders') +
      (state.nextCursor ? '' : ' \u00b7 end of list');
    dom.caption.textContent = 'Orders, newest first (page ' + page + ')';
    dom.exportCsv.disabled = state.orders.length === 0;
    if (state.orders.length === 0) {
      dom.tbody.appendChild(el('tr', { class: 'empty-row', testid: 'orders-empty' }, [
        el('td', { colspan: '6', text: 'No orders match these filters.' })
      ]));
      return;
    }
    state.orders.forEach(function (o) {
      var id = S.str(o.id);
      var ships = S.shipmentsOf(o);
      var row = el('tr', { testid: 'order-row', 'data-order-id': id, class: id === state.selected ? 'is-selected' : null }, [
        el('td', { class: 'cell-id' }, el('button', {
          type: 'button', class: 'link-button', testid: 'order-link', 'aria-controls': 'detail',
          'aria-current': id === state.selected ? 'true' : null, text: id || '(no id)'
        })),
        el('td', null, [
          el('span', { class: 'code-pill', testid: 'order-status', text: S.str(o.status) || '\u2014' })
        ]),
        el('td', null, [
          el('span', { class: 'code-pill', testid: 'order-stage', text: S.str(o.stage) || '\u2014' })
        ]),
        el('td', { testid: 'order-marketplace', text: S.str(o.marketplace) || '\u2014' }),
        el('td', { class: 'num', testid: 'order-shipments', text: String(ships.length) }),
        el('td', { class: 'cell-when', testid: 'order-updated' }, whenCell(o.updatedAt))
      ]);
      dom.tbody.appendChild(row);
    });
  }

  function whenCell(raw) {
    if (!raw) return el('span', { class: 'muted', text: '\u2014' });
    var p = S.parseTime(raw);
    if (!p) return el('span', { text: S.str(raw) });
    var rel = S.relative(p);
    return [S.timeNode(raw), rel ? el('span', { class: 'sub', text: rel }) : null];
  }

  dom.tbody.addEventListener('click', function (ev) {
    var row = ev.target.closest('tr[data-order-id]');
    if (!row) return;
    /* Let real links and text selection alone; the id button is the keyboard path. */
    if (ev.target.closest('a')) return;
    if (!ev.target.closest('button') && String(window.getSelection && window.getSelection())) return;
    openDetail(row.getAttribute('data-order-id'));
  });

  function resetAndLoad() {
    state.cursors = [null];
    state.nextCursor = null;
    loadOrders();
  }

  [dom.status, dom.stage, dom.stale, dom.limit].forEach(function (c) { c.addEventListener('change', resetAndLoad); });

  dom.filters.addEventListener('submit', function (ev) {
    ev.preventDefault();
    loadStats();
    loadOrders();
  });

  dom.next.addEventListener('click', function () {
    if (!state.nextCursor) return;
    state.cursors.push(state.nextCursor);
    loadOrders('next').then(function () { dom.caption.scrollIntoView({ block: 'nearest' }); });
  });

  dom.prev.addEventListener('click', function () {
    if (state.cursors.length <= 1) return;
    state.poppedCursor = state.cursors.pop();
    loadOrders('prev');
  });

  /* ---------- CSV ---------- */

  /*
   * One cell, by the rule `shiptrack export --csv` follows (put_csv_field
   * in cgi/shiptrack.c): RFC 4180 (quote a field with a comma, quote, CR or
   * LF; double the quotes), and a field starting with = + - @ tab or CR,
   * which a spreadsheet would run as a formula, gets a leading ' and quotes.
   */
  function csvField(v) {
    var s = S.str(v);
    if (/^[=+\-@\t\r]/.test(s)) return '"\'' + s.replace(/"/g, '""') + '"';
    return /[",\r\n]/.test(s) ? '"' + s.replace(/"/g, '""') + '"' : s;
  }

  function toCsv(orders) {
    var head = ['id', 'status', 'stage', 'marketplace', 'shipments', 'trackingNumbers', 'carriers', 'createdAt', 'updatedAt'];
    var lines = [head.map(csvField).join(',')];
    orders.forEach(function (o) {
      var ships = S.shipmentsOf(o);
      lines.push([
        o.id, o.status, o.stage, o.marketplace, ships.length,
        /* Several shipments: "; "-separated, in shipment order (carrier names contain spaces). */
        ships.map(function (s) { return S.str(s.trackingNumber); }).join('; '),
        ships.map(function (s) { return S.str(s.carrier); }).join('; '),
        o.createdAt, o.updatedAt
      ].map(csvField).join(','));
    });
    return lines.join('\r\n') + '\r\n';
  }

  dom.exportCsv.addEventListener('click', function () {
    if (!state.orders.length) return;
    var blob = new Blob([toCsv(state.orders)], { type: 'text/csv;charset=utf-8' });
    var url = URL.createObjectURL(blob);
    var stamp = new Date().toISOString().replace(/[-:]/g, '').replace(/\..*$/, '').replace('T', '-');
    var a = el('a', { href: url, download: 'shiptrack-orders-' + stamp + '-p' + state.cursors.length + '.csv', class: 'visually-hidden', testid: 'csv-download' });
    document.body.appendChild(a);
    a.click();
    a.remove();
    setTimeout(function () { URL.revokeObjectURL(url); }, 30000);
    announce('CSV with ' + state.orders.length + ' orders downloaded.');
  });

  /* ---------- detail ---------- */

  function markSelected() {
    Array.prototype.forEach.call(dom.tbody.querySelectorAll('tr[data-order-id]'), function (tr) {
      var on = tr.getAttribute('data-order-id') === state.selected;
      tr.classList.toggle('is-selected', on);
      var b = tr.querySelector('[data-testid="order-link"]');
      if (b) { if (on) b.setAttribute('aria-current', 'true'); else b.removeAttribute('aria-current'); }
    });
  }

  function openDetail(id) {
    state.selected = id;
    markSelected();
    dom.detail.hidden = false;
    dom.layout.classList.add('has-detail');
    dom.detailHeading.textContent = 'Order ' + id;
    S.clear(dom.detailBody);
    dom.detailBody.appendChild(el('p', { class: 'muted', text: 'Loading\u2026' }));
    dom.detail.setAttribute('aria-busy', 'true');
    dom.detailHeading.focus();
    if (!window.matchMedia('(min-width: 75rem)').matches) dom.detail.scrollIntoView({ block: 'start' });
    apiGet('detail', '/v1/orders/' + encodeURIComponent(id), null, 'order ' + id).then(function (r) {
      if (!r || state.selected !== id) return;
      dom.detail.setAttribute('aria-busy', 'false');
      S.clear(dom.detailBody);
      if (!r.ok) {
        dom.detailBody.appendChild(el('p', { class: 'muted', testid: 'detail-error',
          text: r.status === 404 ? 'This order was not found.' : 'The order could not be loaded.' }));
        return;
      }
      renderDetail(r.body);
    });
  }

  function closeDetail(returnFocus) {
    var id = state.selected;
    state.selected = null;
    if (state.controllers.detail) { state.controllers.detail.abort(); delete state.controllers.detail; }
    dom.detail.hidden = true;
    dom.layout.classList.remove('has-detail');
    markSelected();
    if (returnFocus && id !== null) {
      var rows = dom.tbody.querySelectorAll('tr[data-order-id]');
      for (var i = 0; i < rows.length; i++) {
        if (rows[i].getAttribute('data-order-id') === id) { rows[i].querySelector('button').focus(); return; }
      }
    }
  }

  dom.detailClose.addEventListener('click', function () { closeDetail(true); });
  document.addEventListener('keydown', function (ev) {
    if (ev.key === 'Escape' && !dom.detail.hidden && dom.detail.contains(document.activeElement)) closeDetail(true);
  });

  function summaryItem(dl, label, value, testid) {
    dl.appendChild(el('div', { testid: testid }, [el('dt', { text: label }), el('dd', null, value)]));
  }

  function codeWithWords(code, words) {
    if (!code) return el('span', { class: 'muted', text: '\u2014' });
    return [el('span', { class: 'code-pill', text: S.str(code) }), ' ', el('span', { class: 'muted small', text: words })];
  }

  /* When the Rye pass last read the order, and what went wrong if it failed. */
  function syncCell(o) {
    var parts = [o.lastSync ? whenCell(o.lastSync) : el('span', { class: 'muted', text: 'never' })];
    if (o.syncError) parts.push(' ', el('span', { class: 'code-pill', testid: 'detail-sync-error', text: S.str(o.syncError) }));
    return parts;
  }

  function renderDetail(o) {
    var ships = S.shipmentsOf(o);
    var dl = el('dl', { class: 'summary-dl', testid: 'detail-summary' });
    summaryItem(dl, 'Status', codeWithWords(o.status, S.statusWords(o.status)), 'detail-status');
    summaryItem(dl, 'Stage', codeWithWords(o.stage, S.stageWords(o.stage)), 'detail-stage');
    summaryItem(dl, 'Marketplace', S.str(o.marketplace) || '\u2014', 'detail-marketplace');
    summaryItem(dl, 'Created', whenCell(o.createdAt), 'detail-created');
    summaryItem(dl, 'Updated', whenCell(o.updatedAt), 'detail-updated');
    summaryItem(dl, 'Rye sync', syncCell(o), 'detail-sync');
    dom.detailBody.appendChild(dl);

    dom.detailBody.appendChild(el('h3', { text: ships.length === 1 ? 'Shipment' : 'Shipments (' + ships.length + ')' }));
    var list = el('div', { class: 'shipments', testid: 'detail-shipments' });
    if (ships.length === 0) list.appendChild(el('p', { class: 'muted', text: 'No shipments.' }));
    ships.forEach(function (s, i) {
      list.appendChild(S.renderShipment(s, { index: i, total: ships.length, operator: true, idPrefix: 'detail-shipment', level: 4 }));
    });
    dom.detailBody.appendChild(list);

    var events = Array.isArray(o.events) ? o.events.filter(function (e) { return e && typeof e === 'object'; }) : [];
    dom.detailBody.appendChild(el('h3', { id: 'events-heading', text: 'Events (' + events.length + ')' }));
    if (events.length === 0) {
      dom.detailBody.appendChild(el('p', { class: 'muted', text: 'No events.' }));
    } else {
      var tbody = el('tbody');
      events.forEach(function (e) {
        tbody.appendChild(el('tr', { testid: 'event-row', 'data-event-id': S.str(e.id) }, [
          el('td', { class: 'cell-when' }, whenCell(e.createdAt)),
          el('td', null, el('span', { class: 'code-pill', text: S.str(e.type) || '\u2014' })),
          el('td', { class: 'cell-id', text: S.str(e.id) }),
          el('td', { testid: 'event-source', text: S.str(e.source) || '\u2014' }),
          el('td', { class: 'cell-when' }, whenCell(e.receivedAt))
        ]));
      });
      dom.detailBody.appendChild(el('div', { class: 'table-scroll', role: 'region', 'aria-labelledby': 'events-heading', tabindex: '0' }, [
        el('table', { class: 'data-table', testid: 'events-table' }, [
          el('thead', null, el('tr', null, [
            el('th', { scope: 'col', text: 'Created' }), el('th', { scope: 'col', text: 'Type' }),
            el('th', { scope: 'col', text: 'Event ID' }), el('th', { scope: 'col', text: 'Source' }),
            el('th', { scope: 'col', text: 'Received' })
          ])),
          tbody
        ])
      ]));
    }

    var raw = el('details', { class: 'raw-json', testid: 'detail-raw' }, [
      el('summary', { text: 'Raw JSON' }),
      el('pre', { text: JSON.stringify(o, null, 2) })
    ]);
    dom.detailBody.appendChild(raw);
  }

  /* ---------- start ---------- */

  function startApp() {
    dom.tokenView.hidden = true;
    dom.appView.hidden = false;
    dom.forget.hidden = false;
    document.title = 'Orders \u00b7 shiptrack operator';
    loadStats();
    resetAndLoad();
  }

  /* The operator page stays in English; the words it shares with the
   * shopper page (shipment cards, stages, times) come from the English catalog. */
  S.i18n.load('en').then(function () {
    S.footerZone();
    state.token = S.store.get(TOKEN_KEY);
    if (state.token) startApp();
    else showTokenView('');
  });
})();
