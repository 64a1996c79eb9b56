#!/usr/bin/env python3
"""api.fcgi as plain CGI: every route of the status API.

The shopper route (GET /v1/track/{id}?key=K: lookup keys, the one 404 for a
wrong key and an unknown order, 400/403), the operator list (auth, every
filter, bad parameters, limits, cursor walks), /v1/stats, ETag/304,
Cache-Control, CORS, 405/404, HEAD, query-string bounds, and that the API
never writes the database.  Also `shiptrack link` (its key opens the order
through the API) and `shiptrack export --csv` (parsed with the csv module).

Orders are seeded through the real receiver (signed webhooks); carrier data
(tags, scan times, checkpoints) is written in storage (st.storage_sql), as
the poller would, before the order's last webhook arrives, so the receiver
derives the stage from it: these tests are of the API's reading; the
poller's writing has its own (tests/poll_*.py).  Times that decide
staleness are relative to now.  What is stored is read through the API.
"""
import base64
import collections
import csv
import datetime
import hashlib
import hmac
import io
import os
import re
import subprocess
import sys
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import shiptrack_test as st  # noqa: E402
from shiptrack_test import check, eq, error_answer  # noqa: E402

TMP = st.tempdir("shiptrack-routes-")
LOOKUP_SECRET = "lookup_test_secret_4e8d1c"
CORS = "https://shop.example"
TRACK_ENV = {"SHIPTRACK_LOOKUP_SECRET": LOOKUP_SECRET}

SHOPPER_KEYS = ["id", "status", "stage", "marketplace", "createdAt", "updatedAt",
                "locale", "shipments"]
# List items: the shopper view without the order's language (and checkpoints).
SUMMARY_KEYS = [k for k in SHOPPER_KEYS if k != "locale"]
SUMMARY_SHIPMENT_KEYS = ["trackingNumber", "carrier", "trackingUrl", "tag", "subtag",
                         "subtagMessage", "expectedDelivery", "deliveredAt",
                         "lastCheckpointAt", "checkedAt", "stale"]
# What else the carrier knows, after the older keys (old keys unchanged).
CARRIER_FACT_KEYS = ["estimates", "pickup", "signedBy", "carrierTrackingLink"]
SHOPPER_SHIPMENT_KEYS = SUMMARY_SHIPMENT_KEYS + ["checkpoints"] + CARRIER_FACT_KEYS
CHECKPOINT_KEYS = ["time", "tag", "subtag", "message", "location"]
STATUSES = ["PENDING", "PROCESSING", "SUCCEEDED", "FAILED",
            "CANCELLATION_IN_PROGRESS", "CANCELLED"]
STAGES = ["processing", "placed", "shipped", "in_transit", "out_for_delivery",
          "available_for_pickup", "attempt_failed", "exception", "delivered",
          "partially_delivered", "expired", "failed", "cancelled"]
STATS_KEYS = ["status", "stage", "stale", "events", "rejectedDeliveries", "lastPoll"]
ETAG_RE = re.compile(r'^"[0-9a-f]{32}"$')

NOW = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)


def lookup_key(order_id, secret=LOOKUP_SECRET):
    """DESIGN.md: first 16 bytes of HMAC-SHA256(secret, id), base64url, no '='."""
    mac = hmac.new(secret.encode(), order_id.encode("utf-8"), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac[:16]).decode().rstrip("=")


def ago(days=0, hours=0, minutes=0):
    return NOW - datetime.timedelta(days=days, hours=hours, minutes=minutes)


def z(t):
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def track(db, order, key=None, query=None, env=None, **kw):
    """GET /v1/track/{order}; key (or a raw query) as given; lookup secret set."""
    e = dict(TRACK_ENV)
    e.update(env or {})
    if query is None:
        query = "" if key is None else "key=" + urllib.parse.quote(key, safe="")
    return st.api(db, "/v1/track/" + order, token=None, env=e, query=query, **kw)


def post_ok(db, body):
    a = st.post(db, body)
    check(a.status == 200, "webhook %r: %s" % (body[:100], a))
    return a


def set_carrier(db, order, number, **cols):
    """Carrier data onto one shipment, as the poller would store it (in
    storage, on purpose: see the top)."""
    names = sorted(cols)
    n = [s["trackingNumber"] for s in st.operator_view(db, order)["shipments"]].count(number)
    check(n == 1, "shipment %s/%s exists (%d)" % (order, number, n))
    st.storage_sql(db, "UPDATE shipments SET %s WHERE order_id=? AND tracking_number=?" %
                   ", ".join("%s=?" % c for c in names),
                   tuple(cols[c] for c in names) + (order, number))


def add_checkpoints(db, order, number, cps):
    """cps: (time_raw, time_ms, has_offset, tag, subtag, message, location),
    as the poller would store them (in storage, on purpose)."""
    sid = st.storage_sql(db, "SELECT id FROM shipments WHERE order_id=? AND tracking_number=?",
                         (order, number))[0][0]
    for cp in cps:
        st.storage_sql(db, "INSERT INTO checkpoints(shipment_id, time_raw, time_ms, has_offset,"
                       " tag, subtag, message, location) VALUES (?,?,?,?,?,?,?,?)",
                       (sid,) + cp)


def ms(t):
    return int(t.timestamp() * 1000)


# --- the seeded database -----------------------------------------------------
#
# id: (expected status, stage, stale).  Stale (order.h, default rules): a shipment without a
# scan for longer than its tag allows (Pending 5 days since it was announced,
# InTransit 7, OutForDelivery 2, Exception 3), or an order waiting for
# tracking (processing/placed) for more than 7 days.
EXPECT = collections.OrderedDict([
    ("r-pending", ("PENDING", "processing", False)),
    ("r-processing", ("PROCESSING", "processing", False)),
    ("r-placed", ("SUCCEEDED", "placed", False)),
    ("r-placed-old", ("SUCCEEDED", "placed", True)),
    ("r-failed", ("FAILED", "failed", False)),
    ("r-cancelled", ("CANCELLED", "cancelled", False)),
    ("r-cancelling", ("CANCELLATION_IN_PROGRESS", "processing", False)),
    ("r-shipped", ("SUCCEEDED", "shipped", False)),
    ("r-pending-stale", ("SUCCEEDED", "shipped", True)),
    ("r-split", ("SUCCEEDED", "partially_delivered", False)),
    ("r-transit-stale", ("SUCCEEDED", "in_transit", True)),
    ("r-ofd-stale", ("SUCCEEDED", "out_for_delivery", True)),
    ("r-exception", ("SUCCEEDED", "exception", False)),
    ("r-delivered", ("SUCCEEDED", "delivered", False)),
])
SPLIT_A, SPLIT_B = "1ZSPLIT0000000001", "9400SPLIT00000000002"
SPLIT_CPS = [  # newest first, as the API must list them
    ("%sT%s" % (ago(hours=6).strftime("%Y-%m-%d"), ago(hours=6).strftime("%H:%M:%S+00:00")),
     ms(ago(hours=6)), 1, "InTransit", "InTransit_002", "Departed facility", "Leipzig, DE"),
    (ago(days=1).strftime("%Y-%m-%dT%H:%M:%S"), ms(ago(days=1)), 0, "InTransit",
     "InTransit_001", "Arrived at hub (local time)", "Memphis, TN, US"),
    (ago(days=2).strftime("%Y-%m-%d"), ms(ago(days=2).replace(hour=0, minute=0, second=0)), 0,
     "InfoReceived", None, "Label created", None),
]
_seeded = {}


def seed_order(db, order, events, ships=(), carrier=None):
    """events: (type, time, extra data) in time order; ships: (number, carrier
    name, url, time).  Posts tracking events first, writes carrier data, then
    the lifecycle events (arriving late: order must not matter), so the last
    webhook recomputes the stage from the carrier tags."""
    n = 0
    for number, cname, url, t in ships:
        post_ok(db, st.tracking(order, number, cname, url, created=z(t),
                                id="evt_%s_t%d" % (order, n)))
        n += 1
    for number, cols in (carrier or {}).items():
        set_carrier(db, order, number, **cols)
    for typ, t, data in events:
        d = {"marketplace": "shopify"}
        d.update(data or {})
        post_ok(db, st.event(typ, order, z(t), id="evt_%s_%d" % (order, n), data=d))
        n += 1
    return n


def seeded():
    """The shared database (built once; the API must not change it)."""
    if "db" in _seeded:
        return _seeded["db"]
    db = st.fresh_db(TMP)
    total = 0
    S = seed_order
    total += S(db, "r-pending", [("PAYMENT_SUCCEEDED", ago(hours=1), None)])
    total += S(db, "r-processing", [("ORDER_SUBMISSION_STARTED", ago(hours=2), None),
                                    ("ORDER_SUBMISSION_SUCCEEDED", ago(hours=2, minutes=-1), None)])
    total += S(db, "r-placed", [("ORDER_SUBMISSION_STARTED", ago(hours=5), None),
                                ("ORDER_PLACED", ago(hours=4), None)])
    total += S(db, "r-placed-old", [("ORDER_PLACED", ago(days=10), None)])
    total += S(db, "r-failed", [("ORDER_SUBMISSION_STARTED", ago(days=20), None),
                                ("ORDER_FAILED", ago(days=20, minutes=-5),
                                 {"reason": "Out of stock"})])
    total += S(db, "r-cancelled", [("ORDER_PLACED", ago(days=9), None),
                                   ("ORDER_CANCEL_STARTED", ago(days=9, minutes=-10), None),
                                   ("ORDER_CANCEL_SUCCEEDED", ago(days=9, minutes=-20), None)])
    total += S(db, "r-cancelling", [("ORDER_PLACED", ago(hours=30), None),
                                    ("ORDER_CANCEL_STARTED", ago(hours=29), None)])
    total += S(db, "r-shipped", [("ORDER_PLACED", ago(days=1), None)],
               [("1ZSHIPPED000000001", "UPS", "https://ups.example/t/1ZSHIPPED000000001",
                 ago(hours=20))])
    total += S(db, "r-pending-stale", [("ORDER_PLACED", ago(days=12), None)],
               [("1ZPENDSTALE0000001", "UPS", None, ago(days=11))])
    total += S(db, "r-split", [("PAYMENT_SUCCEEDED", ago(days=3), None),
                               ("ORDER_PLACED", ago(days=3, minutes=-5), None)],
               [(SPLIT_A, "UPS", "https://ups.example/t/" + SPLIT_A, ago(days=2)),
                (SPLIT_B, "USPS", "https://usps.example/t?n=" + SPLIT_B,
                 ago(days=2, hours=-1))],
               {SPLIT_A: {"tag": "Delivered", "subtag": "Delivered_001",
                          "subtag_message": "Delivered", "delivered_at": z(ago(days=1)),
                          "last_checkpoint_at": z(ago(days=1)), "checked_at": z(ago(hours=1))},
                SPLIT_B: {"tag": "InTransit", "subtag": "InTransit_002",
                          "subtag_message": "Departed facility",
                          "expected_delivery": ago(days=-2).strftime("%Y-%m-%d"),
                          "last_checkpoint_at": SPLIT_CPS[0][0],
                          "checked_at": z(ago(hours=1))}})
    add_checkpoints(db, "r-split", SPLIT_B, SPLIT_CPS)
    total += S(db, "r-transit-stale", [("ORDER_PLACED", ago(days=15), None)],
               [("TRANSITSTALE01", "DHL", None, ago(days=14))],
               {"TRANSITSTALE01": {"tag": "InTransit",
                                   "last_checkpoint_at":
                                   ago(days=10).strftime("%Y-%m-%dT%H:%M:%S")}})
    total += S(db, "r-ofd-stale", [("ORDER_PLACED", ago(days=6), None)],
               [("OFDSTALE01", "FedEx", None, ago(days=5))],
               {"OFDSTALE01": {"tag": "OutForDelivery",
                               "last_checkpoint_at":
                               (ago(days=3) + datetime.timedelta(hours=1)).strftime(
                                   "%Y-%m-%dT%H:%M:%S+01:00")}})
    total += S(db, "r-exception", [("ORDER_PLACED", ago(days=4), None)],
               [("EXCEPT01", "FedEx", None, ago(days=3))],
               {"EXCEPT01": {"tag": "Exception", "subtag": "Exception_011",
                             "last_checkpoint_at": ago(days=1).strftime("%Y-%m-%d")}})
    total += S(db, "r-delivered", [("ORDER_PLACED", ago(days=30), None)],
               [("DELIV01", "UPS", None, ago(days=29))],
               {"DELIV01": {"tag": "Delivered", "delivered_at": z(ago(days=25)),
                            "last_checkpoint_at": z(ago(days=25))}})
    # A duplicate (not counted twice) and a signed non-JSON body (rejected).
    dup = st.post(db, st.event("ORDER_PLACED", "r-placed", z(ago(hours=4)),
                               id="evt_r-placed_1"))
    eq(dup.json().get("duplicate"), True, "duplicate delivery")
    bad = st.post(db, b'{"id": "evt_broken", "type": ')
    eq(bad.status, 400, "non-JSON body (%s)" % bad)
    _seeded["db"], _seeded["events"] = db, total
    return db


def list_orders(db, query="", **kw):
    a = st.api(db, "/v1/orders", query=query, **kw)
    check(a.status == 200, "GET /v1/orders?%s: %s" % (query, a))
    return a.json()


def ids_of(page):
    return [o["id"] for o in page["orders"]]


def newest_first(db, ids):
    """ids sorted as the API must: createdAt (each order's own view)
    descending, then id descending."""
    created = {i: ms(datetime.datetime.fromisoformat(
        st.operator_view(db, i)["createdAt"].replace("Z", "+00:00"))) for i in ids}
    return sorted(ids, key=lambda i: (created[i], i), reverse=True)


def file_state(db):
    """The database file itself, on purpose (SQLite's: its bytes, its mtime,
    what its WAL holds): the API must not write it."""
    if st._on_pg(db):     # no file, no WAL: the rows only
        return None, None, 0, st.storage_dump(db)
    with open(db, "rb") as f:
        digest = hashlib.sha256(f.read()).hexdigest()
    wal = os.path.getsize(db + "-wal") if os.path.exists(db + "-wal") else 0
    return digest, os.stat(db).st_mtime_ns, wal


# --- the seed itself -----------------------------------------------------------

def test_seeded_orders_have_expected_status_and_stage():
    db = seeded()
    for oid, (status, stage, _) in EXPECT.items():
        v = st.api(db, "/v1/orders/" + oid).json()
        eq((v["status"], v["stage"]), (status, stage), oid + " status/stage")


# --- GET /v1/track/{orderId}?key=K --------------------------------------------

def test_track_right_key_shape():
    db = seeded()
    key = lookup_key("r-split")
    eq(len(key), 22, "key length")
    check(re.fullmatch(r"[A-Za-z0-9_-]{22}", key) is not None, "base64url key %r" % key)
    a = track(db, "r-split", key)
    eq(a.status, 200, "status (%s)" % a)
    check(a.headers.get("content-type", "").startswith("application/json"), "content-type")
    check("www-authenticate" not in a.headers, "no auth challenge for shoppers")
    j = a.json()
    eq(list(j.keys()), SHOPPER_KEYS, "shopper view keys (no events)")
    eq(j["id"], "r-split", "id")
    eq((j["status"], j["stage"], j["marketplace"]),
       ("SUCCEEDED", "partially_delivered", "shopify"), "status, stage, marketplace")
    eq(j["createdAt"], z(ago(days=3)), "createdAt: earliest event")
    eq([s["trackingNumber"] for s in j["shipments"]], [SPLIT_A, SPLIT_B],
       "both shipments, in the order of their first TRACKING_OBTAINED")
    for s in j["shipments"]:
        eq(list(s.keys()), SHOPPER_SHIPMENT_KEYS, "shopper shipment keys (no pollError)")
    a_, b_ = j["shipments"]
    eq((a_["carrier"], a_["tag"], a_["deliveredAt"], a_["checkpoints"]),
       ("UPS", "Delivered", z(ago(days=1)), []), "delivered parcel")
    eq((b_["carrier"], b_["tag"], b_["subtag"], b_["trackingUrl"], b_["stale"]),
       ("USPS", "InTransit", "InTransit_002", "https://usps.example/t?n=" + SPLIT_B, False),
       "moving parcel")
    eq([list(c.keys()) for c in b_["checkpoints"]], [CHECKPOINT_KEYS] * 3, "checkpoint keys")
    # DESIGN: ISO-8601 UTC where the offset is known; a date alone or an
    # offset-less local time as the carrier gave it (no zone invented).
    want = [(z(ago(hours=6)) if cp[2] else cp[0], cp[5], cp[6]) for cp in SPLIT_CPS]
    eq([(c["time"], c["message"], c["location"]) for c in b_["checkpoints"]], want,
       "checkpoints newest first, UTC where the offset is known, else as given")
    # The shopper needs no operator token, and one configured changes nothing.
    b = track(db, "r-split", key, env={"SHIPTRACK_API_TOKEN": st.API_TOKEN})
    eq(b.body, a.body, "same answer with an api_token configured")


def test_track_every_seeded_order():
    db = seeded()
    for oid, (status, stage, _) in EXPECT.items():
        a = track(db, oid, lookup_key(oid))
        eq(a.status, 200, "%s (%s)" % (oid, a))
        j = a.json()
        eq((j["id"], j["status"], j["stage"]), (oid, status, stage), oid)


def test_track_wrong_key_and_unknown_order_identical_404():
    db = seeded()
    right = lookup_key("r-split")
    flipped = right[:-1] + ("A" if right[-1] != "A" else "B")
    cases = [
        ("r-split", flipped, "last character changed"),
        ("r-split", right.swapcase(), "case changed"),
        ("r-split", lookup_key("r-placed"), "another order's key"),
        ("r-split", lookup_key("r-split", "other-secret"), "key from another secret"),
        ("r-split", right + "A", "one character too many"),
        ("r-split", right[:21], "one character short"),
        ("r-split", "x", "short junk"),
        ("r-split", "%s" % ("z" * 400), "long junk"),
        ("no-such-order", lookup_key("no-such-order"), "unknown order, its right key"),
        ("no-such-order", right, "unknown order, a real order's key"),
        ("r-splitx", lookup_key("r-split"), "unknown order next to a real one"),
    ]
    first = None
    for order, key, what in cases:
        a = track(db, order, key)
        error_answer(a, 404, "not_found", what)
        if first is None:
            first = a
        eq(a.raw, first.raw, "404 bytes (headers and body) for %s" % what)
    # The same holds with CORS on: the headers still do not differ.
    w = track(db, "r-split", flipped, env={"SHIPTRACK_CORS_ORIGIN": CORS})
    u = track(db, "no-such-order", lookup_key("no-such-order"),
              env={"SHIPTRACK_CORS_ORIGIN": CORS})
    eq(w.raw, u.raw, "404 bytes with a CORS origin")


def test_track_missing_key_400():
    db = seeded()
    answers = []
    for order in ("r-split", "no-such-order"):
        for query in ("", "key=", "order=" + order, "k=" + lookup_key(order)):
            a = track(db, order, query=query)
            error_answer(a, 400, "bad_parameter", "%s ?%s" % (order, query))
            answers.append(a.raw)
    eq(len(set(answers)), 1, "missing-key answers are the same for known and unknown orders")


def test_track_no_secret_403():
    db = seeded()
    for order, query in (("r-split", "key=" + lookup_key("r-split")),
                         ("no-such-order", "key=" + lookup_key("no-such-order")),
                         ("r-split", "")):
        for env in ({"SHIPTRACK_LOOKUP_SECRET": None}, {"SHIPTRACK_LOOKUP_SECRET": ""}):
            a = track(db, order, query=query, env=env)
            error_answer(a, 403, "forbidden", "no lookup_secret: %s ?%s" % (order, query))
    # A lookup secret in a config file works as well as the environment.
    conf = os.path.join(TMP, "track.conf")
    with open(conf, "w") as f:
        f.write("# test\nlookup_secret = %s\n" % LOOKUP_SECRET)
    a = track(db, "r-split", lookup_key("r-split"),
              env={"SHIPTRACK_LOOKUP_SECRET": None, "SHIPTRACK_CONFIG": conf})
    eq(a.status, 200, "secret from the config file (%s)" % a)


def test_track_cache_control_private_short():
    db = seeded()
    key = lookup_key("r-split")
    answers = {
        "200": track(db, "r-split", key),
        "404": track(db, "r-split", key[::-1]),
        "400": track(db, "r-split"),
        "403": track(db, "r-split", key, env={"SHIPTRACK_LOOKUP_SECRET": None}),
    }
    etag = answers["200"].headers["etag"]
    answers["304"] = track(db, "r-split", key, headers={"If-None-Match": etag})
    for what, a in answers.items():
        cc = a.headers.get("cache-control", "")
        m = re.fullmatch(r"private, max-age=(\d+)", cc)
        check(m is not None, "%s: Cache-Control %r is private with a max-age" % (what, cc))
        n = int(m.group(1))
        check(0 < n <= 300, "%s: max-age %d is short (1..300 s)" % (what, n))
        eq(a.headers.get("x-content-type-options"), "nosniff", what + " nosniff")


def test_track_etag_and_304():
    db = seeded()
    key = lookup_key("r-split")
    a = track(db, "r-split", key)
    etag = a.headers.get("etag", "")
    check(ETAG_RE.match(etag) is not None, "strong ETag %r" % etag)
    eq(track(db, "r-split", key).headers.get("etag"), etag, "same answer, same ETag")
    for inm in (etag, "W/" + etag, '"nope", ' + etag, etag + ', "nope"', "*"):
        b = track(db, "r-split", key, headers={"If-None-Match": inm})
        eq(b.status, 304, "If-None-Match %r (%s)" % (inm, b))
        eq(b.body, b"", "304 has no body")
        eq(b.headers.get("etag"), etag, "304 repeats the ETag")
    for inm in ('"nope"', '"%s"' % ("0" * 32), etag[:-2] + '"', ""):
        b = track(db, "r-split", key, headers={"If-None-Match": inm})
        eq(b.status, 200, "If-None-Match %r does not match (%s)" % (inm, b))
        eq(b.body, a.body, "full body")
    # A 304 is only for the right key: a wrong key with a matching ETag is 404.
    c = track(db, "r-split", key[::-1], headers={"If-None-Match": etag})
    error_answer(c, 404, "not_found", "wrong key with the ETag")
    # New data, new ETag.
    db2 = st.copy_db(db, TMP)
    post_ok(db2, st.tracking("r-split", "1ZSPLIT_THIRD", "UPS", created=z(ago(hours=2))))
    d = track(db2, "r-split", key, headers={"If-None-Match": etag})
    eq(d.status, 200, "changed order: 200 despite the old ETag (%s)" % d)
    check(d.headers.get("etag") not in (None, etag), "changed order: new ETag")


# --- operator routes: auth ----------------------------------------------------

OPERATOR_PATHS = ["/v1/orders", "/v1/stats", "/v1/orders/r-split"]


def test_operator_auth():
    db = seeded()
    for path in OPERATOR_PATHS:
        a = st.api(db, path, auth=None)
        error_answer(a, 401, "unauthorized", path + " without a token")
        check(a.headers.get("www-authenticate", "").startswith("Bearer"),
              "%s: WWW-Authenticate %r" % (path, a.headers.get("www-authenticate")))
        eq(a.headers.get("cache-control"), "no-store", path + " 401 Cache-Control")
        for auth in ("Bearer wrong", "Bearer " + st.API_TOKEN + "x", "Bearer",
                     "Bearer " + st.API_TOKEN[:-1], "Basic " + base64.b64encode(
                         b"op:" + st.API_TOKEN.encode()).decode(),
                     st.API_TOKEN, "Bearer  " + st.API_TOKEN):
            error_answer(st.api(db, path, auth=auth), 401, "unauthorized",
                         "%s with Authorization %r" % (path, auth))
        # No api_token configured: 403, even with a token sent.
        for env in ({"SHIPTRACK_API_TOKEN": None}, {"SHIPTRACK_API_TOKEN": ""}):
            b = st.api(db, path, token=None, auth="Bearer " + st.API_TOKEN, env=env)
            error_answer(b, 403, "forbidden", path + " with no api_token")
            eq(b.headers.get("cache-control"), "no-store", path + " 403 Cache-Control")
        c = st.api(db, path)
        eq(c.status, 200, "%s with the token (%s)" % (path, c))
        eq(c.headers.get("cache-control"), "no-store", path + " 200 Cache-Control")
    # The lookup key is no operator credential.
    a = st.api(db, "/v1/orders", auth=None, query="key=" + lookup_key("r-split"),
               env=TRACK_ENV)
    error_answer(a, 401, "unauthorized", "lookup key on the operator list")


# --- GET /v1/orders -----------------------------------------------------------

def test_orders_list_all_newest_first():
    db = seeded()
    page = list_orders(db)
    eq(list(page.keys()), ["orders", "nextCursor"], "list keys")
    eq(page["nextCursor"], None, "one page")
    got = ids_of(page)
    eq(sorted(got), sorted(EXPECT), "every order once")
    eq(got, newest_first(db, got), "newest first")
    for o in page["orders"]:
        eq(list(o.keys()), SUMMARY_KEYS, "summary keys of %s" % o["id"])
        for s in o["shipments"]:
            eq(list(s.keys()), SUMMARY_SHIPMENT_KEYS + CARRIER_FACT_KEYS,
               "summary shipment keys (no checkpoints)")
        eq((o["status"], o["stage"]), EXPECT[o["id"]][:2], o["id"])
    split = [o for o in page["orders"] if o["id"] == "r-split"][0]
    eq([s["trackingNumber"] for s in split["shipments"]], [SPLIT_A, SPLIT_B],
       "split order lists both shipments")


def test_orders_filter_status():
    db = seeded()
    for status in STATUSES:
        got = ids_of(list_orders(db, "status=" + status))
        want = [i for i, e in EXPECT.items() if e[0] == status]
        eq(sorted(got), sorted(want), "status=" + status)
        eq(got, newest_first(db, got), "status=%s newest first" % status)


def test_orders_filter_stage():
    db = seeded()
    for stage in STAGES:
        got = ids_of(list_orders(db, "stage=" + stage))
        want = [i for i, e in EXPECT.items() if e[1] == stage]
        eq(sorted(got), sorted(want), "stage=" + stage)


def test_orders_filter_stale():
    db = seeded()
    got = ids_of(list_orders(db, "stale=1"))
    want = [i for i, e in EXPECT.items() if e[2]]
    eq(sorted(got), sorted(want), "stale=1")
    eq(got, newest_first(db, got), "stale=1 newest first")
    eq(sorted(ids_of(list_orders(db, "stale=0"))), sorted(EXPECT), "stale=0: no filter")
    eq(sorted(ids_of(list_orders(db, "status=SUCCEEDED&stale=1"))),
       sorted(i for i, e in EXPECT.items() if e[2] and e[0] == "SUCCEEDED"), "status+stale")
    eq(ids_of(list_orders(db, "stage=shipped&stale=1")), ["r-pending-stale"], "stage+stale")
    eq(ids_of(list_orders(db, "stage=shipped&status=FAILED")), [], "no match")
    # The per-shipment flags agree with the filter for orders that have parcels.
    for o in list_orders(db)["orders"]:
        if o["shipments"]:
            eq(any(s["stale"] for s in o["shipments"]), EXPECT[o["id"]][2],
               "%s: shipment stale flags vs the stale filter" % o["id"])


def test_orders_bad_parameters_400():
    db = seeded()
    bad = ["status=shipped", "status=succeeded", "status=SUCCEEDED%20", "status=nope",
           "stage=SHIPPED", "stage=in-transit", "stage=nope",
           "stale=yes", "stale=2", "stale=true", "stale=01",
           "limit=0", "limit=201", "limit=-1", "limit=abc", "limit=1.5", "limit=",
           "limit=1e2", "limit=99999999999999999999", "limit=%2050",
           "cursor=!!!", "cursor=" + "A" * 401,
           "cursor=" + base64.urlsafe_b64encode(b"nodot").decode().rstrip("="),
           "cursor=" + base64.urlsafe_b64encode(b"abc.r-split").decode().rstrip("="),
           "cursor=" + base64.urlsafe_b64encode(b"-5.r-split").decode().rstrip("="),
           "cursor=" + base64.urlsafe_b64encode(b"5.").decode().rstrip("="),
           "cursor=" + base64.urlsafe_b64encode(b"5.a\x00b").decode().rstrip("=")]
    for q in bad:
        a = st.api(db, "/v1/orders", query=q)
        j = error_answer(a, 400, "bad_parameter", "?" + q)
        eq(a.headers.get("cache-control"), "no-store", "?%s Cache-Control" % q)
        name = q.split("=")[0]
        check(j["message"].startswith(name + ":"),
              "?%s: message names the parameter: %r" % (q, j["message"]))
    # Empty filters mean "no filter".
    eq(sorted(ids_of(list_orders(db, "status=&stage=&stale=&cursor="))), sorted(EXPECT),
       "empty filters")


def bulk_orders(db, n, prefix="bulk-"):
    """n orders written directly (the list reads only the orders table)."""
    base = ms(ago(days=1))
    rows = []
    for i in range(n):
        t = base + i * 1000
        iso = datetime.datetime.fromtimestamp(t / 1000, datetime.timezone.utc)
        rows.append(("%s%04d" % (prefix, i), "SUCCEEDED", "placed", "shopify", z(iso), t,
                     z(iso), t))
    # Straight into storage, on purpose: 205 orders through the receiver
    # would take long, and the list is all this feeds.
    st.storage_many(db, "INSERT INTO orders(id, status, stage, marketplace, created_at,"
                    " created_ms, updated_at, updated_ms) VALUES (?,?,?,?,?,?,?,?)", rows)
    return [r[0] for r in reversed(rows)]


def walk(db, query, cursor=None, limit_pages=1000):
    """Follow nextCursor (from cursor); returns the pages' id lists."""
    pages = []
    for _ in range(limit_pages):
        q = query + ("&cursor=" + urllib.parse.quote(cursor, safe="") if cursor else "")
        page = list_orders(db, q.lstrip("&"))
        pages.append(ids_of(page))
        cursor = page["nextCursor"]
        if cursor is None:
            return pages
        check(isinstance(cursor, str) and re.fullmatch(r"[A-Za-z0-9_-]+", cursor),
              "opaque URL-safe cursor %r" % cursor)
    raise AssertionError("cursor walk did not end after %d pages" % limit_pages)


def test_orders_limit_default_50_max_200():
    db = st.fresh_db(TMP)
    want = bulk_orders(db, 205)
    page = list_orders(db)
    eq(len(page["orders"]), 50, "default limit 50")
    check(page["nextCursor"] is not None, "more pages")
    eq(ids_of(page), want[:50], "first page newest first")
    eq([len(p) for p in walk(db, "")], [50, 50, 50, 50, 5], "default-limit pages")
    page = list_orders(db, "limit=200")
    eq(len(page["orders"]), 200, "limit=200")
    eq(ids_of(page), want[:200], "limit=200 order")
    rest = list_orders(db, "limit=200&cursor=" + page["nextCursor"])
    eq((ids_of(rest), rest["nextCursor"]), (want[200:], None), "the last 5, then the end")
    error_answer(st.api(db, "/v1/orders", query="limit=201"), 400, "bad_parameter", "201")
    eq(len(list_orders(db, "limit=1")["orders"]), 1, "limit=1")


def test_orders_cursor_walk():
    db = st.fresh_db(TMP)
    t0 = ago(days=2)
    # Seven orders; ties in createdAt are broken by id, descending.
    plan = [("c-b", 0), ("c-a", 0), ("c-c", 1), ("c-f", 2), ("c-d", 2), ("c-e", 2),
            ("c-g", 3)]
    for oid, minute in plan:
        post_ok(db, st.event("ORDER_PLACED", oid, z(t0 + datetime.timedelta(minutes=minute))))
    post_ok(db, st.event("ORDER_FAILED", "c-d", z(t0 + datetime.timedelta(minutes=30))))
    want = ["c-g", "c-f", "c-e", "c-d", "c-c", "c-b", "c-a"]
    eq(ids_of(list_orders(db)), want, "newest first by createdAt, then id")
    for limit, sizes in ((3, [3, 3, 1]), (1, [1] * 7), (2, [2, 2, 2, 1]), (6, [6, 1]),
                         (7, [7]), (200, [7])):
        pages = walk(db, "limit=%d" % limit)
        eq([len(p) for p in pages], sizes, "limit=%d page sizes" % limit)
        flat = [i for p in pages for i in p]
        eq(flat, want, "limit=%d visits every order exactly once, in order" % limit)
    # With a filter the cursor keeps the filter's order.
    pages = walk(db, "status=SUCCEEDED&limit=3")
    eq([i for p in pages for i in p], [i for i in want if i != "c-d"], "filtered walk")
    # Orders arriving during a walk: nothing repeated, nothing older skipped.
    first = list_orders(db, "limit=3")
    post_ok(db, st.event("ORDER_PLACED", "c-new", z(ago(minutes=1))))
    post_ok(db, st.event("ORDER_PLACED", "c-old", z(t0 - datetime.timedelta(days=1))))
    rest = walk(db, "limit=3", first["nextCursor"])
    eq(ids_of(first) + [i for p in rest for i in p], want + ["c-old"],
       "walk across inserts")
    # The cursor is a position, not an id that must exist.
    cur = base64.urlsafe_b64encode(b"%d.c-dd" % ms(t0 + datetime.timedelta(minutes=2))
                                   ).decode().rstrip("=")
    eq(ids_of(list_orders(db, "cursor=" + cur)), ["c-d", "c-c", "c-b", "c-a", "c-old"],
       "a cursor between two ids")


# --- GET /v1/stats ------------------------------------------------------------

def test_stats():
    db = seeded()
    a = st.api(db, "/v1/stats")
    eq(a.status, 200, "status (%s)" % a)
    j = a.json()
    # The documented keys, in this order; later additions (e.g. notification
    # counts) may sit between them.
    eq([k for k in j if k in STATS_KEYS], STATS_KEYS, "stats keys")
    eq(dict(j["status"]), dict(collections.Counter(e[0] for e in EXPECT.values())),
       "counts by status")
    eq(dict(j["stage"]), dict(collections.Counter(e[1] for e in EXPECT.values())),
       "counts by stage")
    eq(j["stale"], sum(1 for e in EXPECT.values() if e[2]), "stale count")
    eq(j["stale"], len(list_orders(db, "stale=1")["orders"]), "stale count = stale list")
    eq(j["events"], _seeded["events"], "stored events (the duplicate once)")
    eq(j["rejectedDeliveries"], 1, "rejected deliveries")
    eq(j["lastPoll"], None, "no poll run yet")
    check(ETAG_RE.match(a.headers.get("etag", "")) is not None, "ETag")
    # After a poll run: the poll.* facts, prefix dropped; others not shown.
    db2 = st.copy_db(db, TMP)
    for k, v in (("poll.finished_at", z(ago(minutes=7))), ("poll.summary", "3 polled, 1 failed"),
                 ("poll.failed", "1"), ("carrier.list_sync_ms", "12345")):
        # What a poll run leaves, written in storage on purpose.
        st.storage_sql(db2, "INSERT INTO meta(key, value) VALUES (?, ?)", (k, v))
    j2 = st.api(db2, "/v1/stats").json()
    eq(dict(j2["lastPoll"]), {"finished_at": z(ago(minutes=7)),
                              "summary": "3 polled, 1 failed", "failed": "1"}, "lastPoll")
    # An empty database.
    j3 = st.api(st.fresh_db(TMP), "/v1/stats").json()
    eq({k: v for k, v in j3.items() if k in STATS_KEYS},
       {"status": {}, "stage": {}, "stale": 0, "events": 0, "rejectedDeliveries": 0,
        "lastPoll": None}, "empty stats")


# --- ETag / 304 on every route --------------------------------------------------

def test_etag_304_every_route():
    db = seeded()
    routes = [("/v1/health", "", {}), ("/v1/orders", "", {}),
              ("/v1/orders", "stage=shipped&limit=5", {}), ("/v1/stats", "", {}),
              ("/v1/orders/r-split", "", {}),
              ("/v1/track/r-split", "key=" + lookup_key("r-split"), TRACK_ENV)]
    for path, q, env in routes:
        a = st.api(db, path, query=q, env=env)
        eq(a.status, 200, "%s?%s (%s)" % (path, q, a))
        etag = a.headers.get("etag", "")
        check(ETAG_RE.match(etag) is not None, "%s: ETag %r" % (path, etag))
        eq(etag, '"%s"' % hashlib.sha256(a.body).hexdigest()[:32],
           "%s: ETag is a digest of the body" % path)
        b = st.api(db, path, query=q, env=env, headers={"If-None-Match": etag})
        eq((b.status, b.body, b.headers.get("etag")), (304, b"", etag), path + " 304")
        eq(b.headers.get("cache-control"), a.headers.get("cache-control"),
           path + " 304 keeps Cache-Control")
        c = st.api(db, path, query=q, env=env, headers={"If-None-Match": '"x"'})
        eq(c.status, 200, path + " other ETag")
    # Operator routes check the token before any 304.
    d = st.api(db, "/v1/orders", auth=None,
               headers={"If-None-Match": st.api(db, "/v1/orders").headers["etag"]})
    error_answer(d, 401, "unauthorized", "304 needs the token")


# --- CORS ------------------------------------------------------------------------

def cors_answers(db, env):
    key = lookup_key("r-split")
    e = dict(TRACK_ENV)
    e.update(env)
    return {
        "track 200": st.api(db, "/v1/track/r-split", token=None, query="key=" + key, env=e),
        "track 404": st.api(db, "/v1/track/r-split", token=None, query="key=x", env=e),
        "track 400": st.api(db, "/v1/track/r-split", token=None, env=e),
        "orders 200": st.api(db, "/v1/orders", env=e),
        "orders 401": st.api(db, "/v1/orders", auth=None, env=e),
        "orders 400": st.api(db, "/v1/orders", query="limit=0", env=e),
        "stats 200": st.api(db, "/v1/stats", env=e),
        "health 200": st.api(db, "/v1/health", token=None, env=e),
        "405": st.api(db, "/v1/stats", method="POST", env=e),
        "404 route": st.api(db, "/v1/nope", env=e),
    }


def test_cors_only_when_configured():
    db = seeded()
    for what, a in cors_answers(db, {"SHIPTRACK_CORS_ORIGIN": CORS}).items():
        eq(a.headers.get("access-control-allow-origin"), CORS, what + ": allow-origin")
        check("origin" in a.headers.get("vary", "").lower(), what + ": Vary: Origin")
    for env in ({}, {"SHIPTRACK_CORS_ORIGIN": ""}):
        for what, a in cors_answers(db, env).items():
            check(not any(k.startswith("access-control-") for k in a.headers),
                  "%s: no CORS headers when not configured: %r" % (what, a.headers))
    # The origin in a config file works too.
    conf = os.path.join(TMP, "cors.conf")
    with open(conf, "w") as f:
        f.write("cors_origin = %s\n" % CORS)
    a = st.api(db, "/v1/health", token=None, env={"SHIPTRACK_CONFIG": conf})
    eq(a.headers.get("access-control-allow-origin"), CORS, "cors_origin from the file")


def test_cors_preflight():
    """With cors_origin set, OPTIONS on a known route is a preflight (204)
    allowing the bearer token and If-None-Match; without it, 405."""
    db = seeded()
    env = {"SHIPTRACK_CORS_ORIGIN": CORS}
    for path in ALL_ROUTES:
        a = st.api(db, path, method="OPTIONS", auth=None, env=env,
                   headers={"Origin": CORS, "Access-Control-Request-Method": "GET",
                            "Access-Control-Request-Headers": "authorization"})
        eq(a.status, 204, "preflight %s" % path)
        eq(a.body, b"", "preflight %s has no body" % path)
        eq(a.headers.get("access-control-allow-origin"), CORS, "preflight %s origin" % path)
        check("GET" in a.headers.get("access-control-allow-methods", ""),
              "preflight %s allows GET" % path)
        allowed = a.headers.get("access-control-allow-headers", "").lower()
        check("authorization" in allowed and "if-none-match" in allowed,
              "preflight %s allows Authorization and If-None-Match: %r" % (path, allowed))
    a = st.api(db, "/v1/health", token=None, env=env)
    check("etag" in a.headers.get("access-control-expose-headers", "").lower(),
          "ETag is exposed to cross-origin scripts")
    a = st.api(db, "/v1/nope", method="OPTIONS", auth=None, env=env)
    eq(a.status, 404, "no preflight for an unknown route")


# The longest cors_origin conf.c accepts (256 bytes) and one byte more.
LONGEST_ORIGIN = "https://" + "o" * (256 - len("https://.example")) + ".example"


def test_long_cors_origin_refused_at_start_up():
    """Once, a ~860-byte origin overflowed the header buffer: the answer lost
    its blank line.  Now an origin over 256 bytes (or not an origin) is a
    configuration error: the API answers well-formed errors without CORS
    headers, and its log says which key is wrong."""
    db = seeded()
    for origin in ("https://" + "o" * 900 + ".example", LONGEST_ORIGIN + "o",
                   "https://shop.example/", "https://shop.example https://b.example"):
        for path, token in (("/v1/health", None), ("/v1/orders", st.API_TOKEN)):
            a = st.api(db, path, token=token, env={"SHIPTRACK_CORS_ORIGIN": origin})
            check(a.status in (403, 503), "%s with a bad origin: %s" % (path, a))
            check(a.json()["ok"] is False, "an error answer")
            check(not any(k.startswith("access-control-") for k in a.headers),
                  "no CORS headers from a refused origin: %r" % a.headers)
            check(b"cors_origin" in a.stderr and b"SHIPTRACK_CORS_ORIGIN" in a.stderr,
                  "the log names the key: %r" % a.stderr)


def test_largest_legal_header_set_is_well_formed():
    """The longest origin with every route's further headers (ETag,
    preflight, WWW-Authenticate, Retry-After, Allow): each answer is
    well-formed (st.cgi parses it: headers, blank line, Content-Length
    bytes) and carries them all."""
    db = seeded()
    env = {"SHIPTRACK_CORS_ORIGIN": LONGEST_ORIGIN}
    env.update(TRACK_ENV)
    key = lookup_key("r-split")
    answers = {
        "track 200": (st.api(db, "/v1/track/r-split", token=None, query="key=" + key,
                             env=env), ["etag", "cache-control"]),
        "preflight": (st.api(db, "/v1/orders/r-split", method="OPTIONS", auth=None, env=env,
                             headers={"Origin": LONGEST_ORIGIN,
                                      "Access-Control-Request-Method": "GET"}),
                      ["access-control-allow-methods", "access-control-allow-headers",
                       "access-control-max-age"]),
        "401": (st.api(db, "/v1/orders", auth="Bearer wrong", env=env), ["www-authenticate"]),
        "503": (st.api(os.path.join(TMP, "missing", "x.db"), "/v1/orders/r-split",
                       env=env), ["retry-after"]),
        "405": (st.api(db, "/v1/stats", method="POST", env=env), ["allow"]),
    }
    for what, (a, more) in answers.items():
        eq(a.headers.get("access-control-allow-origin"), LONGEST_ORIGIN, what + ": origin")
        for h in ["x-content-type-options", "vary", "access-control-expose-headers"] + more:
            check(h in a.headers, "%s: %s missing: %r" % (what, h, a.headers))
        check(a.raw.count(b"\r\n\r\n") >= 1 and b"\r\n\r\n" in a.raw[:1500],
              what + ": headers end with a blank line")


# --- methods, routes, HEAD ---------------------------------------------------------

ALL_ROUTES = ["/v1/health", "/v1/track/r-split", "/v1/orders", "/v1/orders/r-split",
              "/v1/stats"]


def test_wrong_method_405_with_allow():
    db = seeded()
    for path in ALL_ROUTES:
        for method in ("POST", "PUT", "DELETE", "PATCH", "OPTIONS"):
            a = st.api(db, path, method=method, auth=None)
            error_answer(a, 405, "method_not_allowed", "%s %s" % (method, path))
            allow = [m.strip() for m in a.headers.get("allow", "").split(",")]
            check("GET" in allow, "%s %s: Allow %r names GET" %
                  (method, path, a.headers.get("allow")))


def test_unknown_route_404():
    db = seeded()
    for path in ("", "/", "/v1", "/v1/", "/v2/health", "/v1/nope", "/v1/health/x",
                 "/v1/track", "/v1/track/", "/v1/track/r-split/x", "/v1/orders/r-split/x",
                 "/v1/stats/x", "/V1/health", "/v1/HEALTH", "/api/v1/health",
                 "/v1/orders/" + "x" * 300, "/a/b/c/d/e/f/g"):
        a = st.api(db, path)
        error_answer(a, 404, "not_found", "path %r" % path)
    error_answer(st.api(db, "/v1/nope", method="POST"), 404, "not_found", "POST unknown")


def test_head_like_get():
    db = seeded()
    key = lookup_key("r-split")
    for path, q, env in (("/v1/health", "", {}), ("/v1/orders", "", {}),
                         ("/v1/stats", "", {}), ("/v1/orders/r-split", "", {}),
                         ("/v1/track/r-split", "key=" + key, TRACK_ENV),
                         ("/v1/track/r-split", "key=x", TRACK_ENV)):
        g = st.api(db, path, query=q, env=env)
        h = st.api(db, path, query=q, env=env, method="HEAD")
        eq(h.status, g.status, "HEAD %s status" % path)
        for k in ("content-type", "content-length", "etag", "cache-control"):
            eq(h.headers.get(k), g.headers.get(k), "HEAD %s %s" % (path, k))
        # RFC 3875 4.3.2: a script must not send a body for HEAD.
        eq(h.body, b"", "HEAD %s has no body" % path)
    h = st.api(db, "/v1/orders", method="HEAD", auth=None)
    eq(h.status, 401, "HEAD needs the token")
    eq(h.body, b"", "a HEAD error has no body either")


# --- query-string bounds -----------------------------------------------------------

def query_of_length(n, pairs=16):
    """A query string of exactly n bytes with `pairs` distinct parameters."""
    keys = ["p%02d" % i for i in range(pairs)]
    fixed = sum(len(k) + 1 for k in keys) + (pairs - 1)
    room = n - fixed
    vals = [room // pairs + (1 if i < room % pairs else 0) for i in range(pairs)]
    q = "&".join("%s=%s" % (k, "v" * v) for k, v in zip(keys, vals))
    assert len(q) == n
    return q


def test_query_string_bounds():
    db = seeded()
    key = lookup_key("r-split")
    targets = [("/v1/orders", "", {}), ("/v1/track/r-split", "key=" + key + "&", TRACK_ENV)]
    for path, prefix, env in targets:
        ok = st.api(db, path, env=env, query=prefix + "&".join("x%d=1" % i for i in range(15)))
        eq(ok.status, 200, "%s with 16 parameters (%s)" % (path, ok))
        for q, what in ((prefix + "&".join("x%d=1" % i for i in range(17)), "17 parameters"),
                        (prefix + "a=" + "b" * 5000, "5000-byte query"),
                        (prefix + "a=" + "b" * 513, "513-byte value"),
                        (prefix + "k" * 33 + "=1", "33-byte name"),
                        (prefix + "a=%zz", "bad percent escape"),
                        (prefix + "a=%0", "short percent escape"),
                        (prefix + "a=%00", "NUL"),
                        (prefix + "a=%0a", "control character"),
                        (prefix + "a=1&a=2", "repeated parameter")):
            a = st.api(db, path, env=env, query=q)
            error_answer(a, 400, "bad_parameter", "%s: %s" % (path, what))
    # Exactly at the 4096-byte bound is fine; one more byte is not.
    eq(st.api(db, "/v1/orders", query=query_of_length(4096)).status, 200, "4096 bytes")
    error_answer(st.api(db, "/v1/orders", query=query_of_length(4097)), 400,
                 "bad_parameter", "4097 bytes")
    # Percent-encoding is decoded before checking: an encoded status works.
    eq(sorted(ids_of(list_orders(db, "status=%53UCCEEDED&stage=in%5Ftransit"))),
       ["r-transit-stale"], "percent-encoded filters")


# --- read-only -------------------------------------------------------------------

def test_api_never_modifies_the_database():
    db = st.copy_db(seeded(), TMP)
    shown = st.snapshot(db)
    before = file_state(db)
    key = lookup_key("r-split")
    calls = [("/v1/health", "", {}, "GET"), ("/v1/orders", "", {}, "GET"),
             ("/v1/orders", "stale=1&limit=2", {}, "GET"), ("/v1/stats", "", {}, "GET"),
             ("/v1/orders/r-split", "", {}, "GET"), ("/v1/orders/none", "", {}, "GET"),
             ("/v1/track/r-split", "key=" + key, TRACK_ENV, "GET"),
             ("/v1/track/r-split", "key=bad", TRACK_ENV, "GET"),
             ("/v1/track/r-split", "key=" + key, TRACK_ENV, "HEAD"),
             ("/v1/orders", "", {}, "POST"), ("/v1/orders", "limit=0", {}, "GET"),
             ("/v1/nope", "", {}, "DELETE")]
    for path, q, env, method in calls:
        a = st.api(db, path, query=q, env=env, method=method)
        check(a.status < 500, "%s %s: %s" % (method, path, a))
    after = file_state(db)
    eq(after[0], before[0], "database file bytes unchanged")
    eq(after[1], before[1], "database file mtime unchanged")
    eq(after[2], 0, "nothing written to the WAL")
    check(st.snapshot(db) == shown, "everything the programs show unchanged")


# --- shiptrack link ------------------------------------------------------------------

def test_cli_link_key_opens_the_order():
    db = seeded()
    special = "ord 1+é&x=y"   # space, plus, non-ASCII, '&' and '=': all encoded
    db2 = st.copy_db(db, TMP)
    post_ok(db2, st.event("ORDER_PLACED", special, z(ago(hours=3))))
    env = {"SHIPTRACK_LOOKUP_SECRET": LOOKUP_SECRET}
    for order, base, prefix in (
            ("r-split", "http://shop.example/track/", "http://shop.example/track/?order="),
            ("r-split", "http://shop.example/track", "http://shop.example/track/?order="),
            ("r-split", "https://shop.example/index.html",
             "https://shop.example/index.html?order="),
            (special, "http://127.0.0.1:8080/", "http://127.0.0.1:8080/?order=")):
        p = st.run_cli(["link", order, "--base-url", base], db=db2, env=env)
        eq(p.returncode, 0, "link %r: %s" % (order, p.stderr))
        lines = p.stdout.splitlines()
        eq(len(lines), 1, "one line")
        url = lines[0]
        check(url.startswith(prefix), "link %r starts with %r" % (url, prefix))
        check(LOOKUP_SECRET not in url, "no secret in the link")
        qs = urllib.parse.parse_qs(urllib.parse.urlsplit(url).query, strict_parsing=True)
        eq(qs.get("order"), [order], "order id round-trips through the URL")
        eq(qs.get("key"), [lookup_key(order)], "link key = the key computed here")
        a = track(db2, order, query=urllib.parse.urlsplit(url).query)
        eq(a.status, 200, "the link opens the order (%s)" % a)
        eq(a.json()["id"], order, "the right order")
    # --base-url=URL form; no secret: a usage error that names the setting.
    p = st.run_cli(["link", "r-split", "--base-url=http://h/"], db=db2, env=env)
    eq(p.stdout.strip(), "http://h/?order=r-split&key=" + lookup_key("r-split"), "--base-url=")
    p = st.run_cli(["link", "r-split", "--base-url", "http://h/"], db=db2)
    check(p.returncode != 0 and "lookup_secret" in p.stderr,
          "no secret: %d %r" % (p.returncode, p.stderr))
    eq(p.stdout, "", "no link without a secret")


# --- order ids in one path segment -------------------------------------------------------
#
# An order id may hold any character ingest accepts ('/', '%', blanks...).
# The API takes it from one path segment, percent-decoded once.  A web server
# hands a CGI program PATH_INFO already decoded (lighttpd, nginx and Apache's
# "AllowEncodedSlashes On" decode %2F too; "NoDecode" decodes all but %2F)
# and REQUEST_URI as the client sent it: these tests pass both, as those
# servers do (tests/unit/test_urlpath.c has the pairs each was seen to send).

ODD_IDS = ["r/slash", "r/../slash", "50%", "r%2Fenc", "r space", "r&amp#frag?q=1+x",
           "ü/ñ é"]


def encode_component(s):
    """JavaScript's encodeURIComponent, which the page calls."""
    return urllib.parse.quote(s, safe="-_.!~*'()")


def served(db, raw, style="decoded", query="", **kw):
    """api.fcgi for a request to /api + raw, with the variables a web server
    sets: REQUEST_URI as sent, PATH_INFO decoded in the server's way."""
    if style == "decoded":
        path_info = urllib.parse.unquote(raw, errors="surrogateescape")
    else:       # Apache, AllowEncodedSlashes NoDecode
        path_info = "%2F".join(urllib.parse.unquote(p) for p in re.split("%2[Ff]", raw))
    env = dict(TRACK_ENV)
    env.update(kw.pop("env", {}))
    env["REQUEST_URI"] = "/api" + raw + ("?" + query if query else "")
    return st.api(db, path_info, env=env, query=query, **kw)


def odd_db():
    db = st.fresh_db(TMP)
    for i, order in enumerate(ODD_IDS):
        post_ok(db, st.event("ORDER_PLACED", order, z(ago(hours=i + 1))))
    return db


def test_order_id_from_one_encoded_segment():
    db = odd_db()
    for order in ODD_IDS:
        seg = encode_component(order)
        for style in ("decoded", "nodecode"):
            what = "%r (%s, %s)" % (order, seg, style)
            a = served(db, "/v1/orders/" + seg, style)
            eq((a.status, a.json().get("id")), (200, order), "operator view of " + what)
            a = served(db, "/v1/track/" + seg, style, token=None,
                       query="key=" + lookup_key(order))
            eq((a.status, a.json().get("id")), (200, order), "shopper view of " + what)
            a = served(db, "/v1/orders/%s/contact" % seg, style, method="PUT",
                       body='{"email":"shopper@example.com"}')
            eq(a.status, 204, "contact of %s: %s" % (what, a))
    eq([(st.operator_view(db, i)["contact"] or {}).get("email") for i in ODD_IDS],
       ["shopper@example.com"] * len(ODD_IDS), "each contact stored under its order id")


def test_order_id_with_a_raw_slash_is_not_found():
    db = odd_db()
    for raw in ("/v1/orders/r/slash", "/v1/track/r/slash"):
        a = served(db, raw, token=st.API_TOKEN, query="key=" + lookup_key("r/slash"))
        error_answer(a, 404, "not_found", raw)
    # nginx decodes %2F, then resolves "r/../slash" to "slash": never order
    # "slash"; order "r/../slash" when SCRIPT_NAME tells where the route starts.
    post_ok(db, st.event("ORDER_PLACED", "slash", z(ago(hours=1))))
    env = {"REQUEST_URI": "/api/v1/orders/r%2F..%2Fslash"}
    a = st.api(db, "/v1/orders/slash", env=env)
    error_answer(a, 404, "not_found", "an encoded slash the server resolved")
    env["SCRIPT_NAME"] = "/api"
    a = st.api(db, "/v1/orders/slash", env=env)
    eq((a.status, a.json().get("id")), (200, "r/../slash"), "routed from the raw path")


def test_bad_order_id_segments_400():
    db = odd_db()
    for raw, what in (("/v1/orders/r%zz", "malformed escape"),
                      ("/v1/orders/r%2", "cut escape"),
                      ("/v1/orders/r%0Ax", "encoded newline"),
                      ("/v1/orders/r%7F", "encoded DEL"),
                      ("/v1/track/r%1B", "encoded ESC"),
                      ("/v1/orders/" + "x" * 201, "201 bytes"),
                      ("/v1/orders/" + "%C3%BC" * 100 + "x", "201 bytes, encoded")):
        a = served(db, raw, query="key=x")
        error_answer(a, 400, "bad_parameter", what)
    for raw in ("/v1/orders/" + "x" * 200, "/v1/orders/" + "%78" * 200):
        error_answer(served(db, raw), 404, "not_found", "200 bytes: a valid, unknown id")


def test_cli_link_round_trips_odd_ids_through_the_page_call():
    """shiptrack link's URL -> the page's order parameter (URLSearchParams
    decodes it) -> /api/v1/track/ + encodeURIComponent(order) -> the order."""
    db = odd_db()
    for order in ODD_IDS:
        p = st.run_cli(["link", order, "--base-url", "https://shop.example/"], db=db,
                       env=TRACK_ENV)
        eq(p.returncode, 0, "link %r: %s" % (order, p.stderr))
        url = p.stdout.strip()
        parts = urllib.parse.urlsplit(url)
        check(parts.path == "/" and parts.fragment == "", "%r: the id stays in the query: %r"
              % (order, url))
        check(re.fullmatch(r"order=[A-Za-z0-9._~%-]+&key=[A-Za-z0-9_-]{22}", parts.query),
              "%r: every reserved character encoded: %r" % (order, url))
        qs = urllib.parse.parse_qs(parts.query, strict_parsing=True)
        eq(qs["order"], [order], "the order parameter decodes back to the id")
        a = served(db, "/v1/track/" + encode_component(qs["order"][0]), token=None,
                   query="key=" + qs["key"][0])
        eq((a.status, a.json().get("id")), (200, order), "the page's call for %r" % order)


# --- shiptrack export --csv ------------------------------------------------------------

EXPORT_HEADER = ["order_id", "status", "stage", "marketplace", "created_at", "updated_at",
                 "tracking_number", "carrier", "tracking_url", "tag", "subtag",
                 "expected_delivery", "delivered_at", "last_checkpoint_at", "checked_at"]


def test_cli_export_csv():
    db = st.fresh_db(TMP)
    nasty_carrier = 'Speedy "Fast", Inc.'
    post_ok(db, st.tracking("x-split", "1ZX0001", nasty_carrier,
                            "https://t.example/track?a=1,2&b=\"3\"", created=z(ago(days=2))))
    post_ok(db, st.tracking("x-split", "=HYPERLINK(\"http://evil.example\",\"x\")",
                            "@SUM(A1:A2)", created=z(ago(days=2, hours=-1))))
    set_carrier(db, "x-split", "1ZX0001", tag="InTransit", subtag="line one\nline two\r\nthree",
                last_checkpoint_at="2025-05-06T10:00:00+01:00")
    set_carrier(db, "x-split", "=HYPERLINK(\"http://evil.example\",\"x\")",
                subtag="+1 555 0100", tag="Pending")
    # The latest event naming a marketplace gives the order's.
    post_ok(db, st.event("ORDER_PLACED", "x-split", z(ago(hours=1)),
                         data={"marketplace": "-2+3,amazon"}))
    post_ok(db, st.event("ORDER_PLACED", "x-none", z(ago(days=1))))
    post_ok(db, st.tracking("x-one", "1ZX0003", "UPS", created=z(ago(hours=5))))

    p = subprocess.run([st.CLI, "export", "--csv"], capture_output=True, timeout=60,
                       env=st.base_env({"SHIPTRACK_DATABASE": db}))
    eq(p.returncode, 0, "export exit (%r)" % p.stderr)
    text = p.stdout.decode("utf-8")
    check(text.endswith("\r\n"), "CRLF line ends")
    rows = list(csv.reader(io.StringIO(text, newline=""), strict=True))
    eq(rows[0], EXPORT_HEADER, "header")
    body = rows[1:]
    for r in body:
        eq(len(r), len(EXPORT_HEADER), "columns in %r" % (r,))
    eq(collections.Counter(r[0] for r in body), {"x-split": 2, "x-none": 1, "x-one": 1},
       "one row per shipment; an order without shipments has one row")
    none = [r for r in body if r[0] == "x-none"][0]
    eq(none[6:], [""] * 9, "no shipment: empty shipment columns")
    split = [r for r in body if r[0] == "x-split"]
    first, second = split
    eq(first[6], "1ZX0001", "shipments in order")
    eq(first[7], nasty_carrier, "comma and quotes round-trip")
    eq(first[8], "https://t.example/track?a=1,2&b=\"3\"", "URL with comma and quotes")
    eq(first[10], "line one\nline two\r\nthree", "newlines inside a value round-trip")
    eq(first[3], "'-2+3,amazon", "marketplace starting with '-' defused")
    eq(second[6], "'=HYPERLINK(\"http://evil.example\",\"x\")", "formula defused")
    eq(second[7], "'@SUM(A1:A2)", "'@' defused")
    eq(second[10], "'+1 555 0100", "'+' defused")
    for r in body:
        for cell in r:
            check(cell == "" or cell[0] not in "=+-@",
                  "no cell starts like a formula: %r" % cell)
    # Values equal the API's (apart from defusing).
    v = st.api(db, "/v1/orders/x-split").json()
    eq((first[1], first[2], first[4], first[5]),
       (v["status"], v["stage"], v["createdAt"], v["updatedAt"]), "order columns = API")
    eq(first[13], "2025-05-06T10:00:00+01:00", "carrier time as stored")
    # Orders newest first, like the API list.
    order_ids = []
    for r in body:
        if r[0] not in order_ids:
            order_ids.append(r[0])
    eq(order_ids, ids_of(list_orders(db)), "export order = list order")
    p = st.run_cli(["export"], db=db)
    check(p.returncode != 0 and p.stdout == "", "export without --csv is a usage error")


if __name__ == "__main__":
    st.run()
