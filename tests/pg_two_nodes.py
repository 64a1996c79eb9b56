#!/usr/bin/env python3
"""Two web nodes, one PostgreSQL (tests/pgserver.py): each node a real
lighttpd with its own receiver and API processes
(contrib/lighttpd/shiptrack.conf as shipped, filled in for paths and the
port), both configured with the same postgresql:// database.

Signed load goes through both nodes at once, on orders shared between
them (so both nodes write the same orders concurrently); midway, node A's
lighttpd and every process below it are killed with SIGKILL, and node A
is started again while the load goes on.  Then:
- every acknowledged event (a 200) is stored, once;
- every order's state is a function of its stored events: `shiptrack
  replay` (which recomputes every order from the events alone) changes no
  operator view, so no concurrent write lost another's effect;
- no notification exists twice (one per order, stage and parcel);
- both nodes answer every order's view with the same bytes.
"""
import os
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import shiptrack_test as st  # noqa: E402
import webserver as ws  # noqa: E402
import pgserver  # noqa: E402
from shiptrack_test import check, eq  # noqa: E402

PG = pgserver.start(fsync=False)
TMP = st.tempdir("shiptrack-2nodes-")
ORDERS = ["ord_n%02d" % i for i in range(12)]
EVENTS_PER_THREAD = 60
THREADS = 4
nodes = {}
acked = []
acked_lock = threading.Lock()


def start_node(name):
    d = os.path.join(TMP, name)
    os.makedirs(d, exist_ok=True)
    conf = ws.write_config(os.path.join(d, "shiptrack.conf"), PG.uri, read_timeout=5)
    port = ws.free_port()
    lconf = ws.fill(ws.contrib("lighttpd", "shiptrack.conf"), os.path.join(d, "lighttpd.conf"),
                    {"WEBROOT": os.path.join(st.TOP_SRCDIR, "web"), "PORT": port,
                     "STATEDIR": d, "LIBEXECDIR": os.path.join(st.TOP_BUILDDIR, "cgi"),
                     "CONFIG": conf})
    for sock in ("webhook.sock", "api.sock"):
        for f in os.listdir(d):
            if f.startswith(sock):
                os.unlink(os.path.join(d, f))
    proc = ws.start_lighttpd(lconf, os.path.join(d, "lighttpd-error.log"), port,
                             new_session=True)
    nodes[name] = {"proc": proc, "client": ws.Client(port), "dir": d}


def node_programs(name):
    """Every live process started with this node's configuration, wherever
    it is in the process tree (an orphan too)."""
    conf = b"SHIPTRACK_CONFIG=" + os.path.join(nodes[name]["dir"], "shiptrack.conf").encode()
    found = []
    for d in os.listdir("/proc"):
        try:
            with open("/proc/%s/environ" % d, "rb") as f:
                env = f.read().split(b"\0")
        except (OSError, ValueError):
            continue
        if conf in env and ws.alive(int(d)):
            found.append(int(d))
    return found


def kill_node(name):
    """SIGKILL lighttpd and every process below it (all started by us)."""
    ws.kill_tree(nodes[name]["proc"])


def body_for(t, i):
    order = ORDERS[(t * 7 + i) % len(ORDERS)]
    eid = "evt_2n_%d_%d" % (t, i)
    created = st.iso(-100 + i)
    if i % 5 == 0:
        return eid, st.tracking(order, "1Z2N%d%03d" % (t, i), "UPS", created=created, id=eid)
    kinds = ["PAYMENT_SUCCEEDED", "ORDER_SUBMISSION_STARTED", "ORDER_PLACED",
             "ORDER_SUBMISSION_SUCCEEDED"]
    return eid, st.event(kinds[i % len(kinds)], order, created, eid)


def worker(t):
    for i in range(EVENTS_PER_THREAD):
        eid, body = body_for(t, i)
        for attempt in range(20):            # as a sender retries
            name = "a" if (i + attempt) % 2 == 0 else "b"
            try:
                r = nodes[name]["client"].post(body)
            except OSError:
                r = None
            if r is not None and r.status == 200:
                with acked_lock:
                    acked.append(eid)
                break
            time.sleep(0.05)


def test_load_through_two_nodes_with_one_killed():
    eq(st.run_cli(["migrate"], db=PG.uri).returncode, 0, "migrated")
    start_node("a")
    start_node("b")
    threads = [threading.Thread(target=worker, args=(t,)) for t in range(THREADS)]
    for th in threads:
        th.start()
    while len(acked) < THREADS * EVENTS_PER_THREAD // 3:
        time.sleep(0.02)
    served = ws.descendants(nodes["a"]["proc"].pid)
    kill_node("a")
    check(len(acked) < THREADS * EVENTS_PER_THREAD, "killed mid-load (%d acknowledged)"
          % len(acked))
    check(served and not any(ws.alive(p) for p in served), "node A's programs are gone")
    eq(node_programs("a"), [], "no program of node A left anywhere")
    time.sleep(0.3)
    start_node("a")
    for th in threads:
        th.join(300)
    eq(len(acked), THREADS * EVENTS_PER_THREAD, "every event acknowledged in the end")
    stored = PG.query("SELECT id FROM events")
    eq(len(stored), len(set(r[0] for r in stored)), "no event stored twice")
    eq(sorted(r[0] for r in stored), sorted(acked), "every acknowledged event stored")


def test_last_events_of_an_order_through_both_nodes_at_once():
    """Pairs of events for one order, one through each node at the same
    moment: each node's recompute must see the other's event (the order's
    key lock), or the order ends with one of them missing."""
    pairs = ["ord_pair%02d" % i for i in range(30)]
    barrier = threading.Barrier(2)
    answers = []

    def send(node, kind):
        for i, o in enumerate(pairs):
            if kind == "cancel":
                body = st.event("ORDER_CANCEL_SUCCEEDED", o, st.iso(10), "evt_c_" + o)
            else:
                body = st.tracking(o, "1ZPAIR%02d" % i, "UPS", created=st.iso(5),
                                   id="evt_t_" + o)
            barrier.wait(30)
            answers.append(nodes[node]["client"].post(body).status)
    for o in pairs:
        eq(nodes["a"]["client"].post(st.event("ORDER_PLACED", o, st.iso(0))).status,
           200, "placed")
    ts = [threading.Thread(target=send, args=("a", "cancel")),
          threading.Thread(target=send, args=("b", "track"))]
    for t in ts:
        t.start()
    for t in ts:
        t.join(120)
    eq(answers, [200] * 2 * len(pairs), "all stored")
    ORDERS.extend(pairs)
    for o in pairs:
        v = nodes["b"]["client"].operator("/v1/orders/" + o).json()
        eq((v["status"], [s["trackingNumber"] for s in v["shipments"]]),
           ("CANCELLED", ["1ZPAIR%02d" % pairs.index(o)]), o + ": both events count")


def views(node):
    out = {}
    for o in ORDERS:
        r = nodes[node]["client"].operator("/v1/orders/" + o)
        eq(r.status, 200, "%s on node %s" % (o, node))
        out[o] = st.blank_times(r.body)
    return out


def test_state_is_a_function_of_the_events():
    before = views("b")
    p = st.run_cli(["replay"], db=PG.uri, timeout=120)
    eq(p.returncode, 0, "replay: %s" % p.stderr)
    after = views("b")
    for o in ORDERS:
        eq(after[o], before[o], "%s recomputed from its events alone" % o)


def test_no_notification_twice():
    rows = PG.query("SELECT order_id, stage, shipment, count(*) FROM notifications"
                    " GROUP BY 1, 2, 3 HAVING count(*) > 1")
    eq(rows, [], "duplicate notifications")
    check(PG.query("SELECT count(*) FROM notifications")[0][0] != "0", "some queued")


def test_both_nodes_answer_alike():
    a, b = views("a"), views("b")
    for o in ORDERS:
        eq(a[o], b[o], "%s on both nodes" % o)


if __name__ == "__main__":
    try:
        st.run()
    finally:
        for n in nodes.values():
            ws.stop(n["proc"])
        PG.stop()
