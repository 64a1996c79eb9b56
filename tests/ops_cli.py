#!/usr/bin/env python3
"""The operator's command line for operations.

`shiptrack stats --json` prints the very bytes GET /v1/stats answers on the
same database, and the human form names every count.  A run lock held by
another process (this test takes flock(2) on "<db>.poll.lock" and writes
"<pid> <start ms>", as a run does) is reported by `shiptrack check`,
/v1/stats, `shiptrack stats` and /v1/metrics, and a lock held longer than
3 x poll_interval is "stuck": check then exits 1.  `shiptrack replay` and
`shiptrack migrate` on a database with thousands of events print one
summary line when stderr is not a terminal, and progress lines on a
pseudo-terminal.
"""
import fcntl
import itertools
import json
import os
import pty
import re
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import shiptrack_test as st  # noqa: E402
import promparse  # noqa: E402
from shiptrack_test import check, eq  # noqa: E402

TMP = st.tempdir("shiptrack-ops-")
FAST = {"SHIPTRACK_DURABILITY": "normal"}
EVENTS = 3000


# About SQLite's own storage (tests/pg_backend.py): these stand in for a
# run by holding its lock file, or build a SQLite file of an old release.
# PostgreSQL's run locks and their probe: tests/poll_runs.py.
SQLITE_ONLY = {
    "test_stuck_poll_lock_is_reported_everywhere": "holds the lock file",
    "test_running_lock_is_not_stuck": "holds the lock file",
    "test_stuck_means_three_poll_intervals": "holds the lock file",
    "test_migrate_summary_and_progress": "a SQLite file of schema 3",
}

def populated_db():
    db = st.fresh_db(TMP)
    for i, stage in enumerate(("ORDER_PLACED", "ORDER_SUBMISSION_STARTED", "ORDER_FAILED")):
        eq(st.post(db, st.event(stage, "ord_ops_%d" % i, st.iso(i)), env=FAST).status, 200, stage)
    eq(st.post(db, st.tracking("ord_ops_0", "1ZOPS0000001", "UPS"), env=FAST).status, 200, "ship")
    eq(st.post(db, b"{no", env=FAST).status, 400, "a rejected delivery")
    # What a poll run leaves, written in storage on purpose (fixed times).
    for k, v in (("poll.startedAt", "2025-03-01T10:00:00Z"),
                 ("poll.finishedAt", "2025-03-01T10:00:05Z"), ("poll.result", "ok"),
                 ("poll_ok.finishedAt", "2025-03-01T10:00:05Z")):
        st.storage_sql(db, "INSERT INTO meta(key, value) VALUES (?, ?)", (k, v))
    return db


def hold_lock(db, name, started_ms, pid=None):
    """Hold "<db>.<name>.lock" as a running cron run would; close to let go."""
    f = open("%s.%s.lock" % (db, name), "w")
    fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
    f.write("%d %d\n" % (pid or os.getpid(), started_ms))
    f.flush()
    return f


def now_ms():
    return int(time.time() * 1000)


def iso_ms(ms):
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ms // 1000)) + \
        (".%03dZ" % (ms % 1000) if ms % 1000 else "Z")


# --- stats ------------------------------------------------------------------

def test_stats_json_is_the_api_body():
    db = populated_db()
    p = st.run_cli(["stats", "--json"], db=db)
    eq(p.returncode, 0, "stats --json (%s)" % p.stderr)
    a = st.api(db, "/v1/stats")
    eq(a.status, 200, "/v1/stats")
    eq(p.stdout, a.body.decode("utf-8") + "\n", "the same bytes, and a newline")
    s = json.loads(p.stdout)
    eq(s["events"], 4, "events")
    eq(s["rejectedDeliveries"], 1, "rejected")
    eq(s["lastSuccessfulPoll"], "2025-03-01T10:00:05Z", "last successful poll")
    eq(s["locks"]["poll"], {"held": False, "since": None, "ageSeconds": None, "pid": None,
                            "stuck": False, "error": None}, "poll lock free")


def leaves(obj, path=()):
    for k, v in obj.items():
        if isinstance(v, dict) and "held" not in v:
            yield from leaves(v, path + (k,))
        else:
            yield path + (k,), v


def test_stats_human_names_every_count():
    db = populated_db()
    p = st.run_cli(["stats"], db=db)
    eq(p.returncode, 0, "stats (%s)" % p.stderr)
    s = json.loads(st.run_cli(["stats", "--json"], db=db).stdout)
    lines = p.stdout.splitlines()
    column = None
    for path, v in leaves(s):
        indent = "  " * (len(path) - 1)
        if isinstance(v, dict):
            want = "not running"
        elif v is None:
            want = "-"
        else:
            want = str(v)
        m = [l for l in lines if re.match(r"%s%s +%s$" % (re.escape(indent), re.escape(path[-1]),
                                                          re.escape(want)), l)]
        check(len(m) == 1, "a line for %s = %r in:\n%s" % (".".join(path), want, p.stdout))
        col = len(m[0]) - len(want)
        check(column in (None, col), "values aligned: %r" % m[0])
        column = col
    for group in ("status:", "stage:", "notifications:", "locks:"):
        check(group in lines, "group heading %s" % group)


def test_stats_usage():
    p = st.run_cli(["stats", "--yaml"], db=st.fresh_db(TMP))
    eq(p.returncode, 2, "unknown option: usage error")
    check("usage: shiptrack stats [--json]" in p.stderr, p.stderr)


# --- run locks --------------------------------------------------------------

def lock_reports(db, env=None):
    check_p = st.run_cli(["check"], db=db, env=env)
    stats = st.api(db, "/v1/stats", env=env).json()
    human = st.run_cli(["stats"], db=db, env=env).stdout
    m = promparse.parse(st.api(db, "/v1/metrics", env=env).body.decode())
    return check_p, stats, human, m


def test_stuck_poll_lock_is_reported_everywhere():
    db = populated_db()
    started = now_ms() - 4000 * 1000      # 4000 s > 3 x poll_interval (900 s)
    with hold_lock(db, "poll", started, pid=424242):
        p, s, human, m = lock_reports(db)
    eq(p.returncode, 1, "check fails on a stuck run (%s)" % p.stdout)
    line = [l for l in p.stdout.splitlines() if l.lstrip().startswith("poll ")]
    eq(len(line), 1, "one line for the poll lock: %s" % p.stdout)
    check(re.search(r"STUCK: running since %s \(\d+ s, pid 424242\): longer than 3 x "
                    r"poll_interval \(900 s\)" % re.escape(iso_ms(started)), line[0]),
          "check says so: %r" % line[0])
    check(re.search(r"^  notify +not running$", p.stdout, re.M), "notify free: %s" % p.stdout)
    lock = s["locks"]["poll"]
    eq((lock["held"], lock["since"], lock["pid"], lock["stuck"], lock["error"]),
       (True, iso_ms(started), 424242, True, None), "/v1/stats")
    check(lock["ageSeconds"] >= 4000, "age %r" % lock["ageSeconds"])
    check(re.search(r"^  poll +STUCK: running since %s" % re.escape(iso_ms(started)),
                    human, re.M), "stats says so:\n%s" % human)
    eq(m["shiptrack_run_lock_stuck"].value(lock="poll"), 1, "metrics: stuck")
    eq(m["shiptrack_run_lock_held"].value(lock="poll"), 1, "metrics: held")
    check(m["shiptrack_run_lock_age_seconds"].value(lock="poll") >= 4000, "metrics: age")
    eq(m["shiptrack_run_lock_stuck"].value(lock="notify"), 0, "notify not stuck")
    # Let go: all clear again.
    p, s, human, m = lock_reports(db)
    eq(p.returncode, 0, "check passes (%s)" % p.stdout)
    eq(s["locks"]["poll"]["held"], False, "free")
    eq(m["shiptrack_run_lock_held"].value(lock="poll"), 0, "metrics: free")


def test_running_lock_is_not_stuck():
    db = populated_db()
    started = now_ms() - 60 * 1000
    with hold_lock(db, "notify", started):
        p, s, human, m = lock_reports(db)
    eq(p.returncode, 0, "a run in progress is fine (%s)" % p.stdout)
    check(re.search(r"^  notify +running since %s \(\d+ s, pid %d\)$" % (
        re.escape(iso_ms(started)), os.getpid()), p.stdout, re.M), p.stdout)
    eq((s["locks"]["notify"]["held"], s["locks"]["notify"]["stuck"]), (True, False), "stats")
    check(60 <= s["locks"]["notify"]["ageSeconds"] < 4000, "age")
    eq(m["shiptrack_run_lock_held"].value(lock="notify"), 1, "metrics: held")


def test_stuck_means_three_poll_intervals():
    db = populated_db()
    started = now_ms() - 400 * 1000
    with hold_lock(db, "poll", started):
        short = lock_reports(db, env={"SHIPTRACK_POLL_INTERVAL": "100"})
        default = lock_reports(db)
    eq(short[0].returncode, 1, "400 s > 3 x 100 s: stuck")
    eq(short[1]["locks"]["poll"]["stuck"], True, "stats: stuck")
    eq(default[0].returncode, 0, "400 s < 3 x 900 s: running")
    eq(default[1]["locks"]["poll"]["stuck"], False, "stats: running")


# --- progress ---------------------------------------------------------------

def big_db(schema=None):
    """EVENTS events (one order each), written as the receiver writes them;
    schema=3: in a database built from sql/001..003 alone (the release
    before metrics), as a database of that release would be.  Written in
    storage on purpose: 3000 webhooks would take long, and an old schema
    cannot be had otherwise."""
    if schema == 3:
        db = os.path.join(TMP, "schema3-%d.db" % next(_serial))
        conn = st.storage_connect(db)
        for name in ("001_init.sql", "002_poll.sql", "003_notifications.sql"):
            with open(os.path.join(st.TOP_SRCDIR, "sql", "sqlite", name)) as f:
                conn.executescript(f.read())
        conn.execute("PRAGMA user_version = 3")
    else:
        db = st.fresh_db(TMP)
        conn = None
    rows = [("evt_big_%05d" % i, "ord_big_%05d" % i, st.iso(0), st.iso(0),
             st.event("ORDER_PLACED", "ord_big_%05d" % i, st.iso(0), "evt_big_%05d" % i))
            for i in range(EVENTS)]
    sql = ("INSERT INTO events(id, scheme, type, order_id, created_at, created_ms,"
           " marketplace, received_at, body) VALUES (?, 'rye1', 'ORDER_PLACED',"
           " ?, ?, 0, 'shopify', ?, ?)")
    if conn is None:
        st.storage_many(db, sql, rows)
        return db
    conn.execute("BEGIN")
    conn.executemany(sql, rows)
    conn.execute("COMMIT")
    conn.close()
    return db


_serial = itertools.count(1)


def on_pty(args, db):
    """Run the CLI with stderr on a pseudo-terminal: (rc, stdout, terminal bytes)."""
    master, slave = pty.openpty()
    e = st.base_env({"SHIPTRACK_DATABASE": db})
    proc = subprocess.Popen([st.CLI] + args, env=e, stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=slave)
    os.close(slave)
    seen = b""
    while True:
        try:
            d = os.read(master, 4096)
        except OSError:     # EIO: the program closed the terminal
            break
        if not d:
            break
        seen += d
    out = proc.stdout.read().decode()
    proc.wait(60)
    proc.stdout.close()
    os.close(master)
    return proc.returncode, out, seen


def test_replay_summary_without_a_terminal():
    db = big_db()
    p = st.run_cli(["replay"], db=db, timeout=300)
    eq(p.returncode, 0, "replay (%s)" % p.stderr)
    eq(p.stderr, "", "nothing on stderr")
    check(re.fullmatch(r"replayed %d events into %d orders \(0 could not be parsed\) in "
                       r"\d+\.\d s\n" % (EVENTS, EVENTS), p.stdout), "one line: %r" % p.stdout)


def test_replay_progress_on_a_terminal():
    rc, out, seen = on_pty(["replay"], big_db())
    eq(rc, 0, "replay")
    check(re.fullmatch(r"replayed %d events .* s\n" % EVENTS, out), "summary: %r" % out)
    shown = re.findall(rb"\r\x1b\[Kshiptrack replay: (\d+) of %d events" % EVENTS, seen)
    check(len(shown) >= 1, "progress lines on the terminal: %r" % seen[:300])
    check(int(shown[-1]) <= EVENTS, "counts within the total")
    check(seen.endswith(b"\r\x1b[K"), "the line is erased at the end: %r" % seen[-40:])


def migration_count():
    """How many migrations this build carries (sql/migrations.c)."""
    with open(os.path.join(st.TOP_BUILDDIR, "sql", "migrations.c")) as f:
        return int(re.search(r"shiptrack_migration_count = (\d+);", f.read()).group(1))


def test_migrate_summary_and_progress():
    n = migration_count()
    todo = "%d migration%s" % (n - 3, "" if n - 3 == 1 else "s")
    db = big_db(schema=3)
    p = st.run_cli(["migrate"], db=db, timeout=300)
    eq(p.returncode, 0, "migrate (%s)" % p.stderr)
    eq(p.stderr.count("\n"), 1, "one log line on stderr: %r" % p.stderr)
    check("database migrated from schema 3 to %d" % n in p.stderr, p.stderr)
    check(re.fullmatch(r"database \S+ at schema version %d; %s applied in \d+\.\d s\n"
                       % (n, todo), p.stdout), "one summary line: %r" % p.stdout)
    db = big_db(schema=3)
    rc, out, seen = on_pty(["migrate"], db)
    eq(rc, 0, "migrate on a terminal")
    check(b"\r\x1b[Kshiptrack migrate: schema 3 to %d: migration 1 of %d" % (n, n - 3) in seen,
          "progress on the terminal: %r" % seen[:300])
    check(re.fullmatch(r"database \S+ at schema version %d; %s applied in .* s\n" % (n, todo),
                       out), "summary: %r" % out)
    p = st.run_cli(["migrate"], db=db)
    check(p.stdout.endswith("at schema version %d; 0 migrations applied in 0.0 s\n" % n),
          "nothing to do: %r" % p.stdout)

if __name__ == "__main__":
    st.run()
