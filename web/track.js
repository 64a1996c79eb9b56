/*
 * shiptrack web: the shopper page (index.html?order=ID&key=K).
 *
 * Flow: read order/key from the URL -> no values: show the lookup form ->
 * otherwise GET {api}/v1/track/{order}?key=K and render the order: a stage
 * headline, plain-words notices for anything unusual, a five-step progress
 * indicator and one card per shipment with its checkpoint timeline.
 *
 * Failure handling: 404 (and 400) -> "not found" plus the form to retry;
 * 403 -> tracking is not enabled; network errors, timeouts and 5xx -> keep
 * showing the last good answer (memory, else sessionStorage keyed by order id)
 * with a "Couldn't refresh" notice. The view refreshes every 5 minutes while
 * the tab is visible. All API strings go through textContent (see common.js).
 */
(function () {
  'use strict';

  var S = window.ShipTrack;
  var el = S.el;

  var REFRESH_MS = 5 * 60 * 1000;
  var TICK_MS = 60 * 1000;
  var TIMEOUT_MS = 20 * 1000;
  var CACHE_PREFIX = 'shiptrack.track.';

  var params = new URLSearchParams(window.location.search);
  var orderId = (params.get('order') || '').trim();
  var key = (params.get('key') || '').replace(/\s+/g, '');

  var $ = function (id) { return document.getElementById(id); };
  var dom = {
    main: $('main'), live: $('live-status'),
    lookupView: $('lookup-view'), messageView: $('message-view'), orderView: $('order-view'),
    lookupHeading: $('lookup-heading'), lookupIntro: $('lookup-intro'), form: $('lookup-form'),
    orderInput: $('order-input'), keyInput: $('key-input'), orderError: $('order-error'), keyError: $('key-error'),
    messageHeading: $('message-heading'), messageNotice: $('message-notice'), messageText: $('message-text'),
    retry: $('retry-button'),
    eyebrow: $('order-eyebrow'), headline: $('stage-headline'), refresh: $('refresh-button'),
    refreshedAt: $('refreshed-at'), notices: $('notices'),
    progressBar: $('progress-bar'), steps: $('progress-steps'),
    shipmentsSection: $('shipments-section'), shipmentsHeading: $('shipments-heading'), shipments: $('shipments')
  };

  var state = {
    data: null,        /* last good order JSON */
    savedAt: 0,        /* when it was received (ms) */
    stale: null,       /* null, or {reason} when the last refresh failed */
    controller: null,  /* AbortController of the request in flight */
    lastAttempt: 0,
    view: null,
    expanded: {}       /* shipment card id -> timeline expanded */
  };

  /* ---------- views ---------- */

  function showView(name) {
    state.view = name;
    dom.lookupView.hidden = name !== 'lookup';
    dom.messageView.hidden = name !== 'message';
    dom.orderView.hidden = name !== 'order';
  }

  function setBusy(busy) {
    dom.main.setAttribute('aria-busy', busy ? 'true' : 'false');
    dom.refresh.disabled = busy;
    dom.retry.disabled = busy;
    /* First load: a visible "Loading…" line. Refreshing a shown view: say so
     * beside the Refresh button instead, so the page does not jump. */
    var showing = state.view === 'order';
    dom.live.classList.toggle('is-loading', busy && !showing);
    if (busy) {
      dom.live.textContent = 'Loading\u2026';
      if (state.view === 'order') dom.refreshedAt.textContent = 'Refreshing\u2026';
    }
  }

  function announce(text) {
    dom.live.classList.remove('is-loading');
    dom.live.textContent = text;
  }

  /* ---------- lookup form ---------- */

  function showLookup(kind) {
    dom.orderInput.value = orderId;
    dom.keyInput.value = key;
    if (kind === 'notfound') {
      dom.lookupHeading.textContent = 'We couldn\u2019t find an order with that number and key';
      dom.lookupIntro.textContent = 'Check both values in your order confirmation and try again. The key is case-sensitive.';
      dom.lookupView.setAttribute('data-state', 'notfound');
      document.title = 'Order not found \u00b7 Order tracking';
    } else {
      dom.lookupView.removeAttribute('data-state');
      document.title = 'Track your order';
    }
    showView('lookup');
  }

  function setFieldError(input, errorNode, message) {
    errorNode.textContent = message;
    errorNode.hidden = !message;
    if (message) input.setAttribute('aria-invalid', 'true');
    else input.removeAttribute('aria-invalid');
  }

  dom.form.addEventListener('submit', function (ev) {
    var o = dom.orderInput.value.trim();
    var k = dom.keyInput.value.replace(/\s+/g, '');
    dom.orderInput.value = o;
    dom.keyInput.value = k;
    setFieldError(dom.orderInput, dom.orderError, o ? '' : 'Enter your order number.');
    setFieldError(dom.keyInput, dom.keyError, k ? '' : 'Enter the tracking key.');
    if (!o || !k) {
      ev.preventDefault();
      (o ? dom.keyInput : dom.orderInput).focus();
    }
    /* Valid: the native GET submission navigates to ?order=..&key=.. */
  });

  /* ---------- message view ---------- */

  function showMessage(kind) {
    dom.messageNotice.className = 'notice ' + (kind === 'forbidden' ? 'tone-info' : 'tone-error');
    dom.messageNotice.setAttribute('data-testid', kind === 'forbidden' ? 'notice-forbidden' : 'notice-error');
    if (kind === 'forbidden') {
      dom.messageHeading.textContent = 'Online tracking isn\u2019t available';
      dom.messageText.textContent = 'Order tracking hasn\u2019t been switched on for this store yet. Please contact the store for an update on your order.';
      dom.retry.hidden = true;
    } else {
      dom.messageHeading.textContent = 'We couldn\u2019t load your order';
      dom.messageText.textContent = kind === 'network'
        ? 'The tracking service couldn\u2019t be reached. Check your connection and try again.'
        : 'The tracking service isn\u2019t responding right now. Please try again in a few minutes.';
      dom.retry.hidden = false;
    }
    document.title = dom.messageHeading.textContent + ' \u00b7 Order tracking';
    showView('message');
  }

  /* ---------- cache ---------- */

  function cacheKey() { return CACHE_PREFIX + orderId; }

  function readCache() {
    var raw = S.store.get(cacheKey());
    if (!raw) return null;
    try {
      var c = JSON.parse(raw);
      /* Only reuse what was fetched with the same key. */
      if (c && c.key === key && c.data && typeof c.data === 'object' && typeof c.savedAt === 'number') return c;
    } catch (e) { /* corrupt entry */ }
    return null;
  }

  function writeCache(data, savedAt) {
    S.store.set(cacheKey(), JSON.stringify({ key: key, savedAt: savedAt, data: data }));
  }

  /* ---------- loading ---------- */

  function load() {
    if (state.controller) state.controller.abort();
    var ctl = new AbortController();
    state.controller = ctl;
    state.lastAttempt = Date.now();
    var timedOut = false;
    var timer = setTimeout(function () { timedOut = true; ctl.abort(); }, TIMEOUT_MS);
    setBusy(true);

    var url = S.apiUrl('/v1/track/' + encodeURIComponent(orderId), { key: key });
    fetch(url, {
      headers: { Accept: 'application/json' },
      cache: 'no-cache',          /* revalidate with the ETag every time */
      credentials: 'same-origin',
      referrerPolicy: 'no-referrer',
      signal: ctl.signal
    }).then(function (res) {
      if (res.status === 200) {
        return S.readJson(res).then(function (body) {
          if (body && typeof body === 'object' && !Array.isArray(body)) return { kind: 'ok', body: body };
          return { kind: 'server' };
        });
      }
      if (res.status === 304) return { kind: state.data ? 'unchanged' : 'server' };
      if (res.status === 404 || res.status === 400) return { kind: 'notfound' };
      if (res.status === 403) return { kind: 'forbidden' };
      return { kind: 'server', status: res.status };
    }, function () {
      /* Our own abort for a newer request: ignore. A timeout counts as network. */
      if (!timedOut && state.controller !== ctl) return { kind: 'superseded' };
      return { kind: 'network' };
    }).then(function (r) {
      clearTimeout(timer);
      if (r.kind === 'superseded' || state.controller !== ctl) return;
      state.controller = null;
      setBusy(false);
      finish(r);
    });
  }

  function finish(r) {
    var now = Date.now();
    switch (r.kind) {
      case 'ok':
        state.data = r.body;
        state.savedAt = now;
        state.stale = null;
        writeCache(r.body, now);
        renderOrder();
        announce('Order information updated at ' + S.formatClock(new Date(now)) + '.');
        break;
      case 'unchanged':
        state.savedAt = now;
        state.stale = null;
        renderOrder();
        announce('Order information updated at ' + S.formatClock(new Date(now)) + '.');
        break;
      case 'notfound':
        S.store.remove(cacheKey());
        state.data = null;
        announce('');
        showLookup('notfound');
        break;
      case 'forbidden':
        state.data = null;
        announce('');
        showMessage('forbidden');
        break;
      default: /* network, server */
        if (!state.data) {
          var c = readCache();
          if (c) { state.data = c.data; state.savedAt = c.savedAt; }
        }
        if (state.data) {
          state.stale = { reason: r.kind };
          renderOrder();
          announce('Couldn\u2019t refresh. Showing earlier information.');
        } else {
          announce('');
          showMessage(r.kind);
        }
    }
  }

  /* ---------- order rendering ---------- */

  var STEP_NAMES = ['Ordered', 'Shipped', 'In transit', 'Out for delivery', 'Delivered'];

  var STAGE_STEP = {
    processing: 0, placed: 0, shipped: 1, in_transit: 2, exception: 2, expired: 2,
    out_for_delivery: 3, attempt_failed: 3, available_for_pickup: 3, delivered: 4,
    failed: 0, cancelled: 0
  };

  function isHalted(order) {
    return order.status === 'CANCELLED' || order.status === 'FAILED' || order.stage === 'cancelled' || order.stage === 'failed';
  }

  /* Which of the five steps the order is at, and how to colour it. */
  function progressOf(order) {
    var stage = order.stage;
    var step;
    if (stage === 'partially_delivered') {
      /* The order is as far along as its slowest undelivered shipment. */
      step = 4;
      S.shipmentsOf(order).forEach(function (s) {
        /* A shipment exists only once the store reported it shipped, so even one
         * without a tracking number yet is at least "Shipped". */
        if (s.tag !== 'Delivered' && !s.deliveredAt) step = Math.min(step, s.trackingNumber ? S.tagInfo(s.tag).step : 1);
      });
      if (step === 4) step = 3;
    } else if (Object.prototype.hasOwnProperty.call(STAGE_STEP, stage)) {
      step = STAGE_STEP[stage];
    } else {
      step = 0;
    }
    var tone = 'normal';
    if (isHalted(order)) tone = 'halted';
    else if (stage === 'exception' || stage === 'attempt_failed' || stage === 'expired') tone = 'problem';
    else if (stage === 'partially_delivered') tone = 'partial';
    return { step: step, tone: tone };
  }

  function dayKey(p) {
    var d = p.kind === 'instant' ? new Date(p.date) : null;
    return d ? [d.getFullYear(), d.getMonth(), d.getDate()].join('-') : [p.y, p.mo - 1, p.d].join('-');
  }
  function dayOrder(p) { return p.kind === 'instant' ? p.date.getTime() : p.wall.getTime(); }

  /* "expected Tue, May 6" / "expected tomorrow" / "expected by Thu, May 8" / "was expected Mon, May 5" */
  function expectedPhrase(order) {
    var ps = S.shipmentsOf(order)
      .filter(function (s) { return !s.deliveredAt && s.tag !== 'Delivered'; })
      .map(function (s) { return S.parseTime(s.expectedDelivery); })
      .filter(Boolean);
    if (ps.length === 0) return '';
    var keys = {};
    ps.forEach(function (p) { keys[dayKey(p)] = true; });
    var latest = ps.reduce(function (a, b) { return dayOrder(b) > dayOrder(a) ? b : a; });
    var dd = S.daysFromToday(latest);
    if (dd < 0) return 'was expected ' + S.formatDay(latest);
    var word = dd === 0 ? 'today' : dd === 1 ? 'tomorrow' : S.formatDay(latest);
    return (Object.keys(keys).length === 1 ? 'expected ' : 'expected by ') + word;
  }

  function deliveredPhrase(order) {
    var ps = S.shipmentsOf(order).map(function (s) { return S.parseTime(s.deliveredAt); }).filter(Boolean);
    if (ps.length === 0) return 'Delivered';
    var latest = ps.reduce(function (a, b) { return dayOrder(b) > dayOrder(a) ? b : a; });
    var dd = S.daysFromToday(latest);
    if (dd === 0) return 'Delivered today';
    if (dd === -1) return 'Delivered yesterday';
    return 'Delivered on ' + S.formatDay(latest);
  }

  function headlineOf(order) {
    var stage = order.stage, status = order.status;
    if (status === 'CANCELLED' || stage === 'cancelled') return 'Order cancelled';
    if (status === 'FAILED' || stage === 'failed') return 'Order failed';
    if (stage === 'delivered') return deliveredPhrase(order);
    var base;
    if (!stage) base = status === 'PENDING' || !status ? 'Order received' : S.statusWords(status);
    else if (stage === 'processing' && status === 'PENDING') base = 'Order received';
    else base = S.stageWords(stage);
    if (['placed', 'shipped', 'in_transit', 'out_for_delivery', 'partially_delivered'].indexOf(stage) >= 0) {
      var e = expectedPhrase(order);
      if (e) return base + ' \u2014 ' + e;
    }
    return base;
  }

  /* Plain-words notice for anything that is not the happy path. */
  function stageNotice(order) {
    var stage = order.stage, status = order.status;
    if (status === 'CANCELLED' || stage === 'cancelled') {
      return { tone: 'error', id: 'cancelled', title: 'This order was cancelled',
        body: 'Nothing more will be shipped for it. If you didn\u2019t expect this, please contact the store.' };
    }
    if (status === 'FAILED' || stage === 'failed') {
      return { tone: 'error', id: 'failed', title: 'This order couldn\u2019t be completed',
        body: 'The store was unable to place it, so it won\u2019t be shipped. Please contact the store if you have questions.' };
    }
    if (status === 'CANCELLATION_IN_PROGRESS') {
      return { tone: 'warning', id: 'cancellation-in-progress', title: 'A cancellation has been requested',
        body: 'The store is cancelling this order. This page will show the result once it is confirmed.' };
    }
    switch (stage) {
      case 'exception':
        return { tone: 'warning', id: 'exception', title: 'There\u2019s a problem with the delivery',
          body: 'The carrier reported an issue (details below). Deliveries often continue after a short delay; if nothing changes, contact the store or the carrier.' };
      case 'attempt_failed':
        return { tone: 'warning', id: 'attempt-failed', title: 'The carrier tried to deliver but couldn\u2019t',
          body: 'They usually try again on the next working day or leave a note about where to collect the package.' };
      case 'expired':
        return { tone: 'warning', id: 'expired', title: 'Tracking has stopped',
          body: 'The carrier hasn\u2019t shared an update for a long time. If your package hasn\u2019t arrived, please contact the store.' };
      case 'available_for_pickup':
        return { tone: 'info', id: 'available-for-pickup', title: 'Your package is ready for pickup',
          body: 'The carrier is holding it at a pickup point. The tracking history below says where.' };
      case 'partially_delivered':
        return { tone: 'info', id: 'partially-delivered', title: 'Part of your order has arrived',
          body: 'The rest is still on its way. Each shipment is listed separately below.' };
    }
    return null;
  }

  function notice(tone, testid, title, body) {
    return el('div', { class: 'notice tone-' + tone, testid: testid }, [
      el('p', { class: 'notice-title', text: title }),
      body ? el('p', { class: 'notice-body', text: body }) : null
    ]);
  }

  function renderProgress(order) {
    var pr = progressOf(order);
    var bar = dom.progressBar;
    bar.className = 'progress-bar at-' + pr.step;
    bar.setAttribute('aria-valuenow', String(pr.step));
    /* Waiting at a pickup point is where "out for delivery" would be: say so on the step itself. */
    var labels = STEP_NAMES.slice();
    if (order.stage === 'available_for_pickup') labels[3] = 'Ready for pickup';
    var text;
    if (pr.tone === 'halted') {
      text = headlineOf(order);
    } else {
      var words = S.stageWords(order.stage);
      text = 'Step ' + (pr.step + 1) + ' of 5: ' + labels[pr.step] +
        (order.stage && words.toLowerCase() !== labels[pr.step].toLowerCase() ? ' (' + words.toLowerCase() + ')' : '');
    }
    /* A failed or cancelled order has no delivery progress to show: the notice says it in words. */
    $('progress').hidden = pr.tone === 'halted';
    bar.setAttribute('aria-valuetext', text);
    dom.steps.className = 'steps tone-' + pr.tone;
    Array.prototype.forEach.call(dom.steps.children, function (li, i) {
      var label = li.querySelector('.step-label');
      if (label) label.textContent = labels[i];
      li.classList.toggle('is-done', i < pr.step || (i === pr.step && pr.step === 4));
      li.classList.toggle('is-current', i === pr.step);
      if (i === pr.step) li.setAttribute('aria-current', 'step');
      else li.removeAttribute('aria-current');
      /* Spoken state for each step; the visual dots carry the same. */
      var sr = li.querySelector('.visually-hidden');
      if (!sr) { sr = el('span', { class: 'visually-hidden' }); li.appendChild(sr); }
      sr.textContent = i < pr.step ? ' (done)' : '';
    });
  }

  /* Keep focus on "the same" control across a re-render. */
  function focusMarker() {
    var a = document.activeElement;
    if (!a || !dom.shipments.contains(a)) return null;
    var card = a.closest('[data-testid="shipment-card"]');
    var tid = a.getAttribute('data-testid');
    return (card && tid) ? { card: card.id, testid: tid } : null;
  }

  function restoreFocus(m) {
    if (!m) return;
    var card = document.getElementById(m.card);
    var t = card && card.querySelector('[data-testid="' + m.testid + '"]');
    if (t) t.focus();
  }

  function renderOrder() {
    var order = state.data;
    var ships = S.shipmentsOf(order);
    var id = S.str(order.id) || orderId;

    /* eyebrow: "Order ABC · placed Tue, May 2" */
    S.clear(dom.eyebrow);
    dom.eyebrow.appendChild(document.createTextNode('Order '));
    dom.eyebrow.appendChild(el('span', { class: 'mono', testid: 'order-id', text: id }));
    if (order.createdAt && S.parseTime(order.createdAt)) {
      dom.eyebrow.appendChild(document.createTextNode(' \u00b7 placed '));
      dom.eyebrow.appendChild(S.timeNode(order.createdAt, { dayOnly: true }));
    }

    var headline = headlineOf(order);
    dom.headline.textContent = headline;
    dom.headline.setAttribute('data-stage', S.str(order.stage));
    dom.headline.setAttribute('data-status', S.str(order.status));
    document.title = headline + ' \u00b7 Order tracking';

    dom.refreshedAt.textContent = state.savedAt ? 'Updated ' + S.formatShortInstant(state.savedAt) : '';

    S.clear(dom.notices);
    if (state.stale) {
      dom.notices.appendChild(notice('warning', 'notice-stale',
        'Couldn\u2019t refresh; showing information from ' + S.formatShortInstant(state.savedAt) + '.',
        state.stale.reason === 'network'
          ? 'The tracking service couldn\u2019t be reached. Check your connection; we\u2019ll keep trying.'
          : 'The tracking service isn\u2019t responding right now. We\u2019ll keep trying.'));
    }
    var n = stageNotice(order);
    if (n) dom.notices.appendChild(notice(n.tone, 'notice-stage', n.title, n.body));
    var stageNode = dom.notices.querySelector('[data-testid="notice-stage"]');
    if (stageNode && n) stageNode.setAttribute('data-kind', n.id);

    renderProgress(order);

    var marker = focusMarker();
    S.clear(dom.shipments);
    var halted = isHalted(order);
    dom.shipmentsSection.hidden = halted && ships.length === 0;
    /* One shipment: its card title is the section heading (h2); several: "Shipments (n)" over h3 cards. */
    var single = ships.length === 1;
    dom.shipmentsHeading.hidden = single;
    dom.shipmentsHeading.textContent = ships.length > 1 ? 'Shipments (' + ships.length + ')' : 'Shipment';
    if (ships.length === 0) {
      dom.shipments.appendChild(el('p', { class: 'card muted', testid: 'no-shipments',
        text: 'Nothing has shipped yet. Tracking details will appear here as soon as the store sends the order.' }));
    }
    ships.forEach(function (s, i) {
      var cardId = 'shipment-' + (i + 1);
      dom.shipments.appendChild(S.renderShipment(s, {
        index: i, total: ships.length, level: single ? 2 : 3, expanded: !!state.expanded[cardId],
        onToggle: function (open) { state.expanded[cardId] = open; }
      }));
    });
    restoreFocus(marker);
    showView('order');
  }

  /* ---------- refresh ---------- */

  dom.refresh.addEventListener('click', load);
  dom.retry.addEventListener('click', load);

  function due() {
    return document.visibilityState === 'visible' && !state.controller &&
      (state.view === 'order' || state.view === 'message' && !dom.retry.hidden) &&
      Date.now() - state.lastAttempt >= REFRESH_MS;
  }

  setInterval(function () {
    if (due()) { load(); return; }
    /* Keep "3 h ago" honest, unless the reader is working inside the cards. */
    if (state.view === 'order' && state.data && !focusMarker() && document.visibilityState === 'visible') renderOrder();
  }, TICK_MS);

  document.addEventListener('visibilitychange', function () { if (due()) load(); });
  window.addEventListener('online', function () { if (state.stale || state.view === 'message') load(); });

  /* ---------- start ---------- */

  S.footerZone();
  if (!orderId || !key) {
    showLookup('start');
    return;
  }
  /* Show what this tab saw last while the fresh answer loads. */
  var cached = readCache();
  if (cached) {
    state.data = cached.data;
    state.savedAt = cached.savedAt;
    renderOrder();
  }
  load();
})();
