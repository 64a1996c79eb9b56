"""Helpers for the Rye pass scenarios (tests/rye_sync.py, tests/permutations.py),
on top of shiptrack_test and poll_test.

    import rye_test as rt

RyeStub: the Rye stand-in (tests/rye_stub.py) on a free port, stopped at
exit; ctl() drives its control API, log() reads the requests it served.
poll() runs cgi/shiptrack-poll with the Rye pass pointed at it (and the
carrier pass at an AfterShip stand-in, or not at all: --rye-only).  The
builders give Rye's objects in the spec's shapes (rye-api.md).
"""

import atexit
import collections
import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import shiptrack_test as st  # noqa: E402
import poll_test as pt  # noqa: E402

STUB = os.path.join(st.TOP_SRCDIR, "tests", "rye_stub.py")
KEY = "RYE/staging-sync-test-key-7d2c"

_stubs = []


def _stop_all():
    for s in _stubs:
        s.close()


atexit.register(_stop_all)


class RyeStub:
    """One rye_stub.py process."""

    def __init__(self, api_key=KEY):
        self.dir = st.tempdir("rye-stub-")
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
                raise RuntimeError("rye stub did not start")
            time.sleep(0.02)
        with open(port_file) as f:
            self.root = "http://127.0.0.1:%d" % int(f.read())

    def ctl(self, path, body=None):
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.root + "/_control/" + path, data=data,
                                     method="POST" if data is not None else "GET")
        try:
            with urllib.request.urlopen(req, timeout=30) as r:
                return json.load(r)
        except urllib.error.HTTPError as e:
            raise AssertionError("rye stub control %s: %s %s" % (path, e.code, e.read()[:300]))

    def reset(self):
        self.ctl("reset", {})

    def faults(self, **kw):
        return self.ctl("faults", kw)

    def intents(self, *objs):
        return self.ctl("intents", {"intents": list(objs)})["intents"]

    def shipments(self, *objs):
        return self.ctl("shipments", {"shipments": list(objs)})["shipments"]

    def events(self, *objs):
        return self.ctl("events", {"events": list(objs)})["events"]

    def orders(self, *objs):
        return self.ctl("orders", {"orders": list(objs)})["orders"]

    def log(self):
        return [r for r in self.ctl("log")["requests"] if r["gen"] is not None]

    def clear_log(self):
        self.ctl("log/clear", {})

    def close(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log_file.close()


def env(db, rye, carrier=None, key=KEY, **extra):
    """The poller's environment: the Rye pass at rye, the carrier pass at carrier."""
    e = {"SHIPTRACK_DATABASE": db, "SHIPTRACK_RYE_API_KEY": key,
         "SHIPTRACK_RYE_API_URL": rye.root if rye else None,
         "SHIPTRACK_RYE_GRAPHQL_URL": rye.root + "/v1/query" if rye else None,
         "SHIPTRACK_CARRIER_API_KEY": pt.KEY,
         "SHIPTRACK_CARRIER_API_URL": carrier.base() if carrier else "http://127.0.0.1:9/tracking/2025-07"}
    e.update({k: (None if v is None else str(v)) for k, v in extra.items()})
    return st.base_env(e)


def poll(db, rye, *args, carrier=None, env_extra=None, timeout=180, key=KEY):
    """Run shiptrack-poll; --rye-only unless a carrier stand-in is given.
    Checks that neither key shows up in what it printed."""
    argv = [pt.POLL] + list(args)
    if carrier is None and "--rye-only" not in args and "--carrier-only" not in args:
        argv.append("--rye-only")
    p = subprocess.run(argv, env=env(db, rye, carrier, key, **(env_extra or {})),
                       capture_output=True, text=True, timeout=timeout)
    for k in (key, pt.KEY):
        if k and len(k) > 4:
            st.check(k not in p.stdout and k not in p.stderr,
                     "a key appeared in the poller's output")
    return p


def make_due(db):
    """Every order due for the Rye pass's re-read now (rye_sync.next_sync_ms
    = 0): time moved in storage, on purpose."""
    st.storage_sql(db, "UPDATE rye_sync SET next_sync_ms = 0")


def start(db, rye, *args, env_extra=None):
    """The poller in the background (--rye-only), for kill tests."""
    return subprocess.Popen([pt.POLL, "--rye-only"] + list(args),
                            env=env(db, rye, None, KEY, **(env_extra or {})),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def summary(p):
    return pt.summary(p)


def expect_exit(p, code, what="poll"):
    pt.expect_exit(p, code, what)


# --- Rye's objects (rye-api.md) -------------------------------------------

def intent(id, state="completed", email="shopper@example.com", reference="order-1234",
           postal="10001", country="US", created=None, **extra):
    o = collections.OrderedDict()
    o["id"] = id
    o["state"] = state
    o["createdAt"] = created or st.iso(0)
    o["productUrl"] = "https://shop.example/p/1"
    o["quantity"] = 1
    o["referenceId"] = reference
    o["buyer"] = {"firstName": "Sam", "lastName": "Shopper", "email": email,
                  "phone": "+12125550100", "address1": "1 Main St", "city": "New York",
                  "province": "NY", "postalCode": postal, "country": country}
    if state == "completed":
        o["orderId"] = "ord_" + id
    o.update(extra)
    return o


def shipment(id, intent_id, number="1Z999AA10123456784", carrier="UPS", status="shipped",
             url=None, estimated="2026-03-30T00:00:00Z", events=None, **extra):
    o = collections.OrderedDict()
    o["id"] = id
    o["checkoutIntentId"] = intent_id
    o["marketplaceOrderId"] = "112-3"
    o["status"] = status
    o["createdAt"] = st.iso(30)
    if status not in ("ordered", "canceled"):
        o["tracking"] = {"number": number, "carrierName": carrier,
                         "url": url if url is not None else "https://www.ups.com/track?tracknum=%s" % number,
                         "deliveryDate": {"estimated": estimated} if estimated else None}
        o["trackingEvents"] = events if events is not None else [
            {"status": "shipped", "description": "Departed",
             "location": {"city": "Louisville", "province": "KY", "country": "US"},
             "timestamp": {"local": "2026-03-26T22:10:00.000-04:00",
                           "utc": "2026-03-27T02:10:00Z"}}]
    o.update(extra)
    return o


def event2_obj(type, source_id, source_type="checkout_intent", created=None, id=None):
    """A gen-2 event as a dict (the body a webhook of it has)."""
    return json.loads(st.event2(type, source_id, source_type, created, id))


def order1(id, status="SUCCEEDED", shipments=(), events=(), **extra):
    o = {"id": id, "status": status, "marketplace": "SHOPIFY",
         "marketplaceOrderIds": ["5523456789"], "shipments": list(shipments),
         "events": list(events)}
    o.update(extra)
    return o


def gql_event(typename, id, created):
    return {"__typename": typename, "id": id, "createdAt": created}


def operator(db, order_id):
    return json.loads(st.view(db, order_id))


def shopper(db, order_id, secret="lookup_secret_for_rye_tests"):
    """The shopper view as the page fetches it (GET /v1/track/{id}?key=K)."""
    import base64
    import hashlib
    import hmac
    mac = hmac.new(secret.encode(), order_id.encode(), hashlib.sha256).digest()
    k = base64.urlsafe_b64encode(mac[:16]).decode().rstrip("=")
    a = st.api(db, "/v1/track/" + order_id, token=None, query="key=" + k,
               env={"SHIPTRACK_LOOKUP_SECRET": secret})
    st.check(a.status == 200, "shopper view of %s: %s" % (order_id, a))
    return a
