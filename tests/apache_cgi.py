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
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import shiptrack_test as st  # noqa: E402
import webserver as ws  # noqa: E402
from shiptrack_test import eq  # noqa: E402

APACHE = ws.APACHE
TMP = st.tempdir("shiptrack-apache-cgi-")
STATE = ws.state_dir(TMP)
WWW = os.path.join(TMP, "www")
DB = os.path.join(STATE, "shiptrack.db")
CONF = os.path.join(STATE, "shiptrack.conf")
ERRORLOG = os.path.join(TMP, "error.log")
SANITIZER_VARS = ("ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS", "LD_LIBRARY_PATH")

# After the server-wide part (webserver.apache_top): a minimal top level,
# one directory with overrides allowed, as on a shared host; everything
# shiptrack needs is in that directory's .htaccess.
MODULES = ["mpm_prefork", "authz_core", "mime", "dir", "env", "headers", "rewrite", "cgi"]
SITE = """StartServers 2
TypesConfig /etc/mime.types
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
    ws.write_config(CONF, DB, max_body=ApacheCgi.max_body)
    ws.migrate(DB)
    ws.chown_to_server(STATE)
    make_webdir()
    # A sanitizer build's options reach the CGI programs through PassEnv.
    names = [k for k in SANITIZER_VARS if k in os.environ]
    passenv = "PassEnv " + " ".join(names) if names else ""
    top = os.path.join(TMP, "apache2.conf")
    with open(top, "w") as f:
        f.write(ws.apache_top(TMP, port, ERRORLOG, MODULES) +
                SITE % {"passenv": passenv, "www": WWW})
    return [APACHE, "-t", "-f", top], [APACHE, "-f", top, "-DFOREGROUND"]


class ApacheCgi(ws.Server):
    name = "Apache (plain CGI)"
    tag = "apcgi"
    order = "ord_apache_cgi_1"
    db = DB
    # A .htaccess cannot say AllowEncodedSlashes (contrib/apache/htaccess):
    # ids with "/" are not reachable here.
    encoded_slashes = False
    logs = [(ERRORLOG, (b"Premature end of script", b"End of script output before headers"))]
    receiver_log = ERRORLOG

    def start(self):
        env = st.base_env({k: os.environ[k] for k in SANITIZER_VARS if k in os.environ})
        self.proc, port = ws.start_server("apache2", write_configs, ERRORLOG,
                                          os.path.join(TMP, "stdout.log"), env)
        self.client = ws.Client(port)

    def stop(self):
        return ws.stop(self.proc)

    def after(self):
        return [("path_info_and_private_files", self.path_info_and_private_files)]

    def path_info_and_private_files(self):
        """The API sees PATH_INFO /v1/... exactly once (the rewrite must not
        append the original path info again), and the .htaccess is not
        served.  (Authorization reaches api.cgi: CGIPassAuth On in
        .htaccess, shown by the operator view.)"""
        c = self.running()
        r = c.get("/api/v1/v1/health")
        eq(r.status, 404, "doubled path is not the health route")
        r = c.get("/.htaccess")
        eq(r.status, 403, "GET /.htaccess")
        r = c.get("/webhook.cgi")
        eq(r.status, 405, "GET /webhook.cgi is the receiver too")


def main():
    if not os.access(APACHE, os.X_OK):
        print("not ok - apache2 not found at %s" % APACHE)
        sys.exit(1)
    ws.run(ApacheCgi(), tail_on_failure=[ERRORLOG])


if __name__ == "__main__":
    main()
