/*
 * shiptrack web: the shopper page (index.html?order=ID&key=K[&lang=xx]).
 *
 * Flow: choose the language and load its catalog (common.js) -> read
 * order/key from the URL -> no values: the lookup form (order number + e-mail
 * address or postal code, POST {api}/v1/lookup -> {order, key}, which go into
 * the address bar so the link can be kept) -> GET {api}/v1/track/{order}?key=K
 * and render the order: a stage headline, plain-words notices for anything
 * unusual, a five-step progress indicator and one card per shipment with its
 * estimates, pickup point and checkpoint timeline.
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
  var t = S.t;

  var REFRESH_MS = 5 * 60 * 1000;
  var TICK_MS = 60 * 1000;
  var CACHE_PREFIX = 'shiptrack.track.';
  var SEP = ' \u00b7 ';

  var params = new URLSearchParams(window.location.search);
  var orderId = (params.get('order') || '').trim();
  var key = (params.get('key') || '').replace(/\s+/g, '');
  var langParam = S.i18n.supported(params.get('lang'));  /* 'de', or null when absent or unknown */

  var $ = S.$;
  var announce = S.announce;
  var dom = {
    main: $('main'), live: $('live-status'),
    lookupView: $('lookup-view'), messageView: $('message-view'), orderView: $('order-view'),
    lookupHeading: $('lookup-heading'), lookupIntro: $('lookup-intro'), form: $('lookup-form'),
    lookupError: $('lookup-error'), lookupErrorText: $('lookup-error-text'),
    orderInput: $('order-input'), orderError: $('order-error'),
    emailField: $('email-field'), emailInput: $('email-input'), emailError: $('email-error'),
    postalField: $('postal-field'), postalInput: $('postal-input'), postalError: $('postal-error'),
    methodToggle: $('method-toggle'), submit: $('lookup-submit'),
    messageHeading: $('message-heading'), messageNotice: $('message-notice'), messageText: $('message-text'),
    retry: $('retry-button'),
    eyebrow: $('order-eyebrow'), headline: $('stage-headline'), refresh: $('refresh-button'),
    refreshedAt: $('refreshed-at'), notices: $('notices'),
    progressBar: $('progress-bar'), steps: $('progress-steps'),
    shipmentsSection: $('shipments-section'), shipmentsHeading: $('shipments-heading'), shipments: $('shipments'),
    langSwitch: $('lang-switch'), langSummary: $('lang-summary'), langCurrent: $('lang-current'), langList: $('lang-list')
  };

  var state = {
    data: null,        /* last good order JSON */
    savedAt: 0,        /* when it was received (ms) */
    stale: null,       /* null, or {reason} when the last refresh failed */
    controller: null,  /* AbortController of the request in flight */
    lastAttempt: 0,
    view: null,
    byPostal: false,   /* the lookup form asks for the postal code instead of the e-mail address */
    looking: false,    /* a lookup request is in flight */
    expanded: {}       /* shipment card id -> timeline expanded */
  };

  function pageTitle(first) { return first + SEP + t('site.name'); }

  /* ---------- address bar and links ---------- */

  /* index.html?order=..&key=..&lang=.. with whatever of these is known. */
  function pageUrl(lang) {
    var q = new URLSearchParams();
    if (orderId && key) { q.set('order', orderId); q.set('key', key); }
    if (lang) q.set('lang', lang);
    var s = q.toString();
    return window.location.pathname + (s ? '?' + s : '');
  }

  /* The language switcher: one link per catalog, keeping order and key. */
  function buildLanguageSwitcher() {
    var current = S.i18n.lang();
    S.clear(dom.langList);
    S.i18n.LANGS.forEach(function (code) {
      var a = el('a', { href: pageUrl(code), lang: code, hreflang: code, class: 'lang-link',
        testid: 'lang-link-' + code, 'aria-current': code === current ? 'true' : null,
        text: S.i18n.languageName(code) });
      dom.langList.appendChild(el('li', null, a));
    });
    dom.langCurrent.textContent = S.i18n.languageName(current);
    dom.langSwitch.hidden = false;
    /* "Look up another order" keeps a language the shopper chose. */
    Array.prototype.forEach.call(document.querySelectorAll('.brand-link, .another-order-link'), function (a) {
      a.setAttribute('href', langParam ? '?lang=' + encodeURIComponent(S.i18n.lang()) : '?');
    });
  }

  /* Escape closes the open language list and returns to its summary. */
  dom.langSwitch.addEventListener('keydown', function (ev) {
    if (ev.key === 'Escape' && dom.langSwitch.open) {
      dom.langSwitch.open = false;
      dom.langSummary.focus();
    }
  });
  document.addEventListener('click', function (ev) {
    if (dom.langSwitch.open && !dom.langSwitch.contains(ev.target)) dom.langSwitch.open = false;
  });

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
      dom.live.textContent = t('status.loading');
      if (state.view === 'order') dom.refreshedAt.textContent = t('status.refreshing');
    }
  }

  /* ---------- lookup form ---------- */

  function showLookup(kind) {
    /* A link's order id is ours, not the shop's order number the form asks for. */
    dom.orderInput.value = '';
    if (kind === 'notfound') {
      dom.lookupHeading.textContent = t('notfound.heading');
      dom.lookupIntro.textContent = t('notfound.intro');
      dom.lookupView.setAttribute('data-state', 'notfound');
      document.title = pageTitle(t('notfound.title'));
    } else {
      dom.lookupHeading.textContent = t('lookup.heading');
      dom.lookupIntro.textContent = t('lookup.intro');
      dom.lookupView.removeAttribute('data-state');
      document.title = t('page.title');
    }
    setMethod(state.byPostal);
    showView('lookup');
  }

  function setFieldError(input, errorNode, message) {
    errorNode.textContent = message;
    errorNode.hidden = !message;
    if (message) input.setAttribute('aria-invalid', 'true');
    else input.removeAttribute('aria-invalid');
  }

  function setLookupError(message) {
    dom.lookupErrorText.textContent = message;
    dom.lookupError.hidden = !message;
  }

  /* E-mail address (the default) or postal code. */
  function setMethod(byPostal) {
    state.byPostal = byPostal;
    dom.emailField.hidden = byPostal;
    dom.postalField.hidden = !byPostal;
    dom.methodToggle.textContent = t(byPostal ? 'form.use_email' : 'form.use_postal');
    setFieldError(dom.emailInput, dom.emailError, '');
    setFieldError(dom.postalInput, dom.postalError, '');
  }

  dom.methodToggle.addEventListener('click', function () {
    setMethod(!state.byPostal);
    (state.byPostal ? dom.postalInput : dom.emailInput).focus();
  });

  function secretField() {
    return state.byPostal
      ? { input: dom.postalInput, error: dom.postalError, required: 'form.error.postal_required', ok: /\S/ }
      : { input: dom.emailInput, error: dom.emailError, required: 'form.error.email_required', ok: /^[^\s@]+@[^\s@]+$/ };
  }

  dom.form.addEventListener('submit', function (ev) {
    ev.preventDefault();
    if (state.looking) return;
    var f = secretField();
    var o = dom.orderInput.value.trim();
    var v = f.input.value.trim();
    dom.orderInput.value = o;
    f.input.value = v;
    setLookupError('');
    setFieldError(dom.orderInput, dom.orderError, o ? '' : t('form.error.order_required'));
    var vErr = !v ? t(f.required) : (f.ok.test(v) ? '' : t('form.error.email_invalid'));
    setFieldError(f.input, f.error, vErr);
    if (!o || vErr) {
      (o ? f.input : dom.orderInput).focus();
      return;
    }
    lookup(o, v);
  });

  function setLooking(busy) {
    state.looking = busy;
    dom.submit.disabled = busy;
    dom.form.setAttribute('aria-busy', busy ? 'true' : 'false');
    if (busy) dom.live.textContent = t('status.looking_up');
  }

  /* POST {api}/v1/lookup: 200 {order, key}; 404 no such pair; 429 with Retry-After. */
  function lookup(o, v) {
    var body = state.byPostal ? { orderNumber: o, postalCode: v } : { orderNumber: o, email: v };
    setLooking(true);
    S.request(S.apiUrl('/v1/lookup'), {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
      body: JSON.stringify(body),
      cache: 'no-store'
    }, function (res) {
      if (res.status === 200) {
        return S.readJson(res).then(function (b) {
          return b && typeof b.order === 'string' && b.order && typeof b.key === 'string' && b.key
            ? { kind: 'found', order: b.order, key: b.key } : { kind: 'server' };
        });
      }
      if (res.status === 404) return { kind: 'notfound' };
      if (res.status === 429) return { kind: 'limited', wait: parseInt(res.headers.get('Retry-After') || '', 10) };
      if (res.status === 400) return { kind: 'bad' };
      if (res.status === 403) return { kind: 'forbidden' };
      return { kind: 'server' };
    }, function () {
      return { kind: 'network' };
    }).then(function (r) {
      setLooking(false);
      lookedUp(r);
    });
  }

  function lookedUp(r) {
    announce('');
    switch (r.kind) {
      case 'found':
        orderId = r.order;
        key = r.key;
        /* The link now names the order: it can be kept, shared, bookmarked. */
        window.history.replaceState(null, '', pageUrl(langParam));
        buildLanguageSwitcher();
        state.data = null;
        load();
        return;
      case 'notfound':
        setLookupError(t(state.byPostal ? 'lookup.not_found_postal' : 'lookup.not_found'));
        break;
      case 'limited':
        setLookupError(r.wait > 0 ? t('lookup.rate_limited', { when: S.inDuration(r.wait) }) : t('lookup.rate_limited_later'));
        break;
      case 'bad':
        setLookupError(t('lookup.bad_request'));
        break;
      case 'forbidden':
        setLookupError(t('message.forbidden.body'));
        break;
      case 'network':
        setLookupError(t('message.network.body'));
        break;
      default:
        setLookupError(t('message.server.body'));
    }
  }

  /* ---------- message view ---------- */

  function showMessage(kind) {
    dom.messageNotice.className = 'notice ' + (kind === 'forbidden' ? 'tone-info' : 'tone-error');
    dom.messageNotice.setAttribute('data-testid', kind === 'forbidden' ? 'notice-forbidden' : 'notice-error');
    if (kind === 'forbidden') {
      dom.messageHeading.textContent = t('message.forbidden.heading');
      dom.messageText.textContent = t('message.forbidden.body');
      dom.retry.hidden = true;
    } else {
      dom.messageHeading.textContent = t('message.error.heading');
      dom.messageText.textContent = t(kind === 'network' ? 'message.network.body' : 'message.server.body');
      dom.retry.hidden = false;
    }
    document.title = pageTitle(dom.messageHeading.textContent);
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
    setBusy(true);

    var url = S.apiUrl('/v1/track/' + encodeURIComponent(orderId), { key: key });
    S.request(url, {
      headers: { Accept: 'application/json' },
      cache: 'no-cache',          /* revalidate with the ETag every time */
      controller: ctl
    }, function (res) {
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
    }, function (timedOut) {
      /* Our own abort for a newer request: ignore. A timeout counts as network. */
      if (!timedOut && state.controller !== ctl) return { kind: 'superseded' };
      return { kind: 'network' };
    }).then(function (r) {
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
        announce(t('status.updated_at', { time: S.formatClock(new Date(now)) }));
        break;
      case 'unchanged':
        state.savedAt = now;
        state.stale = null;
        renderOrder();
        announce(t('status.updated_at', { time: S.formatClock(new Date(now)) }));
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
          announce(t('status.refresh_failed'));
        } else {
          announce('');
          showMessage(r.kind);
        }
    }
  }

  /* ---------- order rendering ---------- */

  var STEP_KEYS = ['step.ordered', 'step.shipped', 'step.in_transit', 'step.out_for_delivery', 'step.delivered'];

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
      .map(function (s) { return S.parseTime(S.expectedOf(s)); })
      .filter(Boolean);
    if (ps.length === 0) return '';
    var keys = {};
    ps.forEach(function (p) { keys[dayKey(p)] = true; });
    var latest = ps.reduce(function (a, b) { return dayOrder(b) > dayOrder(a) ? b : a; });
    var dd = S.daysFromToday(latest);
    var date = S.formatDay(latest);
    if (dd < 0) return t('expected.was', { date: date });
    /* One day for every parcel: "expected ..."; several: "expected by" the last. */
    var k = Object.keys(keys).length > 1
      ? ['expected.by_today', 'expected.by_tomorrow', 'expected.by']
      : ['expected.on_today', 'expected.on_tomorrow', 'expected.on'];
    return t(k[Math.min(dd, 2)], { date: date });
  }

  function deliveredPhrase(order) {
    var ps = S.shipmentsOf(order).map(function (s) { return S.parseTime(s.deliveredAt); }).filter(Boolean);
    if (ps.length === 0) return t('stage.delivered');
    var latest = ps.reduce(function (a, b) { return dayOrder(b) > dayOrder(a) ? b : a; });
    var dd = S.daysFromToday(latest);
    if (dd === 0) return t('headline.delivered_today');
    if (dd === -1) return t('headline.delivered_yesterday');
    return t('headline.delivered_on', { date: S.formatDay(latest) });
  }

  function headlineOf(order) {
    var stage = order.stage, status = order.status;
    if (status === 'CANCELLED' || stage === 'cancelled') return t('stage.cancelled');
    if (status === 'FAILED' || stage === 'failed') return t('stage.failed');
    if (stage === 'delivered') return deliveredPhrase(order);
    var base;
    if (!stage) base = status === 'PENDING' || !status ? t('headline.received') : S.statusWords(status);
    else if (stage === 'processing' && status === 'PENDING') base = t('headline.received');
    else base = S.stageWords(stage);
    if (['placed', 'shipped', 'in_transit', 'out_for_delivery', 'partially_delivered'].indexOf(stage) >= 0) {
      var e = expectedPhrase(order);
      if (e) return t('headline.with_expected', { stage: base, expected: e });
    }
    return base;
  }

  /* Plain-words notice for anything that is not the happy path: the
   * data-kind, its colour and its catalog keys (notice.<key>.title/.body). */
  function stageNotice(order) {
    var stage = order.stage, status = order.status;
    if (status === 'CANCELLED' || stage === 'cancelled') return { tone: 'error', id: 'cancelled', key: 'cancelled' };
    if (status === 'FAILED' || stage === 'failed') return { tone: 'error', id: 'failed', key: 'failed' };
    if (status === 'CANCELLATION_IN_PROGRESS') {
      return { tone: 'warning', id: 'cancellation-in-progress', key: 'cancellation_in_progress' };
    }
    switch (stage) {
      case 'exception': return { tone: 'warning', id: 'exception', key: 'exception' };
      case 'attempt_failed': return { tone: 'warning', id: 'attempt-failed', key: 'attempt_failed' };
      case 'expired': return { tone: 'warning', id: 'expired', key: 'expired' };
      case 'available_for_pickup': {
        /* With the carrier's pickup point on a card, point there; else to the history. */
        var where = S.shipmentsOf(order).some(function (s) { return s.pickup && s.pickup.location; });
        return { tone: 'info', id: 'available-for-pickup', key: 'pickup', body: where ? 'notice.pickup.body_location' : null };
      }
      case 'partially_delivered': return { tone: 'info', id: 'partially-delivered', key: 'partially_delivered' };
    }
    return null;
  }

  function renderProgress(order) {
    var pr = progressOf(order);
    var bar = dom.progressBar;
    bar.className = 'progress-bar at-' + pr.step;
    bar.setAttribute('aria-valuenow', String(pr.step));
    /* Waiting at a pickup point is where "out for delivery" would be: say so on the step itself. */
    var labels = STEP_KEYS.map(function (k) { return t(k); });
    if (order.stage === 'available_for_pickup') labels[3] = t('step.ready_for_pickup');
    var text;
    if (pr.tone === 'halted') {
      text = headlineOf(order);
    } else {
      var words = S.stageWords(order.stage);
      var vars = { n: pr.step + 1, total: 5, label: labels[pr.step], stage: words };
      text = order.stage && words.toLowerCase() !== labels[pr.step].toLowerCase()
        ? t('progress.step_of_stage', vars) : t('progress.step_of', vars);
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
      sr.textContent = i < pr.step ? ' ' + t('step.done') : '';
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
    var target = card && card.querySelector('[data-testid="' + m.testid + '"]');
    if (target) target.focus();
  }

  function renderNotices(order) {
    S.clear(dom.notices);
    if (state.stale) {
      dom.notices.appendChild(S.notice('warning', 'notice-stale',
        t('stale.title', { time: S.formatShortInstant(state.savedAt) }),
        t(state.stale.reason === 'network' ? 'stale.network' : 'stale.server')));
    }
    var n = stageNotice(order);
    if (n) {
      var node = S.notice(n.tone, 'notice-stage', t('notice.' + n.key + '.title'), t(n.body || 'notice.' + n.key + '.body'));
      node.setAttribute('data-kind', n.id);
      dom.notices.appendChild(node);
    }
  }

  function renderShipments(order) {
    var ships = S.shipmentsOf(order);
    var marker = focusMarker();
    S.clear(dom.shipments);
    dom.shipmentsSection.hidden = isHalted(order) && ships.length === 0;
    /* One shipment: its card title is the section heading (h2); several: "Shipments (n)" over h3 cards. */
    var single = ships.length === 1;
    dom.shipmentsHeading.hidden = single;
    /* ...and then the card alone is the region: two named "Shipment" would be one too many. */
    if (single) dom.shipmentsSection.removeAttribute('aria-labelledby');
    else dom.shipmentsSection.setAttribute('aria-labelledby', 'shipments-heading');
    dom.shipmentsHeading.textContent = ships.length > 1 ? t('shipments.heading_many', { count: ships.length }) : t('shipments.heading_one');
    if (ships.length === 0) {
      dom.shipments.appendChild(el('p', { class: 'card muted', testid: 'no-shipments', text: t('shipments.none') }));
    }
    ships.forEach(function (s, i) {
      var cardId = 'shipment-' + (i + 1);
      dom.shipments.appendChild(S.renderShipment(s, {
        index: i, total: ships.length, level: single ? 2 : 3, expanded: !!state.expanded[cardId],
        onToggle: function (open) { state.expanded[cardId] = open; }
      }));
    });
    restoreFocus(marker);
  }

  function renderOrder() {
    var order = state.data;
    var id = S.str(order.id) || orderId;

    /* eyebrow: "Order ABC · placed Tue, May 2" */
    S.clear(dom.eyebrow);
    var idNode = el('span', { class: 'mono', testid: 'order-id', text: id });
    if (order.createdAt && S.parseTime(order.createdAt)) {
      S.append(dom.eyebrow, S.tn('order.eyebrow_placed', { id: idNode, date: S.timeNode(order.createdAt, { dayOnly: true }) }));
    } else {
      S.append(dom.eyebrow, S.tn('order.eyebrow', { id: idNode }));
    }

    var headline = headlineOf(order);
    dom.headline.textContent = headline;
    dom.headline.setAttribute('data-stage', S.str(order.stage));
    dom.headline.setAttribute('data-status', S.str(order.status));
    document.title = pageTitle(headline);

    dom.refreshedAt.textContent = state.savedAt ? t('status.updated', { time: S.formatShortInstant(state.savedAt) }) : '';

    renderNotices(order);
    renderProgress(order);
    renderShipments(order);
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
    /* Keep "3 hours ago" honest, unless the reader is working inside the cards. */
    if (state.view === 'order' && state.data && !focusMarker() && document.visibilityState === 'visible') renderOrder();
  }, TICK_MS);

  document.addEventListener('visibilitychange', function () { if (due()) load(); });
  window.addEventListener('online', function () { if (state.stale || state.view === 'message') load(); });

  /* ---------- start ---------- */

  function start() {
    S.i18n.apply(document);
    buildLanguageSwitcher();
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
  }

  S.i18n.choose(langParam, true).then(S.i18n.load).then(start);
})();
