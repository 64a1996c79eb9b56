#!/usr/bin/env python3
"""A body dribbled to webhook.fcgi over FastCGI (two bytes a second) must be
answered 408 when read_timeout has passed, as in CGI mode, and the request
thread must be free again right after, while the client goes on sending.

This is what a web server that streams request bodies to the backend
passes on (lighttpd's server.stream-request-body = 1 or 2, nginx's
fastcgi_request_buffering off).  The test speaks FastCGI itself
(tests/fcgi_client.py), over a unix socket, to a webhook.fcgi it starts
with SHIPTRACK_READ_TIMEOUT=2 and one request thread, so no web server's
own buffering or timeouts are involved, and a held thread would show.

What it guards: reading meets the deadline even though every byte comes
well within a per-read timeout (http.c's read_some_fcgi), and finish()
flushes the 408 first, drains for at most a second, then closes without
libfcgi's careful wait, which a client dribbling on would extend for as
long as it dribbles (here: ~12 minutes).  So the bounds below are loose
(seconds, scaled by SHIPTRACK_TEST_SLACK) and still tell "freed" from
"held": this test runs beside the rest of `make -j check`, which loads
the CPUs and the disk.  The receiver runs at durability `normal`:
fsyncs queued behind other tests' are not what this test is about.
"""
import os
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import shiptrack_test as st  # noqa: E402
import fcgi_client as fc  # noqa: E402
from shiptrack_test import check, eq  # noqa: E402

READ_TIMEOUT = 2
TMP = st.tempdir("shiptrack-fcgi-")
DB = st.fresh_db(TMP)
state = {"receiver": None}


def good_event(eid, limit):
    body = st.event("PAYMENT_SUCCEEDED", "ord_fcgi", st.iso(2), eid)
    return state["receiver"].request(fc.webhook_params(body), body, limit)


def test_start_receiver():
    env = st.base_env(st.webhook_env(DB, SHIPTRACK_READ_TIMEOUT=READ_TIMEOUT,
                                     SHIPTRACK_THREADS=1, SHIPTRACK_DURABILITY="normal"))
    state["receiver"] = fc.Receiver(st.WEBHOOK, env, TMP)
    out = good_event("evt_fcgi_1", 10)
    check(out is not None and out.startswith(b"Status: 200"), "good event over FastCGI: %r" % out)


def test_dribbled_body_gets_408_and_frees_the_thread():
    # Two bytes a second, all along: each byte comes well within any
    # per-read timeout, so only a whole-body deadline can end the request,
    # and the client is still sending when the next request needs the thread.
    body = st.event("PAYMENT_SUCCEEDED", "ord_fcgi", st.iso(1), "evt_fcgi_dribble")
    c = state["receiver"].begin(fc.webhook_params(body))
    reader = fc.Reader(c)
    stop = threading.Event()

    def dribble():
        for i in range(len(body)):
            try:
                c.sendall(fc.stdin(body[i:i + 1]))
            except OSError:
                return  # the receiver closed: fine
            if stop.wait(0.5):
                return
    t0 = time.monotonic()
    th = threading.Thread(target=dribble, daemon=True)
    th.start()
    try:
        reader.wait(READ_TIMEOUT + 3 * st.SLACK, until_started=True)
        t = time.monotonic() - t0
        check(reader.started(), "no answer %.1f s into a dribbled body; read_timeout is %d s"
              % (t, READ_TIMEOUT))
        check(reader.out.startswith(b"Status: 408"), "answer: %r" % reader.out[:200])
        check(t <= READ_TIMEOUT + 2.5 * st.SLACK, "408 after %.2f s" % t)
        t1 = time.monotonic()
        out = good_event("evt_fcgi_after", 10 * st.SLACK)
        check(out is not None and out.startswith(b"Status: 200"),
              "good event while the dribbler goes on: %r after %.1f s (the one request"
              " thread is held)" % (out and out[:80], time.monotonic() - t1))
        check(time.monotonic() - t1 < 5 * st.SLACK, "good event took %.1f s" % (time.monotonic() - t1))
    finally:
        stop.set()
        th.join(2)
        c.close()
    eq([e["id"] for e in st.events_of(DB, "ord_fcgi") if e["id"] == "evt_fcgi_dribble"], [],
       "nothing stored")


def main():
    try:
        st.run(dict(globals()))
    finally:
        if state["receiver"] is not None:
            state["receiver"].stop()


if __name__ == "__main__":
    main()
