#!/usr/bin/env python3
"""webhook.fcgi and api.fcgi under a real Apache 2.4 with mod_fcgid, using
contrib/apache/shiptrack.conf as shipped (placeholders filled in for paths
and the port only), included from a minimal top-level configuration that
stands in for Debian's apache2.conf and loads the modules Debian enables.

As root, Apache runs its children (and so mod_fcgid's programs) as
www-data: the state directory is given to www-data.  The suite is
tests/webserver.py's; mod_fcgid's own checks: its request length limit,
and the programs it ran, as whom.
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import shiptrack_test as st  # noqa: E402
import webserver as ws  # noqa: E402
from shiptrack_test import check, eq  # noqa: E402

APACHE = ws.APACHE
TMP = st.tempdir("shiptrack-apache-fcgid-")
STATE = ws.state_dir(TMP)
DB = os.path.join(STATE, "shiptrack.db")
CONF = os.path.join(STATE, "shiptrack.conf")
ERRORLOG = os.path.join(TMP, "error.log")

# After the server-wide part (webserver.apache_top), the rest of what a
# Debian apache2.conf would provide; the site itself is
# contrib/apache/shiptrack.conf, included at the end.
MODULES = ["mpm_event", "authz_core", "mime", "dir", "alias", "env", "filter", "deflate",
           "headers", "fcgid"]
SITE = """TypesConfig /etc/mime.types
AddOutputFilterByType DEFLATE text/html text/plain text/css text/javascript
# mod_fcgid's shared state, server-wide (Debian: /var/lib/apache2/fcgid).
FcgidIPCDir "%(tmp)s/fcgid-sock"
FcgidProcessTableFile "%(tmp)s/fcgid-shm"
%(passenv)s
Include "%(site)s"
"""


def write_configs(port):
    ws.write_config(CONF, DB, max_body=ApacheFcgid.max_body)
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
    top = os.path.join(TMP, "apache2.conf")
    with open(top, "w") as f:
        f.write(ws.apache_top(TMP, port, ERRORLOG, MODULES) +
                SITE % {"tmp": TMP, "passenv": passenv, "site": site})
    return [APACHE, "-t", "-f", top], [APACHE, "-f", top, "-DFOREGROUND"]


class ApacheFcgid(ws.Server):
    name = "Apache (mod_fcgid)"
    tag = "apfcgid"
    order = "ord_apache_fcgid_1"
    db = DB
    logs = [(ERRORLOG, (b"mod_fcgid: error", b"Premature end of script"))]
    receiver_log = ERRORLOG

    def start(self):
        self.proc, port = ws.start_server("apache2", write_configs, ERRORLOG,
                                          os.path.join(TMP, "stdout.log"), st.base_env())
        self.client = ws.Client(port)

    def stop(self):
        return ws.stop(self.proc)

    def after(self):
        return [("oversized_webhook_over_fcgid_default", self.oversized_over_fcgid_default),
                ("fcgid_ran_the_programs", self.fcgid_ran_the_programs)]

    def oversized_over_fcgid_default(self):
        """Over mod_fcgid's old 128 KiB default: still the receiver's 413,
        which shows FcgidMaxRequestLen was raised (mod_fcgid itself answers
        500)."""
        huge = st.event("PAYMENT_SUCCEEDED", self.order, st.iso(9), "evt_apfcgid_huge",
                        data={"pad": "z" * (200 * 1024)})
        r = self.running().post(huge)
        eq(r.status, 413, "200 KiB body (%r)" % r)
        eq(r.json()["error"], "payload_too_large", "error code")

    def fcgid_ran_the_programs(self):
        kids = ws.descendants(self.proc.pid)
        names = [ws.cmdline(k) for k in kids]
        check(any(n.endswith("/webhook.fcgi") for n in names),
              "mod_fcgid ran webhook.fcgi: %r" % names)
        check(any(n.endswith("/api.fcgi") for n in names), "mod_fcgid ran api.fcgi: %r" % names)
        if ws.SERVER_USER:
            for k in kids:
                if ws.cmdline(k).endswith(".fcgi"):
                    with open("/proc/%d/status" % k) as f:
                        uid = [ln.split()[1] for ln in f if ln.startswith("Uid:")][0]
                    eq(int(uid), ws.pwd.getpwnam(ws.SERVER_USER).pw_uid,
                       "%s runs as %s" % (ws.cmdline(k), ws.SERVER_USER))


def main():
    if not os.access(APACHE, os.X_OK):
        print("not ok - apache2 not found at %s" % APACHE)
        sys.exit(1)
    ws.run(ApacheFcgid(), tail_on_failure=[ERRORLOG])


if __name__ == "__main__":
    main()
