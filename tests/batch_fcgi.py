#!/usr/bin/env python3
"""Group commit when one webhook of a batch fails.

batch.c applies a batch of webhooks in one transaction without a savepoint
per item; if one fails, it rolls the transaction back and applies the batch
again, each item under its own savepoint.  The promise is the same as with
savepoints throughout: the failing webhook gets a 5xx and leaves nothing
behind, every other webhook of the batch is stored, applied and answered
200, and the database stays consistent.

To make a failing item real, a trigger in the test database aborts the
insert of chosen event ids (SQLite's RAISE(ABORT)).  To make sure the
failing items share a batch with good ones, another connection holds the
write lock while the requests arrive, so they queue behind one leader and
are committed together when it lets go.  Both are done in storage on
purpose (st.storage_sql, st.storage_connect); what was stored is read
through the programs.  Speaks FastCGI itself (tests/fcgi_client.py) to a
webhook.fcgi with 16 request threads.
"""
import os
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import shiptrack_test as st  # noqa: E402
import fcgi_client as fc  # noqa: E402
from shiptrack_test import check, eq  # noqa: E402

TMP = st.tempdir("shiptrack-batch-")
DB = st.fresh_db(TMP)
N = 30
POISON = {"evt_batch_%02d" % i for i in (3, 11, 12, 29)}
state = {}


def send_all(ids):
    """Post every id concurrently; {id: answer bytes or None}."""
    out = {}

    def one(eid):
        body = st.event("ORDER_PLACED", "ord_" + eid, st.iso(1), eid)
        out[eid] = state["r"].request(fc.webhook_params(body), body, 30)

    ts = [threading.Thread(target=one, args=(e,)) for e in ids]
    for t in ts:
        t.start()
    return ts, out


def status_of(answer):
    return int(answer.split(b"\r\n", 1)[0].split()[1]) if answer else None


def test_start():
    # A failing item, made in storage on purpose (see the top).
    st.storage_sql(DB, "CREATE TRIGGER poison BEFORE INSERT ON events"
                   " WHEN NEW.id IN (%s) BEGIN SELECT RAISE(ABORT, 'poisoned'); END"
                   % ",".join("'%s'" % p for p in sorted(POISON)))
    env = st.base_env(st.webhook_env(DB, SHIPTRACK_THREADS=16, SHIPTRACK_BUSY_TIMEOUT=20000))
    state["r"] = fc.Receiver(st.WEBHOOK, env, TMP)
    body = st.event("ORDER_PLACED", "ord_warm", st.iso(0), "evt_warm")
    check(status_of(state["r"].request(fc.webhook_params(body), body)) == 200, "warm-up")


def test_failing_items_leave_the_rest_of_their_batch_intact():
    ids = ["evt_batch_%02d" % i for i in range(N)]
    hold = st.storage_connect(DB)        # the write lock, held on purpose
    hold.execute("BEGIN IMMEDIATE")
    ts, out = send_all(ids)
    time.sleep(1.5 * st.SLACK)      # all of them queue behind the blocked leader
    hold.execute("ROLLBACK")
    hold.close()
    for t in ts:
        t.join(60)
    for eid in ids:
        want = 500 if eid in POISON else 200
        got = status_of(out.get(eid))
        if eid in POISON:
            check(got is not None and got >= 500, "%s: %r" % (eid, out.get(eid)))
        else:
            eq(got, want, "%s status" % eid)
    orders = {i for i in st.order_ids(DB) if i.startswith("ord_evt_batch_")}
    eq(orders, {"ord_" + e for e in set(ids) - POISON}, "applied orders")
    views = {i: st.operator_view(DB, i) for i in orders}
    stored = {e["id"] for v in views.values() for e in v["events"]}
    eq(stored, set(ids) - POISON, "stored events")
    eq(st.counts(DB)["events"], 1 + len(stored), "no other event stored (the warm-up's aside)")
    eq({i for i, v in views.items() if len(v["notifications"]) == 1}, orders,
       "one queued notification per applied order")
    eq(sum(st.stats(DB)["notifications"].values()), 1 + len(orders),
       "no other notification queued (the warm-up's aside)")
    st.intact(DB)


def test_resend_gives_duplicates_and_the_poison_still_fails():
    ids = ["evt_batch_%02d" % i for i in range(N)]
    ts, out = send_all(ids)
    for t in ts:
        t.join(60)
    for eid in ids:
        a = out.get(eid)
        if eid in POISON:
            check(status_of(a) is not None and status_of(a) >= 500, "%s: %r" % (eid, a))
        else:
            eq(status_of(a), 200, "%s status" % eid)
            check(b'"duplicate":true' in a, "%s is a duplicate: %r" % (eid, a))


def test_stop():
    state["r"].stop()


if __name__ == "__main__":
    st.run()
