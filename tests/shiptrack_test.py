"""Shared helpers for the scenario tests (Python 3 standard library only).

Import it from a test with:

    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import shiptrack_test as st

It finds the built programs, makes fresh migrated databases quickly (one
`shiptrack migrate` per process, then a file copy per test), signs bodies
the way Rye does, runs webhook.fcgi / api.fcgi as plain CGI with a clean
environment and parses their answers, builds Rye gen-1 and gen-2 bodies,
and runs the test_* functions of a test module in order.  What is stored
it reads through the programs (counts, stats, operator_view, snapshot...);
storage_sql and its kin are for reaching into storage on purpose.
"""

import atexit
import base64
import collections
import csv
import datetime
import faulthandler
import hashlib
import hmac
import io
import itertools
import json
import os
import re
import shutil
import signal
import sqlite3 as _sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
TOP_SRCDIR = os.path.abspath(os.environ.get("top_srcdir") or os.path.dirname(HERE))
TOP_BUILDDIR = os.path.abspath(os.environ.get("top_builddir") or os.path.dirname(HERE))

WEBHOOK = os.path.join(TOP_BUILDDIR, "cgi", "webhook.fcgi")
API = os.path.join(TOP_BUILDDIR, "cgi", "api.fcgi")
CLI = os.path.join(TOP_BUILDDIR, "cgi", "shiptrack")

SECRET = "whsec_test_secret_7f3a9c"
API_TOKEN = "tok_test_operator_5b1e2d"

DEFAULT_TIMEOUT = 20

# Variables a sanitizer or loader build may need; everything else is dropped.
_PASS_THROUGH = ("ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS", "MSAN_OPTIONS",
                 "TSAN_OPTIONS", "LD_LIBRARY_PATH", "LD_PRELOAD", "TMPDIR",
                 "VALGRIND_OPTS")



# Deadline checks allow this factor on their tolerances: a sanitizer build
# on a loaded 2-core machine answers slower, without being wrong.
SLACK = float(os.environ.get("SHIPTRACK_TEST_SLACK", "1"))

def package_version():
    """PACKAGE_VERSION from the build's config.h (None if not found)."""
    for d in (TOP_BUILDDIR, TOP_SRCDIR):
        try:
            with open(os.path.join(d, "config.h")) as f:
                for line in f:
                    m = re.match(r'#define PACKAGE_VERSION "(.*)"', line)
                    if m:
                        return m.group(1)
        except OSError:
            pass
    return None


def base_env(extra=None):
    """A clean environment: no inherited SHIPTRACK_*, config file disabled."""
    env = {"PATH": "/usr/bin:/bin", "SHIPTRACK_CONFIG": "/dev/null"}
    for k in _PASS_THROUGH:
        if k in os.environ:
            env[k] = os.environ[k]
    for k, v in (extra or {}).items():
        if v is None:
            env.pop(k, None)
        else:
            env[k] = str(v)
    return env


# --- temporary directories and databases -----------------------------------

_tmp_roots = []


def _cleanup():
    for d in _tmp_roots:
        shutil.rmtree(d, ignore_errors=True)


atexit.register(_cleanup)


def _stopped(signum, frame):
    # make check bounds each test (Makefile.am: TEST_TIMEOUT); when the
    # bound stops one with SIGTERM, its log says where every thread was,
    # and the exit runs the atexit cleanup (servers, directories).
    # timeout(1) signals the test, then its whole group: once is enough,
    # and a second SystemExit would cut the cleanup short.
    signal.signal(signum, signal.SIG_IGN)
    # os.write and faulthandler take no lock the interrupted code may hold.
    os.write(2, b"# stopped by signal %d: every thread's stack follows\n" % signum)
    faulthandler.dump_traceback(all_threads=True)
    raise SystemExit(128 + signum)


def _term_as_before():
    # A forked child (multiprocessing's workers) owns none of that, and a
    # Python-level handler only runs when its main thread gets back to
    # Python: a worker that pool.terminate() stopped this way was seen to
    # live on and hang the pool's join.  It dies at once, as it would have.
    try:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
    except ValueError:
        pass


faulthandler.enable()
if threading.current_thread() is threading.main_thread():
    signal.signal(signal.SIGTERM, _stopped)
    os.register_at_fork(after_in_child=_term_as_before)


def tempdir(prefix="shiptrack-test-"):
    """A temporary directory removed when the process exits."""
    base = "/dev/shm" if os.path.isdir("/dev/shm") and os.access("/dev/shm", os.W_OK) else None
    d = tempfile.mkdtemp(prefix=prefix, dir=base)
    _tmp_roots.append(d)
    return d


_template = None
_counter = itertools.count(1)


def run_cli(args, db=None, env=None, timeout=60):
    """Run cgi/shiptrack; returns CompletedProcess (text)."""
    e = base_env(env)
    if db is not None:
        e["SHIPTRACK_DATABASE"] = db
    return subprocess.run([CLI] + list(args), env=e, capture_output=True,
                          text=True, timeout=timeout)


def template_db():
    """Path of a database migrated once per process by `shiptrack migrate`."""
    global _template
    if BACKEND == "pg":
        return _pg().template(run_cli)
    if _template is None:
        d = tempdir("shiptrack-template-")
        path = os.path.join(d, "template.db")
        p = run_cli(["migrate"], db=path)
        if p.returncode != 0:
            raise RuntimeError("shiptrack migrate failed (%d): %s%s" %
                               (p.returncode, p.stdout, p.stderr))
        for suffix in ("-wal", "-shm"):
            if os.path.exists(path + suffix):
                raise RuntimeError("migrate left %s behind" % (path + suffix))
        _template = path
    return _template


# SHIPTRACK_TEST_BACKEND=pg: fresh databases on a private PostgreSQL, and the
# storage helpers below on them (tests/pg_backend.py).
BACKEND = os.environ.get("SHIPTRACK_TEST_BACKEND", "sqlite")


def _pg():
    import pg_backend
    return pg_backend


def _on_pg(db):
    return isinstance(db, str) and db.startswith(("postgresql://", "postgres://"))


def fresh_db(tmpdir=None):
    """A copy of the migrated template in tmpdir (a new one if None)."""
    if BACKEND == "pg":
        return _pg().fresh_db(run_cli)
    if tmpdir is None:
        tmpdir = tempdir()
    path = os.path.join(tmpdir, "shiptrack-%d-%d.db" % (os.getpid(), next(_counter)))
    shutil.copyfile(template_db(), path)
    return path


def copy_db(src, tmpdir=None):
    """A new database holding what src holds (src not in use)."""
    if _on_pg(src):
        return _pg().copy_db(src)
    path = fresh_db(tmpdir)
    shutil.copyfile(src, path)
    return path


# --- storage, on purpose ----------------------------------------------------
#
# A test that only observes state reads it through the programs, as an
# operator would (below: counts, stats, operator_view, snapshot...): they
# read through the store, so the test runs on any database the store
# supports.  The helpers here are the only way a test reaches past the
# programs into storage, and only on purpose: to doctor rows (time travel,
# corruption, an old schema), to stand in for another writer or hold its
# lock, or to inspect what no program shows (raw bodies, the schema).  Every
# caller says why in a comment.  On PostgreSQL (SHIPTRACK_TEST_BACKEND=pg)
# storage_sql, storage_dicts, storage_many and storage_dump go through
# tests/pg_backend.py; storage_connect (a transaction of the test's own) is
# SQLite's only, and a test function that needs it is in its file's
# SQLITE_ONLY (run() says it, and does not run it, on PostgreSQL).

def storage_sql(dbpath, sql, params=()):
    """Run one statement on the database itself; returns all rows."""
    if _on_pg(dbpath):
        return _pg().sql(dbpath, sql, params)
    conn = _sqlite3.connect(dbpath, timeout=10, isolation_level=None)
    try:
        return conn.execute(sql, params).fetchall()
    finally:
        conn.close()


def storage_dicts(dbpath, sql, params=()):
    """The rows of one query as dicts (column name: value)."""
    if _on_pg(dbpath):
        return _pg().sql(dbpath, sql, params, dicts=True)
    conn = _sqlite3.connect(dbpath, timeout=10)
    conn.row_factory = _sqlite3.Row
    try:
        return [dict(r) for r in conn.execute(sql, params)]
    finally:
        conn.close()


def storage_many(dbpath, sql, rows):
    """Run one statement per row of parameters, in one transaction."""
    if _on_pg(dbpath):
        return _pg().many(dbpath, sql, rows)
    conn = _sqlite3.connect(dbpath, timeout=10)
    with conn:
        conn.executemany(sql, rows)
    conn.close()


def storage_connect(dbpath, timeout=10):
    """A connection of our own to the SQLite file (autocommit), for a test
    that holds a transaction; the caller closes it."""
    check(not _on_pg(dbpath), "storage_connect is SQLite's only")
    return _sqlite3.connect(dbpath, timeout=timeout, isolation_level=None)


def storage_tables(dbpath):
    """Names of all user tables but "metrics": the running totals for
    GET /v1/metrics (sql/004) count every request, refused or duplicate
    ones included, and tests/metrics.py checks them; "nothing stored"
    means nothing else."""
    if _on_pg(dbpath):
        return _pg().tables(dbpath)
    return [r[0] for r in storage_sql(dbpath,
            "SELECT name FROM sqlite_master WHERE type='table' "
            "AND name NOT LIKE 'sqlite_%' AND name <> 'metrics' ORDER BY name")]


def storage_dump(dbpath):
    """{table: sorted rows} of every table but "metrics" (see
    storage_tables): for a test whose promise is about storage itself
    ("wrote nothing", "no secret in the database")."""
    return {t: sorted(storage_sql(dbpath, 'SELECT * FROM "%s"' % t), key=repr)
            for t in storage_tables(dbpath)}


# --- state, as the programs show it ------------------------------------------

def cli_ok(args, db=None, env=None, timeout=60):
    """Run cgi/shiptrack; assert it exits 0; return its stdout."""
    p = run_cli(args, db=db, env=env, timeout=timeout)
    if p.returncode != 0:
        raise AssertionError("shiptrack %s exited %d: %s%s" %
                             (" ".join(args), p.returncode, p.stdout, p.stderr))
    return p.stdout


def stats(db, env=None):
    """`shiptrack stats --json` (what GET /v1/stats gives), without "locks"
    (the cron runs' lock files live beside the database, not in it)."""
    j = json.loads(cli_ok(["stats", "--json"], db, env),
                   object_pairs_hook=collections.OrderedDict)
    j.pop("locks", None)
    return j


def check_db(db, env=None):
    """`shiptrack check`: (exit status, integrity verdict, {table: rows} it
    printed)."""
    p = run_cli(["check"], db=db, env=env)
    m = re.search(r"^integrity: (.*)$", p.stdout, re.M)
    rows = {}
    tail = p.stdout.split("\nschema: ", 1)
    if len(tail) == 2:
        for line in tail[1].splitlines()[1:]:
            m2 = re.match(r"^  (\w+) +(\d+)$", line)
            if not m2:
                break
            rows[m2.group(1)] = int(m2.group(2))
    return p.returncode, (m.group(1) if m else None), rows


def counts(db):
    """{events, orders, shipments, checkpoints, rejected_deliveries}: the
    row counts `shiptrack check` prints (and it found the database intact)."""
    rc, verdict, rows = check_db(db)
    if verdict != "ok" or len(rows) != 5:
        raise AssertionError("shiptrack check: %r %r (exit %d)" % (verdict, rows, rc))
    return rows


def intact(db, what="integrity"):
    """`shiptrack check` finds the database intact."""
    rc, verdict, rows = check_db(db)
    check(verdict == "ok", "%s: shiptrack check says %r" % (what, verdict))


def operator_view(db, order_id, env=None):
    """The operator view (GET /v1/orders/{id}) as JSON; None for 404.  The
    id travels in one percent-encoded segment of REQUEST_URI, as a web
    server hands it on, so that any id is found."""
    e = {"REQUEST_URI": "/api/v1/orders/" + urllib.parse.quote(order_id, safe="")}
    e.update(env or {})
    a = api(db, "/v1/orders/" + order_id, env=e)
    if a.status == 404:
        return None
    if a.status != 200:
        raise AssertionError("operator view of %r: %s" % (order_id, a))
    return a.json()


def order_ids(db, env=None):
    """Every order's id, newest first (GET /v1/orders, every page)."""
    ids, cursor = [], None
    while True:
        q = "limit=200" + ("&cursor=" + cursor if cursor else "")
        a = api(db, "/v1/orders", query=q, env=env)
        if a.status != 200:
            raise AssertionError("order list: %s" % a)
        j = a.json()
        ids += [o["id"] for o in j["orders"]]
        cursor = j["nextCursor"]
        if not cursor:
            return ids


def events_of(db, order_id):
    """The order's stored events as the operator view lists them: [{id,
    type, createdAt, receivedAt, source}]; [] for an unknown order."""
    v = operator_view(db, order_id)
    return v["events"] if v else []


def export_rows(db):
    """`shiptrack export --csv` as dicts: one per shipment (an order without
    shipments: one with empty shipment columns), newest order first."""
    return list(csv.DictReader(io.StringIO(cli_ok(["export", "--csv"], db), newline="")))


def snapshot(db):
    """Everything the programs show of what is stored: the counts of
    `shiptrack check`, `shiptrack stats`, and the operator view of every
    order (its events, shipments, checkpoints, Rye's view, contact and
    notifications with their attempts).  Equal before and after: nothing
    was stored or changed (requests counted for GET /v1/metrics aside)."""
    return {"counts": counts(db), "stats": stats(db),
            "orders": {i: operator_view(db, i) for i in order_ids(db)}}


# --- signatures ------------------------------------------------------------

def _mac(secret, body):
    if isinstance(secret, str):
        secret = secret.encode("utf-8")
    if isinstance(body, str):
        body = body.encode("utf-8")
    return hmac.new(secret, body, hashlib.sha256).digest()


def sign_v1(secret, body):
    """Rye gen 1: standard base64 (padded) of HMAC-SHA256 over the raw body."""
    return base64.b64encode(_mac(secret, body)).decode("ascii")


def sign_v2(secret, body):
    """Rye gen 2: "v0=" + lowercase hex HMAC-SHA256 over the raw body."""
    return "v0=" + _mac(secret, body).hex()


# --- CGI -------------------------------------------------------------------

class Answer:
    """A parsed CGI answer: status int, headers (lowercased), body bytes,
    stderr bytes; also .elapsed (s) and .raw (stdout).  Unpacks as
    (status, headers, body, stderr)."""

    def __init__(self, status, headers, body, stderr, elapsed=0.0, raw=b""):
        self.status, self.headers, self.body, self.stderr = status, headers, body, stderr
        self.elapsed, self.raw = elapsed, raw

    def __iter__(self):
        return iter((self.status, self.headers, self.body, self.stderr))

    def json(self):
        return json.loads(self.body.decode("utf-8"),
                          object_pairs_hook=collections.OrderedDict)

    def __str__(self):
        return "%d %r %r" % (self.status, dict(self.headers), self.body[:300])

    __repr__ = __str__


_KEEP = object()

# (program name, stderr bytes) of every cgi() run, for log checks.
all_stderr = []


def header_var(name):
    """"Rye-Hmac-Signature-V1" -> "HTTP_RYE_HMAC_SIGNATURE_V1"."""
    return "HTTP_" + name.upper().replace("-", "_")


def parse_cgi(out, is_head=False):
    """Split a CGI answer into (status, headers, body); raise if malformed.
    is_head: the answer to a HEAD request, which carries Content-Length but
    no body."""
    idx = out.find(b"\r\n\r\n")
    sep = 4
    if idx < 0:
        idx = out.find(b"\n\n")
        sep = 2
    if idx < 0:
        raise AssertionError("CGI answer has no header/body separator: %r" % out[:300])
    head, body = out[:idx], out[idx + sep:]
    headers = {}
    for line in re.split(rb"\r?\n", head):
        if b":" not in line:
            raise AssertionError("malformed CGI header line %r" % line)
        k, v = line.split(b":", 1)
        k = k.decode("latin-1").strip().lower()
        v = v.decode("latin-1").strip()
        if k in headers:
            headers[k] += ", " + v
        else:
            headers[k] = v
    status = 200
    if "status" in headers:
        status = int(headers["status"].split()[0])
    if is_head and body:
        raise AssertionError("HEAD answer with %d body bytes" % len(body))
    if not is_head and "content-length" in headers and int(headers["content-length"]) != len(body):
        raise AssertionError("Content-Length %s but %d body bytes" %
                             (headers["content-length"], len(body)))
    return status, headers, body


def cgi(program, env, body=b"", method="POST", path=None, headers=None,
        content_length=_KEEP, query=None, keep_stdin_open=False,
        timeout=DEFAULT_TIMEOUT):
    """Run program as a plain CGI request and parse its answer.

    env: SHIPTRACK_* settings (and any raw CGI variables); None values drop
    a variable.  headers: {"Header-Name": value} -> HTTP_HEADER_NAME.
    content_length: default len(body) when there is a body or the method is
    POST/PUT; None omits CONTENT_LENGTH; anything else is sent as given.
    keep_stdin_open: write the body but do not close stdin until the
    program exits (to show it does not read what it must not).
    """
    if isinstance(body, str):
        body = body.encode("utf-8")
    e = base_env()
    e["REQUEST_METHOD"] = method
    e["GATEWAY_INTERFACE"] = "CGI/1.1"
    e["SERVER_PROTOCOL"] = "HTTP/1.1"
    e["QUERY_STRING"] = query or ""
    if path is not None:
        e["PATH_INFO"] = path
    if content_length is _KEEP:
        if body or method in ("POST", "PUT", "PATCH"):
            e["CONTENT_LENGTH"] = str(len(body))
    elif content_length is not None:
        e["CONTENT_LENGTH"] = str(content_length)
    for k, v in (headers or {}).items():
        e[header_var(k)] = v
    for k, v in (env or {}).items():
        if v is None:
            e.pop(k, None)
        else:
            e[k] = str(v)

    rfd, wfd = os.pipe()
    start = time.monotonic()
    try:
        proc = subprocess.Popen([program], stdin=rfd, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, env=e, close_fds=True)
    except BaseException:
        os.close(rfd)
        os.close(wfd)
        raise
    os.close(rfd)
    wfile = os.fdopen(wfd, "wb", buffering=0)

    def feed():
        try:
            if body:
                wfile.write(body)
        except (BrokenPipeError, OSError):
            pass
        if not keep_stdin_open:
            try:
                wfile.close()
            except OSError:
                pass

    writer = threading.Thread(target=feed, daemon=True)
    writer.start()
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        raise AssertionError("%s did not answer within %ss (hung?)" %
                             (os.path.basename(program), timeout))
    finally:
        writer.join(5)
        try:
            wfile.close()
        except OSError:
            pass
    elapsed = time.monotonic() - start
    if proc.returncode != 0:
        raise AssertionError("%s exited %d; stderr: %r" %
                             (os.path.basename(program), proc.returncode, err[-2000:]))
    all_stderr.append((os.path.basename(program), err))
    status, hdrs, rbody = parse_cgi(out, is_head=(method == "HEAD"))
    return Answer(status, hdrs, rbody, err, elapsed, out)


def webhook_env(db, secret=SECRET, **extra):
    env = {"SHIPTRACK_DATABASE": db, "SHIPTRACK_WEBHOOK_SECRET": secret}
    env.update(extra)
    return env


def post(db, body, secret=SECRET, gen=1, sign_with=None, env=None, headers=None,
         **kw):
    """POST a signed body to webhook.fcgi (gen 1 or 2) and parse the answer."""
    if isinstance(body, str):
        body = body.encode("utf-8")
    h = {}
    key = sign_with if sign_with is not None else secret
    if gen == 1:
        h["Rye-Hmac-Signature-V1"] = sign_v1(key.split()[0], body)
    elif gen == 2:
        h["X-Rye-Signature"] = sign_v2(key.split()[0], body)
    h.update(headers or {})
    e = webhook_env(db, secret)
    e.update(env or {})
    return cgi(WEBHOOK, e, body=body, headers=h, **kw)


def api(db, path, token=API_TOKEN, auth=_KEEP, method="GET", env=None,
        headers=None, **kw):
    """GET path from api.fcgi (operator bearer token by default)."""
    h = {}
    if auth is _KEEP:
        if token is not None:
            h["Authorization"] = "Bearer " + token
    elif auth is not None:
        h["Authorization"] = auth
    h.update(headers or {})
    e = {"SHIPTRACK_DATABASE": db}
    if token is not None:
        e["SHIPTRACK_API_TOKEN"] = token
    e.update(env or {})
    return cgi(API, e, method=method, path=path, headers=h, **kw)


def view(db, order_id):
    """The operator view's raw bytes (asserts 200)."""
    a = api(db, "/v1/orders/" + order_id)
    if a.status != 200:
        raise AssertionError("view of %r: %s" % (order_id, a))
    return a.body


def blank_times(view_bytes):
    """Blank updatedAt, every receivedAt and the operator view's trailing
    "notifications" (what shiptrack sent and when: history, which depends
    on arrival order), nothing else, byte for byte."""
    v, n = re.subn(rb'"updatedAt":"[^"]*"', b'"updatedAt":""', view_bytes)
    if n != 1:
        raise AssertionError("expected one updatedAt in %r" % view_bytes[:300])
    v = re.sub(rb'"receivedAt":"[^"]*"', b'"receivedAt":""', v)
    v = re.sub(rb',"notifications":\[.*\]\}$', b',"notifications":[]}', v, flags=re.S)
    return v


# --- Rye event bodies ------------------------------------------------------

BASE_TIME = datetime.datetime(2025, 3, 1, 9, 0, 0, tzinfo=datetime.timezone.utc)
_ids = itertools.count(1)


def iso(minutes=0, ms=False):
    """BASE_TIME + minutes, as Rye writes it (Z, milliseconds optional)."""
    t = BASE_TIME + datetime.timedelta(minutes=minutes)
    if ms:
        return t.strftime("%Y-%m-%dT%H:%M:%S.") + "%03dZ" % (t.microsecond // 1000)
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def new_id(prefix="evt"):
    return "%s_%d_%d" % (prefix, os.getpid(), next(_ids))


def event_obj(type, order=None, created=None, id=None, data=None, **extra):
    """A Rye gen-1 event as a dict (key order as Rye sends it)."""
    o = collections.OrderedDict()
    o["id"] = id if id is not None else new_id()
    if order is not None:
        o["requestId"] = order
    o["developerId"] = "dev_shiptrack_tests"
    o["createdAt"] = created if created is not None else iso(0)
    o["type"] = type
    o["data"] = data if data is not None else {"marketplace": "shopify"}
    for k, v in extra.items():
        if v is None:
            o.pop(k, None)
        else:
            o[k] = v
    return o


def dumps(o):
    return json.dumps(o, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def event(type, order=None, created=None, id=None, data=None, **extra):
    """A Rye gen-1 body (bytes)."""
    return dumps(event_obj(type, order, created, id, data, **extra))


def tracking(order, number=None, carrier=None, url=None, created=None, id=None,
             where="data.order", aliases=("trackingNumber", "courierName", "courierUrl")):
    """A TRACKING_OBTAINED body with fields under `where` using `aliases`."""
    fields = collections.OrderedDict()
    if number is not None:
        fields[aliases[0]] = number
    if carrier is not None:
        fields[aliases[1]] = carrier
    if url is not None:
        fields[aliases[2]] = url
    data = collections.OrderedDict(marketplace="shopify")
    if where == "data.order":
        data["order"] = fields
    elif where == "data":
        data.update(fields)
    elif where == "data.shipments":
        data["shipments"] = [fields]
    elif where == "data.order.shipments":
        data["order"] = {"shipments": [fields]}
    else:
        raise ValueError(where)
    return event("TRACKING_OBTAINED", order, created, id, data)


def event2(type, source_id=None, source_type="checkout_intent", created=None,
           id=None, data=None):
    """A Rye gen-2 (thin) body (bytes)."""
    o = collections.OrderedDict()
    o["id"] = id if id is not None else new_id("evt2")
    o["object"] = "event"
    o["type"] = type
    o["createdAt"] = created if created is not None else iso(0)
    if source_id is not None:
        o["source"] = collections.OrderedDict(type=source_type, id=source_id)
    if data is not None:
        o["data"] = data
    return dumps(o)


# --- a tiny test runner ----------------------------------------------------

checks = 0


def check(cond, msg="check failed"):
    """Count one check; raise AssertionError(msg) when cond is false."""
    global checks
    checks += 1
    if not cond:
        raise AssertionError(msg)


def eq(actual, expected, what="value"):
    check(actual == expected, "%s: expected %r, got %r" % (what, expected, actual))


def error_answer(a, status, code, what="answer"):
    """Assert a JSON error answer {"ok":false,"error":code,"message":...}."""
    check(a.status == status, "%s: expected status %d, got %s" % (what, status, a))
    ct = a.headers.get("content-type", "")
    check(ct.startswith("application/json"), "%s: content-type %r" % (what, ct))
    try:
        j = a.json()
    except ValueError as e:
        raise AssertionError("%s: error body is not JSON (%s): %r" % (what, e, a.body))
    eq(list(j.keys()), ["ok", "error", "message"], what + " error keys")
    eq(j["ok"], False, what + " ok")
    eq(j["error"], code, what + " error code")
    check(isinstance(j["message"], str) and j["message"] != "",
          "%s: message %r" % (what, j["message"]))
    return j


def run(namespace=None):
    """Run every test_* function of the calling module, in definition order."""
    if namespace is None:
        namespace = sys._getframe(1).f_globals
    tests = [(k, v) for k, v in namespace.items()
             if k.startswith("test_") and callable(v)]
    if BACKEND != "sqlite":
        # About SQLite's own storage: said, not run (tests/pg_backend.py).
        only = namespace.get("SQLITE_ONLY", {})
        for name in only:
            print("ok - %s # SQLite only: %s" % (name, only[name]))
        tests = [(k, v) for k, v in tests if k not in only]
    failed = 0
    start = time.monotonic()
    for name, fn in tests:
        t0 = time.monotonic()
        try:
            fn()
        except Exception as e:  # AssertionError and anything unexpected
            failed += 1
            reason = str(e) or e.__class__.__name__
            if not isinstance(e, AssertionError):
                reason = "%s: %s" % (e.__class__.__name__, reason)
            print("not ok - %s: %s" % (name, reason.replace("\n", "\\n")))
            tb = traceback.format_exc()
            sys.stdout.write("".join("#   " + l + "\n" for l in tb.splitlines()))
        else:
            print("ok - %s (%.2fs)" % (name, time.monotonic() - t0))
        sys.stdout.flush()
    print("# %d tests, %d failed, %d checks, %.1fs" %
          (len(tests), failed, checks, time.monotonic() - start))
    sys.stdout.flush()
    sys.exit(1 if failed else 0)
