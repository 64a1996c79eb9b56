#!/usr/bin/env python3
"""`make demo` as a newcomer runs it: start, Ctrl-C, start again.

contrib/demo.sh is started in its own process group with a private state
directory (DEMO_STATE) and a free port; once it prints "Press Ctrl-C" the
test fetches a shopper link it printed, then sends SIGINT to the whole
group (what Ctrl-C in a terminal does) and expects a clean exit.  The
second start reuses the same state directory, the case that used to fail
("carrier stand-in: 404 no such tracking"): a database from the last demo
against a new, empty stand-in.
"""
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import shiptrack_test as st  # noqa: E402

START_TIMEOUT = 90 * st.SLACK
STATE = st.tempdir("shiptrack-demo-")


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def start_demo():
    """Run demo.sh until its banner; returns (process, banner text)."""
    env = dict(os.environ, DEMO_STATE=STATE, PORT=str(free_port()),
               top_builddir=st.TOP_BUILDDIR)
    env.pop("SHIPTRACK_CONFIG", None)
    p = subprocess.Popen(["bash", os.path.join(st.TOP_SRCDIR, "contrib", "demo.sh")],
                         env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                         text=True, start_new_session=True)
    out = []
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        line = p.stdout.readline()
        if not line:
            break
        out.append(line)
        if "Press Ctrl-C" in line:
            return p, "".join(out)
    stop(p)
    raise AssertionError("demo did not start:\n" + "".join(out))


def stop(p):
    """Ctrl-C: SIGINT to the demo's process group; it must exit 0."""
    try:
        os.killpg(p.pid, signal.SIGINT)
    except ProcessLookupError:
        pass
    try:
        rest, _ = p.communicate(timeout=30 * st.SLACK)
    except subprocess.TimeoutExpired:
        left = subprocess.run(["ps", "-o", "pid,stat,etime,args", "-g", str(p.pid)],
                              capture_output=True, text=True).stdout
        os.killpg(p.pid, signal.SIGKILL)
        p.communicate()
        raise AssertionError("demo ignored Ctrl-C; still running:\n" + left)
    return p.returncode, rest


def check_running(banner):
    links = re.findall(r"(http://127\.0\.0\.1:\d+/\?order=(demo-[a-z]+)&key=(\S+))", banner)
    st.check(len(links) >= 4, "banner lists the shopper links: %r" % banner)
    st.check("fresh database" in banner, "banner says the demo starts afresh")
    url, order, key = links[0]
    api = url.split("/?")[0] + "/api/v1/track/%s?key=%s" % (order, key)
    with urllib.request.urlopen(api, timeout=10) as r:
        view = json.loads(r.read())
    st.eq(view["id"], order, "shopper view of the first link")
    st.eq(view["stage"], "delivered", "the seeded order after two poll runs")
    # The gen-2 order: its tracking came only through thin webhooks and the
    # Rye pass, then the carrier pass moved it on.
    thin = [ln for ln in links if ln[1] == "demo-thin"]
    st.check(thin, "banner lists the gen-2 order: %r" % banner)
    url, order, key = thin[0]
    api = url.split("/?")[0] + "/api/v1/track/%s?key=%s" % (order, key)
    with urllib.request.urlopen(api, timeout=10) as r:
        view = json.loads(r.read())
    st.eq([(s["trackingNumber"], s["carrier"], s["tag"]) for s in view["shipments"]],
          [("1Z999AA10123456799", "UPS", "InTransit")], "the gen-2 order's parcel")


def test_demo_starts_twice_in_a_row():
    tokens = []
    for attempt in (1, 2):
        p, banner = start_demo()
        try:
            check_running(banner)
        finally:
            rc, rest = stop(p)
        st.eq(rc, 0, "demo exit status after Ctrl-C (start %d)" % attempt)
        st.check("demo stopped" in rest, "demo says it stopped: %r" % rest)
        tokens.append(re.search(r"token: (\S+)", banner).group(1))
    st.eq(tokens[0], tokens[1], "the operator token is kept across starts")


if __name__ == "__main__":
    st.run()
