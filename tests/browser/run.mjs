#!/usr/bin/env node
// Browser tests for web/: the shopper page and the operator page, driven in
// Debian's chromium by playwright-core, against real lighttpd instances
// (two, see "lighttpd + database") that serve web/ and run webhook.fcgi and
// api.fcgi over FastCGI with the shipped configuration
// (contrib/lighttpd/shiptrack.conf, placeholders filled in).
//
//   node tests/browser/run.mjs          (make check runs it via tests/browser.sh)
//
// The database is seeded by tests/browser/seed.py through the real
// receiver, the real shiptrack-poll against the AfterShip stand-in
// (tests/aftership_stub.py) and the Rye stand-in (tests/rye_stub.py), and
// the operator API.  Screenshots go to $top_builddir/tests/out/.  Every
// wait is bounded, and lighttpd (with the FastCGI programs it spawned) and
// the stand-ins are always stopped.
// Environment: top_srcdir, top_builddir, LIGHTTPD, PYTHON3, CHROMIUM.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';

const here = path.dirname(fileURLToPath(import.meta.url));
const SRCDIR = path.resolve(process.env.top_srcdir || path.join(here, '..', '..'));
const BUILDDIR = path.resolve(process.env.top_builddir || SRCDIR);
const OUTDIR = path.join(BUILDDIR, 'tests', 'out');
const LIGHTTPD = process.env.LIGHTTPD || '/usr/sbin/lighttpd';
const PYTHON = process.env.PYTHON3 || 'python3';
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const CHROMIUM_ARGS = ['--no-sandbox', '--disable-background-networking',
  '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-gpu',
  '--disable-quic'];
const TEST_TIMEOUT_MS = 60_000;
const WATCHDOG_MS = 480_000;
const TIMEZONE = 'Europe/Berlin';
const LOCALE = 'en-US';

// tests/browser.sh names the node_modules to use (the source tree's, or
// the one it installed into the build tree for a read-only source tree).
let chromium;
try {
  const modules = process.env.SHIPTRACK_NODE_MODULES;
  const req = createRequire(path.join(path.dirname(modules || path.join(SRCDIR, 'node_modules')),
    'package.json'));
  ({ chromium } = req('playwright-core'));
} catch (e) {
  console.error(`run.mjs: cannot load playwright-core (${e.message}); run ` +
    `'PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund' in ${SRCDIR}`);
  process.exit(1);
}

// ---------------------------------------------------------------- helpers

const secret = () => crypto.randomBytes(18).toString('base64url');
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function lookupKey(secretValue, orderId) {
  return crypto.createHmac('sha256', secretValue).update(orderId, 'utf8').digest()
    .subarray(0, 16).toString('base64url');
}

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

function withTimeout(promise, ms, what) {
  let timer;
  return Promise.race([
    promise.finally(() => clearTimeout(timer)),
    new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what}: no result within ${ms / 1000} s`)), ms);
    }),
  ]);
}

async function fetchJson(url, headers = {}) {
  const res = await fetch(url, { headers, signal: AbortSignal.timeout(10_000) });
  return { status: res.status, headers: res.headers, body: await res.json() };
}

// ----------------------------------------------------- lighttpd + database
//
// Two lighttpd instances serve web/ and the API on the same database, each
// with its own shiptrack.conf and state directory (sockets, logs); both
// allow 3 failed lookups an hour (lookup_max_failures):
//   server  what every test but the lookup form's and one language test
//           uses; default_locale is left at its default (en);
//   side    default_locale = it (for GET /api/v1/settings), and a
//           lookup_secret of its own.  The lookup form's tests run on it:
//           failures are counted under HMACs of the client address keyed
//           with lookup_secret (README, "Shopper lookup"), so the 429 they
//           end with limits 127.0.0.1 on the side server only (the test
//           checks); and it is the one stopped for "network down".
// The stand-ins for AfterShip (tests/aftership_stub.py) and Rye's API
// (tests/rye_stub.py) run while seed.py has the real shiptrack-poll fetch
// from them; they are the services the configuration names
// (carrier_api_url, rye_api_url and rye_graphql_url).

const newServer = (name) => ({ name, proc: null, dir: null, port: 0, base: '', conf: null, lookup: '' });
const server = Object.assign(newServer('main'), { tmp: null, token: '' });
const side = newServer('side');
const SERVERS = [server, side];
const newStandIn = (name) => ({ name, proc: null, root: '', key: '', log: null });
const stub = newStandIn('aftership_stub');
const ryeStub = newStandIn('rye_stub');
const STAND_INS = [stub, ryeStub];
const POLLER = path.join(BUILDDIR, 'cgi', 'shiptrack-poll');

function childrenOf(pid) {
  const out = [];
  for (const d of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    let stat;
    try { stat = fs.readFileSync(`/proc/${d}/stat`, 'utf8'); } catch { continue; }
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (Number(fields[1]) === pid) out.push(Number(d));
  }
  return out;
}

// Starts tests/<name>.py on a free port, accepting one key of its own.
async function startStandIn(s) {
  s.key = secret();
  s.log = path.join(server.tmp, `${s.name}.log`);
  const portFile = path.join(server.tmp, `${s.name}.port`);
  const log = fs.openSync(s.log, 'a');
  s.proc = spawn(PYTHON, [path.join(SRCDIR, 'tests', `${s.name}.py`), '--port', '0',
    '--port-file', portFile, `--api-key=${s.key}`], { stdio: ['ignore', 'ignore', log] });
  fs.closeSync(log);
  const deadline = Date.now() + 15_000;
  while (!fs.existsSync(portFile)) {
    if (s.proc.exitCode !== null) throw new Error(`${s.name}.py exited with ${s.proc.exitCode}`);
    if (Date.now() > deadline) throw new Error(`${s.name}.py did not start within 15 s`);
    await sleep(50);
  }
  s.root = `http://127.0.0.1:${Number(fs.readFileSync(portFile, 'utf8'))}`;
}

async function stopProcess(proc) {
  if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
  const exited = new Promise((r) => proc.once('exit', r));
  proc.kill('SIGTERM');
  const ok = await Promise.race([exited.then(() => true), sleep(10_000).then(() => false)]);
  if (!ok) proc.kill('SIGKILL');
}

async function stopStandIns() {
  for (const s of STAND_INS) {
    await stopProcess(s.proc);
    s.proc = null;
  }
}

function writeConf(srv, lines) {
  fs.mkdirSync(srv.dir, { recursive: true });
  srv.conf = path.join(srv.dir, 'shiptrack.conf');
  fs.writeFileSync(srv.conf, [`# written by tests/browser/run.mjs (${srv.name})`, ...lines, ''].join('\n'),
    { mode: 0o600 });
}

async function startServers() {
  server.tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'shiptrack-browser-'));
  server.dir = server.tmp;
  side.dir = path.join(server.tmp, 'side');
  server.token = secret();
  server.lookup = secret();
  side.lookup = secret();
  for (const s of STAND_INS) await startStandIn(s);
  const common = [
    `database = ${path.join(server.tmp, 'shiptrack.db')}`,
    `webhook_secret = ${secret()}`,
    `api_token = ${server.token}`,
    'durability = normal',
    `carrier_api_url = ${stub.root}/tracking/2025-07`,
    `carrier_api_key = ${stub.key}`,
    `rye_api_url = ${ryeStub.root}`,
    `rye_graphql_url = ${ryeStub.root}/v1/query`,
    `rye_api_key = ${ryeStub.key}`,
    'lookup_max_failures = 3',
    'lookup_window_seconds = 3600',
  ];
  writeConf(server, [...common, `lookup_secret = ${server.lookup}`]);
  writeConf(side, [...common, `lookup_secret = ${side.lookup}`, 'default_locale = it']);
  const migrate = spawnSync(path.join(BUILDDIR, 'cgi', 'shiptrack'), ['migrate'], {
    env: { PATH: '/usr/bin:/bin', SHIPTRACK_CONFIG: server.conf }, encoding: 'utf8', timeout: 30_000,
  });
  assert.equal(migrate.status, 0, `shiptrack migrate: ${migrate.error || migrate.stderr}`);
  for (const srv of SERVERS) await launchLighttpd(srv);
}

// Starts srv (again: on the port it had).
async function launchLighttpd(srv) {
  if (!srv.port) srv.port = await freePort();
  srv.base = `http://127.0.0.1:${srv.port}`;
  const template = fs.readFileSync(path.join(SRCDIR, 'contrib', 'lighttpd', 'shiptrack.conf'), 'utf8');
  const filled = template
    .replaceAll('@WEBROOT@', path.join(SRCDIR, 'web'))
    .replaceAll('@PORT@', String(srv.port))
    .replaceAll('@STATEDIR@', srv.dir)
    .replaceAll('@LIBEXECDIR@', path.join(BUILDDIR, 'cgi'))
    .replaceAll('@CONFIG@', srv.conf);
  const left = filled.split('\n').filter((l) => !/^\s*#/.test(l) && /@[A-Z]+@/.test(l));
  assert.deepEqual(left, [], 'every placeholder filled');
  const confPath = path.join(srv.dir, 'lighttpd.conf');
  fs.writeFileSync(confPath, filled);
  const env = { PATH: '/usr/bin:/bin:/usr/sbin:/sbin' };
  for (const k of ['ASAN_OPTIONS', 'UBSAN_OPTIONS', 'LSAN_OPTIONS', 'LD_LIBRARY_PATH']) {
    if (process.env[k]) env[k] = process.env[k];
  }
  const check = spawnSync(LIGHTTPD, ['-tt', '-f', confPath], { env, encoding: 'utf8', timeout: 30_000 });
  assert.equal(check.status, 0, `lighttpd rejects the configuration: ${check.error || ''}${check.stdout}${check.stderr}`);
  const log = fs.openSync(path.join(srv.dir, 'lighttpd-stderr.log'), 'a');
  srv.proc = spawn(LIGHTTPD, ['-D', '-f', confPath], { env, stdio: ['ignore', log, log] });
  fs.closeSync(log);
  const deadline = Date.now() + 15_000;
  for (;;) {
    if (srv.proc.exitCode !== null) throw new Error(`lighttpd (${srv.name}) exited with ${srv.proc.exitCode}`);
    try {
      const r = await fetch(`${srv.base}/api/v1/health`, { signal: AbortSignal.timeout(2000) });
      if (r.status === 200) return;
    } catch { /* not listening yet */ }
    if (Date.now() > deadline) throw new Error(`lighttpd (${srv.name}) did not answer /api/v1/health within 15 s`);
    await sleep(100);
  }
}

async function stopLighttpd(srv = server) {
  const proc = srv.proc;
  if (proc && proc.exitCode === null && proc.signalCode === null) {
    const kids = childrenOf(proc.pid);
    await stopProcess(proc);
    for (const pid of kids) { try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ } }
  }
  srv.proc = null;
}

// Synchronous last resort (watchdog, signals, unexpected exit).
function emergencyStop() {
  for (const { proc } of SERVERS) {
    if (proc && proc.exitCode === null) {
      for (const pid of childrenOf(proc.pid)) { try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ } }
      try { proc.kill('SIGKILL'); } catch { /* gone */ }
    }
  }
  for (const s of STAND_INS) {
    if (s.proc && s.proc.exitCode === null) { try { s.proc.kill('SIGKILL'); } catch { /* gone */ } }
  }
  if (server.tmp) { try { fs.rmSync(server.tmp, { recursive: true, force: true }); } catch { /* best effort */ } }
}
process.on('exit', emergencyStop);
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(sig, () => { console.error(`run.mjs: ${sig}`); emergencyStop(); process.exit(1); });
}
setTimeout(() => {
  console.error(`run.mjs: watchdog: the run exceeded ${WATCHDOG_MS / 1000} s`);
  emergencyStop();
  process.exit(1);
}, WATCHDOG_MS).unref();

// CSV as written: the raw text of every cell (quotes and all), row by row.
function csvCells(text) {
  const rows = [];
  let row = [];
  let i = 0;
  while (i < text.length) {
    const start = i;
    if (text[i] === '"') {
      for (i++; i < text.length; i++) {
        if (text[i] === '"' && text[i + 1] === '"') i++;
        else if (text[i] === '"') { i++; break; }
      }
    } else {
      while (i < text.length && text[i] !== ',' && text[i] !== '\r') i++;
    }
    row.push(text.slice(start, i));
    if (text[i] === ',') { i++; continue; }
    assert.equal(text.slice(i, i + 2), '\r\n', `CSV row ends in CRLF at ${i}`);
    rows.push(row);
    row = [];
    i += 2;
  }
  return rows;
}

function seed(...more) {
  const p = spawnSync(PYTHON, [path.join(here, 'seed.py'), '--base', server.base, '--config', server.conf, ...more],
    { encoding: 'utf8', timeout: 120_000 });
  assert.equal(p.status, 0, `seed.py failed: ${p.error || p.stderr}`);
  return JSON.parse(p.stdout);
}

// ------------------------------------------------------------- the runner

const results = [];
async function test(name, fn) {
  const t0 = Date.now();
  try {
    await withTimeout(Promise.resolve().then(fn), TEST_TIMEOUT_MS, name);
    results.push({ name, ok: true });
    console.log(`ok - ${name} (${((Date.now() - t0) / 1000).toFixed(2)}s)`);
  } catch (e) {
    results.push({ name, ok: false });
    console.log(`not ok - ${name}: ${String(e.message || e).split('\n').join('\\n')}`);
    for (const line of String(e.stack || '').split('\n').slice(1, 8)) console.log(`#   ${line.trim()}`);
  }
}

// ---------------------------------------------------------- page helpers

const tid = (page, id) => page.locator(`[data-testid="${id}"]`);

// Pages record what went wrong in them: script errors, console errors
// (CSP violations show up there), and requests that left 127.0.0.1.
const external = [];
async function newPage(context, width, height = 800) {
  const page = await context.newPage();
  page.errors = [];
  page.on('pageerror', (e) => page.errors.push(`pageerror: ${e.message}`));
  page.on('console', (m) => { if (m.type() === 'error') page.errors.push(`console: ${m.text()}`); });
  await page.setViewportSize({ width, height });
  return page;
}

function noErrors(page, allow = []) {
  const bad = page.errors.filter((e) => !allow.some((re) => re.test(e)));
  assert.deepEqual(bad, [], 'no script or console errors');
}

async function shot(page, name) {
  fs.mkdirSync(OUTDIR, { recursive: true });
  await page.screenshot({ path: path.join(OUTDIR, name), fullPage: true, timeout: 15_000 });
}

async function noHorizontalScroll(page, what) {
  const m = await page.evaluate(() => ({
    doc: document.documentElement.scrollWidth, client: document.documentElement.clientWidth,
    body: document.body.scrollWidth, inner: window.innerWidth,
    wide: [...document.querySelectorAll('body *')].filter((n) => {
      const r = n.getBoundingClientRect();
      return r.width > 0 && r.right > document.documentElement.clientWidth + 1 &&
        !n.closest('.table-scroll') && getComputedStyle(n).visibility !== 'hidden';
    }).slice(0, 5).map((n) => `${n.tagName.toLowerCase()}.${n.className}`),
  }));
  assert.ok(m.doc <= m.client && m.body <= m.client,
    `${what}: no horizontal scroll (scrollWidth ${m.doc}/${m.body} > ${m.client}; wide: ${m.wide.join(', ')})`);
  assert.deepEqual(m.wide, [], `${what}: nothing sticks out to the right`);
}

function trackUrl(order, key, srv = server) {
  return `${srv.base}/index.html?order=${encodeURIComponent(order)}&key=${encodeURIComponent(key)}`;
}

async function openOrder(context, width, order, key, height) {
  const page = await newPage(context, width, height);
  await page.goto(trackUrl(order, key));
  await tid(page, 'order-view').waitFor({ state: 'visible' });
  await page.waitForFunction(() => document.querySelector('main').getAttribute('aria-busy') === 'false');
  return page;
}

// What <time datetime> the page must write for a carrier time string.
function expectedDatetime(raw) {
  if (/^\d{4}-\d{2}-\d{2}$/.test(raw)) return raw;
  if (/(Z|[+-]\d{2}:\d{2})$/.test(raw)) return new Date(raw).toISOString();
  return raw.slice(0, 16);
}

// The clock time the viewer must see: converted for instants, as written otherwise.
function expectedClock(raw) {
  if (/^\d{4}-\d{2}-\d{2}$/.test(raw)) return null;
  const instant = /(Z|[+-]\d{2}:\d{2})$/.test(raw);
  const date = instant ? new Date(raw) : new Date(`${raw.slice(0, 19)}Z`);
  return new Intl.DateTimeFormat(LOCALE, { hour: 'numeric', minute: '2-digit',
    timeZone: instant ? TIMEZONE : 'UTC' }).format(date);
}

async function checkTimeline(card, checkpoints, what) {
  const items = card.locator('[data-testid="timeline-item"]');
  assert.equal(await items.count(), checkpoints.length, `${what}: one item per checkpoint`);
  assert.deepEqual(await card.locator('.timeline-message').allTextContents(),
    checkpoints.map((c) => c.message), `${what}: timeline in the order the API gives`);
  for (let i = 0; i < checkpoints.length; i++) {
    const raw = checkpoints[i].time;
    const li = items.nth(i);
    assert.equal(await li.locator('time').getAttribute('datetime'), expectedDatetime(raw),
      `${what} #${i} (${raw}): datetime`);
    const text = await li.locator('.timeline-meta').textContent();
    const clock = expectedClock(raw);
    if (clock === null) assert.ok(!/\d:\d\d/.test(text), `${what} #${i} (${raw}): a date, no clock time: ${text}`);
    else assert.ok(text.includes(clock), `${what} #${i} (${raw}): shows ${clock}: ${text}`);
    const local = !/(Z|[+-]\d{2}:\d{2})$/.test(raw) && raw.length > 10;
    assert.equal(await li.locator('.tz-note').count(), local ? 1 : 0,
      `${what} #${i} (${raw}): "local time at the location" note only for offset-less times`);
    if (checkpoints[i].location) {
      assert.equal(await li.locator('.timeline-location').textContent(), checkpoints[i].location,
        `${what} #${i}: location`);
    }
  }
}

// ----------------------------------------------------------------- tests

// ------------------------------------------- languages, lookup, axe (i18n)
//
// The page in each catalog's language, the language switcher and the
// lookup form by keyboard, the shipment fields the carrier knows, and
// axe-core on every page state at 360 and 1280 px, light and dark.
//
// Everything comes from the real API: the orders' lookup facts were set
// with PUT /api/v1/orders/{id}/contact and are found by POST
// /api/v1/lookup (on the side server, see "lighttpd + database"); the
// fallback language is each server's GET /api/v1/settings; the shipment
// fields (estimates, pickup, signedBy, carrierTrackingLink) are what
// shiptrack-poll fetched from the AfterShip stand-in, and Rye's estimate
// what its Rye pass read from the Rye stand-in (seed.py).

const LANGS = ['en', 'de', 'es', 'fr', 'it', 'nl', 'pt'];
const catalogs = Object.fromEntries(LANGS.map((l) =>
  [l, JSON.parse(fs.readFileSync(path.join(SRCDIR, 'web', 'i18n', `${l}.json`), 'utf8'))]));
const AXE_SOURCE = (() => {
  const modules = process.env.SHIPTRACK_NODE_MODULES || path.join(SRCDIR, 'node_modules');
  return fs.readFileSync(path.join(modules, 'axe-core', 'axe.min.js'), 'utf8');
})();

function langUrl(order, key, lang) {
  return `${trackUrl(order, key)}&lang=${lang}`;
}

async function settled(page) {
  await page.waitForFunction(() => document.querySelector('main').getAttribute('aria-busy') === 'false' &&
    !document.querySelector('#lang-switch').hidden);
}

// A date as a fresh Intl formatter in the page writes it: the expected text
// comes from the browser's own ICU, not from the page's code.
async function intlText(page, locale, raw, opts) {
  return page.evaluate(([loc, r, o]) => {
    const d = /^\d{4}-\d{2}-\d{2}$/.test(r) ? new Date(`${r}T12:00:00Z`) : new Date(r);
    const options = { ...o };
    if (/^\d{4}-\d{2}-\d{2}$/.test(r)) options.timeZone = 'UTC';
    if (d.getFullYear() !== new Date().getFullYear()) options.year = 'numeric';
    return new Intl.DateTimeFormat(loc, options).format(d);
  }, [locale, raw, opts]);
}

const DAY = { weekday: 'short', month: 'short', day: 'numeric' };
const INSTANT = { ...DAY, hour: 'numeric', minute: '2-digit', timeZoneName: 'short' };

// The real API's answer for an order (on the main server).
async function trackJson(id) {
  const r = await fetchJson(`${server.base}/api/v1/track/${encodeURIComponent(id)}?key=${orders[id].key}`);
  assert.equal(r.status, 200, `the API serves ${id}`);
  return r.body;
}

async function browserLanguages(page, langs) {
  await page.addInitScript((l) => {
    Object.defineProperty(navigator, 'languages', { get: () => l });
    Object.defineProperty(navigator, 'language', { get: () => l[0] });
  }, langs);
}

const focused = (page) => page.evaluate(() => document.activeElement.getAttribute('data-testid') ||
  document.activeElement.id || document.activeElement.className);

async function axeCheck(page, what) {
  if (!(await page.evaluate(() => typeof window.axe === 'object'))) await page.evaluate(AXE_SOURCE);
  for (const width of [360, 1280]) {
    for (const colorScheme of ['light', 'dark']) {
      await page.setViewportSize({ width, height: 800 });
      await page.emulateMedia({ colorScheme });
      const result = await page.evaluate(() => window.axe.run(document, { resultTypes: ['violations'] }));
      const found = result.violations.map((v) => `${v.id} (${v.impact}): ${v.nodes.slice(0, 3).map((n) => n.target.join(' ')).join(' | ')}`);
      assert.deepEqual(found, [], `axe, ${what}, ${width} px, ${colorScheme}`);
    }
  }
  await page.emulateMedia({ colorScheme: 'light' });
}

async function i18nTests() {
  await test('languages: headline, stage labels and dates from each catalog; carrier text untouched', async () => {
    const page = await newPage(context, 1280);
    for (const lang of LANGS) {
      const c = catalogs[lang];
      const locale = lang === 'en' ? 'en-US' : lang;
      await page.goto(langUrl('b-split', split.key, lang));
      await tid(page, 'order-view').waitFor({ state: 'visible' });
      await settled(page);
      assert.equal(await page.evaluate(() => document.documentElement.lang), lang, `${lang}: <html lang>`);
      const headline = await tid(page, 'stage-headline').textContent();
      assert.ok(headline.startsWith(c['stage.partially_delivered']), `${lang}: headline ${headline}`);
      assert.deepEqual(await page.locator('.step-label').allTextContents(),
        ['step.ordered', 'step.shipped', 'step.in_transit', 'step.out_for_delivery', 'step.delivered'].map((k) => c[k]),
        `${lang}: step labels`);
      assert.equal(await tid(page, 'notice-stage').locator('.notice-title').textContent(),
        c['notice.partially_delivered.title'], `${lang}: notice`);
      assert.equal(await page.locator('#shipments-heading').textContent(),
        c['shipments.heading_many'].replace('{count}', '2'), `${lang}: shipments heading`);
      assert.equal(await page.title(), `${headline} · ${c['site.name']}`, `${lang}: title`);
      // Dates in the language: the expected day, a converted instant, the order's day.
      const second = tid(page, 'shipment-card').nth(1);
      const exp = splitApi.shipments[1].expectedDelivery;
      assert.equal(await second.locator('[data-testid="shipment-expected"] time').textContent(),
        await intlText(page, locale, exp, DAY), `${lang}: expected delivery`);
      const cp = splitApi.shipments[1].checkpoints[0];
      assert.equal(await second.locator('[data-testid="timeline-item"]').first().locator('time').textContent(),
        await intlText(page, locale, cp.time, INSTANT), `${lang}: checkpoint time`);
      assert.equal(await tid(page, 'order-summary').locator('time').textContent(),
        await intlText(page, locale, splitApi.createdAt, DAY), `${lang}: order day`);
      // The carrier's words stay the carrier's.
      assert.deepEqual(await second.locator('.timeline-message').allTextContents(),
        splitApi.shipments[1].checkpoints.map((x) => x.message), `${lang}: carrier messages as written`);
      assert.equal(await tid(page, 'lang-summary').textContent().then((s) => s.includes(c['lang.label'])), true);
    }
    noErrors(page);
    await page.close();
  });

  await test('language: ?lang= unknown falls back; browser languages; the server default', async () => {
    let page = await newPage(context, 1280);
    await page.goto(langUrl('b-split', split.key, 'xx'));
    await settled(page);
    assert.equal(await page.evaluate(() => document.documentElement.lang), 'en', '?lang=xx: the browser\'s English');
    assert.match(await tid(page, 'stage-headline').textContent(), /^Partially delivered/);
    await page.goto(langUrl('b-split', split.key, 'DE-at'));
    await settled(page);
    assert.equal(await page.evaluate(() => document.documentElement.lang), 'de', '?lang=DE-at: German');
    await page.close();
    // Browser in Austrian German, no ?lang=: German, dates in de-AT.
    page = await newPage(context, 1280);
    await browserLanguages(page, ['de-AT', 'de', 'en']);
    await page.goto(trackUrl('b-split', split.key));
    await settled(page);
    assert.equal(await page.evaluate(() => document.documentElement.lang), 'de');
    assert.equal(await tid(page, 'order-summary').locator('time').textContent(),
      await intlText(page, 'de-AT', splitApi.createdAt, DAY), 'de-AT dates');
    await page.close();
    // A browser language without a catalog: the server's default_locale
    // (the side server's configuration says it)...
    const settings = (p) => {
      const answer = p.waitForResponse((res) => new URL(res.url()).pathname === '/api/v1/settings')
        .then(async (r) => [r.status(), await r.json()]);
      answer.catch(() => {});   // awaited below; no unhandled rejection if the test fails first
      return answer;
    };
    page = await newPage(context, 1280);
    await browserLanguages(page, ['ja-JP', 'ja']);
    let served = settings(page);
    await page.goto(trackUrl('b-split', lookupKey(side.lookup, 'b-split'), side));
    await settled(page);
    assert.deepEqual(await served, [200, { defaultLocale: 'it' }], 'the side server\'s /v1/settings');
    assert.equal(await page.evaluate(() => document.documentElement.lang), 'it', 'default_locale from /v1/settings');
    assert.ok((await tid(page, 'stage-headline').textContent()).startsWith(catalogs.it['stage.partially_delivered']));
    noErrors(page);
    await page.close();
    // ...and English from a server that leaves default_locale at its default.
    page = await newPage(context, 1280);
    await browserLanguages(page, ['ja-JP']);
    served = settings(page);
    await page.goto(trackUrl('b-split', split.key));
    await settled(page);
    assert.deepEqual(await served, [200, { defaultLocale: 'en' }], 'the main server\'s /v1/settings');
    assert.equal(await page.evaluate(() => document.documentElement.lang), 'en');
    noErrors(page);
    await page.close();
  });

  await test('language switcher by keyboard keeps order and key; one catalog per view', async () => {
    const page = await newPage(context, 1280);
    const catalogRequests = [];
    page.on('request', (r) => { if (/\/i18n\/[a-z]+\.json$/.test(r.url())) catalogRequests.push(r.url().split('/').pop()); });
    await page.goto(trackUrl('b-split', split.key));
    await settled(page);
    assert.deepEqual(catalogRequests, ['en.json'], 'one catalog fetched');
    await page.keyboard.press('Tab');
    await page.keyboard.press('Tab');
    await page.keyboard.press('Tab');
    assert.equal(await focused(page), 'lang-summary');
    assert.equal(await tid(page, 'lang-list').isVisible(), false, 'closed at first');
    await page.keyboard.press('Enter');
    assert.equal(await tid(page, 'lang-list').isVisible(), true, 'Enter opens the list');
    assert.equal(await tid(page, 'lang-link-en').getAttribute('aria-current'), 'true');
    assert.deepEqual(await page.locator('.lang-link').allTextContents(),
      ['English', 'Deutsch', 'Español', 'Français', 'Italiano', 'Nederlands', 'Português'], 'each language in its own words');
    await page.keyboard.press('Escape');
    assert.equal(await tid(page, 'lang-list').isVisible(), false, 'Escape closes it');
    assert.equal(await focused(page), 'lang-summary', 'focus back on the switch');
    await page.keyboard.press('Enter');
    await page.keyboard.press('Tab');
    assert.equal(await focused(page), 'lang-link-en');
    await page.keyboard.press('Tab');
    assert.equal(await focused(page), 'lang-link-de');
    await Promise.all([page.waitForURL(/lang=de/), page.keyboard.press('Enter')]);
    await settled(page);
    const u = new URL(page.url());
    assert.deepEqual([u.searchParams.get('order'), u.searchParams.get('key'), u.searchParams.get('lang')],
      ['b-split', split.key, 'de'], 'order and key kept');
    assert.ok((await tid(page, 'stage-headline').textContent()).startsWith(catalogs.de['stage.partially_delivered']));
    assert.deepEqual(catalogRequests, ['en.json', 'de.json'], 'again one catalog for the new view');
    // "Look up another order" keeps the chosen language.
    assert.equal(await tid(page, 'another-order-link').getAttribute('href'), '?lang=de');
    noErrors(page);
    await page.close();
  });

  // On the side server (its own lookup_secret and failure counts, at most
  // 3 failed lookups an hour): a real 404, the server really stopped, the
  // postal code, the order; then the third failure, and a real 429.
  await test('lookup form by keyboard: e-mail, postal code, 404, network, then the order; 429', async () => {
    const facts = manifest.lookup;   // b-split's, set with PUT /contact by seed.py
    const wrongEmail = 'someone.else@example.com';
    const page = await newPage(context, 1280);
    const seen = [];
    page.on('request', (r) => {
      if (new URL(r.url()).pathname === '/api/v1/lookup') {
        seen.push({ method: r.method(), type: r.headers()['content-type'], body: JSON.parse(r.postData() || 'null') });
      }
    });
    // Submits the form and returns the real API's answer.
    const submit = async (press) => {
      const [res] = await Promise.all([
        page.waitForResponse((x) => new URL(x.url()).pathname === '/api/v1/lookup'), press()]);
      return res;
    };
    const waitError = (text) => page.waitForFunction((t) => !document.querySelector('#lookup-error').hidden &&
      document.querySelector('#lookup-error').textContent.trim() === t, text);
    await page.goto(`${side.base}/index.html`);
    await tid(page, 'lookup-view').waitFor({ state: 'visible' });
    await settled(page);
    assert.equal(await tid(page, 'lookup-heading').textContent(), catalogs.en['lookup.heading']);
    await shot(page, 'lookup-form.png');
    const order = [];
    for (let i = 0; i < 7; i++) { await page.keyboard.press('Tab'); order.push(await focused(page)); }
    assert.deepEqual(order, ['skip-link', 'brand-link', 'lang-summary', 'order-input', 'email-input',
      'method-toggle', 'lookup-submit'], 'Tab order of the form');
    // Empty: refused in the page, nothing sent.
    await page.keyboard.press('Enter');
    assert.equal(await tid(page, 'order-error').textContent(), catalogs.en['form.error.order_required']);
    assert.equal(await focused(page), 'order-input');
    await page.keyboard.type(facts.orderNumber);
    await page.keyboard.press('Tab');
    await page.keyboard.type('not-an-address');
    await page.keyboard.press('Enter');
    assert.equal(await tid(page, 'email-error').textContent(), catalogs.en['form.error.email_invalid']);
    assert.equal(seen.length, 0, 'nothing sent for an invalid form');
    // A wrong pair: the API's 404 (failure 1 of 3).
    await tid(page, 'email-input').fill(wrongEmail);
    assert.equal((await submit(() => page.keyboard.press('Enter'))).status(), 404, 'a wrong e-mail: 404');
    await waitError(catalogs.en['lookup.not_found']);
    assert.deepEqual(seen[0], { method: 'POST', type: 'application/json',
      body: { orderNumber: facts.orderNumber, email: wrongEmail } }, 'the contract\'s request');
    // The network down: the server stopped, the connection refused.
    await stopLighttpd(side);
    await tid(page, 'lookup-submit').press('Enter');
    await waitError(catalogs.en['message.network.body']);
    assert.equal(seen.length, 2, 'the request was made');
    await launchLighttpd(side);
    // The right e-mail (as the shopper types it): found, the order loads.
    const showsTheOrder = async (what) => {
      await tid(page, 'order-view').waitFor({ state: 'visible' });
      await settled(page);
      assert.equal(await tid(page, 'stage-headline').getAttribute('data-stage'), 'partially_delivered', `${what}: the real order, loaded`);
      const u = new URL(page.url());
      assert.deepEqual([u.searchParams.get('order'), u.searchParams.get('key')],
        [facts.order, lookupKey(side.lookup, facts.order)], `${what}: order and key in the address bar`);
    };
    await tid(page, 'email-input').fill(` ${facts.email.toUpperCase()}`);
    assert.equal((await submit(() => tid(page, 'email-input').press('Enter'))).status(), 200, 'the right e-mail: found');
    await showsTheOrder('by e-mail');
    // The postal code instead, by keyboard; then found.
    await tid(page, 'another-order-link').click();
    await tid(page, 'lookup-view').waitFor({ state: 'visible' });
    await settled(page);
    await tid(page, 'method-toggle').focus();
    await page.keyboard.press('Enter');
    assert.equal(await tid(page, 'postal-field').isVisible(), true, 'postal code field shown');
    assert.equal(await tid(page, 'email-field').isVisible(), false, 'e-mail field hidden');
    assert.equal(await focused(page), 'postal-input', 'focus moves to it');
    assert.equal(await tid(page, 'method-toggle').textContent(), catalogs.en['form.use_email']);
    await page.keyboard.type(facts.postalCode);
    await tid(page, 'order-input').fill(facts.orderNumber);
    assert.equal((await submit(() => tid(page, 'postal-input').press('Enter'))).status(), 200, 'the postal code: found');
    await showsTheOrder('by postal code');
    assert.deepEqual(seen[seen.length - 1].body, { orderNumber: facts.orderNumber, postalCode: facts.postalCode });
    // The address bar's link works on its own.
    await page.reload();
    await settled(page);
    assert.equal(await tid(page, 'stage-headline').getAttribute('data-stage'), 'partially_delivered', 'the link works');
    // Too many: two more wrong e-mails (failures 2 and 3), then even the
    // right pair is refused: 429 with Retry-After, the wait in words.
    await page.goto(`${side.base}/index.html`);
    await settled(page);
    await tid(page, 'order-input').fill(facts.orderNumber);
    for (const n of [2, 3]) {
      await tid(page, 'email-input').fill(`${n}.${wrongEmail}`);
      assert.equal((await submit(() => tid(page, 'email-input').press('Enter'))).status(), 404, `failure ${n}`);
      await waitError(catalogs.en['lookup.not_found']);
    }
    await tid(page, 'email-input').fill(facts.email);
    const limited = await submit(() => tid(page, 'email-input').press('Enter'));
    assert.equal(limited.status(), 429, 'the right pair, after 3 failures: 429');
    const wait = Number(limited.headers()['retry-after']);
    assert.ok(Number.isInteger(wait) && wait > 60 && wait <= 3600, `Retry-After within the hour's window: ${wait}`);
    const when = await page.evaluate((m) => new Intl.RelativeTimeFormat('en-US', { numeric: 'auto' }).format(m, 'minute'),
      Math.ceil(wait / 60));
    await waitError(catalogs.en['lookup.rate_limited'].replace('{when}', when));
    assert.equal(await tid(page, 'order-view').isVisible(), false, 'no order shown');
    noErrors(page, [/404/, /429/, /ERR_CONNECTION_REFUSED/, /Failed to load resource/]);
    await page.close();
    // The main server counts its own failures: 127.0.0.1 is not limited there.
    const main = await fetch(`${server.base}/api/v1/lookup`, { method: 'POST', signal: AbortSignal.timeout(10_000),
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ orderNumber: facts.orderNumber, email: facts.email }) });
    assert.deepEqual([main.status, await main.json()], [200, { order: facts.order, key: split.key }],
      'the main server still finds the order');
  });

  // b-pickup and b-signed as shiptrack-poll stored them from the AfterShip
  // stand-in (seed.py); the page shows what the API serves, and the API
  // serves what the carrier said, less what it must not pass on.
  await test('what the carrier knows: estimates and their sources, pickup point, signed by, https link', async () => {
    const told = (number, key) => manifest.told[number].filter((f) => key in f).at(-1)[key];
    const o = await trackJson('b-pickup');
    const [dhl, ups] = o.shipments;
    assert.deepEqual(dhl.pickup, { location: told(dhl.trackingNumber, 'pickup_location'),
      note: told(dhl.trackingNumber, 'pickup_note') }, 'the API: the pickup point the carrier gave');
    assert.equal(dhl.carrierTrackingLink, told(dhl.trackingNumber, 'courier_tracking_link'), 'the API: its https link');
    assert.equal(dhl.trackingUrl, null, 'no link from Rye for that parcel');
    assert.equal(told(ups.trackingNumber, 'courier_tracking_link'), 'javascript:alert(1)');
    assert.equal(ups.carrierTrackingLink, null, 'the API: a javascript: link from the carrier is not passed on');
    assert.deepEqual(ups.estimates, [
      { source: 'carrier', earliest: told(ups.trackingNumber, 'latest_estimate').datetime_min,
        latest: told(ups.trackingNumber, 'latest_estimate').datetime_max },
      { source: 'predicted', earliest: told(ups.trackingNumber, 'aftership_estimate').date,
        latest: told(ups.trackingNumber, 'aftership_estimate').date }], 'the API: both estimates');
    const page = await newPage(context, 1280);
    await page.goto(langUrl('b-pickup', orders['b-pickup'].key, 'es'));
    await tid(page, 'order-view').waitFor({ state: 'visible' });
    await settled(page);
    const es = catalogs.es;
    assert.equal(await tid(page, 'stage-headline').textContent(), es['stage.available_for_pickup']);
    assert.equal(await tid(page, 'notice-stage').locator('.notice-body').textContent(), es['notice.pickup.body_location'],
      'the notice points at the pickup point on the card');
    const cards = tid(page, 'shipment-card');
    assert.equal(await cards.count(), 2, 'both parcels');
    // 1: the pickup point as the carrier wrote it, the note, the carrier's https page.
    assert.equal(await cards.nth(0).locator('.pickup-location').textContent(), dhl.pickup.location);
    assert.equal(await cards.nth(0).locator('[data-testid="pickup-note"]').textContent(), dhl.pickup.note);
    assert.equal(await cards.nth(0).locator('[data-testid="shipment-pickup"] dt').textContent(), es['fact.pickup']);
    assert.equal(await cards.nth(0).locator('[data-testid="tracking-link"]').getAttribute('href'),
      dhl.carrierTrackingLink, 'without trackingUrl the number links to the carrier\'s https page');
    assert.equal(await cards.nth(0).locator('[data-testid="carrier-link"]').count(), 0, 'not twice');
    // 2: two estimates, the carrier's first, each with its source; javascript: is not a link.
    const ests = cards.nth(1).locator('[data-testid="estimate"]');
    assert.deepEqual(await ests.evaluateAll((n) => n.map((x) => x.getAttribute('data-source'))), ['carrier', 'predicted']);
    assert.ok((await ests.nth(0).textContent()).startsWith(es['estimate.carrier']), 'carrier\'s estimate named');
    assert.ok((await ests.nth(1).textContent()).startsWith(es['estimate.predicted']), 'prediction named');
    const range = ests.nth(0).locator('.estimate-dates');
    assert.deepEqual([await range.getAttribute('data-earliest'), await range.getAttribute('data-latest')],
      [ups.estimates[0].earliest, ups.estimates[0].latest], 'the range');
    assert.match(await range.textContent(), /–/, 'shown as a range');
    assert.equal(await ests.nth(1).locator('.estimate-dates').textContent(),
      await intlText(page, 'es', ups.estimates[1].earliest, DAY), 'a one-day estimate is one date');
    assert.equal(await cards.nth(1).locator('[data-testid="carrier-link"]').count(), 0, 'javascript: is never a link');
    assert.equal(await cards.nth(1).locator('[data-testid="tracking-link"]').getAttribute('href'), ups.trackingUrl,
      'the number links to Rye\'s tracking page');
    assert.equal(await cards.nth(1).locator('[data-testid="shipment-expected"]').count(), 0, 'estimates replace the single date');
    await noHorizontalScroll(page, 'pickup, es, 1280 px');
    await shot(page, 'pickup-es-1280.png');
    // Only Rye's estimate (b-rye, a gen-2 order: its parcel and the day come
    // from Rye's API through the Rye pass): shown as the store's.
    const ryeDay = manifest.rye['b-rye'].estimated;
    assert.deepEqual((await trackJson('b-rye')).shipments[0].estimates,
      [{ source: 'rye', earliest: ryeDay, latest: ryeDay }], 'the API: Rye\'s estimate');
    await page.goto(langUrl('b-rye', orders['b-rye'].key, 'es'));
    await tid(page, 'order-view').waitFor({ state: 'visible' });
    await settled(page);
    const rye = tid(page, 'shipment-card').nth(0).locator('[data-testid="estimate"]');
    assert.deepEqual(await rye.evaluateAll((n) => n.map((x) => x.getAttribute('data-source'))), ['rye']);
    assert.ok((await rye.textContent()).startsWith(es['estimate.rye']));
    assert.equal(await rye.locator('.estimate-dates').textContent(), await intlText(page, 'es', ryeDay, DAY), 'Rye\'s day');
    // Delivered and signed for; an http carrier link is refused.
    const signed = (await trackJson('b-signed')).shipments[0];
    assert.equal(signed.signedBy, told(signed.trackingNumber, 'signed_by'), 'the API: who signed');
    assert.match(told(signed.trackingNumber, 'courier_tracking_link'), /^http:\/\//);
    assert.equal(signed.carrierTrackingLink, null, 'the API: an http link from the carrier is not passed on');
    assert.equal(signed.estimates.length, 1, 'the API still has the carrier\'s estimate');
    await page.goto(langUrl('b-signed', orders['b-signed'].key, 'en'));
    await tid(page, 'order-view').waitFor({ state: 'visible' });
    await settled(page);
    assert.equal(await tid(page, 'shipment-signed-by').locator('dd').textContent(), 'M. MUSTERMANN');
    assert.equal(await tid(page, 'carrier-link').count(), 0, 'http: is not linked');
    assert.equal(await tid(page, 'tracking-link').count(), 0, 'nor is the number');
    assert.equal(await tid(page, 'shipment-estimates').count(), 0, 'delivered: no estimate');
    await noHorizontalScroll(page, 'signed');
    // The API passes on https links only, so the page never gets another
    // from it; its own guard stands behind that all the same.
    assert.deepEqual(await page.evaluate(() => ['javascript:alert(1)', 'http://insecure.example/t', 'https://carrier.example/t']
      .map((u) => window.ShipTrack.safeUrl(u, true))), [null, null, 'https://carrier.example/t'],
    'the page links a carrier\'s page only when it is https');
    noErrors(page);
    await page.close();
  });

  await test('a split order in German at 360 px', async () => {
    const page = await newPage(context, 360, 740);
    await page.goto(langUrl('b-split', split.key, 'de'));
    await tid(page, 'order-view').waitFor({ state: 'visible' });
    await settled(page);
    assert.ok((await tid(page, 'stage-headline').textContent()).startsWith('Teilweise zugestellt'));
    await noHorizontalScroll(page, 'German, 360 px');
    await shot(page, 'split-de-360.png');
    noErrors(page);
    await page.close();
  });

  await test('axe-core: no violations on the shopper page states, 360/1280 px, light/dark', async () => {
    const page = await newPage(context, 1280);
    for (const id of ['b-split', 'b-delivered', 'b-exception', 'b-stale', 'b-placed', 'b-processing', 'b-failed',
      'b-signed']) {
      await page.goto(trackUrl(id, orders[id].key));
      await tid(page, 'order-view').waitFor({ state: 'visible' });
      await settled(page);
      await axeCheck(page, id);
    }
    await page.goto(langUrl('b-pickup', orders['b-pickup'].key, 'es'));
    await tid(page, 'order-view').waitFor({ state: 'visible' });
    await settled(page);
    await axeCheck(page, 'pickup (es)');
    await page.close();
  });

  await test('axe-core: no violations on the form, not found, network failure, open switcher', async () => {
    const page = await newPage(context, 1280);
    await page.goto(`${server.base}/index.html`);
    await settled(page);
    await tid(page, 'lookup-submit').click();   // with its errors shown
    await axeCheck(page, 'lookup form');
    await tid(page, 'lang-summary').click();
    await axeCheck(page, 'language list open');
    await page.goto(trackUrl('no-such-order', lookupKey(server.lookup, 'no-such-order')));
    await page.waitForFunction(() => document.querySelector('#lookup-view').getAttribute('data-state') === 'notfound');
    await axeCheck(page, 'not found');
    const abort = (route) => route.abort('connectionrefused');
    await page.route('**/api/v1/track/**', abort);
    await page.goto(trackUrl('b-split', split.key));
    await tid(page, 'message-view').waitFor({ state: 'visible' });
    await axeCheck(page, 'network failure');
    await page.unroute('**/api/v1/track/**', abort);
    noErrors(page, [/404/, /ERR_CONNECTION_REFUSED/, /Failed to load resource/]);
    await page.close();
  });

  await test('axe-core: no violations on the operator page (sign-in, list, detail)', async () => {
    const page = await newPage(context, 1280);
    await page.goto(`${server.base}/admin.html`);
    await tid(page, 'token-view').waitFor({ state: 'visible' });
    await axeCheck(page, 'operator sign-in');
    await tid(page, 'token-input').fill(server.token);
    await tid(page, 'token-submit').click();
    await tid(page, 'app-view').waitFor({ state: 'visible' });
    await page.locator('[data-order-id="b-split"]').waitFor();
    await axeCheck(page, 'operator list');
    await page.locator('[data-order-id="b-split"] [data-testid="order-link"]').click();
    await tid(page, 'detail-shipments').waitFor({ state: 'visible' });
    await axeCheck(page, 'operator detail');
    noErrors(page);
    await page.close();
  });
}

let context, manifest, orders, split, splitApi;

async function main() {
  fs.mkdirSync(OUTDIR, { recursive: true });
  await startServers();
  manifest = seed('--carrier', stub.root, '--rye', ryeStub.root, '--poller', POLLER);
  await stopStandIns();   // their part is done: the API serves what the poller stored
  orders = Object.fromEntries(manifest.orders.map((o) => [o.id, o]));
  split = orders['b-split'];
  assert.equal(split.key, lookupKey(server.lookup, 'b-split'), 'seed.py and node agree on the key');
  const api = await fetchJson(`${server.base}/api/v1/track/b-split?key=${split.key}`);
  assert.equal(api.status, 200, 'the API serves the split order');
  splitApi = api.body;
  // lighttpd drops the body of HEAD answers, whatever the program writes.
  const head = await fetch(`${server.base}/api/v1/health`, { method: 'HEAD', signal: AbortSignal.timeout(10_000) });
  assert.equal(head.status, 200, 'HEAD through lighttpd');
  assert.equal((await head.arrayBuffer()).byteLength, 0, 'HEAD through lighttpd has no body');

  const profile = fs.mkdtempSync(path.join(server.tmp, 'chromium-profile-'));
  context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS, timeout: 30_000,
    locale: LOCALE, timezoneId: TIMEZONE, viewport: { width: 1280, height: 800 },
  });
  context.setDefaultTimeout(10_000);
  context.setDefaultNavigationTimeout(15_000);
  context.on('request', (r) => {
    const u = r.url();
    if (!SERVERS.some((srv) => u.startsWith(`${srv.base}/`)) && !u.startsWith('data:') &&
      !u.startsWith('blob:')) external.push(u);
  });

  await test('API seeded as expected', async () => {
    for (const o of manifest.orders) {
      const r = await fetchJson(`${server.base}/api/v1/track/${o.id}?key=${o.key}`);
      assert.equal(r.status, 200, `${o.id}`);
      assert.deepEqual([r.body.status, r.body.stage], [o.status, o.stage], `${o.id} status/stage`);
    }
    assert.deepEqual(splitApi.shipments.map((s) => s.trackingNumber), manifest.split, 'split shipments');
    assert.equal(splitApi.shipments[1].checkpoints.length, 6, 'six scans on the second parcel');
    // Through lighttpd as well: a wrong key and an unknown order answer the same bytes.
    const raw = async (u) => {
      const r = await fetch(u, { signal: AbortSignal.timeout(10_000) });
      const h = [...r.headers].filter(([k]) => k !== 'date').map(([k, v]) => `${k}: ${v}`).join('\n');
      return `${r.status}\n${h}\n\n${await r.text()}`;
    };
    const wrongKey = await raw(`${server.base}/api/v1/track/b-split?key=${split.key.split('').reverse().join('')}`);
    const unknown = await raw(`${server.base}/api/v1/track/b-nope?key=${lookupKey(server.lookup, 'b-nope')}`);
    assert.match(wrongKey, /^404\n/);
    assert.equal(wrongKey, unknown, 'same 404 for a wrong key and an unknown order');
    const stale = await fetchJson(`${server.base}/api/v1/orders?stale=1`, { Authorization: `Bearer ${server.token}` });
    assert.deepEqual(stale.body.orders.map((o) => o.id).sort(),
      manifest.orders.filter((o) => o.stale).map((o) => o.id).sort(), 'stale orders');
  });

  await test('split order at 1280 px: stage, both shipments, timeline in the order given', async () => {
    const page = await openOrder(context, 1280, 'b-split', split.key);
    const h = tid(page, 'stage-headline');
    assert.equal(await h.getAttribute('data-stage'), 'partially_delivered');
    assert.equal(await h.getAttribute('data-status'), 'SUCCEEDED');
    assert.match(await h.textContent(), /^Partially delivered/);
    assert.equal(await tid(page, 'order-id').textContent(), 'b-split');
    assert.equal(await tid(page, 'notice-stage').getAttribute('data-kind'), 'partially-delivered');
    assert.equal(await tid(page, 'notice-stale').count(), 0, 'no stale notice');
    // Progress: as far as the slowest undelivered parcel (in transit).
    assert.equal(await tid(page, 'step-in-transit').getAttribute('aria-current'), 'step');
    assert.equal(await tid(page, 'progressbar').getAttribute('aria-valuenow'), '2');
    assert.ok(await tid(page, 'progress').isVisible(), 'progress shown');
    // Both shipments, in the API's order.
    const cards = tid(page, 'shipment-card');
    assert.equal(await cards.count(), 2, 'two shipment cards');
    assert.equal(await page.locator('#shipments-heading').textContent(), 'Shipments (2)');
    for (let i = 0; i < 2; i++) {
      const s = splitApi.shipments[i];
      const card = cards.nth(i);
      assert.equal(await card.getAttribute('data-tracking-number'), s.trackingNumber, `card ${i + 1} number`);
      assert.equal(await card.locator('.shipment-title').textContent(), `Shipment ${i + 1} of 2`);
      assert.equal(await card.locator('[data-testid="shipment-carrier"] dd').textContent(), s.carrier);
      assert.equal(await card.locator('[data-testid="tracking-link"]').getAttribute('href'), s.trackingUrl);
      await checkTimeline(card, s.checkpoints, `card ${i + 1}`);
    }
    assert.equal(await cards.nth(0).locator('[data-testid="shipment-status"]').textContent(), 'Delivered');
    assert.equal(await cards.nth(1).locator('[data-testid="shipment-status"]').textContent(), 'In transit');
    assert.equal(await cards.nth(0).locator('[data-testid="shipment-delivered"]').count(), 1, 'delivered date');
    assert.equal(await cards.nth(1).locator('[data-testid="shipment-expected"] time').getAttribute('datetime'),
      splitApi.shipments[1].expectedDelivery, 'expected delivery, a date');
    // Five scans shown, the sixth behind the toggle.
    const second = cards.nth(1);
    const items = second.locator('[data-testid="timeline-item"]');
    assert.equal(await items.nth(4).isVisible(), true, 'fifth scan shown');
    assert.equal(await items.nth(5).isVisible(), false, 'sixth scan folded');
    const toggle = second.locator('[data-testid="timeline-toggle"]');
    assert.equal(await toggle.textContent(), 'Show all 6 updates');
    await toggle.click();
    assert.equal(await toggle.getAttribute('aria-expanded'), 'true');
    assert.equal(await items.nth(5).isVisible(), true, 'sixth scan shown after the toggle');
    await toggle.click();
    assert.equal(await items.nth(5).isVisible(), false, 'folded again');
    await noHorizontalScroll(page, '1280 px');
    noErrors(page);
    await shot(page, 'split-desktop-1280.png');
    await page.close();
  });

  await test('split order at 360 px: no horizontal scroll', async () => {
    const page = await openOrder(context, 360, 'b-split', split.key, 740);
    assert.equal(await tid(page, 'shipment-card').count(), 2);
    assert.equal(await tid(page, 'stage-headline').getAttribute('data-stage'), 'partially_delivered');
    await noHorizontalScroll(page, '360 px');
    await tid(page, 'timeline-toggle').click();
    await noHorizontalScroll(page, '360 px, timeline expanded');
    await tid(page, 'timeline-toggle').click();
    noErrors(page);
    await shot(page, 'split-phone-360.png');
    // The other orders fit as well.
    for (const id of ['b-exception', 'b-failed', 'b-processing', 'b-stale']) {
      await page.goto(trackUrl(id, orders[id].key));
      await tid(page, 'order-view').waitFor({ state: 'visible' });
      assert.equal(await tid(page, 'stage-headline').getAttribute('data-stage'), orders[id].stage, id);
      await noHorizontalScroll(page, `360 px, ${id}`);
    }
    noErrors(page);
    await page.close();
  });

  await test('other stages render their own words', async () => {
    const page = await newPage(context, 1280);
    const want = {
      'b-delivered': { headline: /^Delivered/, kind: null, progress: true, step: 'step-delivered' },
      'b-exception': { headline: /^Delivery problem/, kind: 'exception', progress: true, step: 'step-in-transit' },
      'b-failed': { headline: /^Order failed$/, kind: 'failed', progress: false },
      'b-placed': { headline: /^Order placed/, kind: null, progress: true, step: 'step-ordered' },
      'b-processing': { headline: /^Processing your order$/, kind: null, progress: true, step: 'step-ordered' },
    };
    for (const [id, w] of Object.entries(want)) {
      await page.goto(trackUrl(id, orders[id].key));
      await tid(page, 'order-view').waitFor({ state: 'visible' });
      assert.match(await tid(page, 'stage-headline').textContent(), w.headline, id);
      const kinds = await tid(page, 'notice-stage').evaluateAll((ns) => ns.map((n) => n.getAttribute('data-kind')));
      assert.deepEqual(kinds, w.kind ? [w.kind] : [], `${id}: stage notice`);
      assert.equal(await tid(page, 'progress').isVisible(), w.progress, `${id}: progress shown`);
      if (w.step) assert.equal(await tid(page, w.step).getAttribute('aria-current'), 'step', `${id}: step`);
    }
    await page.goto(trackUrl('b-placed', orders['b-placed'].key));
    await tid(page, 'no-shipments').waitFor({ state: 'visible' });
    noErrors(page);
    await page.close();
  });

  await test('keyboard focus order', async () => {
    const page = await openOrder(context, 1280, 'b-split', split.key);
    const seen = [];
    for (let i = 0; i < 9; i++) {
      await page.keyboard.press('Tab');
      seen.push(await page.evaluate(() => {
        const a = document.activeElement;
        const card = a.closest('[data-testid="shipment-card"]');
        const r = a.getBoundingClientRect();
        return {
          name: (a.getAttribute('data-testid') || a.className || a.tagName) + (card ? `@${card.id}` : ''),
          visible: r.width > 0 && r.height > 0,
        };
      }));
    }
    assert.deepEqual(seen.slice(0, 8).map((s) => s.name), [
      'skip-link', 'brand-link', 'lang-summary', 'refresh-button',
      'tracking-link@shipment-1', 'tracking-link@shipment-2', 'timeline-toggle@shipment-2',
      'another-order-link',
    ], 'Tab order follows the page');
    for (const s of seen.slice(0, 8)) assert.ok(s.visible, `${s.name} is visible when focused`);
    // Back one step, and the toggle works from the keyboard.
    await page.keyboard.press('Shift+Tab');
    assert.equal(await page.evaluate(() => document.activeElement.getAttribute('data-testid')), 'another-order-link');
    await page.keyboard.press('Shift+Tab');
    assert.equal(await page.evaluate(() => document.activeElement.getAttribute('data-testid')), 'timeline-toggle');
    await page.keyboard.press('Enter');
    assert.equal(await tid(page, 'timeline-toggle').getAttribute('aria-expanded'), 'true', 'Enter expands');
    await page.keyboard.press('Space');
    assert.equal(await tid(page, 'timeline-toggle').getAttribute('aria-expanded'), 'false', 'Space folds');
    // The skip link moves focus to the content.
    await page.locator('.skip-link').focus();
    await page.keyboard.press('Enter');
    assert.equal(await page.evaluate(() => document.activeElement.id), 'main', 'skip link focuses <main>');
    noErrors(page);
    await page.close();
  });

  await test('not found: wrong key and unknown order look the same', async () => {
    const page = await newPage(context, 1280);
    const wrong = split.key.slice(0, -1) + (split.key.endsWith('A') ? 'B' : 'A');
    const texts = [];
    for (const [order, key] of [['b-split', wrong], ['no-such-order', lookupKey(server.lookup, 'no-such-order')]]) {
      await page.goto(trackUrl(order, key));
      const view = tid(page, 'lookup-view');
      await view.waitFor({ state: 'visible' });
      await page.waitForFunction(() => document.querySelector('#lookup-view').getAttribute('data-state') === 'notfound');
      assert.equal(await tid(page, 'order-view').isVisible(), false, 'no order shown');
      assert.match(await tid(page, 'lookup-heading').textContent(), /couldn.t find that order/);
      assert.equal(await tid(page, 'order-input').inputValue(), '', 'the form asks for the shop\'s order number');
      assert.equal(await tid(page, 'email-input').isVisible(), true, 'and the e-mail address');
      assert.match(await page.title(), /^Order not found/);
      texts.push(await page.locator('main').innerText());
      if (order === 'b-split') await shot(page, 'not-found.png');
    }
    assert.equal(texts[0].replace(/b-split|\S{22}/g, ''), texts[1].replace(/no-such-order|\S{22}/g, ''),
      'the same page for both');
    // The form: empty fields are refused with messages, focus on the first.
    await tid(page, 'lookup-submit').click();
    assert.equal(await tid(page, 'order-error').isVisible(), true, 'order number required');
    assert.equal(await tid(page, 'email-error').isVisible(), true, 'e-mail address required');
    assert.equal(await page.evaluate(() => document.activeElement.id), 'order-input', 'focus on the first bad field');
    noErrors(page, [/404/]);
    await page.close();
  });

  await test('network failure: API unreachable, then back; refresh failure keeps the order', async () => {
    const page = await newPage(context, 1280);
    const abort = (route) => route.abort('connectionrefused');
    await page.route('**/api/v1/track/**', abort);
    await page.goto(trackUrl('b-split', split.key));
    await tid(page, 'message-view').waitFor({ state: 'visible' });
    assert.equal(await tid(page, 'order-view').isVisible(), false);
    assert.match(await tid(page, 'message-heading').textContent(), /couldn.t load your order/);
    assert.match(await tid(page, 'notice-error').textContent(), /couldn.t be reached/);
    assert.equal(await tid(page, 'retry-button').isVisible(), true, 'a retry button');
    await shot(page, 'network-failure.png');
    await page.unroute('**/api/v1/track/**', abort);
    await tid(page, 'retry-button').click();
    await tid(page, 'order-view').waitFor({ state: 'visible' });
    assert.equal(await tid(page, 'stage-headline').getAttribute('data-stage'), 'partially_delivered', 'loaded on retry');
    // Loaded once: a failed refresh keeps the order with a notice.
    await page.route('**/api/v1/track/**', abort);
    await tid(page, 'refresh-button').click();
    await tid(page, 'notice-stale').waitFor({ state: 'visible' });
    assert.match(await tid(page, 'notice-stale').textContent(), /Couldn.t refresh/);
    assert.equal(await tid(page, 'shipment-card').count(), 2, 'shipments still shown');
    await shot(page, 'network-failure-refresh.png');
    await page.unroute('**/api/v1/track/**', abort);
    await tid(page, 'refresh-button').click();
    await tid(page, 'notice-stale').waitFor({ state: 'detached' });
    noErrors(page, [/ERR_CONNECTION_REFUSED/, /Failed to load resource/]);
    await page.close();
  });

  await test('operator page: sign in, list, filter, detail', async () => {
    const page = await newPage(context, 1280);
    const list = await fetchJson(`${server.base}/api/v1/orders`, { Authorization: `Bearer ${server.token}` });
    assert.equal(list.status, 200);
    const allIds = list.body.orders.map((o) => o.id);
    assert.equal(allIds.length, manifest.orders.length);
    await page.goto(`${server.base}/admin.html`);
    await tid(page, 'token-view').waitFor({ state: 'visible' });
    assert.equal(await page.evaluate(() => document.activeElement.id), 'token-input', 'focus on the token field');
    await page.keyboard.type('not-the-token');
    await page.keyboard.press('Enter');
    await tid(page, 'token-error').waitFor({ state: 'visible' });
    assert.match(await tid(page, 'token-error').textContent(), /not accepted/);
    await tid(page, 'token-input').fill(server.token);
    await tid(page, 'token-submit').click();
    await tid(page, 'app-view').waitFor({ state: 'visible' });
    const rows = async () => page.locator('[data-testid="order-row"]').evaluateAll(
      (rs) => rs.map((r) => r.getAttribute('data-order-id')));
    const waitRows = async (want, what) => {
      try {
        await page.waitForFunction((w) => {
          const got = [...document.querySelectorAll('[data-testid="order-row"]')].map((r) => r.getAttribute('data-order-id'));
          return JSON.stringify(got) === w && document.querySelector('.table-scroll').getAttribute('aria-busy') === 'false';
        }, JSON.stringify(want), { timeout: 10_000 });
      } catch {
        assert.deepEqual(await rows(), want, what);
      }
    };
    await waitRows(allIds, 'every order, newest first');
    assert.match(await tid(page, 'page-info').textContent(), /end of list/);
    const stageOf = Object.fromEntries(list.body.orders.map((o) => [o.id, o.stage]));
    for (const r of await page.locator('[data-testid="order-row"]').all()) {
      const id = await r.getAttribute('data-order-id');
      assert.equal(await r.locator('[data-testid="order-stage"]').textContent(), stageOf[id], `${id} stage cell`);
    }
    assert.equal(await page.locator('[data-order-id="b-split"] [data-testid="order-shipments"]').textContent(), '2');
    // Stats.
    await page.locator('[data-testid="stats-group"][data-key="stage"]').waitFor();
    const staleIds = manifest.orders.filter((o) => o.stale).map((o) => o.id);
    assert.match(await page.locator('[data-testid="stats-group"][data-key=""]').innerText(),
      new RegExp(`stale\\s*${staleIds.length}\\b`), 'stale count in the summary');
    // Filters.
    await tid(page, 'filter-stage').selectOption('partially_delivered');
    await waitRows(['b-split'], 'stage filter');
    await tid(page, 'filter-stage').selectOption('');
    await tid(page, 'filter-status').selectOption('FAILED');
    await waitRows(['b-failed'], 'status filter');
    await tid(page, 'filter-status').selectOption('');
    await tid(page, 'filter-stale').check();
    await waitRows(staleIds, 'stale filter');
    await tid(page, 'filter-stale').uncheck();
    await tid(page, 'filter-stage').selectOption('delivered');
    await waitRows(allIds.filter((i) => orders[i].stage === 'delivered'), 'delivered (b-delivered, b-signed)');
    await tid(page, 'filter-stage').selectOption('expired');
    await tid(page, 'orders-empty').waitFor({ state: 'visible' });
    await tid(page, 'filter-stage').selectOption('');
    await waitRows(allIds, 'filters cleared');
    // Detail of the split order.
    await page.locator('[data-order-id="b-split"] [data-testid="order-link"]').click();
    await tid(page, 'detail-shipments').waitFor({ state: 'visible' });
    assert.equal(await tid(page, 'detail-shipments').locator('[data-testid="shipment-card"]').count(), 2);
    const detail = await fetchJson(`${server.base}/api/v1/orders/b-split`, { Authorization: `Bearer ${server.token}` });
    assert.deepEqual(await tid(page, 'event-row').evaluateAll((rs) => rs.map((r) => r.getAttribute('data-event-id'))),
      detail.body.events.map((e) => e.id), 'events in the API order');
    await noHorizontalScroll(page, 'operator 1280 px');
    await shot(page, 'admin-desktop-1280.png');
    await page.keyboard.press('Escape');
    await tid(page, 'order-detail').waitFor({ state: 'hidden' });
    // b-rye: each event's source and the order's last Rye sync, as the API has them.
    await page.locator('[data-order-id="b-rye"] [data-testid="order-link"]').click();
    await tid(page, 'detail-sync').waitFor({ state: 'visible' });
    const rye = await fetchJson(`${server.base}/api/v1/orders/b-rye`, { Authorization: `Bearer ${server.token}` });
    assert.ok(rye.body.lastSync, 'b-rye was read by the Rye pass');
    assert.doesNotMatch(await tid(page, 'detail-sync').innerText(), /never/, 'the last sync shown');
    assert.deepEqual(await tid(page, 'event-source').allInnerTexts(),
      rye.body.events.map((e) => e.source), 'each event\'s source');
    assert.ok(rye.body.events.some((e) => e.source === 'sync'), 'b-rye has events from the Rye pass');
    await page.keyboard.press('Escape');
    await tid(page, 'order-detail').waitFor({ state: 'hidden' });
    // Paging: 30 more (older) orders, 25 per page; Next and Previous follow the cursor.
    const bulk = seed('--bulk', '30').bulk;
    const everything = [...allIds, ...bulk];  // bulk-000 is the newest of them
    await tid(page, 'filter-limit').selectOption('25');
    await waitRows(everything.slice(0, 25), 'page 1 of 2');
    assert.equal(await tid(page, 'prev-page').isDisabled(), true, 'no previous page');
    await tid(page, 'next-page').click();
    await waitRows(everything.slice(25), 'page 2 of 2');
    assert.match(await tid(page, 'page-info').textContent(), /^Page 2 .* end of list$/);
    assert.equal(await tid(page, 'next-page').isDisabled(), true, 'no next page');
    await tid(page, 'prev-page').click();
    await waitRows(everything.slice(0, 25), 'back to page 1');
    noErrors(page, [/401/]);
    await page.close();
  });

  await test('operator CSV: formula cells defused exactly as shiptrack export --csv does', async () => {
    const { hostile } = seed('--hostile');
    const page = await newPage(context, 1280);
    await page.goto(`${server.base}/admin.html`);
    await tid(page, 'token-input').fill(server.token);
    await tid(page, 'token-submit').click();
    await page.locator(`[data-testid="order-row"][data-order-id="${hostile.replaceAll('"', '\\"')}"]`).waitFor();
    const [download] = await Promise.all([page.waitForEvent('download'), tid(page, 'export-csv').click()]);
    const page1 = csvCells(fs.readFileSync(await download.path(), 'utf8'));
    const cli = spawnSync(path.join(BUILDDIR, 'cgi', 'shiptrack'), ['export', '--csv'], {
      env: { PATH: '/usr/bin:/bin', SHIPTRACK_CONFIG: server.conf }, encoding: 'utf8', timeout: 30_000,
    });
    assert.equal(cli.status, 0, `shiptrack export --csv: ${cli.error || cli.stderr}`);
    const exported = csvCells(cli.stdout);
    const col = (rows, name) => rows[0].indexOf(name);
    const [id, status, stage, market, numbers, carriers, created, updated] =
      ['id', 'status', 'stage', 'marketplace', 'trackingNumbers', 'carriers', 'createdAt', 'updatedAt'].map((n) => col(page1, n));
    const [cId, cStatus, cStage, cMarket, cNumber, cCarrier, cCreated, cUpdated] =
      ['order_id', 'status', 'stage', 'marketplace', 'tracking_number', 'carrier', 'created_at', 'updated_at'].map((n) => col(exported, n));
    // The hostile order's cells, byte for byte: a leading ' and quotes.
    const mine = page1.find((r) => r[id].includes('HYPERLINK'));
    assert.ok(mine, 'the hostile order is in the page\'s CSV');
    assert.deepEqual([mine[id], mine[market], mine[numbers], mine[carriers]],
      [`"'${hostile.replaceAll('"', '""')}"`, '"\'@SUM(1+1)"', '"\'-2+3"', '"\'+cmd|\' /C calc\'!A0"'],
      'formula-like cells are defused');
    // Every order on the page: the same cells as the CLI's rows for it.
    let compared = 0;
    for (const r of page1.slice(1)) {
      const theirs = exported.filter((c) => c[cId] === r[id]);
      assert.ok(theirs.length > 0, `the CLI exports ${r[id]} with the same id cell`);
      assert.deepEqual([r[status], r[stage], r[market], r[created], r[updated]],
        [theirs[0][cStatus], theirs[0][cStage], theirs[0][cMarket], theirs[0][cCreated], theirs[0][cUpdated]],
        `${r[id]}: the same cells`);
      if (theirs.length === 1 && theirs[0][cNumber] !== '') {
        assert.deepEqual([r[numbers], r[carriers]], [theirs[0][cNumber], theirs[0][cCarrier]],
          `${r[id]}: its shipment's cells`);
      }
      compared++;
    }
    assert.ok(compared >= 8, `compared ${compared} orders`);
    noErrors(page);
    await page.close();
  });

  await test('an order id with / & % # and blanks: shiptrack link -> page -> API', async () => {
    const order = 'b/odd & 100% #1';
    const secretValue = fs.readFileSync(server.conf, 'utf8').match(/^webhook_secret = (\S+)$/m)[1];
    const body = JSON.stringify({ id: 'evt_b_odd', requestId: order, developerId: 'dev_browser',
      createdAt: new Date().toISOString(), type: 'ORDER_PLACED', data: { marketplace: 'shopify' } });
    const hook = await fetch(`${server.base}/webhook`, { method: 'POST', body, signal: AbortSignal.timeout(10_000),
      headers: { 'Content-Type': 'application/json',
        'Rye-Hmac-Signature-V1': crypto.createHmac('sha256', secretValue).update(body).digest('base64') } });
    assert.equal(hook.status, 200, 'the webhook for the order');
    const link = spawnSync(path.join(BUILDDIR, 'cgi', 'shiptrack'), ['link', order, '--base-url', `${server.base}/index.html`],
      { env: { PATH: '/usr/bin:/bin', SHIPTRACK_CONFIG: server.conf }, encoding: 'utf8', timeout: 30_000 });
    assert.equal(link.status, 0, `shiptrack link: ${link.error || link.stderr}`);
    const page = await newPage(context, 1280);
    const calls = [];
    page.on('request', (r) => { if (r.url().includes('/api/v1/track/')) calls.push(new URL(r.url()).pathname); });
    await page.goto(link.stdout.trim());
    await tid(page, 'order-view').waitFor({ state: 'visible' });
    assert.equal(await tid(page, 'order-id').textContent(), order, 'the page shows the order');
    assert.deepEqual([...new Set(calls)], [`/api/v1/track/${encodeURIComponent(order)}`],
      'the page asks for the id as one path segment');
    noErrors(page);
    await page.close();
  });
  await i18nTests();

  await test('server stopped after a good load: the order stays, with a notice', async () => {
    const page = await openOrder(context, 1280, 'b-split', split.key);
    await stopLighttpd();
    await tid(page, 'refresh-button').click();
    await tid(page, 'notice-stale').waitFor({ state: 'visible' });
    assert.match(await tid(page, 'notice-stale').textContent(), /couldn.t be reached/);
    assert.equal(await tid(page, 'stage-headline').getAttribute('data-stage'), 'partially_delivered');
    assert.equal(await tid(page, 'shipment-card').count(), 2);
    await shot(page, 'server-stopped.png');
    await page.close();
  });

  await test('no request left 127.0.0.1', async () => {
    assert.deepEqual(external, []);
  });
}

const started = Date.now();
let fatal = null;
try {
  await main();
} catch (e) {
  fatal = e;
  console.log(`not ok - setup: ${String(e.message || e).split('\n').join('\\n')}`);
  for (const line of String(e.stack || '').split('\n').slice(1, 8)) console.log(`#   ${line.trim()}`);
} finally {
  if (context) await withTimeout(context.close(), 15_000, 'closing chromium').catch((e) => console.log(`# ${e.message}`));
  for (const srv of SERVERS) await stopLighttpd(srv);
  await stopStandIns();
  if (server.tmp) {
    if (fatal || results.some((r) => !r.ok)) {
      const logs = SERVERS.filter((srv) => srv.dir).flatMap((srv) =>
        ['lighttpd-error.log', 'lighttpd-stderr.log'].map((f) => [`${srv.name}: ${f}`, path.join(srv.dir, f)]));
      for (const [name, p] of [...logs, ...STAND_INS.map((s) => [`${s.name}.log`, s.log])]) {
        if (p && fs.existsSync(p)) console.log(`# ${name}:\n${fs.readFileSync(p, 'utf8').split('\n').slice(-20).map((l) => `#   ${l}`).join('\n')}`);
      }
    }
    fs.rmSync(server.tmp, { recursive: true, force: true });
  }
}
const failed = results.filter((r) => !r.ok).length + (fatal ? 1 : 0);
console.log(`# ${results.length} tests, ${failed} failed, ${((Date.now() - started) / 1000).toFixed(1)}s; screenshots in ${OUTDIR}`);
process.exit(failed ? 1 : 0);
