#!/usr/bin/env python3
"""tests/pgserver.py, the private PostgreSQL of the tests and the bench:
it starts from Debian's binaries as an unprivileged account (as root), on
127.0.0.1 and a private socket only, with fsync as asked; the owner's URI
works with its password and is refused without it (and the superuser is
refused over TCP altogether); parameters reach the server as values, never
as SQL; a script stops at its first error; and stopping it, by stop(), at
the exit of its process, on SIGTERM or after a failure, leaves no process
and no directory behind (unless it is to be kept).
"""
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import textwrap

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import shiptrack_test as st  # noqa: E402
import pgserver  # noqa: E402
from shiptrack_test import check, eq  # noqa: E402

PG = pgserver.start()


def as_owner(uri, sql, extra_env=None):
    """psql as the owner role through uri (TCP, password auth): CompletedProcess."""
    env = {"PATH": "/usr/bin:/bin", "PGPASSFILE": pgserver.NO_PASSFILE, "PGCONNECT_TIMEOUT": "10"}
    env.update(extra_env or {})
    return subprocess.run([pgserver._tool("psql"), "-X", "-w", "-A", "-t", "-d", uri,
                           "-c", sql], capture_output=True, text=True, env=env, timeout=60)


def children(pid):
    """Pids whose parent is pid."""
    out = []
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                with open("/proc/%s/stat" % d) as f:
                    stat = f.read()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                out.append(int(d))
    return out


def alive(pid):
    return os.path.exists("/proc/%d" % pid)


def refuses(port):
    s = socket.socket()
    try:
        s.settimeout(5)
        return s.connect_ex(("127.0.0.1", port)) != 0
    finally:
        s.close()


def uid_of(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("Uid:"):
                return int(line.split()[1])
    raise AssertionError("no Uid line for %d" % pid)


# --- a server ---------------------------------------------------------------------

def test_it_is_debians_newest_server():
    version = PG.query("SELECT current_setting('server_version_num')")[0][0]
    major = int(version) // 10000
    eq(os.path.basename(os.path.dirname(pgserver.bindir())), str(major), "bin directory")
    check(pgserver.bindir().startswith("/usr/lib/postgresql/"), pgserver.bindir())


def test_runs_unprivileged_in_a_private_directory():
    """As root: Debian's postgres account runs it and owns its directory
    (mode 0700); otherwise we do."""
    want = pwd.getpwnam(pgserver.SERVER_ACCOUNT).pw_uid if os.geteuid() == 0 else os.geteuid()
    eq(uid_of(PG.pid), want, "the server's uid")
    for d in (PG.directory, PG.datadir, PG.socket_dir):
        s = os.stat(d)
        eq(s.st_uid, want, "owner of %s" % d)
        eq(s.st_mode & 0o777, 0o700, "mode of %s" % d)


def test_listens_on_loopback_and_its_own_socket_only():
    eq(PG.query("SELECT current_setting('listen_addresses')"), [("127.0.0.1",)], "listen_addresses")
    eq(PG.query("SELECT current_setting('unix_socket_directories')"), [(PG.socket_dir,)], "socket directory")
    check(os.path.exists(os.path.join(PG.socket_dir, ".s.PGSQL.%d" % PG.port)),
          "the socket is in the private directory")
    check(PG.uri.startswith("postgresql://shiptrack:%s@127.0.0.1:%d/shiptrack"
                            % (PG.password, PG.port)), PG.uri)


def test_fsync_on_by_default_and_off_when_asked():
    eq(PG.query("SELECT current_setting('fsync')"), [("on",)], "fsync by default")
    fast = pgserver.start(fsync=False)
    try:
        eq(fast.query("SELECT current_setting('fsync')"), [("off",)], "fsync=False")
    finally:
        fast.stop()


def test_owner_connects_with_the_password_over_tcp():
    p = as_owner(PG.uri, "SELECT current_user || ' ' || inet_server_addr()::text"
                 " || ' ' || current_database()")
    eq(p.returncode, 0, "psql with the URI: %s" % p.stderr)
    eq(p.stdout.strip(), "shiptrack 127.0.0.1/32 shiptrack", "who, where")
    eq(PG.query("SELECT rolpassword LIKE 'SCRAM-SHA-256$%' FROM pg_authid"
                " WHERE rolname = :'p1'", [PG.owner]), [("t",)], "stored as a SCRAM verifier")
    eq(PG.query("SELECT datdba::regrole::text FROM pg_database WHERE datname = :'p1'",
                [PG.database]), [("shiptrack",)], "the owner owns the database")


def test_refused_without_the_password():
    p = as_owner(PG.uri_without_password, "SELECT 1")
    check(p.returncode != 0, "no password: %r" % p.stdout)
    check("no password supplied" in p.stderr, p.stderr)
    wrong = PG.uri.replace(PG.password, "not-" + PG.password)
    p = as_owner(wrong, "SELECT 1")
    check(p.returncode != 0, "wrong password: %r" % p.stdout)
    check("password authentication failed" in p.stderr, p.stderr)
    # The superuser is let in by the private socket only.
    p = as_owner("postgresql://postgres@127.0.0.1:%d/postgres" % PG.port, "SELECT 1",
                 {"PGPASSWORD": ""})
    check(p.returncode != 0, "superuser over TCP: %r" % p.stdout)


def test_any_password_goes_into_the_uri():
    """Characters a URI reserves are percent-encoded in it."""
    odd = pgserver.PgServer(password="p@ss/w:rd?%#&'\"\\ é")
    odd.port, odd.host, odd.database = PG.port, PG.host, PG.database
    PG.run_sql("CREATE ROLE odd LOGIN PASSWORD :'p1'", [odd.password], database="postgres")
    PG.run_sql("GRANT CONNECT ON DATABASE shiptrack TO odd")
    odd.owner = "odd"
    p = as_owner(odd.uri, "SELECT current_user")
    eq((p.returncode, p.stdout.strip()), (0, "odd"), "odd password: %s" % p.stderr)


def test_values_reach_the_server_as_values():
    PG.run_sql("CREATE TABLE vals (n int, t text, b bytea)")
    nasty = ["it's", 'a "quoted" \\ back\\slash', "line\nbreak\r\n\ttab", "",
             "é ☃ 𝄞", ":'p2' :\"p1\" :p3", "'); DROP TABLE vals; --", "\\x41", "\\N",
             "x" * 300000]
    blob = bytes(range(256)) * 3
    for i, v in enumerate(nasty):
        PG.run_sql("INSERT INTO vals VALUES (:'p1', :'p2', :'p3')", [i, v, blob])
    PG.run_sql("INSERT INTO vals VALUES (:'p1', :'p2', :'p3')", [99, None, None])
    rows = PG.query("SELECT n, t, b FROM vals WHERE n <> :'p1' ORDER BY n", [99])
    eq([r[1] for r in rows], nasty, "text values")
    eq({r[2] for r in rows}, {"\\x" + blob.hex()}, "bytea values")
    eq(PG.query("SELECT t, b, t IS NULL FROM vals WHERE n = 99"), [(None, None, "t")],
       "None is NULL")
    eq(PG.query("SELECT count(*) FROM vals WHERE t = :'p1'", [""]), [("1",)],
       "'' is not NULL")


def test_a_script_stops_at_its_first_error():
    try:
        PG.run_sql("CREATE TABLE first_one (x int); SELECT 1/0; CREATE TABLE never (x int);")
    except RuntimeError as e:
        check("division by zero" in str(e), str(e))
    else:
        raise AssertionError("the error was not raised")
    eq(PG.query("SELECT to_regclass('first_one') IS NOT NULL, to_regclass('never') IS NULL"),
       [("t", "t")], "stopped after the error")


def test_create_database_from_a_template():
    PG.create_database("tpl")
    PG.run_sql("CREATE TABLE kept (x text); INSERT INTO kept VALUES ('a')", database="tpl",
               as_owner=True)
    uri = PG.create_database("copy1", template="tpl")
    eq(uri, PG.uri_for("copy1"), "uri")
    p = as_owner(uri, "SELECT x FROM kept")
    eq((p.returncode, p.stdout.strip()), (0, "a"), "the copy has the template's rows: "
       + p.stderr)
    PG.drop_database("copy1")
    eq(PG.query("SELECT count(*) FROM pg_database WHERE datname = 'copy1'"), [("0",)], "dropped")


def test_a_kept_cluster_survives_its_stop_and_starts_again():
    """keep=DIR: stop leaves DIR; a new server on it has the old rows, and
    the owner connects with the new run's password only."""
    parent = tempfile.mkdtemp(prefix="shiptrack-pg-kept-", dir="/var/tmp")
    os.chmod(parent, 0o755)
    try:
        kept = os.path.join(parent, "cluster")
        pg = pgserver.start(fsync=False, keep=kept)
        eq(pg.directory, kept, "the kept directory is the server's")
        pg.run_sql("CREATE TABLE kept (x text); INSERT INTO kept VALUES ('a')", as_owner=True)
        first, pid = pg.uri, pg.pid
        pg.stop()
        check(not alive(pid), "server %d is gone" % pid)
        check(os.path.exists(os.path.join(kept, "data", "PG_VERSION")), "the cluster is kept")
        again = pgserver.start(fsync=False, keep=kept)
        try:
            p = as_owner(again.uri, "SELECT x FROM kept")
            eq((p.returncode, p.stdout.strip()), (0, "a"), "the rows are there: " + p.stderr)
            p = as_owner(first.replace(":%d/" % pg.port, ":%d/" % again.port), "SELECT 1")
            check(p.returncode != 0 and "password authentication failed" in p.stderr,
                  "the old password no longer works: %r %r" % (p.stdout, p.stderr))
        finally:
            again.stop()
        check(os.path.isdir(kept), "still kept")
    finally:
        shutil.rmtree(parent)


# --- stopping ---------------------------------------------------------------------

def test_stop_leaves_no_process_and_no_directory():
    pg = pgserver.start(fsync=False)
    pid, port, directory = pg.pid, pg.port, pg.directory
    kids = children(pid)
    check(len(kids) >= 3, "the server's own processes: %r" % kids)
    pg.stop()
    check(not alive(pid), "server %d is gone" % pid)
    eq([k for k in kids if alive(k)], [], "its processes are gone")
    check(not os.path.exists(directory), "%s is gone" % directory)
    check(refuses(port), "port %d refuses" % port)
    pg.stop()       # twice is fine


CHILD = textwrap.dedent("""
    import os, sys, time
    sys.path.insert(0, %r)
    import pgserver
    pg = pgserver.start(fsync=False)
    print(pg.pid, pg.port, pg.directory, flush=True)
    how = sys.argv[1]
    if how == "fail":
        raise RuntimeError("a test failing")
    if how == "wait":
        time.sleep(300)
""") % os.path.dirname(os.path.abspath(__file__))


def run_child(how):
    """A process that starts a server and then exits, fails or waits to be
    signalled: (its Popen, server pid, port, directory)."""
    p = subprocess.Popen([sys.executable, "-c", CHILD, how], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
    line = p.stdout.readline().split()
    check(len(line) == 3, "child said %r (%s)" % (line, p.stderr.read() if p.poll() else ""))
    return p, int(line[0]), int(line[1]), line[2]


def gone(pid, port, directory, what):
    check(not alive(pid), "%s: server %d is gone" % (what, pid))
    check(not os.path.exists(directory), "%s: %s is gone" % (what, directory))
    check(refuses(port), "%s: port %d refuses" % (what, port))


def test_the_exit_of_its_process_stops_it():
    p, pid, port, directory = run_child("exit")
    eq(p.wait(60), 0, "child's status")
    gone(pid, port, directory, "exit")


def test_a_failing_process_stops_it():
    p, pid, port, directory = run_child("fail")
    eq(p.wait(60), 1, "child's status")
    check("a test failing" in p.stderr.read(), "the failure is reported")
    gone(pid, port, directory, "failure")


def test_sigterm_stops_it_and_still_ends_the_process():
    p, pid, port, directory = run_child("wait")
    check(alive(pid), "running before the signal")
    p.send_signal(signal.SIGTERM)
    eq(p.wait(90), -signal.SIGTERM, "the child ends by SIGTERM")
    gone(pid, port, directory, "SIGTERM")


if __name__ == "__main__":
    st.run()
