#!/usr/bin/env python3
"""A private PostgreSQL for the tests and the bench (standard library only).

Never the system service: each server is a cluster of its own made by
Debian's binaries (/usr/lib/postgresql/<newest>/bin) with `initdb` in a
temporary directory, listening on 127.0.0.1 at a free port and on a unix
socket in a private directory, and gone with its directory when the
process exits (atexit; SIGTERM and SIGHUP stop it first, then end the
process as the signal would; Ctrl-C unwinds to atexit).  A process killed
with SIGKILL leaves its server behind, like any other child it had.

    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import pgserver

    pg = pgserver.start()              # fsync on; start(fsync=False) for speed
    pg.uri                             # postgresql://shiptrack:PW@127.0.0.1:PORT/shiptrack
    pg.run_sql("CREATE TABLE t (a text, b bytea)")
    pg.run_sql("INSERT INTO t VALUES (:'p1', :'p2')", ["it's", b"\\x00\\xff"])
    pg.query("SELECT a, b FROM t WHERE a = :'p1'", ["it's"])  # [("it's", "\\\\x00ff")]
    pg.stop()                          # or leave it to the exit

    pg = pgserver.start(keep="/var/tmp/cache/pg")   # a cluster kept across runs

keep=DIR: the cluster lives in DIR (made, and initdb'd, when it holds no
cluster yet) and stays there when the server stops, for the bench's big
generated databases.  Started again on it, the server keeps its databases;
the owner role gets this run's password.  A second server cannot run on
the same directory at once (PostgreSQL's lock file refuses it).

Roles: a superuser (`postgres`) that only the private socket lets in
(trust; the directory is the server user's, mode 0700), and the owner of the
database (`shiptrack`) with a password, which is how shiptrack connects:
over TCP to 127.0.0.1, scram-sha-256, so a test of password redaction has
a real password to look for.  Every text the server compares or sorts is
collated as its column says (the schema says "C"); the cluster itself is
initialised with --locale=C and UTF-8.

As root (CI runs the tests as root), initdb and the server refuse to run:
the cluster then belongs to Debian's `postgres` account, which the
postgresql package creates for running servers (it owns nothing of ours
otherwise; `nobody` must own no files).  The temporary directory is made
by root, given to `postgres` (mode 0700), and removed by root; the server's
parent directories must let others search them (/tmp and /var/tmp do).
psql and pg_isready run as the caller.

Parameters (run_sql, query) are psql variables, set with \\set at the top of
the script from the values given and used as :'p1', :'p2', ... (psql quotes
each as a literal, so a value is never SQL) or :"p1" for an identifier;
None is NULL; bytes are bytea's hex form ('\\x...'); int and bool their text.
\\set in the script rather than psql -v: a command-line argument is limited
to 128 KiB, and a raw body may be longer.  Rows come back through COPY's
text format, the one psql output that tells NULL from '' exactly.
"""

import atexit
import os
import pwd
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse

SUPERUSER = "postgres"
OWNER = "shiptrack"
DATABASE = "shiptrack"
# As root, the account the cluster runs as (Debian's postgresql package
# makes it).
SERVER_ACCOUNT = "postgres"
START_TIMEOUT = 60          # seconds until the server accepts connections
STOP_TIMEOUT = 60           # seconds a fast shutdown may take before SIGKILL
PORT_TRIES = 5              # another free port when the one chosen was taken
NO_PASSFILE = "/nonexistent/shiptrack-no-pgpass"

_servers = []
_owner_pid = os.getpid()


# --- finding Debian's binaries ----------------------------------------------

def bindir():
    """The newest /usr/lib/postgresql/<ver>/bin holding initdb and postgres
    (SHIPTRACK_PG_BINDIR overrides)."""
    forced = os.environ.get("SHIPTRACK_PG_BINDIR")
    if forced:
        return forced
    root = "/usr/lib/postgresql"
    try:
        versions = [v for v in os.listdir(root) if re.fullmatch(r"\d+(\.\d+)?", v)]
    except OSError:
        versions = []
    for v in sorted(versions, key=lambda s: [int(x) for x in s.split(".")], reverse=True):
        d = os.path.join(root, v, "bin")
        if all(os.access(os.path.join(d, p), os.X_OK) for p in ("initdb", "postgres")):
            return d
    raise RuntimeError("no PostgreSQL server under %s: install Debian's postgresql "
                       "package (contrib/quickstart.sh lists it)" % root)


def _tool(name):
    path = os.path.join(bindir(), name)
    if not os.access(path, os.X_OK):
        raise RuntimeError("%s not found beside the server (%s)" % (name, bindir()))
    return path


# --- values into psql, rows out of COPY --------------------------------------

def _psql_quote(value):
    """value as one single-quoted argument of a psql backslash command:
    '' for a quote, C-like escapes for backslash and line ends."""
    if "\0" in value:
        raise ValueError("PostgreSQL text cannot hold a NUL byte")
    value = value.replace("\\", "\\\\").replace("'", "''")
    return "'" + value.replace("\n", "\\n").replace("\r", "\\r") + "'"


def _as_text(v):
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, (bytes, bytearray, memoryview)):
        return "\\x" + bytes(v).hex()
    if isinstance(v, str):
        return v
    raise TypeError("a parameter must be str, bytes, int, bool or None, not %s"
                    % type(v).__name__)


def script(sql, params=()):
    """The psql script running sql with params bound as :'p1', :'p2', ..."""
    head = []
    for i, v in enumerate(params, 1):
        if v is None:
            sql = sql.replace(":'p%d'" % i, "NULL")
        else:
            head.append("\\set p%d %s\n" % (i, _psql_quote(_as_text(v))))
    return "".join(head) + sql + "\n"


_COPY_ESCAPES = {"b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t", "v": "\v",
                 "\\": "\\"}


def _copy_field(f):
    if f == "\\N":
        return None
    return re.sub(r"\\(x[0-9a-fA-F]{1,2}|[0-7]{1,3}|.)",
                  lambda m: _copy_escape(m.group(1)), f)


def _copy_escape(s):
    if s[0] == "x" and len(s) > 1:
        return chr(int(s[1:], 16))
    if s[0] in "01234567":
        return chr(int(s, 8))
    return _COPY_ESCAPES.get(s, s)


def parse_copy(text):
    """Rows of COPY ... TO STDOUT's text format: tuples of str, None for NULL."""
    return [tuple(_copy_field(f) for f in line.split("\t"))
            for line in text.split("\n")[:-1]]


# --- the server --------------------------------------------------------------

def free_port():
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def _account():
    """(uid, gid) the cluster runs as: SERVER_ACCOUNT as root, else None."""
    if os.geteuid() != 0:
        return None
    try:
        pw = pwd.getpwnam(SERVER_ACCOUNT)
    except KeyError:
        raise RuntimeError("running as root and there is no %r account to run "
                           "PostgreSQL as: install Debian's postgresql package"
                           % SERVER_ACCOUNT)
    return pw.pw_uid, pw.pw_gid


def _searchable_by_others(path):
    """The first ancestor of path another user cannot enter, or None."""
    d = os.path.dirname(os.path.abspath(path))
    while True:
        if not os.stat(d).st_mode & 0o001:
            return d
        if d == "/":
            return None
        d = os.path.dirname(d)


class PgServer:
    """One private cluster.  Attributes once started: uri, port, host,
    socket_dir, password, owner, database, directory, pid."""

    def __init__(self, fsync=True, dir=None, settings=None, password=None,
                 owner=OWNER, database=DATABASE, keep=None):
        self.fsync = fsync
        self.parent = dir
        self.keep = os.path.abspath(keep) if keep else None
        self.settings = dict(settings or {})
        self.password = password or "pw-" + secrets.token_hex(12)
        self.owner, self.database = owner, database
        self.host = "127.0.0.1"
        self.port = None
        self.directory = None
        self.proc = None
        self.account = _account()

    # -- paths
    def _path(self, *parts):
        return os.path.join(self.directory, *parts)

    @property
    def datadir(self):
        return self._path("data")

    @property
    def socket_dir(self):
        return self._path("sock")

    @property
    def logfile(self):
        return self._path("postgres.log")

    @property
    def pid(self):
        return self.proc.pid if self.proc else None

    # -- start
    def start(self):
        if self.keep:
            os.makedirs(self.keep, mode=0o700, exist_ok=True)
            self.directory = self.keep
        else:
            self.directory = tempfile.mkdtemp(prefix="shiptrack-pg-", dir=self.parent)
        _servers.append(self)
        _install_cleanup()
        if self.account is not None:
            blocked = _searchable_by_others(self.directory)
            if blocked:
                raise RuntimeError("%s cannot reach %s: %s is closed to others "
                                   "(pass dir= or set TMPDIR elsewhere)"
                                   % (SERVER_ACCOUNT, self.directory, blocked))
            os.chown(self.directory, *self.account)
        os.chmod(self.directory, 0o700)
        os.makedirs(self.socket_dir, 0o700, exist_ok=True)
        if self.account is not None:
            os.chown(self.socket_dir, *self.account)
        kept = self.keep and os.path.exists(self._path("data", "PG_VERSION"))
        if self.keep:
            # This run's log only (_launch reads it to tell a port taken).
            open(self.logfile, "wb").close()
        if not kept:
            if self.keep:
                shutil.rmtree(self.datadir, ignore_errors=True)    # a half-made one
            self._initdb()
        self._launch()
        self._create_owner(kept)
        return self

    def _as_server(self):
        """Popen arguments that run a program as the cluster's account."""
        if self.account is None:
            return {}
        uid, gid = self.account
        return {"user": uid, "group": gid, "extra_groups": []}

    def _server_env(self):
        return {"PATH": "/usr/bin:/bin", "LC_ALL": "C", "TZ": "UTC"}

    def _initdb(self):
        # --no-sync: a crash of the machine loses the throwaway cluster
        # anyway; the server's own fsync setting is what the tests choose.
        argv = [_tool("initdb"), "-D", self.datadir, "-U", SUPERUSER,
                "--auth-local=trust", "--auth-host=scram-sha-256",
                "--encoding=UTF8", "--locale=C", "--no-sync", "--no-instructions"]
        p = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                           env=self._server_env(), cwd=self.directory,
                           timeout=START_TIMEOUT, **self._as_server())
        if p.returncode != 0:
            raise RuntimeError("initdb failed (%d): %s%s" % (p.returncode, p.stdout, p.stderr))

    def _argv(self):
        s = {"listen_addresses": self.host, "port": self.port,
             "unix_socket_directories": self.socket_dir,
             "fsync": "on" if self.fsync else "off",
             "full_page_writes": "on" if self.fsync else "off",
             "logging_collector": "off", "TimeZone": "UTC"}
        s.update(self.settings)
        argv = [_tool("postgres"), "-D", self.datadir]
        for k, v in s.items():
            argv += ["-c", "%s=%s" % (k, v)]
        return argv

    def _launch(self):
        """Start the server on a free port (another one if it was taken
        meanwhile), and wait, bounded, until it accepts connections."""
        for attempt in range(PORT_TRIES):
            self.port = free_port()
            with open(self.logfile, "ab") as log:
                self.proc = subprocess.Popen(
                    self._argv(), stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                    env=self._server_env(), cwd=self.directory, start_new_session=True,
                    **self._as_server())
            if self._wait_ready():
                return
            self.proc.wait()
            if "already in use" not in self.log_tail():
                break
        raise RuntimeError("PostgreSQL did not start (exit %s): %s"
                           % (self.proc.returncode, self.log_tail()))

    def _wait_ready(self):
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                return False
            p = subprocess.run([_tool("pg_isready"), "-q", "-h", self.socket_dir,
                                "-p", str(self.port), "-t", "2"],
                               stdin=subprocess.DEVNULL, env=self._client_env())
            if p.returncode == 0:
                return True
            time.sleep(0.05)
        self._kill()
        raise RuntimeError("PostgreSQL not accepting connections after %d s: %s"
                           % (START_TIMEOUT, self.log_tail()))

    def _create_owner(self, kept=False):
        """The owner role with this run's password, and its database (a
        kept cluster has them from before, unless made with other names)."""
        if kept and self.query("SELECT 1 FROM pg_roles WHERE rolname = :'p1'", [self.owner],
                               database="postgres"):
            self.run_sql("ALTER ROLE :\"p1\" LOGIN PASSWORD :'p2';",
                         [self.owner, self.password], database="postgres")
        else:
            self.run_sql("CREATE ROLE :\"p1\" LOGIN PASSWORD :'p2';",
                         [self.owner, self.password], database="postgres")
        if not (kept and self.query("SELECT 1 FROM pg_database WHERE datname = :'p1'",
                                    [self.database], database="postgres")):
            self.create_database(self.database)

    def log_tail(self, n=4000):
        try:
            with open(self.logfile, "rb") as f:
                return f.read()[-n:].decode("utf-8", "replace")
        except OSError:
            return ""

    # -- addresses
    def uri_for(self, database=None, password=True):
        """The owner's libpq URI over TCP (without the password if asked)."""
        q = lambda s: urllib.parse.quote(s, safe="")  # noqa: E731
        cred = q(self.owner) + (":" + q(self.password) if password else "")
        return "postgresql://%s@%s:%d/%s" % (cred, self.host, self.port,
                                             q(database or self.database))

    @property
    def uri(self):
        return self.uri_for()

    @property
    def uri_without_password(self):
        return self.uri_for(password=False)

    # -- psql
    def _client_env(self, extra=None):
        # No password file: the superuser needs none, and nobody's ~/.pgpass
        # may stand in for a password a test leaves out.
        env = {"PATH": "/usr/bin:/bin", "PGCLIENTENCODING": "UTF8", "PGCONNECT_TIMEOUT": "10",
               "PGPASSFILE": NO_PASSFILE, "LC_ALL": "C.UTF-8"}
        env.update(extra or {})
        return env

    def psql_argv(self, database=None):
        """psql as the superuser through the private socket."""
        return [_tool("psql"), "-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", self.socket_dir,
                "-p", str(self.port), "-U", SUPERUSER, "-d", database or self.database]

    def psql(self, text, database=None, argv=None, as_owner=False, timeout=120):
        """Run a psql script (stdin); returns its stdout; raises on any error.
        as_owner: with the owner's rights (SET ROLE), so what it creates is
        the owner's, as when shiptrack migrates."""
        if as_owner:
            text = "\\set owner %s\nSET ROLE :\"owner\";\n%s" % (_psql_quote(self.owner), text)
        p = subprocess.run((argv or self.psql_argv(database)) + ["-f", "-"],
                           input=text.encode(), capture_output=True,
                           env=self._client_env(), timeout=timeout)
        if p.returncode != 0:
            raise RuntimeError("psql exited %d: %s" % (p.returncode,
                                                        p.stderr.decode("utf-8", "replace")))
        return p.stdout.decode("utf-8")

    def run_sql(self, sql, params=(), database=None, as_owner=False):
        """Run statements (a script; any number), stopping at the first error."""
        self.psql(script(sql, params), database, as_owner=as_owner)

    def query(self, sql, params=(), database=None, as_owner=False):
        """The rows of one query (SELECT, VALUES, ... RETURNING; not SHOW:
        current_setting() instead), exactly: tuples of str, None for NULL
        (bytea as '\\x...', booleans as 't' and 'f')."""
        body = sql.strip().rstrip(";")
        return parse_copy(self.psql(script("COPY (%s) TO STDOUT;" % body, params), database,
                                    as_owner=as_owner))

    def run_sql_file(self, path, database=None, as_owner=False):
        """Apply one SQL file in a single transaction (a migration)."""
        with open(path, encoding="utf-8") as f:
            text = f.read()
        self.psql(text, database, argv=self.psql_argv(database) + ["--single-transaction"],
                  as_owner=as_owner)

    def create_database(self, name, template=None):
        """A new database owned by the owner role (a copy of template if
        given: nobody may be connected to it); returns its URI."""
        sql = "CREATE DATABASE :\"p1\" OWNER :\"p2\""
        params = [name, self.owner]
        if template:
            sql += " TEMPLATE :\"p3\""
            params.append(template)
        self.run_sql(sql + ";", params, database="postgres")
        return self.uri_for(name)

    def drop_database(self, name):
        self.run_sql("DROP DATABASE :\"p1\" WITH (FORCE);", [name], database="postgres")

    # -- stop
    def _kill(self):
        """SIGKILL the server's whole process group (its own session)."""
        if self.proc is not None and self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.proc.wait()

    def stop(self):
        """Fast shutdown (pg_ctl stop -m fast's signal, SIGINT: sessions are
        ended, the server checkpoints and exits), bounded; then the
        directory goes, unless it is kept.  Safe to call twice."""
        if self.proc is not None and self.proc.poll() is None:
            try:
                self.proc.send_signal(signal.SIGINT)
                self.proc.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                self._kill()
        if self.directory is not None:
            if not self.keep:
                shutil.rmtree(self.directory, ignore_errors=True)
            self.directory = None
        if self in _servers:
            _servers.remove(self)


def start(**kwargs):
    """A started PgServer (see PgServer for the options)."""
    return PgServer(**kwargs).start()


# --- stopping at exit ---------------------------------------------------------

def _stop_all():
    if os.getpid() != _owner_pid:       # a forked child does not own them
        return
    for s in list(_servers):
        try:
            s.stop()
        except Exception as e:  # keep stopping the others
            sys.stderr.write("pgserver: stopping %s: %s\n" % (s.directory, e))


def _on_signal(signum, frame):
    _stop_all()
    signal.signal(signum, signal.SIG_DFL)
    os.kill(os.getpid(), signum)


_installed = False


def _install_cleanup():
    """atexit, and SIGTERM/SIGHUP where nobody handles them yet (from the
    main thread only: Python allows no other)."""
    global _installed
    if _installed:
        return
    _installed = True
    atexit.register(_stop_all)
    for sig in (signal.SIGTERM, signal.SIGHUP):
        try:
            if signal.getsignal(sig) == signal.SIG_DFL:
                signal.signal(sig, _on_signal)
        except ValueError:
            pass


# --- by hand: python3 tests/pgserver.py [--no-fsync] [--dir DIR] ----------

def main(argv):
    import argparse
    ap = argparse.ArgumentParser(description="Start a private PostgreSQL, print its "
                                 "URI, stop it on SIGTERM, Ctrl-C or end of stdin.")
    ap.add_argument("--no-fsync", action="store_true", help="fsync=off (no crash safety)")
    ap.add_argument("--dir", help="parent of its temporary directory")
    a = ap.parse_args(argv)
    pg = start(fsync=not a.no_fsync, dir=a.dir)
    print("uri=%s\nsocket_dir=%s\nport=%d\nsuperuser=%s" % (pg.uri, pg.socket_dir, pg.port,
                                                            SUPERUSER), flush=True)
    try:
        sys.stdin.read()
    except KeyboardInterrupt:
        pass
    pg.stop()


if __name__ == "__main__":
    main(sys.argv[1:])
