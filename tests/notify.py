#!/usr/bin/env python3
"""Stage-change notifications end to end: webhook.fcgi queues them,
`shiptrack notify` delivers them to a local receiver (checking the
Standard Webhooks signature) and a local SMTP sink, api.fcgi shows them.

Exactly one notification per stage change across duplicate webhooks and
`shiptrack replay`; retries with growing back-off; give-up; a sender
killed with SIGKILL mid-delivery (the row is sent once its lease runs
out); concurrent runs; channels not configured are 'skipped'; contact
addresses through the CLI and `PUT /v1/orders/{id}/contact`; header
injection refused everywhere; stats; secrets never in the output.

The notifications are read as the operator view shows them (rows(),
tries()); the outbox's own bookkeeping, which no program shows (how often
a row was claimed, its lease, when it was queued), and rows doctored on
purpose (time moved, another host's lease, values that bypassed the front
doors) are read and written in storage (outbox(), st.storage_sql).
"""
import base64
import datetime
import email
import email.policy
import json
import os
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import shiptrack_test as st  # noqa: E402
from shiptrack_test import check, eq, error_answer  # noqa: E402
import notify_servers  # noqa: E402

TMP = st.tempdir()
# The Standard Webhooks specification's example secret.
NOTIFY_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
LOOKUP = "lookup_secret_for_notify_tests"
PUBLIC = "https://shop.example/track/"
MAIL_FROM = "orders@shop.example"
CUSTOMER = "customer@example.com"
SMTP_PASSWORD = "smtp_pw_never_logged_9f2"
FAST = {"SHIPTRACK_DURABILITY": "normal"}

# Every notify run's output, for the secrets check at the end.
outputs = []

receiver = notify_servers.Receiver(NOTIFY_SECRET)
sink = notify_servers.SmtpSink()


def setup_function():
    receiver.set_mode("ok")
    sink.mode = "ok"


def env(webhook=True, mail=False, **extra):
    e = {"SHIPTRACK_DURABILITY": "normal", "SHIPTRACK_PUBLIC_URL": PUBLIC,
         "SHIPTRACK_LOOKUP_SECRET": LOOKUP, "SHIPTRACK_NOTIFY_TIMEOUT": "3",
         "SHIPTRACK_NOTIFY_LEASE_SECONDS": "10", "SHIPTRACK_NOTIFY_RETRY_SECONDS": "2"}
    if webhook:
        e["SHIPTRACK_NOTIFY_URL"] = receiver.url
        e["SHIPTRACK_NOTIFY_SECRET"] = NOTIFY_SECRET
    if mail:
        e["SHIPTRACK_SMTP_URL"] = mail if isinstance(mail, str) else sink.url
        e["SHIPTRACK_MAIL_FROM"] = MAIL_FROM
    e.update({k: str(v) for k, v in extra.items()})
    return e


def notify(db, e, args=(), expect=None):
    p = st.run_cli(["notify"] + list(args), db=db, env=e)
    outputs.append(p.stdout + p.stderr)
    if expect is not None:
        check(p.returncode == expect, "notify exited %d, expected %d: %s%s" %
              (p.returncode, expect, p.stdout, p.stderr))
    return p


def feed(db, *bodies):
    for b in bodies:
        a = st.post(db, b, env=FAST)
        check(a.status == 200, "feeding %r: %s" % (b[:80], a))


def lifecycle(order, number="1ZNOTIFY1"):
    """processing -> placed -> shipped."""
    return [st.event("ORDER_SUBMISSION_STARTED", order, st.iso(0), order + "_e1"),
            st.event("ORDER_PLACED", order, st.iso(1), order + "_e2"),
            st.tracking(order, number, "UPS", "https://ups.example/" + number,
                        st.iso(2), order + "_e3")]


def ms_of(iso):
    return round(datetime.datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp() * 1000)


def rows(db, order):
    """The order's notifications as the operator view lists them, oldest
    first: uid, stage, previous, shipment ("" for the order's own), webhook,
    email, last_error, next_ms (while pending, else None) and tries."""
    return [{"uid": n["id"], "stage": n["stage"], "previous": n["previousStage"],
             "shipment": n["shipment"] or "", "webhook": n["webhook"], "email": n["email"],
             "last_error": n["lastError"],
             "next_ms": ms_of(n["nextAttemptAt"]) if n["nextAttemptAt"] else None,
             "tries": [(a["channel"], a["status"], a["error"]) for a in n["attempts"]]}
            for n in st.operator_view(db, order)["notifications"]]


def tries(row, channel=None):
    """(channel, status, error) of a notification's attempts, in order."""
    return [a for a in row["tries"] if channel is None or a[0] == channel]


def outbox(db, order=None):
    """The outbox's own bookkeeping, oldest first (every order's: None):
    claims (how often a run claimed the row), claimed_ms (its lease),
    created_ms, and the states and error.  No program shows the first
    three: read in storage on purpose."""
    sql = ("SELECT order_id, attempts, claimed_until_ms, created_ms, webhook_state,"
           " email_state, last_error FROM notifications")
    keys = ["order", "claims", "claimed_ms", "created_ms", "webhook", "email", "last_error"]
    if order is None:
        found = st.storage_sql(db, sql + " ORDER BY id")
    else:
        found = st.storage_sql(db, sql + " WHERE order_id = ? ORDER BY id", (order,))
    return [dict(zip(keys, r)) for r in found]


def due_now(db):
    """Every notification due now: time moved in storage, on purpose."""
    st.storage_sql(db, "UPDATE notifications SET next_attempt_ms = 0")


def carrier_trouble(db, order):
    """The carrier reports trouble, written as the poller would record it
    (in storage, on purpose: the poller has its own tests)."""
    st.storage_sql(db, "UPDATE shipments SET tag = 'Exception' WHERE order_id = ?", (order,))


def for_order(deliveries, order):
    return [d for d in deliveries if d["json"] and d["json"].get("orderId") == order]


def now_ms():
    return int(time.time() * 1000)


def shopper_view(db, order):
    key = st.run_cli(["link", order], db=db, env={"SHIPTRACK_LOOKUP_SECRET": LOOKUP,
                                                  "SHIPTRACK_PUBLIC_URL": PUBLIC})
    check(key.returncode == 0, "link: %s" % key.stderr)
    link = key.stdout.strip()
    k = link.rsplit("&key=", 1)[1]
    a = st.api(db, "/v1/track/" + order, token=None, query="key=" + k,
               env={"SHIPTRACK_LOOKUP_SECRET": LOOKUP})
    eq(a.status, 200, "shopper view of %s" % order)
    return link, a


# --- exactly once ----------------------------------------------------------

def test_one_notification_per_stage_change_across_duplicates_and_replay():
    db = st.fresh_db(TMP)
    order = "ord_nt_once"
    bodies = lifecycle(order)
    feed(db, *bodies)
    r = rows(db, order)
    eq([x["stage"] for x in r], ["processing", "placed", "shipped"], "stages queued")
    eq([x["previous"] for x in r], [None, "processing", "placed"], "previous stages")
    feed(db, *bodies)                       # the same events again: duplicates
    eq(len(rows(db, order)), 3, "duplicates queue nothing")
    p = st.run_cli(["replay"], db=db, env=FAST)
    eq(p.returncode, 0, "replay (%s)" % p.stderr)
    eq(len(rows(db, order)), 3, "replay queues nothing")
    notify(db, env(), expect=0)
    got = for_order(receiver.accepted(), order)
    eq(len(got), 3, "three deliveries")
    notify(db, env(), expect=0)
    st.run_cli(["replay"], db=db, env=FAST)
    feed(db, *bodies)
    notify(db, env(), expect=0)
    eq(len(for_order(receiver.all(), order)), 3, "nothing sent twice")
    eq([x["webhook"] for x in rows(db, order)], ["sent"] * 3, "rows sent")
    eq(sorted(d["id"] for d in got), sorted(x["uid"] for x in rows(db, order)),
       "webhook-id is the row's uid")


def test_webhook_body_headers_and_signature():
    db = st.fresh_db(TMP)
    order = "ord_nt_body"
    feed(db, *lifecycle(order))
    t0 = time.time()
    notify(db, env(), expect=0)
    link, shopper = shopper_view(db, order)
    got = for_order(receiver.accepted(), order)
    eq(len(got), 3, "deliveries")
    for d, r in zip(got, rows(db, order)):
        check(d["sig_ok"], "signature verifies for %s" % d["id"])
        check(d["signature"].startswith("v1,"), "v1 signature")
        eq(d["content_type"], "application/json", "content type")
        check(abs(int(d["timestamp"]) - t0) < 60, "webhook-timestamp is now")
        check(d["path"].endswith("?token=tok_in_url_x"), "URL kept as configured")
        j = d["json"]
        eq(list(j.keys()), ["type", "orderId", "stage", "previousStage", "occurredAt",
                            "link", "order"], "body keys")
        eq(j["type"], "order.stage_changed", "type")
        eq((j["orderId"], j["stage"], j["previousStage"]),
           (order, r["stage"], r["previous"]), "ids and stages")
        eq(j["link"], link, "link as `shiptrack link` prints it")
        eq(j["order"], shopper.json(), "order is the shopper view")
        check("events" not in j["order"] and "notifications" not in j["order"],
              "no operator fields in the body")
    # Tampering is detected by the same check the receiver makes.
    d = got[0]
    check(not notify_servers.sw_verify(NOTIFY_SECRET, d["id"], d["timestamp"],
                                       d["body"] + b" ", d["signature"]), "tamper")


def test_parcel_trouble_rows_carry_the_shipment():
    db = st.fresh_db(TMP)
    order = "ord_nt_parcel"
    feed(db, *lifecycle(order, "1ZPARCEL"))
    notify(db, env(), expect=0)
    # The carrier reports trouble ...
    carrier_trouble(db, order)
    # ... and the next event for the order recomputes it.
    feed(db, st.event("RETURN_STARTED", order, st.iso(5), order + "_e4"))
    r = rows(db, order)
    eq([(x["stage"], x["shipment"]) for x in r][3:],
       [("exception", ""), ("exception", "1ZPARCEL")], "order and parcel rows")
    feed(db, st.event("SOMETHING_ELSE", order, st.iso(6), order + "_e5"))
    st.run_cli(["replay"], db=db, env=FAST)
    eq(len(rows(db, order)), 5, "parcel trouble queued once")
    notify(db, env(), expect=0)
    got = for_order(receiver.accepted(), order)
    eq(len(got), 5, "five deliveries")
    parcel = [d["json"] for d in got if "shipment" in d["json"]]
    eq(len(parcel), 1, "one parcel delivery")
    eq(parcel[0]["shipment"], "1ZPARCEL", "shipment")
    eq(list(parcel[0].keys()), ["type", "orderId", "stage", "previousStage", "shipment",
                                "occurredAt", "link", "order"], "parcel body keys")


def test_parcel_trouble_one_mail_not_two():
    """An exception on the only parcel queues an order row and a parcel
    row: the store's system gets both webhooks, the customer one e-mail."""
    db = st.fresh_db(TMP)
    order = "ord_nt_parcel_mail"
    feed(db, *lifecycle(order, "1ZPMAIL"))
    p = st.run_cli(["contact", order, CUSTOMER], db=db, env=FAST)
    eq(p.returncode, 0, "contact (%s)" % p.stderr)
    notify(db, env(mail=True), expect=0)
    before = len(sink.messages)
    carrier_trouble(db, order)
    feed(db, st.event("RETURN_STARTED", order, st.iso(5), order + "_e4"))
    notify(db, env(mail=True), expect=0)
    r = rows(db, order)[-2:]
    eq([(x["stage"], x["shipment"], x["webhook"]) for x in r],
       [("exception", "", "sent"), ("exception", "1ZPMAIL", "sent")], "both webhooks sent")
    eq([x["email"] for x in r], ["sent", "skipped"], "one e-mail: the order's")
    eq(len(sink.messages) - before, 1, "one message for one problem")


# --- e-mail and contacts ---------------------------------------------------

def test_email_multipart_with_link():
    db = st.fresh_db(TMP)
    order = "ord_nt_mail"
    feed(db, *lifecycle(order))
    p = st.run_cli(["contact", order, CUSTOMER], db=db, env=FAST)
    eq(p.returncode, 0, "contact (%s)" % p.stderr)
    before = len(sink.messages)
    notify(db, env(mail=True), expect=0)
    msgs = sink.messages[before:]
    # Three stages queued between two runs: one mail, about the newest;
    # the older rows' e-mails are skipped as superseded (webhooks all go).
    eq(len(msgs), 1, "one message for three queued stages")
    link, shopper = shopper_view(db, order)
    uids = [x["uid"] for x in rows(db, order)][-1:]
    for m, uid, stage in zip(msgs, uids, ["shipped"]):
        eq(m["from"], "<%s>" % MAIL_FROM, "envelope from")
        eq(m["rcpt"], ["<%s>" % CUSTOMER], "envelope recipient")
        msg = email.message_from_bytes(m["data"], policy=email.policy.default)
        eq(msg["From"], MAIL_FROM, "From")
        eq(msg["To"], CUSTOMER, "To")
        check(msg["Subject"].startswith("Your order %s " % order), "Subject %r" % msg["Subject"])
        eq(msg["Message-ID"], "<%s@shop.example>" % uid, "Message-ID")
        check(msg["Date"] is not None and msg["Bcc"] is None, "Date, no Bcc")
        eq(msg["Auto-Submitted"], "auto-generated", "Auto-Submitted")
        alt = [part for part in msg.walk() if part.get_content_type() == "multipart/alternative"]
        eq(len(alt), 1, "one multipart/alternative")
        kinds = [part.get_content_type() for part in alt[0].iter_parts()]
        eq(kinds, ["text/plain", "text/html"], "text then HTML")
        text, html = [part.get_content() for part in alt[0].iter_parts()]
        check(link in text, "link in the text part")
        check(link.replace("&", "&amp;") in html, "link in the HTML part")
        check(("Your order %s %s" % (order, "")) in text, "order in the text")
        check(stage.replace("_", " ") in text.lower() or "ship" in text.lower(),
              "the newest stage is the one told")
    eq([x["email"] for x in rows(db, order)], ["skipped", "skipped", "sent"],
       "older e-mails superseded, the newest sent")
    older = tries(rows(db, order)[0])
    check(any(a[0] == "email" and (a[2] or "").startswith("skipped: superseded")
              for a in older), "superseded recorded as the reason: %r" % (older,))
    eq([x["webhook"] for x in rows(db, order)], ["sent"] * 3, "webhook sent too")
    check(CUSTOMER.encode() not in shopper.body, "no address in the shopper view")
    eq(json.loads(st.view(db, order))["contact"]["email"], CUSTOMER,
       "the operator view shows the address")


def mail_in(locale, order, rye_facts=None):
    """The one mail for a fresh order's newest stage (shipped), sent with
    default_locale = locale; rye_facts: (locale, country) as the Rye pass
    would store them for the order (written in storage, on purpose: the
    pass has its own tests)."""
    db = st.fresh_db(TMP)
    feed(db, *lifecycle(order))
    p = st.run_cli(["contact", order, CUSTOMER], db=db, env=FAST)
    eq(p.returncode, 0, "contact (%s)" % p.stderr)
    if rye_facts is not None:
        st.storage_sql(db, "INSERT INTO order_facts(order_id, origin, locale, country,"
                       " updated_at) VALUES (?, 'rye', ?, ?, '2025-03-01T09:00:00Z')",
                       (order,) + rye_facts)
    before = len(sink.messages)
    notify(db, env(mail=True, SHIPTRACK_DEFAULT_LOCALE=locale), expect=0)
    msgs = sink.messages[before:]
    eq(len(msgs), 1, "one message")
    msg = email.message_from_bytes(msgs[0]["data"], policy=email.policy.default)
    alt = [part for part in msg.walk() if part.get_content_type() == "multipart/alternative"][0]
    text, html = [part.get_content() for part in alt.iter_parts()]
    return msg, text, html


def test_email_in_the_default_locale():
    msg, text, html = mail_in("de", "ord_nt_de")
    eq(msg["Subject"], "Ihre Bestellung ord_nt_de wurde versandt", "German subject")
    check(text.startswith("Guten Tag,\r\n\r\nIhre Bestellung ord_nt_de wurde versandt.") or
          text.startswith("Guten Tag,\n\nIhre Bestellung ord_nt_de wurde versandt."), "German text %r" % text[:80])
    check("Aktualisiert: " in text and " Uhr UTC" in text, "the time, its zone named: %r" % text)
    check('<html lang="de">' in html and "Bestellung verfolgen</a>" in html, "German HTML")
    # Not ASCII: RFC 2047 encoded-words on the wire, the right words once decoded.
    msg, text, html = mail_in("fr", "ord_nt_fr")
    eq(msg["Subject"], "Votre commande ord_nt_fr a été expédiée", "French subject")
    raw = sink.messages[-1]["data"].split(b"\r\n\r\n", 1)[0]
    check(b"Subject: =?UTF-8?B?" in raw, "encoded on the wire: %r" % raw)
    check("Bonjour," in text and "Suivez votre commande ici" in text, "French text")


def test_email_in_the_orders_language_and_zone():
    """The order's own language (here from Rye's buyer data) wins over
    default_locale, and its country names the zone of the mail's times."""
    msg, text, html = mail_in("en", "ord_nt_de2", rye_facts=("de", "DE"))
    eq(msg["Subject"], "Ihre Bestellung ord_nt_de2 wurde versandt", "German, though en is the default")
    check("Aktualisiert: " in text and (" Uhr MEZ" in text or " Uhr CET" in text or
                                        " Uhr MESZ" in text or " Uhr CEST" in text),
          "the time in Berlin's zone, named: %r" % text)
    msg, text, html = mail_in("fr", "ord_nt_xx", rye_facts=("xx", "US"))
    eq(msg["Subject"], "Votre commande ord_nt_xx a été expédiée",
       "a language without a catalog: the default")


def test_no_contact_skips_email_only():
    db = st.fresh_db(TMP)
    order = "ord_nt_nocontact"
    feed(db, st.event("ORDER_PLACED", order, st.iso(1)))
    before = len(sink.messages)
    notify(db, env(mail=True), expect=0)
    r = rows(db, order)[0]
    eq((r["webhook"], r["email"]), ("sent", "skipped"), "states")
    eq(len(sink.messages), before, "no mail")
    eq(tries(r)[1], ("email", None, "skipped: no contact address for this order"),
       "reason recorded")


def test_channels_not_configured_are_skipped_not_dropped():
    db = st.fresh_db(TMP)
    order = "ord_nt_unconf"
    feed(db, *lifecycle(order))
    st.run_cli(["contact", order, CUSTOMER], db=db, env=FAST)
    p = notify(db, env(webhook=False), expect=0)
    check("3 notifications" in p.stdout and "6 skipped" in p.stdout, p.stdout)
    for r in rows(db, order):
        eq((r["webhook"], r["email"]), ("skipped", "skipped"), "skipped")
        eq(tries(r),
           [("webhook", None, "skipped: notify_url is not set"),
            ("email", None, "skipped: smtp_url or mail_from is not set")], "reasons")
    a = st.api(db, "/v1/stats")
    eq(a.status, 200, "stats")
    check(a.json()["notifications"]["skipped"] >= 3, "stats count skipped")
    # Configuring later does not resend old news.
    notify(db, env(mail=True), expect=0)
    eq(len(for_order(receiver.all(), order)), 0, "nothing sent afterwards")


def test_contact_api():
    db = st.fresh_db(TMP)
    order = "ord_nt_api"
    feed(db, st.event("ORDER_PLACED", order, st.iso(1)))
    path = "/v1/orders/%s/contact" % order

    def put(body, p=path, **kw):
        return st.api(db, p, method="PUT", body=body, **kw)

    a = put('{"email":"first@example.com"}')
    eq(a.status, 204, "set (%s)" % a)
    eq(a.body, b"", "204 has no body")
    a = put('{"email":"second@example.com"}')
    eq(a.status, 204, "replace")
    eq(st.operator_view(db, order)["contact"]["email"], "second@example.com", "stored")
    error_answer(put('{"email":"x@example.com"}', p="/v1/orders/ord_nt_nobody/contact"),
                 404, "not_found", "unknown order")
    for body, code in [
        ('{"email":"a@b.c\\r\\nBcc: evil@attacker.example"}', "invalid_email"),
        ('{"email":"a@b.c\\nBcc: evil@attacker.example"}', "invalid_email"),
        ('{"email":"Name <a@b.c>"}', "invalid_email"),
        ('{"email":"a@b.c, evil@attacker.example"}', "invalid_email"),
        ('{"email":"a b@c.d"}', "invalid_email"),
        ('{"email":"a@b@c.d"}', "invalid_email"),
        ('{"email":"ab.example"}', "invalid_email"),
        ('{"email":"a@b.c\\u0000x"}', "invalid_email"),
        ('{"email":"caf\\u00e9@b.c"}', "invalid_email"),
        ('{"email":"%s@b.c"}' % ("a" * 300), "invalid_email"),
        ('{"email":""}', "invalid_email"),
        ('{"email":5}', "invalid_json"),
        ('{"email":"a@b.c","bcc":"x@y.z"}', "invalid_json"),
        ('["a@b.c"]', "invalid_json"),
        ('not json', "invalid_json"),
    ]:
        error_answer(put(body), 400, code, "body %r" % body)
    error_answer(put('{"email":"a@b.c"}', p="/v1/orders/ord\r\nBcc: x@y/contact"),
                 400, "bad_parameter", "CR LF in the order id")
    error_answer(put('{"email":"' + "a" * 2000 + '@b.c"}'), 413, "payload_too_large", "size")
    eq(st.operator_view(db, order)["contact"]["email"], "second@example.com",
       "refused bodies changed nothing")
    error_answer(put('{"email":"a@b.c"}', token=None), 403, "forbidden", "no token set")
    error_answer(put('{"email":"a@b.c"}', auth="Bearer wrong"), 401, "unauthorized", "token")
    a = st.api(db, path)
    eq(a.status, 405, "GET on the contact route")
    eq(a.headers.get("allow"), "PUT", "Allow")
    eq(json.loads(st.view(db, order))["contact"],
       {"email": "second@example.com", "orderNumber": None, "postalCode": None,
        "country": None, "locale": None, "from": {"email": "operator"}},
       "operator view: the contact and where it came from")

    eq(st.api(db, "/v1/orders/" + order).status, 200, "reads still work")


def test_contact_lookup_fields():
    """PUT contact takes the shopper's lookup data and language too, each
    optional; null clears the operator's value; values are bounded."""
    db = st.fresh_db(TMP)
    order = "ord_nt_facts"
    feed(db, st.event("ORDER_PLACED", order, st.iso(1)))
    path = "/v1/orders/%s/contact" % order

    def put(body):
        return st.api(db, path, method="PUT", body=body)

    def contact():
        return json.loads(st.view(db, order))["contact"]

    eq(put('{"orderNumber":"#1001","postalCode":"10115","locale":"de"}').status, 204,
       "lookup fields without an e-mail")
    eq(contact(), {"email": None, "orderNumber": "#1001", "postalCode": "10115",
                   "country": None, "locale": "de",
                   "from": {"orderNumber": "operator", "postalCode": "operator",
                            "locale": "operator"}}, "stored, from the operator")
    eq(put('{"email":"buyer@example.com"}').status, 204, "a further field")
    eq(contact()["orderNumber"], "#1001", "fields not named are kept")
    eq(put('{"postalCode":null}').status, 204, "null clears")
    eq(contact()["postalCode"], None, "cleared")
    for body in ['{"locale":"German"}', '{"locale":"de_DE"}', '{"orderNumber":"%s"}' % ("9" * 65),
                 '{"postalCode":"%s"}' % ("1" * 17), '{"orderNumber":"a\u0007b"}',
                 '{"orderNumber":" 1001"}']:
        error_answer(put(body), 400, "invalid_field", "body %r" % body)
    for body in ['{}', '{"country":"DE"}', '{"locale":7}']:
        error_answer(put(body), 400, "invalid_json", "body %r" % body)
    eq(contact()["locale"], "de", "refused bodies changed nothing")
    _, a = shopper_view(db, order)
    eq(a.json()["locale"], "de", "the shopper view names the order's language")
    check(b"buyer@example.com" not in a.body and b"#1001" not in a.body,
          "and nothing else about the buyer")


def test_contact_cli():
    db = st.fresh_db(TMP)
    order = "ord_nt_cli"
    feed(db, st.event("ORDER_PLACED", order, st.iso(1)))
    p = st.run_cli(["contact", order, CUSTOMER], db=db, env=FAST)
    eq(p.returncode, 0, "set")
    check(CUSTOMER not in p.stdout + p.stderr, "address not echoed")
    eq(st.run_cli(["contact", "ord_nt_unknown", CUSTOMER], db=db, env=FAST).returncode,
       1, "unknown order")
    for bad in ["a@b.c\r\nBcc: evil@attacker.example", "a@b.c\nBcc: x@y.z", "<a@b.c>",
                "a@b.c,x@y.z", "a b@c.d", "a@b@c", "", "x" * 300 + "@b.c"]:
        eq(st.run_cli(["contact", order, bad], db=db, env=FAST).returncode, 2,
           "address %r refused" % bad)
    eq(st.run_cli(["contact", "ord\r\nBcc: x@y.z", CUSTOMER], db=db, env=FAST).returncode,
       2, "order id with CR LF refused")
    eq(st.run_cli(["contact", order], db=db, env=FAST).returncode, 2, "usage")
    # Read in storage on purpose: facts of an order that does not exist
    # would show in no program.
    eq(st.storage_sql(db, "SELECT email FROM order_facts"), [(CUSTOMER,)],
       "only the valid one")


def test_header_injection_from_the_database_is_refused():
    """Values that bypassed the front doors (written in storage, on purpose)
    still never reach a header."""
    db = st.fresh_db(TMP)
    bad_id = "ord_nt_inj\r\nBcc: evil@attacker.example"
    st.storage_sql(db, "INSERT INTO notifications(uid, order_id, stage, shipment, occurred_at,"
                   " created_ms) VALUES ('msg_inj1', ?, 'placed', '', '2025-03-01T09:00:00Z', ?)",
                   (bad_id, now_ms()))
    st.storage_sql(db, "INSERT INTO order_facts(order_id, origin, email, updated_at)"
                   " VALUES (?, 'operator', ?, '2025-03-01T09:00:00Z')",
                   (bad_id, CUSTOMER))
    good = "ord_nt_inj2"
    feed(db, st.event("ORDER_PLACED", good, st.iso(1)))
    st.storage_sql(db, "INSERT INTO order_facts(order_id, origin, email, updated_at)"
                   " VALUES (?, 'operator', ?, '2025-03-01T09:00:00Z')",
                   (good, CUSTOMER + "\r\nBcc: evil@attacker.example"))
    before = len(sink.messages)
    notify(db, env(webhook=False, mail=True), expect=1)
    eq(len(sink.messages), before, "nothing was mailed")
    # A notification of an order that does not exist: only storage has it.
    r = {x["order"]: x for x in outbox(db)}
    r[good] = rows(db, good)[0]
    eq(r[bad_id]["email"], "failed", "order id unfit for a header: failed")
    eq(r[bad_id]["last_error"], "the order id cannot go into a mail header", "reason")
    eq(r[good]["email"], "failed", "stored address unfit: failed")
    eq(r[good]["last_error"], "the contact address is not a plain e-mail address", "reason")


def test_smtp_temporary_and_permanent_refusals():
    db = st.fresh_db(TMP)
    tmp_order, perm_order = "ord_nt_451", "ord_nt_550"
    for o in (tmp_order, perm_order):
        feed(db, st.event("ORDER_PLACED", o, st.iso(1)))
        st.run_cli(["contact", o, CUSTOMER], db=db, env=FAST)
    sink.mode = "tempfail"
    notify(db, env(webhook=False, mail=True), args=["--limit", "1"], expect=1)
    r = rows(db, tmp_order)[0]
    eq(r["email"], "pending", "451: retried later")
    eq(tries(r, "email")[0][1], 451, "SMTP status recorded")
    sink.mode = "reject"
    notify(db, env(webhook=False, mail=True), args=["--limit", "1"], expect=1)
    r = rows(db, perm_order)[0]
    eq(r["email"], "failed", "550: failed at once")
    eq(tries(r, "email")[0][1], 550, "SMTP status recorded")
    sink.mode = "ok"
    due_now(db)
    before = len(sink.messages)
    notify(db, env(webhook=False, mail=True), expect=0)
    eq(rows(db, tmp_order)[0]["email"], "sent", "sent on retry")
    eq(len(sink.messages), before + 1, "one message")


def test_smtp_auth_and_password_stays_secret():
    authsink = notify_servers.SmtpSink(user="mailer", password=SMTP_PASSWORD)
    try:
        db = st.fresh_db(TMP)
        order = "ord_nt_auth"
        feed(db, st.event("ORDER_PLACED", order, st.iso(1)))
        st.run_cli(["contact", order, CUSTOMER], db=db, env=FAST)
        # The sink has no TLS: AUTH in clear text only with the opt-out.
        e = env(webhook=False, mail=authsink.url, SHIPTRACK_SMTP_USER="mailer",
                SHIPTRACK_SMTP_PASSWORD="wrong_pw", SHIPTRACK_SMTP_ALLOW_PLAINTEXT_AUTH="1")
        notify(db, e, expect=1)
        eq(rows(db, order)[0]["email"], "pending", "bad login: retried, not failed")
        eq(tries(rows(db, order)[0], "email")[0][1], 535, "535 recorded")
        due_now(db)
        e["SHIPTRACK_SMTP_PASSWORD"] = SMTP_PASSWORD
        notify(db, e, expect=0)
        eq(len(authsink.messages), 1, "delivered after AUTH")
        eq(authsink.messages[0]["auth"], "mailer", "authenticated")
        # A promise about storage: read there, on purpose.
        check(SMTP_PASSWORD not in repr(st.storage_dump(db)), "password not in the database")
    finally:
        authsink.close()


def test_smtp_credentials_never_sent_without_tls():
    """With smtp_user/smtp_password over smtp://, a server that offers no
    STARTTLS (or a man in the middle who strips it) never sees AUTH: the
    attempt fails before it, is recorded with the reason and retried."""
    authsink = notify_servers.SmtpSink(user="mailer", password=SMTP_PASSWORD)
    try:
        db = st.fresh_db(TMP)
        order = "ord_nt_notls"
        feed(db, st.event("ORDER_PLACED", order, st.iso(1)))
        st.run_cli(["contact", order, CUSTOMER], db=db, env=FAST)
        e = env(webhook=False, mail=authsink.url, SHIPTRACK_SMTP_USER="mailer",
                SHIPTRACK_SMTP_PASSWORD=SMTP_PASSWORD)
        notify(db, e, expect=1)
        check("EHLO" in authsink.verbs, "the sink was reached: %r" % authsink.verbs)
        check("AUTH" not in authsink.verbs, "no AUTH without TLS: %r" % authsink.verbs)
        check("MAIL" not in authsink.verbs, "no mail either: %r" % authsink.verbs)
        eq(authsink.messages, [], "nothing delivered")
        r = rows(db, order)[0]
        eq(r["email"], "pending", "retried later, not failed for good")
        got = tries(r, "email")
        eq(len(got), 1, "one attempt recorded")
        check(got[0][2] is not None and "STARTTLS" in got[0][2] and
              "smtp_allow_plaintext_auth" in got[0][2],
              "the attempt says why: %r" % (got[0][2],))
        # A promise about storage: read there, on purpose.
        check(SMTP_PASSWORD not in repr(st.storage_dump(db)), "password not in the database")
        # The documented opt-out: AUTH in clear text, delivered.
        due_now(db)
        e["SHIPTRACK_SMTP_ALLOW_PLAINTEXT_AUTH"] = "1"
        notify(db, e, expect=0)
        check("AUTH" in authsink.verbs, "AUTH with the opt-out: %r" % authsink.verbs)
        eq(len(authsink.messages), 1, "delivered after AUTH")
        eq(authsink.messages[0]["auth"], "mailer", "authenticated")
        eq(rows(db, order)[0]["email"], "sent", "sent")
    finally:
        authsink.close()


def test_no_credentials_plain_smtp_unchanged():
    """Without credentials, smtp:// to a server without STARTTLS works as
    before (nothing secret crosses the network)."""
    db = st.fresh_db(TMP)
    order = "ord_nt_plain"
    feed(db, st.event("ORDER_PLACED", order, st.iso(1)))
    st.run_cli(["contact", order, CUSTOMER], db=db, env=FAST)
    before = len(sink.messages)
    notify(db, env(webhook=False, mail=True), expect=0)
    eq(rows(db, order)[0]["email"], "sent", "sent")
    eq(len(sink.messages), before + 1, "one message")
    check("AUTH" not in sink.verbs, "no AUTH without credentials")


# --- retries, back-off, give-up --------------------------------------------

def test_retry_with_growing_backoff_then_sent():
    db = st.fresh_db(TMP)
    order = "ord_nt_retry"
    feed(db, st.event("ORDER_PLACED", order, st.iso(1)))
    receiver.set_mode("fail")
    t = now_ms()
    notify(db, env(), expect=1)
    r = rows(db, order)[0]
    o = outbox(db, order)[0]
    eq((r["webhook"], o["claims"], o["claimed_ms"]), ("pending", 1, 0), "pending, lease back")
    check(1900 <= r["next_ms"] - t <= 4000, "first back-off 2 s (%d)" % (r["next_ms"] - t))
    check(r["last_error"].startswith("HTTP 500: boom"), "error %r" % r["last_error"])
    check("\r" not in r["last_error"] and "\n" not in r["last_error"]
          and "\x1b" not in r["last_error"], "peer's answer sanitised")
    n = len(for_order(receiver.all(), order))
    p = notify(db, env(), expect=0)
    eq(len(for_order(receiver.all(), order)), n, "not due yet: nothing sent")
    check("0 notifications" in p.stdout, p.stdout)
    time.sleep(max(0, (r["next_ms"] - now_ms()) / 1000.0) + 0.1)
    t = now_ms()
    notify(db, env(), expect=1)
    r = rows(db, order)[0]
    eq(outbox(db, order)[0]["claims"], 2, "second attempt")
    check(3900 <= r["next_ms"] - t <= 6000, "back-off doubled (%d)" % (r["next_ms"] - t))
    receiver.set_mode("ok")
    due_now(db)
    notify(db, env(), expect=0)
    r = rows(db, order)[0]
    eq((r["webhook"], outbox(db, order)[0]["claims"], r["last_error"]), ("sent", 3, None),
       "sent")
    eq([a[:2] for a in tries(r)],
       [("webhook", 500), ("email", None), ("webhook", 500), ("webhook", 200)],
       "every attempt recorded (e-mail skipped once)")
    got = for_order(receiver.all(), order)
    eq(len({d["id"] for d in got}), 1, "same webhook-id on every attempt")
    check(all(d["sig_ok"] for d in got), "each attempt signed")


def test_retry_after_and_gone():
    db = st.fresh_db(TMP)
    busy, gone = "ord_nt_busy", "ord_nt_gone"
    feed(db, st.event("ORDER_PLACED", busy, st.iso(1)))
    receiver.set_mode("busy")
    t = now_ms()
    notify(db, env(), expect=1)
    r = rows(db, busy)[0]
    check(r["next_ms"] - t >= 119000, "Retry-After 120 s honoured (%d)" % (r["next_ms"] - t))
    feed(db, st.event("ORDER_PLACED", gone, st.iso(1)))
    receiver.set_mode("gone")
    notify(db, env(), expect=1)
    r = rows(db, gone)[0]
    eq((r["webhook"], outbox(db, gone)[0]["claims"]), ("failed", 1), "410 Gone: failed at once")


def test_big_answer_is_capped_and_still_counts():
    db = st.fresh_db(TMP)
    order = "ord_nt_big"
    feed(db, st.event("ORDER_PLACED", order, st.iso(1)))
    receiver.set_mode("big")
    notify(db, env(), expect=0)
    eq(rows(db, order)[0]["webhook"], "sent", "2xx with a huge body: sent")


def test_give_up_after_the_configured_time():
    db = st.fresh_db(TMP)
    stale, later, edge = "ord_nt_stale", "ord_nt_later", "ord_nt_edge"
    e = env(SHIPTRACK_NOTIFY_GIVE_UP_HOURS=1)
    # Never tried, and already older than the give-up time: failed unsent.
    # (Queued earlier: time moved in storage, on purpose, here and below.)
    feed(db, st.event("ORDER_PLACED", stale, st.iso(1)))
    st.storage_sql(db, "UPDATE notifications SET created_ms = ? WHERE order_id = ?",
                   (now_ms() - 2 * 3600 * 1000, stale))
    notify(db, e, expect=1)
    r = rows(db, stale)[0]
    eq(r["webhook"], "failed", "stale row failed")
    check("gave up" in r["last_error"], r["last_error"])
    eq(len(for_order(receiver.all(), stale)), 0, "stale row never sent")
    # Tried, failing, and the time runs out: the last attempt fails it.
    receiver.set_mode("fail")
    feed(db, st.event("ORDER_PLACED", later, st.iso(1)))
    notify(db, e, expect=1)
    eq(rows(db, later)[0]["webhook"], "pending", "first failure: pending")
    st.storage_sql(db, "UPDATE notifications SET created_ms = ?, next_attempt_ms = 0"
                   " WHERE order_id = ?", (now_ms() - 2 * 3600 * 1000, later))
    notify(db, e, expect=1)
    r = rows(db, later)[0]
    eq((r["webhook"], outbox(db, later)[0]["claims"]), ("failed", 2),
       "gave up after the last attempt")
    check(r["last_error"].endswith("gave up after 2 attempts"), r["last_error"])
    eq(len(for_order(receiver.all(), later)), 2, "two attempts reached the receiver")
    # A retry is never scheduled past the give-up time.
    feed(db, st.event("ORDER_PLACED", edge, st.iso(1)))
    created = now_ms() - 3600 * 1000 + 60000
    st.storage_sql(db, "UPDATE notifications SET created_ms = ? WHERE order_id = ?",
                   (created, edge))
    notify(db, env(SHIPTRACK_NOTIFY_GIVE_UP_HOURS=1, SHIPTRACK_NOTIFY_RETRY_SECONDS=3600),
           expect=1)
    eq(rows(db, edge)[0]["next_ms"], created + 3600 * 1000, "last try at the deadline")
    a = st.api(db, "/v1/stats").json()["notifications"]
    eq((a["failed"], a["pending"]), (2, 1), "stats: failed and pending")
    v = json.loads(st.view(db, later))["notifications"][0]
    eq(v["webhook"], "failed", "operator view shows failed")
    eq([a["channel"] for a in v["attempts"]], ["webhook", "email", "webhook"],
       "with its attempts")


def test_timeouts_are_bounded():
    db = st.fresh_db(TMP)
    order = "ord_nt_slow"
    feed(db, st.event("ORDER_PLACED", order, st.iso(1)))
    receiver.set_mode("hang")
    t = time.monotonic()
    notify(db, env(SHIPTRACK_NOTIFY_TIMEOUT=1), expect=1)
    took = time.monotonic() - t
    receiver.release(answer=False)
    check(took < 5, "a hanging receiver costs notify_timeout, not more (%.1fs)" % took)
    r = rows(db, order)[0]
    eq(r["webhook"], "pending", "timeout: retried")
    check("Timeout" in r["last_error"] or "timed out" in r["last_error"], r["last_error"])


# --- crashes and concurrency ----------------------------------------------

def test_kill_9_mid_delivery_then_sent_once_the_lease_expires():
    db = st.fresh_db(TMP)
    order = "ord_nt_kill"
    feed(db, st.event("ORDER_PLACED", order, st.iso(1)))
    receiver.set_mode("hang")
    e = env(SHIPTRACK_NOTIFY_TIMEOUT=5, SHIPTRACK_NOTIFY_LEASE_SECONDS=6)
    proc = subprocess.Popen([st.CLI, "notify"], env=st.base_env(dict(e, SHIPTRACK_DATABASE=db)),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    check(receiver.arrived.wait(10), "the delivery reached the receiver")
    os.kill(proc.pid, signal.SIGKILL)
    proc.communicate()
    eq(proc.returncode, -signal.SIGKILL, "killed")
    receiver.release(answer=False)
    receiver.set_mode("ok")
    r = outbox(db, order)[0]
    eq((r["webhook"], r["claims"]), ("pending", 1), "left pending")
    check(r["claimed_ms"] > now_ms(), "still leased")
    p = notify(db, e, expect=0)
    check("0 notifications" in p.stdout, "leased row left alone: %s" % p.stdout)
    eq(len(for_order(receiver.accepted(), order)), 0, "not sent while leased")
    time.sleep(max(0, (r["claimed_ms"] - now_ms()) / 1000.0) + 0.2)
    p = notify(db, e, expect=0)
    check("1 interrupted" in p.stdout, p.stdout)
    o = outbox(db, order)[0]
    eq((o["webhook"], o["claims"], o["claimed_ms"]), ("sent", 2, 0), "sent after the lease")
    eq(len(for_order(receiver.accepted(), order)), 1, "accepted exactly once")
    got = for_order(receiver.all(), order)
    eq(len({d["id"] for d in got}), 1, "the retry carries the same webhook-id")
    att = tries(rows(db, order)[0])
    eq([(a[0], a[1]) for a in att],
       [("webhook", None), ("email", None), ("webhook", 200), ("email", None)],
       "attempts: both open channels interrupted, then sent and skipped")
    check(att[0][2].startswith("interrupted"), "the lost attempt is recorded: %r" % att[0][2])
    eq(st.run_cli(["check"], db=db, env=FAST).returncode, 0, "database intact")


def test_concurrent_runs_never_send_a_row_twice():
    db = st.fresh_db(TMP)
    orders = ["ord_nt_conc_a", "ord_nt_conc_b", "ord_nt_conc_c"]
    for o in orders:
        feed(db, st.event("ORDER_PLACED", o, st.iso(1)))
    # A lease held by someone else (another host, say) is respected too
    # (written in storage, on purpose).
    st.storage_sql(db, "UPDATE notifications SET claimed_until_ms = ? WHERE order_id = ?",
                   (now_ms() + 60000, orders[2]))
    receiver.set_mode("hang")
    e = env(SHIPTRACK_NOTIFY_TIMEOUT=8, SHIPTRACK_NOTIFY_LEASE_SECONDS=10)
    first = subprocess.Popen([st.CLI, "notify"], env=st.base_env(dict(e, SHIPTRACK_DATABASE=db)),
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    check(receiver.arrived.wait(10), "first run is delivering")
    t = time.monotonic()
    p = notify(db, e, expect=0)
    check(time.monotonic() - t < 3, "second run leaves at once")
    check("another run" in p.stdout, "says so: %r" % p.stdout)
    receiver.set_mode("ok")          # answers the held request with 200
    out, err = first.communicate(timeout=30)
    outputs.append(out + err)
    eq(first.returncode, 0, "first run finished: %s%s" % (out, err))
    sent = {o: len(for_order(receiver.all(), o)) for o in orders}
    eq(sent, {orders[0]: 1, orders[1]: 1, orders[2]: 0}, "each row once; the leased one not")
    eq(rows(db, orders[2])[0]["webhook"], "pending", "leased row untouched")


# --- configuration, operator view, output ----------------------------------

def test_configuration_errors_exit_2_without_secrets():
    db = st.fresh_db(TMP)
    # Long enough for the configuration (16 bytes), too short a key for the
    # signer: 16 bytes once decoded, and Standard Webhooks wants 24.
    bad_secret = "whsec_" + base64.b64encode(b"sixteen byte key").decode()
    for extra, word in [
        ({"SHIPTRACK_NOTIFY_SECRET": None}, "notify_secret"),
        ({"SHIPTRACK_NOTIFY_SECRET": bad_secret}, "notify_secret"),
        ({"SHIPTRACK_NOTIFY_SECRET": "not base64 at all"}, "notify_secret"),
        ({"SHIPTRACK_NOTIFY_URL": "ftp://127.0.0.1/x"}, "notify_url"),
        ({"SHIPTRACK_NOTIFY_LEASE_SECONDS": "3"}, "notify_lease_seconds"),
        ({"SHIPTRACK_SMTP_URL": "http://127.0.0.1/", "SHIPTRACK_MAIL_FROM": MAIL_FROM},
         "smtp_url"),
        ({"SHIPTRACK_MAIL_FROM": "Shop <orders@shop.example>"}, "mail_from"),
        ({"SHIPTRACK_MAIL_FROM": "orders@shop.example\r\nBcc: x@y.z"}, "mail_from"),
        ({"SHIPTRACK_NOTIFY_GIVE_UP_HOURS": "0"}, "NOTIFY_GIVE_UP_HOURS"),
    ]:
        e = env()
        for k, v in extra.items():
            if v is None:
                e.pop(k)
            else:
                e[k] = v
        p = notify(db, e, expect=2)
        check(word in p.stderr, "%s named: %r" % (word, p.stderr))
        check(bad_secret not in p.stderr + p.stdout, "secret not echoed")
    p = notify(db, env(), args=["--limit", "x"], expect=2)


def test_limit_and_operator_view_shape():
    db = st.fresh_db(TMP)
    order = "ord_nt_view"
    feed(db, *lifecycle(order))
    p = notify(db, env(), args=["--limit", "2"], expect=0)
    check(p.stdout.startswith("notify: 2 notifications"), p.stdout)
    v = json.loads(st.view(db, order))
    eq(list(v.keys())[-2:], ["events", "notifications"], "notifications last")
    n = v["notifications"]
    eq(len(n), 3, "three notifications")
    eq(list(n[0].keys()), ["id", "stage", "previousStage", "shipment", "occurredAt",
                           "webhook", "email", "nextAttemptAt", "lastError", "attempts"],
       "notification keys")
    eq([(x["webhook"], x["email"]) for x in n],
       [("sent", "skipped"), ("sent", "skipped"), ("pending", "pending")], "states")
    eq(n[0]["attempts"][0]["channel"], "webhook", "attempt channel")
    eq(list(n[0]["attempts"][0].keys()), ["channel", "at", "status", "error"], "attempt keys")
    eq((n[0]["attempts"][0]["status"], n[0]["attempts"][0]["error"]), (200, None), "ok attempt")
    check(n[0]["nextAttemptAt"] is None and n[2]["nextAttemptAt"] is not None, "nextAttemptAt")
    _, shopper = shopper_view(db, order)
    check("notifications" not in shopper.json(), "shopper view has no notifications")
    s = st.api(db, "/v1/stats").json()["notifications"]
    eq(s, {"pending": 1, "failed": 0, "sent": 2, "skipped": 0}, "stats")


def test_output_never_holds_secrets_or_addresses():
    joined = "\n".join(outputs)
    check(len(outputs) > 20, "outputs collected")
    for secret in (NOTIFY_SECRET, NOTIFY_SECRET[6:], SMTP_PASSWORD, "tok_in_url_x", LOOKUP):
        check(secret not in joined, "%r appears in notify's output" % secret)
    check(CUSTOMER not in joined, "a customer's address appears in notify's output")


if __name__ == "__main__":
    tests = {k: v for k, v in globals().items() if k.startswith("test_") and callable(v)}
    wrapped = {}
    for name, fn in tests.items():
        def run_one(fn=fn):
            setup_function()
            fn()
        wrapped[name] = run_one
    try:
        st.run(wrapped)
    finally:
        receiver.close()
        sink.close()
