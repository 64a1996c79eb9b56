#!/usr/bin/env python3
"""`shiptrack replay` rebuilds derived state from the stored raw events.

Unchanged state: every view identical, updatedAt included.  Corrupted
state (status, shipments, orders, derived event columns, orphans): replay
restores the same views (updatedAt excluded).  `shiptrack check` is ok.

The corruption is done in storage, on purpose (st.storage_sql), and so is
reading what replay must leave or re-derive there that no program shows:
the stored rows themselves (raw bodies, derived event columns, keys).
"""
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import shiptrack_test as st  # noqa: E402
from shiptrack_test import check, eq  # noqa: E402

TMP = st.tempdir()
FAST = {"SHIPTRACK_DURABILITY": "normal"}


def scenario():
    """Bodies for several orders, in a scrambled arrival order."""
    E, T = st.event, st.tracking
    full, pend, split = "ord_rp_full", "ord_rp_pending", "ord_rp_split"
    canc, cfail, failed = "ord_rp_cancel", "ord_rp_cancel_failed", "ord_rp_failed"
    bodies = [
        T(full, "1ZRPFULL01", "UPS", "https://ups.example/1ZRPFULL01", st.iso(40), "rp_a5"),
        E("PAYMENT_SUCCEEDED", full, st.iso(0), "rp_a1",
          data={"marketplace": "shopify", "amount": 1234}),
        E("ORDER_PLACED", full, st.iso(30), "rp_a4"),
        E("ORDER_SUBMISSION_SUCCEEDED", full, st.iso(20), "rp_a3"),
        E("ORDER_SUBMISSION_STARTED", full, st.iso(10), "rp_a2"),
        E("ORDER_PLACED", pend, st.iso(1), "rp_b1", data={"marketplace": "amazon"}),
        E("TRACKING_OBTAINED", pend, st.iso(2), "rp_b2", data={"marketplace": "amazon"}),
        E("TRACKING_OBTAINED", split, st.iso(12), "rp_c2",
          data={"marketplace": "amazon", "shipments": [
              {"trackingNumber": "TBA1", "carrier": "Amazon Logistics"},
              {"carrierTrackingNumber": "1ZSPLIT2", "carrierName": "UPS",
               "carrierTrackingUrl": "https://ups.example/1ZSPLIT2"}]}),
        E("ORDER_PLACED", split, st.iso(11), "rp_c1"),
        T(split, "9400SPLIT3", "USPS", "https://usps.example/9400SPLIT3", st.iso(14), "rp_c4"),
        T(split, "TBA1", "Amazon Logistics US", "https://amazon.example/TBA1", st.iso(13),
          "rp_c3"),
        T(split, "TBA1", "Amazon (old)", "https://amazon.example/old", st.iso(5), "rp_c0"),
        E("ORDER_CANCEL_SUCCEEDED", canc, st.iso(52), "rp_d3"),
        E("ORDER_PLACED", canc, st.iso(50), "rp_d1"),
        E("ORDER_CANCEL_STARTED", canc, st.iso(51), "rp_d2"),
        E("ORDER_PLACED", cfail, st.iso(60), "rp_e1"),
        E("ORDER_CANCEL_FAILED", cfail, st.iso(62), "rp_e3", data={"reason": "shipped"}),
        E("ORDER_CANCEL_STARTED", cfail, st.iso(61), "rp_e2"),
        E("PAYMENT_FAILED", failed, st.iso(70), "rp_g1"),
        E("SOMETHING_NEW", None, st.iso(3), "rp_x1"),
        E("PRODUCT_UPDATED", None, st.iso(4), "rp_x2", marketplace="shopify"),
        E("RETURN_STARTED", full, st.iso(80), "rp_a6"),
    ]
    gen2 = [st.event2("checkout_intent.completed", "ci_rp_1", created=st.iso(90),
                      id="rp_f1"),
            st.event2("shipment.created", "shp_rp_1", source_type="shipment",
                      created=st.iso(91), id="rp_f2")]
    return bodies, gen2


def build():
    path = st.fresh_db(TMP)
    bodies, gen2 = scenario()
    for b in bodies:
        a = st.post(path, b, env=FAST)
        check(a.status == 200, "feeding %r: %s" % (b[:60], a))
    for b in gen2:
        a = st.post(path, b, gen=2, env=FAST)
        check(a.status == 200, "feeding %r: %s" % (b[:60], a))
    # A duplicate and a rejected delivery belong to a realistic database too.
    eq(st.post(path, bodies[0], env=FAST).json()["duplicate"], True, "duplicate")
    eq(st.post(path, b'{"id":"rp_broken",', env=FAST).status, 400, "rejected")
    return path


def order_ids(path):
    return sorted(st.order_ids(path))


def views(path, ids=None):
    return {o: st.view(path, o) for o in (ids or order_ids(path))}


def blanked(vs):
    return {k: st.blank_times(v) for k, v in vs.items()}


def replay(path):
    p = st.run_cli(["replay"], db=path)
    eq(p.returncode, 0, "replay exit status (stderr %r)" % p.stderr)
    m = re.search(r"replayed (\d+) events into (\d+) orders \((\d+) could not be parsed\)",
                  p.stdout)
    check(m is not None, "replay summary: %r" % p.stdout)
    c = st.counts(path)
    eq(int(m.group(1)), c["events"], "events replayed")
    eq(int(m.group(3)), 0, "unparsable events")
    return p


def diff_views(a, b):
    out = []
    for k in sorted(set(a) | set(b)):
        if a.get(k) != b.get(k):
            out.append("%s:\n  before %r\n  after  %r" % (k, a.get(k), b.get(k)))
    return "\n".join(out)


def test_scenario_is_what_we_think():
    path = build()
    eq(order_ids(path), sorted(["ci_rp_1", "ord_rp_cancel", "ord_rp_cancel_failed",
                                "ord_rp_failed", "ord_rp_full", "ord_rp_pending",
                                "ord_rp_split"]), "orders")
    status = {o: st.operator_view(path, o)["status"] for o in order_ids(path)}
    eq(status, {"ci_rp_1": "SUCCEEDED", "ord_rp_cancel": "CANCELLED",
                "ord_rp_cancel_failed": "SUCCEEDED", "ord_rp_failed": "FAILED",
                "ord_rp_full": "SUCCEEDED", "ord_rp_pending": "SUCCEEDED",
                "ord_rp_split": "SUCCEEDED"}, "statuses")
    j = st.Answer(200, {}, st.view(path, "ord_rp_split"), b"").json()
    eq([(s["trackingNumber"], s["carrier"], s["trackingUrl"]) for s in j["shipments"]],
       [("TBA1", "Amazon Logistics US", "https://amazon.example/TBA1"),
        ("1ZSPLIT2", "UPS", "https://ups.example/1ZSPLIT2"),
        ("9400SPLIT3", "USPS", "https://usps.example/9400SPLIT3")], "split shipments")
    j = st.Answer(200, {}, st.view(path, "ord_rp_pending"), b"").json()
    eq([s["trackingNumber"] for s in j["shipments"]], [None], "pending shipment")


def test_replay_of_intact_state_changes_nothing():
    path = build()
    before = views(path)
    dump = st.storage_dump(path)        # the rows themselves, on purpose
    replay(path)
    after = views(path)
    check(after == before, "views changed by replay (updatedAt included):\n" +
          diff_views(before, after))
    st.checks += len(before)
    for t in ("events", "orders", "shipments", "checkpoints", "rejected_deliveries"):
        eq(st.storage_dump(path)[t], dump[t], "table %s after replay" % t)
    replay(path)
    eq(views(path), before, "second replay")


def test_replay_restores_corrupted_state():
    path = build()
    before = views(path)
    events = st.storage_dump(path)["events"]
    st.storage_sql(path, "UPDATE orders SET status = 'FAILED'")
    st.storage_sql(path, "DELETE FROM shipments")
    broken = views(path)
    check(blanked(broken) != blanked(before), "corruption is visible")
    replay(path)
    after = views(path)
    check(blanked(after) == blanked(before), "views not restored:\n" +
          diff_views(blanked(before), blanked(after)))
    st.checks += len(before)
    eq(st.storage_dump(path)["events"], events, "events untouched")
    # The orders that were corrupted got a new updatedAt, not an old one.
    for o in before:
        a = st.Answer(200, {}, after[o], b"").json()
        b = st.Answer(200, {}, before[o], b"").json()
        check(a["updatedAt"] >= b["updatedAt"], "%s: updatedAt went backwards" % o)


def test_replay_restores_deleted_orders_and_derived_event_columns():
    path = build()
    before = views(path)
    events = st.storage_dump(path)["events"]
    st.storage_sql(path, "DELETE FROM orders")
    st.storage_sql(path, "UPDATE events SET type = 'MANGLED', order_id = 'ord_elsewhere', "
                   "created_at = '1970-01-01T00:00:00Z', created_ms = 0, marketplace = NULL")
    st.storage_sql(path, "UPDATE shipments SET carrier = 'X', tracking_url = NULL, "
                   "first_key = NULL")
    replay(path)
    eq(sorted(order_ids(path)), sorted(before), "orders restored, no stray order")
    after = views(path)
    check(blanked(after) == blanked(before), "views not restored:\n" +
          diff_views(blanked(before), blanked(after)))
    eq(st.storage_dump(path)["events"], events, "derived event columns re-read from raw bodies")


def test_replay_prunes_orphans():
    path = build()
    before = views(path)
    st.storage_sql(path, "INSERT INTO orders(id, status, stage, created_at, created_ms, "
                   "updated_at, updated_ms) VALUES ('ord_ghost', 'FAILED', 'failed', "
                   "'2025-01-01T00:00:00Z', 0, '2025-01-01T00:00:00Z', 0)")
    st.storage_sql(path, "INSERT INTO shipments(order_id, tracking_number, first_key) "
                   "VALUES ('ord_rp_full', 'GHOST123', '0000000000000|ghost')")
    eq(st.api(path, "/v1/orders/ord_ghost").status, 200, "ghost visible before")
    replay(path)
    eq(st.api(path, "/v1/orders/ord_ghost").status, 404, "order without events pruned")
    after = views(path)
    check(blanked(after) == blanked(before), "views not restored:\n" +
          diff_views(blanked(before), blanked(after)))


def test_replay_keeps_carrier_data():
    path = build()
    # Carrier data as the poller would store it (in storage, on purpose).
    sid = st.storage_sql(path, "SELECT id FROM shipments"
                               " WHERE tracking_number = '1ZRPFULL01'")[0][0]
    st.storage_sql(path, "UPDATE shipments SET tag = 'InTransit', subtag = 'InTransit_001', "
                   "checked_at = '2025-03-02T10:00:00Z', carrier_slug = 'ups', "
                   "last_checkpoint_at = '2025-03-02T08:00:00Z' WHERE id = ?", (sid,))
    st.storage_sql(path, "INSERT INTO checkpoints(shipment_id, time_raw, time_ms, has_offset,"
                   " tag, message, location) VALUES (?, '2025-03-02T08:00:00Z', 1740902400000,"
                   " 1, 'InTransit', 'Departed facility', 'Louisville, KY')", (sid,))
    replay(path)  # stage now follows the carrier tag
    first = views(path)
    j = st.Answer(200, {}, first["ord_rp_full"], b"").json()
    s = j["shipments"][0]
    eq((s["tag"], s["subtag"], s["checkedAt"]),
       ("InTransit", "InTransit_001", "2025-03-02T10:00:00Z"), "carrier fields kept")
    eq([c["message"] for c in s["checkpoints"]], ["Departed facility"], "checkpoints kept")
    eq(j["stage"], "in_transit", "stage from the carrier tag")
    replay(path)
    eq(views(path), first, "replay again: identical, updatedAt included")


def test_check_reports_integrity_ok():
    path = build()
    replay(path)
    p = st.run_cli(["check"], db=path, env={"SHIPTRACK_WEBHOOK_SECRET": st.SECRET,
                                            "SHIPTRACK_API_TOKEN": st.API_TOKEN})
    eq(p.returncode, 0, "check exit status (%r %r)" % (p.stdout, p.stderr))
    check(re.search(r"^integrity: ok$", p.stdout, re.M) is not None,
          "integrity line: %r" % p.stdout)
    check(st.SECRET not in p.stdout + p.stderr and st.API_TOKEN not in p.stdout + p.stderr,
          "check prints a secret")


if __name__ == "__main__":
    st.run()
