#!/usr/bin/env python3
"""Build a shiptrack database with N realistic orders, fast, for read benchmarks.

The schema comes from the real program (`shiptrack migrate`); the rows are
written by SQLite itself (recursive CTEs, one big transaction per table, no
journal while loading), so a million orders take about a minute:

  orders      N, statuses and stages spread as in a live shop
  events      2 per order (ORDER_PLACED ~0.7 KB, TRACKING_OBTAINED ~0.9 KB raw bodies)
  shipments   1 per order, 2 for every 10th, none for every 10th (still processing)
  checkpoints 0-8 per shipment

plus the benchmark's target order TARGET: 2 shipments x 20 checkpoints, in
transit.  The database is left in WAL mode, as the programs expect.

usage: gen-db.py --shiptrack BIN --out DB --orders N [--target ID]
"""
import argparse
import os
import sqlite3
import subprocess
import sys
import time

BASE_MS = 1735689600000          # 2025-01-01T00:00:00Z
STEP_MS = 17_000                 # one order every 17 s


def iso(col_ms):
    """SQL expression: ISO-8601 UTC with milliseconds, as timefmt writes it."""
    return ("strftime('%%Y-%%m-%%dT%%H:%%M:%%fZ', (%s) / 1000.0, 'unixepoch')" % col_ms)


def iso_py(ms):
    """The same in Python."""
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ms // 1000)) + ".%03dZ" % (ms % 1000)


def key(col_ms, col_id):
    """SQL expression: store_event_key(): zero-padded ms, '|', event id."""
    return "printf('%%015d|%%s', %s, %s)" % (col_ms, col_id)


LINE_ITEMS = ('"lineItems":[{"productId":"prod_7f3a9c","variantId":"var_19d2","title":'
              '"Merino crew sweater","quantity":1,"price":{"amount":8900,"currency":"USD"}},'
              '{"productId":"prod_0b61e4","variantId":"var_77aa","title":"Wool socks, 3-pack",'
              '"quantity":2,"price":{"amount":1900,"currency":"USD"}}],'
              '"shippingAddress":{"city":"Portland","province":"OR","country":"US","zip":"97205"}')


def build(db, n, target):
    con = sqlite3.connect(db, isolation_level=None)
    con.execute("PRAGMA journal_mode = OFF")
    con.execute("PRAGMA synchronous = OFF")
    con.execute("PRAGMA cache_size = -262144")
    con.execute("PRAGMA temp_store = MEMORY")
    cte = "WITH RECURSIVE c(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM c WHERE i + 1 < %d) " % n
    ms = "(%d + i * %d)" % (BASE_MS, STEP_MS)
    oid = "printf('ord_gen_%08d', i)"
    t0 = time.monotonic()

    def step(what, sql):
        con.execute("BEGIN")
        con.execute(sql)
        con.execute("COMMIT")
        print("gen-db: %-12s %6.1f s" % (what, time.monotonic() - t0), file=sys.stderr)

    # Status and stage: mostly delivered, some moving, a few failed/cancelled.
    step("orders", cte + """
      INSERT INTO orders(id, status, stage, marketplace, created_at, created_ms,
                         updated_at, updated_ms)
      SELECT %(oid)s,
             CASE WHEN i %% 50 = 7 THEN 'FAILED' WHEN i %% 50 = 8 THEN 'CANCELLED'
                  WHEN i %% 10 = 9 THEN 'PROCESSING' ELSE 'SUCCEEDED' END,
             CASE WHEN i %% 50 = 7 THEN 'failed' WHEN i %% 50 = 8 THEN 'cancelled'
                  WHEN i %% 10 = 9 THEN 'processing'
                  WHEN i %% 10 < 6 THEN 'delivered' WHEN i %% 10 = 6 THEN 'in_transit'
                  WHEN i %% 10 = 7 THEN 'out_for_delivery' ELSE 'shipped' END,
             CASE i %% 3 WHEN 0 THEN 'shopify' WHEN 1 THEN 'amazon' ELSE 'walmart' END,
             %(iso)s, %(ms)s, %(iso_u)s, %(ms)s + 86400000
      FROM c""" % {"oid": oid, "iso": iso(ms), "ms": ms, "iso_u": iso(ms + " + 86400000")})

    body = ("printf('{\"id\":\"%s\",\"type\":\"%s\",\"requestId\":\"%s\",\"developerId\":\"dev_shop\","
            "\"createdAt\":\"%s\",\"data\":{\"marketplace\":\"shopify\",\"order\":{%s}," + LINE_ITEMS
            + "}}', eid, typ, oid, cat, extra)")
    step("events", cte + """
      INSERT INTO events(id, scheme, type, order_id, created_at, created_ms, marketplace,
                         received_at, body)
      SELECT eid, 'rye1', typ, oid, cat, cms, 'shopify', cat, CAST(%(body)s AS BLOB)
      FROM (SELECT printf('evt_gen_%%08d_p', i) AS eid, 'ORDER_PLACED' AS typ, %(oid)s AS oid,
                   %(iso)s AS cat, %(ms)s AS cms, '\"status\":\"PLACED\"' AS extra FROM c
            UNION ALL
            SELECT printf('evt_gen_%%08d_t', i), 'TRACKING_OBTAINED', %(oid)s,
                   %(iso_t)s, %(ms)s + 3600000,
                   printf('\"trackingNumber\":\"1Z%%016d\",\"courierName\":\"UPS\",' ||
                          '\"courierUrl\":\"https://www.ups.com/track?tracknum=1Z%%016d\"', i, i)
            FROM c WHERE i %% 10 <> 9)
      """ % {"body": body, "oid": oid, "iso": iso(ms), "ms": ms,
             "iso_t": iso(ms + " + 3600000")})

    tags = ("CASE WHEN i %% 10 < 6 THEN 'Delivered' WHEN i %% 10 = 6 THEN 'InTransit'"
            " WHEN i %% 10 = 7 THEN 'OutForDelivery' ELSE 'Pending' END")
    ship = """
      INSERT INTO shipments(order_id, tracking_number, carrier, tracking_url, first_key,
                            carrier_key, url_key, tag, subtag, subtag_message,
                            expected_delivery, delivered_at, last_checkpoint_at, checked_at,
                            carrier_slug, carrier_updated_ms, next_poll_ms)
      SELECT %(oid)s, tn, 'UPS', 'https://www.ups.com/track?tracknum=' || tn, k, k, k,
             %(tag)s, %(tag)s || '_001', 'Shipment on its way',
             date(%(ms)s / 1000, 'unixepoch', '+5 days'),
             CASE WHEN i %% 10 < 6 THEN %(iso_d)s END,
             CASE WHEN i %% 10 < 8 THEN %(iso_d)s END, %(iso_d)s, 'ups', %(ms)s + 259200000,
             %(ms)s + 259200000
      FROM (SELECT i, printf('1Z%%016d%%s', i, '%(sfx)s') AS tn,
                   %(key)s AS k FROM c WHERE %(where)s)
    """
    for n_, (sfx, where) in enumerate([("", "i % 10 <> 9"), ("B", "i % 10 = 8")]):
        step("shipments%d" % (n_ + 1), cte + ship % {
            "oid": oid, "tag": tags % (), "ms": ms, "iso_d": iso(ms + " + 259200000"),
            "sfx": sfx, "where": where,
            "key": key(ms + " + 3600000", "printf('evt_gen_%08d_t', i)")})

    step("checkpoints", """
      WITH RECURSIVE j(k) AS (SELECT 0 UNION ALL SELECT k + 1 FROM j WHERE k < 7)
      INSERT INTO checkpoints(shipment_id, time_raw, time_ms, has_offset, tag, subtag,
                              message, location)
      SELECT s.id, strftime('%Y-%m-%dT%H:%M:%SZ', (s.carrier_updated_ms - (7 - j.k) * 28800000) / 1000, 'unixepoch'),
             s.carrier_updated_ms - (7 - j.k) * 28800000, 1,
             CASE WHEN j.k = 0 THEN 'InfoReceived' ELSE 'InTransit' END,
             CASE WHEN j.k = 0 THEN 'InfoReceived_001' ELSE 'InTransit_002' END,
             CASE WHEN j.k = 0 THEN 'Shipper created a label'
                  ELSE 'Departed from facility' END,
             CASE j.k % 4 WHEN 0 THEN 'Louisville, KY, US' WHEN 1 THEN 'Chicago, IL, US'
                  WHEN 2 THEN 'Denver, CO, US' ELSE 'Portland, OR, US' END
      FROM shipments s JOIN j ON j.k < s.id % 9""")

    # The target: 2 shipments x 20 checkpoints, in transit.
    tms = BASE_MS + (n // 2) * STEP_MS + 7
    con.execute("BEGIN")
    con.execute("""INSERT INTO orders(id, status, stage, marketplace, created_at, created_ms,
                   updated_at, updated_ms)
                   VALUES (?, 'SUCCEEDED', 'in_transit', 'shopify', ?, ?, ?, ?)""",
                (target, iso_py(tms), tms, iso_py(tms + 86400000), tms + 86400000))
    for k, (typ, off) in enumerate([("ORDER_PLACED", 0), ("TRACKING_OBTAINED", 3600000),
                                    ("TRACKING_OBTAINED", 3700000)]):
        eid = "evt_target_%d" % k
        b = ('{"id":"%s","type":"%s","requestId":"%s","createdAt":"%s","data":{%s}}'
             % (eid, typ, target, iso_py(tms + off), LINE_ITEMS)).encode()
        con.execute("""INSERT INTO events(id, scheme, type, order_id, created_at, created_ms,
                       marketplace, received_at, body)
                       VALUES (?, 'rye1', ?, ?, ?, ?, 'shopify', ?, ?)""",
                    (eid, typ, target, iso_py(tms + off), tms + off, iso_py(tms + off), b))
    for sh in range(2):
        tn = "1ZTARGET%010d" % sh
        k = "%015d|evt_target_%d" % (tms + 3600000 + sh * 100000, sh + 1)
        last = tms + 3600000 + 19 * 3 * 3600000
        cur = con.execute("""INSERT INTO shipments(order_id, tracking_number, carrier,
                   tracking_url, first_key, carrier_key, url_key, tag, subtag, subtag_message,
                   expected_delivery, last_checkpoint_at, checked_at, carrier_slug,
                   carrier_updated_ms, next_poll_ms)
                   VALUES (?, ?, ?, ?, ?, ?, ?, 'InTransit', 'InTransit_003',
                   'Departed from a facility', ?, ?, ?, ?, ?, ?)""",
                          (target, tn, ["UPS", "USPS"][sh],
                           "https://carrier.example/track?n=" + tn, k, k, k,
                           iso_py(last + 3 * 86400000)[:10], iso_py(last)[:19] + "Z",
                           iso_py(last + 600000), ["ups", "usps"][sh], last, last + 3600000))
        sid = cur.lastrowid
        for c in range(20):
            t = tms + 3600000 + c * 3 * 3600000
            con.execute("""INSERT INTO checkpoints(shipment_id, time_raw, time_ms, has_offset,
                           tag, subtag, message, location) VALUES (?, ?, ?, 1, ?, ?, ?, ?)""",
                        (sid, iso_py(t)[:19] + "Z", t, "InTransit" if c else "InfoReceived",
                         "InTransit_002" if c else "InfoReceived_001",
                         "Arrived at facility %d of the carrier's network" % c,
                         ["Louisville, KY, US", "Chicago, IL, US", "Denver, CO, US",
                          "Portland, OR, US"][c % 4]))
    con.execute("COMMIT")
    con.execute("PRAGMA journal_mode = WAL")
    con.close()
    print("gen-db: done         %6.1f s" % (time.monotonic() - t0), file=sys.stderr)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--shiptrack", required=True, help="the shiptrack CLI (for migrate)")
    ap.add_argument("--out", required=True)
    ap.add_argument("--orders", type=int, default=1_000_000)
    ap.add_argument("--target", default="ord_target_bench")
    a = ap.parse_args()
    for f in (a.out, a.out + "-wal", a.out + "-shm"):
        if os.path.exists(f):
            os.unlink(f)
    env = dict(os.environ, SHIPTRACK_CONFIG="/dev/null", SHIPTRACK_DATABASE=a.out)
    p = subprocess.run([a.shiptrack, "migrate"], env=env, capture_output=True, text=True)
    if p.returncode != 0:
        sys.exit("gen-db: shiptrack migrate failed: %s%s" % (p.stdout, p.stderr))
    build(a.out, a.orders, a.target)


if __name__ == "__main__":
    main()
