#!/usr/bin/env python3
"""Who may read the database and the configuration, and what the programs
say when they may not.

- A database shiptrack creates is 0600 whatever the umask, and SQLite's
  -wal and -shm files beside it follow the database file's mode: 0600, or
  0640 once the operator has made the database 0640 for a group.  Seen
  while a real webhook.fcgi (FastCGI, tests/fcgi_client.py) holds them.
- `shiptrack check` warns (exit status unchanged) about a configuration
  file that sets a credential and is readable by its group or everyone.
- A database that cannot be opened, created or read (a read-only
  directory, a parent that is a regular file, a file that is no database)
  is reported with SQLite's own error and the path, never as "schema -1
  ... run shiptrack migrate".  Tests run as root, whom directory
  permissions do not stop, so the read-only directory is tried as the
  user "nobody" when root (as ourselves, after chmod 0555, otherwise).
"""
import os
import pwd
import re
import stat
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import shiptrack_test as st  # noqa: E402
import fcgi_client as fc  # noqa: E402
from shiptrack_test import check, eq  # noqa: E402

TMP = st.tempdir("shiptrack-perm-")
os.chmod(TMP, 0o755)        # "nobody" must reach the read-only directory below
_dirs = iter(range(1, 1000))


def subdir():
    d = os.path.join(TMP, "d%d" % next(_dirs))
    os.mkdir(d)
    return d


def mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


def with_umask(mask, fn):
    """fn() with the process umask set to mask (inherited by the programs)."""
    old = os.umask(mask)
    try:
        return fn()
    finally:
        os.umask(old)


def receiver_modes(db):
    """Start webhook.fcgi on db, store one event, and return the modes of
    the database, -wal and -shm while it holds them open."""
    d = os.path.dirname(db)
    r = fc.Receiver(st.WEBHOOK, st.base_env(st.webhook_env(db)), d)
    try:
        body = st.event("ORDER_PLACED", "ord_perm", st.iso(0))
        out = r.request(fc.webhook_params(body), body)
        check(out is not None and out.startswith(b"Status: 200"),
              "webhook stored: %r" % (out or b"")[:200])
        return {s: mode(db + s) for s in ("", "-wal", "-shm")}
    finally:
        r.stop()


# --- file modes ---------------------------------------------------------------

def test_new_database_wal_and_shm_are_0600_whatever_the_umask():
    for mask in (0o022, 0o002, 0o000):
        db = os.path.join(subdir(), "new.db")
        got = with_umask(mask, lambda: receiver_modes(db))
        eq(got, {"": 0o600, "-wal": 0o600, "-shm": 0o600},
           "umask %03o: modes of the database, -wal, -shm" % mask)
        db = os.path.join(subdir(), "migrated.db")
        p = with_umask(mask, lambda: st.run_cli(["migrate"], db=db))
        eq(p.returncode, 0, "migrate: %s" % p.stderr)
        eq(mode(db), 0o600, "umask %03o: database made by shiptrack migrate" % mask)


def test_an_existing_database_keeps_its_mode_and_wal_shm_follow_it():
    """The documented way to let a group read: chmod 0640 once."""
    db = os.path.join(subdir(), "group.db")
    eq(st.run_cli(["migrate"], db=db).returncode, 0, "migrate")
    os.chmod(db, 0o640)
    got = with_umask(0o077, lambda: receiver_modes(db))
    eq(got, {"": 0o640, "-wal": 0o640, "-shm": 0o640}, "modes after chmod 0640")


# --- shiptrack check and the configuration file's mode ------------------------

def run_check(conf_text, file_mode):
    d = subdir()
    conf = os.path.join(d, "shiptrack.conf")
    with open(conf, "w") as f:
        f.write("database = %s\n" % os.path.join(d, "x.db") + conf_text)
    os.chmod(conf, file_mode)
    p = st.run_cli(["check"], env={"SHIPTRACK_CONFIG": conf})
    eq(p.returncode, 0, "check exit status with mode %04o (%r %r)" %
       (file_mode, p.stdout, p.stderr))
    return conf, p


def test_check_warns_about_a_config_with_secrets_others_can_read():
    secrets = "api_token = %s\nwebhook_secret = %s\n" % (st.API_TOKEN, st.SECRET)
    for file_mode, who in ((0o644, "everyone"), (0o604, "everyone"), (0o640, "its group")):
        conf, p = run_check(secrets, file_mode)
        warnings = [l for l in p.stdout.splitlines() if l.startswith("warning:")]
        eq(len(warnings), 1, "one warning at %04o: %r" % (file_mode, p.stdout))
        w = warnings[0]
        check(conf in w and "readable by " + who in w and "%04o" % file_mode in w
              and "chmod 600" in w, "warning names file, who, mode, fix: %r" % w)
        check(st.API_TOKEN not in p.stdout + p.stderr and st.SECRET not in p.stdout,
              "no secret printed")
    for text, file_mode, what in ((secrets, 0o600, "0600 with secrets"),
                                  (secrets, 0o400, "0400 with secrets"),
                                  ("max_body = 1000\n", 0o644, "0644 without secrets")):
        conf, p = run_check(text, file_mode)
        check("warning" not in p.stdout + p.stderr, "%s: no warning: %r" % (what, p.stdout))


# --- errors opening the database ------------------------------------------------

MISLEADING = re.compile(r"schema -1|shiptrack migrate")


def as_unprivileged():
    """preexec_fn: drop to "nobody" when root (directory modes bind then)."""
    if os.geteuid() == 0:
        pw = pwd.getpwnam("nobody")
        os.setgroups([])
        os.setgid(pw.pw_gid)
        os.setuid(pw.pw_uid)


def run_as(program, args, env):
    return subprocess.run([program] + args, env=st.base_env(env), capture_output=True,
                          text=True, timeout=60, preexec_fn=as_unprivileged)


def api_health(db):
    """GET /v1/health as CGI, unprivileged: (status line, stderr)."""
    p = run_as(st.API, [], {"SHIPTRACK_DATABASE": db, "REQUEST_METHOD": "GET",
                            "PATH_INFO": "/v1/health", "GATEWAY_INTERFACE": "CGI/1.1"})
    eq(p.returncode, 0, "api.fcgi exit status (%r)" % p.stderr)
    return p.stdout.splitlines()[0], p.stderr


def says_sqlites_error(err, path, sqlite_msg, what):
    check(path in err and sqlite_msg in err,
          "%s: %r names the path and SQLite's %r" % (what, err, sqlite_msg))
    check(MISLEADING.search(err) is None, "%s: still the schema hint: %r" % (what, err))


def read_only_dir():
    """A directory holding a migrated database (0644) that the programs,
    run by as_unprivileged(), can read but not write into."""
    d = subdir()
    db = os.path.join(d, "ro.db")
    eq(st.run_cli(["migrate"], db=db).returncode, 0, "migrate")
    os.chmod(db, 0o644)
    os.chmod(d, 0o555)
    return d, db


def test_read_only_directory_reports_sqlites_error():
    d, db = read_only_dir()
    try:
        line, err = api_health(db)
        eq(line, "Status: 503 Service Unavailable", "health")
        says_sqlites_error(err, db, "attempt to write a readonly database", "api.fcgi")
        check("-shm" in err, "the hint names the WAL files: %r" % err)
        for cmd in ("check", "migrate"):
            p = run_as(st.CLI, [cmd], {"SHIPTRACK_DATABASE": db})
            eq(p.returncode, 1, "shiptrack %s exit status (%r)" % (cmd, p.stderr))
            says_sqlites_error(p.stderr, db, "attempt to write a readonly database",
                               "shiptrack " + cmd)
        new = os.path.join(d, "new.db")
        p = run_as(st.CLI, ["migrate"], {"SHIPTRACK_DATABASE": new})
        eq(p.returncode, 1, "migrate into a read-only directory")
        says_sqlites_error(p.stderr, new, "unable to open database file", "migrate new")
        check("Permission denied" in p.stderr, "the system's reason: %r" % p.stderr)
        check(not os.path.exists(new), "nothing created")
    finally:
        os.chmod(d, 0o755)


def test_not_a_database_reports_sqlites_error():
    db = os.path.join(subdir(), "junk.db")
    with open(db, "wb") as f:
        f.write(b"this is not an SQLite database\n" * 200)
    os.chmod(db, 0o644)
    line, err = api_health(db)
    eq(line, "Status: 503 Service Unavailable", "health")
    says_sqlites_error(err, db, "file is not a database", "api.fcgi")
    for cmd in ("check", "migrate"):
        p = st.run_cli([cmd], db=db)
        eq(p.returncode, 1, "shiptrack %s exit status" % cmd)
        says_sqlites_error(p.stderr, db, "file is not a database", "shiptrack " + cmd)


def test_parent_is_a_file_reports_the_systems_reason():
    parent = os.path.join(subdir(), "plain-file")
    with open(parent, "w") as f:
        f.write("x\n")
    db = os.path.join(parent, "x.db")
    p = st.run_cli(["migrate"], db=db)
    eq(p.returncode, 1, "migrate exit status")
    says_sqlites_error(p.stderr, db, "unable to open database file", "migrate")
    check("Not a directory" in p.stderr, "the system's reason: %r" % p.stderr)


if __name__ == "__main__":
    st.run()
