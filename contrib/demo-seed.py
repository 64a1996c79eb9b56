#!/usr/bin/env python3
"""Seed a shiptrack demo the honest way (standard library only).

1. Sends signed Rye webhooks to the running receiver for four orders: one
   that will be delivered, one split into two parcels, one with a carrier
   exception, one whose order failed.
2. Runs shiptrack-poll, which registers the parcels with the (stand-in)
   carrier service; then moves the parcels along in that service through
   its control API, as a real carrier would, and polls again.

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
    sig = base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()
    status, answer = post(base + "/webhook", body, {
        "Content-Type": "application/json", "Rye-Hmac-Signature-V1": sig})
    if status != 200:
        raise SystemExit(f"webhook {event['id']}: {status} {answer!r}")


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
    for events in orders.values():
        for event in events:
            send(args.base, secret, event)
    print(f"  sent {sum(len(e) for e in orders.values())} signed webhooks")
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
    ]
    for move in moves:
        advance(args.stub, *move)
    poll(args.build)
    print("  polled the carrier service twice")


if __name__ == "__main__":
    main()
