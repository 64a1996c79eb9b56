#!/usr/bin/env python3
"""webhook.fcgi and api.fcgi under spawn-fcgi behind a real nginx.

The programs are started with the command lines and environment of
contrib/systemd/shiptrack-webhook.service and shiptrack-api.service (as
their User=, www-data, when run as root); nginx serves
contrib/nginx/shiptrack.conf from a minimal top-level nginx.conf standing in
for Debian's.  Both filled in for paths and the port only.  When
systemd-analyze is available, the filled-in units must also pass
`systemd-analyze verify`.
"""
import os
import pwd
import shlex
import shutil
import subprocess
import sys
import threading

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
MAX_BODY = 4096
ORDER = "ord_nginx_1"
SANITIZER_VARS = ("ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS", "LD_LIBRARY_PATH")

state = {"nginx": None, "fcgi": {}, "client": None}

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
    state["fcgi"][name] = proc
    sock = [argv[i + 1] for i, a in enumerate(argv) if a == "-s"][0]
    ws.wait_for(lambda: os.path.exists(sock) or proc.poll() is not None, 15,
                "%s's socket" % name)
    check(proc.poll() is None, "%s exited with %s" % (name, proc.returncode))
    return path


def test_start_spawnfcgi():
    ws.write_config(CONF, DB, max_body=MAX_BODY)
    ws.migrate(DB)
    os.makedirs(RUNDIR, exist_ok=True)       # systemd's RuntimeDirectory=
    os.chmod(RUNDIR, 0o755)
    ws.chown_to_server(STATE, RUNDIR)
    state["units"] = [start_fcgi("shiptrack-webhook.service"),
                      start_fcgi("shiptrack-api.service")]
    for s in ("webhook.sock", "api.sock"):
        mode = os.stat(os.path.join(RUNDIR, s)).st_mode & 0o777
        eq(mode, 0o660, "%s mode" % s)


def test_units_verify():
    tool = shutil.which("systemd-analyze")
    # .ci/run installs it (Debian's systemd): a missing tool fails, not skips.
    check(tool is not None, "systemd-analyze is not installed (apt-get install systemd)")
    units = list(state["units"])
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


def test_start_nginx():
    for attempt in range(3):
        port = ws.free_port()
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
        t = subprocess.run(args + ["-t"], capture_output=True, text=True, timeout=30,
                           env=st.base_env())
        check(t.returncode == 0, "nginx rejects the configuration: %s%s" %
              (t.stdout, t.stderr))
        proc = subprocess.Popen(args, stdin=subprocess.DEVNULL,
                                stdout=open(os.path.join(TMP, "stdout.log"), "ab"),
                                stderr=subprocess.STDOUT, env=st.base_env(),
                                start_new_session=True)
        state["nginx"] = proc
        try:
            ws.wait_listening(port, proc, "nginx")
        except AssertionError:
            ws.stop(proc)
            with open(ERRORLOG, errors="replace") as f:
                if "Address already in use" in f.read() and attempt < 2:
                    continue
            raise
        state["client"] = ws.Client(port)
        return


def client():
    check(state["client"] is not None, "nginx is not running")
    return state["client"]


def test_page_and_headers():
    ws.check_page(client())


def test_health():
    ws.check_health(client())


def test_webhooks():
    state["ids"] = ws.check_webhooks(client(), ORDER, "nginx")


def test_oversized_webhook():
    """Over max_body, under client_max_body_size: the receiver's JSON 413."""
    big = st.event("PAYMENT_SUCCEEDED", ORDER, st.iso(9), "evt_nginx_big",
                   data={"pad": "z" * (1024 * 1024 + 100)})
    r = client().post(big)
    eq(r.status, 413, "oversize (%r)" % r)
    eq(r.json()["error"], "payload_too_large", "error code")


def test_concurrent_webhooks():
    results = []
    lock = threading.Lock()

    def worker(k):
        for i in range(5):
            eid = "evt_ngconc_%d_%d" % (k, i)
            r = client().post(st.event("PAYMENT_SUCCEEDED", "ord_ngconc_%d" % k,
                                       st.iso(i), eid))
            with lock:
                results.append((eid, r.status, r.body))

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    eq(len(results), 40, "answers")
    bad = [r for r in results if r[1] != 200]
    check(not bad, "concurrent posts failed: %r" % bad[:3])


def test_shopper_view():
    ws.check_shopper(client(), ORDER, "nginx")


def test_odd_order_ids():
    ws.check_odd_order_ids(client(), "nginx")


def test_operator_view():
    ws.check_operator(client(), ORDER, state["ids"])


def test_stop_and_check():
    client()
    if ws.SERVER_USER:
        uid = pwd.getpwnam(ws.SERVER_USER).pw_uid
        for name, proc in state["fcgi"].items():
            with open("/proc/%d/status" % proc.pid) as f:
                ruid = [ln.split()[1] for ln in f if ln.startswith("Uid:")][0]
            eq(int(ruid), uid, "%s runs as %s" % (name, ws.SERVER_USER))
            eq(ws.cmdline(proc.pid).rsplit("/", 1)[-1],
               name.replace("shiptrack-", "").replace(".service", ".fcgi"),
               "spawn-fcgi -n execs the program in its place")
    survivors = ws.stop(state["nginx"])
    check(not survivors, "nginx workers left (killed): %r" % survivors)
    for name, proc in state["fcgi"].items():
        left = ws.stop(proc)          # SIGTERM, as systemctl stop sends
        check(not left, "%s ignored SIGTERM (killed): %r" % (name, left))
        eq(proc.returncode, 0, "%s exit status after SIGTERM" % name)
    eq(st.sqlite(DB, "SELECT count(*) FROM events WHERE id LIKE 'evt_nginx_%'")[0][0], 4,
       "events stored")
    eq(st.sqlite(DB, "SELECT count(*) FROM events WHERE id LIKE 'evt_ngconc_%'")[0][0], 40,
       "concurrent events stored")
    ws.check_log(ERRORLOG, (b"[crit]", b"[alert]", b"[emerg]"))
    log = ws.check_log(FCGI_LOG)
    check(b"shiptrack-webhook[" in log, "receiver log lines")
    check(b"bad rye1 signature" in log, "bad-signature line")


def main():
    for prog in (NGINX, "/usr/bin/spawn-fcgi"):
        if not os.access(prog, os.X_OK):
            print("not ok - %s not found" % prog)
            sys.exit(1)
    try:
        st.run(dict(globals()))
    except SystemExit as e:
        if e.code:
            ws.tail(ERRORLOG)
            ws.tail(FCGI_LOG)
        raise
    finally:
        ws.stop(state["nginx"])
        for proc in state["fcgi"].values():
            ws.stop(proc)


if __name__ == "__main__":
    main()
