#!/usr/bin/env python3
"""Write the fuzzers' seed corpora (tests/fuzz/corpus/NAME/) from the bodies
the scenario and unit tests use.  Run from anywhere; rewrites the three
directories.  The seeds are committed, so this runs only when the tests'
bodies change:

    python3 tests/fuzz/make-seeds.py [NAME...]   (default: all four)

fuzz_webhook: a control byte (see fuzz_webhook.c) and a Rye gen-1/gen-2 or
AfterShip body from tests/shiptrack_test.py's builders; some inputs hold
several segments so the order-independence check runs.
fuzz_config: configuration files like the tests' and contrib's sample.
fuzz_carrier: the AfterShip answers of tests/unit/test_carrier.c (read
from its string literals with the C preprocessor), header lines, base URLs.
fuzz_rye: the Rye answers of tests/unit/test_rye.c (the same way) and the
examples of shared/spec/rye-api.md, most with the control bits that also
build and read back the Pass's records; RateLimit header lines.
"""
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(TOP, "tests"))
import shiptrack_test as st  # noqa: E402

SEP = b"\n\xff\xfe\n"


def write(name, seeds):
    d = os.path.join(HERE, "corpus", name)
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    seen = set()
    for label, data in seeds:
        if data in seen:
            continue
        seen.add(data)
        with open(os.path.join(d, label), "wb") as f:
            f.write(data)
    print("%s: %d seeds" % (name, len(seen)))


def seg(ctl, body):
    return bytes([ctl]) + (body if isinstance(body, bytes) else body.encode())


def webhook_seeds():
    O = "ord_seed_1"
    types = ["PAYMENT_SUCCEEDED", "PAYMENT_FAILED", "PAYMENT_REFUNDED",
             "ORDER_SUBMISSION_STARTED", "ORDER_SUBMISSION_SUCCEEDED",
             "ORDER_PLACED", "ORDER_FAILED", "ORDER_CANCEL_STARTED",
             "ORDER_CANCEL_SUCCEEDED", "ORDER_CANCEL_FAILED", "REFUND_CREATED"]
    out = []
    for i, t in enumerate(types):
        out.append(("rye1-%s" % t.lower(),
                    seg(0, st.event(t, O, st.iso(i), "evt_seed_%d" % i))))
    for where in ("data.order", "data", "data.shipments", "data.order.shipments"):
        out.append(("rye1-tracking-%s" % where.replace(".", "-"),
                    seg(0, st.tracking(O, "1ZSEED0001", "UPS",
                                       "https://www.ups.com/track?tracknum=1ZSEED0001",
                                       st.iso(5), "evt_seed_trk_" + where, where))))
    out.append(("rye1-tracking-aliases", seg(0, st.tracking(
        O, "9400SEED", "USPS", "http://usps.example/9400SEED", st.iso(6), "evt_seed_alias",
        "data.shipments", ("carrierTrackingNumber", "carrierName", "carrierTrackingUrl")))))
    out.append(("rye1-tracking-pending", seg(0, st.tracking(O, None, "FedEx", None,
                                                            st.iso(7), "evt_seed_pend"))))
    out.append(("rye1-tracking-js-url", seg(0, st.tracking(O, "1ZJS", "UPS",
                                                           "javascript:alert(1)", st.iso(7),
                                                           "evt_seed_js"))))
    out.append(("rye1-handshake", seg(0, st.event("WEBHOOK_URL_VERIFICATION", None, st.iso(0),
                                                  "evt_seed_hs",
                                                  {"challenge": "chal_0123456789"}))))
    out.append(("rye1-created-number", seg(0, st.event("ORDER_PLACED", O, 1740819600,
                                                       "evt_seed_num"))))
    out.append(("rye1-created-offset", seg(0, st.event("ORDER_PLACED", O,
                                                       "2024-07-22T16:30:04+02:00",
                                                       "evt_seed_off"))))
    out.append(("rye1-missing-created", seg(0, b'{"id":"evt_test","type":"PAYMENT_SUCCEEDED"}')))
    out.append(("rye1-missing-id", seg(0, b'{"type":"ORDER_PLACED","createdAt":"2025-03-01T09:00:00Z"}')))
    out.append(("rye1-nul-id", seg(0, b'{"id":"evt\\u0000x","type":"ORDER_PLACED",'
                                      b'"createdAt":"2025-03-01T09:00:00Z","requestId":"o"}')))
    out.append(("rye1-not-json", seg(0, b'{"id":"evt_x","type":')))
    out.append(("rye1-not-object", seg(0, b'[1,2,3]')))
    out.append(("rye1-bad-utf8", seg(0, b'{"id":"evt_\xc0\xaf","type":"ORDER_PLACED"}')))
    out.append(("rye1-deep", seg(0, b'{"a":' * 40 + b'1' + b'}' * 40)))
    # Bodies json-c reads lossily: refused, kept as evidence, never merged.
    out.append(("rye1-lone-surrogate", seg(0, b'{"id":"evt_\\uD800","requestId":"o",'
                                              b'"type":"ORDER_PLACED",'
                                              b'"createdAt":"2025-03-01T09:00:00Z"}')))
    out.append(("rye1-surrogate-pair", seg(0, b'{"id":"evt_\\uD83D\\uDE00","requestId":"o",'
                                              b'"type":"ORDER_PLACED",'
                                              b'"createdAt":"2025-03-01T09:00:00Z"}')))
    out.append(("rye1-nan", seg(0, b'{"id":"evt_nan","requestId":"o","type":"PAYMENT_SUCCEEDED",'
                                   b'"createdAt":"2025-03-01T09:00:00Z",'
                                   b'"data":{"amount":NaN,"x":[Infinity,-Infinity]}}')))
    out.append(("rye1-id-beyond-64-bits", SEP.join([
        seg(0, b'{"id":99999999999999999999,"requestId":"o","type":"ORDER_PLACED",'
               b'"createdAt":"2025-03-01T09:00:00Z"}'),
        seg(0, b'{"id":99999999999999999998,"requestId":"o","type":"ORDER_PLACED",'
               b'"createdAt":"2025-03-01T09:00:00Z"}')])))
    # A body of the other generation than its header names.
    out.append(("rye1-gen2-body", seg(0, st.event2("checkout_intent.completed", "ci_seed_x",
                                                   created=st.iso(3), id="evt2_seed_x"))))
    out.append(("rye2-gen1-body", seg(1, st.event("ORDER_PLACED", O, st.iso(2),
                                                  "evt_seed_x"))))
    out.append(("rye1-order-without-request-id", seg(0, st.event("ORDER_PLACED", None,
                                                                 st.iso(2), "evt_seed_noreq"))))
    out.append(("rye1-rotation", seg(3, st.event("ORDER_PLACED", O, st.iso(2), "evt_seed_rot"))))
    out.append(("rye1-two-signatures", seg(0x10, st.event("ORDER_PLACED", O, st.iso(2),
                                                          "evt_seed_two"))))
    out.append(("rye1-wrong-secret", seg(8, st.event("ORDER_PLACED", O, st.iso(2),
                                                     "evt_seed_wrong"))))
    body = st.event("ORDER_PLACED", O, st.iso(2), "evt_seed_hdr")
    out.append(("rye1-header-from-input",
                seg(0x0c, st.sign_v1(st.SECRET, body).encode() + b"\n" + body)))
    out.append(("rye1-redelivery", seg(0x20, st.event("ORDER_PLACED", O, st.iso(2),
                                                      "evt_seed_dup"))))
    # Gen 2.
    out.append(("rye2-completed", seg(1, st.event2("checkout_intent.completed", "ci_seed_1",
                                                   created=st.iso(3), id="evt2_seed_1"))))
    out.append(("rye2-order-failed", seg(1, st.event2("checkout_intent.order_failed",
                                                      "ci_seed_1", created=st.iso(4),
                                                      id="evt2_seed_2"))))
    out.append(("rye2-shipment", seg(1, st.event2("shipment.updated", "shp_seed_1",
                                                  source_type="shipment", created=st.iso(4),
                                                  id="evt2_seed_3"))))
    out.append(("rye2-handshake", seg(1, json.dumps(
        {"id": "evt2_hs", "object": "event", "type": "webhook_endpoint.verification_challenge",
         "createdAt": st.iso(0), "source": {"type": "webhook_endpoint", "id": "chal_2"}},
        separators=(",", ":")))))
    out.append(("rye2-upper-hex", seg(0x11, st.event2("checkout_intent.completed", "ci_seed_2",
                                                      created=st.iso(3), id="evt2_seed_4"))))
    body = st.event2("checkout_intent.completed", "ci_seed_3", created=st.iso(3), id="evt2_h")
    out.append(("rye2-header-from-input",
                seg(0x0d, st.sign_v2(st.SECRET, body).encode() + b"\n" + body)))
    # AfterShip push.
    push = {"event": "tracking_update", "event_id": "5b7f3c2e-0000-4000-8000-000000000001",
            "is_tracking_first_tag": False, "ts": 1746525600,
            "msg": {"id": "0123456789abcdef0123456789abcdef", "tracking_number": "1ZSEED0001",
                    "slug": "ups", "order_id": O, "tag": "InTransit",
                    "subtag": "InTransit_002", "updated_at": "2025-05-06T10:00:00+00:00",
                    "checkpoints": [{"checkpoint_time": "2025-05-06T11:00:00",
                                     "message": "Arrived", "tag": "InTransit",
                                     "city": "Louisville", "state": "KY"}]}}
    out.append(("aftership-push", seg(2, json.dumps(push, separators=(",", ":")))))
    del push["ts"]
    out.append(("aftership-push-no-ts", seg(2, json.dumps(push, separators=(",", ":")))))
    # Several deliveries: a whole order's life, then the same with a
    # cancellation, and a duplicate id with other bytes.
    life = [seg(0, st.event("PAYMENT_SUCCEEDED", O, st.iso(0), "evt_life_1")),
            seg(0, st.event("ORDER_PLACED", O, st.iso(1), "evt_life_2")),
            seg(0, st.tracking(O, "1ZLIFE1", "UPS", "https://ups.example/1ZLIFE1",
                               st.iso(2), "evt_life_3")),
            seg(0, st.tracking(O, "1ZLIFE2", "FedEx", None, st.iso(3), "evt_life_4",
                               "data.shipments"))]
    out.append(("multi-life", SEP.join(life)))
    cancel = [seg(0, st.event("ORDER_PLACED", O, st.iso(1), "evt_c_1")),
              seg(0, st.event("ORDER_CANCEL_STARTED", O, st.iso(2), "evt_c_2")),
              seg(0, st.event("ORDER_CANCEL_FAILED", O, st.iso(3), "evt_c_3")),
              seg(0, st.event("ORDER_CANCEL_STARTED", O, st.iso(3), "evt_c_4"))]
    out.append(("multi-cancel", SEP.join(cancel)))
    out.append(("multi-same-time", SEP.join([
        seg(0, st.event("ORDER_FAILED", O, st.iso(1), "evt_t_1")),
        seg(0, st.event("ORDER_PLACED", O, st.iso(1), "evt_t_2")),
        seg(1, st.event2("checkout_intent.completed", O, created=st.iso(1), id="evt_t_3"))])))
    out.append(("multi-same-id", SEP.join([
        seg(0, st.event("ORDER_PLACED", O, st.iso(1), "evt_same")),
        seg(0, st.event("ORDER_FAILED", O, st.iso(2), "evt_same"))])))
    # A push for a tracking number a Rye event announced: the push finds
    # the shipment (store_carrier_match) and moves the order.
    def push_for(number, eid, ts, tag, updated, cps):
        return seg(2, json.dumps({
            "event": "tracking_update", "event_id": eid, "ts": ts,
            "msg": {"id": "as_" + number, "tracking_number": number, "slug": "ups",
                    "tag": tag, "subtag": tag + "_001", "updated_at": updated,
                    "shipment_delivery_date": "2025-03-04T10:00:00+01:00" if tag == "Delivered"
                    else None,
                    "checkpoints": cps}}, separators=(",", ":")))
    cp1 = [{"checkpoint_time": "2025-03-02T08:00:00", "message": "Picked up",
            "tag": "InTransit", "city": "Louisville", "state": "KY"}]
    cp2 = cp1 + [{"checkpoint_time": "2025-03-04T10:00:00+01:00", "message": "Delivered",
                  "tag": "Delivered", "location": "Leeds, GB"}]
    out.append(("multi-tracking-then-push", SEP.join([
        seg(0, st.tracking(O, "1ZPUSH1", "UPS", None, st.iso(2), "evt_p_1")),
        push_for("1ZPUSH1", "as-evt-1", 1740906000, "InTransit",
                 "2025-03-02T09:00:00+00:00", cp1),
        push_for("1ZPUSH1", "as-evt-2", 1741082400, "Delivered",
                 "2025-03-04T10:00:00+00:00", cp2)])))
    out.append(("multi-push-older-after-newer", SEP.join([
        seg(0, st.tracking(O, "1ZPUSH2", "UPS", None, st.iso(2), "evt_p_2")),
        push_for("1ZPUSH2", "as-evt-3", 1741082400, "Delivered",
                 "2025-03-04T10:00:00+00:00", cp2),
        push_for("1ZPUSH2", "as-evt-4", 1740906000, "InTransit",
                 "2025-03-02T09:00:00+00:00", cp1)])))
    return out


def config_seeds():
    out = [("empty", b""),
           ("comment", b"# shiptrack\n\n"),
           ("typical", b"database = /var/lib/shiptrack/shiptrack.db\n"
                       b"webhook_secret = whsec_new_5f0c2a9e whsec_old_7d1b3c8f\n"
                       b"api_token = tok_operator_8e4a1f\n"
                       b"lookup_secret = lk_shopper_3b9d2c\n"
                       b"max_body = 1048576\ndurability = normal\nread_timeout = 10\n"
                       b"busy_timeout = 5000\nthreads = 16\nlog_level = debug\n"
                       b"stale_days = 7\nstale_rules = InTransit=5 Pending=3\n"
                       b"carrier_api_url = https://api.aftership.com/tracking/2025-07\n"
                       b"cors_origin = https://shop.example\n"),
           ("unknown-key", b"database = x.db\nwebhook_secrett = abc\n"),
           ("no-equals", b"webhook_secret: whsec_abc=\n"),
           ("bad-number", b"max_body = 12k\n"),
           ("bad-durability", b"durability = fast\n"),
           ("bad-stale", b"stale_rules = Nowhere=3\n"),
           ("empty-database", b"database =\n"),
           ("crlf", b"database = a.db\r\nthreads = 4\r\n"),
           ("long-line", b"notify_url = https://x.example/" + b"a" * 4200 + b"\n")]
    sample = os.path.join(TOP, "contrib", "shiptrack.conf.sample")
    if os.path.exists(sample):
        with open(sample, "rb") as f:
            out.append(("contrib-sample", f.read()))
    return out


def c_literals(text):
    """Concatenate adjacent C string literals in text into bytes."""
    out = b""
    for m in re.finditer(r'"((?:[^"\\]|\\.)*)"', text, re.S):
        s = m.group(1)
        out += s.encode().decode("unicode_escape").encode("latin-1")
    return out


def carrier_seeds():
    ops = {"CARRIER_GET": 0, "CARRIER_CREATE": 1, "CARRIER_LIST": 2}
    statuses = [200, 201, 400, 401, 404, 429, 500, 503]
    out = []
    src = os.path.join(TOP, "tests", "unit", "test_carrier.c")
    if os.path.exists(src):
        pre = subprocess.run(["gcc", "-E", "-P", "-I" + os.path.join(TOP, "cgi", "lib"),
                              "-I" + TOP, "-D__CMOCKA_H__", "-Dconfig_h", "-x", "c", "-"],
                             input=re.sub(r'#include[^\n]*', "", open(src).read()),
                             capture_output=True, text=True)
        calls = re.finditer(r'parse\((CARRIER_\w+),\s*(\d+),\s*((?:"(?:[^"\\]|\\.)*"\s*)+),\s*&r\)',
                            pre.stdout)
        for i, m in enumerate(calls):
            op, http, body = ops[m.group(1)], int(m.group(2)), c_literals(m.group(3))
            st_idx = statuses.index(http) if http in statuses else 0
            out.append(("answer-%02d-%s-%d" % (i, m.group(1)[8:].lower(), http),
                        bytes([op | st_idx << 2]) + body))
    out += [("answer-empty-200", bytes([0])),
            ("answer-plain-502", bytes([7 << 2]) + b"<html>502 Bad Gateway</html>\r\n"),
            ("headers", bytes([0x40]) + b"X-RateLimit-Limit: 10\r\nX-RateLimit-Remaining: 9\r\n"
             b"X-RateLimit-Reset: 1746525600\r\nRetry-After: 3\r\nas-api-version: 2025-07\r\n"
             b"Content-Type: application/json; charset=utf-8\r\n"),
            ("url-dated", bytes([0x60]) + b"https://api.aftership.com/tracking/2025-07\n1Z999AA1"),
            ("url-2024", bytes([0x60]) + b"https://api.aftership.com/tracking/2024-04\nUPS"),
            ("url-v4", bytes([0x60]) + b"http://127.0.0.1:8081/v4\n9400 1000/x?y&z")]
    return out


RYE_OPS = {"RYE_GET_INTENT": 0, "RYE_LIST_SHIPMENTS": 1, "RYE_GET_SHIPMENT": 2,
           "RYE_LIST_EVENTS": 3, "RYE_ORDER_BY_ID": 4, "RYE_LIST_INTENTS": 5,
           "RYE_FIND_SHIPMENTS": 6}
RYE_STATUSES = [200, 201, 400, 401, 404, 429, 500, 503]

# rye-api.md's examples.
RYE_INTENT = (b'{"id":"ci_aaa8af5c","state":"completed","createdAt":"2026-03-25T00:00:00Z",'
              b'"orderId":"ord_1","referenceId":"order-1234","buyer":{"email":'
              b'"john@example.com","postalCode":"10001","country":"US"}}')
RYE_SHIPMENT = (b'{"id":"shp_1","checkoutIntentId":"ci_aaa8af5c","marketplaceOrderId":"112-3",'
                b'"status":"shipped","tracking":{"number":"1Z999AA10123456784","carrierName":'
                b'"UPS","url":"https://www.ups.com/track?tracknum=1Z999AA10123456784",'
                b'"deliveryDate":{"estimated":"2026-03-30T00:00:00Z"}},"trackingEvents":'
                b'[{"status":"shipped","description":"Departed","location":{"city":'
                b'"Louisville"},"timestamp":{"local":"2026-03-26T22:10:00.000-04:00",'
                b'"utc":"2026-03-27T02:10:00Z"}}]}')
RYE_SHIPMENT_OLD = (b'{"id":"shp_2","checkoutIntentId":"ci_aaa8af5c","status":"delayed",'
                    b'"tracking":{"number":null,"carrierName":"USPS","estimatedDeliveryDate":'
                    b'"2026-04-02T00:00:00Z"},"trackingEvents":[{"description":"Delayed",'
                    b'"displayDate":"2026-03-28","displayTime":"10:00","location":"Memphis, TN"}]}')
RYE_EVENT = (b'{"id":"evt_1","object":"event","type":"shipment.created","createdAt":'
             b'"2026-03-26T00:00:00Z","source":{"type":"shipment","id":"shp_1"}}')
RYE_ORDER = (b'{"data":{"orderByID":{"id":"00401732-8a19-48eb-be6a-6138d2f666c7","status":'
             b'"SUCCEEDED","marketplace":"SHOPIFY","marketplaceOrderIds":["5523456789"],'
             b'"cart":{"buyerIdentity":{"email":"b@example.com","postalCode":"10001"}},'
             b'"shipments":[{"carrierName":"UPS","carrierTrackingNumber":"1Z999AA10123456784",'
             b'"carrierTrackingUrl":"https://www.ups.com/track?tracknum=1Z999AA1"}],"events":'
             b'[{"__typename":"TrackingObtainedOrderEvent","id":"3c1d9e20","createdAt":'
             b'"2023-04-13T09:02:11Z"}]}}}')


def rye_ctl(op, http, mode):
    st_idx = RYE_STATUSES.index(http) if http in RYE_STATUSES else 0
    return bytes([RYE_OPS[op] | st_idx << 3 | mode << 6])


def page(*items):
    return (b'{"data":[' + b",".join(items) + b'],"pageInfo":{"hasNextPage":true,'
            b'"hasPreviousPage":false,"startCursor":"s","endCursor":"e"}}')


def rye_seeds():
    out = []
    src = os.path.join(TOP, "tests", "unit", "test_rye.c")
    if os.path.exists(src):
        pre = subprocess.run(["gcc", "-E", "-P", "-I" + os.path.join(TOP, "cgi", "lib"),
                              "-I" + TOP, "-D__CMOCKA_H__", "-Dconfig_h", "-x", "c", "-"],
                             input=re.sub(r'#include[^\n]*', "", open(src).read()),
                             capture_output=True, text=True)
        calls = re.finditer(r'parse\((RYE_\w+),\s*(\d+),\s*((?:"(?:[^"\\]|\\.)*"\s*)+),'
                            r'\s*&a\)', pre.stdout)
        for i, m in enumerate(calls):
            op, http, body = m.group(1), int(m.group(2)), c_literals(m.group(3))
            if op in RYE_OPS:
                out.append(("answer-%02d-%s-%d" % (i, op[4:].lower(), http),
                            rye_ctl(op, http, 3) + body))
    out += [
        ("spec-intent", rye_ctl("RYE_GET_INTENT", 200, 3) + RYE_INTENT),
        ("spec-intents-by-id", rye_ctl("RYE_LIST_INTENTS", 200, 3) +
         page(RYE_INTENT, b'{"id":"ci_2","state":"requires_action"}')),
        ("spec-shipment", rye_ctl("RYE_GET_SHIPMENT", 200, 3) + RYE_SHIPMENT),
        ("spec-shipment-older", rye_ctl("RYE_GET_SHIPMENT", 200, 3) + RYE_SHIPMENT_OLD),
        ("spec-shipments-by-id", rye_ctl("RYE_FIND_SHIPMENTS", 200, 3) +
         page(RYE_SHIPMENT, RYE_SHIPMENT_OLD)),
        ("spec-intent-shipments", rye_ctl("RYE_LIST_SHIPMENTS", 200, 3) +
         page(RYE_SHIPMENT)),
        ("spec-events", rye_ctl("RYE_LIST_EVENTS", 200, 0) + page(RYE_EVENT, RYE_EVENT)),
        ("spec-order", rye_ctl("RYE_ORDER_BY_ID", 200, 3) + RYE_ORDER),
        ("spec-order-null", rye_ctl("RYE_ORDER_BY_ID", 200, 0) + b'{"data":{"orderByID":null}}'),
        ("spec-graphql-401", rye_ctl("RYE_ORDER_BY_ID", 401, 0) +
         b'{"errors":[{"message":"Unauthorized","extensions":{"code":"UNAUTHENTICATED"}}]}'),
        ("spec-404", rye_ctl("RYE_GET_INTENT", 404, 0) +
         b'{"name":"NotFoundError","message":"Checkout intent not found"}'),
        ("spec-429", rye_ctl("RYE_LIST_EVENTS", 429, 0) +
         b'{"name":"RateLimitError","message":"Too many requests","retryAfter":2}'),
        ("plain-503", rye_ctl("RYE_GET_INTENT", 503, 0) + b"Service Unavailable\n"),
        ("surrogate-in-intent", rye_ctl("RYE_GET_INTENT", 200, 3) +
         b'{"id":"ci_s","state":"completed","productUrl":"\\uD800"}'),
        ("headers", bytes([0x80]) + b'RateLimit-Policy: "default";q=10;w=1\r\n'
         b'RateLimit: "default";r=7;t=1\r\nRetry-After: 2\r\n'
         b'Ratelimit-Remaining: 99\r\nRatelimit-Reset: 1\r\n'),
        ("headers-hostile", bytes([0x80]) + b'RateLimit: "a";r=99999999999999999999;t=-1,'
         b' "b";r=0;t=86401\r\nRetry-After: Wed, 21 Oct 2015 07:28:00 GMT\r\n'),
    ]
    return out


def main():
    want = sys.argv[1:] or ["fuzz_webhook", "fuzz_config", "fuzz_carrier", "fuzz_rye"]
    makers = {"fuzz_webhook": webhook_seeds, "fuzz_config": config_seeds,
              "fuzz_carrier": carrier_seeds, "fuzz_rye": rye_seeds}
    for name in want:
        write(name, makers[name]())


if __name__ == "__main__":
    main()
