#!/usr/bin/env python3
"""Order state is a function of the set of events, not of arrival order.

A six-event lifecycle is fed in all 720 arrival orders into fresh
databases; every operator view must equal the first byte for byte once
updatedAt and each event's receivedAt are blanked.  Then cancellation,
stale events and equal-time ties, in every arrival order.  Then the same
facts by webhook, by the Rye pass of shiptrack-poll (against the Rye
stand-in), or both, in any order, give the same shopper view.
"""
import difflib
import itertools
import json
import multiprocessing
import os
import shutil
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import shiptrack_test as st  # noqa: E402
from shiptrack_test import check, eq  # noqa: E402

TMP = st.tempdir()
FAST = {"SHIPTRACK_DURABILITY": "normal"}
ORDER = "ord_perm_1"

LIFECYCLE = [
    st.event("PAYMENT_SUCCEEDED", ORDER, st.iso(0), "evt_p1",
             data={"marketplace": "shopify", "amount": 4599}),
    st.event("ORDER_SUBMISSION_STARTED", ORDER, st.iso(1), "evt_p2"),
    st.event("ORDER_SUBMISSION_SUCCEEDED", ORDER, st.iso(2, ms=True), "evt_p3"),
    st.event("ORDER_PLACED", ORDER, "2025-03-01T09:03:00.125Z", "evt_p4"),
    st.tracking(ORDER, "1ZPERM0000000001", "UPS", "https://ups.example/1ZPERM0000000001",
                st.iso(10), "evt_p5"),
    st.tracking(ORDER, "TBA0000PERM2", "Amazon Logistics", None, st.iso(20), "evt_p6",
                where="data", aliases=("carrierTrackingNumber", "carrierName",
                                       "carrierTrackingUrl")),
]


def feed_and_view(bodies, order=ORDER):
    """Feed bodies into a fresh database; return (blanked view, raw view)."""
    d = os.path.join(TMP, "w%d" % os.getpid())
    os.makedirs(d, exist_ok=True)
    path = st.fresh_db(d)
    try:
        for b in bodies:
            a = st.post(path, b, env=FAST)
            if a.status != 200 or a.json()["duplicate"] is not False:
                raise AssertionError("feeding %r: %s" % (b[:60], a))
        raw = st.view(path, order)
        return st.blank_times(raw), raw
    finally:
        for suffix in ("", "-wal", "-shm"):
            try:
                os.unlink(path + suffix)
            except OSError:
                pass


def _worker(perm):
    try:
        blanked, _ = feed_and_view([LIFECYCLE[i] for i in perm])
        return perm, blanked, None
    except Exception as e:  # reported by the parent
        return perm, None, "%s: %s" % (e.__class__.__name__, e)


def show_diff(a, b):
    return "\n".join(difflib.unified_diff(
        a.decode("utf-8", "replace").replace(",", ",\n").splitlines(),
        b.decode("utf-8", "replace").replace(",", ",\n").splitlines(),
        "first", "this", lineterm="", n=1))


def test_reference_view_is_right():
    blanked, raw = feed_and_view(LIFECYCLE)
    j = st.Answer(200, {}, raw, b"").json()
    eq(j["status"], "SUCCEEDED", "status")
    eq(j["stage"], "shipped", "stage")
    eq(j["marketplace"], "shopify", "marketplace")
    eq(j["createdAt"], st.iso(0), "createdAt")
    eq([(s["trackingNumber"], s["carrier"], s["trackingUrl"]) for s in j["shipments"]],
       [("1ZPERM0000000001", "UPS", "https://ups.example/1ZPERM0000000001"),
        ("TBA0000PERM2", "Amazon Logistics", None)], "shipments in announcement order")
    eq([e["id"] for e in j["events"]], ["evt_p%d" % i for i in range(1, 7)],
       "events oldest first")
    eq(blanked.count(b'"receivedAt":""'), 6, "six receivedAt blanked")


def test_all_720_arrival_orders_give_the_same_view():
    st.template_db()  # migrate once, before the workers fork
    perms = list(itertools.permutations(range(len(LIFECYCLE))))
    eq(len(perms), 720, "permutations")
    start = time.monotonic()
    ctx = multiprocessing.get_context("fork")
    with ctx.Pool(2) as pool:
        results = pool.map(_worker, perms, chunksize=12)
        pool.close()    # the workers end by themselves; none is killed
        pool.join()
    errors = [(p, e) for p, v, e in results if e is not None]
    check(not errors, "%d arrival orders failed, first %r: %s" %
          (len(errors), errors[0][0] if errors else None, errors[0][1] if errors else ""))
    ref = results[0][1]
    bad = [(p, v) for p, v, e in results if v != ref]
    st.checks += len(results) - 1
    check(not bad, "%d of 720 arrival orders differ; first %r:\n%s" %
          (len(bad), bad[0][0] if bad else None,
           show_diff(ref, bad[0][1]) if bad else ""))
    print("# 720 arrival orders in %.1fs" % (time.monotonic() - start))


def all_orders(bodies, status, stage=None, order=ORDER, what=""):
    """Feed bodies in every arrival order; all views equal, given status."""
    views = {}
    for perm in itertools.permutations(range(len(bodies))):
        blanked, raw = feed_and_view([bodies[i] for i in perm], order)
        j = st.Answer(200, {}, raw, b"").json()
        eq(j["status"], status, "%s: status for arrival order %r" % (what, perm))
        if stage is not None:
            eq(j["stage"], stage, "%s: stage for arrival order %r" % (what, perm))
        views.setdefault(blanked, perm)
    if len(views) > 1:
        (v1, p1), (v2, p2) = list(views.items())[:2]
        check(False, "%s: %d different views, e.g. for arrival orders %r and %r:\n%s" %
              (what, len(views), p1, p2, show_diff(v1, v2)))
    st.checks += 1


def test_cancel_failed_returns_to_succeeded():
    o = "ord_cancel_failed"
    all_orders([st.event("ORDER_PLACED", o, st.iso(0), "evt_cf1"),
                st.event("ORDER_CANCEL_STARTED", o, st.iso(1), "evt_cf2",
                         data={"marketplace": "shopify", "startedAt": st.iso(1)}),
                st.event("ORDER_CANCEL_FAILED", o, st.iso(2), "evt_cf3",
                         data={"marketplace": "shopify", "reason": "already shipped"})],
               "SUCCEEDED", order=o, what="placed, cancel started, cancel failed")


def test_cancel_succeeded_is_cancelled():
    o = "ord_cancelled"
    all_orders([st.event("ORDER_PLACED", o, st.iso(0), "evt_cs1"),
                st.event("ORDER_CANCEL_STARTED", o, st.iso(1), "evt_cs2"),
                st.event("ORDER_CANCEL_SUCCEEDED", o, st.iso(2), "evt_cs3")],
               "CANCELLED", "cancelled", order=o,
               what="placed, cancel started, cancel succeeded")


def test_cancel_in_progress():
    o = "ord_cancelling"
    all_orders([st.event("ORDER_SUBMISSION_SUCCEEDED", o, st.iso(0), "evt_ci1"),
                st.event("ORDER_CANCEL_STARTED", o, st.iso(1), "evt_ci2")],
               "CANCELLATION_IN_PROGRESS", order=o, what="cancel started")


def test_cancel_failed_returns_to_processing():
    o = "ord_cancel_failed_proc"
    all_orders([st.event("PAYMENT_SUCCEEDED", o, st.iso(0), "evt_cp0"),
                st.event("ORDER_SUBMISSION_STARTED", o, st.iso(1), "evt_cp1"),
                st.event("ORDER_CANCEL_STARTED", o, st.iso(2), "evt_cp2"),
                st.event("ORDER_CANCEL_FAILED", o, st.iso(3), "evt_cp3")],
               "PROCESSING", order=o, what="processing, cancel started, cancel failed")


def test_stale_event_does_not_move_status_backwards():
    o = "ord_stale"
    d = os.path.join(TMP, "stale")
    os.makedirs(d, exist_ok=True)
    path = st.fresh_db(d)
    steps = [(st.event("PAYMENT_SUCCEEDED", o, st.iso(0), "evt_st1"), "PENDING"),
             (st.event("ORDER_PLACED", o, st.iso(2), "evt_st3"), "SUCCEEDED"),
             (st.event("ORDER_SUBMISSION_STARTED", o, st.iso(1), "evt_st2"), "SUCCEEDED"),
             (st.event("ORDER_SUBMISSION_SUCCEEDED", o, st.iso(1, ms=True), "evt_st2b"),
              "SUCCEEDED"),
             (st.event("ORDER_CANCEL_STARTED", o, st.iso(-5), "evt_st0"), "SUCCEEDED")]
    for body, want in steps:
        a = st.post(path, body, env=FAST)
        eq(a.status, 200, "post")
        j = st.Answer(200, {}, st.view(path, o), b"").json()
        eq(j["status"], want, "after %s" % j["events"][-1]["type"])
    j = st.Answer(200, {}, st.view(path, o), b"").json()
    eq(j["createdAt"], st.iso(-5), "createdAt follows the earliest event")
    eq([e["id"] for e in j["events"]], ["evt_st0", "evt_st1", "evt_st2", "evt_st2b",
                                        "evt_st3"], "events sorted by createdAt")


def test_equal_times_broken_by_list_order():
    t = st.iso(30)
    o = "ord_tie_1"
    all_orders([st.event("ORDER_PLACED", o, t, "evt_tie_b"),
                st.event("ORDER_FAILED", o, t, "evt_tie_a")],
               "FAILED", order=o, what="placed and failed at the same time")
    o = "ord_tie_2"
    all_orders([st.event("ORDER_SUBMISSION_SUCCEEDED", o, t, "evt_tie_z"),
                st.event("ORDER_PLACED", o, t, "evt_tie_y")],
               "SUCCEEDED", order=o, what="submission succeeded and placed together")
    o = "ord_tie_3"
    all_orders([st.tracking(o, "1ZTIE", "UPS", None, t, "evt_tie_t"),
                st.event("ORDER_CANCEL_SUCCEEDED", o, t, "evt_tie_c")],
               "CANCELLED", order=o, what="tracking and cancelled together")
    o = "ord_tie_4"
    all_orders([st.event("ORDER_PLACED", o, st.iso(29), "evt_tie_p"),
                st.event("ORDER_CANCEL_STARTED", o, t, "evt_tie_s"),
                st.event("ORDER_CANCEL_FAILED", o, t, "evt_tie_f")],
               "SUCCEEDED", order=o, what="cancel started and failed together")


# --- by webhook, by sync, or both ------------------------------------------------

RYE = None


def rye_stub():
    global RYE
    if RYE is None:
        import rye_test
        RYE = rye_test.RyeStub()
    return RYE


def run_plan(plan, bodies, gen, order, before_pass=None):
    """Play one arrival order: ("webhook", i) posts bodies[i], ("pass",) runs the
    Rye pass (--rye-only); a last pass follows.  The blanked shopper view."""
    import rye_test
    rye = rye_stub()
    path = st.fresh_db()
    for step in list(plan) + [("pass",)]:
        if step[0] == "webhook":
            a = st.post(path, bodies[step[1]], gen=gen, env=FAST)
            check(a.status == 200, "webhook: %s" % a)
        else:
            if before_pass:
                before_pass(path)
            p = rye_test.poll(path, rye)
            check(p.returncode == 0, "Rye pass: %s %s" % (p.stdout, p.stderr[-1500:]))
    return st.blank_times(rye_test.shopper(path, order).body)


def plans(modes, n):
    """Every arrival order of the webhooks the modes send and one pass."""
    hooks = [("webhook", i) for i in range(n) if modes[i] in ("webhook", "both")]
    return set(itertools.permutations(hooks + [("pass",)]))


def all_the_same(results, what):
    views = {}
    for key, view in results:
        views.setdefault(view, key)
    if len(views) > 1:
        (v1, k1), (v2, k2) = list(views.items())[:2]
        check(False, "%s: %d different shopper views, e.g. %r and %r:\n%s" %
              (what, len(views), k1, k2, show_diff(v1, v2)))
    st.checks += 1


def test_gen2_by_webhook_by_sync_or_both_same_shopper_view():
    import rye_test
    rye = rye_stub()
    ci, shp = "ci_perm_2", "shp_perm_2"
    objs = [rye_test.event2_obj("checkout_intent.completed", ci, created=st.iso(10),
                                id="evt_perm2_c"),
            rye_test.event2_obj("shipment.created", shp, "shipment", st.iso(40),
                                "evt_perm2_s")]
    bodies = [st.dumps(o) for o in objs]
    results = []
    for modes in itertools.product(("webhook", "sync", "both"), repeat=2):
        for plan in sorted(plans(modes, 2)):
            rye.reset()
            rye.intents(rye_test.intent(ci))
            rye.shipments(rye_test.shipment(shp, ci, number="1ZPERM2000001"))
            # What Rye's events list holds: the events not only sent by webhook.
            listed = [{"raw": b.decode()} for b, m in zip(bodies, modes) if m != "webhook"]
            if listed:
                rye.events(*listed)
            results.append(((modes, plan), run_plan(plan, bodies, 2, ci)))
    eq(len(results), 33, "arrival orders")
    j = json.loads(results[0][1])
    eq((j["status"], j["stage"], [s["trackingNumber"] for s in j["shipments"]]),
       ("SUCCEEDED", "in_transit", ["1ZPERM2000001"]), "the view")
    all_the_same(results, "gen 2")


def test_gen1_by_webhook_by_sync_or_both_same_shopper_view():
    import rye_test
    rye = rye_stub()
    o, number = "ord_perm_1b", "1ZPERM1000001"
    url = "https://www.ups.com/track?tracknum=" + number
    bodies = [st.event("PAYMENT_SUCCEEDED", o, st.iso(0), "evt_pb1"),
              st.event("ORDER_PLACED", o, st.iso(3), "evt_pb4"),
              st.tracking(o, number, "UPS", url, st.iso(10), "evt_pb5")]
    typenames = ["PaymentSucceededOrderEvent", "OrderPlacedOrderEvent",
                 "TrackingObtainedOrderEvent"]
    gql = [rye_test.gql_event(t, "g_pb%d" % i, st.iso(m))
           for i, (t, m) in enumerate(zip(typenames, (0, 3, 10)))]

    def due(path):
        rye_test.make_due(path)

    reference = None
    results = []
    for modes in itertools.product(("webhook", "sync", "both"), repeat=2):
        for plan in sorted(plans(("webhook",) + modes, 3)):
            rye.reset()
            rye.orders(rye_test.order1(o, "SUCCEEDED", shipments=[
                {"carrierName": "UPS", "carrierTrackingNumber": number,
                 "carrierTrackingUrl": url}], events=gql))
            # The payment's webhook first: the order must be known to be re-read.
            first = [("webhook", 0)] if ("webhook", 0) in plan else []
            rest = tuple(s for s in plan if s != ("webhook", 0))
            results.append(((modes, plan), run_plan(first + list(rest), bodies, 1, o,
                                                    due)))
    path = st.fresh_db()
    for b in bodies:
        check(st.post(path, b, env=FAST).status == 200, "reference")
    reference = st.blank_times(st.api(path, "/v1/track/" + o, token=None,
                                      query="key=" + _key(o),
                                      env={"SHIPTRACK_LOOKUP_SECRET": _SECRET}).body)
    results.append((("webhooks only, no Rye pass",), reference))
    j = json.loads(reference)
    eq((j["status"], j["stage"], [s["trackingNumber"] for s in j["shipments"]]),
       ("SUCCEEDED", "shipped", [number]), "the view")
    all_the_same(results, "gen 1")


_SECRET = "lookup_secret_for_rye_tests"


def _key(order_id):
    import base64
    import hashlib
    import hmac
    mac = hmac.new(_SECRET.encode(), order_id.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac[:16]).decode().rstrip("=")


if __name__ == "__main__":
    try:
        st.run()
    finally:
        shutil.rmtree(TMP, ignore_errors=True)
