"""Shared by the tests that run shiptrack behind a real web server
(apache_fcgid.py, apache_cgi.py, nginx_spawnfcgi.py, lighttpd_fastcgi.py).

Import it after shiptrack_test:

    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import shiptrack_test as st
    import webserver as ws

It fills a contrib/ template (placeholders for paths and ports only, and
nothing left unfilled), prepares a state directory the server's user can
write (as root, Apache and nginx run their children as www-data), writes a
shiptrack.conf, talks HTTP with http.client, starts a server on a free
port and stops it and everything it started, by pid, and holds the one
suite every server runs (SUITE, run(): signed webhooks, refusals, the
shopper and operator views, the page and its security headers, the logs).
"""

import base64
import hashlib
import hmac
import http.client
import json
import os
import pwd
import re
import signal
import socket
import subprocess
import threading
import time
import urllib.parse

import shiptrack_test as st
from shiptrack_test import check, eq

LOOKUP_SECRET = "lookup_test_secret_3c9d41"

# Root: the servers switch their workers to this user (Debian's www-data),
# so the state directory must belong to it.  Otherwise: ourselves.
SERVER_USER = "www-data" if os.geteuid() == 0 else None


def contrib(*parts):
    return os.path.join(st.TOP_SRCDIR, "contrib", *parts)


def expected_headers():
    """The security headers, as the lighttpd configuration sets them: every
    server configuration in contrib/ must send exactly these."""
    with open(contrib("lighttpd", "shiptrack.conf")) as f:
        text = f.read()
    want = {}
    for name in ("Content-Security-Policy", "X-Content-Type-Options", "Referrer-Policy"):
        m = re.search(r'"%s"\s*=>\s*"([^"]*)"' % re.escape(name), text)
        if not m:
            raise AssertionError("%s not found in contrib/lighttpd/shiptrack.conf" % name)
        want[name.lower()] = m.group(1)
    return want


# --- templates -------------------------------------------------------------

def fill(src, dst, values, mode=0o644):
    """Copy template src to dst with each @KEY@ replaced by values[KEY].
    Outside comment lines no @WORD@ may remain, and every value must be
    used: the templates are filled in for paths and ports only."""
    with open(src) as f:
        text = f.read()
    for k, v in values.items():
        token = "@%s@" % k
        check(token in text, "%s has no %s" % (src, token))
        text = text.replace(token, str(v))
    for n, line in enumerate(text.splitlines(), 1):
        if line.lstrip().startswith("#"):
            continue
        m = re.search(r"@[A-Z_]+@", line)
        check(m is None, "%s:%d: placeholder %s left unfilled" % (src, n, m and m.group(0)))
    with open(dst, "w") as f:
        f.write(text)
    os.chmod(dst, mode)
    return dst


def free_port():
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


# --- state directory and configuration --------------------------------------

def chown_to_server(*paths):
    """Give paths (recursively) to SERVER_USER (no-op when not root)."""
    if SERVER_USER is None:
        return
    pw = pwd.getpwnam(SERVER_USER)
    for p in paths:
        os.chown(p, pw.pw_uid, pw.pw_gid)
        if os.path.isdir(p) and not os.path.islink(p):
            for root, dirs, files in os.walk(p):
                for n in dirs + files:
                    os.lchown(os.path.join(root, n), pw.pw_uid, pw.pw_gid)


def state_dir(tmp):
    """tmp/state: where the database, the configuration and the sockets
    live, owned by the server's user; tmp itself becomes traversable."""
    os.chmod(tmp, 0o711)
    d = os.path.join(tmp, "state")
    os.makedirs(d, exist_ok=True)
    os.chmod(d, 0o700)
    return d


def write_config(path, db, **extra):
    """A shiptrack.conf with the test secrets (mode 0600)."""
    keys = {"database": db, "webhook_secret": st.SECRET, "api_token": st.API_TOKEN,
            "lookup_secret": LOOKUP_SECRET, "read_timeout": 5}
    keys.update(extra)
    with open(path, "w") as f:
        f.write("# written by %s\n" % os.path.basename(__file__))
        for k, v in keys.items():
            f.write("%s = %s\n" % (k, v))
    os.chmod(path, 0o600)
    return path


def migrate(db):
    p = st.run_cli(["migrate"], db=db)
    if p.returncode != 0:
        raise AssertionError("migrate: %s %s" % (p.stdout, p.stderr))


def lookup_key(order_id, secret=LOOKUP_SECRET):
    """The shopper's key: base64url, unpadded, of the first 16 bytes of
    HMAC-SHA256(lookup_secret, order id)."""
    mac = hmac.new(secret.encode(), order_id.encode(), hashlib.sha256).digest()[:16]
    return base64.urlsafe_b64encode(mac).rstrip(b"=").decode("ascii")


# --- HTTP ------------------------------------------------------------------

class Response:
    def __init__(self, status, headers, body):
        self.status, self.headers, self.body = status, headers, body

    def json(self):
        return json.loads(self.body.decode("utf-8"))

    def __repr__(self):
        return "%d %r %r" % (self.status, self.headers, self.body[:300])


class Client:
    def __init__(self, port, host="127.0.0.1"):
        self.host, self.port = host, port

    def request(self, method, path, body=None, headers=None, timeout=20):
        c = http.client.HTTPConnection(self.host, self.port, timeout=timeout)
        try:
            h = {"Connection": "close"}
            h.update(headers or {})
            if body is not None:
                h.setdefault("Content-Type", "application/json")
            c.request(method, path, body=body, headers=h)
            r = c.getresponse()
            data = r.read()
            hdrs = {}
            for k, v in r.getheaders():
                k = k.lower()
                hdrs[k] = hdrs[k] + ", " + v if k in hdrs else v
            return Response(r.status, hdrs, data)
        finally:
            c.close()

    def get(self, path, headers=None):
        return self.request("GET", path, headers=headers)

    def post(self, body, secret=st.SECRET, gen=1, path="/webhook"):
        if gen == 1:
            h = {"Rye-Hmac-Signature-V1": st.sign_v1(secret, body)}
        else:
            h = {"X-Rye-Signature": st.sign_v2(secret, body)}
        return self.request("POST", path, body=body, headers=h)

    def operator(self, path, headers=None):
        h = {"Authorization": "Bearer " + st.API_TOKEN}
        h.update(headers or {})
        return self.get("/api" + path, h)


def wait_listening(port, proc, what, timeout=20):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise AssertionError("%s exited with %d" % (what, proc.returncode))
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.05)
    raise AssertionError("%s did not listen on port %d within %d s" % (what, port, timeout))


def start_lighttpd(conf, log, port, env=None, new_session=False):
    """Check conf with `lighttpd -tt`, start `lighttpd -D -f conf` with its
    output appended to log (in the foreground the FastCGI programs it
    spawns write there too), and wait until port answers.  lighttpd hands
    its environment on to those programs: SHIPTRACK_CONFIG comes from the
    configuration's bin-environment only.  Returns the Popen."""
    lighttpd = os.environ.get("LIGHTTPD") or "/usr/sbin/lighttpd"
    t = subprocess.run([lighttpd, "-tt", "-f", conf], capture_output=True, text=True,
                       timeout=30)
    if t.returncode != 0:
        raise AssertionError("lighttpd rejects %s: %s%s" % (conf, t.stdout, t.stderr))
    out = open(log, "ab")
    try:
        proc = subprocess.Popen([lighttpd, "-D", "-f", conf], stdout=out,
                                stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                env=env if env is not None else st.base_env({"SHIPTRACK_CONFIG": None}),
                                start_new_session=new_session)
    finally:
        out.close()
    wait_listening(port, proc, "lighttpd", timeout=15)
    return proc


def wait_for(cond, timeout, what):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return
        time.sleep(0.05)
    raise AssertionError("timed out waiting for " + what)


# --- processes ---------------------------------------------------------------

def _stat(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            s = f.read()
    except OSError:
        return None
    fields = s[s.rindex(")") + 2:].split()
    return fields[0], int(fields[1])          # state, ppid


def alive(pid):
    s = _stat(pid)
    return s is not None and s[0] != "Z"


def descendants(pid):
    """Every live process below pid (children, grandchildren, ...)."""
    parent = {}
    for d in os.listdir("/proc"):
        if d.isdigit():
            s = _stat(int(d))
            if s is not None and s[0] != "Z":
                parent[int(d)] = s[1]
    out, frontier = [], {pid}
    while frontier:
        kids = {p for p, pp in parent.items() if pp in frontier and p not in out}
        out.extend(sorted(kids))
        frontier = kids
    return out


def cmdline(pid):
    try:
        with open("/proc/%d/cmdline" % pid, "rb") as f:
            return f.read().split(b"\0")[0].decode("utf-8", "replace")
    except OSError:
        return "?"


def kill_tree(proc):
    """SIGKILL a server started with new_session=True and everything it
    started; nothing gets to clean up.  Its process group goes first: a
    program it spawns while the list below is taken (lighttpd restarts a
    FastCGI program it sees die) would otherwise outlive it."""
    pids = descendants(proc.pid) + [proc.pid]
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except OSError:
        pass
    for p in pids:
        try:
            os.kill(p, signal.SIGKILL)
        except OSError:
            pass
    proc.wait(10)
    wait_for(lambda: not any(alive(p) for p in pids), 10, "killed processes to go")


def stop(proc, extra_pids=(), sig=signal.SIGTERM, timeout=15):
    """Stop proc (a Popen we started) with sig and wait for it and for every
    process below it (and extra_pids) to end; kill, by pid, whatever is left
    after that.  Returns {pid: program} of the processes that had to be
    killed.  Safe to call twice."""
    if proc is None:
        return {}
    pids = set(extra_pids)
    if proc.poll() is None:
        pids.update(descendants(proc.pid))
        try:
            proc.send_signal(sig)
        except OSError:
            pass
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            pids.add(proc.pid)
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and any(alive(p) for p in pids):
        time.sleep(0.05)
    survivors = {p: cmdline(p) for p in pids if alive(p)}
    for p in survivors:          # started by this test: ours to end
        try:
            os.kill(p, signal.SIGKILL)
        except OSError:
            pass
    if proc.poll() is None:
        proc.wait(5)
    return survivors


def tail(path, lines=200):
    try:
        with open(path, "r", errors="replace") as f:
            text = f.read()
    except OSError:
        return
    print("# --- %s ---" % os.path.basename(path))
    for line in text.splitlines()[-lines:]:
        print("# " + line)


# --- starting a server ---------------------------------------------------------

APACHE = os.environ.get("APACHE2") or "/usr/sbin/apache2"
APACHE_MODULES = os.environ.get("APACHE_MODULES") or "/usr/lib/apache2/modules"


def apache_top(tmp, port, errorlog, modules):
    """The server-wide start of an apache2.conf, as Debian's would have it:
    paths under tmp, the port, the error log, User/Group (as root), then a
    LoadModule for each of modules ("mpm_event", "mime", ...), in order."""
    lines = ['ServerRoot "%s"' % tmp, "ServerName 127.0.0.1",
             "Listen 127.0.0.1:%d" % port, 'PidFile "%s/apache2.pid"' % tmp,
             'DefaultRuntimeDir "%s"' % tmp, "Mutex file:%s default" % tmp,
             'ErrorLog "%s"' % errorlog, "LogLevel warn",
             'LogFormat "%h \\"%r\\" %>s %b" short',
             'CustomLog "%s/access.log" short' % tmp]
    if SERVER_USER:
        lines += ["User " + SERVER_USER, "Group " + SERVER_USER]
    lines += ["LoadModule %s_module %s/mod_%s.so" % (m, APACHE_MODULES, m) for m in modules]
    return "\n".join(lines) + "\n"


def start_server(what, configure, errorlog, stdout_log, env):
    """Start a server on a free port: configure(port) writes its
    configuration and returns (the argv that checks it, the argv that runs
    it in the foreground); the check must pass.  The server gets a session
    of its own (Apache and nginx signal their whole process group on
    shutdown: not ours) and must listen within 20 s; a port another test
    took first is tried again, up to 3 times.  Returns (Popen, port)."""
    for attempt in range(3):
        port = free_port()
        check_argv, argv = configure(port)
        t = subprocess.run(check_argv, capture_output=True, text=True, timeout=30, env=env)
        if t.returncode != 0:
            raise AssertionError("%s rejects the configuration: %s%s" %
                                 (what, t.stdout, t.stderr))
        with open(stdout_log, "ab") as out:
            proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out,
                                    stderr=subprocess.STDOUT, env=env,
                                    start_new_session=True)
        try:
            wait_listening(port, proc, what)
            return proc, port
        except AssertionError:
            stop(proc)
            try:
                with open(errorlog, errors="replace") as f:
                    taken = "Address already in use" in f.read()
            except OSError:
                taken = False
            if taken and attempt < 2:
                continue
            raise


# --- the suite every server configuration runs -------------------------------
#
# One list of checks (SUITE), run in order against each server of contrib/
# by its test file: apache_cgi.py, apache_fcgid.py, nginx_spawnfcgi.py,
# lighttpd_fastcgi.py.  A test file describes its server in a Server
# (how to start and stop it, its logs, its limits) and adds its own checks
# before or after the shared ones; run() makes test_* functions of them all.

class Server:
    """One web server running shiptrack's programs.  A test file subclasses
    it: start() sets self.client (and self.proc), stop() stops everything
    started and returns {pid: program} of what had to be killed."""
    name = "the server"
    tag = "srv"                # event ids: evt_<tag>_1 ...
    order = "ord_srv_1"
    db = None
    max_body = 4096
    oversize = None            # size of the body refused with 413 (None: 3 x max_body)
    concurrency = (4, 5)       # threads, webhooks each
    # Order ids with "/" travel as %2F in one path segment: the server must
    # pass it on undecoded.
    encoded_slashes = True
    logs = ()                  # [(path, markers that must not appear in it)]
    receiver_log = None        # the log that holds the programs' own lines

    def __init__(self):
        self.client = None
        self.proc = None
        self.ids = []          # the order's accepted events, in order
        self.stored = 0        # events the suite had accepted

    def start(self):
        raise NotImplementedError

    def stop(self):
        raise NotImplementedError

    def after_stop(self):
        """The server's own checks once it has stopped."""

    def running(self):
        check(self.client is not None, "%s is not running" % self.name)
        return self.client

    def before(self):
        """[(name, function)]: the server's own checks right after start."""
        return []

    def after(self):
        """[(name, function)]: the server's own checks after the shared ones,
        before it stops."""
        return []


def check_security_headers(r, what):
    for k, v in expected_headers().items():
        eq(r.headers.get(k), v, "%s: %s" % (what, k))


def check_page(srv):
    """/ and /index.html: the tracking page, text/html, with the headers."""
    c = srv.running()
    for path in ("/", "/index.html"):
        r = c.get(path)
        eq(r.status, 200, "GET %s (%r)" % (path, r))
        ct = r.headers.get("content-type", "")
        check(ct.startswith("text/html"), "GET %s content-type %r" % (path, ct))
        check(b"<html" in r.body and b"shiptrack-api" in r.body,
              "GET %s is not the tracking page: %r" % (path, r.body[:200]))
        check_security_headers(r, "GET " + path)
    r = c.get("/track.js")
    eq(r.status, 200, "GET /track.js")
    check("javascript" in r.headers.get("content-type", ""),
          "track.js content-type %r" % r.headers.get("content-type"))
    # The page fetches one message catalog per view.
    r = c.get("/i18n/de.json")
    eq(r.status, 200, "GET /i18n/de.json")
    check(r.headers.get("content-type", "").startswith("application/json"),
          "catalog content-type %r" % r.headers.get("content-type"))
    check(json.loads(r.body).get("stage.delivered") == "Zugestellt", "the German catalog")


def check_health(srv):
    r = srv.running().get("/api/v1/health")
    eq(r.status, 200, "health (%r)" % r)
    j = r.json()
    eq((j["ok"], j["database"]), (True, "ok"), "health body")
    check(r.headers.get("content-type", "").startswith("application/json"),
          "health content-type")
    check("etag" in r.headers, "health ETag")


def stored_state(srv):
    """What the server's operator API shows of everything stored: the
    counts of GET /v1/stats and the operator view of the suite's order."""
    c = srv.running()
    stats = c.operator("/v1/stats")
    view = c.operator("/v1/orders/" + srv.order)
    eq((stats.status, view.status), (200, 200), "stats and view (%r %r)" % (stats, view))
    return stats.json(), view.json()


def check_webhooks(srv):
    """Signed webhooks for the order: gen-1 ones accepted, a duplicate
    flagged and nothing more; a gen-2 one accepted."""
    c, order, tag = srv.running(), srv.order, srv.tag
    ids = ["evt_%s_%d" % (tag, i) for i in range(1, 5)]
    bodies = [st.event("PAYMENT_SUCCEEDED", order, st.iso(0), ids[0]),
              st.event("ORDER_SUBMISSION_STARTED", order, st.iso(1), ids[1]),
              st.event("ORDER_PLACED", order, st.iso(2), ids[2]),
              st.tracking(order, "1Z%s001" % tag.upper(), "UPS",
                          "https://ups.example/1Z%s001" % tag.upper(), st.iso(3), ids[3])]
    for i, b in enumerate(bodies):
        r = c.post(b)
        eq(r.status, 200, "webhook %d (%r)" % (i, r))
        eq(r.json(), {"ok": True, "event": ids[i], "duplicate": False}, "answer %d" % i)
        check(r.headers.get("content-type", "").startswith("application/json"),
              "webhook content-type")
    srv.ids, srv.stored = ids, srv.stored + len(ids)
    before = stored_state(srv)
    r = c.post(bodies[2])
    eq(r.status, 200, "duplicate status")
    eq(r.json()["duplicate"], True, "duplicate flagged")
    eq(stored_state(srv), before, "the duplicate changed nothing")
    intent = "ci_%s_1" % tag
    r = c.post(st.event2("checkout_intent.completed", intent, created=st.iso(4),
                         id="evt2_%s_1" % tag), gen=2)
    eq(r.status, 200, "gen-2 webhook (%r)" % r)
    srv.stored += 1
    r = c.operator("/v1/orders/" + intent)
    eq((r.status, r.json()["status"]), (200, "SUCCEEDED"), "the gen-2 order (%r)" % r)


def check_refusals(srv):
    """A bad and a missing signature (401), a body over max_body (413) and
    GET (405 with Allow: POST) are refused, and store nothing."""
    c, order, tag = srv.running(), srv.order, srv.tag
    before = stored_state(srv)
    bad = st.event("ORDER_FAILED", order, st.iso(9), "evt_%s_bad" % tag)
    r = c.post(bad, secret="not the secret")
    eq(r.status, 401, "bad signature (%r)" % r)
    eq(r.json()["error"], "bad_signature", "bad signature code")
    r = c.request("POST", "/webhook", body=bad)
    eq(r.status, 401, "no signature (%r)" % r)
    big = st.event("PAYMENT_SUCCEEDED", order, st.iso(9), "evt_%s_big" % tag,
                   data={"pad": "z" * (srv.oversize or srv.max_body * 3)})
    r = c.post(big)
    eq(r.status, 413, "oversize (%r)" % r)
    eq(r.json()["error"], "payload_too_large", "oversize code")
    r = c.get("/webhook")
    eq(r.status, 405, "GET /webhook (%r)" % r)
    eq(r.headers.get("allow"), "POST", "Allow")
    eq(r.json()["error"], "method_not_allowed", "GET /webhook code")
    eq(stored_state(srv), before, "nothing stored by refusals")


def check_concurrent_webhooks(srv):
    """Threads posting at once: every webhook answered 200."""
    threads_n, each = srv.concurrency
    results = []
    lock = threading.Lock()

    def worker(k):
        for i in range(each):
            eid = "evt_%sconc_%d_%d" % (srv.tag, k, i)
            r = srv.running().post(st.event("PAYMENT_SUCCEEDED", "ord_%sconc_%d" % (srv.tag, k),
                                            st.iso(i), eid))
            with lock:
                results.append((eid, r.status, r.body))

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(threads_n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    eq(len(results), threads_n * each, "answers")
    bad = [r for r in results if r[1] != 200]
    check(not bad, "concurrent posts failed: %r" % bad[:3])
    srv.stored += threads_n * each


def check_shopper(srv):
    c, order, tag = srv.running(), srv.order, srv.tag
    key = lookup_key(order)
    eq(len(key), 22, "lookup key length")
    r = c.get("/api/v1/track/%s?key=%s" % (order, key))
    eq(r.status, 200, "shopper view (%r)" % r)
    j = r.json()
    eq(j["id"], order, "shopper view id")
    eq(j["status"], "SUCCEEDED", "shopper view status")
    eq(j["stage"], "shipped", "shopper view stage")
    eq([s["trackingNumber"] for s in j["shipments"]], ["1Z%s001" % tag.upper()],
       "shopper view shipments")
    check("events" not in j, "the shopper view has no events")
    wrong = c.get("/api/v1/track/%s?key=%s" % (order, lookup_key(order, "other")))
    eq(wrong.status, 404, "wrong key (%r)" % wrong)
    unknown = c.get("/api/v1/track/ord_nobody?key=%s" % lookup_key("ord_nobody"))
    eq(unknown.status, 404, "unknown order")
    eq(wrong.body, unknown.body, "wrong key and unknown order answer alike")


def check_odd_order_ids(srv):
    """Order ids holding '/', '%', '&', '#' and blanks: ingested, then found
    through this server with the id in one percent-encoded path segment, as
    the page asks for it (encodeURIComponent), by shopper and operator."""
    c, tag = srv.running(), srv.tag
    ids = ["%s/a b" % tag, "%s/../x%%2F&y#z" % tag, "%s//100%%" % tag]
    for i, order in enumerate(ids):
        r = c.post(st.event("ORDER_PLACED", order, st.iso(i), "odd_%s_%d" % (tag, i)))
        eq(r.status, 200, "webhook for %r (%r)" % (order, r))
        srv.stored += 1
    for order in ids:
        seg = urllib.parse.quote(order, safe="-_.!~*'()")
        r = c.get("/api/v1/track/%s?key=%s" % (seg, lookup_key(order)))
        eq((r.status, r.json().get("id")), (200, order), "shopper view of %r (%s)" % (order, seg))
        r = c.operator("/v1/orders/" + seg)
        eq((r.status, r.json().get("id")), (200, order), "operator view of %r" % order)
    r = c.get("/api/v1/track/%s?key=%s" % (urllib.parse.quote(ids[0], safe="/"),
                                           lookup_key(ids[0])))
    eq(r.status, 404, "the id with a raw slash is not one segment (%r)" % r)


def check_operator(srv):
    """The operator view with the token (its events, shipments, ETag and
    304); 401 without or with a wrong token; 404 for unknown orders and
    routes."""
    c, order = srv.running(), srv.order
    r = c.operator("/v1/orders/" + order)
    eq(r.status, 200, "operator view (%r)" % r)
    j = r.json()
    eq(j["id"], order, "operator view id")
    eq(j["status"], "SUCCEEDED", "operator view status")
    eq([x["trackingNumber"] for x in j["shipments"]], ["1Z%s001" % srv.tag.upper()],
       "operator view shipments")
    eq([e["id"] for e in j["events"]], srv.ids, "operator view events")
    etag = r.headers.get("etag")
    check(etag is not None, "operator view ETag")
    r2 = c.operator("/v1/orders/" + order, {"If-None-Match": etag})
    eq(r2.status, 304, "If-None-Match (%r)" % r2)
    eq(r2.body, b"", "empty 304 body")
    r = c.get("/api/v1/orders/" + order)
    eq(r.status, 401, "operator view without a token (%r)" % r)
    check(r.headers.get("www-authenticate", "").startswith("Bearer"), "WWW-Authenticate")
    r = c.get("/api/v1/orders/" + order, {"Authorization": "Bearer wrong-token"})
    eq(r.status, 401, "operator view with a wrong token")
    r = c.operator("/v1/orders/ord_nobody")
    eq(r.status, 404, "unknown order")
    eq(r.json()["error"], "not_found", "unknown order code")
    r = c.get("/api/v1/nothing")
    eq(r.status, 404, "unknown route")
    eq(r.json()["error"], "not_found", "unknown route code")


def check_log(path, extra_bad=()):
    """The server's error log: no crash, no secret."""
    with open(path, "rb") as f:
        log = f.read()
    for bad in (b"AddressSanitizer", b"runtime error", b"LeakSanitizer",
                b"segfault", b"Segmentation fault") + tuple(extra_bad):
        check(bad not in log, "%r in %s" % (bad, os.path.basename(path)))
    for secret in (st.SECRET, st.API_TOKEN, LOOKUP_SECRET):
        check(secret.encode() not in log, "a secret in %s" % os.path.basename(path))
    if os.environ.get("SHIPTRACK_TEST_SHOWLOG"):
        print(log.decode("utf-8", "replace"))
    return log


def check_stop(srv):
    """The server stops and takes everything it started with it; the
    events it acknowledged are all there (read by the programs, the server
    gone); its logs hold the receiver's lines and no crash or secret."""
    srv.running()
    survivors = srv.stop()
    check(not survivors, "processes left 5 s after %s stopped (killed): %r" %
          (srv.name, survivors))
    check(srv.proc.poll() is not None, "%s stopped" % srv.name)
    srv.after_stop()
    eq(st.counts(srv.db)["events"], srv.stored, "events stored")
    eq([e["id"] for e in st.events_of(srv.db, srv.order)], srv.ids, "the order's events")
    threads_n, each = srv.concurrency
    eq([len(st.events_of(srv.db, "ord_%sconc_%d" % (srv.tag, k))) for k in range(threads_n)],
       [each] * threads_n, "every concurrent webhook's event")
    for path, extra_bad in srv.logs:
        check_log(path, extra_bad)
    with open(srv.receiver_log, "rb") as f:
        log = f.read()
    check(b"shiptrack-webhook[" in log, "receiver log lines in %s" % srv.receiver_log)
    check(b"bad rye1 signature" in log, "bad-signature line")
    check(("event evt_%s_1 type PAYMENT_SUCCEEDED order %s" % (srv.tag, srv.order)).encode()
          in log, "accepted-event line")


SUITE = [check_page, check_health, check_webhooks, check_refusals,
         check_concurrent_webhooks, check_shopper, check_odd_order_ids, check_operator]


def run(srv, tail_on_failure=()):
    """Run the suite against srv as test_* functions (shiptrack_test.run):
    start, srv's own first checks, SUITE (without check_odd_order_ids where
    srv.encoded_slashes is false), srv's own last checks, stop.  On failure
    the last lines of tail_on_failure's logs are printed; srv is stopped in
    any case."""
    tests = [("start", srv.start)] + srv.before()
    tests += [(f.__name__[len("check_"):], (lambda f=f: f(srv))) for f in SUITE
              if srv.encoded_slashes or f is not check_odd_order_ids]
    tests += srv.after() + [("stop_and_check", lambda: check_stop(srv))]
    try:
        st.run({"test_" + name: fn for name, fn in tests})
    except SystemExit as e:
        if e.code:
            for path in tail_on_failure:
                tail(path)
        raise
    finally:
        srv.stop()
