#!/usr/bin/env python3
"""Order state is a function of the set of events, not of arrival order.

A six-event lifecycle is fed in all 720 arrival orders into fresh
databases; every operator view must equal the first byte for byte once
updatedAt and each event's receivedAt are blanked.  Then cancellation,
stale events and equal-time ties, in every arrival order.
"""
import difflib
import itertools
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


if __name__ == "__main__":
    try:
        st.run()
    finally:
        shutil.rmtree(TMP, ignore_errors=True)
