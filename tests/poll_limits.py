#!/usr/bin/env python3
"""At its default settings the poller causes no 429 itself.

The stand-in enforces AfterShip's per-endpoint limits in fixed one-second
windows (POST /trackings 20/s, GET /trackings 6/s, GET /trackings/{id} 5/s;
/v4: 10/s for the whole account).  A run that registers, lists several
pages and reconciles by id at once must stay inside every window.
"""

import collections
import datetime
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import shiptrack_test as st  # noqa: E402
import poll_test as pt  # noqa: E402

stub = pt.Stub()
LIMITS = {"create": 20, "list": 6, "get": 5, "v4": 10}


def registered_fleet(db, n, prefix, updated_at):
    """n shipments already registered with AfterShip (seeded in the stand-in,
    and linked in storage, on purpose: as an earlier run would have)."""
    numbers = ["%s%08d" % (prefix, i) for i in range(n)]
    seeded = stub.seed([{"tracking_number": x, "slug": "ups", "updated_at": updated_at}
                        for x in numbers])["trackings"]
    pt.bulk_orders(db, [("ord_%s" % x, x, "UPS") for x in numbers])
    for t in seeded:
        st.storage_sql(db, "UPDATE shipments SET carrier_id = ?, carrier_slug = 'ups',"
                       " carrier_updated_ms = 0 WHERE tracking_number = ?",
                       (t["id"], t["tracking_number"]))
    return numbers


def per_window(log):
    """{(bucket, second): requests} as the stand-in counted them."""
    c = collections.Counter()
    for r in log:
        sec = int(datetime.datetime.fromisoformat(r["time"]).timestamp())
        c[(r["bucket"], sec)] += 1
    return c


def check_windows(log, what):
    st.eq([r for r in log if r["status"] == 429], [], what + ": no 429")
    for (bucket, sec), n in per_window(log).items():
        st.check(n <= LIMITS[bucket], "%s: %d %s requests in second %d" %
                 (what, n, bucket, sec))


def test_no_self_caused_429_dated():
    stub.reset()
    db = st.fresh_db()
    old = int(time.time()) - 7200
    # 30 registered and due for reconciliation, unchanged (the list skips them);
    # 40 new ones to register; 900 trackings of other shops changed just now
    # (five list pages).
    due = registered_fleet(db, 30, "1ZDUE", old)
    pt.make_due(db)
    pt.set_list_cursor(db, int(time.time() * 1000))
    stub.seed([], generate={"count": 900, "prefix": "1ZOTHER", "slug": "ups"}, quiet=True)
    pt.bulk_orders(db, [("ord_new_%d" % i, "1ZNEW%08d" % i, "UPS") for i in range(40)])
    stub.clear_log()
    t0 = time.monotonic()
    p = pt.poll(db, stub)
    wall = time.monotonic() - t0
    pt.expect_exit(p, 0)
    st.check("40 registered" in pt.summary(p) and "30 reconciled" in pt.summary(p),
             pt.summary(p))
    log = stub.api_log()
    st.eq(collections.Counter(r["bucket"] for r in log),
          collections.Counter({"create": 40, "list": 5, "get": 30}), "requests by endpoint")
    check_windows(log, "dated")
    # Bound: the lists, then the GETs at 5/s; creates run beside them.
    st.check(wall < (5 / 6 + 30 / 5) / 0.9 + 5, "wall time %.1f s" % wall)
    st.eq(len(due), 30, "fleet")


def test_no_self_caused_429_v4():
    stub.reset()
    db = st.fresh_db()
    registered_fleet(db, 15, "1ZV4DUE", int(time.time()) - 7200)
    pt.make_due(db)
    pt.set_list_cursor(db, int(time.time() * 1000))
    pt.bulk_orders(db, [("ord_v4_%d" % i, "1ZV4NEW%08d" % i, "UPS") for i in range(25)])
    stub.clear_log()
    p = pt.poll(db, stub, version="v4")
    pt.expect_exit(p, 0)
    st.check("25 registered" in pt.summary(p) and "15 reconciled" in pt.summary(p),
             pt.summary(p))
    log = stub.api_log()
    st.eq(len(log), 25 + 15 + 1, "requests")
    st.check(all(r["bucket"] == "v4" for r in log), "one bucket for the account")
    check_windows(log, "v4")


def test_429_from_another_client_is_absorbed():
    """Another client of the same account uses up the GET window now and
    then: the poller waits for the reset and every shipment still gets done."""
    import threading
    import urllib.request
    stub.reset()
    db = st.fresh_db()
    registered_fleet(db, 12, "1ZSHARE", int(time.time()) - 7200)
    pt.make_due(db)
    pt.set_list_cursor(db, int(time.time() * 1000))
    stop = threading.Event()

    def neighbour():
        url = stub.base() + "/trackings/0123456789abcdef0123456789abcdef"
        while not stop.is_set():
            for _ in range(2):
                try:
                    urllib.request.urlopen(urllib.request.Request(
                        url, headers={"as-api-key": pt.KEY}), timeout=5)
                except Exception:
                    pass
            stop.wait(0.9)

    t = threading.Thread(target=neighbour, daemon=True)
    t.start()
    try:
        p = pt.poll(db, stub)
    finally:
        stop.set()
        t.join(5)
    pt.expect_exit(p, 0)
    st.check("12 reconciled" in pt.summary(p), pt.summary(p))


st.run()
