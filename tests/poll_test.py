"""Helpers for the poller scenarios (tests/poll_*.py), on top of shiptrack_test.

    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import shiptrack_test as st
    import poll_test as pt

Stub: the AfterShip stand-in (tests/aftership_stub.py) on a free port, one per
test module, stopped at exit; ctl() drives its control API, api_log() reads
the requests it served.  poll() runs cgi/shiptrack-poll against it with a
clean environment.  order() announces a shipment with a signed Rye
TRACKING_OBTAINED; push() sends a signed AfterShip push webhook.
shipment_view() and poll_error() read a shipment as the operator view shows
it; shipment_row() reads the poller's own bookkeeping (AfterShip's id, the
schedule, failure counts), which no program shows, in storage on purpose,
and make_due() moves that schedule there.
"""

import atexit
import base64
import collections
import datetime
import hashlib
import hmac
import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import shiptrack_test as st  # noqa: E402

POLL = os.path.join(st.TOP_BUILDDIR, "cgi", "shiptrack-poll")
STUB = os.path.join(st.TOP_SRCDIR, "tests", "aftership_stub.py")
KEY = "as_test_key_3c9e7d"
AS_SECRET = "as_push_secret_81f2"
NEVER = 9223372036854775807

_stubs = []


def _stop_all():
    for s in _stubs:
        s.close()


atexit.register(_stop_all)


class Stub:
    """One aftership_stub.py process."""

    def __init__(self, api_key=KEY):
        self.dir = st.tempdir("aftership-stub-")
        port_file = os.path.join(self.dir, "port")
        self.log_file = open(os.path.join(self.dir, "stub.log"), "w")
        args = [sys.executable, STUB, "--port", "0", "--port-file", port_file]
        if api_key is not None:
            args += ["--api-key", api_key]
        self.proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=self.log_file)
        _stubs.append(self)
        deadline = time.monotonic() + 15
        while not os.path.exists(port_file):
            if time.monotonic() > deadline or self.proc.poll() is not None:
                raise RuntimeError("aftership stub did not start")
            time.sleep(0.02)
        with open(port_file) as f:
            self.port = int(f.read())
        self.root = "http://127.0.0.1:%d" % self.port

    def base(self, version="2025-07"):
        return self.root + ("/v4" if version == "v4" else "/tracking/" + version)

    def ctl(self, path, body=None, method=None):
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.root + "/_control/" + path, data=data,
                                     method=method or ("POST" if data is not None else "GET"))
        try:
            with urllib.request.urlopen(req, timeout=30) as r:
                return json.load(r)
        except urllib.error.HTTPError as e:
            raise AssertionError("stub control %s: %s %s" % (path, e.code, e.read()[:300]))

    def reset(self):
        self.ctl("reset", {})

    def faults(self, **kw):
        return self.ctl("faults", kw)

    def seed(self, trackings, **kw):
        body = {"trackings": trackings}
        body.update(kw)
        return self.ctl("seed", body)

    def advance(self, **kw):
        return self.ctl("advance", kw)["tracking"]

    def trackings(self, number=None):
        q = "?tracking_number=" + number if number else ""
        return self.ctl("trackings" + q)["trackings"]

    def api_log(self):
        """The requests served.  The stand-in records a request just after
        answering it, so a poller that has exited may still be a record
        ahead of the log: read until two reads agree."""
        log = self.ctl("log")["requests"]
        for _ in range(40):
            time.sleep(0.05)
            again = self.ctl("log")["requests"]
            if len(again) == len(log):
                break
            log = again
        return log

    def clear_log(self):
        # A request just answered (a direct api() call, the last of a
        # poller's) may not be recorded yet: let the log settle first, or
        # its record lands after the clear (seen in CI: a DELETE in the
        # next test's log).
        self.api_log()
        self.ctl("log/clear", {})

    def api(self, method, path, body=None, version="2025-07", key=KEY):
        """Call the stub's API directly (e.g. DELETE a tracking)."""
        data = json.dumps(body).encode() if body is not None else None
        hdr = "aftership-api-key" if version == "v4" else "as-api-key"
        req = urllib.request.Request(self.base(version) + path, data=data, method=method,
                                     headers={hdr: key, "Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=30) as r:
                return r.status, json.load(r)
        except urllib.error.HTTPError as e:
            return e.code, json.loads(e.read() or b"{}")

    def close(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log_file.close()


def poll_env(db, stub, version="2025-07", key=KEY, **extra):
    env = {"SHIPTRACK_DATABASE": db, "SHIPTRACK_CARRIER_API_KEY": key,
           "SHIPTRACK_CARRIER_API_URL": stub.base(version) if stub else None}
    env.update(extra)
    return st.base_env(env)


def poll(db, stub, *args, version="2025-07", key=KEY, env=None, timeout=180):
    """Run the poller once; returns CompletedProcess (text).  Also checks that
    the key never shows up in what the poller printed."""
    e = poll_env(db, stub, version, key, **(env or {}))
    p = subprocess.run([POLL] + list(args), env=e, capture_output=True, text=True,
                       timeout=timeout)
    if key and len(key) > 4:
        st.check(key not in p.stdout and key not in p.stderr,
                 "the API key appeared in the poller's output")
    return p


def start_poll(db, stub, *args, version="2025-07", env=None):
    """Start the poller in the background (Popen, text pipes)."""
    e = poll_env(db, stub, version, KEY, **(env or {}))
    return subprocess.Popen([POLL] + list(args), env=e, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def summary(p):
    """The summary line (last line of stdout)."""
    lines = [l for l in p.stdout.splitlines() if l.startswith("shiptrack-poll:")]
    st.check(lines, "no summary line in %r / %r" % (p.stdout, p.stderr[-2000:]))
    return lines[-1]


def expect_exit(p, code, what="poll"):
    st.check(p.returncode == code, "%s: exit %d, wanted %d\nstdout: %s\nstderr: %s" %
             (what, p.returncode, code, p.stdout, p.stderr[-3000:]))


def order(db, order_id, number, carrier="UPS", url=None, minutes=0):
    """Announce a shipment: a signed TRACKING_OBTAINED for order_id."""
    a = st.post(db, st.tracking(order_id, number, carrier, url, created=st.iso(minutes)))
    st.check(a.status == 200, "TRACKING_OBTAINED: %s" % a)
    return a


def bulk_orders(db, shipments):
    """Many shipments quickly, written the way the receiver writes them, in
    storage on purpose.

    shipments: [(order_id, number, carrier)].  One event, order and
    shipment row each, in one transaction (the receiver, one CGI process
    per event, would take seconds for a few hundred)."""
    ms = int(st.BASE_TIME.timestamp() * 1000)
    events, orders, ships = [], [], []
    for i, (oid, number, carrier) in enumerate(shipments):
        eid = "evt_bulk_%s_%d" % (oid, i)
        key = "%015d|%s" % (ms, eid)
        events.append((eid, oid, st.iso(0), ms, st.iso(0),
                       st.tracking(oid, number, carrier, id=eid)))
        orders.append((oid, st.iso(0), ms, st.iso(0), ms))
        ships.append((oid, number, carrier, key, key))
    st.storage_many(db, "INSERT INTO events(id, scheme, type, order_id, created_at,"
                    " created_ms, marketplace, received_at, body) VALUES"
                    " (?, 'rye1', 'TRACKING_OBTAINED', ?, ?, ?, 'shopify', ?, ?)", events)
    st.storage_many(db, "INSERT INTO orders(id, status, stage, marketplace,"
                    " created_at, created_ms, updated_at, updated_ms) VALUES"
                    " (?, 'SUCCEEDED', 'shipped', 'shopify', ?, ?, ?, ?)"
                    " ON CONFLICT DO NOTHING", orders)
    st.storage_many(db, "INSERT INTO shipments(order_id, tracking_number, carrier,"
                    " first_key, carrier_key) VALUES (?, ?, ?, ?, ?)", ships)


def sign_as(body, secret=AS_SECRET):
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def push(db, msg, event_id=None, event="tracking_update", ts=None, secret=AS_SECRET,
         sign_with=None):
    """POST an AfterShip push webhook (msg: the tracking object)."""
    o = collections.OrderedDict()
    o["event"] = event
    o["event_id"] = event_id or st.new_id("as")
    o["is_tracking_first_tag"] = False
    o["msg"] = msg
    o["ts"] = ts if ts is not None else int(time.time())
    body = st.dumps(o)
    env = {"SHIPTRACK_DATABASE": db, "SHIPTRACK_AFTERSHIP_WEBHOOK_SECRET": secret}
    return st.cgi(st.WEBHOOK, env, body=body,
                  headers={"aftership-hmac-sha256": sign_as(body, sign_with or secret)})


def shipment_view(db, number):
    """The shipment with this number as the operator view shows it (its
    order found with shiptrack export; asserts exactly one)."""
    orders = sorted({r["order_id"] for r in st.export_rows(db) if r["tracking_number"] == number})
    found = [s for o in orders for s in st.operator_view(db, o)["shipments"]
             if s["trackingNumber"] == number]
    st.check(len(found) == 1, "expected one shipment %s, found %d" % (number, len(found)))
    return found[0]


def poll_error(db, number):
    """The shipment's poll error as the operator view shows it, or None."""
    e = shipment_view(db, number)["pollError"]
    return e["message"] if e else None


def shipment_row(db, number, order_id=None):
    """The shipments row for a number, as a dict (asserts exactly one): the
    poller's own bookkeeping (carrier_id, carrier_slug, next_poll_ms,
    poll_failures, stall_episode...), which no program shows, read in
    storage on purpose."""
    q = "SELECT * FROM shipments WHERE tracking_number = ?"
    args = [number]
    if order_id is not None:
        q += " AND order_id = ?"
        args.append(order_id)
    rows = st.storage_dicts(db, q, args)
    st.check(len(rows) == 1, "expected one shipment %s, found %d" % (number, len(rows)))
    return rows[0]


def view(db, order_id):
    return json.loads(st.view(db, order_id))


def iso_at(epoch_s):
    return datetime.datetime.fromtimestamp(int(epoch_s), datetime.timezone.utc) \
        .strftime("%Y-%m-%dT%H:%M:%SZ")


def list_cursor(db):
    """Where the list sync goes on from (meta carrier.list_sync_ms): the
    poller's bookkeeping, read in storage on purpose."""
    return st.storage_sql(db, "SELECT value FROM meta WHERE key = 'carrier.list_sync_ms'")


def set_list_cursor(db, ms):
    """Start the next list sync from ms: the poller's bookkeeping, set in
    storage on purpose."""
    st.storage_sql(db, "INSERT INTO meta(key, value) VALUES ('carrier.list_sync_ms', ?)",
                   (str(ms),))


def make_due(db, number=None):
    """Make shipments due for reconciliation now (next_poll_ms = 0): time
    moved in storage, on purpose."""
    if number is None:
        st.storage_sql(db, "UPDATE shipments SET next_poll_ms = 0 WHERE next_poll_ms < ?",
                       (NEVER,))
    else:
        st.storage_sql(db, "UPDATE shipments SET next_poll_ms = 0 WHERE tracking_number = ?",
                       (number,))


def requests_of(log, method=None, path_part=None):
    return [r for r in log if (method is None or r["method"] == method) and
            (path_part is None or path_part in r["path"])]
