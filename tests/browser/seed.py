#!/usr/bin/env python3
"""Seed the browser tests' database through a running shiptrack.

    seed.py --base http://127.0.0.1:PORT --config /path/shiptrack.conf \
            --carrier http://127.0.0.1:STUBPORT --rye http://127.0.0.1:RYEPORT \
            --poller /path/shiptrack-poll

1. The carrier orders (b-pickup, b-signed, b-rye) the honest way end to
   end: signed Rye webhooks through the real receiver at BASE/webhook
   (b-rye, a gen-2 checkout intent, gets only Rye's thin ones: its parcel
   and Rye's estimated delivery are in the Rye stand-in, tests/rye_stub.py
   at --rye, named in the config's rye_api_url, as Rye's API would hold
   them), a real shiptrack-poll run whose Rye pass reads b-rye's parcel and
   whose carrier pass registers the parcels with the AfterShip stand-in
   (tests/aftership_stub.py at --carrier, named in carrier_api_url), the
   stand-in told what the carrier knows (scans, estimates of both sources,
   a pickup point, who signed, carrier links: https, and not https), and a
   second poll run that brings it home.  Only these run through the
   poller: the orders below come after its last run, so it never
   overwrites their hand-written carrier data.
2. The other orders: signed Rye webhooks, tracking events first, so the
   shipments exist; then carrier data (tags, dates, checkpoints) written
   in storage as the poller would store it (on purpose, through
   tests/shiptrack_test.py's storage_sql), with the time forms carriers
   really send: a date alone, a local time without offset,
   "+01:00"/"-05:00", and "Z"; the orders' lifecycle events arrive last
   (out of order, as webhooks may), so the receiver derives each order's
   stage from the carrier tags.
3. The store's order number, e-mail address, postal code and language of
   some orders through the operator API (PUT /api/v1/orders/{id}/contact),
   so that the page's lookup form finds them by POST /api/v1/lookup.

Prints a JSON manifest on stdout: every order with its lookup key, expected
status, stage and staleness; the lookup facts; what the carrier stand-in
was told, by tracking number; Rye's estimated delivery day of b-rye.  With
--bulk N it only adds N plain orders straight to the orders table (to page
through); with --hostile it only sends, through the receiver, one order
whose id, marketplace, tracking number and carrier start with = @ - +
(spreadsheet formulas), and prints its id.  Standard library only.
"""
import argparse
import base64
import hashlib
import hmac
import json
import os
import subprocess
import sys
import urllib.error
import urllib.request
from datetime import datetime, timedelta, timezone

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import shiptrack_test as st  # noqa: E402

NOW = datetime.now(timezone.utc).replace(microsecond=0)


def conf(path):
    out = {}
    with open(path) as f:
        for line in f:
            line = line.strip()
            if line and not line.startswith("#"):
                k, _, v = line.partition("=")
                out[k.strip()] = v.strip()
    return out


def ago(days=0, hours=0, minutes=0):
    return NOW - timedelta(days=days, hours=hours, minutes=minutes)


def z(t, ms=False):
    return t.strftime("%Y-%m-%dT%H:%M:%S") + (".000Z" if ms else "Z")


def with_offset(t, hours):
    """t written in a zone `hours` east of UTC, with its offset."""
    local = t + timedelta(hours=hours)
    sign = "+" if hours >= 0 else "-"
    return local.strftime("%Y-%m-%dT%H:%M:%S") + "%s%02d:00" % (sign, abs(hours))


def local_form(t):
    """A wall-clock time without offset (the carrier's local time)."""
    return t.strftime("%Y-%m-%dT%H:%M:%S")


def date_form(t):
    return t.strftime("%Y-%m-%d")


def sort_ms(raw):
    """The sortable value shiptrack gives a carrier time: offset-less and
    date-only forms read as UTC (timefmt.h)."""
    s = raw.replace("Z", "+00:00")
    if len(s) == 10:
        s += "T00:00:00+00:00"
    elif s[-6] not in "+-":
        s += "+00:00"
    return int(datetime.fromisoformat(s).timestamp() * 1000)


def lookup_key(secret, order_id):
    mac = hmac.new(secret.encode(), order_id.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac[:16]).decode().rstrip("=")


def call(url, body=None, method="GET", headers=None):
    """(status, body bytes) of one HTTP request; errors are answers too."""
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method=method, headers=headers or {})
    if data is not None:
        req.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(req, timeout=15) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


class Seeder:
    def __init__(self, base, cfg):
        self.base = base.rstrip("/")
        self.secret = cfg["webhook_secret"].split()[0]
        self.token = cfg["api_token"]
        self.db = cfg["database"]
        self.sent = 0

    def contact(self, order, facts):
        """The operator's facts of an order, through the real API."""
        status, answer = call("%s/api/v1/orders/%s/contact" % (self.base, order), facts, "PUT",
                              {"Authorization": "Bearer " + self.token})
        if status != 204:
            raise SystemExit("PUT contact of %s: %d %r" % (order, status, answer))

    def send(self, event):
        """A signed webhook: gen 2 for an event object ("object": "event")."""
        body = json.dumps(event, separators=(",", ":")).encode()
        mac = hmac.new(self.secret.encode(), body, hashlib.sha256).digest()
        if event.get("object") == "event":
            header = {"X-Rye-Signature": "v0=" + mac.hex()}
        else:
            header = {"Rye-Hmac-Signature-V1": base64.b64encode(mac).decode()}
        req = urllib.request.Request(self.base + "/webhook", data=body, method="POST",
                                     headers=dict(header, **{"Content-Type": "application/json"}))
        try:
            with urllib.request.urlopen(req, timeout=15) as r:
                status, answer = r.status, r.read()
        except urllib.error.HTTPError as e:
            status, answer = e.code, e.read()
        if status != 200:
            raise SystemExit("webhook %s: %d %r" % (event["id"], status, answer))
        self.sent += 1

    def event(self, order, n, kind, t, data=None):
        d = {"marketplace": "shopify"}
        d.update(data or {})
        self.send({"id": "evt_%s_%d" % (order, n), "type": kind, "requestId": order,
                   "developerId": "dev_browser_tests", "createdAt": z(t, ms=True),
                   "data": d})

    def sql(self, statement, params=()):
        """Storage, on purpose: hand-written carrier data, bulk orders."""
        return st.storage_sql(self.db, statement, params)

    def order(self, order, lifecycle, shipments=()):
        """lifecycle: [(type, time, data)]; shipments: [dict(number, carrier,
        url, at, cols={column: value}, checkpoints=[(raw, tag, subtag, message,
        location)])]."""
        n = 0
        for s in shipments:
            self.event(order, n, "TRACKING_OBTAINED", s["at"],
                       {"order": {"trackingNumber": s["number"], "courierName": s["carrier"],
                                  "courierUrl": s.get("url")}})
            n += 1
        for s in shipments:
            cols = dict(s.get("cols") or {})
            cps = s.get("checkpoints") or []
            if cps:
                cols.setdefault("last_checkpoint_at", max(cps, key=lambda c: sort_ms(c[0]))[0])
            if cols:
                names = sorted(cols)
                self.sql("UPDATE shipments SET %s WHERE order_id=? AND tracking_number=?" %
                         ", ".join("%s=?" % c for c in names),
                         tuple(cols[c] for c in names) + (order, s["number"]))
            sid = self.sql("SELECT id FROM shipments WHERE order_id=? AND tracking_number=?",
                           (order, s["number"]))[0][0]
            for raw, tag, subtag, message, location in cps:
                self.sql("INSERT INTO checkpoints(shipment_id, time_raw, time_ms, has_offset,"
                         " tag, subtag, message, location) VALUES (?,?,?,?,?,?,?,?)",
                         (sid, raw, sort_ms(raw), int(raw.endswith("Z") or raw[-6] in "+-"),
                          tag, subtag, message, location))
        for kind, t, data in lifecycle:
            self.event(order, n, kind, t, data)
            n += 1


def placed(start):
    return [("PAYMENT_SUCCEEDED", start, None),
            ("ORDER_SUBMISSION_STARTED", start + timedelta(minutes=1), None),
            ("ORDER_SUBMISSION_SUCCEEDED", start + timedelta(minutes=3), None),
            ("ORDER_PLACED", start + timedelta(minutes=5), None)]


class Rye:
    """The Rye stand-in's control API: what Rye's API holds."""

    def __init__(self, root):
        self.root = root.rstrip("/")

    def put(self, kind, obj):
        status, answer = call("%s/_control/%s" % (self.root, kind), {kind: [obj]}, "POST")
        if status != 200:
            raise SystemExit("Rye stand-in, %s: %d %r" % (kind, status, answer))


class Carrier:
    """The AfterShip stand-in's control API, and the real poller against it."""

    def __init__(self, root, poller, config):
        self.root = root.rstrip("/")
        self.poller = poller
        self.config = config
        self.told = {}

    def tell(self, number, **facts):
        """What the carrier now knows of a parcel (POST /_control/advance)."""
        status, answer = call(self.root + "/_control/advance",
                              dict(facts, tracking_number=number), "POST")
        if status != 200:
            raise SystemExit("carrier stand-in, %s: %d %r" % (number, status, answer))
        self.told.setdefault(number, []).append(facts)

    def poll(self, what):
        env = {"PATH": "/usr/bin:/bin", "SHIPTRACK_CONFIG": self.config}
        for k in ("ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS", "LD_LIBRARY_PATH"):
            if k in os.environ:
                env[k] = os.environ[k]
        p = subprocess.run([self.poller], env=env, capture_output=True, text=True, timeout=120)
        if p.returncode != 0:
            raise SystemExit("shiptrack-poll (%s): exit %d\n%s%s"
                             % (what, p.returncode, p.stdout, p.stderr[-3000:]))


def day(days):
    """A calendar day `days` from today (UTC), as estimates give them."""
    return (NOW + timedelta(days=days)).strftime("%Y-%m-%d")


def rye_order(s, r, number, estimated):
    """b-rye, a gen-2 checkout intent: Rye's API holds the intent and its
    shipment (number, carrier, the estimated delivery day); shiptrack gets
    only the thin webhooks, which name them and carry no tracking."""
    r.put("intents", {
        "id": "b-rye", "state": "completed", "createdAt": z(ago(days=1, hours=2), ms=True),
        "orderId": "ord_b_rye", "referenceId": "SHOP-1004",
        "buyer": {"firstName": "Rye", "lastName": "Buyer", "email": "rye.buyer@example.de",
                  "phone": "+4922812345", "address1": "Poststr. 1", "city": "Bonn",
                  "province": "NRW", "postalCode": "53111", "country": "DE"}})
    r.put("shipments", {
        "id": "shp_b_rye", "checkoutIntentId": "b-rye", "status": "shipped",
        "createdAt": z(ago(hours=12), ms=True),
        "tracking": {"number": number, "carrierName": "DHL", "url": None,
                     "deliveryDate": {"estimated": estimated}},
        "trackingEvents": []})
    for n, (kind, t, stype, sid) in enumerate([
            ("checkout_intent.completed", ago(days=1, hours=2), "checkout_intent", "b-rye"),
            ("shipment.created", ago(hours=12), "shipment", "shp_b_rye")]):
        s.send({"id": "evt_b-rye_%d" % n, "object": "event", "type": kind,
                "createdAt": z(t, ms=True), "source": {"type": stype, "id": sid}})


def carrier_orders(s, c, r):
    """b-pickup (a DHL parcel waiting at a locker, a UPS one with two
    estimates), b-signed (delivered, signed for) and b-rye (a parcel the
    carrier has no estimate for, Rye has): webhooks, a poll that reads
    b-rye's parcel from Rye and registers the parcels, the carrier's facts,
    a poll that fetches them."""
    dhl, ups, signed, rye = "JJD0099887766", "1ZPICKUP0000002", "1ZSIGNED000001", "LX123456789DE"
    s.order("b-pickup", placed(ago(days=3, hours=8)), [
        {"number": dhl, "carrier": "DHL", "at": ago(days=2, hours=6)},
        {"number": ups, "carrier": "UPS", "at": ago(days=2, hours=5),
         "url": "https://www.ups.com/track?tracknum=" + ups}])
    s.order("b-signed", placed(ago(days=4, hours=4)), [
        {"number": signed, "carrier": "UPS", "at": ago(days=3)}])
    rye_order(s, r, rye, day(5))
    c.poll("reads Rye's parcel, registers the parcels")
    c.tell(dhl, tag="InTransit", subtag="InTransit_001", message="Arrived at delivery base",
           location="Berlin, DE", checkpoint_time=z(ago(hours=20)))
    c.tell(dhl, tag="AvailableForPickup", subtag="AvailableForPickup_001",
           subtag_message="Ready for pickup at the parcel locker",
           message="Ready for pickup at the parcel locker", location="Berlin, DE",
           checkpoint_time=z(ago(hours=3)),
           pickup_location="Packstation 123, Hauptstraße 5, 10115 Berlin",
           pickup_note="Bring the pickup code from the e-mail",
           courier_tracking_link="https://www.dhl.de/de/privatkunden.html?piececode=" + dhl)
    c.tell(ups, tag="InTransit", subtag="InTransit_002", subtag_message="Departed facility",
           message="Departed facility", location="Köln, DE", checkpoint_time=z(ago(hours=5)),
           latest_estimate={"type": "range", "source": "Carrier EDD", "datetime": None,
                            "datetime_min": day(2), "datetime_max": day(4)},
           aftership_estimate={"date": day(3), "min": None, "max": None,
                               "confidence_code": 80},
           courier_tracking_link="javascript:alert(1)")
    c.tell(signed, tag="Delivered", subtag="Delivered_001", subtag_message="Delivered",
           message="Delivered, signed for", location="Hamburg, DE",
           checkpoint_time=z(ago(hours=30)), delivered_at=z(ago(hours=30)),
           signed_by="M. MUSTERMANN",
           latest_estimate={"type": "range", "source": "Carrier EDD", "datetime": None,
                            "datetime_min": day(-2), "datetime_max": day(-1)},
           courier_tracking_link="http://insecure.example/track/" + signed)
    c.tell(rye, tag="InfoReceived", subtag="InfoReceived_001",
           message="Shipment information received", location="Bonn, DE",
           checkpoint_time=z(ago(hours=9)))
    c.poll("fetches what the carrier knows")
    s.contact("b-pickup", {"email": "comprador@example.es", "orderNumber": "SHOP-1002",
                           "postalCode": "28013", "locale": "es"})
    s.contact("b-signed", {"email": "kunde@example.de", "orderNumber": "SHOP-1003",
                           "postalCode": "20095", "locale": "de"})
    return [("b-pickup", "SUCCEEDED", "available_for_pickup", False),
            ("b-signed", "SUCCEEDED", "delivered", False),
            ("b-rye", "SUCCEEDED", "shipped", False)]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--base", required=True)
    ap.add_argument("--config", required=True)
    ap.add_argument("--bulk", type=int, default=0,
                    help="instead: add N plain placed orders straight to the orders"
                    " table (for paging), older than every seeded order")
    ap.add_argument("--hostile", action="store_true",
                    help="instead: one order with formula-like values (CSV test)")
    ap.add_argument("--carrier", help="the AfterShip stand-in's root URL (its control API)")
    ap.add_argument("--rye", help="the Rye stand-in's root URL (its control API)")
    ap.add_argument("--poller", help="cgi/shiptrack-poll of the build")
    args = ap.parse_args()
    cfg = conf(args.config)
    s = Seeder(args.base, cfg)
    if args.hostile:
        order = '=HYPERLINK("http://evil.example/?",\'x\')'
        s.order(order, [("ORDER_PLACED", ago(minutes=1), {"marketplace": "@SUM(1+1)"})], [
            {"number": "-2+3", "carrier": "+cmd|' /C calc'!A0", "at": ago(minutes=2)}])
        json.dump({"hostile": order}, sys.stdout)
        sys.stdout.write("\n")
        return
    if args.bulk:
        ids = []
        for i in range(args.bulk):
            t = ago(days=40, minutes=i)
            ids.append("bulk-%03d" % i)
            s.sql("INSERT INTO orders(id, status, stage, marketplace, created_at, created_ms,"
                  " updated_at, updated_ms) VALUES (?,?,?,?,?,?,?,?)",
                  (ids[-1], "SUCCEEDED", "placed", "shopify", z(t), sort_ms(z(t)), z(t),
                   sort_ms(z(t))))
        json.dump({"bulk": ids}, sys.stdout)
        sys.stdout.write("\n")
        return

    if not (args.carrier and args.rye and args.poller):
        ap.error("--carrier, --rye and --poller are needed to seed the orders")
    carrier = Carrier(args.carrier, args.poller, args.config)
    polled = carrier_orders(s, carrier, Rye(args.rye))

    # Split order: one parcel delivered, one moving, six scans in mixed forms.
    split_a, split_b = "1Z999AA10123456785", "9400111899223334445566"
    s.order("b-split", placed(ago(days=3)), [
        {"number": split_a, "carrier": "UPS", "at": ago(days=2, hours=4),
         "url": "https://www.ups.com/track?tracknum=" + split_a,
         "cols": {"tag": "Delivered", "subtag": "Delivered_001",
                  "subtag_message": "Delivered, left at front door",
                  "delivered_at": z(ago(days=1, hours=2)), "checked_at": z(ago(minutes=40))},
         "checkpoints": [
             (with_offset(ago(days=1, hours=2), 1), "Delivered", "Delivered_001",
              "Delivered, left at front door", "Berlin, DE"),
             (local_form(ago(days=1, hours=8)), "OutForDelivery", "OutForDelivery_001",
              "Out for delivery", "Berlin, DE")]},
        {"number": split_b, "carrier": "USPS", "at": ago(days=2, hours=3),
         "url": "https://tools.usps.com/go/TrackConfirmAction?tLabels=" + split_b,
         "cols": {"tag": "InTransit", "subtag": "InTransit_002",
                  "subtag_message": "Departed sorting facility",
                  "expected_delivery": date_form(ago(days=-2)),
                  "checked_at": z(ago(minutes=40))},
         "checkpoints": [
             (z(ago(hours=6), ms=True), "InTransit", "InTransit_002",
              "Departed sorting facility", "Leipzig, DE"),
             (with_offset(ago(days=1), 1), "InTransit", "InTransit_003",
              "Processed at hub", "Frankfurt, DE"),
             (local_form(ago(days=1, hours=6)), "InTransit", "InTransit_001",
              "Arrived at facility", "Hamburg, DE"),
             (with_offset(ago(days=2), -5), "InTransit", "InTransit_007",
              "Departed origin facility", "Newark, NJ, US"),
             (z(ago(days=2, hours=2)), "InTransit", "InTransit_001", "Picked up",
              "Newark, NJ, US"),
             (date_form(ago(days=2, hours=3)), "InfoReceived", "InfoReceived_001",
              "Shipping label created", None)]}])

    s.order("b-delivered", placed(ago(days=8)), [
        {"number": "1ZDELIVERED00000001", "carrier": "UPS", "at": ago(days=7),
         "cols": {"tag": "Delivered", "delivered_at": z(ago(days=4)),
                  "checked_at": z(ago(days=4))},
         "checkpoints": [(z(ago(days=4)), "Delivered", "Delivered_001", "Delivered",
                          "Austin, TX, US")]}])
    s.order("b-exception", placed(ago(days=5)), [
        {"number": "781234567890", "carrier": "FedEx", "at": ago(days=4),
         "cols": {"tag": "Exception", "subtag": "Exception_011",
                  "subtag_message": "Address issue; the carrier is contacting the recipient",
                  "checked_at": z(ago(hours=2))},
         "checkpoints": [(with_offset(ago(days=1), -6), "Exception", "Exception_011",
                          "Incorrect address", "Dallas, TX, US")]}])
    s.order("b-stale", placed(ago(days=16)), [
        {"number": "JD014600006281830000", "carrier": "DHL", "at": ago(days=15),
         "cols": {"tag": "InTransit", "checked_at": z(ago(hours=3))},
         "checkpoints": [(local_form(ago(days=10)), "InTransit", "InTransit_001",
                          "Shipment in transit", "Bonn, DE")]}])
    s.order("b-placed", placed(ago(hours=20)))
    s.order("b-processing", [("ORDER_SUBMISSION_STARTED", ago(hours=1), None)])
    s.order("b-failed", [("ORDER_SUBMISSION_STARTED", ago(days=2), None),
                         ("ORDER_FAILED", ago(days=2, minutes=-4),
                          {"reason": "Out of stock at the vendor"})])

    # What the lookup form finds b-split by.
    lookup_facts = {"orderNumber": "SHOP-1001", "email": "shopper@example.com",
                    "postalCode": "10115"}
    s.contact("b-split", dict(lookup_facts, locale="de"))

    expect = polled + [("b-split", "SUCCEEDED", "partially_delivered", False),
              ("b-delivered", "SUCCEEDED", "delivered", False),
              ("b-exception", "SUCCEEDED", "exception", False),
              ("b-stale", "SUCCEEDED", "in_transit", True),
              ("b-placed", "SUCCEEDED", "placed", False),
              ("b-processing", "PROCESSING", "processing", False),
              ("b-failed", "FAILED", "failed", False)]
    lookup = cfg.get("lookup_secret")
    json.dump({"events": s.sent,
               "orders": [{"id": i, "key": lookup_key(lookup, i) if lookup else None,
                           "status": st, "stage": sg, "stale": stale}
                          for i, st, sg, stale in expect],
               "split": [split_a, split_b],
               "lookup": dict(lookup_facts, order="b-split"),
               "told": carrier.told,
               "rye": {"b-rye": {"estimated": day(5)}}}, sys.stdout, indent=1)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
