#!/usr/bin/env python3
"""The Rye pass of shiptrack-poll, end to end, against the Rye stand-in
(tests/rye_stub.py) and the AfterShip stand-in.

Gen 2: thin webhooks + the Rye pass give the order its shipment (number,
carrier, URL, Rye's estimate, tracking events), the carrier pass registers
it, the shopper view shows it.  Events never delivered are recovered by the
events sweep exactly once, across runs and a run killed with SIGKILL
mid-page.  Gen 1: a refused or never-sent TRACKING_OBTAINED is recovered by
orderByID; the late webhook duplicates nothing.  Buyer data: the e-mail
goes out with no operator action; an operator's address wins.  Statuses
Rye adds are shown.  Rye's faults (401, 429, 5xx, timeouts, malformed
JSON, endless paging, huge bodies) leave a consistent database and are
visible.  A run with nothing due costs one request at most.
"""

import json
import os
import signal
import sqlite3
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import shiptrack_test as st  # noqa: E402
from shiptrack_test import check, eq  # noqa: E402
import poll_test as pt  # noqa: E402
import rye_test as rt  # noqa: E402

rye = rt.RyeStub()
carrier = pt.Stub()
FAST = {"SHIPTRACK_DURABILITY": "normal"}
NUMBER = "1Z999AA10123456784"


def fresh():
    rye.reset()
    carrier.reset()
    return st.fresh_db()


def post2(db, type, source_id, source_type="checkout_intent", created=None, id=None):
    a = st.post(db, st.event2(type, source_id, source_type, created, id), gen=2, env=FAST)
    check(a.status == 200, "gen-2 webhook %s: %s" % (type, a))
    return a


def rows(db, sql, params=()):
    return st.sqlite(db, sql, params)


def integrity(db):
    if st.BACKEND == "sqlite":      # the file itself (PostgreSQL: no such check)
        eq(rows(db, "PRAGMA integrity_check"), [("ok",)], "integrity")


# --- gen 2: thin events completed ---------------------------------------------

def seed_gen2(ci="ci_e2e_1", shp="shp_e2e_1", number=NUMBER):
    rye.intents(rt.intent(ci))
    rye.shipments(rt.shipment(shp, ci, number=number))


def test_gen2_thin_webhooks_then_rye_pass_then_carrier():
    db = fresh()
    seed_gen2()
    post2(db, "checkout_intent.completed", "ci_e2e_1", created=st.iso(10), id="evt_c1")
    post2(db, "shipment.created", "shp_e2e_1", "shipment", created=st.iso(40), id="evt_s1")
    v = rt.operator(db, "ci_e2e_1")
    eq((v["status"], v["stage"], v["shipments"]), ("SUCCEEDED", "placed", []),
       "before the Rye pass: completed, nothing shipped")
    eq(rows(db, "SELECT order_id, subject, source FROM events WHERE id = 'evt_s1'"),
       [(None, "shipment:shp_e2e_1", "webhook")], "the thin shipment event waits")

    p = rt.poll(db, rye, carrier=carrier)
    rt.expect_exit(p, 0, "rye pass + carrier pass")
    s = rt.summary(p)
    check("rye: 0 recovered, 1 intents, 1 shipments" in s and "1 registered" in s, s)
    v = rt.operator(db, "ci_e2e_1")
    eq(len(v["shipments"]), 1, "one shipment")
    sh = v["shipments"][0]
    eq((sh["trackingNumber"], sh["carrier"], sh["trackingUrl"]),
       (NUMBER, "UPS", "https://www.ups.com/track?tracknum=" + NUMBER), "tracking")
    eq(sh["tag"], "InTransit", "Rye's status gives the tag before AfterShip knows more")
    eq(sh["rye"], {"shipmentId": "shp_e2e_1", "status": "shipped",
                   "estimatedDelivery": "2026-03-30T00:00:00Z", "deliveredAt": None},
       "what Rye says, for the operator")
    eq(rows(db, "SELECT rye_estimated_delivery FROM shipments"),
       [("2026-03-30T00:00:00Z",)], "Rye's estimated delivery stored")
    eq([(c["time"], c["message"], c["location"], c["tag"]) for c in sh["checkpoints"]],
       [("2026-03-27T02:10:00Z", "Departed", "Louisville, KY, US", "InTransit")],
       "Rye's tracking events as checkpoints")
    eq(v["stage"], "in_transit", "stage")
    created = pt.requests_of(carrier.api_log(), "POST", "/trackings")
    eq([json.loads(c["body"])["tracking_number"] for c in created], [NUMBER],
       "the carrier pass registered it")
    ev = {e["id"]: e for e in v["events"]}
    eq((ev["evt_s1"]["source"], ev["evt_c1"]["source"]), ("webhook", "webhook"), "sources")
    check(any(e["source"] == "sync" and e["type"] == "rye2.intent.observed"
              for e in v["events"]), "the intent observed: %r" % v["events"])
    eq(rows(db, "SELECT order_id FROM events WHERE id = 'evt_s1'"), [("ci_e2e_1",)],
       "the thin event now names its intent")
    check(v["lastSync"] is not None and v["syncError"] is None, "lastSync %r" % v)

    # The page renders the shopper view: it shows the parcel, and no buyer data.
    a = rt.shopper(db, "ci_e2e_1")
    j = a.json()
    eq([(x["trackingNumber"], x["carrier"], x["tag"]) for x in j["shipments"]],
       [(NUMBER, "UPS", "InTransit")], "shopper view")
    for secret in (b"shopper@example.com", b"order-1234", b"10001"):
        check(secret not in a.body, "buyer data on the shopper view: %r" % secret)
    integrity(db)


def test_gen2_late_shipment_webhook_attaches_at_once():
    """A thin event for a shipment the Rye pass already read names its intent."""
    db = fresh()
    seed_gen2("ci_late", "shp_late")
    rye.events(rt.event2_obj("shipment.created", "shp_late", "shipment", st.iso(40),
                             "evt_late_s"))
    post2(db, "checkout_intent.completed", "ci_late", created=st.iso(10))
    rt.expect_exit(rt.poll(db, rye), 0)
    eq(rows(db, "SELECT order_id, source FROM events WHERE id = 'evt_late_s'"),
       [("ci_late", "sync")], "recovered by the sweep, attached")
    a = post2(db, "shipment.created", "shp_late", "shipment", created=st.iso(40),
              id="evt_late_s")
    eq(a.json()["duplicate"], True, "the late webhook is a duplicate")
    post2(db, "shipment.updated", "shp_late", "shipment", created=st.iso(50), id="evt_late_u")
    eq(rows(db, "SELECT order_id FROM events WHERE id = 'evt_late_u'"), [("ci_late",)],
       "a new thin event of a known shipment names its intent at once")


def test_gen2_delivered_by_rye_final_and_not_read_again():
    db = fresh()
    seed_gen2("ci_fin", "shp_fin")
    post2(db, "checkout_intent.completed", "ci_fin", created=st.iso(10))
    post2(db, "shipment.created", "shp_fin", "shipment", created=st.iso(40))
    rt.expect_exit(rt.poll(db, rye), 0)
    rye.shipments({"id": "shp_fin", "status": "delivered",
                   "deliveredAt": "2026-03-29T15:00:00Z"})
    post2(db, "shipment.updated", "shp_fin", "shipment", created=st.iso(90))
    rt.expect_exit(rt.poll(db, rye), 0)
    v = rt.operator(db, "ci_fin")
    eq((v["stage"], v["shipments"][0]["tag"], v["shipments"][0]["rye"]["status"]),
       ("delivered", "Delivered", "delivered"), "delivered by Rye's word")
    eq(rows(db, "SELECT final, pending FROM rye_sync WHERE order_id = 'ci_fin'"),
       [(1, 0)], "final: not read again")
    # A checkout intent's event for a final intent asks for nothing.
    rye.clear_log()
    post2(db, "checkout_intent.completed", "ci_fin", created=st.iso(91))
    rt.expect_exit(rt.poll(db, rye), 0)
    eq([r["path"] for r in rye.log()], ["/api/v1/events"], "only the sweep")


def test_gen2_resync_lists_shipments_whose_events_were_lost():
    db = fresh()
    rye.intents(rt.intent("ci_deep"))
    rye.shipments(rt.shipment("shp_deep_1", "ci_deep", number="1ZDEEP0001"),
                  rt.shipment("shp_deep_2", "ci_deep", number="1ZDEEP0002"))
    post2(db, "checkout_intent.completed", "ci_deep", created=st.iso(10))
    post2(db, "shipment.created", "shp_deep_1", "shipment", created=st.iso(40))
    rt.expect_exit(rt.poll(db, rye), 0)
    eq([s["trackingNumber"] for s in rt.operator(db, "ci_deep")["shipments"]],
       ["1ZDEEP0001"], "the parcel whose event arrived")
    # rye_resync_hours later (not final: one parcel is only shipped).
    st.sqlite(db, "UPDATE rye_sync SET next_sync_ms = 0")
    rt.expect_exit(rt.poll(db, rye), 0)
    eq(sorted(s["trackingNumber"] for s in rt.operator(db, "ci_deep")["shipments"]),
       ["1ZDEEP0001", "1ZDEEP0002"], "the re-read lists every shipment")


def test_pending_rye_parcel_gets_its_number():
    db = fresh()
    rye.intents(rt.intent("ci_pend"))
    rye.shipments(rt.shipment("shp_pend", "ci_pend", status="ordered"))
    post2(db, "checkout_intent.completed", "ci_pend", created=st.iso(10))
    post2(db, "shipment.created", "shp_pend", "shipment", created=st.iso(40))
    rt.expect_exit(rt.poll(db, rye), 0)
    v = rt.operator(db, "ci_pend")
    eq([(s["trackingNumber"], s["tag"]) for s in v["shipments"]], [(None, "Pending")],
       "ordered: tracking details pending")
    eq(v["stage"], "shipped", "a parcel without a number yet")
    rye.shipments(rt.shipment("shp_pend", "ci_pend", number="1ZPEND0001"))
    post2(db, "shipment.updated", "shp_pend", "shipment", created=st.iso(60))
    rt.expect_exit(rt.poll(db, rye), 0)
    v = rt.operator(db, "ci_pend")
    eq([(s["trackingNumber"], s["tag"]) for s in v["shipments"]],
       [("1ZPEND0001", "InTransit")], "one parcel, now with its number")


# --- gen 2: events never delivered ---------------------------------------------

def seed_missed(n_other=150):
    """An intent and its shipment whose events never reached shiptrack, among
    n_other other events (older ones first: the stand-in lists newest first)."""
    rye.intents(rt.intent("ci_miss"))
    rye.shipments(rt.shipment("shp_miss", "ci_miss", number="1ZMISS0001"))
    others = [rt.event2_obj("product.updated", "prod_%d" % i, "product",
                            st.iso(i % 50), "evt_other_%03d" % i) for i in range(n_other)]
    rye.events(*others)
    return rye.events(rt.event2_obj("checkout_intent.completed", "ci_miss",
                                    created=st.iso(60), id="evt_miss_c"),
                      rt.event2_obj("shipment.created", "shp_miss", "shipment",
                                    st.iso(61), "evt_miss_s"))


def stored_ids(db, like="evt_%"):
    return [r[0] for r in rows(db, "SELECT id FROM events WHERE id LIKE ? ORDER BY id",
                               (like,))]


def test_missed_events_recovered_exactly_once():
    db = fresh()
    seeded = seed_missed()
    p = rt.poll(db, rye)
    rt.expect_exit(p, 0, "first sweep")
    check("rye: 152 recovered" in rt.summary(p), rt.summary(p))
    eq(len(stored_ids(db)), 152, "every event once")
    for e in seeded:
        eq(rows(db, "SELECT body, source FROM events WHERE id = ?", (e["id"],)),
           [(e["raw"].encode(), "sync")], "raw body of %s kept" % e["id"])
    v = rt.operator(db, "ci_miss")
    eq([s["trackingNumber"] for s in v["shipments"]], ["1ZMISS0001"], "completed too")
    for _ in range(2):
        rye.clear_log()
        p = rt.poll(db, rye)
        rt.expect_exit(p, 0, "again")
        check("rye: 0 recovered" in rt.summary(p), rt.summary(p))
        eq([r["path"] for r in rye.log()], ["/api/v1/events"], "one request")
    eq(len(stored_ids(db)), 152, "nothing twice")
    # Two new ones, behind a webhook that did arrive: found, once.
    rye.events(rt.event2_obj("checkout_intent.completed", "ci_new1", created=st.iso(70),
                             id="evt_new1"),
               rt.event2_obj("product.updated", "prod_x", "product", st.iso(71), "evt_new2"))
    post2(db, "product.updated", "prod_y", "product", created=st.iso(72), id="evt_new3")
    rye.intents(rt.intent("ci_new1"))
    p = rt.poll(db, rye)
    rt.expect_exit(p, 0)
    check("rye: 2 recovered, 1 intents" in rt.summary(p), rt.summary(p))
    eq(len(stored_ids(db)), 155, "two more and the webhook")


def test_sweep_killed_mid_page_loses_and_duplicates_nothing():
    db = fresh()
    seed_missed()
    rye.faults(slow_ms=4000, slow_count=2)
    proc = rt.start(db, rye)
    deadline = time.monotonic() + 30
    while not any(r["path"] == "/api/v1/events" for r in rye.ctl("log")["requests"]
                  if r["gen"]) and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.3)
    proc.send_signal(signal.SIGKILL)
    proc.communicate()
    integrity(db)
    # The first page was answered (and maybe stored), the second is in flight.
    check(len(stored_ids(db)) in (0, 100), "whole pages only: %d" % len(stored_ids(db)))
    rye.faults(reset=True)
    for _ in range(2):
        rt.expect_exit(rt.poll(db, rye), 0, "after the kill")
    eq(len(stored_ids(db)), 152, "all of them, once")
    integrity(db)


def test_sweep_resumes_a_first_walk_cut_by_the_page_cap():
    db = fresh()
    seed_missed(n_other=350)
    p = rt.poll(db, rye, env_extra={"SHIPTRACK_POLL_MAX_PAGES": 2})
    rt.expect_exit(p, 1, "the cap cuts the first walk")
    check(rt.summary(p).endswith("rye_events_page_cap"), rt.summary(p))
    check("poll_max_pages" in p.stderr, p.stderr)
    eq(len(stored_ids(db)), 200, "two pages stored")
    eq(rows(db, "SELECT count(*) FROM meta WHERE key = 'ryesync.events.mark'"), [(0,)],
       "no mark: not complete")
    rye.events(rt.event2_obj("product.updated", "prod_z", "product", st.iso(80), "evt_zz"))
    p = rt.poll(db, rye, env_extra={"SHIPTRACK_POLL_MAX_PAGES": 3})
    rt.expect_exit(p, 0, "the walk goes on where it was, after the new ones")
    eq(len(stored_ids(db)), 353, "every event once")
    rye.clear_log()
    rt.expect_exit(rt.poll(db, rye), 0)
    eq(len(rye.log()), 1, "then one request")


# --- gen 1: a refused TRACKING_OBTAINED ------------------------------------------

GQL_URL = "https://www.ups.com/track?tracknum="


def gen1_events(order, number):
    return [st.event("PAYMENT_SUCCEEDED", order, st.iso(0), "evt_%s_1" % order),
            st.event("ORDER_SUBMISSION_STARTED", order, st.iso(1), "evt_%s_2" % order),
            st.event("ORDER_SUBMISSION_SUCCEEDED", order, st.iso(2), "evt_%s_3" % order),
            st.event("ORDER_PLACED", order, st.iso(3), "evt_%s_4" % order),
            st.tracking(order, number, "UPS", GQL_URL + number, st.iso(10),
                        "evt_%s_5" % order)]


def seed_order1(order, number, status="SUCCEEDED"):
    names = ["PaymentSucceededOrderEvent", "OrderSubmissionStartedOrderEvent",
             "OrderSubmissionSucceededOrderEvent", "OrderPlacedOrderEvent",
             "TrackingObtainedOrderEvent"]
    times = [st.iso(m) for m in (0, 1, 2, 3, 10)]
    rye.orders(rt.order1(order, status, shipments=[
        {"carrierName": "UPS", "carrierTrackingNumber": number,
         "carrierTrackingUrl": GQL_URL + number}],
        events=[rt.gql_event(n, "g_%s_%d" % (order, i), t)
                for i, (n, t) in enumerate(zip(names, times))]))


def feed(db, bodies):
    for b in bodies:
        a = st.post(db, b, env=FAST)
        check(a.status == 200, "feeding: %s" % a)


def test_gen1_refused_tracking_recovered_and_late_webhook_duplicates_nothing():
    order, number = "ord1-refused", "1ZREFUSED0001"
    ref = st.fresh_db()
    feed(ref, gen1_events(order, number))
    db = fresh()
    bodies = gen1_events(order, number)
    feed(db, bodies[:4])
    a = st.post(db, bodies[4], env=dict(FAST, SHIPTRACK_WEBHOOK_SECRET=None))
    eq(a.status, 503, "the TRACKING_OBTAINED webhook is refused")
    seed_order1(order, number)
    p = rt.poll(db, rye)
    rt.expect_exit(p, 0)
    check("1 orders read" in rt.summary(p), rt.summary(p))
    eq([r["path"] for r in rye.log()], ["/v1/query"], "gen 1 only: no events list")
    eq(st.blank_times(rt.shopper(db, order).body),
       st.blank_times(rt.shopper(ref, order).body),
       "the same shopper view as the webhook-only path")
    eq([(s["trackingNumber"], s["carrier"], s["trackingUrl"], s["stale"])
        for s in rt.operator(db, order)["shipments"]],
       [(sh["trackingNumber"], sh["carrier"], sh["trackingUrl"], sh["stale"])
        for sh in rt.operator(ref, order)["shipments"]], "operator view's shipments")
    # The webhook arrives late anyway.
    a = st.post(db, bodies[4], env=FAST)
    eq((a.status, a.json()["duplicate"]), (200, False), "late webhook stored")
    eq(rows(db, "SELECT count(*) FROM shipments"), [(1,)], "no second shipment")
    eq(st.blank_times(rt.shopper(db, order).body),
       st.blank_times(rt.shopper(ref, order).body), "still the same shopper view")
    sources = {e["id"]: e["source"] for e in rt.operator(db, order)["events"]}
    eq(sources["evt_%s_5" % order], "webhook", "the late webhook's source")
    check(any(k.startswith("sync:") and v == "sync" for k, v in sources.items()),
          "orderByID's events kept as sync events: %r" % sources)


def test_gen1_never_sent_recovered_by_quiet_resync():
    order, number = "ord1-quiet", "1ZQUIET0001"
    db = fresh()
    feed(db, [st.event("PAYMENT_SUCCEEDED", order, st.iso(0), "evt_q1")])
    seed_order1(order, number)
    rt.expect_exit(rt.poll(db, rye), 0)
    eq(rye.log(), [], "quiet for less than rye_resync_hours: not read")
    st.sqlite(db, "UPDATE rye_sync SET next_sync_ms = 0")
    rt.expect_exit(rt.poll(db, rye), 0)
    v = rt.operator(db, order)
    eq((v["status"], [s["trackingNumber"] for s in v["shipments"]]),
       ("SUCCEEDED", [number]), "recovered by the re-read")
    eq(v["marketplace"], "shopify", "one spelling of the marketplace")


def test_replay_rebuilds_what_the_rye_pass_stored():
    db = fresh()
    seed_gen2("ci_rp", "shp_rp")
    rye.shipments(rt.shipment("shp_rp_pend", "ci_rp", status="ordered"))
    post2(db, "checkout_intent.completed", "ci_rp", created=st.iso(10))
    post2(db, "shipment.created", "shp_rp", "shipment", created=st.iso(40))
    post2(db, "shipment.created", "shp_rp_pend", "shipment", created=st.iso(41))
    seed_order1("ord1-rp", "1ZREPLAY0001")
    feed(db, gen1_events("ord1-rp", "1ZREPLAY0001")[:4])
    rt.expect_exit(rt.poll(db, rye), 0)
    eq(len(rt.operator(db, "ci_rp")["shipments"]), 2, "a numbered and a pending parcel")
    before = {o: st.blank_times(st.view(db, o)) for o in ("ci_rp", "ord1-rp")}
    p = st.run_cli(["replay"], db=db)
    eq(p.returncode, 0, "replay: " + p.stderr)
    check("(0 could not be parsed)" in p.stdout, p.stdout)
    for o, v in before.items():
        eq(st.blank_times(st.view(db, o)), v, "after replay: " + o)


def test_created_at_is_the_earliest_events_not_a_fetch_time():
    """An observation's time is when it was read: an order's createdAt stays
    its earliest event's, even when Rye's clock runs ahead of ours."""
    import datetime
    ahead = (datetime.datetime.now(datetime.timezone.utc) +
             datetime.timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M:%SZ")
    db = fresh()
    feed(db, [st.event("PAYMENT_SUCCEEDED", "ord1-ahead", ahead, "evt_ahead")])
    rye.orders(rt.order1("ord1-ahead", "PROCESSING"))
    rt.expect_exit(rt.poll(db, rye), 0)
    st.sqlite(db, "UPDATE rye_sync SET next_sync_ms = 0")
    rt.expect_exit(rt.poll(db, rye), 0)
    v = rt.operator(db, "ord1-ahead")
    check(any(e["type"] == "rye1.order.observed" for e in v["events"]), "read: %r" % v)
    eq((v["status"], v["createdAt"]), ("PROCESSING", ahead), "createdAt: the event's")


# --- buyer data -------------------------------------------------------------------

def test_buyer_email_from_rye_and_operator_wins():
    import notify_servers
    sink = notify_servers.SmtpSink()
    try:
        db = fresh()
        rye.intents(rt.intent("ci_mail", email="buyer@example.com"),
                    rt.intent("ci_op", email="buyer2@example.com"))
        post2(db, "checkout_intent.completed", "ci_mail", created=st.iso(10))
        post2(db, "checkout_intent.completed", "ci_op", created=st.iso(10))
        a = st.api(db, "/v1/orders/ci_op/contact", method="PUT",
                   body=json.dumps({"email": "typed@example.com"}))
        eq(a.status, 204, "operator sets an address")
        rt.expect_exit(rt.poll(db, rye), 0)
        c = rt.operator(db, "ci_mail")["contact"]
        eq((c["email"], c["orderNumber"], c["postalCode"], c["country"], c["from"]["email"]),
           ("buyer@example.com", "order-1234", "10001", "US", "rye"), "buyer data")
        c = rt.operator(db, "ci_op")["contact"]
        eq((c["email"], c["from"]["email"]), ("typed@example.com", "operator"),
           "the operator's address wins")
        e = {"SHIPTRACK_SMTP_URL": sink.url, "SHIPTRACK_MAIL_FROM": "orders@shop.example"}
        p = st.run_cli(["notify"], db=db, env=e)
        eq(p.returncode, 0, "notify: " + p.stdout + p.stderr)
        rcpts = sorted(r for m in sink.messages for r in m["rcpt"])
        eq(rcpts, ["<buyer@example.com>", "<typed@example.com>"],
           "the stage-change e-mail went out with no operator action")
        check(b"buyer@example.com" not in rt.shopper(db, "ci_mail").body, "not shown")
    finally:
        sink.close()


# --- exactly once ---------------------------------------------------------------------

def notifications(db, order):
    return rows(db, "SELECT stage, shipment FROM notifications WHERE order_id = ?"
                " ORDER BY id", (order,))


def test_same_change_by_webhook_and_by_sync_notified_once():
    order, number = "ord1-once", "1ZONCE0001"
    db = fresh()
    bodies = gen1_events(order, number)
    feed(db, bodies[:4])
    seed_order1(order, number)
    rt.expect_exit(rt.poll(db, rye), 0)
    feed(db, bodies[4:])
    want = [("processing", ""), ("placed", ""), ("shipped", "")]
    eq(notifications(db, order), want, "webhooks, then sync, then the late webhook")
    order2 = "ord1-once2"
    bodies = gen1_events(order2, number)
    feed(db, bodies[:1])
    seed_order1(order2, number)
    rt.expect_exit(rt.poll(db, rye), 0)
    st.sqlite(db, "UPDATE rye_sync SET next_sync_ms = 0")
    rt.expect_exit(rt.poll(db, rye), 0)
    eq(notifications(db, order2), want, "sync: each stage it passed once")
    feed(db, bodies[1:])
    rt.expect_exit(rt.poll(db, rye), 0)
    eq(notifications(db, order2), want, "then the same changes by webhook: nothing new")


# --- statuses Rye adds ------------------------------------------------------------------

def test_unknown_statuses_stored_and_shown():
    db = fresh()
    feed(db, [st.event("PAYMENT_SUCCEEDED", "ord1-act", st.iso(0), "evt_act")])
    rye.orders(rt.order1("ord1-act", "ACTION_REQUIRED"))
    rye.intents(rt.intent("ci_act", state="requires_action"))
    post2(db, "checkout_intent.offer_retrieved", "ci_act", created=st.iso(5))
    st.sqlite(db, "UPDATE rye_sync SET next_sync_ms = 0")
    rt.poll(db, rye)
    st.sqlite(db, "UPDATE rye_sync SET next_sync_ms = 0")
    rt.expect_exit(rt.poll(db, rye), 0)
    for o in ("ord1-act", "ci_act"):
        v = rt.operator(db, o)
        eq((v["status"], v["stage"]), ("ACTION_REQUIRED", "processing"), o)
    a = st.api(db, "/v1/orders", query="status=ACTION_REQUIRED")
    eq(sorted(x["id"] for x in a.json()["orders"]), ["ci_act", "ord1-act"], "listed")
    a = st.api(db, "/v1/stats")
    eq(a.json()["status"].get("ACTION_REQUIRED"), 2, "counted")
    a = st.api(db, "/v1/metrics")
    check(b'shiptrack_orders_by_status{status="ACTION_REQUIRED"} 2' in a.body,
          "in the metrics")


# --- faults ----------------------------------------------------------------------------------

def gen1_due(order, number="1ZFAULT0001"):
    """A gen-1 order placed long ago without a shipment: due at once."""
    db = fresh()
    feed(db, gen1_events(order, number)[:4])
    seed_order1(order, number)
    return db


def assert_consistent(db, order, p, code, result):
    rt.expect_exit(p, code)
    check(rt.summary(p).endswith(result), rt.summary(p))
    integrity(db)
    eq(rows(db, "SELECT count(*) FROM shipments"), [(0,)], "nothing half applied")
    v = rt.operator(db, order)
    check(v["syncError"] is not None and v["syncError"]["message"], "syncError: %r" % v)
    s = st.api(db, "/v1/stats").json()["rye"]
    eq(s["result"], result, "stats")
    check(int(s["errors"]) >= 1, "errors in stats: %r" % s)
    return v


def test_unauthorized_exit_2_changes_nothing():
    db = fresh()
    seed_gen2("ci_401", "shp_401")
    post2(db, "checkout_intent.completed", "ci_401", created=st.iso(10))
    before = st.dump(db)
    p = rt.poll(db, rye, carrier=carrier, key="RYE/wrong-key-for-this-test")
    rt.expect_exit(p, 2, "refused key")
    check("rye_api_key" in p.stderr and "401" in p.stderr, p.stderr)
    check(rt.summary(p).endswith("rye_unauthorized"), rt.summary(p))
    check("carrier: skipped" in rt.summary(p), rt.summary(p))
    eq(st.dump(db), before, "no state change")
    # Gen 1: the key works only with Basic; a refusal changes no order either.
    db = gen1_due("ord1-401")
    before = st.dump(db)
    p = rt.poll(db, rye, key="RYE/wrong-key-for-this-test")
    rt.expect_exit(p, 2, "refused key, gen 1")
    after = st.dump(db)
    for t in ("events", "orders", "shipments", "order_facts", "notifications"):
        eq(after[t], before[t], "gen 1: " + t)
    check(rt.operator(db, "ord1-401")["syncError"] is None, "no syncError for a key")


def test_429_with_and_without_headers_waited_out():
    db = gen1_due("ord1-429")
    rye.faults(force_429={"count": 1, "retry_after": "1"})
    rt.expect_exit(rt.poll(db, rye), 0, "429 with Retry-After")
    db = gen1_due("ord1-429b")
    rye.faults(force_429={"count": 1}, ratelimit_headers="none")
    rt.expect_exit(rt.poll(db, rye), 0, "429 without headers")
    eq(len(rt.operator(db, "ord1-429b")["shipments"]), 1, "read after the wait")
    db = gen1_due("ord1-429c")
    rye.faults(force_429={"count": 20, "retry_after": "1"})
    p = rt.poll(db, rye)
    assert_consistent(db, "ord1-429c", p, 1, "rye_unavailable")


def test_5xx_timeouts_malformed_and_huge_answers():
    db = gen1_due("ord1-5xx")
    rye.faults(status_5xx={"count": 1, "code": 502})
    rt.expect_exit(rt.poll(db, rye), 0, "one 502: retried")
    cases = [
        ("ord1-5xx-b", {"status_5xx": {"count": 20, "code": 503}}, {}, "rye_unavailable"),
        ("ord1-slow", {"slow_ms": 2500, "slow_count": 20}, {"SHIPTRACK_CARRIER_TIMEOUT": 1},
         "rye_unavailable"),
        ("ord1-cut", {"malformed_json_count": 20}, {}, "rye_some_failed"),
        ("ord1-huge", {"huge_body": {"count": 20, "bytes": 5 << 20}}, {},
         "rye_some_failed"),
    ]
    for order, faults, extra, result in cases:
        db = gen1_due(order)
        rye.faults(**faults)
        p = rt.poll(db, rye, env_extra=extra)
        v = assert_consistent(db, order, p, 1, result)
        rye.faults(reset=True)
        # The error backs off: the next run leaves the order alone ...
        rye.clear_log()
        rt.expect_exit(rt.poll(db, rye), 0, order + ": backing off")
        eq(rye.log(), [], order + ": not asked again at once")
        # ... and once due, it is read and the error cleared.
        st.sqlite(db, "UPDATE rye_sync SET next_sync_ms = 0")
        rt.expect_exit(rt.poll(db, rye), 0, order + ": recovered")
        v = rt.operator(db, order)
        eq((v["syncError"], len(v["shipments"])), (None, 1), order + ": recovered")


def test_endless_events_paging_bounded():
    for mode, result, pages in (("new", "rye_events_page_cap", 5),
                                ("repeat", "rye_events_repeated", 2)):
        db = fresh()
        seed_missed(n_other=10)
        rye.faults(endless_paging=mode)
        p = rt.poll(db, rye, env_extra={"SHIPTRACK_POLL_MAX_PAGES": 5}, timeout=60)
        rt.expect_exit(p, 1, "endless paging " + mode)
        check(rt.summary(p).endswith(result), rt.summary(p))
        check("events sweep" in p.stderr, p.stderr)
        sweeps = [r for r in rye.log() if r["path"] == "/api/v1/events"]
        eq(len(sweeps), pages, "bounded")
        eq(rows(db, "SELECT count(*) FROM meta WHERE key = 'ryesync.events.mark'"), [(0,)],
           "the mark does not move")
        eq(len(stored_ids(db)), 12, "each event once")
        integrity(db)
        eq(st.api(db, "/v1/stats").json()["rye"]["result"], result, "in stats")


def test_intent_unknown_to_rye_is_a_sync_error():
    db = fresh()
    post2(db, "checkout_intent.completed", "ci_ghost", created=st.iso(10))
    p = rt.poll(db, rye)
    rt.expect_exit(p, 1)
    v = rt.operator(db, "ci_ghost")
    check("does not know" in v["syncError"]["message"], "syncError: %r" % v)


# --- cost, options ----------------------------------------------------------------------------

def test_nothing_due_costs_one_request_and_gen1_none():
    db = fresh()
    seed_gen2("ci_cost", "shp_cost")
    post2(db, "checkout_intent.completed", "ci_cost", created=st.iso(10))
    post2(db, "shipment.created", "shp_cost", "shipment", created=st.iso(40))
    rt.expect_exit(rt.poll(db, rye), 0)
    rye.clear_log()
    rt.expect_exit(rt.poll(db, rye), 0)
    eq([(r["method"], r["path"]) for r in rye.log()], [("GET", "/api/v1/events")],
       "nothing due: the events list once")
    db = gen1_due("ord1-cost")
    rt.expect_exit(rt.poll(db, rye), 0)
    rye.clear_log()
    rt.expect_exit(rt.poll(db, rye), 0)
    eq(rye.log(), [], "gen 1 only, nothing due: no request")


def test_quiet_sweep_is_one_request_after_a_burst():
    """More than a page of events within poll_sync_margin of the mark: a run
    with nothing new still asks for one page."""
    db = fresh()
    rye.events(*[rt.event2_obj("product.updated", "prod_b%d" % i, "product", st.iso(5),
                               "evt_burst_%03d" % i) for i in range(150)])
    rt.expect_exit(rt.poll(db, rye), 0)
    eq(len(stored_ids(db, "evt_burst_%")), 150, "the burst, recovered")
    rye.clear_log()
    rt.expect_exit(rt.poll(db, rye), 0)
    eq(len(rye.log()), 1, "nothing new: one request")
    # A new event on top of the burst is still found, with the pages it takes.
    rye.events(rt.event2_obj("product.updated", "prod_b_new", "product", st.iso(5),
                             "evt_burst_new"))
    p = rt.poll(db, rye)
    rt.expect_exit(p, 0)
    check("rye: 1 recovered" in rt.summary(p), rt.summary(p))


def test_options_and_no_key():
    db = fresh()
    p = rt.poll(db, rye, "--rye-only", "--carrier-only")
    rt.expect_exit(p, 2, "exclusive options")
    check("exclude each other" in p.stderr, p.stderr)
    seed_gen2("ci_opt", "shp_opt")
    post2(db, "checkout_intent.completed", "ci_opt", created=st.iso(10))
    p = rt.poll(db, rye, "--carrier-only", carrier=carrier)
    rt.expect_exit(p, 0)
    check("rye: skipped (--carrier-only)" in rt.summary(p), rt.summary(p))
    eq(rye.log(), [], "--carrier-only: no Rye request")
    carrier.clear_log()
    p = rt.poll(db, rye, "--rye-only")
    rt.expect_exit(p, 0)
    check("carrier: skipped (--rye-only)" in rt.summary(p), rt.summary(p))
    eq(carrier.api_log(), [], "--rye-only: no carrier request")
    p = rt.poll(db, rye, carrier=carrier, env_extra={"SHIPTRACK_RYE_API_KEY": None})
    rt.expect_exit(p, 0, "no key")
    check(rt.summary(p).startswith("shiptrack-poll: rye: skipped (no rye_api_key); "),
          rt.summary(p))
    p = rt.poll(db, rye, env_extra={"SHIPTRACK_RYE_AUTH_SCHEME": "Digest"})
    rt.expect_exit(p, 2, "bad scheme")
    check("rye_auth_scheme" in p.stderr, p.stderr)


def test_stats_and_metrics_show_the_rye_pass():
    db = fresh()
    seed_missed(n_other=3)
    rt.expect_exit(rt.poll(db, rye), 0)
    s = st.api(db, "/v1/stats").json()["rye"]
    eq((s["result"], s["eventsRecovered"], s["intentsCompleted"], s["errors"]),
       ("ok", "5", "1", "0"), "stats")
    check(s["lastSuccess"] == s["finishedAt"], "lastSuccess %r" % s)
    p = st.run_cli(["stats"], db=db)
    check("eventsRecovered" in p.stdout and "rye:" in p.stdout, p.stdout)
    m = st.api(db, "/v1/metrics").body.decode()
    check("shiptrack_rye_events_recovered_total 5" in m, "recovered counter")
    check('shiptrack_rye_requests_total{op="list_events",outcome="ok"} 1' in m,
          "requests counter")


if __name__ == "__main__":
    st.run()
