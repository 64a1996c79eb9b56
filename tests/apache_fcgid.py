#!/usr/bin/env python3
"""webhook.fcgi and api.fcgi under a real Apache 2.4 with mod_fcgid, using
contrib/apache/shiptrack.conf as shipped (placeholders filled in for paths
and the port only), included from a minimal top-level configuration that
stands in for Debian's apache2.conf and loads the modules Debian enables.

As root, Apache runs its children (and so mod_fcgid's programs) as
www-data: the state directory is given to www-data, and the database is
read directly only after Apache has stopped.
"""
import os
import subprocess
import sys
import threading

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import shiptrack_test as st  # noqa: E402
import webserver as ws  # noqa: E402
from shiptrack_test import check, eq  # noqa: E402

APACHE = os.environ.get("APACHE2") or "/usr/sbin/apache2"
MODULES = os.environ.get("APACHE_MODULES") or "/usr/lib/apache2/modules"
TMP = st.tempdir("shiptrack-apache-fcgid-")
STATE = ws.state_dir(TMP)
DB = os.path.join(STATE, "shiptrack.db")
CONF = os.path.join(STATE, "shiptrack.conf")
ERRORLOG = os.path.join(TMP, "error.log")
MAX_BODY = 4096
ORDER = "ord_apache_fcgid_1"

state = {"proc": None, "port": None, "client": None}

TOP = """# The top level a Debian apache2.conf would provide; the site itself
# is contrib/apache/shiptrack.conf, included below.
ServerRoot "%(tmp)s"
ServerName 127.0.0.1
Listen 127.0.0.1:%(port)d
PidFile "%(tmp)s/apache2.pid"
DefaultRuntimeDir "%(tmp)s"
Mutex file:%(tmp)s default
ErrorLog "%(errorlog)s"
LogLevel warn
LogFormat "%%h \\"%%r\\" %%>s %%b" short
CustomLog "%(tmp)s/access.log" short
%(user)s
LoadModule mpm_event_module %(mod)s/mod_mpm_event.so
LoadModule authz_core_module %(mod)s/mod_authz_core.so
LoadModule mime_module %(mod)s/mod_mime.so
TypesConfig /etc/mime.types
LoadModule dir_module %(mod)s/mod_dir.so
LoadModule alias_module %(mod)s/mod_alias.so
LoadModule env_module %(mod)s/mod_env.so
LoadModule filter_module %(mod)s/mod_filter.so
LoadModule deflate_module %(mod)s/mod_deflate.so
AddOutputFilterByType DEFLATE text/html text/plain text/css text/javascript
LoadModule headers_module %(mod)s/mod_headers.so
LoadModule fcgid_module %(mod)s/mod_fcgid.so
# mod_fcgid's shared state, server-wide (Debian: /var/lib/apache2/fcgid).
FcgidIPCDir "%(tmp)s/fcgid-sock"
FcgidProcessTableFile "%(tmp)s/fcgid-shm"
%(passenv)s
Include "%(site)s"
"""


def write_configs(port):
    ws.write_config(CONF, DB, max_body=MAX_BODY)
    ws.migrate(DB)
    ws.chown_to_server(STATE)
    site = ws.fill(ws.contrib("apache", "shiptrack.conf"),
                   os.path.join(TMP, "shiptrack-site.conf"),
                   {"WEBROOT": os.path.join(st.TOP_SRCDIR, "web"),
                    "LIBEXECDIR": os.path.join(st.TOP_BUILDDIR, "cgi"),
                    "CONFIG": CONF, "PORT": port})
    # A sanitizer build's options reach the programs the way an
    # administrator's would: FcgidInitialEnv, server-wide.
    passenv = "\n".join('FcgidInitialEnv %s "%s"' % (k, os.environ[k])
                        for k in ("ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS",
                                  "LD_LIBRARY_PATH") if k in os.environ)
    user = "User %s\nGroup %s" % (ws.SERVER_USER, ws.SERVER_USER) if ws.SERVER_USER else ""
    top = os.path.join(TMP, "apache2.conf")
    with open(top, "w") as f:
        f.write(TOP % {"tmp": TMP, "port": port, "errorlog": ERRORLOG, "mod": MODULES,
                       "user": user, "passenv": passenv, "site": site})
    return top


def start():
    for attempt in range(3):
        port = ws.free_port()
        top = write_configs(port)
        t = subprocess.run([APACHE, "-t", "-f", top], capture_output=True, text=True,
                              timeout=30, env=st.base_env())
        if t.returncode != 0:
            raise AssertionError("apache2 rejects the configuration: %s%s" %
                                 (t.stdout, t.stderr))
        proc = subprocess.Popen([APACHE, "-f", top, "-DFOREGROUND"],
                                   stdin=subprocess.DEVNULL,
                                   stdout=open(os.path.join(TMP, "stdout.log"), "ab"),
                                   stderr=subprocess.STDOUT, env=st.base_env(),
                                   # Apache signals its whole process group
                                   # on shutdown: give it its own.
                                   start_new_session=True)
        state["proc"], state["port"] = proc, port
        try:
            ws.wait_listening(port, proc, "apache2")
        except AssertionError:
            ws.stop(proc)
            with open(ERRORLOG, errors="replace") as f:
                if "Address already in use" in f.read() and attempt < 2:
                    continue      # another test took the port first
            raise
        state["client"] = ws.Client(port)
        return


def client():
    check(state["client"] is not None, "Apache is not running")
    return state["client"]


def test_start_apache():
    start()


def test_page_and_headers():
    ws.check_page(client())


def test_health():
    ws.check_health(client())


def test_webhooks():
    state["ids"] = ws.check_webhooks(client(), ORDER, "apfcgid")


def test_oversized_webhook():
    """Over max_body but under FcgidMaxRequestLen: the receiver's own 413."""
    big = st.event("PAYMENT_SUCCEEDED", ORDER, st.iso(9), "evt_apfcgid_big",
                   data={"pad": "z" * (MAX_BODY * 3)})
    r = client().post(big)
    eq(r.status, 413, "oversize (%r)" % r)
    eq(r.json()["error"], "payload_too_large", "error code")
    # Over mod_fcgid's old 128 KiB default: still the receiver's 413, which
    # shows FcgidMaxRequestLen was raised (mod_fcgid itself answers 500).
    huge = st.event("PAYMENT_SUCCEEDED", ORDER, st.iso(9), "evt_apfcgid_huge",
                    data={"pad": "z" * (200 * 1024)})
    r = client().post(huge)
    eq(r.status, 413, "200 KiB body (%r)" % r)
    eq(r.json()["error"], "payload_too_large", "error code")


def test_concurrent_webhooks():
    results = []
    lock = threading.Lock()

    def worker(k):
        for i in range(5):
            eid = "evt_apconc_%d_%d" % (k, i)
            b = st.event("PAYMENT_SUCCEEDED", "ord_apconc_%d" % k, st.iso(i), eid)
            r = client().post(b)
            with lock:
                results.append((eid, r.status, r.body))

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    eq(len(results), 20, "answers")
    bad = [r for r in results if r[1] != 200]
    check(not bad, "concurrent posts failed: %r" % bad[:3])


def test_shopper_view():
    ws.check_shopper(client(), ORDER, "apfcgid")


def test_odd_order_ids():
    """Ids with '/' need AllowEncodedSlashes NoDecode (contrib's vhost has it)."""
    ws.check_odd_order_ids(client(), "apfcgid")


def test_operator_view():
    """Authorization reaches api.fcgi (CGIPassAuth On): 200 with the token,
    401 without or with a wrong one."""
    ws.check_operator(client(), ORDER, state["ids"])


def test_stop_apache_and_check():
    proc = state["proc"]
    client()
    kids = ws.descendants(proc.pid)
    names = [ws.cmdline(k) for k in kids]
    check(any(n.endswith("/webhook.fcgi") for n in names), "mod_fcgid ran webhook.fcgi: %r" % names)
    check(any(n.endswith("/api.fcgi") for n in names), "mod_fcgid ran api.fcgi: %r" % names)
    if ws.SERVER_USER:
        for k in kids:
            if ws.cmdline(k).endswith(".fcgi"):
                with open("/proc/%d/status" % k) as f:
                    uid = [ln.split()[1] for ln in f if ln.startswith("Uid:")][0]
                eq(int(uid), ws.pwd.getpwnam(ws.SERVER_USER).pw_uid,
                   "%s runs as %s" % (ws.cmdline(k), ws.SERVER_USER))
    survivors = ws.stop(proc)
    check(not survivors, "processes left 5 s after Apache stopped (killed): %r" % survivors)
    # With Apache gone the database is ours to read.
    eq(st.sqlite(DB, "SELECT count(*) FROM events WHERE id LIKE 'evt_apfcgid_%'")[0][0], 4,
       "events stored")
    eq(st.sqlite(DB, "SELECT count(*) FROM events WHERE id LIKE 'evt_apconc_%'")[0][0], 20,
       "concurrent events stored")
    log = ws.check_log(ERRORLOG, (b"mod_fcgid: error", b"Premature end of script"))
    check(b"shiptrack-webhook[" in log, "receiver log lines in Apache's error log")
    check(b"bad rye1 signature" in log, "bad-signature line")


def main():
    if not os.access(APACHE, os.X_OK):
        print("not ok - apache2 not found at %s" % APACHE)
        sys.exit(1)
    try:
        st.run(dict(globals()))
    except SystemExit as e:
        if e.code:
            ws.tail(ERRORLOG)
        raise
    finally:
        ws.stop(state["proc"])


if __name__ == "__main__":
    main()
