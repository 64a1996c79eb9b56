#!/usr/bin/env python3
"""Seed a shiptrack demo the honest way (standard library only).

1. Sends signed Rye webhooks to the running receiver for four orders: one
   that will be delivered, one split into two parcels, one with a carrier
   exception, one whose order failed.  A fifth, gen-2 order (a checkout
   intent) gets only Rye's thin webhooks (checkout_intent.completed,
   shipment.created: no tracking in them); its intent and shipment are
   put into the Rye stand-in, as Rye's API would hold them.
2. Runs shiptrack-poll: its Rye pass reads the gen-2 intent and shipment
   (tracking number, carrier, buyer's e-mail), then its carrier pass
   registers every parcel with the (stand-in) carrier service; then moves
   the parcels along in that service through its control API, as a real
   carrier would, and polls again.

The secret comes from the demo's configuration file (SHIPTRACK_CONFIG).
"""
import argparse
import base64
import hashlib
import hmac
import json
import os
import subprocess
import sys
import urllib.request
from datetime import datetime, timedelta, timezone


def conf_value(key):
    with open(os.environ["SHIPTRACK_CONFIG"]) as f:
        for line in f:
            k, _, v = line.partition("=")
            if k.strip() == key:
                return v.strip()
    raise SystemExit(f"{key} missing from {os.environ['SHIPTRACK_CONFIG']}")


def post(url, body, headers=None, timeout=10):
    req = urllib.request.Request(url, data=body, method="POST",
                                 headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def iso(t):
    return t.strftime("%Y-%m-%dT%H:%M:%S.") + f"{t.microsecond // 1000:03d}Z"


def lifecycle(order, start, tracking=(), failed=False):
    """The events Rye sends for one order, a few minutes apart."""
    steps = ["PAYMENT_SUCCEEDED", "ORDER_SUBMISSION_STARTED"]
    steps += ["ORDER_FAILED"] if failed else ["ORDER_SUBMISSION_SUCCEEDED", "ORDER_PLACED"]
    events = []
    for i, kind in enumerate(steps):
        data = {"marketplace": "shopify"}
        if kind == "ORDER_FAILED":
            data.update(reason="Out of stock at the vendor", reasonCode="OUT_OF_STOCK")
        events.append((kind, start + timedelta(minutes=5 * i), data))
    for j, (number, carrier) in enumerate(tracking):
        data = {"marketplace": "shopify",
                "order": {"trackingNumber": number, "courierName": carrier}}
        events.append(("TRACKING_OBTAINED", start + timedelta(hours=20 + j), data))
    return [{"id": f"evt_{order}_{n}", "type": kind, "requestId": order,
             "developerId": "demo", "createdAt": iso(t), "data": data}
            for n, (kind, t, data) in enumerate(events)]


def send(base, secret, event):
    body = json.dumps(event, separators=(",", ":")).encode()
    mac = hmac.new(secret.encode(), body, hashlib.sha256).digest()
    if event.get("object") == "event":      # gen 2
        header = {"x-rye-signature": "v0=" + mac.hex()}
    else:
        header = {"Rye-Hmac-Signature-V1": base64.b64encode(mac).decode()}
    status, answer = post(base + "/webhook", body,
                          dict(header, **{"Content-Type": "application/json"}))
    if status != 200:
        raise SystemExit(f"webhook {event['id']}: {status} {answer!r}")


THIN_INTENT, THIN_SHIPMENT, THIN_NUMBER = "demo-thin", "shp_demo_thin", "1Z999AA10123456799"


def seed_rye(rye, start):
    """The gen-2 order as Rye's API holds it (the stand-in's control API)."""
    intent = {"id": THIN_INTENT, "state": "completed", "createdAt": iso(start),
              "orderId": "ord_demo_thin", "referenceId": "SHOP-1042",
              "buyer": {"firstName": "Ada", "lastName": "Demo", "email": "ada@example.com",
                        "phone": "+12125550100", "address1": "1 Main St",
                        "city": "Brooklyn", "province": "NY", "postalCode": "11201",
                        "country": "US"}}
    shipment = {"id": THIN_SHIPMENT, "checkoutIntentId": THIN_INTENT, "status": "shipped",
                "createdAt": iso(start + timedelta(hours=20)),
                "tracking": {"number": THIN_NUMBER, "carrierName": "UPS",
                             "url": "https://www.ups.com/track?tracknum=" + THIN_NUMBER,
                             "deliveryDate": {"estimated": iso(start + timedelta(days=4))}},
                "trackingEvents": [{"status": "shipped", "description": "Shipment picked up",
                                    "location": {"city": "Louisville", "province": "KY",
                                                 "country": "US"},
                                    "timestamp": {"utc": iso(start + timedelta(hours=21))}}]}
    for path, key, obj in (("intents", "intents", intent),
                           ("shipments", "shipments", shipment)):
        status, answer = post(rye + "/_control/" + path, json.dumps({key: [obj]}).encode(),
                              {"Content-Type": "application/json"})
        if status != 200:
            raise SystemExit(f"Rye stand-in: {status} {answer!r}")


def thin_events(start):
    """Rye's gen-2 webhooks for the intent: thin, no tracking in them."""
    return [{"id": f"evt_demo_thin_{n}", "object": "event", "type": kind,
             "createdAt": iso(t), "source": {"type": stype, "id": sid}}
            for n, (kind, t, stype, sid) in enumerate([
                ("checkout_intent.completed", start, "checkout_intent", THIN_INTENT),
                ("shipment.created", start + timedelta(hours=20), "shipment",
                 THIN_SHIPMENT)])]


def advance(stub, number, tag, subtag, message, location, when):
    body = json.dumps({"tracking_number": number, "tag": tag, "subtag": subtag,
                       "message": message, "location": location,
                       "checkpoint_time": when}).encode()
    status, answer = post(stub + "/_control/advance", body,
                          {"Content-Type": "application/json"})
    if status != 200:
        raise SystemExit(f"carrier stand-in: {status} {answer!r}")


def poll(build):
    poller = os.path.join(build, "cgi", "shiptrack-poll")
    if not os.access(poller, os.X_OK):
        print("  (shiptrack-poll not built: carrier data not seeded)")
        return False
    subprocess.run([poller], check=False, stdout=subprocess.DEVNULL)
    return True


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--base", required=True, help="http://127.0.0.1:PORT")
    ap.add_argument("--build", required=True, help="the build tree")
    ap.add_argument("--stub", required=True, help="the carrier stand-in's URL")
    ap.add_argument("--rye", required=True, help="the Rye stand-in's URL")
    args = ap.parse_args()
    secret = conf_value("webhook_secret").split()[0]
    now = datetime.now(timezone.utc).replace(microsecond=0)
    orders = {
        "demo-delivered": lifecycle("demo-delivered", now - timedelta(days=6),
                                    [("1Z999AA10123456784", "UPS")]),
        "demo-split": lifecycle("demo-split", now - timedelta(days=3),
                                [("1Z999AA10123456785", "UPS"),
                                 ("9400111899223334445566", "USPS")]),
        "demo-exception": lifecycle("demo-exception", now - timedelta(days=5),
                                    [("123456789012", "FedEx")]),
        "demo-failed": lifecycle("demo-failed", now - timedelta(days=1), failed=True),
    }
    orders["demo-thin"] = thin_events(now - timedelta(days=2))
    seed_rye(args.rye, now - timedelta(days=2))
    for events in orders.values():
        for event in events:
            send(args.base, secret, event)
    print(f"  sent {sum(len(e) for e in orders.values())} signed webhooks"
          " (two of them Rye's thin gen-2 ones)")
    if not poll(args.build):
        return
    day = lambda d, h: (now - timedelta(days=d)).replace(hour=h).strftime("%Y-%m-%dT%H:%M:%S")
    moves = [
        ("1Z999AA10123456784", "InTransit", "InTransit_001", "Departed from facility", "Louisville, KY, US", day(4, 9) + "-05:00"),
        ("1Z999AA10123456784", "OutForDelivery", "OutForDelivery_001", "Out for delivery", "Brooklyn, NY, US", day(2, 8) + "-05:00"),
        ("1Z999AA10123456784", "Delivered", "Delivered_001", "Delivered, front door", "Brooklyn, NY, US", day(2, 14) + "-05:00"),
        ("1Z999AA10123456785", "InTransit", "InTransit_002", "Arrived at facility", "Hodgkins, IL, US", day(1, 22) + "-06:00"),
        ("9400111899223334445566", "InTransit", "InTransit_001", "Accepted at USPS origin facility", "Atlanta, GA", day(2, 17)),
        ("9400111899223334445566", "OutForDelivery", "OutForDelivery_003", "Out for delivery", "Brooklyn, NY",
         (now - timedelta(hours=3)).strftime("%Y-%m-%dT%H:%M:%S")),
        ("123456789012", "InTransit", "InTransit_001", "Picked up", "Memphis, TN, US", day(4, 18) + "Z"),
        ("123456789012", "Exception", "Exception_011", "Damaged, return to sender", "Newark, NJ, US", day(2, 11) + "Z"),
        (THIN_NUMBER, "InTransit", "InTransit_003", "Departed facility", "Louisville, KY, US", day(1, 6) + "-04:00"),
    ]
    for move in moves:
        advance(args.stub, *move)
    poll(args.build)
    print("  ran shiptrack-poll twice (the Rye pass, then the carrier pass)")


if __name__ == "__main__":
    main()
