#!/usr/bin/env python3
"""Everything the carrier knows, and stalls, through the real poller and the
AfterShip stand-in.

Estimates by source (a range from the courier, AfterShip's prediction),
the pickup location and note while a parcel waits for pickup, who signed
on delivery and the carrier's https tracking link reach the shopper view's
JSON; AfterShip's push applies them the same way.

A parcel whose estimate passes with no scan since, or that goes stale,
queues one "delayed" notification per stall episode: not again on re-polls,
`shiptrack replay`, or pushes (duplicate or new) of the same state; a later
scan ends the episode, and a second stall is a new one.  Staleness that
comes with time alone is found by the poller's sweep.  Stats count them.
"""

import base64
import hashlib
import hmac
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import shiptrack_test as st  # noqa: E402
import poll_test as pt  # noqa: E402

stub = pt.Stub()
NUM = "1Z999AA10123456784"
NUM2 = "1Z999AA10123456785"
LOOKUP = "lookup_secret_carrier_facts_1"
DAY = 86400


def fresh():
    stub.reset()
    return st.fresh_db()


def order(db, order_id, number):
    """Announce a shipment now (st.iso counts from an old BASE_TIME, which
    would make every new shipment stale at once)."""
    minutes = int((time.time() - st.BASE_TIME.timestamp()) // 60)
    pt.order(db, order_id, number, "UPS", minutes=minutes)


def shopper_view(db, order_id):
    mac = hmac.new(LOOKUP.encode(), order_id.encode(), hashlib.sha256).digest()[:16]
    key = base64.urlsafe_b64encode(mac).decode().rstrip("=")
    a = st.api(db, "/v1/track/" + order_id, token=None, query="key=" + key,
               env={"SHIPTRACK_LOOKUP_SECRET": LOOKUP})
    st.eq(a.status, 200, "shopper view: %s" % a)
    return a.json()


def delayed(db):
    """The "delayed" notifications of every order, as the operator views
    list them: (order id, shipment, previous stage)."""
    return [(o, n["shipment"], n["previousStage"]) for o in st.order_ids(db)
            for n in st.operator_view(db, o)["notifications"] if n["stage"] == "delayed"]


def test_estimates_pickup_signer_link_in_json():
    db = fresh()
    order(db, "ord_facts", NUM)
    pt.expect_exit(pt.poll(db, stub), 0, "register")
    later = int(time.time()) + 5
    stub.advance(tracking_number=NUM, tag="AvailableForPickup", message="At the counter",
                 checkpoint_time=pt.iso_at(later - 600), updated_at=later,
                 latest_estimate={"type": "range", "source": "Carrier EDD", "datetime": None,
                                  "datetime_min": "2030-05-09", "datetime_max": "2030-05-11"},
                 courier_estimate={"date": "2030-05-10"},
                 aftership_estimate={"date": "2030-05-12", "min": "2030-05-11",
                                     "max": "2030-05-13", "confidence_code": 80},
                 pickup_location="UPS Access Point, 12 High St", pickup_note="Bring photo ID",
                 signed_by="NOBODY YET",
                 courier_tracking_link="https://www.ups.com/track?tracknum=" + NUM)
    pt.expect_exit(pt.poll(db, stub), 0, "poll with carrier facts")
    s = shopper_view(db, "ord_facts")["shipments"][0]
    st.eq(s["estimates"], [
        {"source": "carrier", "earliest": "2030-05-09", "latest": "2030-05-11"},
        {"source": "predicted", "earliest": "2030-05-11", "latest": "2030-05-13"}],
        "estimates: the carrier's range (latest_estimated_delivery), AfterShip's prediction")
    st.eq(s["pickup"], {"location": "UPS Access Point, 12 High St", "note": "Bring photo ID"},
          "pickup while AvailableForPickup")
    st.eq(s["signedBy"], None, "signedBy only once delivered")
    st.eq(s["carrierTrackingLink"], "https://www.ups.com/track?tracknum=" + NUM, "link")
    st.eq(s["expectedDelivery"], "2030-05-10", "the old key as before (the courier's date)")

    # Delivered: signed_by shows, the pickup goes; an http link is refused.
    stub.advance(tracking_number=NUM, tag="Delivered", message="Delivered",
                 checkpoint_time=pt.iso_at(later + 60), updated_at=later + 120,
                 signed_by="J. DOE", latest_estimate=None, courier_estimate=None,
                 courier_tracking_link="http://www.ups.com/track?tracknum=" + NUM)
    pt.expect_exit(pt.poll(db, stub), 0, "poll delivered")
    v = shopper_view(db, "ord_facts")
    s = v["shipments"][0]
    st.eq(s["signedBy"], "J. DOE", "signedBy")
    st.eq(s["pickup"], None, "no pickup once delivered")
    st.eq(s["carrierTrackingLink"], None, "http link not shown")
    st.eq(s["estimates"], [{"source": "predicted", "earliest": "2030-05-11",
                            "latest": "2030-05-13"}], "the prediction alone")
    # The operator view and the list carry the same keys.
    op = pt.view(db, "ord_facts")["shipments"][0]
    st.eq({k: op[k] for k in ("estimates", "pickup", "signedBy", "carrierTrackingLink")},
          {k: s[k] for k in ("estimates", "pickup", "signedBy", "carrierTrackingLink")},
          "operator view")


def test_push_applies_carrier_facts():
    db = fresh()
    order(db, "ord_push_facts", NUM)
    m = {"id": None, "tracking_number": NUM, "slug": "ups", "tag": "AvailableForPickup",
         "subtag": "AvailableForPickup_001", "updated_at": "2030-01-02T00:00:00+00:00",
         "courier_estimated_delivery_date": {"estimated_delivery_date": None,
                                             "estimated_delivery_date_min": "2030-01-03",
                                             "estimated_delivery_date_max": "2030-01-04"},
         "pickup_location": "Locker 7", "pickup_note": None,
         "courier_tracking_link": "https://carrier.example/t/" + NUM, "checkpoints": []}
    st.eq(pt.push(db, m, event_id="as-facts-1").status, 200, "push")
    s = pt.view(db, "ord_push_facts")["shipments"][0]
    st.eq(s["estimates"], [{"source": "carrier", "earliest": "2030-01-03",
                            "latest": "2030-01-04"}], "pushed range")
    st.eq(s["pickup"], {"location": "Locker 7", "note": None}, "pushed pickup")
    st.eq(s["carrierTrackingLink"], "https://carrier.example/t/" + NUM, "pushed link")


def stats(db):
    a = st.api(db, "/v1/stats")
    st.eq(a.status, 200, "stats")
    return a.json()["delayed"]


def test_delayed_once_per_episode():
    db = fresh()
    order(db, "ord_stall", NUM)
    pt.expect_exit(pt.poll(db, stub), 0, "register")
    now = int(time.time())
    # Scanned two days ago; the courier expected it yesterday: stalled.
    stub.advance(tracking_number=NUM, tag="InTransit", message="Departed",
                 checkpoint_time=pt.iso_at(now - 2 * DAY), updated_at=now + 1,
                 latest_estimate={"type": "specific", "source": "Carrier EDD",
                                  "datetime": pt.iso_at(now - DAY)})
    p = pt.poll(db, stub)
    pt.expect_exit(p, 0, "the poll that reveals the stall")
    st.eq(delayed(db), [("ord_stall", NUM + "#1", "in_transit")], "one delayed row")
    st.eq(pt.shipment_row(db, NUM)["stall_episode"], 1, "episode 1")
    st.eq(stats(db), {"notifications": 1, "stalledShipments": 1}, "stats")

    # Re-polls (list and by id), pushes of the same state, a duplicate, replay.
    pt.expect_exit(pt.poll(db, stub), 0, "re-poll")
    pt.make_due(db)
    pt.expect_exit(pt.poll(db, stub), 0, "re-poll by id")
    full = stub.advance(tracking_number=NUM, updated_at=now + 1)
    for eid in ("as-stall-1", "as-stall-1", "as-stall-2"):
        st.eq(pt.push(db, full, event_id=eid).status, 200, "push " + eid)
    r = st.run_cli(["replay"], db=db)
    st.eq(r.returncode, 0, "replay: %s" % r.stderr)
    pt.expect_exit(pt.poll(db, stub), 0, "poll after replay")
    st.eq(delayed(db), [("ord_stall", NUM + "#1", "in_transit")],
          "still one row after re-polls, pushes, a duplicate and replay")

    # A later scan ends the episode (late, but moving: no new stall).
    stub.advance(tracking_number=NUM, tag="InTransit", message="Arrived at hub",
                 checkpoint_time=pt.iso_at(now - 3600), updated_at=now + 2)
    pt.expect_exit(pt.poll(db, stub), 0, "the poll with a new scan")
    sh = pt.shipment_row(db, NUM)
    st.eq((sh["stall_episode"], sh["stalled_since"]), (1, None), "episode 1 ended")
    st.eq(len(delayed(db)), 1, "no new row for a moving parcel")
    st.eq(stats(db), {"notifications": 1, "stalledShipments": 0}, "stats after recovery")

    # A second stall: a revised estimate passes with no scan since.
    stub.advance(tracking_number=NUM, updated_at=now + 3,
                 latest_estimate={"type": "specific", "source": "Carrier EDD",
                                  "datetime": pt.iso_at(now - 60)})
    pt.expect_exit(pt.poll(db, stub), 0, "the poll that reveals the second stall")
    pt.expect_exit(pt.poll(db, stub), 0, "and again")
    st.eq(delayed(db), [("ord_stall", NUM + "#1", "in_transit"),
                        ("ord_stall", NUM + "#2", "in_transit")], "a second episode")
    # The operator view lists them; delivery ends the episode for good.
    stages = [(n["stage"], n["shipment"]) for n in pt.view(db, "ord_stall")["notifications"]]
    st.check(("delayed", NUM + "#2") in stages, "operator view lists it: %r" % stages)
    stub.advance(tracking_number=NUM, tag="Delivered", message="Delivered",
                 checkpoint_time=pt.iso_at(now), updated_at=now + 4)
    pt.expect_exit(pt.poll(db, stub), 0, "delivered")
    st.eq(pt.shipment_row(db, NUM)["stalled_since"], None, "delivery ends the episode")
    st.eq(len(delayed(db)), 2, "no row for a delivered parcel")


def test_sweep_finds_stalls_that_come_with_time():
    db = fresh()
    order(db, "ord_sweep", NUM2)
    pt.expect_exit(pt.poll(db, stub), 0, "register")
    now = int(time.time())
    stub.advance(tracking_number=NUM2, tag="InTransit", message="Departed",
                 checkpoint_time=pt.iso_at(now - 3600), updated_at=now + 1)
    time.sleep(2.1)     # so that the next list sync starts after that update
    pt.expect_exit(pt.poll(db, stub), 0, "in transit, moving")
    st.eq(pt.shipment_view(db, NUM2)["tag"], "InTransit", "in transit")
    st.eq(delayed(db), [], "not stalled yet")
    # Time passes (the scan is now 8 days old, InTransit allows 7): no
    # carrier change at all (the list sync returns nothing), yet the next
    # run's sweep finds the stall (time moved in storage, on purpose).
    st.storage_sql(db, "UPDATE shipments SET last_checkpoint_at = ? WHERE tracking_number = ?",
                   (pt.iso_at(now - 8 * DAY), NUM2))
    quiet = {"SHIPTRACK_POLL_SYNC_MARGIN": "0"}
    p = pt.poll(db, stub, env=quiet)
    pt.expect_exit(p, 0, "the sweep")
    st.check("0 listed" in pt.summary(p) and "1 stalled" in pt.summary(p), pt.summary(p))
    st.eq(delayed(db), [("ord_sweep", NUM2 + "#1", "in_transit")], "found by the sweep")
    p = pt.poll(db, stub, env=quiet)
    st.check("0 stalled" in pt.summary(p), pt.summary(p))
    st.eq(len(delayed(db)), 1, "once")
    r = st.run_cli(["stats", "--json"], db=db)
    st.eq(json.loads(r.stdout)["delayed"], {"notifications": 1, "stalledShipments": 1},
          "shiptrack stats --json")


st.run()
