#!/usr/bin/env python3
"""`shiptrack copy-to postgresql://...`: a SQLite store moved to an empty
PostgreSQL database (tests/pgserver.py).

The store: orders fed through the real receiver (placed, shipped, split,
cancelled, a contact, a rejected delivery, notifications queued), plus
100,000 generated events written straight into the file (bodies with
bytes that are no text, NUL and 0xff among them).  Then:
- every API answer is the same before (SQLite) and after (PostgreSQL):
  each order's operator view and shopper view, the list pages, the stats;
- every raw body is byte for byte what SQLite held (read back from
  PostgreSQL), and the command's own counts and SHA-256 agree;
- a second copy into the now non-empty database is refused;
- the password is in nothing the command prints.

This test reads both storages on purpose (the raw bodies): it is about
moving storage.
"""
import base64
import hashlib
import hmac
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import shiptrack_test as st  # noqa: E402
import pgserver  # noqa: E402
from shiptrack_test import check, eq  # noqa: E402

PG = pgserver.start(fsync=False)
LOOKUP = "lookup-secret-for-the-copy-test-0001"
GENERATED = 100000
ORDERS = ["ord_placed", "ord_shipped", "ord_split", "ord_cancelled", "ord_pending"]
state = {}


def key_of(order):
    mac = hmac.new(LOOKUP.encode(), order.encode(), hashlib.sha256).digest()[:16]
    return base64.urlsafe_b64encode(mac).decode().rstrip("=")


def post_ok(db, body):
    a = st.post(db, body)
    eq(a.status, 200, "webhook: %s" % a)


def feed(db):
    post_ok(db, st.event("ORDER_PLACED", "ord_placed", st.iso(-50)))
    post_ok(db, st.event("ORDER_PLACED", "ord_shipped", st.iso(-40)))
    post_ok(db, st.tracking("ord_shipped", "1ZCOPY1", "UPS", "https://ups.example/1ZCOPY1",
                            st.iso(-39)))
    post_ok(db, st.event("ORDER_PLACED", "ord_split", st.iso(-30)))
    post_ok(db, st.tracking("ord_split", "1ZCOPY2", "UPS", created=st.iso(-29)))
    post_ok(db, st.tracking("ord_split", "9400COPY3", "USPS", created=st.iso(-28)))
    post_ok(db, st.event("PAYMENT_SUCCEEDED", "ord_cancelled", st.iso(-20)))
    post_ok(db, st.event("ORDER_CANCEL_SUCCEEDED", "ord_cancelled", st.iso(-19)))
    post_ok(db, st.event("PAYMENT_SUCCEEDED", "ord_pending", st.iso(-10)))
    p = st.run_cli(["contact", "ord_shipped", "buyer@example.com"], db=db)
    eq(p.returncode, 0, "contact: %s" % p.stderr)
    a = st.post(db, b'{"not json', headers={})
    check(a.status >= 400, "a rejected delivery kept as evidence")


def generate(db):
    """GENERATED events straight into the file, odd bytes in the bodies."""
    rows = []
    for i in range(GENERATED):
        body = b'{"gen":%d,"raw":"' % i + bytes([i % 256, 0, 255]) + b'"}'
        rows.append(("evt_gen_%06d" % i, "rye1", "GENERATED", None, st.iso(-60),
                     1700000000000 + i, st.iso(0), body))
    st.storage_many(db, "INSERT INTO events(id, scheme, type, order_id, created_at,"
                   " created_ms, received_at, body) VALUES (?,?,?,?,?,?,?,?)", rows)


def answers(db):
    """Every API answer we compare: (route, status, body)."""
    env = {"SHIPTRACK_LOOKUP_SECRET": LOOKUP}
    out = []
    routes = [("/v1/orders", ""), ("/v1/orders", "limit=2"), ("/v1/stats", ""),
              ("/v1/orders", "stage=shipped")]
    routes += [("/v1/orders/" + o, "") for o in ORDERS]
    for path, q in routes:
        a = st.api(db, path, query=q, env=env)
        out.append((path + "?" + q, a.status, a.body))
    for o in ORDERS:
        a = st.api(db, "/v1/track/" + o, token=None, query="key=" + key_of(o), env=env)
        out.append(("track " + o, a.status, a.body))
    return out


def source():
    if "db" not in state:
        db = st.fresh_db()
        feed(db)
        generate(db)
        state["db"] = db
        state["before"] = answers(db)
    return state["db"]


def test_copy_then_every_answer_is_the_same():
    db = source()
    p = st.run_cli(["copy-to", PG.uri], db=db, timeout=900)
    eq(p.returncode, 0, "copy-to: %s%s" % (p.stdout, p.stderr))
    check(PG.password not in p.stdout + p.stderr, "no password in what it says")
    check("verified" in p.stdout and " s\n" in p.stdout, "says it verified, and how long")
    print("# " + p.stdout.strip().splitlines()[-1])
    eq(PG.query("SELECT count(*) FROM events"), [(str(GENERATED + 9),)], "events")
    after = answers(PG.uri)
    for (route, s1, b1), (_, s2, b2) in zip(state["before"], after):
        eq((s2, b2), (s1, b1), route)
    check(all(s == 200 for _, s, _ in after), "every route answered 200")


def test_raw_bodies_byte_for_byte():
    db = source()
    want = dict(st.storage_sql(db, "SELECT id, body FROM events"))
    got = {}
    for ident, body in PG.query("SELECT id, body FROM events"):
        got[ident] = bytes.fromhex(body[2:])
    eq(len(got), len(want), "as many bodies")
    bad = [k for k in want if bytes(want[k]) != got.get(k)]
    eq(bad[:5], [], "bodies differing")
    eq(PG.query("SELECT count(*) FROM rejected_deliveries"), [("1",)], "the evidence too")


def test_a_copy_that_differs_leaves_nothing():
    """A target whose events differ from the source's after the copy (a
    trigger changing each body) fails the check, and the copy is rolled
    back: the target stays empty."""
    uri = PG.create_database("tampered")
    eq(st.run_cli(["migrate"], db=uri).returncode, 0, "migrated")
    PG.run_sql("CREATE FUNCTION tamper() RETURNS trigger LANGUAGE plpgsql AS"
               " $$ BEGIN NEW.body := NEW.body || '\\x00'::bytea; RETURN NEW; END $$;"
               " CREATE TRIGGER tamper BEFORE INSERT ON events FOR EACH ROW"
               " EXECUTE FUNCTION tamper();", database="tampered")
    p = st.run_cli(["copy-to", uri], db=source(), timeout=900)
    check(p.returncode != 0, "refused: %s" % p.stdout)
    check("SHA-256 differs" in p.stderr, "says why: %r" % p.stderr)
    eq(PG.query("SELECT count(*) FROM events", database="tampered"), [("0",)],
       "nothing left behind")


def test_a_copy_longer_than_busy_timeout():
    """busy_timeout is also PostgreSQL's statement_timeout, but not for
    copy-to's own transaction: reading 100k events back for the checksum
    takes longer than 20 ms, and the copy still succeeds."""
    uri = PG.create_database("patient")
    p = st.run_cli(["copy-to", uri], db=source(), env={"SHIPTRACK_BUSY_TIMEOUT": "20"},
                   timeout=900)
    eq(p.returncode, 0, "copy-to at busy_timeout = 20 ms: %s%s" % (p.stdout, p.stderr))
    eq(PG.query("SELECT count(*) FROM events", database="patient"),
       [(str(GENERATED + 9),)], "every event")


def test_non_empty_target_refused():
    db = source()
    p = st.run_cli(["copy-to", PG.uri], db=db)
    check(p.returncode != 0, "a second copy is refused")
    check("not empty" in p.stderr, "says why: %r" % p.stderr)
    check(PG.password not in p.stdout + p.stderr, "no password in the refusal")
    eq(PG.query("SELECT count(*) FROM events"), [(str(GENERATED + 9),)], "nothing added")


if __name__ == "__main__":
    try:
        st.run()
    finally:
        PG.stop()
