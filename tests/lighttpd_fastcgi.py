#!/usr/bin/env python3
"""webhook.fcgi and api.fcgi under a real lighttpd, over FastCGI.

lighttpd runs with contrib/lighttpd/shiptrack.conf as shipped, its
placeholders filled in for paths and the port only; it spawns both
programs (bin-path, max-procs 2) on unix sockets in a temporary directory
and serves web/; the settings go in a shiptrack.conf named by @CONFIG@.
The suite is tests/webserver.py's; lighttpd's own check: it spawned both
programs, and they end with it.
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import shiptrack_test as st  # noqa: E402
import webserver as ws  # noqa: E402
from shiptrack_test import check  # noqa: E402

LIGHTTPD = os.environ.get("LIGHTTPD") or "/usr/sbin/lighttpd"
TMP = st.tempdir("shiptrack-httpd-")
DB = os.path.join(TMP, "shiptrack.db")
# server.errorlog of contrib/lighttpd/shiptrack.conf (@STATEDIR@ is TMP)
ERRORLOG = os.path.join(TMP, "lighttpd-error.log")
CONF = os.path.join(TMP, "shiptrack.conf")


def write_config(port):
    """contrib/lighttpd/shiptrack.conf filled in for paths and the port; the
    receiver's settings in the shiptrack.conf it names."""
    ws.write_config(CONF, DB, max_body=Lighttpd.max_body, read_timeout=5)
    path = os.path.join(TMP, "lighttpd.conf")
    ws.fill(ws.contrib("lighttpd", "shiptrack.conf"), path,
            {"WEBROOT": os.path.join(st.TOP_SRCDIR, "web"), "PORT": port,
             "STATEDIR": TMP, "LIBEXECDIR": os.path.join(st.TOP_BUILDDIR, "cgi"),
             "CONFIG": CONF})
    return path


class Lighttpd(ws.Server):
    name = "lighttpd"
    tag = "httpd"
    order = "ord_httpd_1"
    db = DB
    # The programs' stderr lands in the error log too, as an init system
    # collecting both would.
    logs = [(ERRORLOG, (b"child exited", b"connect() failed", b"overloaded"))]
    receiver_log = ERRORLOG

    def start(self):
        ws.migrate(DB)
        port = ws.free_port()
        self.proc = ws.start_lighttpd(write_config(port), ERRORLOG, port)
        self.client = ws.Client(port)

    def stop(self):
        return ws.stop(self.proc)

    def after(self):
        return [("lighttpd_spawned_the_programs", self.spawned_the_programs)]

    def spawned_the_programs(self):
        names = [ws.cmdline(k) for k in ws.descendants(self.proc.pid)]
        check(any(n.endswith("/webhook.fcgi") for n in names),
              "lighttpd spawned webhook.fcgi: %r" % names)
        check(any(n.endswith("/api.fcgi") for n in names), "lighttpd spawned api.fcgi: %r" % names)


def main():
    if not os.access(LIGHTTPD, os.X_OK):
        print("not ok - lighttpd not found at %s" % LIGHTTPD)
        sys.exit(1)
    ws.run(Lighttpd(), tail_on_failure=[ERRORLOG])


if __name__ == "__main__":
    main()
