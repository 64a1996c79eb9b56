#!/usr/bin/env python3
"""webhook and api as plain CGI programs under a real Apache 2.4 (mod_cgi,
mod_rewrite), set up the shared-hosting way contrib/apache/htaccess
describes: a web directory holding the page's files, webhook.cgi (a copy of
webhook.fcgi), api.cgi (a symlink to api.fcgi) and the .htaccess, its
@CONFIG@ filled in.  The top-level configuration is a minimal one that
allows overrides (AllowOverride All) for that directory only.

As root, Apache runs the CGI programs as www-data: the state directory is
given to www-data.
"""
import os
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import shiptrack_test as st  # noqa: E402
import webserver as ws  # noqa: E402
from shiptrack_test import check, eq  # noqa: E402

APACHE = os.environ.get("APACHE2") or "/usr/sbin/apache2"
MODULES = os.environ.get("APACHE_MODULES") or "/usr/lib/apache2/modules"
TMP = st.tempdir("shiptrack-apache-cgi-")
STATE = ws.state_dir(TMP)
WWW = os.path.join(TMP, "www")
DB = os.path.join(STATE, "shiptrack.db")
CONF = os.path.join(STATE, "shiptrack.conf")
ERRORLOG = os.path.join(TMP, "error.log")
MAX_BODY = 4096
ORDER = "ord_apache_cgi_1"

state = {"proc": None, "port": None, "client": None}

TOP = """# A minimal top level: one directory, overrides allowed, as on a shared
# host; everything shiptrack needs is in that directory's .htaccess.
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
LoadModule mpm_prefork_module %(mod)s/mod_mpm_prefork.so
StartServers 2
LoadModule authz_core_module %(mod)s/mod_authz_core.so
LoadModule mime_module %(mod)s/mod_mime.so
TypesConfig /etc/mime.types
LoadModule dir_module %(mod)s/mod_dir.so
LoadModule env_module %(mod)s/mod_env.so
LoadModule headers_module %(mod)s/mod_headers.so
LoadModule rewrite_module %(mod)s/mod_rewrite.so
LoadModule cgi_module %(mod)s/mod_cgi.so
%(passenv)s
AccessFileName .htaccess
<Directory />
    Options None
    AllowOverride None
    Require all denied
</Directory>
<FilesMatch "^\\.ht">
    Require all denied
</FilesMatch>
DocumentRoot "%(www)s"
<Directory "%(www)s">
    AllowOverride All
    Require all granted
</Directory>
"""


def make_webdir():
    os.makedirs(WWW, exist_ok=True)
    web = os.path.join(st.TOP_SRCDIR, "web")
    # The page's files and its catalogs (web/i18n/).
    shutil.copytree(web, WWW, ignore=shutil.ignore_patterns("*.md"), dirs_exist_ok=True)
    shutil.copy(st.WEBHOOK, os.path.join(WWW, "webhook.cgi"))
    link = os.path.join(WWW, "api.cgi")
    if not os.path.lexists(link):
        os.symlink(st.API, link)
    ws.fill(ws.contrib("apache", "htaccess"), os.path.join(WWW, ".htaccess"),
            {"CONFIG": CONF})
    os.chmod(WWW, 0o755)


def write_configs(port):
    ws.write_config(CONF, DB, max_body=MAX_BODY)
    ws.migrate(DB)
    ws.chown_to_server(STATE)
    make_webdir()
    # A sanitizer build's options reach the CGI programs through PassEnv.
    names = [k for k in ("ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS", "LD_LIBRARY_PATH")
             if k in os.environ]
    passenv = "PassEnv " + " ".join(names) if names else ""
    user = "User %s\nGroup %s" % (ws.SERVER_USER, ws.SERVER_USER) if ws.SERVER_USER else ""
    top = os.path.join(TMP, "apache2.conf")
    with open(top, "w") as f:
        f.write(TOP % {"tmp": TMP, "port": port, "errorlog": ERRORLOG, "mod": MODULES,
                       "user": user, "passenv": passenv, "www": WWW})
    return top


def start():
    env = st.base_env()
    for k in ("ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS", "LD_LIBRARY_PATH"):
        if k in os.environ:
            env[k] = os.environ[k]
    for attempt in range(3):
        port = ws.free_port()
        top = write_configs(port)
        t = subprocess.run([APACHE, "-t", "-f", top], capture_output=True, text=True,
                           timeout=30, env=env)
        if t.returncode != 0:
            raise AssertionError("apache2 rejects the configuration: %s%s" %
                                 (t.stdout, t.stderr))
        proc = subprocess.Popen([APACHE, "-f", top, "-DFOREGROUND"],
                                stdin=subprocess.DEVNULL,
                                stdout=open(os.path.join(TMP, "stdout.log"), "ab"),
                                stderr=subprocess.STDOUT, env=env,
                                # Apache signals its whole process group on
                                # shutdown (prefork: SIGTERM): not ours.
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
    state["ids"] = ws.check_webhooks(client(), ORDER, "apcgi")


def test_oversized_webhook():
    big = st.event("PAYMENT_SUCCEEDED", ORDER, st.iso(9), "evt_apcgi_big",
                   data={"pad": "z" * (MAX_BODY * 3)})
    r = client().post(big)
    eq(r.status, 413, "oversize (%r)" % r)
    eq(r.json()["error"], "payload_too_large", "error code")


def test_shopper_view():
    ws.check_shopper(client(), ORDER, "apcgi")


def test_operator_view():
    """Authorization reaches api.cgi (CGIPassAuth On in .htaccess)."""
    ws.check_operator(client(), ORDER, state["ids"])


def test_path_info_and_private_files():
    """The API sees PATH_INFO /v1/... exactly once (the rewrite must not
    append the original path info again), and the .htaccess is not served."""
    r = client().get("/api/v1/v1/health")
    eq(r.status, 404, "doubled path is not the health route")
    r = client().get("/.htaccess")
    eq(r.status, 403, "GET /.htaccess")
    r = client().get("/webhook.cgi")
    eq(r.status, 405, "GET /webhook.cgi is the receiver too")


def test_stop_apache_and_check():
    client()
    survivors = ws.stop(state["proc"])
    check(not survivors, "processes left 5 s after Apache stopped (killed): %r" % survivors)
    eq(st.sqlite(DB, "SELECT count(*) FROM events WHERE id LIKE 'evt_apcgi_%'")[0][0], 4,
       "events stored")
    log = ws.check_log(ERRORLOG, (b"Premature end of script", b"End of script output before headers"))
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
