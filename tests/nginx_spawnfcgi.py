#!/usr/bin/env python3
"""webhook.fcgi and api.fcgi under spawn-fcgi behind a real nginx.

The programs are started with the command lines and environment of
contrib/systemd/shiptrack-webhook.service and shiptrack-api.service (as
their User=, www-data, when run as root); nginx serves
contrib/nginx/shiptrack.conf from a minimal top-level nginx.conf standing in
for Debian's.  Both filled in for paths and the port only.  When
systemd-analyze is available, the filled-in units must also pass
`systemd-analyze verify`.  The suite is tests/webserver.py's; the units'
own checks: verified, sockets 0660, the programs run as their User= in
spawn-fcgi's place and exit 0 on SIGTERM.
"""
import os
import pwd
import shlex
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import shiptrack_test as st  # noqa: E402
import webserver as ws  # noqa: E402
from shiptrack_test import check, eq  # noqa: E402

NGINX = os.environ.get("NGINX") or "/usr/sbin/nginx"
TMP = st.tempdir("shiptrack-nginx-")
STATE = ws.state_dir(TMP)
RUNDIR = os.path.join(TMP, "run")
DB = os.path.join(STATE, "shiptrack.db")
CONF = os.path.join(STATE, "shiptrack.conf")
ERRORLOG = os.path.join(TMP, "error.log")
FCGI_LOG = os.path.join(TMP, "fcgi.log")
SANITIZER_VARS = ("ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS", "LD_LIBRARY_PATH")


TOP = """# The top level a Debian nginx.conf would provide; the site itself is
# contrib/nginx/shiptrack.conf, included below.
daemon off;
master_process on;
worker_processes 2;
pid %(tmp)s/nginx.pid;
error_log %(errorlog)s notice;
%(user)s
events { worker_connections 128; }
http {
    include /etc/nginx/mime.types;
    default_type application/octet-stream;
    access_log %(tmp)s/access.log;
    client_body_temp_path %(tmp)s/body;
    fastcgi_temp_path %(tmp)s/fastcgi;
    proxy_temp_path %(tmp)s/proxy;
    scgi_temp_path %(tmp)s/scgi;
    uwsgi_temp_path %(tmp)s/uwsgi;
    gzip on;
    include %(site)s;
}
"""


def unit(name):
    """The filled-in unit: (path, {Environment}, ExecStart argv, User)."""
    dst = os.path.join(TMP, name)
    ws.fill(ws.contrib("systemd", name), dst,
            {"LIBEXECDIR": os.path.join(st.TOP_BUILDDIR, "cgi"), "CONFIG": CONF,
             "RUNDIR": RUNDIR})
    env, argv, user = {}, None, None
    with open(dst) as f:
        for line in f:
            line = line.strip()
            if line.startswith("Environment="):
                for kv in shlex.split(line[len("Environment="):]):
                    k, v = kv.split("=", 1)
                    env[k] = v
            elif line.startswith("ExecStart="):
                check(argv is None, "%s: one ExecStart" % name)
                argv = shlex.split(line[len("ExecStart="):])
            elif line.startswith("User="):
                user = line[len("User="):]
    check(argv is not None, "%s has an ExecStart" % name)
    return dst, env, argv, user


def start_fcgi(name):
    """The program as systemd would start it from its unit: (unit path, Popen)."""
    path, uenv, argv, user = unit(name)
    check(os.access(argv[0], os.X_OK), "%s: %s is installed" % (name, argv[0]))
    check("-n" in argv, "%s: spawn-fcgi -n (systemd supervises the program)" % name)
    env = st.base_env(uenv)
    for k in SANITIZER_VARS:
        if k in os.environ:
            env[k] = os.environ[k]
    if os.geteuid() == 0:
        # What User=/Group= do: start as that user.
        eq(user, ws.SERVER_USER, "%s: User=" % name)
        argv = ["setpriv", "--reuid=" + user, "--regid=" + user, "--init-groups",
                "--"] + argv
    out = open(FCGI_LOG, "ab")
    proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out,
                            stderr=subprocess.STDOUT, env=env, start_new_session=True)
    out.close()
    sock = [argv[i + 1] for i, a in enumerate(argv) if a == "-s"][0]
    ws.wait_for(lambda: os.path.exists(sock) or proc.poll() is not None, 15,
                "%s's socket" % name)
    check(proc.poll() is None, "%s exited with %s" % (name, proc.returncode))
    return path, proc


def write_configs(port):
    # nginx resolves "include fastcgi_params" beside the main file:
    # Debian's own copy, as /etc/nginx/ would have it.
    shutil.copy("/etc/nginx/fastcgi_params", TMP)
    site = ws.fill(ws.contrib("nginx", "shiptrack.conf"),
                   os.path.join(TMP, "shiptrack-site.conf"),
                   {"PORT": "127.0.0.1:%d" % port,
                    "WEBROOT": os.path.join(st.TOP_SRCDIR, "web"),
                    "RUNDIR": RUNDIR})
    top = os.path.join(TMP, "nginx.conf")
    user = "user %s;" % ws.SERVER_USER if ws.SERVER_USER else ""
    with open(top, "w") as f:
        f.write(TOP % {"tmp": TMP, "errorlog": ERRORLOG, "user": user, "site": site})
    args = [NGINX, "-p", TMP, "-e", ERRORLOG, "-c", top]
    return args + ["-t"], args


class Nginx(ws.Server):
    name = "nginx"
    tag = "nginx"
    order = "ord_nginx_1"
    db = DB
    # Over max_body and over 1 MiB, under client_max_body_size: nginx passes
    # it on, and the receiver answers its own JSON 413.
    oversize = 1024 * 1024 + 100
    concurrency = (8, 5)
    logs = [(ERRORLOG, (b"[crit]", b"[alert]", b"[emerg]")), (FCGI_LOG, ())]
    receiver_log = FCGI_LOG

    def __init__(self):
        super().__init__()
        self.fcgi = {}         # unit name -> Popen
        self.units = []

    def start(self):
        """spawn-fcgi as the units say, then nginx in front."""
        ws.write_config(CONF, DB, max_body=self.max_body)
        ws.migrate(DB)
        os.makedirs(RUNDIR, exist_ok=True)       # systemd's RuntimeDirectory=
        os.chmod(RUNDIR, 0o755)
        ws.chown_to_server(STATE, RUNDIR)
        for name in ("shiptrack-webhook.service", "shiptrack-api.service"):
            path, self.fcgi[name] = start_fcgi(name)
            self.units.append(path)
        for s in ("webhook.sock", "api.sock"):
            mode = os.stat(os.path.join(RUNDIR, s)).st_mode & 0o777
            eq(mode, 0o660, "%s mode" % s)
        self.proc, port = ws.start_server("nginx", write_configs, ERRORLOG,
                                          os.path.join(TMP, "stdout.log"), st.base_env())
        self.client = ws.Client(port)

    def stop(self):
        """nginx, then each program with SIGTERM, as systemctl stop sends."""
        survivors = ws.stop(self.proc)
        for proc in self.fcgi.values():
            survivors.update(ws.stop(proc))
        return survivors

    def after_stop(self):
        for name, proc in self.fcgi.items():
            eq(proc.returncode, 0, "%s exit status after SIGTERM" % name)

    def before(self):
        return [("units_verify", self.units_verify)]

    def after(self):
        return [("programs_run_as_their_user", self.programs_run_as_their_user)]

    def units_verify(self):
        tool = shutil.which("systemd-analyze")
        # .ci/run installs it (Debian's systemd): a missing tool fails, not skips.
        check(tool is not None, "systemd-analyze is not installed (apt-get install systemd)")
        units = list(self.units)
        if os.access(os.path.join(st.TOP_BUILDDIR, "cgi", "shiptrack-poll"), os.X_OK):
            for name in ("shiptrack-poll.service", "shiptrack-poll.timer"):
                dst = os.path.join(TMP, name)
                vals = {"BINDIR": os.path.join(st.TOP_BUILDDIR, "cgi"), "CONFIG": CONF}
                if name.endswith(".timer"):
                    vals = {}
                ws.fill(ws.contrib("systemd", name), dst, vals)
                units.append(dst)
        p = subprocess.run([tool, "verify", "--man=no"] + units, capture_output=True,
                           text=True, timeout=60, cwd=TMP)
        eq((p.returncode, p.stdout + p.stderr), (0, ""), "systemd-analyze verify")

    def programs_run_as_their_user(self):
        self.running()
        if not ws.SERVER_USER:
            return
        uid = pwd.getpwnam(ws.SERVER_USER).pw_uid
        for name, proc in self.fcgi.items():
            with open("/proc/%d/status" % proc.pid) as f:
                ruid = [ln.split()[1] for ln in f if ln.startswith("Uid:")][0]
            eq(int(ruid), uid, "%s runs as %s" % (name, ws.SERVER_USER))
            eq(ws.cmdline(proc.pid).rsplit("/", 1)[-1],
               name.replace("shiptrack-", "").replace(".service", ".fcgi"),
               "spawn-fcgi -n execs the program in its place")


def main():
    for prog in (NGINX, "/usr/bin/spawn-fcgi"):
        if not os.access(prog, os.X_OK):
            print("not ok - %s not found" % prog)
            sys.exit(1)
    ws.run(Nginx(), tail_on_failure=[ERRORLOG, FCGI_LOG])


if __name__ == "__main__":
    main()
