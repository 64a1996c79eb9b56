#!/usr/bin/env python3
"""Runs of the poller as cron sees them: options and exit codes, the lock
against overlapping runs, kill -9 (and SIGTERM) mid-run then a rerun,
--dry-run, --limit, the run's deadline, the progress line on a terminal,
and the run recorded for GET /v1/stats.
"""

import os
import pty
import re
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import shiptrack_test as st  # noqa: E402
import poll_test as pt  # noqa: E402

stub = pt.Stub()


def fleet(n, prefix="1ZRUN"):
    stub.reset()
    db = st.fresh_db()
    pt.bulk_orders(db, [("ord_%s%d" % (prefix, i), "%s%08d" % (prefix, i), "UPS")
                        for i in range(n)])
    return db


def wait_for(cond, what, timeout=20):
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting for " + what)
        time.sleep(0.02)


def consistent(db, n):
    """shiptrack check finds the database intact; every shipment wholly
    registered or untouched (the poller's bookkeeping, read in storage on
    purpose: a killed run must not leave half of it)."""
    st.intact(db)
    rows = st.storage_sql(db, "SELECT carrier_id IS NOT NULL, checked_at IS NOT NULL,"
                          " carrier_updated_ms IS NOT NULL, carrier_slug IS NOT NULL"
                          " FROM shipments")
    st.eq(len(rows), n, "shipments")
    for r in rows:
        st.check(r in ((0, 0, 0, 0), (1, 1, 1, 1)), "half-applied shipment: %r" % (r,))
    return sum(r[0] for r in rows)


def test_options_and_exit_codes():
    p = subprocess.run([pt.POLL, "--help"], capture_output=True, text=True)
    pt.expect_exit(p, 0, "--help")
    for opt in ("--config", "--limit", "--dry-run", "--verbose", "--version"):
        st.check(opt in p.stdout, "--help mentions " + opt)
    p = subprocess.run([pt.POLL, "--version"], capture_output=True, text=True)
    pt.expect_exit(p, 0, "--version")
    st.eq(p.stdout.strip(), "shiptrack-poll " + st.package_version(), "version")
    for args in (["--bogus"], ["extra"], ["--limit", "x"], ["--limit", "-1"], ["--limit"]):
        p = subprocess.run([pt.POLL] + args, capture_output=True, text=True,
                           env=st.base_env())
        pt.expect_exit(p, 2, " ".join(args))
        st.check("usage" in p.stderr, "usage on stderr for %r" % args)


def test_config_file():
    db = fleet(1)
    d = st.tempdir()
    conf = os.path.join(d, "shiptrack.conf")
    with open(conf, "w") as f:
        f.write("# test\ndatabase = %s\ncarrier_api_key = %s\ncarrier_api_url = %s\n"
                "poll_concurrency = 2\n" % (db, pt.KEY, stub.base()))
    e = st.base_env()
    p = subprocess.run([pt.POLL, "--config", conf], capture_output=True, text=True, env=e)
    pt.expect_exit(p, 0, "--config")
    st.check("1 registered" in pt.summary(p), pt.summary(p))
    with open(conf, "a") as f:
        f.write("poll_speed = 11\n")
    p = subprocess.run([pt.POLL, "--config", conf], capture_output=True, text=True, env=e)
    pt.expect_exit(p, 2, "unknown key")
    st.check("poll_speed" in p.stderr and ":6:" in p.stderr, p.stderr)


def test_overlapping_runs():
    db = fleet(8)
    stub.faults(slow_ms=400)
    a = pt.start_poll(db, stub)
    try:
        wait_for(lambda: len(stub.api_log()) > 0 or a.poll() is not None, "run A")
        if st.BACKEND == "sqlite":  # PostgreSQL: an advisory lock, no file
            st.check(os.path.exists(db + ".poll.lock"), "lock file next to the database")
        p = pt.poll(db, stub)
        pt.expect_exit(p, 0, "second run")
        st.check("another run is in progress" in p.stdout, p.stdout)
        # The probe (check, /v1/stats, /v1/metrics) sees run A and its pid.
        c = st.run_cli(["check"], db=db)
        st.check(re.search(r"poll +running since .*pid %d\)" % a.pid, c.stdout),
                 "check sees run A: " + c.stdout[-400:])
        out, err = a.communicate(timeout=60)
    finally:
        if a.poll() is None:
            a.kill()
            a.wait()
    st.eq(a.returncode, 0, "run A: " + err[-500:])
    st.check("8 registered" in out, out)
    st.eq(len(pt.requests_of(stub.api_log(), "POST")), 8, "each registered once")


def killed_mid_run(sig, n=30):
    db = fleet(n, "1ZKILL")
    stub.faults(slow_ms=150)
    proc = pt.start_poll(db, stub)
    wait_for(lambda: sum(1 for r in st.export_rows(db) if r["checked_at"]) >= 5,
             "some progress")
    os.kill(proc.pid, sig)
    out, err = proc.communicate(timeout=30)
    done = consistent(db, n)
    st.check(0 < done < n, "killed mid-run: %d of %d registered" % (done, n))
    return db, proc, out, done


def test_kill_9_mid_run_then_rerun():
    n = 30
    db, proc, out, done = killed_mid_run(signal.SIGKILL, n)
    st.eq(proc.returncode, -signal.SIGKILL, "killed")
    stub.faults(reset=True)
    p = pt.poll(db, stub)  # the lock died with the process
    pt.expect_exit(p, 0, "rerun")
    st.eq(consistent(db, n), n, "all registered after the rerun")
    remote = stub.trackings()
    st.eq(len(remote), n, "no tracking created twice at AfterShip")
    by_number = {t["tracking_number"]: t["id"] for t in remote}
    # Which AfterShip id each shipment holds: the poller's bookkeeping, read
    # in storage on purpose.
    for number, cid in st.storage_sql(db, "SELECT tracking_number, carrier_id FROM shipments"):
        st.eq(cid, by_number[number], number + " linked to its tracking")
    # What the killed run created but never recorded is found again (4003).
    st.check(len(pt.requests_of(stub.api_log(), "POST")) >= n, "creates")


def test_sigterm_stops_cleanly():
    db, proc, out, done = killed_mid_run(signal.SIGTERM)
    st.eq(proc.returncode, 1, "interrupted run exits 1")
    st.check("interrupted" in out, out)
    st.eq(st.stats(db)["lastPoll"]["result"], "interrupted", "recorded")


def test_dry_run_changes_nothing():
    db = fleet(3, "1ZDRY")
    pt.order(db, "ord_dry_known", "1Z999AA10123456784")
    pt.expect_exit(pt.poll(db, stub, "--limit", "1"), 0)   # registers the first one
    # One more new shipment, and a change for the registered one.
    stub.advance(tracking_number="1ZDRY00000000", tag="InTransit", message="Moving",
                 updated_at=int(time.time()) + 5)
    # "Changes nothing" is a promise about storage (the schedule and AfterShip
    # ids included): read there, on purpose.
    before = st.storage_dump(db)
    stub.clear_log()
    p = pt.poll(db, stub, "--dry-run")
    pt.expect_exit(p, 0, "dry run")
    s = pt.summary(p)
    st.check("dry run" in s and "3 would be registered" in s and "1 updated" in s, s)
    st.eq(pt.requests_of(stub.api_log(), "POST"), [], "no create")
    st.eq(st.storage_dump(db), before, "database untouched")


def test_limit():
    db = fleet(5, "1ZLIM")
    p = pt.poll(db, stub, "--limit", "2")
    pt.expect_exit(p, 0)
    st.check("2 registered" in pt.summary(p), pt.summary(p))
    p = pt.poll(db, stub, "--limit", "0")
    pt.expect_exit(p, 0)
    st.check("0 registered" in pt.summary(p), pt.summary(p))
    p = pt.poll(db, stub)
    st.check("3 registered" in pt.summary(p), pt.summary(p))


def test_deadline_leaves_the_rest_for_the_next_run():
    db = fleet(40, "1ZLATE")
    env = {"SHIPTRACK_POLL_INTERVAL": "10", "SHIPTRACK_CARRIER_RATE_CREATE": "2"}
    t0 = time.monotonic()
    p = pt.poll(db, stub, env=env)
    took = time.monotonic() - t0
    pt.expect_exit(p, 0, "deadline")
    got = int(re.search(r"(\d+) registered", pt.summary(p)).group(1))
    st.check(12 <= got <= 25 and 9 < took < 15, "%d registered in %.1f s" % (got, took))


def test_progress_line_on_a_terminal():
    db = fleet(6, "1ZTTY")
    stub.faults(slow_ms=300)
    master, slave = pty.openpty()
    proc = subprocess.Popen([pt.POLL], env=pt.poll_env(db, stub), stdout=subprocess.PIPE,
                            stderr=slave, text=True)
    os.close(slave)
    chunks = []
    while True:
        try:
            b = os.read(master, 4096)
        except OSError:
            break
        if not b:
            break
        chunks.append(b)
    out = proc.communicate(timeout=30)[0]
    os.close(master)
    tty = b"".join(chunks).decode()
    st.eq(proc.returncode, 0, "exit")
    st.check("\r\x1b[Kshiptrack-poll:" in tty and "registered" in tty, repr(tty[:300]))
    st.check(tty.endswith("\r\x1b[K"), "progress line cleared")
    st.check("6 registered" in out, out)


def test_run_recorded_for_stats():
    db = fleet(2, "1ZSTAT")
    pt.expect_exit(pt.poll(db, stub), 0)
    a = st.api(db, "/v1/stats")
    st.eq(a.status, 200, "stats")
    last = a.json()["lastPoll"]
    st.eq(last["result"], "ok", "result")
    st.eq(last["registered"], "2", "registered")
    st.check(last["startedAt"] <= last["finishedAt"], "times")
    st.check("list_sync_ms" not in str(last), "the cursor is not shown")


st.run()
