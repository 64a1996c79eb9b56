/*
 * shiptrack web: helpers shared by the shopper page (track.js) and the
 * operator page (admin.js).
 *
 * Everything here builds DOM with createElement/textContent only: strings from
 * the API (carrier messages, locations, subtag messages, poll errors) are
 * untrusted and never reach innerHTML. Nothing sets element.style either, so the
 * pages work under `Content-Security-Policy: default-src 'self'`; visual state
 * is expressed with classes and ARIA/hidden attributes.
 *
 * Times. Carrier data comes in three honest forms and we keep them apart:
 *   "2025-05-06"                 a calendar date: shown as a date, no zone maths;
 *   "2025-05-06T10:00:00"        wall-clock time at the location, zone unknown:
 *                                shown as written and labelled as local time;
 *   "2025-05-06T10:00:00+01:00"  an instant (offset or Z known): converted to
 *   "2025-05-06T10:00:00.000Z"   the viewer's time zone.
 * parseTime() recognises exactly these (plus optional fractional seconds) with
 * a regular expression; Date.parse is never used, because browsers read an
 * offset-less string as the *viewer's* local time, which would invent a zone.
 *
 * Exposed as window.ShipTrack.
 */
(function () {
  'use strict';

  /* ---------- DOM ---------- */

  /* el('p', {class: 'x', text: 'hi', testid: 't'}, [children]) */
  function el(tag, props, children) {
    var node = document.createElement(tag);
    if (props) {
      Object.keys(props).forEach(function (k) {
        var v = props[k];
        if (v === null || v === undefined || v === false) return;
        if (k === 'text') node.textContent = String(v);
        else if (k === 'class') node.className = v;
        else if (k === 'testid') node.setAttribute('data-testid', v);
        else if (k === 'hidden') node.hidden = true;
        else if (k.slice(0, 2) === 'on' && typeof v === 'function') node.addEventListener(k.slice(2), v);
        else node.setAttribute(k, v === true ? '' : String(v));
      });
    }
    append(node, children);
    return node;
  }

  function append(node, children) {
    if (children === null || children === undefined || children === false) return node;
    if (!Array.isArray(children)) children = [children];
    children.forEach(function (c) {
      if (c === null || c === undefined || c === false) return;
      if (Array.isArray(c)) append(node, c);
      else if (typeof c === 'string' || typeof c === 'number') node.appendChild(document.createTextNode(String(c)));
      else node.appendChild(c);
    });
    return node;
  }

  function clear(node) {
    while (node.firstChild) node.removeChild(node.firstChild);
    return node;
  }

  /* Only http(s) URLs become links; anything else (javascript:, data:) is text. */
  function safeUrl(u) {
    if (typeof u !== 'string' || u === '') return null;
    try {
      var url = new URL(u, document.baseURI);
      if (url.protocol === 'https:' || url.protocol === 'http:') return url.href;
    } catch (e) { /* not a URL */ }
    return null;
  }

  function str(v) {
    if (v === null || v === undefined) return '';
    if (typeof v === 'string') return v;
    if (typeof v === 'number' || typeof v === 'boolean') return String(v);
    try { return JSON.stringify(v); } catch (e) { return String(v); }
  }

  /* ---------- configuration ---------- */

  /* <meta name="shiptrack-api" content="/api">: the API mount point, default "/api". */
  function apiUrl(path, query) {
    var meta = document.querySelector('meta[name="shiptrack-api"]');
    var base = (meta && meta.getAttribute('content')) || '/api';
    base = base.replace(/\/+$/, '');
    var url = new URL(base + path, document.baseURI);
    if (query) {
      Object.keys(query).forEach(function (k) {
        var v = query[k];
        if (v !== null && v !== undefined && v !== '') url.searchParams.set(k, String(v));
      });
    }
    return url.href;
  }

  /* ---------- time ---------- */

  /* The page is written in English; use the viewer's English variant when they
   * have one (en-GB writes "Tue 6 May"), else en-US. */
  var LOCALE = (function () {
    var langs = (navigator.languages && navigator.languages.length) ? navigator.languages : [navigator.language];
    for (var i = 0; i < langs.length; i++) {
      if (typeof langs[i] === 'string' && /^en(-|$)/i.test(langs[i])) {
        try { new Intl.DateTimeFormat(langs[i]); return langs[i]; } catch (e) { /* unsupported tag */ }
      }
    }
    return 'en-US';
  })();

  var VIEWER_ZONE = (function () {
    try { return new Intl.DateTimeFormat().resolvedOptions().timeZone || ''; } catch (e) { return ''; }
  })();

  var TIME_RE = /^(\d{4})-(\d{2})-(\d{2})(?:[Tt ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?(?:([Zz])|([+-])(\d{2})(?::?(\d{2}))?)?)?$/;

  function daysInMonth(y, m) {
    /* day 0 of the next month is the last day of this one; 2000 is a leap year, 2001 is not */
    return new Date(Date.UTC(isLeap(y) ? 2000 : 2001, m, 0)).getUTCDate();
  }
  function isLeap(y) { return (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0; }

  function utcMs(y, mo, d, h, mi, s, ms) {
    var t = new Date(Date.UTC(2000, mo - 1, d, h, mi, s, ms));
    t.setUTCFullYear(y); /* Date.UTC maps years 0..99 to 1900..1999 */
    return t.getTime();
  }

  /*
   * parseTime(string) -> null or
   *   {kind: 'date',    raw, y, mo, d, wall}           calendar date
   *   {kind: 'local',   raw, y, mo, d, h, mi, wall}    wall clock at the location
   *   {kind: 'instant', raw, date}                     a real point in time
   * `wall` is a Date whose UTC fields are the written fields: format it with
   * timeZone 'UTC' to print them unchanged.
   */
  function parseTime(raw) {
    if (typeof raw !== 'string') return null;
    var s = raw.trim();
    var m = TIME_RE.exec(s);
    if (!m) return null;
    var y = +m[1], mo = +m[2], d = +m[3];
    if (mo < 1 || mo > 12 || d < 1 || d > daysInMonth(y, mo)) return null;
    if (m[4] === undefined) {
      return { kind: 'date', raw: s, y: y, mo: mo, d: d, wall: new Date(utcMs(y, mo, d, 12, 0, 0, 0)) };
    }
    var h = +m[4], mi = +m[5], sec = m[6] === undefined ? 0 : +m[6];
    if (h > 23 || mi > 59 || sec > 60) return null;
    var ms = m[7] ? Math.floor(Number('0.' + m[7]) * 1000) : 0;
    var wall = utcMs(y, mo, d, h, mi, Math.min(sec, 59), ms);
    if (m[8] || m[9]) {
      var off = 0;
      if (m[9]) {
        var oh = +m[10], om = m[11] === undefined ? 0 : +m[11];
        if (oh > 23 || om > 59) return null;
        off = (oh * 60 + om) * (m[9] === '-' ? -1 : 1);
      }
      return { kind: 'instant', raw: s, date: new Date(wall - off * 60000) };
    }
    return { kind: 'local', raw: s, y: y, mo: mo, d: d, h: h, mi: mi, wall: new Date(wall) };
  }

  var fmtCache = {};
  function dtf(opts) {
    var k = JSON.stringify(opts);
    if (!fmtCache[k]) fmtCache[k] = new Intl.DateTimeFormat(LOCALE, opts);
    return fmtCache[k];
  }

  /* Calendar day of a parsed time as {y, mo, d}: as written for dates and
   * local times, in the viewer's zone for instants. */
  function dayOf(p) {
    if (!p) return null;
    if (p.kind === 'instant') return { y: p.date.getFullYear(), mo: p.date.getMonth() + 1, d: p.date.getDate() };
    return { y: p.y, mo: p.mo, d: p.d };
  }

  /* Days from the viewer's today to p's day (0 today, 1 tomorrow, -1 yesterday). */
  function daysFromToday(p, now) {
    var day = dayOf(p);
    if (!day) return null;
    var n = now ? new Date(now) : new Date();
    var a = Date.UTC(n.getFullYear(), n.getMonth(), n.getDate());
    var b = utcMs(day.y, day.mo, day.d, 0, 0, 0, 0);
    return Math.round((b - a) / 86400000);
  }

  function yearOpt(p) {
    var day = dayOf(p);
    return (day && day.y !== new Date().getFullYear()) ? 'numeric' : undefined;
  }

  /* "Tue, May 6" (year added when it is not this year). */
  function formatDay(p) {
    if (!p) return '';
    var o = { weekday: 'short', month: 'short', day: 'numeric', year: yearOpt(p) };
    if (p.kind === 'instant') return dtf(o).format(p.date);
    o.timeZone = 'UTC';
    return dtf(o).format(p.wall);
  }

  /* Full text: "Tue, May 6" / "Tue, May 6, 10:00 AM" / "Tue, May 6, 11:00 AM CEST". */
  function formatWhen(p) {
    if (!p) return '';
    var o = { weekday: 'short', month: 'short', day: 'numeric', year: yearOpt(p) };
    if (p.kind === 'date') return formatDay(p);
    o.hour = 'numeric'; o.minute = '2-digit';
    if (p.kind === 'instant') { o.timeZoneName = 'short'; return dtf(o).format(p.date); }
    o.timeZone = 'UTC';
    return dtf(o).format(p.wall);
  }

  /* Clock time only, viewer zone: "10:32 AM". */
  function formatClock(date) {
    return dtf({ hour: 'numeric', minute: '2-digit' }).format(date);
  }

  /* "10:32 AM" today, else "May 5, 10:32 AM", for a Date or ms. */
  function formatShortInstant(date) {
    var d = new Date(date);
    var n = new Date();
    if (d.getFullYear() === n.getFullYear() && d.getMonth() === n.getMonth() && d.getDate() === n.getDate()) {
      return formatClock(d);
    }
    return dtf({ month: 'short', day: 'numeric', hour: 'numeric', minute: '2-digit',
      year: d.getFullYear() !== n.getFullYear() ? 'numeric' : undefined }).format(d);
  }

  /* "just now", "20 min ago", "3 h ago", "4 days ago"; null unless p is an instant. */
  function relative(p, now) {
    if (!p || p.kind !== 'instant') return null;
    var diff = (now || Date.now()) - p.date.getTime();
    if (diff < -5 * 60000) return null; /* in the future: clocks disagree, say the time instead */
    if (diff < 60000) return 'just now';
    var min = Math.floor(diff / 60000);
    if (min < 60) return min + ' min ago';
    var h = Math.floor(diff / 3600000);
    if (h < 48) return h + ' h ago';
    var days = Math.floor(diff / 86400000);
    return days + ' days ago';
  }

  function datetimeAttr(p) {
    if (p.kind === 'instant') return p.date.toISOString();
    var pad = function (n, w) { n = String(n); while (n.length < (w || 2)) n = '0' + n; return n; };
    var day = pad(p.y, 4) + '-' + pad(p.mo) + '-' + pad(p.d);
    if (p.kind === 'date') return day;
    return day + 'T' + pad(p.h) + ':' + pad(p.mi);
  }

  /*
   * <time> for a raw API time string. opts.relative: prefer "3 h ago" for instants;
   * opts.localNote: text after local (offset-less) times, default
   * "local time at the location". Unparseable strings are shown as given.
   */
  function timeNode(raw, opts) {
    opts = opts || {};
    var p = parseTime(raw);
    if (!p) return el('span', { class: 'time-raw', text: str(raw) });
    var full = formatWhen(p);
    var text = full;
    if (opts.dayOnly) text = formatDay(p);
    if (opts.relative) text = relative(p) || full;
    var t = el('time', { datetime: datetimeAttr(p), title: (text !== full) ? full : null, text: text });
    if (p.kind === 'local' && !opts.dayOnly) {
      var note = opts.localNote === undefined ? 'local time at the location' : opts.localNote;
      return el('span', { class: 'time-local' }, [t, ' ', el('span', { class: 'tz-note', text: '(' + note + ')' })]);
    }
    return t;
  }

  /* ---------- words ---------- */

  var TAGS = {
    Pending: { words: 'Waiting for the carrier', tone: 'neutral', step: 1 },
    InfoReceived: { words: 'Label created', tone: 'neutral', step: 1 },
    InTransit: { words: 'In transit', tone: 'info', step: 2 },
    OutForDelivery: { words: 'Out for delivery', tone: 'info', step: 3 },
    AttemptFail: { words: 'Delivery attempt failed', tone: 'warning', step: 3 },
    Delivered: { words: 'Delivered', tone: 'success', step: 4 },
    AvailableForPickup: { words: 'Ready for pickup', tone: 'info', step: 3 },
    Exception: { words: 'Delivery problem', tone: 'warning', step: 2 },
    Expired: { words: 'Tracking expired', tone: 'warning', step: 2 }
  };

  var TAG_HINTS = {
    Pending: 'The carrier has no information about this shipment yet.',
    InfoReceived: 'The carrier has the shipment details and is waiting for the package.',
    Expired: 'The carrier has not sent an update for a long time.'
  };

  var STAGES = {
    processing: 'Processing your order',
    placed: 'Order placed',
    shipped: 'Shipped',
    in_transit: 'In transit',
    out_for_delivery: 'Out for delivery',
    available_for_pickup: 'Ready for pickup',
    attempt_failed: 'Delivery attempt failed',
    exception: 'Delivery problem',
    delivered: 'Delivered',
    partially_delivered: 'Partially delivered',
    expired: 'Tracking expired',
    failed: 'Order failed',
    cancelled: 'Order cancelled'
  };

  var STATUSES = {
    PENDING: 'Pending',
    PROCESSING: 'Processing',
    SUCCEEDED: 'Placed',
    FAILED: 'Failed',
    CANCELLATION_IN_PROGRESS: 'Cancellation in progress',
    CANCELLED: 'Cancelled'
  };

  function humanize(code) {
    var s = str(code).replace(/[_-]+/g, ' ').replace(/([a-z])([A-Z])/g, '$1 $2').trim().toLowerCase();
    return s ? s.charAt(0).toUpperCase() + s.slice(1) : '';
  }

  function tagInfo(tag) {
    if (typeof tag === 'string' && Object.prototype.hasOwnProperty.call(TAGS, tag)) return TAGS[tag];
    if (tag === null || tag === undefined || tag === '') return TAGS.Pending;
    return { words: humanize(tag), tone: 'neutral', step: 2 };
  }

  function stageWords(stage) {
    if (typeof stage === 'string' && Object.prototype.hasOwnProperty.call(STAGES, stage)) return STAGES[stage];
    return humanize(stage);
  }

  function statusWords(status) {
    if (typeof status === 'string' && Object.prototype.hasOwnProperty.call(STATUSES, status)) return STATUSES[status];
    return humanize(status);
  }

  function shipmentsOf(order) {
    return (order && Array.isArray(order.shipments)) ? order.shipments.filter(function (s) { return s && typeof s === 'object'; }) : [];
  }

  /* ---------- shipment card ---------- */

  var TIMELINE_PREVIEW = 5;

  function locationText(loc) {
    if (loc === null || loc === undefined) return '';
    if (typeof loc === 'string') return loc;
    if (typeof loc === 'object') {
      return ['location', 'city', 'state', 'zip', 'country_region', 'country_iso3', 'country']
        .map(function (k) { return typeof loc[k] === 'string' ? loc[k] : ''; })
        .filter(Boolean).join(', ');
    }
    return str(loc);
  }

  function renderTimeline(shipment, idBase, expanded, onToggle, level) {
    var cps = Array.isArray(shipment.checkpoints) ? shipment.checkpoints.filter(function (c) { return c && typeof c === 'object'; }) : [];
    var wrap = el('div', { class: 'timeline-wrap' });
    var headingId = idBase + '-history';
    wrap.appendChild(el('h' + Math.min(level || 4, 6), { id: headingId, class: 'timeline-heading', text: 'Tracking history' }));
    if (cps.length === 0) {
      wrap.appendChild(el('p', { class: 'muted', testid: 'timeline-empty', text: 'No updates from the carrier yet.' }));
      return wrap;
    }
    var listId = idBase + '-timeline';
    var ol = el('ol', { class: 'timeline', id: listId, testid: 'timeline', 'aria-labelledby': headingId });
    /* Newest first, in the order the API gives: never re-sorted here. */
    cps.forEach(function (cp, i) {
      var info = tagInfo(cp.tag);
      var message = str(cp.message).trim() || info.words;
      var loc = locationText(cp.location);
      var li = el('li', {
        class: 'timeline-item tone-' + info.tone + (i === 0 ? ' is-latest' : ''),
        testid: 'timeline-item',
        hidden: (!expanded && i >= TIMELINE_PREVIEW)
      }, [
        el('p', { class: 'timeline-message', text: message }),
        el('p', { class: 'timeline-meta' }, [
          cp.time ? timeNode(cp.time) : el('span', { text: 'Time not given' }),
          loc ? [el('span', { class: 'sep', 'aria-hidden': 'true', text: ' · ' }), el('span', { class: 'timeline-location', text: loc })] : null
        ])
      ]);
      ol.appendChild(li);
    });
    wrap.appendChild(ol);
    if (cps.length > TIMELINE_PREVIEW) {
      var btn = el('button', {
        type: 'button', class: 'button button-quiet', testid: 'timeline-toggle',
        'aria-controls': listId, 'aria-expanded': expanded ? 'true' : 'false',
        text: expanded ? 'Show fewer updates' : 'Show all ' + cps.length + ' updates'
      });
      btn.addEventListener('click', function () {
        var open = btn.getAttribute('aria-expanded') !== 'true';
        Array.prototype.forEach.call(ol.children, function (li, i) { li.hidden = !open && i >= TIMELINE_PREVIEW; });
        btn.setAttribute('aria-expanded', open ? 'true' : 'false');
        btn.textContent = open ? 'Show fewer updates' : 'Show all ' + cps.length + ' updates';
        if (onToggle) onToggle(open);
      });
      wrap.appendChild(btn);
    }
    return wrap;
  }

  function fact(dl, label, value, testid) {
    dl.appendChild(el('div', { class: 'fact', testid: testid }, [el('dt', { text: label }), el('dd', null, value)]));
  }

  /*
   * One card per shipment. opts: {index, total, expanded, onToggle, operator,
   * idPrefix, level (heading level of the card title, default 3)}
   * operator adds the subtag code and the poll error.
   */
  function renderShipment(s, opts) {
    opts = opts || {};
    var index = opts.index || 0, total = opts.total || 1, level = Math.min(opts.level || 3, 5);
    var idBase = (opts.idPrefix || 'shipment') + '-' + (index + 1);
    var hasNumber = typeof s.trackingNumber === 'string' && s.trackingNumber.trim() !== '';
    var info = hasNumber ? tagInfo(s.tag) : { words: 'Tracking details pending', tone: 'neutral' };
    var title = total > 1 ? 'Shipment ' + (index + 1) + ' of ' + total : 'Shipment';

    var card = el('section', {
      class: 'card shipment', id: idBase, testid: 'shipment-card',
      'data-tracking-number': hasNumber ? s.trackingNumber : null,
      'aria-labelledby': idBase + '-title'
    });
    card.appendChild(el('div', { class: 'shipment-head' }, [
      el('h' + level, { id: idBase + '-title', class: 'shipment-title', text: title }),
      el('p', { class: 'badge tone-' + info.tone, testid: 'shipment-status', text: info.words })
    ]));

    var sub = str(s.subtagMessage).trim();
    if (hasNumber && sub && sub.toLowerCase() !== info.words.toLowerCase()) {
      card.appendChild(el('p', { class: 'shipment-detail', testid: 'shipment-substatus', text: sub }));
    } else if (hasNumber && TAG_HINTS[s.tag]) {
      card.appendChild(el('p', { class: 'shipment-detail muted', text: TAG_HINTS[s.tag] }));
    }

    if (!hasNumber) {
      card.appendChild(el('p', { class: 'shipment-detail', testid: 'tracking-pending',
        text: 'The store hasn\u2019t shared a tracking number for this shipment yet. It will appear here as soon as it does.' }));
    }

    var dl = el('dl', { class: 'facts' });
    fact(dl, 'Carrier', str(s.carrier).trim() || 'Not known yet', 'shipment-carrier');
    if (hasNumber) {
      var href = safeUrl(s.trackingUrl);
      fact(dl, 'Tracking number', href
        ? el('a', { href: href, rel: 'noopener noreferrer', target: '_blank', class: 'tracking-link', testid: 'tracking-link' },
            [el('span', { class: 'tracking-number', text: s.trackingNumber }), el('span', { class: 'visually-hidden', text: ' (carrier website, opens in a new tab)' })])
        : el('span', { class: 'tracking-number', text: s.trackingNumber }), 'shipment-tracking-number');
    } else {
      fact(dl, 'Tracking number', 'Pending', 'shipment-tracking-number');
    }
    if (s.deliveredAt) {
      fact(dl, 'Delivered', timeNode(s.deliveredAt), 'shipment-delivered');
    } else if (s.expectedDelivery) {
      fact(dl, 'Expected delivery', timeNode(s.expectedDelivery), 'shipment-expected');
    } else if (hasNumber && ['Delivered', 'AvailableForPickup', 'Expired'].indexOf(s.tag) < 0) {
      fact(dl, 'Expected delivery', el('span', { class: 'muted', text: 'No estimate from the carrier yet' }), 'shipment-expected');
    }
    if (opts.operator) {
      if (s.tag !== undefined) fact(dl, 'Tag', str(s.tag) || '\u2014', 'shipment-tag');
      if (s.subtag !== undefined) fact(dl, 'Subtag', str(s.subtag) || '\u2014', 'shipment-subtag');
    }
    card.appendChild(dl);

    if (hasNumber) {
      card.appendChild(freshness(s));
    }

    if (opts.operator && s.pollError !== null && s.pollError !== undefined && s.pollError !== '') {
      card.appendChild(el('div', { class: 'notice tone-error', testid: 'poll-error', role: 'note' }, [
        el('p', { class: 'notice-title', text: 'Last poll failed' }),
        renderValue(s.pollError)
      ]));
    }

    if (hasNumber) card.appendChild(renderTimeline(s, idBase, !!opts.expanded, opts.onToggle, level + 1));
    return card;
  }

  /* "Last carrier scan 3 h ago · checked 20 min ago" */
  function freshness(s) {
    var p = el('p', { class: 'freshness', testid: 'shipment-freshness' });
    if (s.lastCheckpointAt) {
      var lp = parseTime(s.lastCheckpointAt);
      p.appendChild(document.createTextNode('Last carrier scan '));
      p.appendChild(timeNode(s.lastCheckpointAt, { relative: !!(lp && lp.kind === 'instant'), localNote: 'local time' }));
    } else {
      p.appendChild(document.createTextNode('No carrier scan yet'));
    }
    p.appendChild(el('span', { class: 'sep', 'aria-hidden': 'true', text: ' \u00b7 ' }));
    if (s.checkedAt) {
      p.appendChild(document.createTextNode('checked '));
      p.appendChild(timeNode(s.checkedAt, { relative: true, localNote: 'local time' }));
    } else {
      p.appendChild(document.createTextNode('not checked yet'));
    }
    return p;
  }

  /* ---------- generic values (stats, poll errors) ---------- */

  /* object -> <dl>, array -> <ul>, scalar -> text; times shown readably. */
  function renderValue(v, depth) {
    depth = depth || 0;
    if (v === null || v === undefined) return el('span', { class: 'muted', text: '\u2014' });
    if (typeof v === 'boolean') return el('span', { text: v ? 'yes' : 'no' });
    /* Numbers as given: they may be codes (4009) as well as counts. */
    if (typeof v === 'number') return el('span', { class: 'num', text: String(v) });
    if (typeof v === 'string') {
      var p = parseTime(v);
      if (p && p.kind === 'instant') {
        return el('span', null, [
          el('time', { datetime: p.date.toISOString(), title: formatWhen(p), text: formatShortInstant(p.date) }),
          ' ', el('span', { class: 'muted', text: '(' + (relative(p) || 'in the future') + ')' })
        ]);
      }
      return el('span', { class: 'value-text', text: v });
    }
    if (depth > 5) return el('code', { text: str(v) });
    if (Array.isArray(v)) {
      if (v.length === 0) return el('span', { class: 'muted', text: 'none' });
      return el('ul', { class: 'value-list' }, v.map(function (x) { return el('li', null, renderValue(x, depth + 1)); }));
    }
    if (typeof v === 'object') {
      var keys = Object.keys(v);
      if (keys.length === 0) return el('span', { class: 'muted', text: 'none' });
      var dl = el('dl', { class: 'value-dl' });
      keys.forEach(function (k) {
        dl.appendChild(el('div', { class: 'value-row' }, [el('dt', { text: k }), el('dd', null, renderValue(v[k], depth + 1))]));
      });
      return dl;
    }
    return el('span', { text: str(v) });
  }

  /* ---------- storage (may be disabled: never throw) ---------- */

  var store = {
    get: function (k) { try { return window.sessionStorage.getItem(k); } catch (e) { return null; } },
    set: function (k, v) { try { window.sessionStorage.setItem(k, v); return true; } catch (e) { return false; } },
    remove: function (k) { try { window.sessionStorage.removeItem(k); } catch (e) { /* ignore */ } }
  };

  /* Read a JSON body; null when it is not JSON. */
  function readJson(res) {
    return res.text().then(function (t) {
      try { return JSON.parse(t); } catch (e) { return null; }
    }, function () { return null; });
  }

  function footerZone() {
    var n = document.getElementById('zone-note');
    if (n && VIEWER_ZONE) n.textContent = 'Times are shown in your time zone (' + VIEWER_ZONE + ') unless marked as local time at the location.';
  }

  window.ShipTrack = {
    el: el, append: append, clear: clear, safeUrl: safeUrl, str: str,
    apiUrl: apiUrl,
    parseTime: parseTime, formatDay: formatDay, formatWhen: formatWhen, formatClock: formatClock,
    formatShortInstant: formatShortInstant, relative: relative, daysFromToday: daysFromToday, timeNode: timeNode,
    tagInfo: tagInfo, stageWords: stageWords, statusWords: statusWords, humanize: humanize,
    shipmentsOf: shipmentsOf, renderShipment: renderShipment, renderValue: renderValue,
    store: store, readJson: readJson, footerZone: footerZone,
    LOCALE: LOCALE, VIEWER_ZONE: VIEWER_ZONE
  };
})();
