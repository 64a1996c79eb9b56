#!/usr/bin/env python3
"""Crash loop: kill -9 under ingest load, then prove the promises held.

Signed Rye events are posted through a real lighttpd (the shipped
contrib/lighttpd/shiptrack.conf, durability full) by several client
threads while a killer, at random moments,

  phase 1: kill -9s the webhook.fcgi worker (lighttpd spawns a new one);
  phase 2: kill -9s the whole web server, lighttpd and every program it
           started, and starts it again.

The clients record every event id answered 200.  Afterwards:

  - shiptrack check finds the database intact;
  - every acknowledged event is stored, byte for byte (its raw body read
    in storage, on purpose), and applied (its order exists, and a tracking
    event's shipment, in shiptrack export);
  - a re-send of every event sent (acknowledged or not) through a fresh
    server answers 200 for all, and "duplicate": true for every
    acknowledged one: nothing acknowledged was lost, nothing applied twice.

`make check` runs the short version (a few seconds per phase); the long
one is `python3 tests/crashloop.py --seconds 120` (bench/crashloop).
"""
import argparse
import http.client
import json
import os
import random
import signal
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import shiptrack_test as st  # noqa: E402
import webserver as ws  # noqa: E402
from shiptrack_test import check, eq  # noqa: E402

TMP = st.tempdir("shiptrack-crash-")
DB = os.path.join(TMP, "shiptrack.db")
CONF = os.path.join(TMP, "shiptrack.conf")
LOG = os.path.join(TMP, "server.log")
CLIENTS = 6
TYPES = ["PAYMENT_SUCCEEDED", "ORDER_SUBMISSION_STARTED", "ORDER_PLACED", "TRACKING_OBTAINED"]

opts = {"seconds": 5.0, "seed": None}
state = {"proc": None, "port": None}
sent = {}            # id -> body (every event a client tried to send)
acked = set()        # ids answered 200 {"ok":true,"event":id}
lock = threading.Lock()
stats = {"kills_worker": 0, "kills_server": 0, "errors": 0, "non_200": 0}
statuses = {}        # status -> count of answers other than 200


# --- the server --------------------------------------------------------------

def start_server():
    if state["port"] is None:
        state["port"] = ws.free_port()
        ws.write_config(CONF, DB, durability="full", read_timeout=5)
        ws.fill(ws.contrib("lighttpd", "shiptrack.conf"), os.path.join(TMP, "lighttpd.conf"),
                {"WEBROOT": os.path.join(st.TOP_SRCDIR, "web"), "PORT": state["port"],
                 "STATEDIR": TMP, "LIBEXECDIR": os.path.join(st.TOP_BUILDDIR, "cgi"),
                 "CONFIG": CONF})
    state["proc"] = ws.start_lighttpd(os.path.join(TMP, "lighttpd.conf"), LOG, state["port"],
                                      new_session=True)


def workers():
    proc = state["proc"]
    if proc is None or proc.poll() is not None:
        return []
    return [p for p in ws.descendants(proc.pid) if "webhook.fcgi" in ws.cmdline(p)]


def kill_server():
    """kill -9 lighttpd and everything it started; nothing gets to clean up."""
    ws.kill_tree(state["proc"])


def stop_server():
    survivors = ws.stop(state["proc"])
    state["proc"] = None
    return survivors


# --- the load ----------------------------------------------------------------

def make_event(n):
    kind = TYPES[n % len(TYPES)]
    order = "ord_crash_%05d" % (n // len(TYPES))
    data = {"marketplace": "shopify"}
    if kind == "TRACKING_OBTAINED":
        data["order"] = {"trackingNumber": "1ZCRASH%010d" % n, "courierName": "UPS"}
    eid = "evt_crash_%07d" % n
    body = st.event(kind, order, "2025-05-01T10:%02d:%02d.%03dZ" % (n // 3600 % 60, n // 60 % 60,
                                                                    n % 1000), eid, data=data)
    return eid, body if isinstance(body, bytes) else body.encode()


def post(body, timeout=10):
    """(status, json or None); raises OSError on a broken connection."""
    c = http.client.HTTPConnection("127.0.0.1", state["port"], timeout=timeout)
    try:
        c.request("POST", "/webhook", body=body, headers={
            "Content-Type": "application/json",
            "Rye-Hmac-Signature-V1": st.sign_v1(st.SECRET, body)})
        r = c.getresponse()
        data = r.read()
        try:
            return r.status, json.loads(data)
        except ValueError:
            return r.status, None
    finally:
        c.close()


def client(first, stop):
    n = first
    while not stop.is_set():
        eid, body = make_event(n)
        n += CLIENTS
        with lock:
            sent[eid] = body
        try:
            status, j = post(body)
        except (OSError, http.client.HTTPException):
            with lock:
                stats["errors"] += 1
            time.sleep(0.01)
            continue
        if status == 200 and j and j.get("ok") is True and j.get("event") == eid:
            with lock:
                acked.add(eid)
        else:
            with lock:
                stats["non_200"] += 1
                statuses[status] = statuses.get(status, 0) + 1


def run_phase(seconds, killer):
    stop = threading.Event()
    # Phase p's clients take n = (p + 1) * 10**6 + k, k + CLIENTS, ...: unique ids.
    run_phase.count += 1
    base = run_phase.count * 10 ** 6
    threads = [threading.Thread(target=client, args=(base + k, stop), daemon=True)
               for k in range(CLIENTS)]
    for t in threads:
        t.start()
    deadline = time.monotonic() + seconds
    rnd = random.Random(opts["seed"])
    while time.monotonic() < deadline:
        time.sleep(rnd.uniform(0.2, 0.8))
        killer()
    stop.set()
    for t in threads:
        t.join(20)
    check(not any(t.is_alive() for t in threads), "load clients finished")


run_phase.count = 0


def kill_a_worker():
    w = workers()
    if w:
        try:
            os.kill(random.choice(w), signal.SIGKILL)
            stats["kills_worker"] += 1
        except OSError:
            pass


def kill_and_restart_server():
    kill_server()
    stats["kills_server"] += 1
    start_server()


# --- the tests ---------------------------------------------------------------

def test_start():
    p = st.run_cli(["migrate"], db=DB)
    eq(p.returncode, 0, "migrate (%s)" % p.stderr)
    start_server()
    eid, body = make_event(0)
    status, j = post(body)
    eq(status, 200, "a first event (%r)" % j)
    sent[eid] = body
    acked.add(eid)


def test_kill_workers_under_load():
    run_phase(opts["seconds"], kill_a_worker)
    # After a kill lighttpd answers 503 for a moment before it spawns a new
    # worker, so not every attempt finds one to kill.
    check(stats["kills_worker"] >= 2, "workers were killed (%d)" % stats["kills_worker"])


def test_kill_the_server_under_load():
    run_phase(opts["seconds"], kill_and_restart_server)
    check(stats["kills_server"] >= 2, "the server was killed (%d)" % stats["kills_server"])
    print("# %d events sent, %d acknowledged; %d worker and %d server kills; "
          "%d broken connections, %d other answers" % (
              len(sent), len(acked), stats["kills_worker"], stats["kills_server"],
              stats["errors"], stats["non_200"]))
    print("# answers other than 200, by status: %r" % statuses)
    check(len(acked) > 50, "load went on between kills (%d acknowledged)" % len(acked))
    stop_server()


def test_integrity():
    st.intact(DB, "integrity_check")


def test_every_acknowledged_event_stored_and_applied():
    # The raw bodies, read in storage on purpose: no program shows them.
    rows = dict(st.storage_sql(DB, "SELECT id, body FROM events"))
    missing = sorted(acked - set(rows))
    eq(missing[:10], [], "acknowledged but not stored (%d)" % len(missing))
    for eid in acked:
        if eid in rows:
            check(bytes(rows[eid]) == sent[eid], "%s stored byte for byte" % eid)
    exported = st.export_rows(DB)
    orders = {r["order_id"] for r in exported}
    numbers = {r["tracking_number"] for r in exported if r["tracking_number"]}
    for eid in acked:
        j = json.loads(sent[eid])
        check(j["requestId"] in orders, "%s applied: order %s exists" % (eid, j["requestId"]))
        if j["type"] == "TRACKING_OBTAINED":
            num = j["data"]["order"]["trackingNumber"]
            check(num in numbers, "%s applied: shipment %s exists" % (eid, num))
    stored_unacked = len(set(rows) - acked)
    print("# %d events stored without an answer reaching the client (allowed)" % stored_unacked)


def test_resend_everything_only_duplicates():
    start_server()
    try:
        before = st.counts(DB)["events"]
        dup_acked = new = 0
        for eid, body in sorted(sent.items()):
            status, j = post(body, timeout=20)
            eq(status, 200, "re-send %s (%r)" % (eid, j))
            if eid in acked:
                eq(j.get("duplicate"), True, "%s was acknowledged: a duplicate now" % eid)
                dup_acked += 1
            elif not j.get("duplicate"):
                new += 1
        after = st.counts(DB)["events"]
        eq(after, before + new, "only the never-stored events were added")
        eq(after, len(sent), "every event sent is stored exactly once")
        print("# re-sent %d: %d acknowledged ones all duplicates, %d stored now for the "
              "first time" % (len(sent), dup_acked, new))
    finally:
        stop_server()
    st.intact(DB, "integrity_check after re-send")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=opts["seconds"],
                    help="load per phase (default %(default)s)")
    ap.add_argument("--seed", type=int, default=None, help="seed of the kill timing")
    args = ap.parse_args()
    opts.update(seconds=args.seconds, seed=args.seed)
    try:
        st.run(dict(globals()))
    finally:
        if state["proc"] is not None:
            stop_server()
            print("# server log tail:\n" + ws.tail(LOG, 20))


if __name__ == "__main__":
    main()
