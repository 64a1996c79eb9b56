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
 * Words. Every user-visible string comes from a message catalog,
 * web/i18n/<lang>.json (flat keys, "{name}" placeholders), one language
 * fetched per view: t(key, vars) gives the text, tn() the same with DOM nodes
 * in the placeholders, and elements with data-i18n="key" (or
 * data-i18n-label="key" for aria-label) are filled by i18n.apply(). The same
 * catalogs are compiled into the e-mails (cgi/lib/i18n.c). The language:
 * ?lang=, else the browser's languages, else the server's default_locale
 * (GET {api}/v1/settings), else English. Dates and relative times go through
 * Intl in that language. Carrier text (messages, locations) is shown as the
 * carrier wrote it.
 *
 * Requests. Both pages ask the server through request(): fetch() with a
 * deadline (20 s by default), same-origin credentials and no referrer, its
 * answer and its failure (timeout, network, a newer request) told apart.
 * announce() speaks in the page's live region (#live-status).
 *
 * Exposed as window.ShipTrack.
 */
(function () {
  'use strict';

  /* ---------- DOM ---------- */

  function $(id) { return document.getElementById(id); }

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

  /* Only http(s) URLs become links (httpsOnly: only https); anything else
   * (javascript:, data:, relative paths) stays text. */
  function safeUrl(u, httpsOnly) {
    if (typeof u !== 'string' || u === '') return null;
    try {
      var url = new URL(u, document.baseURI);
      if (url.protocol === 'https:' || (url.protocol === 'http:' && !httpsOnly)) return url.href;
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

  /* ---------- requests ---------- */

  var TIMEOUT_MS = 20 * 1000;

  /*
   * fetch() with a deadline, same-origin credentials and no referrer: the
   * one way both pages ask the server. opts: method, headers, body, cache,
   * ms (the deadline, default 20 s, reading the answer included) and
   * controller (an AbortController the caller keeps to abort the request
   * when a newer one replaces it). Resolves to onAnswer(response) when an
   * answer came, else to onNoAnswer(timedOut): true when the deadline
   * passed, false for a network error or the caller's own abort.
   */
  function request(url, opts, onAnswer, onNoAnswer) {
    var ctl = opts.controller || new AbortController();
    var timedOut = false;
    var timer = setTimeout(function () { timedOut = true; ctl.abort(); }, opts.ms || TIMEOUT_MS);
    return fetch(url, {
      method: opts.method, headers: opts.headers, body: opts.body, cache: opts.cache,
      credentials: 'same-origin',
      referrerPolicy: 'no-referrer',
      signal: ctl.signal
    }).then(onAnswer, function () {
      return onNoAnswer(timedOut);
    }).then(function (r) {
      clearTimeout(timer);
      return r;
    });
  }

  /* Read a JSON body; null when it is not JSON. */
  function readJson(res) {
    return res.text().then(function (txt) {
      try { return JSON.parse(txt); } catch (e) { return null; }
    }, function () { return null; });
  }

  /* Say text in the page's live region (#live-status), ending its "Loading" line. */
  function announce(text) {
    var live = $('live-status');
    live.classList.remove('is-loading');
    live.textContent = text;
  }

  /* A notice box: a title and an optional body. */
  function notice(tone, testid, title, body) {
    return el('div', { class: 'notice tone-' + tone, testid: testid }, [
      el('p', { class: 'notice-title', text: title }),
      body ? el('p', { class: 'notice-body', text: body }) : null
    ]);
  }

  /* ---------- words: the message catalog ---------- */

  /* The catalogs in web/i18n/ (tests/i18n_check.py checks this list). */
  var LANGS = ['en', 'de', 'es', 'fr', 'it', 'nl', 'pt'];
  var has = function (o, k) { return Object.prototype.hasOwnProperty.call(o, k); };
  var catalog = {};
  var LANG = 'en';
  var LOCALE = 'en-US';

  /* "de-AT" -> "de" when there is a German catalog; else null. */
  function supported(tag) {
    if (typeof tag !== 'string') return null;
    var p = tag.trim().toLowerCase().split(/[-_]/)[0];
    return LANGS.indexOf(p) >= 0 ? p : null;
  }

  function browserLangs() {
    var l = (navigator.languages && navigator.languages.length) ? navigator.languages : [navigator.language];
    return Array.prototype.filter.call(l, function (x) { return typeof x === 'string' && x; });
  }

  /* The tag Intl formats with: the browser's own variant of the language when
   * it has one (en-GB writes "Tue 6 May", pt-PT differs from pt), else a
   * plain tag (English: en-US). */
  function localeFor(lang) {
    var langs = browserLangs();
    for (var i = 0; i < langs.length; i++) {
      if (supported(langs[i]) === lang) {
        try { new Intl.DateTimeFormat(langs[i]); return langs[i]; } catch (e) { /* unsupported tag */ }
      }
    }
    return lang === 'en' ? 'en-US' : lang;
  }

  /* The text for key, with {name} placeholders from vars; the key itself when
   * the catalog lacks it (make check makes sure none does). */
  function t(key, vars) {
    var s = has(catalog, key) ? catalog[key] : key;
    if (!vars) return s;
    return s.replace(/\{(\w+)\}/g, function (m, k) { return has(vars, k) ? String(vars[k]) : m; });
  }

  /* Like t(), but placeholders may be DOM nodes: an array for el()/append(). */
  function tn(key, vars) {
    var s = has(catalog, key) ? catalog[key] : key;
    var out = [];
    var re = /\{(\w+)\}/g, last = 0, m;
    while ((m = re.exec(s)) !== null) {
      if (m.index > last) out.push(s.slice(last, m.index));
      out.push(vars && has(vars, m[1]) ? vars[m[1]] : m[0]);
      last = re.lastIndex;
    }
    if (last < s.length) out.push(s.slice(last));
    return out;
  }

  /* GET a JSON document: its value, or null for an error, a timeout or no JSON. */
  function fetchJson(url, ms) {
    return request(url, { headers: { Accept: 'application/json' }, ms: ms },
      function (res) { return res.ok ? readJson(res) : null; },
      function () { return null; });
  }

  /* Load one catalog (English if that one cannot be had); resolves to the language loaded. */
  function loadCatalog(lang) {
    return fetchJson(new URL('i18n/' + lang + '.json', document.baseURI).href, 10000).then(function (c) {
      if (c && typeof c === 'object' && !Array.isArray(c)) {
        catalog = c;
        LANG = lang;
        LOCALE = localeFor(lang);
        fmtCache = {};
        document.documentElement.lang = lang;
        return lang;
      }
      return lang === 'en' ? 'en' : loadCatalog('en');
    });
  }

  /* ?lang=, the browser's languages, the server's default_locale
   * (askServer), English: the first we have a catalog for. */
  function chooseLanguage(query, askServer) {
    var l = supported(query);
    if (l) return Promise.resolve(l);
    var langs = browserLangs();
    for (var i = 0; i < langs.length; i++) if ((l = supported(langs[i]))) return Promise.resolve(l);
    if (!askServer) return Promise.resolve('en');
    return fetchJson(apiUrl('/v1/settings'), 5000).then(function (s) {
      return (s && supported(s.defaultLocale)) || 'en';
    });
  }

  /* Fill data-i18n (text) and data-i18n-label (aria-label) under root. */
  function applyCatalog(root) {
    Array.prototype.forEach.call(root.querySelectorAll('[data-i18n]'), function (n) {
      n.textContent = t(n.getAttribute('data-i18n'));
    });
    Array.prototype.forEach.call(root.querySelectorAll('[data-i18n-label]'), function (n) {
      n.setAttribute('aria-label', t(n.getAttribute('data-i18n-label')));
    });
  }

  /* A language's name in that language ("Deutsch", "Español"). */
  function languageName(code) {
    var name = code;
    try { name = new Intl.DisplayNames([code], { type: 'language' }).of(code) || code; } catch (e) { /* old browser */ }
    return name.charAt(0).toLocaleUpperCase(code) + name.slice(1);
  }

  var i18n = {
    LANGS: LANGS, supported: supported, choose: chooseLanguage, load: loadCatalog,
    apply: applyCatalog, languageName: languageName,
    lang: function () { return LANG; }, locale: function () { return LOCALE; }
  };

  /* ---------- time ---------- */

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

  var rtfCache = {};
  function rtf() {
    if (!rtfCache[LOCALE]) rtfCache[LOCALE] = new Intl.RelativeTimeFormat(LOCALE, { numeric: 'auto' });
    return rtfCache[LOCALE];
  }

  /* "now", "20 minutes ago", "3 hours ago", "4 days ago" in the page's
   * language; null unless p is an instant. */
  function relative(p, now) {
    if (!p || p.kind !== 'instant') return null;
    var diff = (now || Date.now()) - p.date.getTime();
    if (diff < -5 * 60000) return null; /* in the future: clocks disagree, say the time instead */
    if (diff < 60000) return rtf().format(0, 'second');
    var min = Math.floor(diff / 60000);
    if (min < 60) return rtf().format(-min, 'minute');
    var h = Math.floor(diff / 3600000);
    if (h < 48) return rtf().format(-h, 'hour');
    return rtf().format(-Math.floor(diff / 86400000), 'day');
  }

  /* "in 45 seconds", "in 5 minutes", "in 2 hours" for a wait in seconds. */
  function inDuration(seconds) {
    if (seconds < 60) return rtf().format(Math.max(1, Math.ceil(seconds)), 'second');
    var min = Math.ceil(seconds / 60);
    if (min < 120) return rtf().format(min, 'minute');
    return rtf().format(Math.ceil(min / 60), 'hour');
  }

  function datetimeAttr(p) {
    if (p.kind === 'instant') return p.date.toISOString();
    var pad = function (n, w) { n = String(n); while (n.length < (w || 2)) n = '0' + n; return n; };
    var day = pad(p.y, 4) + '-' + pad(p.mo) + '-' + pad(p.d);
    if (p.kind === 'date') return day;
    return day + 'T' + pad(p.h) + ':' + pad(p.mi);
  }

  /*
   * <time> for a raw API time string. opts.relative: prefer "3 hours ago" for
   * instants; opts.localNote: the key of the text after local (offset-less)
   * times, default "local time at the location". Unparseable strings are shown
   * as given.
   */
  function timeNode(raw, opts) {
    opts = opts || {};
    var p = parseTime(raw);
    if (!p) return el('span', { class: 'time-raw', text: str(raw) });
    var full = formatWhen(p);
    var text = full;
    if (opts.dayOnly) text = formatDay(p);
    if (opts.relative) text = relative(p) || full;
    var tm = el('time', { datetime: datetimeAttr(p), title: (text !== full) ? full : null, text: text });
    if (p.kind === 'local' && !opts.dayOnly) {
      var note = t(opts.localNote || 'time.local_note');
      return el('span', { class: 'time-local' }, [tm, ' ', el('span', { class: 'tz-note', text: '(' + note + ')' })]);
    }
    return tm;
  }

  /* An estimate's dates: one day, or a range ("Tue, May 6 – Thu, May 8"). */
  function formatRange(a, b) {
    if (!b || a.raw === b.raw) return formatWhen(a);
    if (a.kind === b.kind && a.kind !== 'local') {
      var o = { weekday: 'short', month: 'short', day: 'numeric', year: yearOpt(b) };
      var f;
      if (a.kind === 'date') { o.timeZone = 'UTC'; f = dtf(o); }
      else { o.hour = 'numeric'; o.minute = '2-digit'; o.timeZoneName = 'short'; f = dtf(o); }
      if (typeof f.formatRange === 'function') {
        return a.kind === 'date' ? f.formatRange(a.wall, b.wall) : f.formatRange(a.date, b.date);
      }
    }
    return formatWhen(a) + ' \u2013 ' + formatWhen(b);
  }

  /* ---------- words for codes ---------- */

  /* AfterShip's nine tags: catalog key, colour, progress step. */
  var TAGS = {
    Pending: { key: 'pending', tone: 'neutral', step: 1 },
    InfoReceived: { key: 'info_received', tone: 'neutral', step: 1 },
    InTransit: { key: 'in_transit', tone: 'info', step: 2 },
    OutForDelivery: { key: 'out_for_delivery', tone: 'info', step: 3 },
    AttemptFail: { key: 'attempt_fail', tone: 'warning', step: 3 },
    Delivered: { key: 'delivered', tone: 'success', step: 4 },
    AvailableForPickup: { key: 'available_for_pickup', tone: 'info', step: 3 },
    Exception: { key: 'exception', tone: 'warning', step: 2 },
    Expired: { key: 'expired', tone: 'warning', step: 2 }
  };
  var TAG_HINTS = { Pending: 'pending', InfoReceived: 'info_received', Expired: 'expired' };

  var STAGES = ['processing', 'placed', 'shipped', 'in_transit', 'out_for_delivery', 'available_for_pickup',
    'attempt_failed', 'exception', 'delivered', 'partially_delivered', 'expired', 'failed', 'cancelled'];
  var STATUSES = ['PENDING', 'PROCESSING', 'SUCCEEDED', 'FAILED', 'CANCELLATION_IN_PROGRESS', 'CANCELLED'];

  /* A code we have no words for (a status Rye adds later): shown as readable as it gets. */
  function humanize(code) {
    var s = str(code).replace(/[_-]+/g, ' ').replace(/([a-z])([A-Z])/g, '$1 $2').trim().toLowerCase();
    return s ? s.charAt(0).toUpperCase() + s.slice(1) : '';
  }

  function tagInfo(tag) {
    if (tag === null || tag === undefined || tag === '') tag = 'Pending';
    if (typeof tag === 'string' && has(TAGS, tag)) {
      var i = TAGS[tag];
      return { words: t('tag.' + i.key), tone: i.tone, step: i.step };
    }
    return { words: humanize(tag), tone: 'neutral', step: 2 };
  }

  function stageWords(stage) {
    return STAGES.indexOf(stage) >= 0 ? t('stage.' + stage) : humanize(stage);
  }

  function statusWords(status) {
    return STATUSES.indexOf(status) >= 0 ? t('order_status.' + status.toLowerCase()) : humanize(status);
  }

  function shipmentsOf(order) {
    return (order && Array.isArray(order.shipments)) ? order.shipments.filter(function (s) { return s && typeof s === 'object'; }) : [];
  }

  /* ---------- shipment card ---------- */

  var TIMELINE_PREVIEW = 5;
  var ESTIMATE_SOURCES = ['carrier', 'predicted', 'rye'];

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

  /* The shipment's usable estimates, carrier's first, then the prediction, then Rye's. */
  function estimatesOf(s) {
    if (!Array.isArray(s.estimates)) return [];
    return s.estimates.filter(function (e) {
      return e && ESTIMATE_SOURCES.indexOf(e.source) >= 0 && (parseTime(e.earliest) || parseTime(e.latest));
    }).sort(function (a, b) { return ESTIMATE_SOURCES.indexOf(a.source) - ESTIMATE_SOURCES.indexOf(b.source); });
  }

  /* The one date the headline speaks of: the old expectedDelivery, else the
   * latest day of the best estimate. */
  function expectedOf(s) {
    if (s.expectedDelivery && parseTime(s.expectedDelivery)) return s.expectedDelivery;
    var e = estimatesOf(s)[0];
    return e ? (parseTime(e.latest) ? e.latest : e.earliest) : null;
  }

  function timelineButtonText(open, count) {
    return open ? t('timeline.show_fewer') : t('timeline.show_all', { count: count });
  }

  function renderTimeline(shipment, idBase, expanded, onToggle, level) {
    var cps = Array.isArray(shipment.checkpoints) ? shipment.checkpoints.filter(function (c) { return c && typeof c === 'object'; }) : [];
    var wrap = el('div', { class: 'timeline-wrap' });
    var headingId = idBase + '-history';
    wrap.appendChild(el('h' + Math.min(level || 4, 6), { id: headingId, class: 'timeline-heading', text: t('timeline.heading') }));
    if (cps.length === 0) {
      wrap.appendChild(el('p', { class: 'muted', testid: 'timeline-empty', text: t('timeline.empty') }));
      return wrap;
    }
    var listId = idBase + '-timeline';
    var ol = el('ol', { class: 'timeline', id: listId, testid: 'timeline', 'aria-labelledby': headingId });
    /* Newest first, in the order the API gives: never re-sorted here. The
     * carrier's message and location are shown as the carrier wrote them. */
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
          cp.time ? timeNode(cp.time) : el('span', { text: t('timeline.no_time') }),
          loc ? [el('span', { class: 'sep', 'aria-hidden': 'true', text: ' \u00b7 ' }), el('span', { class: 'timeline-location', text: loc })] : null
        ])
      ]);
      ol.appendChild(li);
    });
    wrap.appendChild(ol);
    if (cps.length > TIMELINE_PREVIEW) {
      var btn = el('button', {
        type: 'button', class: 'button button-quiet', testid: 'timeline-toggle',
        'aria-controls': listId, 'aria-expanded': expanded ? 'true' : 'false',
        text: timelineButtonText(expanded, cps.length)
      });
      btn.addEventListener('click', function () {
        var open = btn.getAttribute('aria-expanded') !== 'true';
        Array.prototype.forEach.call(ol.children, function (li, i) { li.hidden = !open && i >= TIMELINE_PREVIEW; });
        btn.setAttribute('aria-expanded', open ? 'true' : 'false');
        btn.textContent = timelineButtonText(open, cps.length);
        if (onToggle) onToggle(open);
      });
      wrap.appendChild(btn);
    }
    return wrap;
  }

  function fact(dl, labelKey, value, testid) {
    dl.appendChild(el('div', { class: 'fact', testid: testid }, [el('dt', { text: t(labelKey) }), el('dd', null, value)]));
  }

  function newTabLink(href, cls, testid, content) {
    return el('a', { href: href, rel: 'noopener noreferrer', target: '_blank', class: cls, testid: testid },
      [content, el('span', { class: 'visually-hidden', text: ' ' + t('link.new_tab') })]);
  }

  /* "Carrier's estimate: Tue, May 6 – Thu, May 8", one line per source. */
  function estimateList(list) {
    return el('ul', { class: 'estimates' }, list.map(function (e) {
      var a = parseTime(e.earliest) || parseTime(e.latest);
      var b = parseTime(e.latest) || a;
      return el('li', { class: 'estimate', testid: 'estimate', 'data-source': e.source },
        tn('estimate.item', {
          source: el('span', { class: 'estimate-source', text: t('estimate.' + e.source) }),
          dates: el('span', { class: 'estimate-dates', 'data-earliest': datetimeAttr(a), 'data-latest': datetimeAttr(b),
            text: formatRange(a, b) })
        }));
    }));
  }

  /* Delivered, else the estimates, else the old single expected date. */
  function deliveryFacts(dl, s, hasNumber) {
    var ests = estimatesOf(s);
    if (s.deliveredAt) {
      fact(dl, 'fact.delivered', timeNode(s.deliveredAt), 'shipment-delivered');
    } else if (ests.length) {
      fact(dl, 'fact.estimates', estimateList(ests), 'shipment-estimates');
    } else if (s.expectedDelivery) {
      fact(dl, 'fact.expected', timeNode(s.expectedDelivery), 'shipment-expected');
    } else if (hasNumber && ['Delivered', 'AvailableForPickup', 'Expired'].indexOf(s.tag) < 0) {
      fact(dl, 'fact.expected', el('span', { class: 'muted', text: t('expected.none') }), 'shipment-expected');
    }
  }

  /* Pickup point, who signed, the carrier's own page (https only). */
  function carrierFacts(dl, s, numberHref) {
    var pickup = s.pickup && typeof s.pickup === 'object' ? s.pickup : null;
    if (pickup && str(pickup.location).trim()) {
      fact(dl, 'fact.pickup', [
        el('span', { class: 'pickup-location', text: str(pickup.location).trim() }),
        str(pickup.note).trim() ? el('span', { class: 'pickup-note', testid: 'pickup-note', text: str(pickup.note).trim() }) : null
      ], 'shipment-pickup');
    }
    if (typeof s.signedBy === 'string' && s.signedBy.trim()) {
      fact(dl, 'fact.signed_by', s.signedBy.trim(), 'shipment-signed-by');
    }
    var carrierHref = safeUrl(s.carrierTrackingLink, true);
    if (carrierHref && carrierHref !== numberHref) {
      fact(dl, 'fact.carrier_link', newTabLink(carrierHref, 'carrier-link', 'carrier-link', t('carrier_link.text')),
        'shipment-carrier-link');
    }
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
    var info = hasNumber ? tagInfo(s.tag) : { words: t('shipment.details_pending'), tone: 'neutral' };
    var title = total > 1 ? t('shipment.title_of', { n: index + 1, total: total }) : t('shipment.title');

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
    } else if (hasNumber && has(TAG_HINTS, s.tag)) {
      card.appendChild(el('p', { class: 'shipment-detail muted', text: t('tag_hint.' + TAG_HINTS[s.tag]) }));
    }

    if (!hasNumber) {
      card.appendChild(el('p', { class: 'shipment-detail', testid: 'tracking-pending', text: t('shipment.no_number') }));
    }

    var dl = el('dl', { class: 'facts' });
    fact(dl, 'fact.carrier', str(s.carrier).trim() || t('carrier.unknown'), 'shipment-carrier');
    var numberHref = null;
    if (hasNumber) {
      numberHref = safeUrl(s.trackingUrl) || safeUrl(s.carrierTrackingLink, true);
      fact(dl, 'fact.tracking_number', numberHref
        ? newTabLink(numberHref, 'tracking-link', 'tracking-link', el('span', { class: 'tracking-number', text: s.trackingNumber }))
        : el('span', { class: 'tracking-number', text: s.trackingNumber }), 'shipment-tracking-number');
    } else {
      fact(dl, 'fact.tracking_number', t('tracking.pending'), 'shipment-tracking-number');
    }
    deliveryFacts(dl, s, hasNumber);
    if (hasNumber) carrierFacts(dl, s, numberHref);
    if (opts.operator) {
      if (s.tag !== undefined) fact(dl, 'fact.tag', str(s.tag) || '\u2014', 'shipment-tag');
      if (s.subtag !== undefined) fact(dl, 'fact.subtag', str(s.subtag) || '\u2014', 'shipment-subtag');
    }
    card.appendChild(dl);

    if (hasNumber) {
      card.appendChild(freshness(s));
    }

    if (opts.operator && s.pollError !== null && s.pollError !== undefined && s.pollError !== '') {
      card.appendChild(el('div', { class: 'notice tone-error', testid: 'poll-error', role: 'note' }, [
        el('p', { class: 'notice-title', text: t('poll.failed') }),
        renderValue(s.pollError)
      ]));
    }

    if (hasNumber) card.appendChild(renderTimeline(s, idBase, !!opts.expanded, opts.onToggle, level + 1));
    return card;
  }

  /* "Last carrier scan 3 hours ago · checked 20 minutes ago" */
  function freshness(s) {
    var p = el('p', { class: 'freshness', testid: 'shipment-freshness' });
    if (s.lastCheckpointAt) {
      var lp = parseTime(s.lastCheckpointAt);
      append(p, tn('freshness.last_scan', {
        when: timeNode(s.lastCheckpointAt, { relative: !!(lp && lp.kind === 'instant'), localNote: 'time.local_short' })
      }));
    } else {
      append(p, t('freshness.no_scan'));
    }
    p.appendChild(el('span', { class: 'sep', 'aria-hidden': 'true', text: ' \u00b7 ' }));
    if (s.checkedAt) {
      append(p, tn('freshness.checked', { when: timeNode(s.checkedAt, { relative: true, localNote: 'time.local_short' }) }));
    } else {
      append(p, t('freshness.not_checked'));
    }
    return p;
  }

  /* ---------- generic values (stats, poll errors) ---------- */

  /* object -> <dl>, array -> <ul>, scalar -> text; times shown readably. */
  function renderValue(v, depth) {
    depth = depth || 0;
    if (v === null || v === undefined) return el('span', { class: 'muted', text: '\u2014' });
    if (typeof v === 'boolean') return el('span', { text: v ? t('value.yes') : t('value.no') });
    /* Numbers as given: they may be codes (4009) as well as counts. */
    if (typeof v === 'number') return el('span', { class: 'num', text: String(v) });
    if (typeof v === 'string') {
      var p = parseTime(v);
      if (p && p.kind === 'instant') {
        return el('span', null, [
          el('time', { datetime: p.date.toISOString(), title: formatWhen(p), text: formatShortInstant(p.date) }),
          ' ', el('span', { class: 'muted', text: '(' + (relative(p) || t('time.in_future')) + ')' })
        ]);
      }
      return el('span', { class: 'value-text', text: v });
    }
    if (depth > 5) return el('code', { text: str(v) });
    if (Array.isArray(v)) {
      if (v.length === 0) return el('span', { class: 'muted', text: t('value.none') });
      return el('ul', { class: 'value-list' }, v.map(function (x) { return el('li', null, renderValue(x, depth + 1)); }));
    }
    if (typeof v === 'object') {
      var keys = Object.keys(v);
      if (keys.length === 0) return el('span', { class: 'muted', text: t('value.none') });
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

  function footerZone() {
    var n = document.getElementById('zone-note');
    if (n) n.textContent = VIEWER_ZONE ? t('footer.zone_named', { zone: VIEWER_ZONE }) : t('footer.zone');
  }

  window.ShipTrack = {
    $: $, el: el, append: append, clear: clear, notice: notice, announce: announce,
    safeUrl: safeUrl, str: str,
    apiUrl: apiUrl, request: request, t: t, tn: tn, i18n: i18n,
    parseTime: parseTime, formatDay: formatDay, formatWhen: formatWhen, formatClock: formatClock,
    formatShortInstant: formatShortInstant, relative: relative, inDuration: inDuration,
    daysFromToday: daysFromToday, timeNode: timeNode,
    tagInfo: tagInfo, stageWords: stageWords, statusWords: statusWords, humanize: humanize,
    STAGES: STAGES, STATUSES: STATUSES,
    shipmentsOf: shipmentsOf, expectedOf: expectedOf, renderShipment: renderShipment, renderValue: renderValue,
    store: store, readJson: readJson, footerZone: footerZone,
    VIEWER_ZONE: VIEWER_ZONE
  };
})();
