#!/usr/bin/env python3
"""The Rye pass's mark on PostgreSQL: never past an event committed later.

The pass remembers the largest event seq it has looked at and next time
reads the events after it.  On PostgreSQL a seq is drawn when a row is
inserted, not when its transaction commits, so with two receivers (two
processes, two nodes) a slow transaction can commit seq N after a quick
one committed N + 1.  A pass in between would see N + 1, move the mark
past N, and never look at N: a thin shipment event whose shipment would
then be read from Rye only at the next full resync.

Here the slow transaction is a real receiver held up by a row another
session has inserted with the same event id and not committed (an insert
waits for the other transaction after it has drawn its seq); a second
receiver stores another thin event meanwhile.  The pass that runs then
must not move the mark past the held one: it waits for the transactions
still inserting events (store_rye_settled_seq), for busy_timeout at most,
and then gives up its run.  Once the held event is committed, the next
pass reads its shipment.
"""
import os
import subprocess
import sys
import threading
import time
import urllib.parse

os.environ["SHIPTRACK_TEST_BACKEND"] = "pg"
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import shiptrack_test as st  # noqa: E402
from shiptrack_test import check, eq  # noqa: E402
import pg_backend  # noqa: E402
import poll_test as pt  # noqa: E402
import rye_test as rt  # noqa: E402

rye = rt.RyeStub()
WAIT = 60           # seconds any step may take before the test says so


def thin(id, shipment):
    return st.event2("shipment.created", shipment, "shipment", st.iso(40), id)


def waiting_on_locks(pg, database):
    rows = pg.query("SELECT count(*) FROM pg_stat_activity WHERE datname = :'p1'"
                    " AND wait_event_type = 'Lock'", [database])
    return int(rows[0][0])


def until(what, fn):
    end = time.monotonic() + WAIT
    while not fn():
        check(time.monotonic() < end, "still waiting for %s after %d s" % (what, WAIT))
        time.sleep(0.05)


def shipments_read(db):
    """Shipment ids the pass asked Rye for: by id, or listed by ids."""
    got = []
    for r in rye.log():
        if r["path"].startswith("/api/v1/shipments/"):
            got.append(r["path"].rsplit("/", 1)[1])
        elif r["path"] == "/api/v1/shipments":
            got += urllib.parse.parse_qs(r["query"] or "").get("ids", [])
    return sorted(set(got))


def test_mark_never_passes_an_event_committed_later():
    rye.reset()
    db = st.fresh_db()
    database = db.rsplit("/", 1)[1].split("?")[0]
    pg = pg_backend.server()
    for sid, ci in (("shp_held", "ci_held"), ("shp_quick", "ci_quick")):
        rye.intents(rt.intent(ci))
        rye.shipments(rt.shipment(sid, ci, number="1Z" + sid.upper()))
    # Another session inserts evt_held and keeps its transaction open.
    blocker = subprocess.Popen(pg.psql_argv(database), stdin=subprocess.PIPE,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               text=True, env=pg._client_env())
    blocker.stdin.write("BEGIN;\nINSERT INTO events(id, scheme, type, created_at,"
                        " created_ms, received_at, body) VALUES ('evt_held', 'rye2',"
                        " 'held', '2026-01-01T00:00:00Z', 0, '2026-01-01T00:00:00Z',"
                        " '\\x7b7d');\n\\echo inserted\n")
    blocker.stdin.flush()
    eq(blocker.stdout.readline().strip(), "inserted", "the other session holds it")
    held = {}
    slow = threading.Thread(target=lambda: held.update(a=st.post(
        db, thin("evt_held", "shp_held"), gen=2,
        env={"SHIPTRACK_BUSY_TIMEOUT": str(WAIT * 1000)}, timeout=WAIT * 2)))
    slow.start()
    try:
        until("the slow receiver to wait", lambda: waiting_on_locks(pg, database) > 0)
        a = st.post(db, thin("evt_quick", "shp_quick"), gen=2)
        eq(a.status, 200, "the quick receiver: %s" % a)
        p = rt.poll(db, rye, env_extra={"SHIPTRACK_BUSY_TIMEOUT": "1000"})
        check(p.returncode != 0 and "the database failed (busy)" in p.stderr,
              "a pass while an event is still being inserted waits, then gives up "
              "its run (%d): %s" % (p.returncode, p.stderr[-1500:]))
        eq(shipments_read(db), [], "nothing read from Rye by that pass")
    finally:
        blocker.stdin.write("ROLLBACK;\n\\q\n")
        blocker.stdin.close()
        blocker.wait(timeout=WAIT)
        slow.join(WAIT * 2)
    eq(held["a"].status, 200, "the slow receiver, once the other session gave up")
    p = rt.poll(db, rye)
    rt.expect_exit(p, 0, "the next pass")
    eq(shipments_read(db), ["shp_held", "shp_quick"],
       "both shipments read, the one committed last included")
    eq(st.storage_sql(db, "SELECT count(*) FROM rye_shipments_due"), [(0,)],
       "nothing left due")


def test_writers_take_the_events_lock_shared():
    """A receiver holds "events" shared while it inserts, so a session that
    holds it exclusive (the pass's reading moment) keeps its insert back."""
    db = st.fresh_db()
    database = db.rsplit("/", 1)[1].split("?")[0]
    pg = pg_backend.server()
    blocker = subprocess.Popen(pg.psql_argv(database), stdin=subprocess.PIPE,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               text=True, env=pg._client_env())
    blocker.stdin.write("BEGIN;\nSELECT pg_advisory_xact_lock(21332, hashtext('events'));\n"
                        "\\echo locked\n")
    blocker.stdin.flush()
    until("the lock", lambda: blocker.stdout.readline().strip() == "locked")
    try:
        a = st.post(db, thin("evt_kept_back", "shp_x"), gen=2,
                    env={"SHIPTRACK_BUSY_TIMEOUT": "500"})
        eq(a.status, 503, "kept back past busy_timeout: %s" % a)
    finally:
        blocker.stdin.write("ROLLBACK;\n\\q\n")
        blocker.stdin.close()
        blocker.wait(timeout=WAIT)
    eq(st.post(db, thin("evt_kept_back", "shp_x"), gen=2).status, 200, "then stored")


if __name__ == "__main__":
    try:
        st.run()
    finally:
        rye.close()
