#!/usr/bin/env python3
"""The poller end to end, against the AfterShip stand-in.

A signed TRACKING_OBTAINED, a poll, the carrier moves, a poll: the operator
view shows tag, checkpoints (newest first) and expected delivery.  A poll
with nothing changed sends only list requests.  Final shipments are no
longer fetched.  AfterShip's push webhook and the poller agree, in either
order.  The legacy /v4 base and older dated versions work too.
"""

import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import shiptrack_test as st  # noqa: E402
import poll_test as pt  # noqa: E402

stub = pt.Stub()
NUM = "1Z999AA10123456784"


def fresh():
    stub.reset()
    return st.fresh_db()


def test_tracking_obtained_to_operator_view():
    db = fresh()
    pt.order(db, "ord_e2e", NUM, "UPS", "https://www.ups.com/track?tracknum=" + NUM)
    p = pt.poll(db, stub)
    pt.expect_exit(p, 0, "first poll")
    st.check("1 registered" in pt.summary(p), pt.summary(p))
    created = pt.requests_of(stub.api_log(), "POST", "/trackings")
    st.eq(len(created), 1, "creates")
    body = st.json.loads(created[0]["body"])
    st.eq(body, {"tracking_number": NUM, "slug": "ups", "order_id": "ord_e2e"}, "create body")
    st.eq(created[0]["key_header"], "as-api-key", "key header")
    sh = pt.shipment_row(db, NUM)
    remote = stub.trackings(NUM)[0]
    st.eq(sh["carrier_id"], remote["id"], "AfterShip id stored")
    st.eq(sh["carrier_slug"], "ups", "slug stored")
    v = pt.shipment_view(db, NUM)
    st.eq(v["tag"], "Pending", "tag after registration")
    st.check(v["checkedAt"] is not None, "checkedAt after registration")

    # The carrier moves: two scans, an expected delivery.
    later = int(time.time()) + 5
    stub.advance(tracking_number=NUM, tag="InTransit", subtag="InTransit_002",
                 message="Origin scan", location="Louisville, KY",
                 checkpoint_time="2025-05-05T08:00:00-05:00", updated_at=later - 60)
    stub.advance(tracking_number=NUM, tag="InTransit", subtag="InTransit_003",
                 message="Departed facility", city="Chicago", state="IL",
                 country="USA", checkpoint_time="2025-05-06T09:30:00",
                 expected_delivery="2025-05-09", updated_at=later)
    p = pt.poll(db, stub)
    pt.expect_exit(p, 0, "second poll")
    v = pt.view(db, "ord_e2e")
    s = v["shipments"][0]
    st.eq(v["stage"], "in_transit", "stage")
    st.eq(s["tag"], "InTransit", "tag")
    st.eq(s["subtag"], "InTransit_003", "subtag")
    st.eq(s["subtagMessage"], "In transit to next facility", "subtag message")
    st.eq(s["expectedDelivery"], "2025-05-09", "expected delivery")
    st.eq(s["deliveredAt"], None, "not delivered")
    st.eq(s["pollError"], None, "no poll error")
    st.eq([c["message"] for c in s["checkpoints"]], ["Departed facility", "Origin scan"],
          "checkpoints newest first")
    st.eq(s["checkpoints"][0]["location"], "Chicago, IL, USA", "location from parts")
    st.eq(s["checkpoints"][1]["location"], "Louisville, KY", "location as given")
    st.eq(s["lastCheckpointAt"], "2025-05-06T09:30:00", "local time kept as given")
    st.check(s["checkedAt"] is not None, "checkedAt")


def test_nothing_changed_only_lists():
    db = fresh()
    pt.order(db, "ord_quiet", NUM, "UPS")
    pt.expect_exit(pt.poll(db, stub), 0)
    stub.clear_log()
    for _ in range(2):
        p = pt.poll(db, stub)
        pt.expect_exit(p, 0)
    log = stub.api_log()
    st.eq([(r["method"], r["path"]) for r in log],
          [("GET", "/tracking/2025-07/trackings")] * 2, "only list requests")
    for r in log:
        st.check("updated_at_min=" in r["query"] and "%2B00%3A00" in r["query"],
                 "incremental list with an encoded offset: %r" % r["query"])
    st.eq(pt.shipment_view(db, NUM)["tag"], "Pending", "nothing changed")


def test_change_within_the_same_second_applied():
    """AfterShip's updated_at has whole seconds: a tracking registered and
    moved on within one second keeps its stamp.  The update must still be
    applied (equal is not older), or it is lost for good."""
    db = fresh()
    number = "1ZSAMESECOND01"
    pt.order(db, "ord_same_second", number, "UPS")
    pt.expect_exit(pt.poll(db, stub), 0)
    stamp = stub.trackings(number)[0]["updated_at"]
    stub.advance(tracking_number=number, tag="InTransit", subtag="InTransit_001",
                 message="Departed facility", location="Louisville, KY, US",
                 checkpoint_time="2025-05-05T09:00:00-05:00", updated_at=stamp)
    st.eq(stub.trackings(number)[0]["updated_at"], stamp, "same updated_at at the carrier")
    pt.expect_exit(pt.poll(db, stub), 0)
    s = pt.shipment_view(db, number)
    st.eq(s["tag"], "InTransit", "the same-second change is applied")
    st.eq(len(pt.view(db, "ord_same_second")["shipments"][0]["checkpoints"]), 1,
          "its checkpoint too")


def test_list_sync_pages_and_unknown_trackings():
    """A list sync walks every page; trackings we do not know are skipped."""
    db = fresh()
    numbers = ["1ZPAGE%08d" % i for i in range(60)]
    foreign = ["1ZFOREIGN%07d" % i for i in range(350)]
    stub.seed([{"tracking_number": n, "slug": "ups"} for n in numbers + foreign], quiet=True)
    pt.bulk_orders(db, [("ord_pg_%d" % i, n, "UPS") for i, n in enumerate(numbers)])
    p = pt.poll(db, stub)      # 60 creates meet 4003: looked up 50 at a time
    pt.expect_exit(p, 0)
    st.check("60 registered" in pt.summary(p), pt.summary(p))
    lookups = [r for r in pt.requests_of(stub.api_log(), "GET", "/trackings")
               if "tracking_numbers=" in r["query"]]
    st.eq(len(lookups), 2, "lookups of up to 50 numbers each")
    # Move every tracking, ours and the foreign ones: one sync, three pages.
    later = int(time.time()) + 10
    stub.seed([{"tracking_number": n, "slug": "ups", "tag": "InTransit",
                "updated_at": later} for n in numbers + foreign], quiet=True)
    stub.clear_log()
    p = pt.poll(db, stub)
    pt.expect_exit(p, 0)
    st.check("60 listed" in pt.summary(p) and "60 updated" in pt.summary(p),
             pt.summary(p))
    log = stub.api_log()
    st.eq(len(log), 3, "410 changed trackings in three pages of 200")
    st.check(all(r["method"] == "GET" for r in log), "only lists")
    st.check("cursor=" in log[1]["query"] and "cursor=" in log[2]["query"], "cursor walk")
    st.eq(sum(1 for r in st.export_rows(db) if r["tag"] == "InTransit"), 60,
          "all ours updated")


def test_final_shipments_not_fetched():
    db = fresh()
    pt.order(db, "ord_final", NUM, "UPS")
    pt.expect_exit(pt.poll(db, stub), 0)
    stub.advance(tracking_number=NUM, tag="Delivered", message="Delivered, front door",
                 checkpoint_time="2025-05-07T14:02:00+02:00",
                 updated_at=int(time.time()) + 5)
    pt.expect_exit(pt.poll(db, stub), 0)
    s = pt.view(db, "ord_final")["shipments"][0]
    st.eq(s["tag"], "Delivered", "delivered")
    st.eq(s["deliveredAt"], "2025-05-07T12:02:00Z", "deliveredAt in UTC")
    st.eq(pt.view(db, "ord_final")["stage"], "delivered", "stage")
    pt.make_due(db)
    stub.clear_log()
    pt.expect_exit(pt.poll(db, stub), 0)
    st.eq(pt.requests_of(stub.api_log(), "GET", "/trackings/"), [], "no GET for final")


def test_reconcile_by_id_when_due():
    db = fresh()
    pt.order(db, "ord_rec", NUM, "UPS")
    pt.expect_exit(pt.poll(db, stub), 0)
    sh = pt.shipment_row(db, NUM)
    day = 24 * 3600 * 1000
    now = int(time.time() * 1000)
    st.check(now + 0.85 * day <= sh["next_poll_ms"] <= now + 1.15 * day,
             "next reconciliation in about reconcile_hours: %r" % sh["next_poll_ms"])
    # A change the list sync misses (older than its window) is found by id.
    stub.advance(tracking_number=NUM, tag="OutForDelivery", updated_at="2020-01-01T00:00:00Z")
    st.storage_sql(db, "UPDATE shipments SET carrier_updated_ms = 0")   # time moved, on purpose
    pt.make_due(db, NUM)
    stub.clear_log()
    p = pt.poll(db, stub)
    pt.expect_exit(p, 0)
    st.check("1 reconciled" in pt.summary(p), pt.summary(p))
    gets = pt.requests_of(stub.api_log(), "GET", "/trackings/" + sh["carrier_id"])
    st.eq(len(gets), 1, "one GET by id")
    st.eq(pt.shipment_view(db, NUM)["tag"], "OutForDelivery", "reconciled tag")


def msg(number=NUM, tag="InTransit", updated="2030-01-02T00:00:00+00:00", **kw):
    m = {"id": None, "tracking_number": number, "slug": "ups", "tag": tag,
         "subtag": tag + "_001", "subtag_message": tag, "updated_at": updated,
         "latest_estimated_delivery": None, "courier_estimated_delivery_date": None,
         "expected_delivery": None, "shipment_delivery_date": None, "checkpoints": []}
    m.update(kw)
    return m


def carrier_state(db, order_id):
    """The carrier facts of an order's view (what push and pull must agree on)."""
    v = pt.view(db, order_id)
    keep = ("trackingNumber", "tag", "subtag", "subtagMessage", "expectedDelivery",
            "deliveredAt", "lastCheckpointAt", "checkpoints", "estimates", "pickup",
            "signedBy", "carrierTrackingLink")
    return v["stage"], [{k: s[k] for k in keep} for s in v["shipments"]]


def test_push_and_poll_agree():
    """The same carrier state, pushed into one database and polled into
    another, reads the same; an older state never overwrites a newer one."""
    db_push, db_poll = fresh(), st.fresh_db()
    for db in (db_push, db_poll):
        pt.order(db, "ord_agree", NUM, "UPS")
    pt.expect_exit(pt.poll(db_poll, stub), 0)
    remote = stub.advance(tracking_number=NUM, tag="InTransit", subtag="InTransit_004",
                          message="Arrived", location="Leeds, GB",
                          checkpoint_time="2030-01-01T10:00:00+00:00",
                          expected_delivery="2030-01-03", updated_at="2030-01-02T00:00:00Z")
    a = pt.push(db_push, remote, event_id="as-agree-1")
    st.eq(a.status, 200, "push accepted")
    st.eq(a.json(), {"ok": True, "event": "as-agree-1", "duplicate": False}, "push answer")
    pt.expect_exit(pt.poll(db_poll, stub), 0)
    st.eq(carrier_state(db_push, "ord_agree"), carrier_state(db_poll, "ord_agree"),
          "push and poll agree")
    st.eq(carrier_state(db_push, "ord_agree")[1][0]["tag"], "InTransit", "pushed tag")

    # Push first, poll after: the poll (older data) leaves the pushed state.
    newer = dict(remote, tag="OutForDelivery", subtag="OutForDelivery_001",
                 subtag_message="Out for Delivery", updated_at="2030-01-03T00:00:00+00:00")
    st.eq(pt.push(db_poll, newer, event_id="as-agree-2").status, 200, "push newer")
    pt.make_due(db_poll)
    pt.expect_exit(pt.poll(db_poll, stub), 0)
    st.eq(pt.shipment_view(db_poll, NUM)["tag"], "OutForDelivery",
          "older poll did not overwrite")
    # A late push of older data changes nothing either.
    before = carrier_state(db_poll, "ord_agree")
    a = pt.push(db_poll, dict(remote, tag="InfoReceived"), event_id="as-agree-3")
    st.eq(a.status, 200, "late push accepted")
    st.eq(carrier_state(db_poll, "ord_agree"), before, "late push ignored")
    # The same event again is a duplicate with no effect.
    a = pt.push(db_poll, dict(remote, updated_at="2031-01-01T00:00:00Z"), event_id="as-agree-2")
    st.eq(a.json()["duplicate"], True, "duplicate event id")
    st.eq(carrier_state(db_poll, "ord_agree"), before, "duplicate ignored")
    # The push events are filed under the order.
    ids = [e["id"] for e in pt.view(db_poll, "ord_agree")["events"]]
    st.check("as-agree-2" in ids and "as-agree-3" in ids, "push events listed: %r" % ids)


def test_push_before_registration():
    """A push for a shipment the poller has not registered links it: the
    poller then fetches it by id instead of creating it again."""
    db = fresh()
    pt.order(db, "ord_first_push", NUM, "UPS")
    remote = stub.api("POST", "/trackings", {"tracking_number": NUM})[1]["data"]
    st.eq(pt.push(db, dict(remote, tag="InTransit", updated_at="2030-01-01T00:00:00Z"),
                  event_id="as-first").status, 200, "push")
    st.eq(pt.shipment_row(db, NUM)["carrier_id"], remote["id"], "push linked the AfterShip id")
    st.eq(pt.shipment_view(db, NUM)["tag"], "InTransit", "push applied")
    stub.clear_log()
    pt.expect_exit(pt.poll(db, stub), 0)
    st.eq(pt.requests_of(stub.api_log(), "POST"), [], "no create")


def test_push_unknown_and_bad_signature():
    db = fresh()
    a = pt.push(db, msg("1ZUNKNOWN0000001"), event_id="as-unknown")
    st.eq(a.status, 200, "unknown tracking accepted")
    # An event of no order, read in storage on purpose: no program lists it.
    st.eq(st.storage_sql(db, "SELECT order_id, scheme, type FROM events"
                             " WHERE id = 'as-unknown'"),
          [(None, "aftership", "tracking_update")], "stored with no order")
    # Signed but without an event_id: refused as missing_field, kept as evidence.
    body = st.dumps({"event": "tracking_update", "msg": msg(), "ts": 1893456000})
    a = st.cgi(st.WEBHOOK, {"SHIPTRACK_DATABASE": db,
                            "SHIPTRACK_AFTERSHIP_WEBHOOK_SECRET": pt.AS_SECRET},
               body=body, headers={"aftership-hmac-sha256": pt.sign_as(body)})
    st.error_answer(a, 400, "missing_field", "push without event_id")
    # The evidence's source, read in storage on purpose: no program shows it.
    st.eq(st.storage_sql(db, "SELECT scheme FROM rejected_deliveries"), [("aftership",)],
          "kept as evidence")
    before = st.snapshot(db)
    a = pt.push(db, msg(), event_id="as-forged", sign_with="wrong secret")
    st.error_answer(a, 401, "bad_signature", "forged push")
    st.eq(st.snapshot(db), before, "nothing stored")


def run_base(version):
    db = fresh()
    pt.order(db, "ord_" + version, NUM, "UPS")
    p = pt.poll(db, stub, version=version)
    pt.expect_exit(p, 0, version + " first poll")
    stub.advance(tracking_number=NUM, tag="InTransit", message="Moving", country="GBR",
                 checkpoint_time="2030-01-01T10:00:00Z", updated_at=int(time.time()) + 5)
    p = pt.poll(db, stub, version=version)
    pt.expect_exit(p, 0, version + " second poll")
    s = pt.view(db, "ord_" + version)["shipments"][0]
    st.eq(s["tag"], "InTransit", version + " tag")
    st.eq(s["checkpoints"][0]["location"], "GBR", version + " country")
    return stub.api_log()


def test_v4_base():
    log = run_base("v4")
    create = pt.requests_of(log, "POST")[0]
    st.eq(create["path"], "/v4/trackings", "v4 path")
    st.eq(create["key_header"], "aftership-api-key", "v4 key header")
    st.eq(st.json.loads(create["body"]),
          {"tracking": {"tracking_number": NUM, "slug": "ups", "order_id": "ord_v4"}},
          "v4 body wrapped")
    lists = pt.requests_of(log, "GET", "/v4/trackings")
    st.check(lists and all("cursor" not in r["query"] for r in lists), "v4: no cursor")


def test_older_dated_versions():
    for version in ("2024-04", "2024-07"):
        log = run_base(version)
        body = st.json.loads(pt.requests_of(log, "POST")[0]["body"])
        st.eq("tracking" in body, version < "2024-07", version + " wrapped body")


def test_retired_version_served_as_oldest():
    stub.reset()
    stub.faults(oldest_version="2024-10")
    db = st.fresh_db()
    pt.order(db, "ord_retired", NUM, "UPS")
    p = pt.poll(db, stub, version="2024-07")
    pt.expect_exit(p, 0)
    st.check("served as 2024-10" in p.stderr, "the served version is logged: %r" % p.stderr)


st.run()
