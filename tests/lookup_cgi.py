#!/usr/bin/env python3
"""POST /api/v1/lookup: a shopper finds an order by order number and e-mail
(or postal code), as plain CGI runs (each its own process) and one FastCGI
process sharing the database.

The right pair (e-mail in any case, with blanks around it) answers the
order id and the key `shiptrack link` computes, and that key opens the
view; a wrong e-mail, a wrong number and an unknown number answer the same
bytes; the postal-code variant ignores blanks and case; the operator's
facts win over Rye's; malformed bodies are 400.  Failures are bounded per
client address and per order number, in the database: the limit holds
across separate processes, answers 429 with Retry-After without looking or
writing more, and frees up after the window (2 s here; the test waits on
the clock, it asserts no timing).
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
import fcgi_client as fc  # noqa: E402
from shiptrack_test import check, eq, error_answer  # noqa: E402

TMP = st.tempdir("shiptrack-lookup-")
SECRET = "lookup_test_secret_9a7c3e"
ENV = {"SHIPTRACK_LOOKUP_SECRET": SECRET}
# The limits' window: short, so a test can wait it out, but long enough
# for every step inside it to run on a slow machine (a sanitizer build,
# PostgreSQL under load: SHIPTRACK_TEST_SLACK stretches it).
WINDOW = int(round(3 * st.SLACK))
LIMITS = {"SHIPTRACK_LOOKUP_MAX_FAILURES": "3", "SHIPTRACK_LOOKUP_WINDOW_SECONDS": str(WINDOW)}


def key_of(order_id):
    mac = hmac.new(SECRET.encode(), order_id.encode(), hashlib.sha256).digest()[:16]
    return base64.urlsafe_b64encode(mac).decode().rstrip("=")


def new_db(orders=(), **facts):
    """A database with ORDER_PLACED orders; facts: order -> operator facts."""
    db = st.fresh_db(TMP)
    for o in orders:
        eq(st.post(db, st.event("ORDER_PLACED", o, st.iso(-60))).status, 200, "seed " + o)
    for o, f in facts.items():
        a = st.api(db, "/v1/orders/%s/contact" % o, method="PUT", body=json.dumps(f))
        eq(a.status, 204, "contact of %s: %s" % (o, a))
    return db


def lookup(db, body, addr="192.0.2.10", env=None):
    e = dict(ENV)
    e["REMOTE_ADDR"] = addr
    e.update(env or {})
    if not isinstance(body, (bytes, str)):
        body = json.dumps(body)
    return st.api(db, "/v1/lookup", token=None, method="POST", env=e, body=body,
                  headers={"Content-Type": "application/json"})


def failures(db):
    """The guessing limit's rows, read in storage on purpose: what is kept
    of a failed lookup (HMACs, no raw value) and when it goes."""
    return st.storage_sql(db, "SELECT key, at_ms FROM lookup_failures ORDER BY at_ms")


def test_right_pair_any_case_and_blanks():
    db = new_db(["ord_l1"], ord_l1={"email": "Ann.Buyer@Example.com", "orderNumber": "#1001"})
    for typed in ("Ann.Buyer@Example.com", "ann.buyer@example.com",
                  "  ANN.BUYER@EXAMPLE.COM \t"):
        a = lookup(db, {"orderNumber": "#1001", "email": typed})
        eq(a.status, 200, "right pair %r: %s" % (typed, a))
        eq(a.json(), {"order": "ord_l1", "key": key_of("ord_l1")}, "answer")
        eq(a.headers.get("cache-control"), "no-store", "Cache-Control")
        check("etag" not in a.headers, "no ETag on a POST answer")
    # The key is the one `shiptrack link` prints, and it opens the view.
    out = st.run_cli(["link", "ord_l1"], db=db, env=ENV)
    check(key_of("ord_l1") in out.stdout, "shiptrack link prints the same key: %r" % out.stdout)
    v = st.api(db, "/v1/track/ord_l1", token=None, env=ENV, query="key=" + key_of("ord_l1"))
    eq(v.status, 200, "the view with that key")
    eq(failures(db), [], "a success records no failure")


def test_order_number_is_exact():
    db = new_db(["ord_l2"], ord_l2={"email": "b@example.com", "orderNumber": "A-77"})
    for number in ("a-77", " A-77", "A-77 ", "A77"):
        a = lookup(db, {"orderNumber": number, "email": "b@example.com"})
        eq(a.status, 404, "number %r" % number)


def test_wrong_pair_and_unknown_order_are_identical():
    db = new_db(["ord_l3"], ord_l3={"email": "c@example.com", "orderNumber": "5001"})
    wrong_email = lookup(db, {"orderNumber": "5001", "email": "d@example.com"})
    wrong_number = lookup(db, {"orderNumber": "5002", "email": "c@example.com"})
    unknown = lookup(db, {"orderNumber": "9999", "email": "x@example.com"})
    error_answer(wrong_email, 404, "not_found", "wrong e-mail")
    eq(wrong_number.raw, wrong_email.raw, "wrong number == wrong e-mail, byte for byte")
    eq(unknown.raw, wrong_email.raw, "unknown order == wrong e-mail, byte for byte")
    eq(wrong_email.headers.get("cache-control"), "no-store", "Cache-Control")
    # Each failure is recorded, for the address and for the number, as HMACs.
    rows = failures(db)
    eq(len(rows), 6, "two failure rows per failed lookup")
    for k, _ in rows:
        check(k[:2] in ("a:", "n:") and len(k) == 66, "stored key %r" % k)
        check("192.0.2" not in k and "5001" not in k, "no raw value stored")


def test_postal_code_variant():
    db = new_db(["ord_l4"], ord_l4={"orderNumber": "UK-1", "postalCode": "SW1A 1AA"})
    for typed in ("SW1A 1AA", "sw1a1aa", " Sw1a  1aA "):
        a = lookup(db, {"orderNumber": "UK-1", "postalCode": typed})
        eq(a.status, 200, "postal %r: %s" % (typed, a))
        eq(a.json()["order"], "ord_l4", "order")
    eq(lookup(db, {"orderNumber": "UK-1", "postalCode": "SW1A 1AB"}).status, 404,
       "wrong postal code")
    eq(lookup(db, {"orderNumber": "UK-1", "email": "sw1a1aa@example.com"}).status, 404,
       "an e-mail where the order has only a postal code")


def test_effective_facts_operator_over_rye():
    db = new_db(["ord_l5", "ord_l6"])
    # What the Rye pass would store, written in storage on purpose (the pass
    # itself is tests/rye_sync.py's).
    st.storage_sql(db, "INSERT INTO order_facts(order_id, origin, email, order_number,"
                   " updated_at) VALUES"
                   " ('ord_l5', 'rye', 'rye@example.com', 'R-1', '2026-01-01T00:00:00Z'),"
                   " ('ord_l6', 'rye', 'other@example.com', 'R-1', '2026-01-01T00:00:00Z')")
    eq(lookup(db, {"orderNumber": "R-1", "email": "RYE@example.com"}).json()["order"],
       "ord_l5", "Rye's facts; two orders share the number, the matching one counts")
    eq(lookup(db, {"orderNumber": "R-1", "email": "other@example.com"}).json()["order"],
       "ord_l6", "the other order with that number")
    a = st.api(db, "/v1/orders/ord_l5/contact", method="PUT",
               body=json.dumps({"email": "op@example.com", "orderNumber": "OP-1"}))
    eq(a.status, 204, "operator facts")
    eq(lookup(db, {"orderNumber": "R-1", "email": "rye@example.com"}).status, 404,
       "Rye's number and e-mail no longer count once the operator set both")
    eq(lookup(db, {"orderNumber": "OP-1", "email": "op@example.com"}).json()["order"],
       "ord_l5", "the operator's")


def test_malformed_bodies():
    db = new_db(["ord_l7"], ord_l7={"email": "e@example.com", "orderNumber": "7"})
    bad = [
        {"orderNumber": "7"},
        {"email": "e@example.com"},
        {"orderNumber": "7", "email": "e@example.com", "postalCode": "1"},
        {"orderNumber": "7", "email": "e@example.com", "extra": 1},
        {"orderNumber": 7, "email": "e@example.com"},
        {"orderNumber": "7", "email": None},
        {"orderNumber": "", "email": "e@example.com"},
        {"orderNumber": "7", "email": "   "},
        {"orderNumber": "7" * 65, "email": "e@example.com"},
        ["7", "e@example.com"],
        "not json",
    ]
    for body in bad:
        error_answer(lookup(db, body), 400, "bad_request", "body %r" % (body,))
    error_answer(lookup(db, "x" * 1025), 413, "payload_too_large", "over 1 KiB")
    eq(failures(db), [], "malformed requests record no failure")
    a = lookup(db, {"orderNumber": "7", "email": "e@example.com"},
               env={"SHIPTRACK_LOOKUP_SECRET": None})
    error_answer(a, 403, "forbidden", "no lookup_secret")
    a = st.api(db, "/v1/lookup", token=None, env=ENV)
    eq((a.status, a.headers.get("allow")), (405, "POST"), "GET is not allowed")


def test_body_read_errors_answer_as_the_receivers_do():
    """A body that does not arrive as declared gets the webhook receiver's
    answers (one error table serves both programs): 400 bad_length when it
    ends short of CONTENT_LENGTH, 408 timeout when it stops arriving."""
    db = new_db()
    body = json.dumps({"orderNumber": "7", "email": "e@example.com"})
    e = dict(ENV, REMOTE_ADDR="192.0.2.10", SHIPTRACK_READ_TIMEOUT="1")
    a = st.api(db, "/v1/lookup", token=None, method="POST", env=e, body=body,
               content_length=len(body) + 10)
    error_answer(a, 400, "bad_length", "body shorter than CONTENT_LENGTH")
    a = st.api(db, "/v1/lookup", token=None, method="POST", env=e, body=body,
               content_length=len(body) + 10, keep_stdin_open=True)
    error_answer(a, 408, "timeout", "body stopped arriving")
    eq(failures(db), [], "unread bodies record no failure")


class FastCGI:
    """One api.fcgi process answering lookups over a unix socket."""

    def __init__(self, db, env):
        e = st.base_env(dict(ENV, SHIPTRACK_DATABASE=db, **env))
        sub = os.path.join(TMP, "fcgi-%d" % len(os.listdir(TMP)))
        os.makedirs(sub)
        self.r = fc.Receiver(st.API, e, sub)

    def lookup(self, body, addr):
        data = json.dumps(body).encode()
        params = {"REQUEST_METHOD": "POST", "PATH_INFO": "/v1/lookup",
                  "SCRIPT_NAME": "/api", "CONTENT_TYPE": "application/json",
                  "CONTENT_LENGTH": str(len(data)), "REMOTE_ADDR": addr}
        out = self.r.request(params, data)
        check(out is not None, "a FastCGI answer")
        head, _, body = out.partition(b"\r\n\r\n")
        headers = dict(l.split(": ", 1) for l in head.decode().split("\r\n"))
        return int(headers["Status"].split()[0]), headers, body

    def stop(self):
        self.r.stop()


def test_limit_per_address_across_processes():
    limits = LIMITS
    db = new_db(["ord_l8"], ord_l8={"email": "f@example.com", "orderNumber": "8"})
    f = FastCGI(db, limits)
    try:
        # Three failures with three different numbers, from one address,
        # through a CGI process, the FastCGI process and CGI again.
        eq(lookup(db, {"orderNumber": "x1", "email": "f@example.com"}, env=limits).status,
           404, "failure 1 (CGI)")
        eq(f.lookup({"orderNumber": "x2", "email": "f@example.com"}, "192.0.2.10")[0],
           404, "failure 2 (FastCGI)")
        eq(lookup(db, {"orderNumber": "x3", "email": "f@example.com"}, env=limits).status,
           404, "failure 3 (CGI)")
        rows = len(failures(db))
        # Now even the right pair is refused from this address, by either process ...
        a = lookup(db, {"orderNumber": "8", "email": "f@example.com"}, env=limits)
        j = error_answer(a, 429, "rate_limited", "over the limit (CGI)")
        check(a.raw.startswith(b"Status: 429 Too Many Requests\r\n"),
              "the status line names 429: %r" % a.raw[:40])
        check(a.headers.get("retry-after") in [str(i) for i in range(1, WINDOW + 1)],
              "Retry-After %r" % a.headers.get("retry-after"))
        eq(a.headers.get("cache-control"), "no-store", "Cache-Control")
        status, headers, body = f.lookup({"orderNumber": "8", "email": "f@example.com"},
                                         "192.0.2.10")
        eq(status, 429, "over the limit (FastCGI)")
        check(headers.get("Retry-After") in [str(i) for i in range(1, WINDOW + 1)],
              "Retry-After (FastCGI)")
        eq(json.loads(body)["error"], j["error"], "same error")
        # ... and nothing more was written for the refused ones.
        for i in range(5):
            eq(lookup(db, {"orderNumber": "y%d" % i, "email": "g@example.com"},
                      env=limits).status, 429, "still refused")
        eq(len(failures(db)), rows, "no failure rows written past the limit")
        # Another address is not limited by this one's failures.
        eq(lookup(db, {"orderNumber": "8", "email": "f@example.com"}, addr="192.0.2.99",
                  env=limits).status, 200, "another address")
        # After the window the address may try again (and the old rows go).
        time.sleep(WINDOW + 0.2)
        eq(f.lookup({"orderNumber": "8", "email": "f@example.com"}, "192.0.2.10")[0],
           200, "recovered after the window (FastCGI)")
        eq(lookup(db, {"orderNumber": "x4", "email": "f@example.com"}, env=limits).status,
           404, "a failure counts again after the window")
        eq(len(failures(db)), 2, "the old failures were pruned")
    finally:
        f.stop()


def test_limit_per_order_number():
    limits = LIMITS
    db = new_db(["ord_l9"], ord_l9={"email": "h@example.com", "orderNumber": "9"})
    for i in range(3):
        eq(lookup(db, {"orderNumber": "9", "email": "guess%d@example.com" % i},
                  addr="198.51.100.%d" % i, env=limits).status, 404, "guess %d" % i)
    a = lookup(db, {"orderNumber": "9", "email": "h@example.com"}, addr="198.51.100.77",
               env=limits)
    error_answer(a, 429, "rate_limited", "the number is limited, whatever the address")
    eq(lookup(db, {"orderNumber": "other", "email": "h@example.com"},
              addr="198.51.100.77", env=limits).status, 404,
       "another number from that address is looked at")
    time.sleep(WINDOW + 0.2)
    eq(lookup(db, {"orderNumber": "9", "email": "h@example.com"}, addr="198.51.100.77",
              env=limits).status, 200, "recovered after the window")


if __name__ == "__main__":
    st.run()
