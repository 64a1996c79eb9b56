#!/usr/bin/env python3
"""The shopper view's cache in a long-lived api.fcgi (cgi/lib/viewcache.c).

api.fcgi keeps each rendered shopper view and reuses it while SQLite's
data_version is unchanged.  The promise: a view read after any commit by
any other connection shows that commit, whatever wrote it -- a webhook, a
poller-style update of a shipment, a checkpoint, an order deleted by
hand -- and a view that is reused is byte for byte the one rendered
fresh (the same answer as with view_cache = 0).  Speaks FastCGI itself
(tests/fcgi_client.py) to one api.fcgi process for the whole test.
"""
import base64
import hashlib
import hmac
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import shiptrack_test as st  # noqa: E402
import fcgi_client as fc  # noqa: E402
from shiptrack_test import check, eq  # noqa: E402

TMP = st.tempdir("shiptrack-viewcache-")
DB = st.fresh_db(TMP)
LOOKUP = "lookup-secret-cache-test"
ORDER = "ord_cache_1"
state = {}


def key_of(order):
    mac = hmac.new(LOOKUP.encode(), order.encode(), hashlib.sha256).digest()[:16]
    return base64.urlsafe_b64encode(mac).decode().rstrip("=")


def get(receiver, order=ORDER, key=None, extra=None):
    """(status, headers dict, body bytes) of GET /v1/track/order."""
    q = "key=" + (key or key_of(order))
    params = {"REQUEST_METHOD": "GET", "PATH_INFO": "/v1/track/" + order,
              "QUERY_STRING": q, "SCRIPT_NAME": "/api"}
    params.update(extra or {})
    c = receiver.begin(params)
    try:
        c.sendall(fc.stdin(b""))
        out = fc.Reader(c).wait(10)
    finally:
        c.close()
    check(out is not None, "an answer")
    head, _, body = out.partition(b"\r\n\r\n")
    lines = head.decode().split("\r\n")
    headers = dict(l.split(": ", 1) for l in lines)
    return int(headers["Status"].split()[0]), headers, body


def start(cache):
    env = st.base_env({"SHIPTRACK_DATABASE": DB, "SHIPTRACK_LOOKUP_SECRET": LOOKUP,
                       "SHIPTRACK_VIEW_CACHE": str(cache)})
    sub = os.path.join(TMP, "c%d" % cache)
    os.makedirs(sub, exist_ok=True)
    return fc.Receiver(st.API, env, sub)


def post(body):
    a = st.post(DB, body)
    eq(a.status, 200, "webhook: %s" % a)


def both():
    """The cached process's answer, checked against an uncached one."""
    s, h, b = get(state["cached"])
    s0, h0, b0 = get(state["plain"])
    eq((s, b), (s0, b0), "cached and uncached answers")
    if s == 200:
        eq(h["ETag"], h0["ETag"], "ETag")
    return s, h, b


def test_start():
    post(st.event("ORDER_PLACED", ORDER, st.iso(0), "evt_c1"))
    state["cached"] = start(128)
    state["plain"] = start(0)
    s, _, b = both()
    eq(s, 200, "first view")
    eq(json.loads(b)["stage"], "placed", "stage")


def test_repeated_reads_are_identical():
    s1, h1, b1 = both()
    for _ in range(50):
        s, h, b = get(state["cached"])
        eq((s, h["ETag"], b), (s1, h1["ETag"], b1), "repeat")


def test_if_none_match_from_the_cache():
    _, h, _ = both()
    s, h2, b = get(state["cached"], extra={"HTTP_IF_NONE_MATCH": h["ETag"]})
    eq((s, b), (304, b""), "304 with the kept ETag")
    eq(h2["ETag"], h["ETag"], "ETag on the 304")


def test_a_webhook_shows_at_once():
    both()
    post(st.tracking(ORDER, "1ZCACHE0001", "UPS", "https://ups.example/1ZCACHE0001",
                     st.iso(5), "evt_c2"))
    _, _, b = both()
    v = json.loads(b)
    eq([s["trackingNumber"] for s in v["shipments"]], ["1ZCACHE0001"], "shipment")
    eq(v["stage"], "shipped", "stage after tracking")


# The next three change the database behind the programs' back, on purpose
# (st.storage_sql): the cache must see any writer's change, not only the
# programs' own.

def test_a_direct_shipment_update_shows_at_once():
    both()
    st.storage_sql(DB, "UPDATE shipments SET tag = 'InTransit', expected_delivery = '2025-03-09'"
                   " WHERE tracking_number = '1ZCACHE0001'")
    _, _, b = both()
    s = json.loads(b)["shipments"][0]
    eq((s["tag"], s["expectedDelivery"]), ("InTransit", "2025-03-09"), "poller-style update")


def test_a_new_checkpoint_shows_at_once():
    both()
    st.storage_sql(DB, "INSERT INTO checkpoints(shipment_id, time_raw, time_ms, tag, message)"
                   " SELECT id, '2025-03-02T10:00:00Z', 0, 'InTransit', 'Departed facility'"
                   " FROM shipments WHERE tracking_number = '1ZCACHE0001'")
    _, _, b = both()
    cps = json.loads(b)["shipments"][0]["checkpoints"]
    eq([c["message"] for c in cps], ["Departed facility"], "checkpoints")


def test_an_order_removed_by_hand_is_gone_at_once():
    both()
    st.storage_sql(DB, "DELETE FROM orders WHERE id = ?", (ORDER,))
    s, _, b = both()
    eq(s, 404, "view of a removed order: %r" % b)


def test_a_wrong_key_is_never_served_from_the_cache():
    post(st.event("ORDER_PLACED", "ord_cache_2", st.iso(0), "evt_c3"))
    eq(get(state["cached"], "ord_cache_2")[0], 200, "right key")
    s, _, b = get(state["cached"], "ord_cache_2", key=key_of("ord_cache_x"))
    eq(s, 404, "wrong key after a cached view: %r" % b)


def test_many_orders_through_one_small_cache():
    for i in range(20):
        post(st.event("ORDER_PLACED", "ord_many_%d" % i, st.iso(i), "evt_many_%d" % i))
    for rnd in range(3):
        for i in range(20):
            s, _, b = get(state["cached"], "ord_many_%d" % i)
            eq(s, 200, "status")
            eq(json.loads(b)["id"], "ord_many_%d" % i, "the right order's view")


def test_stop():
    state["cached"].stop()
    state["plain"].stop()


if __name__ == "__main__":
    st.run()
