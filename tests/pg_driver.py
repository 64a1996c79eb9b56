#!/usr/bin/env python3
"""The PostgreSQL driver (cgi/lib/db_pg*.c) against a real server
(tests/pgserver.py): what only this backend has to get right.

- The password (in the URI, or in database_password_file) is never in
  what the programs print or log: `shiptrack check` and `migrate`, a
  receiver's 503 when the server is down, a refused password.
- database_password_file: used when the URI has none; refused, naming the
  file and never its content, when its group or others may read it.
- Two `shiptrack migrate` started at once on an empty database migrate it
  once (the "migrate" advisory lock, schema_migrations).
- A lock held longer than busy_timeout (an order's key lock, a table
  lock) answers 503 with Retry-After, and the retry is stored once.
- A connection the server ends (pg_terminate_backend) is made again: a
  long-lived FastCGI receiver answers the next webhook 200, and every
  acknowledged event is stored once.
- A write the driver queued in its pipeline (an order's upsert, the
  outbox's insert) that the server refuses fails its own webhook only,
  in a group commit of many: the others are stored with every effect,
  it is stored not at all, and the receiver answers it 503 (as any
  failure to store).
- durability: the session's synchronous_commit is on for full, off for
  normal (the server's statement log shows what each connection set).
- The change counter (the view cache's): a commit made by another
  connection moves it, so a FastCGI api.fcgi's cached shopper view is
  not served once another process changed the order (50 ms later at
  most: the counter is asked of the server that often).
"""
import base64
import hashlib
import hmac
import os
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import shiptrack_test as st  # noqa: E402
import fcgi_client as fc  # noqa: E402
import pgserver  # noqa: E402
from shiptrack_test import check, eq  # noqa: E402

PG = pgserver.start(fsync=False, settings={"log_statement": "all"})
TMP = st.tempdir("shiptrack-pgdrv-")
_n = iter(range(1, 1000))


def fresh():
    """A new, migrated database's URI."""
    name = "d%d" % next(_n)
    uri = PG.create_database(name)
    p = st.run_cli(["migrate"], db=uri)
    eq(p.returncode, 0, "migrate: %s" % p.stderr)
    return uri


def subdir():
    """A directory of its own (a FastCGI program's socket is named by pid)."""
    d = os.path.join(TMP, "r%d" % next(_n))
    os.mkdir(d)
    return d


def no_password(text, what):
    check(PG.password not in text, "%s shows the password: %r" % (what, text[-800:]))


def test_password_never_shown():
    uri = fresh()
    p = st.run_cli(["check"], db=uri)
    eq(p.returncode, 0, "check: %s%s" % (p.stdout, p.stderr))
    check("database: postgresql://shiptrack@127.0.0.1:%d/" % PG.port in p.stdout,
          "check names the database: %r" % p.stdout)
    no_password(p.stdout + p.stderr, "check")
    p = st.run_cli(["migrate"], db=uri)
    no_password(p.stdout + p.stderr, "migrate")
    bad = uri.replace(PG.password, PG.password + "x")
    p = st.run_cli(["check"], db=bad)
    check(p.returncode != 0, "a wrong password is refused")
    no_password(p.stdout + p.stderr, "a refused password")
    check("password authentication failed" in p.stdout + p.stderr,
          "says why: %r" % p.stderr)
    down = uri.replace(":%d/" % PG.port, ":%d/" % pgserver.free_port())
    a = st.post(down, st.event("PAYMENT_SUCCEEDED", order="ord_pw"))
    eq(a.status, 503, "a server that is down")
    no_password(a.stderr.decode() + a.body.decode(), "the receiver's 503")


def test_password_file():
    uri = fresh()
    path = os.path.join(TMP, "pgpass")
    with open(path, "w") as f:
        f.write(PG.password + "\n")
    os.chmod(path, 0o600)
    env = {"SHIPTRACK_DATABASE_PASSWORD_FILE": path}
    bare = uri.replace(":" + PG.password + "@", "@")
    check(PG.password not in bare, "the URI without its password")
    p = st.run_cli(["check"], db=bare, env=env)
    eq(p.returncode, 0, "check with the password file: %s" % p.stderr)
    os.chmod(path, 0o640)
    p = st.run_cli(["check"], db=bare, env=env)
    check(p.returncode != 0, "a group-readable password file is refused")
    check("database_password_file" in p.stdout + p.stderr and path in p.stderr,
          "names the file: %r" % p.stderr)
    no_password(p.stdout + p.stderr, "the refusal")
    p = st.run_cli(["check"], db=bare)
    check(p.returncode != 0, "no password at all is refused")


def test_two_migrations_at_once():
    uri = PG.create_database("race")
    procs = [subprocess.Popen([st.CLI, "migrate"], env=st.base_env(
        {"SHIPTRACK_DATABASE": uri}), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True) for _ in range(4)]
    outs = [p.communicate(timeout=60) for p in procs]
    for p, (out, err) in zip(procs, outs):
        eq(p.returncode, 0, "every migrate succeeds: %s" % err)
    applied = [o for o, _ in outs if "7 migrations applied" in o]
    eq(len(applied), 1, "exactly one migrated: %r" % [o for o, _ in outs])
    eq(PG.query("SELECT count(*), max(version) FROM schema_migrations",
                database="race"), [("7", "7")], "schema_migrations")


def hold(sql, database, seconds):
    """A psql session holding what sql takes for seconds (background);
    returns once it is holding (asleep in pg_sleep)."""
    script = "BEGIN;\n%s;\nSELECT pg_sleep(%d);\nCOMMIT;\n" % (sql, seconds)
    t = threading.Thread(target=PG.psql, args=(script, database))
    t.start()
    deadline = time.monotonic() + 30
    while not PG.query("SELECT 1 FROM pg_stat_activity WHERE datname = :'p1'"
                       " AND query LIKE 'SELECT pg_sleep%%'", [database]):
        check(time.monotonic() < deadline and t.is_alive(), "the holder started")
        time.sleep(0.05)
    return t


def test_lock_held_is_503():
    uri = fresh()
    db = uri.rsplit("/", 1)[1]
    body = st.event("PAYMENT_SUCCEEDED", order="ord_locked")
    env = {"SHIPTRACK_BUSY_TIMEOUT": "300"}
    t = hold("SELECT pg_advisory_xact_lock(%d, hashtext('order:ord_locked'))"
             % 0x5354, db, 3)
    try:
        a = st.post(uri, body, env=env)
    finally:
        t.join()
    eq(a.status, 503, "an order locked longer than busy_timeout")
    check("retry-after" in a.headers, "with Retry-After")
    eq(PG.query("SELECT count(*) FROM events", database=db), [("0",)], "nothing stored")
    t = hold("LOCK TABLE events IN ACCESS EXCLUSIVE MODE", db, 3)
    try:
        a = st.post(uri, body, env=env)
    finally:
        t.join()
    eq(a.status, 503, "a table locked longer than busy_timeout")
    eq(st.post(uri, body).status, 200, "the retry, once the lock is gone")
    eq(st.post(uri, body).status, 200, "and again (a duplicate)")
    eq(PG.query("SELECT count(*) FROM events", database=db), [("1",)], "stored once")


def test_one_order_writers_in_turn():
    """Another node's transaction adds an order's record and, before it
    commits, this node's receiver adds another: the receiver's recompute
    waits for the order's key lock, then reads both records."""
    uri = fresh()
    db = uri.rsplit("/", 1)[1]
    order = "ord_turns"
    later = "2030-01-01T00:00:00Z"
    cancelled = st.event("ORDER_CANCEL_SUCCEEDED", order=order, created=later).decode()
    t = hold("SELECT pg_advisory_xact_lock(%d, hashtext('order:%s'));"
             " INSERT INTO events(id, scheme, type, order_id, created_at, created_ms,"
             " received_at, body) VALUES ('evt_other_node', 'rye1',"
             " 'ORDER_CANCEL_SUCCEEDED', '%s', '%s', 1893456000000, '%s',"
             " convert_to('%s', 'UTF8'))"
             % (0x5354, order, order, later, later, cancelled.replace("'", "''")), db, 2)
    try:
        a = st.post(uri, st.tracking(order, number="1ZTURNS"))
    finally:
        t.join()
    eq(a.status, 200, "stored after the other transaction")
    eq(PG.query("SELECT status FROM orders WHERE id = :'p1'", [order], database=db),
       [("CANCELLED",)], "the order's state counts the other node's later record")


def test_connection_lost_and_made_again():
    uri = fresh()
    db = uri.rsplit("/", 1)[1]
    r = fc.Receiver(st.WEBHOOK, st.base_env(st.webhook_env(uri)), subdir())
    try:
        ids = []
        for i in range(6):
            body = st.event("PAYMENT_SUCCEEDED", order="ord_lost_%d" % i)
            ids.append(body)
            out = r.request(fc.webhook_params(body), body)
            check(out is not None and out.startswith(b"Status: 200"), "webhook %d: %r"
                  % (i, out))
            ended = PG.query("SELECT count(pg_terminate_backend(pid)) FROM"
                             " pg_stat_activity WHERE datname = :'p1' AND"
                             " application_name LIKE 'shiptrack pid=%%'", [db])
            eq(ended, [("1",)], "the receiver's one connection ended")
        check(r.proc.poll() is None, "the receiver lives on")
    finally:
        r.stop()
    eq(PG.query("SELECT count(*), count(DISTINCT id) FROM events", database=db),
       [("6", "6")], "every acknowledged event stored once")


def test_a_queued_write_refused():
    """The server refuses the outbox's insert (notifications) for one
    order and the order's upsert for another: writes the driver sends in
    its pipeline, their failures read only at a later statement. A group
    commit of every webhook at once (they queue behind a lock on
    "events") holds good and bad ones."""
    uri = fresh()
    db = uri.rsplit("/", 1)[1]
    PG.psql("CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS"
            " $$ BEGIN RAISE EXCEPTION 'refused'; END $$;"
            " CREATE TRIGGER refuse_n BEFORE INSERT ON notifications FOR EACH ROW"
            " WHEN (NEW.order_id = 'ord_q_bad_n') EXECUTE FUNCTION refuse();"
            " CREATE TRIGGER refuse_o BEFORE INSERT ON orders FOR EACH ROW"
            " WHEN (NEW.id = 'ord_q_bad_o') EXECUTE FUNCTION refuse();", db)
    orders = ["ord_q_%d" % i for i in range(10)]
    orders[3], orders[7] = "ord_q_bad_n", "ord_q_bad_o"
    env = st.base_env(st.webhook_env(uri, SHIPTRACK_THREADS=16,
                                     SHIPTRACK_BUSY_TIMEOUT=20000))
    r = fc.Receiver(st.WEBHOOK, env, subdir())
    out = {}

    def one(order):
        body = st.tracking(order, number="1Z" + order.upper().replace("_", ""))
        out[order] = r.request(fc.webhook_params(body), body, 30)
    try:
        t = hold("SELECT pg_advisory_xact_lock(%d, hashtext('events'))" % 0x5354, db, 2)
        ts = [threading.Thread(target=one, args=(o,)) for o in orders]
        for x in ts:
            x.start()
        for x in ts:
            x.join()
        t.join()
    finally:
        r.stop()
    for o in orders:
        want = b"Status: 503" if "bad" in o else b"Status: 200"
        check(out[o] is not None and out[o].startswith(want), "%s: %r" % (o, out[o]))
    good = [o for o in orders if "bad" not in o]
    eq(PG.query("SELECT order_id FROM events ORDER BY 1", database=db),
       [(o,) for o in sorted(good)], "only the good webhooks stored")
    eq(PG.query("SELECT id, stage FROM orders ORDER BY 1", database=db),
       [(o, "shipped") for o in sorted(good)], "each with its order")
    eq(PG.query("SELECT order_id FROM notifications ORDER BY 1", database=db),
       [(o,) for o in sorted(good)], "and its notification")
    eq(PG.query("SELECT count(*) FROM shipments", database=db), [(str(len(good)),)],
       "and its shipment")


def statements_logged():
    with open(PG.logfile, "rb") as f:
        return f.read().decode("utf-8", "replace")


def test_durability_sets_synchronous_commit():
    uri = fresh()
    for mode, value in (("normal", "off"), ("full", "on")):
        before = len(statements_logged())
        a = st.post(uri, st.event("PAYMENT_SUCCEEDED", order="ord_d_" + mode),
                    env={"SHIPTRACK_DURABILITY": mode})
        eq(a.status, 200, "stored at " + mode)
        log = statements_logged()[before:]
        check("SET synchronous_commit = %s" % value in log,
              "durability %s: synchronous_commit %s in %r" % (mode, value, log[-600:]))


def test_view_cache_sees_other_commits():
    uri = fresh()
    order = "ord_cache"
    eq(st.post(uri, st.event("PAYMENT_SUCCEEDED", order=order)).status, 200, "placed")
    secret = "lookup-secret-for-the-cache-test"
    mac = hmac.new(secret.encode(), order.encode(), hashlib.sha256).digest()[:16]
    key = base64.urlsafe_b64encode(mac).decode().rstrip("=")
    env = st.base_env({"SHIPTRACK_DATABASE": uri, "SHIPTRACK_LOOKUP_SECRET": secret,
                       "SHIPTRACK_VIEW_CACHE": "16"})
    r = fc.Receiver(st.API, env, subdir())
    params = {"REQUEST_METHOD": "GET", "PATH_INFO": "/v1/track/" + order,
              "QUERY_STRING": "key=" + key, "SCRIPT_NAME": "/api"}
    try:
        first = r.request(params, b"")
        check(first is not None and b"processing" in first, "the view: %r" % first)
        eq(r.request(params, b""), first, "the same view, from the cache")
        eq(st.post(uri, st.tracking(order, number="1ZCACHE")).status, 200, "shipped")
        # The counter is asked of the server at most every 50 ms
        # (PG_COUNTER_LAG_MS, README): past that, the commit is seen.
        time.sleep(0.06)
        again = r.request(params, b"")
        check(again is not None and b"1ZCACHE" in again,
              "another process's commit is seen within 50 ms: %r" % again)
    finally:
        r.stop()


if __name__ == "__main__":
    try:
        st.run()
    finally:
        PG.stop()
