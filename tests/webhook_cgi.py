#!/usr/bin/env python3
"""webhook.fcgi as plain CGI, against a real SQLite file.

Covers DESIGN.md "Webhook receiver": signatures (gen 1, gen 2, rotation),
handshakes, de-duplication, methods, body limits, JSON errors, evidence of
rejected deliveries, storage of accepted events, busy database, logging.

What is stored is read through the programs (the operator view, shiptrack
check's counts, st.snapshot); what no program shows is read in storage on
purpose (st.storage_sql): the raw bodies and the evidence kept byte for
byte, each record's scheme, events of no order, ids as stored.  The busy
database is a lock held there, on purpose.
"""
import base64
import datetime
import hashlib
import hmac
import json
import os
import re
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import shiptrack_test as st  # noqa: E402
from shiptrack_test import check, eq, error_answer  # noqa: E402

SECRET = st.SECRET
TMP = st.tempdir()
LOG_LINE = re.compile(rb"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ shiptrack-webhook\[\d+\] "
                      rb"(error|warning|info|debug): ")


# About SQLite's own storage (tests/pg_backend.py): these hold its write
# lock through the sqlite3 module.  PostgreSQL's lock waits are
# tests/pg_driver.py's test_lock_held_is_503.
SQLITE_ONLY = {
    "test_write_lock_gives_503_then_succeeds": "holds SQLite's write lock",
    "test_rejection_under_lock_is_503_not_lost": "holds SQLite's write lock",
}

def db():
    return st.fresh_db(TMP)


def parse_iso(s):
    s = s.replace("Z", "+00:00")
    return datetime.datetime.fromisoformat(s)


def accepted(a, event_id, duplicate=False, what="answer"):
    eq(a.status, 200, what + " status (" + str(a) + ")")
    check(a.headers.get("content-type", "").startswith("application/json"),
          what + ": content-type %r" % a.headers.get("content-type"))
    j = a.json()
    eq(list(j.items()), [("ok", True), ("event", event_id), ("duplicate", duplicate)],
       what + " body")


def nothing_stored(path, before, what):
    after = st.snapshot(path)
    eq(after["counts"], before["counts"], what + ": row counts of all tables")
    eq(after, before, what + ": everything the programs show")


def snapshot(path):
    return st.snapshot(path)


def raw(path, sql, params=()):
    """Rows of the raw records, read in storage on purpose: no program
    shows a raw body, the evidence, a record's scheme or an event of no
    order."""
    return st.storage_sql(path, sql, params)


# --- the helpers themselves ----------------------------------------------

def test_helper_signatures_match_spec_vector():
    body = b'{"id":"evt_test","type":"PAYMENT_SUCCEEDED"}'
    eq(len(body), 44, "vector length")
    eq(st.sign_v1("whsec_example_secret", body),
       "VjlVluBllFoBKduTNBocQ/3oxcw8lK8wqw+TU1BnpBE=", "gen-1 vector")
    eq(st.sign_v2("whsec_example_secret", body),
       "v0=56395596e065945a0129db93341a1c43fde8c5cc3c94af30ab0f93535067a411",
       "gen-2 vector")


def test_spec_vector_signature_accepted_then_missing_created_at():
    # The spec's own vector has no createdAt: signature fine, then 400.
    path = db()
    body = b'{"id":"evt_test","type":"PAYMENT_SUCCEEDED"}'
    before = st.counts(path)
    a = st.post(path, body, secret="whsec_example_secret")
    error_answer(a, 400, "missing_field", "vector without createdAt")
    c = st.counts(path)
    eq(c["events"], before["events"], "events")
    eq(c["rejected_deliveries"], before["rejected_deliveries"] + 1, "rejected kept")


# --- accepted events -------------------------------------------------------

def test_good_gen1_signature_stores_event():
    path = db()
    body = st.event("PAYMENT_SUCCEEDED", order="ord_good_1",
                    created="2024-07-22T14:30:04.367Z", id="evt_good_1",
                    data={"marketplace": "shopify", "amount": 1999})
    t0 = datetime.datetime.now(datetime.timezone.utc)
    a = st.post(path, body)
    t1 = datetime.datetime.now(datetime.timezone.utc)
    accepted(a, "evt_good_1")
    eq(st.counts(path)["events"], 1, "one event row")
    events = st.events_of(path, "ord_good_1")
    eq(len(events), 1, "the order's one event")
    e = events[0]
    eq(e["id"], "evt_good_1", "id")
    eq(e["type"], "PAYMENT_SUCCEEDED", "type")
    eq(e["createdAt"], "2024-07-22T14:30:04.367Z", "createdAt")
    rows = raw(path, "SELECT scheme, body, typeof(body), marketplace FROM events")
    (scheme, body_, rawtype, mp) = rows[0]
    eq(scheme, "rye1", "scheme")
    eq(mp, "shopify", "marketplace")
    eq(rawtype, "blob", "body column type")
    eq(bytes(body_), body, "raw body byte-identical")
    r = parse_iso(e["receivedAt"])
    check(t0 - datetime.timedelta(seconds=1) <= r <= t1 + datetime.timedelta(seconds=1),
          "received time %s not within [%s, %s]" % (e["receivedAt"], t0, t1))
    eq(st.order_ids(path), ["ord_good_1"], "one order")
    v = st.operator_view(path, "ord_good_1")
    eq((v["id"], v["status"], v["stage"], v["marketplace"], v["createdAt"]),
       ("ord_good_1", "PENDING", "processing", "shopify", "2024-07-22T14:30:04.367Z"),
       "order row")


def test_created_at_forms_normalised():
    path = db()
    cases = [("2023-06-27T12:00:00Z", "2023-06-27T12:00:00Z"),
             ("2024-07-22T14:30:04.367Z", "2024-07-22T14:30:04.367Z"),
             ("2024-07-22T16:30:04+02:00", "2024-07-22T14:30:04Z")]
    for i, (given, want) in enumerate(cases):
        eid = "evt_created_%d" % i
        a = st.post(path, st.event("PAYMENT_SUCCEEDED", "ord_created", given, eid))
        accepted(a, eid, what=given)
        eq([e["createdAt"] for e in st.events_of(path, "ord_created") if e["id"] == eid],
           [want], "stored createdAt for " + given)


def test_raw_body_kept_byte_identical_with_odd_formatting():
    # Whitespace, key order, escapes and unknown keys are kept as sent.
    path = db()
    body = (b'{ "type" : "PAYMENT_SUCCEEDED",\n\t"createdAt":"2025-01-02T03:04:05Z",'
            b'"id":"evt_raw_1", "requestId":"ord_raw", "extra":{"k":[1,2.50,"\\u00e9\\/"]},'
            b'"data":{} }')
    a = st.post(path, body)
    accepted(a, "evt_raw_1")
    eq(bytes(raw(path, "SELECT body FROM events")[0][0]), body, "raw body")


# --- refused signatures ----------------------------------------------------

def refused(path, body, headers, what, secret=SECRET):
    before = snapshot(path)
    a = st.cgi(st.WEBHOOK, st.webhook_env(path, secret), body=body, headers=headers)
    error_answer(a, 401, "bad_signature", what)
    nothing_stored(path, before, what)
    return a


def test_bad_signature_refused():
    path = db()
    body = st.event("PAYMENT_SUCCEEDED", "ord_bad", st.iso(1))
    refused(path, body, {"Rye-Hmac-Signature-V1": st.sign_v1("another secret", body)},
            "wrong secret")


def test_missing_signature_refused():
    path = db()
    body = st.event("PAYMENT_SUCCEEDED", "ord_bad", st.iso(1))
    refused(path, body, {}, "no signature header")
    refused(path, body, {"Rye-Verification": "dev_shiptrack_tests"},
            "Rye-Verification is not a signature")


def test_tampered_body_refused():
    path = db()
    body = st.event("PAYMENT_SUCCEEDED", "ord_tamper", st.iso(1), data={"amount": 100})
    sig = st.sign_v1(SECRET, body)
    refused(path, body.replace(b"100", b"900"), {"Rye-Hmac-Signature-V1": sig},
            "body changed")
    refused(path, body + b" ", {"Rye-Hmac-Signature-V1": sig}, "byte appended")
    refused(path, body[:-1], {"Rye-Hmac-Signature-V1": sig}, "byte removed")


def test_tampered_signature_refused():
    path = db()
    body = st.event("PAYMENT_SUCCEEDED", "ord_tamper", st.iso(1))
    sig = st.sign_v1(SECRET, body)
    flipped = ("B" if sig[0] == "A" else "A") + sig[1:]
    for what, bad in [("first char flipped", flipped),
                      ("truncated", sig[:-4]),
                      ("unpadded", sig.rstrip("=")),
                      ("empty", ""),
                      ("hex instead of base64", st.sign_v2(SECRET, body)[3:]),
                      ("not base64", "!!!!" + sig[4:]),
                      ("very long", sig * 100)]:
        refused(path, body, {"Rye-Hmac-Signature-V1": bad}, what)
    # A correct signature afterwards is still accepted.
    accepted(st.post(path, body), json.loads(body)["id"])


def test_gen2_bad_signatures_refused():
    path = db()
    body = st.event2("checkout_intent.completed", "ci_bad", created=st.iso(2))
    sig = st.sign_v2(SECRET, body)
    for what, bad in [("wrong secret", st.sign_v2("nope", body)),
                      ("no v0= prefix", sig[3:]),
                      ("base64 value", "v0=" + st.sign_v1(SECRET, body)),
                      ("truncated", sig[:-2]),
                      ("one digit changed", sig[:-1] + ("0" if sig[-1] != "0" else "1"))]:
        refused(path, body, {"X-Rye-Signature": bad}, "gen 2 " + what)


# --- gen 2, rotation ------------------------------------------------------

def test_gen2_signature_accepted():
    path = db()
    body = st.event2("checkout_intent.completed", "ci_gen2_1", created=st.iso(5),
                     id="evt2_gen2_1")
    a = st.post(path, body, gen=2)
    accepted(a, "evt2_gen2_1")
    eq(st.counts(path)["events"], 1, "one event")
    eq([(e["type"], e["createdAt"]) for e in st.events_of(path, "ci_gen2_1")],
       [("checkout_intent.completed", st.iso(5))], "gen-2 row")
    eq([(o, st.operator_view(path, o)["status"]) for o in st.order_ids(path)],
       [("ci_gen2_1", "SUCCEEDED")], "gen-2 order")
    eq(raw(path, "SELECT scheme, body FROM events"), [("rye2", body)], "gen-2 raw body")


def test_gen2_shipment_source_is_not_an_order():
    path = db()
    body = st.event2("shipment.updated", "shp_1", source_type="shipment",
                     created=st.iso(6), id="evt2_ship_1")
    accepted(st.post(path, body, gen=2), "evt2_ship_1")
    eq(raw(path, "SELECT order_id, subject, source FROM events"),
       [(None, "shipment:shp_1", "webhook")],
       "no order id: pending until the Rye pass learns the shipment's intent")
    eq(st.counts(path)["orders"], 0, "no order")
    eq(bytes(raw(path, "SELECT body FROM events")[0][0]), body, "raw body kept")


def test_records_of_the_rye_pass_are_no_webhooks():
    """An observation's envelope is what the Rye pass stores; a webhook
    signed with Rye's secret still cannot pose as one."""
    path = db()
    before = snapshot(path)
    obs = st.dumps({"id": "obs:intent:ci_1:0123456789abcdef:0", "object": "observation",
                    "type": "rye2.intent.observed", "createdAt": st.iso(0),
                    "source": {"type": "checkout_intent", "id": "ci_1"},
                    "data": {"id": "ci_1", "state": "completed"}})
    for gen in (1, 2):
        a = st.post(path, obs, gen=gen)
        error_answer(a, 400, "invalid_field", "observation under gen %d" % gen)
    ev = st.dumps({"id": "sync:1", "object": "order_event", "requestId": "ord_1",
                   "createdAt": st.iso(0), "type": "ORDER_PLACED",
                   "data": {"__typename": "OrderPlacedOrderEvent"}})
    error_answer(st.post(path, ev), 400, "invalid_field", "gen-1 order event")
    eq(st.counts(path)["events"], before["counts"]["events"],
       "no event stored (kept as evidence)")


def test_secret_rotation():
    path = db()
    secrets = "whsec_old_one_4f1a2b whsec_new_two_9c8d7e"
    for i, key in enumerate(["whsec_old_one_4f1a2b", "whsec_new_two_9c8d7e"]):
        eid = "evt_rot_%d" % i
        a = st.post(path, st.event("PAYMENT_SUCCEEDED", "ord_rot", st.iso(i), eid),
                    secret=secrets, sign_with=key)
        accepted(a, eid, what="signed with " + key)
        eid2 = "evt2_rot_%d" % i
        a = st.post(path, st.event2("checkout_intent.completed", "ci_rot", created=st.iso(i),
                                    id=eid2), secret=secrets, sign_with=key, gen=2)
        accepted(a, eid2, what="gen 2 signed with " + key)
    body = st.event("PAYMENT_SUCCEEDED", "ord_rot", st.iso(9))
    refused(path, body, {"Rye-Hmac-Signature-V1": st.sign_v1("whsec_third", body)},
            "third secret", secret=secrets)
    refused(path, body, {"Rye-Hmac-Signature-V1": st.sign_v1(secrets, body)},
            "the whole list as one secret", secret=secrets)
    eq(st.counts(path)["events"], 4, "events stored")


# --- handshakes -------------------------------------------------------------

def test_gen1_handshake():
    path = db()
    before = snapshot(path)
    body = st.event("WEBHOOK_URL_VERIFICATION", None, st.iso(0),
                    data={"challenge": "chal-123 \"q\" \u00e9"})
    a = st.post(path, body)
    eq(a.status, 200, "status")
    eq(list(a.json().items()), [("challenge", "chal-123 \"q\" \u00e9")], "challenge answer")
    nothing_stored(path, before, "handshake stores nothing")
    # Signature is checked before the handshake is recognised.
    refused(path, body, {"Rye-Hmac-Signature-V1": st.sign_v1("x", body)},
            "unsigned handshake")


def test_gen2_handshake():
    path = db()
    before = snapshot(path)
    body = st.event2("webhook_endpoint.verification_challenge", "chal_gen2_abc",
                     source_type="webhook_endpoint", created=st.iso(0))
    a = st.post(path, body, gen=2)
    eq(a.status, 200, "status")
    eq(list(a.json().items()), [("challenge", "chal_gen2_abc")], "challenge answer")
    nothing_stored(path, before, "gen-2 handshake stores nothing")
    # An earlier revision of Rye's docs echoed data.challenge: that one when present.
    body = st.event2("webhook_endpoint.verification_challenge", "whep_1",
                     source_type="webhook_endpoint", created=st.iso(0),
                     data={"challenge": "chal_data_42"})
    a = st.post(path, body, gen=2)
    eq(list(a.json().items()), [("challenge", "chal_data_42")], "data.challenge echoed")
    nothing_stored(path, before, "still nothing stored")


# --- duplicates -------------------------------------------------------------

def test_duplicate_has_no_effect():
    path = db()
    body = st.event("ORDER_PLACED", "ord_dup", st.iso(3), "evt_dup_1")
    accepted(st.post(path, body), "evt_dup_1")
    before = snapshot(path)
    time.sleep(0.01)
    accepted(st.post(path, body), "evt_dup_1", duplicate=True, what="second post")
    nothing_stored(path, before, "duplicate")
    # Same id, different body: still a duplicate; the first body stays.
    other = st.event("ORDER_FAILED", "ord_dup", st.iso(9), "evt_dup_1")
    accepted(st.post(path, other), "evt_dup_1", duplicate=True, what="same id, new body")
    nothing_stored(path, before, "same id, new body")
    # And over gen 2 with the same id.
    accepted(st.post(path, st.event2("checkout_intent.order_failed", "ord_dup",
                                     created=st.iso(9), id="evt_dup_1"), gen=2),
             "evt_dup_1", duplicate=True, what="same id over gen 2")
    nothing_stored(path, before, "same id over gen 2")


# --- methods and sizes ---------------------------------------------------

def test_get_is_405():
    path = db()
    before = snapshot(path)
    for m in ("GET", "PUT", "DELETE", "HEAD"):
        a = st.cgi(st.WEBHOOK, st.webhook_env(path), method=m)
        if m == "HEAD":
            eq(a.status, 405, "HEAD status")
        else:
            error_answer(a, 405, "method_not_allowed", m)
        eq(a.headers.get("allow"), "POST", m + " Allow header")
    nothing_stored(path, before, "405")


def test_413_declared_length_not_read():
    path = db()
    before = snapshot(path)
    env = st.webhook_env(path, SHIPTRACK_MAX_BODY=1000, SHIPTRACK_READ_TIMEOUT=5)
    # Declared too large, signed, body never sent, stdin left open: a
    # receiver that tried to read would wait for the read timeout.
    a = st.cgi(st.WEBHOOK, env, body=b"", content_length=1001, keep_stdin_open=True,
               headers={"Rye-Hmac-Signature-V1": st.sign_v1(SECRET, b"x")})
    error_answer(a, 413, "payload_too_large", "declared 1001")
    check(a.elapsed < 3, "413 took %.1fs: the body was waited for" % a.elapsed)
    nothing_stored(path, before, "413 declared")


def test_413_declared_length_beyond_2_gib():
    # A well-formed CONTENT_LENGTH larger than max_body is 413 whatever its
    # size (DESIGN.md), not 400 bad_length because it exceeds 2^31 - 1.
    path = db()
    before = snapshot(path)
    env = st.webhook_env(path, SHIPTRACK_MAX_BODY=1000, SHIPTRACK_READ_TIMEOUT=5)
    for cl in (2 ** 31 - 1, 2 ** 31, 5 * 10 ** 9, 10 ** 12):
        a = st.cgi(st.WEBHOOK, env, body=b"", content_length=cl, keep_stdin_open=True,
                   headers={"Rye-Hmac-Signature-V1": st.sign_v1(SECRET, b"x")})
        error_answer(a, 413, "payload_too_large", "CONTENT_LENGTH %d" % cl)
        check(a.elapsed < 3, "took %.1fs" % a.elapsed)
    nothing_stored(path, before, "413 declared huge")


def test_413_actual_size_without_content_length():
    path = db()
    before = snapshot(path)
    env = st.webhook_env(path, SHIPTRACK_MAX_BODY=1000, SHIPTRACK_READ_TIMEOUT=5)
    body = st.event("PAYMENT_SUCCEEDED", "ord_big", st.iso(0),
                    data={"pad": "x" * 2000})
    a = st.cgi(st.WEBHOOK, env, body=body, content_length=None,
               headers={"Rye-Hmac-Signature-V1": st.sign_v1(SECRET, body)})
    error_answer(a, 413, "payload_too_large", "2 KB body, no CONTENT_LENGTH")
    big = st.event("PAYMENT_SUCCEEDED", "ord_big", st.iso(0), data={"pad": "y" * 300000})
    a = st.cgi(st.WEBHOOK, env, body=big, content_length=None,
               headers={"Rye-Hmac-Signature-V1": st.sign_v1(SECRET, big)})
    error_answer(a, 413, "payload_too_large", "300 KB body, no CONTENT_LENGTH")
    nothing_stored(path, before, "413 actual")


def test_max_body_boundary():
    path = db()
    env = st.webhook_env(path, SHIPTRACK_MAX_BODY=1000)

    def sized(n, eid):
        b = st.event("PAYMENT_SUCCEEDED", "ord_edge", st.iso(0), eid, data={"pad": ""})
        return st.event("PAYMENT_SUCCEEDED", "ord_edge", st.iso(0), eid,
                        data={"pad": "p" * (n - len(b))})

    exact = sized(1000, "evt_edge_exact")
    eq(len(exact), 1000, "body size")
    for cl in (True, False):
        a = st.cgi(st.WEBHOOK, env, body=exact,
                   content_length=st._KEEP if cl else None,
                   headers={"Rye-Hmac-Signature-V1": st.sign_v1(SECRET, exact)})
        eq(a.status, 200, "exactly max_body (CONTENT_LENGTH %s): %s" % (cl, a))
    over = sized(1001, "evt_edge_over")
    eq(len(over), 1001, "body size")
    for cl in (True, False):
        a = st.cgi(st.WEBHOOK, env, body=over,
                   content_length=st._KEEP if cl else None,
                   headers={"Rye-Hmac-Signature-V1": st.sign_v1(SECRET, over)})
        error_answer(a, 413, "payload_too_large", "max_body + 1")


def test_short_body_is_bad_length_without_hanging():
    path = db()
    before = snapshot(path)
    env = st.webhook_env(path, SHIPTRACK_READ_TIMEOUT=2)
    body = st.event("PAYMENT_SUCCEEDED", "ord_short", st.iso(0))
    a = st.cgi(st.WEBHOOK, env, body=body, content_length=len(body) + 50, timeout=15,
               headers={"Rye-Hmac-Signature-V1": st.sign_v1(SECRET, body)})
    error_answer(a, 400, "bad_length", "CONTENT_LENGTH > body")
    check(a.elapsed < 5, "took %.1fs" % a.elapsed)
    for bad in ("abc", "-5", "+5", " 12", "12x", "0x10"):
        a = st.cgi(st.WEBHOOK, env, body=body, content_length=bad, timeout=15,
                   headers={"Rye-Hmac-Signature-V1": st.sign_v1(SECRET, body)})
        error_answer(a, 400, "bad_length", "CONTENT_LENGTH %r" % bad)
    # A body that never finishes arriving: bounded by the read timeout.
    a = st.cgi(st.WEBHOOK, env, body=body[:10], content_length=len(body),
               keep_stdin_open=True, timeout=15,
               headers={"Rye-Hmac-Signature-V1": st.sign_v1(SECRET, body)})
    check(a.status in (400, 408), "stalled body: %s" % a)
    check(a.elapsed < 8, "stalled body took %.1fs with a 2 s read timeout" % a.elapsed)
    nothing_stored(path, before, "bad length")


# --- signed but unacceptable ------------------------------------------------

def test_signed_invalid_json_kept_as_evidence():
    path = db()
    cases = [b'{"id":"evt_x","type":"PAYMENT_SUCCEEDED",',
             b'not json at all \x00\xff\xfe binary',
             b'{"id":"evt_x","type":"T","createdAt":"2025-01-01T00:00:00Z"} trailing',
             b'[1,2,3]',
             b'',
             b'{"id":"evt_\xff","type":"T","createdAt":"2025-01-01T00:00:00Z"}',
             b'{"id":"a","id2":' + b'[' * 100 + b']' * 100 + b'}']
    for i, body in enumerate(cases):
        before = st.counts(path)
        a = st.post(path, body)
        error_answer(a, 400, "invalid_json", "case %d %r" % (i, body[:30]))
        c = st.counts(path)
        eq(c["rejected_deliveries"], before["rejected_deliveries"] + 1, "evidence kept")
        eq((c["events"], c["orders"], c["shipments"]), (0, 0, 0), "nothing applied")
        row = raw(path, "SELECT scheme, body, typeof(body) FROM rejected_deliveries "
                  "ORDER BY id DESC LIMIT 1")[0]
        eq(row[0], "rye1", "scheme")
        eq(bytes(row[1]), body, "evidence byte-identical (case %d)" % i)


def test_missing_fields():
    path = db()
    full = st.event_obj("PAYMENT_SUCCEEDED", "ord_missing", st.iso(0))
    for field in ("id", "type", "createdAt"):
        o = dict(full)
        del o[field]
        body = st.dumps(o)
        before = st.counts(path)
        a = st.post(path, body)
        error_answer(a, 400, "missing_field", "no " + field)
        c = st.counts(path)
        eq(c["events"], 0, "no event stored")
        eq(c["orders"], 0, "no order")
        eq(c["rejected_deliveries"], before["rejected_deliveries"] + 1, "kept as evidence")
        eq(bytes(raw(path, "SELECT body FROM rejected_deliveries ORDER BY id DESC "
                     "LIMIT 1")[0][0]), body, "evidence byte-identical")
    for field in ("id", "type", "createdAt"):
        o = dict(full)
        o[field] = None
        a = st.post(path, st.dumps(o))
        check(a.status == 400, "%s null: %s" % (field, a))
    eq(st.counts(path)["events"], 0, "nothing stored")


def test_unknown_type_without_order():
    path = db()
    body = st.event("SOMETHING_NEW_FROM_RYE", None, st.iso(0), "evt_unknown_1",
                    data={"whatever": [1, {"x": None}]})
    accepted(st.post(path, body), "evt_unknown_1")
    eq(raw(path, "SELECT type, order_id FROM events"),
       [("SOMETHING_NEW_FROM_RYE", None)], "stored")
    eq(bytes(raw(path, "SELECT body FROM events")[0][0]), body, "raw body")
    eq(st.counts(path)["orders"], 0, "no order effect")
    body = st.event("PRODUCT_UPDATED", None, st.iso(1), "evt_product_1",
                    marketplace="amazon", data={"productId": "B0001"})
    accepted(st.post(path, body), "evt_product_1")
    eq(st.counts(path)["orders"], 0, "product event: no order effect")


def test_unknown_type_with_order_creates_pending_order():
    path = db()
    accepted(st.post(path, st.event("RETURN_REQUESTED_V9", "ord_unknown", st.iso(4),
                                    "evt_unknown_2")), "evt_unknown_2")
    eq([(o, v["status"], v["createdAt"]) for o, v in
        ((o, st.operator_view(path, o)) for o in st.order_ids(path))],
       [("ord_unknown", "PENDING", st.iso(4))], "pending order")
    # It leaves a known status alone.
    accepted(st.post(path, st.event("ORDER_PLACED", "ord_unknown", st.iso(5), "evt_u3")),
             "evt_u3")
    accepted(st.post(path, st.event("RETURN_REQUESTED_V9", "ord_unknown", st.iso(6),
                                    "evt_u4")), "evt_u4")
    eq(st.operator_view(path, "ord_unknown")["status"], "SUCCEEDED",
       "unknown type does not change status")


def test_odd_ids_round_trip():
    path = db()
    order = 'ord "quoted" \\back\\slash\\ \u00fcn\u00efc\u00f8d\u00e9 \U0001F4E6 <&>\''
    eid = 'evt "q" \\ \\" \\\\ / \u2028 \u00e9\U0001F600 </script>'
    body = st.event("ORDER_PLACED", order, st.iso(7), eid)
    a = st.post(path, body)
    accepted(a, eid, what="odd ids")
    check(b"\\/" not in a.body, "slashes are not escaped: %r" % a.body)
    eq((st.counts(path)["events"], st.order_ids(path)), (1, [order]), "stored ids")
    v = st.api(path, "/v1/orders/" + order)
    eq(v.status, 200, "API view of odd order id (%s)" % v)
    j = v.json()
    eq(j["id"], order, "order id in view")
    eq([e["id"] for e in j["events"]], [eid], "event id in view")
    check(b"\\/" not in v.body, "view does not escape slashes: %r" % v.body)
    # Duplicate detection works on the exact id.
    accepted(st.post(path, body), eid, duplicate=True, what="odd id again")


def test_embedded_nul_in_ids_not_truncated():
    # "\u0000" is valid JSON.  An id holding one must be refused
    # (invalid_field) or kept whole, never cut at the NUL: that would make
    # two distinct events duplicates, or move an event to another order.
    path = db()
    first = st.post(path, st.event("ORDER_PLACED", "ord_nul", st.iso(0), "evt_nul\u0000A"))
    second = st.post(path, st.event("ORDER_FAILED", "ord_nul", st.iso(1), "evt_nul\u0000B"))
    other = st.post(path, st.event("ORDER_PLACED", "ord_nul\u0000other", st.iso(2),
                                   "evt_nul_order"))
    for what, a in (("first", first), ("second", second), ("other order", other)):
        if a.status == 200:
            check(a.json()["event"] in ("evt_nul\u0000A", "evt_nul\u0000B", "evt_nul_order"),
                  "%s: event id truncated at NUL: answer %r" % (what, a.body))
            check(a.json()["duplicate"] is False,
                  "%s: a distinct event taken for a duplicate: %r" % (what, a.body))
        else:
            error_answer(a, 400, "invalid_field", what + " with NUL")
    # The ids as stored, NULs and all: an id holding a NUL cannot even be
    # asked for through the API.
    ids = [r[0] for r in raw(path, "SELECT id FROM events")]
    orders = [r[0] for r in raw(path, "SELECT id FROM orders")]
    check("evt_nul" not in ids, "stored event id truncated at NUL: %r" % ids)
    check(other.status != 200 or "ord_nul\u0000other" in orders,
          "order id truncated at NUL, event applied to another order: %r" % orders)


def kept_as_evidence(path, before, a, body, code, what, scheme="rye1"):
    """Answer a is 400 with code; body is kept byte for byte in
    rejected_deliveries since the counts before; nothing else stored."""
    error_answer(a, 400, code, what)
    c = st.counts(path)
    eq(c["rejected_deliveries"], before["rejected_deliveries"] + 1, what + ": evidence kept")
    eq((c["events"], c["orders"], c["shipments"]),
       (before["events"], before["orders"], before["shipments"]), what + ": nothing applied")
    row = raw(path, "SELECT scheme, body FROM rejected_deliveries ORDER BY id DESC LIMIT 1")[0]
    eq((row[0], bytes(row[1])), (scheme, body), what + ": evidence")


def refused_as_evidence(path, body, code, what, scheme="rye1", **post_kw):
    """POST a signed body (st.post's arguments) that must be refused and kept."""
    before = st.counts(path)
    kept_as_evidence(path, before, st.post(path, body, **post_kw), body, code, what, scheme)


def test_ids_must_be_json_strings():
    # DESIGN.md: event and order ids are JSON strings.  json-c clamps
    # integers beyond 64 bits, so a number is never taken as an id.
    path = db()
    for what, field, value in [("id number", "id", 12345),
                               ("id beyond 64 bits", "id", 99999999999999999999),
                               ("id float", "id", 1.5), ("id bool", "id", True),
                               ("id object", "id", {"v": "evt"}), ("id array", "id", ["e"]),
                               ("requestId number", "requestId", 42),
                               ("type number", "type", 7)]:
        o = st.event_obj("ORDER_PLACED", "ord_idtype", st.iso(0), "evt_idtype")
        o[field] = value
        refused_as_evidence(path, st.dumps(o), "invalid_field", "gen 1 " + what)
    body = (b'{"id":"evt2_srcnum","object":"event","type":"checkout_intent.completed",'
            b'"createdAt":"2025-03-01T09:00:00Z","source":{"type":"checkout_intent",'
            b'"id":99999999999999999999}}')
    refused_as_evidence(path, body, "invalid_field", "gen 2 source.id number", gen=2,
                        scheme="rye2")
    body = b'{"id":12,"object":"event","type":"checkout_intent.completed",' \
           b'"createdAt":"2025-03-01T09:00:00Z","source":{"type":"checkout_intent","id":"ci_1"}}'
    refused_as_evidence(path, body, "invalid_field", "gen 2 id number", gen=2, scheme="rye2")
    # AfterShip push: event_id.
    as_secret = "as_push_secret_0123456789"
    body = (b'{"event":"tracking_update","event_id":99999999999999999999,"ts":1746525600,'
            b'"msg":{"tracking_number":"1ZNUM","slug":"ups","tag":"InTransit",'
            b'"updated_at":"2025-05-06T10:00:00+00:00"}}')
    sig = base64.b64encode(hmac.new(as_secret.encode(), body, hashlib.sha256).digest())
    before = st.counts(path)
    a = st.cgi(st.WEBHOOK, st.webhook_env(path, SHIPTRACK_AFTERSHIP_WEBHOOK_SECRET=as_secret),
               body=body, headers={"aftership-hmac-sha256": sig.decode()})
    kept_as_evidence(path, before, a, body, "invalid_field", "AfterShip event_id number",
                     scheme="aftership")


def test_ids_beyond_64_bits_do_not_collide():
    # Two distinct signed events whose ids differ only past 64-bit
    # precision: neither may be answered as the other's duplicate.
    path = db()
    for order_digits in (False, True):
        for i, n in enumerate((b"99999999999999999999", b"99999999999999999998",
                               b"-99999999999999999999", b"-99999999999999999998")):
            if order_digits:
                body = (b'{"id":"evt_big_order_%d","requestId":%s,"createdAt":'
                        b'"2025-03-01T09:00:00Z","type":"ORDER_PLACED","data":{}}' % (i, n))
            else:
                body = (b'{"id":%s,"requestId":"ord_big","createdAt":"2025-03-01T09:00:00Z",'
                        b'"type":"ORDER_PLACED","data":{}}' % n)
            refused_as_evidence(path, body, "invalid_field", "number %s" % n.decode())
    eq(st.counts(path)["events"], 0, "no event stored")


def test_lone_surrogates_refused_not_merged():
    # json-c decodes every lone surrogate escape to U+FFFD: two events whose
    # ids differ only in which one they carry would share one id.  Both are
    # refused (invalid_json: not Unicode text) and kept as evidence.
    path = db()
    template = (b'{"id":"evt_sur_%s","requestId":"ord_sur","createdAt":"2025-03-01T09:00:00Z",'
                b'"type":"ORDER_PLACED","data":{"note":"%s"}}')
    for what, idpart, note in [("high alone", b"\\uD800", b""),
                               ("low alone", b"\\uDC00", b""),
                               ("high, then a plain letter", b"\\uD83Dx", b""),
                               ("high, then a non-surrogate escape", b"\\uD83D\\u0041", b""),
                               ("two highs", b"\\uD83D\\uD83D", b""),
                               ("pair reversed", b"\\uDE00\\uD83D", b""),
                               ("lower-case hex", b"\\udbff", b""),
                               ("at the end of a string", b"x\\uD800", b""),
                               ("in another field", b"plain", b"\\uDFFF")]:
        refused_as_evidence(path, template % (idpart, note), "invalid_json", what)
    eq(st.counts(path)["events"], 0, "no event stored")
    # A pair is one character; an escaped backslash before "uD800" is text.
    a = st.post(path, template % (b"\\uD83D\\uDE00", b""))
    accepted(a, "evt_sur_\U0001F600", what="surrogate pair")
    a = st.post(path, template % (b"\\\\uD800", b"\\\\uDC00"))
    accepted(a, "evt_sur_\\uD800", what="escaped backslash")
    eq(st.counts(path)["events"], 2, "two events")
    eq(sorted(e["id"] for e in st.events_of(path, "ord_sur")),
       sorted(["evt_sur_\U0001F600", "evt_sur_\\uD800"]), "stored ids")


def test_nan_and_infinity_are_not_json():
    path = db()
    for lit in (b"NaN", b"Infinity", b"-Infinity", b"1e999", b"-1e999"):
        body = (b'{"id":"evt_nan","requestId":"ord_nan","createdAt":"2025-03-01T09:00:00Z",'
                b'"type":"PAYMENT_SUCCEEDED","data":{"amount":%s}}' % lit)
        refused_as_evidence(path, body, "invalid_json", lit.decode())
    body = (b'{"id":"evt2_nan","object":"event","type":"checkout_intent.completed",'
            b'"createdAt":"2025-03-01T09:00:00Z","source":{"type":"checkout_intent",'
            b'"id":"ci_nan"},"data":[NaN]}')
    refused_as_evidence(path, body, "invalid_json", "gen 2 NaN", gen=2, scheme="rye2")


# --- the signature binds the generation -----------------------------------

def test_gen2_body_under_gen1_header_refused():
    path = db()
    body = st.event2("checkout_intent.completed", "ci_cross_1", created=st.iso(1),
                     id="evt2_cross_1")
    refused_as_evidence(path, body, "invalid_field", "gen-2 body, gen-1 header", gen=1)
    hs = st.event2("webhook_endpoint.verification_challenge", "chal_cross",
                   source_type="webhook_endpoint", created=st.iso(0))
    refused_as_evidence(path, hs, "invalid_field", "gen-2 handshake, gen-1 header", gen=1)
    # Upper-case type but marked as a gen-2 object: still not gen 1.
    o = st.event_obj("ORDER_PLACED", "ord_cross", st.iso(2), "evt_cross_obj")
    o["object"] = "event"
    refused_as_evidence(path, st.dumps(o), "invalid_field", "object:event, gen-1 header")
    # The same gen-2 bytes under their own header are fine.
    accepted(st.post(path, body, gen=2), "evt2_cross_1", what="gen-2 body, gen-2 header")


def test_gen1_body_under_gen2_header_refused():
    path = db()
    body = st.event("ORDER_PLACED", "ord_cross_2", st.iso(1), "evt_cross_2")
    refused_as_evidence(path, body, "invalid_field", "gen-1 body, gen-2 header", gen=2,
                        scheme="rye2")
    hs = st.event("WEBHOOK_URL_VERIFICATION", None, st.iso(0), data={"challenge": "c1"})
    refused_as_evidence(path, hs, "invalid_field", "gen-1 handshake, gen-2 header", gen=2,
                        scheme="rye2")
    # "object":"event" without a source object is no gen-2 body either.
    o = json.loads(st.event2("checkout_intent.completed", "ci_x", created=st.iso(1)))
    o["source"] = "ci_x"
    refused_as_evidence(path, st.dumps(o), "invalid_field", "source not an object", gen=2,
                        scheme="rye2")
    accepted(st.post(path, body, gen=1), "evt_cross_2", what="gen-1 body, gen-1 header")


def test_gen1_order_event_needs_request_id():
    # A gen-1 order event names its order; URL verification and product
    # events (and types not in the spec's list) need not.
    path = db()
    for t in ("ORDER_PLACED", "PAYMENT_SUCCEEDED", "TRACKING_OBTAINED"):
        refused_as_evidence(path, st.event(t, None, st.iso(0), "evt_noreq_" + t),
                            "missing_field", t + " without requestId")
    accepted(st.post(path, st.event("PRODUCT_UPDATED", None, st.iso(0), "evt_noreq_prod")),
             "evt_noreq_prod", what="product event")


def test_webhook_secret_v2_is_gen2s_own():
    path = db()
    v1, v2, v2_next = "whsec_gen1_only_0001", "whsec_gen2_only_0002", "whsec_gen2_next_0003"
    env = {"SHIPTRACK_WEBHOOK_SECRET_V2": v2 + " " + v2_next}
    b2 = st.event2("checkout_intent.completed", "ci_v2", created=st.iso(1), id="evt2_v2_a")
    before = snapshot(path)
    a = st.post(path, b2, secret=v1, gen=2, env=env)
    error_answer(a, 401, "bad_signature", "gen 2 signed with webhook_secret")
    nothing_stored(path, before, "gen 2 signed with webhook_secret")
    accepted(st.post(path, b2, secret=v1, sign_with=v2, gen=2, env=env), "evt2_v2_a",
             what="gen 2 signed with webhook_secret_v2")
    b2b = st.event2("checkout_intent.completed", "ci_v2", created=st.iso(2), id="evt2_v2_b")
    accepted(st.post(path, b2b, secret=v1, sign_with=v2_next, gen=2, env=env), "evt2_v2_b",
             what="gen 2 signed with the second webhook_secret_v2")
    b1 = st.event("ORDER_PLACED", "ord_v2", st.iso(1), "evt_v2_gen1")
    before = snapshot(path)
    a = st.post(path, b1, secret=v1, sign_with=v2, gen=1, env=env)
    error_answer(a, 401, "bad_signature", "gen 1 signed with webhook_secret_v2")
    nothing_stored(path, before, "gen 1 signed with webhook_secret_v2")
    accepted(st.post(path, b1, secret=v1, gen=1, env=env), "evt_v2_gen1",
             what="gen 1 signed with webhook_secret")
    hs = st.event2("webhook_endpoint.verification_challenge", "chal_v2",
                   source_type="webhook_endpoint", created=st.iso(0))
    a = st.post(path, hs, secret=v1, sign_with=v2, gen=2, env=env)
    eq((a.status, a.body), (200, b'{"challenge":"chal_v2"}'), "gen-2 handshake with v2")


def test_webhook_secret_v2_alone():
    # Only gen 2's secret set (in the file): the receiver is configured,
    # gen 2 works, gen 1 has no secret (503, as for any sender without one).
    path = db()
    conf = os.path.join(TMP, "v2-alone.conf")
    with open(conf, "w") as f:
        f.write("webhook_secret_v2 = whsec_gen2_alone_0004\n")
    env = {"SHIPTRACK_CONFIG": conf}
    b2 = st.event2("checkout_intent.completed", "ci_alone", created=st.iso(1),
                   id="evt2_alone")
    accepted(st.post(path, b2, secret=None, sign_with="whsec_gen2_alone_0004", gen=2,
                     env=env), "evt2_alone", what="gen 2")
    before = snapshot(path)
    b1 = st.event("ORDER_PLACED", "ord_alone", st.iso(1), "evt_alone")
    a = st.post(path, b1, secret=None, sign_with="whsec_gen2_alone_0004", gen=1, env=env)
    error_answer(a, 503, "not_configured", "gen 1 without webhook_secret")
    nothing_stored(path, before, "gen 1 without webhook_secret")


def test_not_configured_refuses_and_stores_nothing():
    path = db()
    before = snapshot(path)
    body = st.event("PAYMENT_SUCCEEDED", "ord_nc", st.iso(0))
    # Blank is unset (the environment is trimmed like the file); a short
    # secret, alone or in a rotation list, is refused at start-up.
    for secret in (None, "", "   ", " \t ", "whsec_short", SECRET + " whsec_short"):
        env = st.webhook_env(path, secret)
        if secret is None:
            env["SHIPTRACK_WEBHOOK_SECRET"] = None
        a = st.cgi(st.WEBHOOK, env, body=body,
                   headers={"Rye-Hmac-Signature-V1": st.sign_v1(SECRET, body)})
        error_answer(a, 503, "not_configured", "secret %r" % secret)
        if secret is not None and secret.strip():
            check(b"webhook_secret" in a.stderr and b"16 bytes" in a.stderr,
                  "secret %r: the log says why: %r" % (secret, a.stderr))
            check(b"whsec_short" not in a.stderr, "the secret is not logged")
    nothing_stored(path, before, "not configured")


def test_write_lock_gives_503_then_succeeds():
    path = db()
    body = st.event("ORDER_PLACED", "ord_locked", st.iso(2), "evt_locked_1")
    conn = st.storage_connect(path, timeout=0)         # the write lock, on purpose
    try:
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("INSERT INTO meta(key, value) VALUES ('test_lock', 'held')")
        a = st.post(path, body, env={"SHIPTRACK_BUSY_TIMEOUT": 200}, timeout=20)
        error_answer(a, 503, "unavailable", "locked database")
        check("retry-after" in a.headers, "Retry-After missing: %r" % a.headers)
        check(re.fullmatch(r"\d+", a.headers.get("retry-after", "")) is not None,
              "Retry-After %r" % a.headers.get("retry-after"))
        check(a.elapsed < 10, "503 took %.1fs with a 200 ms busy timeout" % a.elapsed)
    finally:
        conn.execute("ROLLBACK")
        conn.close()
    c = st.counts(path)
    eq((c["events"], c["orders"]), (0, 0), "nothing stored while locked")
    a = st.post(path, body, env={"SHIPTRACK_BUSY_TIMEOUT": 200})
    accepted(a, "evt_locked_1", what="same delivery after the lock")
    eq([st.operator_view(path, o)["status"] for o in st.order_ids(path)], ["SUCCEEDED"],
       "applied")


def test_rejection_under_lock_is_503_not_lost():
    # A signed invalid body that cannot be kept as evidence must not get 400.
    path = db()
    conn = st.storage_connect(path, timeout=0)         # the write lock, on purpose
    try:
        conn.execute("BEGIN IMMEDIATE")
        a = st.post(path, b"{broken", env={"SHIPTRACK_BUSY_TIMEOUT": 100})
        error_answer(a, 503, "unavailable", "evidence under lock")
        check("retry-after" in a.headers, "Retry-After missing")
    finally:
        conn.execute("ROLLBACK")
        conn.close()


def test_control_characters_in_id_and_logs():
    path = db()
    body = st.event("PAYMENT_SUCCEEDED", "ord_ctl", st.iso(0), "evt_bad\nINJECTED line\r\x1b[31m")
    a = st.post(path, body)
    error_answer(a, 400, "invalid_field", "id with newline")
    eq(st.counts(path)["events"], 0, "not stored as an event")
    eq(bytes(raw(path, "SELECT body FROM rejected_deliveries")[0][0]), body,
       "kept as evidence")
    body = st.event("PAYMENT_SUCCEEDED", "ord\nctl", st.iso(0), "evt_ctl_order")
    error_answer(st.post(path, body), 400, "invalid_field", "order id with newline")
    body = st.event("TYPE\tWITH_TAB", "ord_ctl", st.iso(0), "evt_ctl_type")
    error_answer(st.post(path, body), 400, "invalid_field", "type with tab")
    check_log_lines([e for p, e in st.all_stderr if p == "webhook.fcgi"][-3:])


def check_log_lines(stderrs):
    for err in stderrs:
        check(err.endswith(b"\n") or err == b"", "stderr ends mid-line: %r" % err[-80:])
        for line in err.split(b"\n"):
            if line == b"":
                continue
            check(LOG_LINE.match(line) is not None, "not a log line (raw control "
                  "character or stray output?): %r" % line)
            check(b"\r" not in line and b"\x1b" not in line,
                  "raw control character in log line %r" % line)


def test_logs_have_no_secrets_and_are_well_formed():
    path = db()
    # A few more answers that log: success, duplicate, bad signature, reject.
    body = st.event("ORDER_PLACED", "ord_log", st.iso(0), "evt_log_1")
    st.post(path, body)
    st.post(path, body)
    st.post(path, body, sign_with="wrong")
    st.post(path, b"{no")
    errs = [e for p, e in st.all_stderr if p == "webhook.fcgi"]
    check(len(errs) > 10, "stderr captured from %d runs" % len(errs))
    joined = b"".join(errs)
    check(b"event evt_log_1" in joined, "no log line for an accepted event")
    for secret in (SECRET, "whsec_old_one_4f1a2b", "whsec_new_two_9c8d7e", st.sign_v1(SECRET, body)):
        check(secret.encode() not in joined, "secret-derived value %r in logs" % secret)
    check_log_lines(errs)


if __name__ == "__main__":
    st.run()
