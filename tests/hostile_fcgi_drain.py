#!/usr/bin/env python3
"""Refused before the body is read, over FastCGI, while the client is still
dribbling the body: the answer must go out at once and the request thread
must be free again within a couple of seconds.

The receiver answers some requests without reading their bodies: no
signature header (401), a method other than POST (405), a CONTENT_LENGTH
over max_body (413).  After the answer, http.c's finish() drains what is
left of the input so that libfcgi can close without a reset.  A client
(or a streaming web server passing one on: lighttpd's
server.stream-request-body, nginx's fastcgi_request_buffering off) that
dribbles its body one byte every < read_timeout seconds keeps that drain
reading -- FCGX_GetStr(4096) re-arms SO_RCVTIMEO with every byte -- and
the answer, still in libfcgi's output buffer, is not sent until then.
Then libfcgi's careful close waits (2 s per read) for as long as bytes
keep coming.

finish() therefore flushes the answer first, bounds the drain by a
total deadline of a second, and closes without libfcgi's careful wait.
Speaks FastCGI itself (tests/fcgi_client.py) to a webhook.fcgi with one
request thread, at durability `normal` (the bounds are about the held
thread, not about fsyncs queued behind the other tests of `make -j check`).
"""
import os
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import shiptrack_test as st  # noqa: E402
import fcgi_client as fc  # noqa: E402
from shiptrack_test import check  # noqa: E402

TMP = st.tempdir("shiptrack-fcgi-drain-")
DB = st.fresh_db(TMP)
MAX_BODY = 4096
state = {"receiver": None}


def good_event(eid, limit):
    body = st.event("PAYMENT_SUCCEEDED", "ord_drain", st.iso(2), eid)
    return state["receiver"].request(fc.webhook_params(body), body, limit)


def test_start_receiver():
    env = st.base_env(st.webhook_env(DB, SHIPTRACK_READ_TIMEOUT=2, SHIPTRACK_THREADS=1,
                                     SHIPTRACK_MAX_BODY=MAX_BODY, SHIPTRACK_DURABILITY="normal"))
    state["receiver"] = fc.Receiver(st.WEBHOOK, env, TMP)
    out = good_event("evt_drain_1", 10)
    check(out is not None and out.startswith(b"Status: 200"), "good event: %r" % out)


def refused_while_dribbling(params, body, status, what):
    c = state["receiver"].begin(params)
    reader = fc.Reader(c)
    stop = threading.Event()

    def dribble():
        for i in range(len(body)):
            if stop.wait(0.5):
                return
            try:
                c.sendall(fc.stdin(body[i:i + 1]))
            except OSError:
                return
    t = threading.Thread(target=dribble, daemon=True)
    t0 = time.monotonic()
    t.start()
    try:
        reader.wait(3.0 * st.SLACK, until_started=True)
        check(reader.started(), "%s: no answer within %.0f s while the body dribbles" % (what, 3.0 * st.SLACK))
        check(reader.out.startswith(b"Status: %d" % status), "%s: %r" % (what, reader.out[:80]))
        check(time.monotonic() - t0 < 2.0 * st.SLACK, "%s: answered after %.1f s"
              % (what, time.monotonic() - t0))
        t1 = time.monotonic()
        out = good_event("evt_drain_after_%d" % status, 10 * st.SLACK)
        check(out is not None and out.startswith(b"Status: 200"),
              "%s: the one request thread is still held %.1f s later (%r)"
              % (what, time.monotonic() - t1, out and out[:60]))
        check(time.monotonic() - t1 < 5 * st.SLACK, "%s: good event took %.1f s"
              % (what, time.monotonic() - t1))
    finally:
        stop.set()
        t.join(2)
        c.close()


def test_401_without_signature_header():
    body = st.event("ORDER_PLACED", "ord_drain", st.iso(1), "evt_drain_401")
    refused_while_dribbling(fc.webhook_params(body, signed=False), body, 401, "401")


def test_413_declared_over_max_body():
    body = b"x" * 200
    refused_while_dribbling(fc.webhook_params(body, content_length=MAX_BODY + 1), body, 413,
                            "413")


def test_get_whose_end_of_input_never_comes():
    # finish() reads a bodiless GET's end-of-input record before it sends
    # the answer (so both leave in one write); a web server that never
    # sends that record must cost the answer at most finish()'s one-second
    # bound, and the thread must be free again after it.
    params = {"REQUEST_METHOD": "GET"}
    c = state["receiver"].begin(params)
    reader = fc.Reader(c)
    t0 = time.monotonic()
    try:
        reader.wait(3.0 * st.SLACK)
        check(reader.done, "GET without end of input: no whole answer within %.0f s"
              % (3.0 * st.SLACK))
        check(reader.out.startswith(b"Status: 405"), "GET: %r" % reader.out[:80])
        check(time.monotonic() - t0 < 1.0 + 2.0 * st.SLACK, "GET: answered after %.1f s"
              % (time.monotonic() - t0))
        out = good_event("evt_drain_after_get", 10 * st.SLACK)
        check(out is not None and out.startswith(b"Status: 200"),
              "GET: the one request thread is still held (%r)" % (out and out[:60]))
    finally:
        c.close()


def test_get_answered_in_one_piece():
    # The usual GET: the end-of-input record comes with the parameters.
    c = state["receiver"].begin({"REQUEST_METHOD": "GET"})
    try:
        c.sendall(fc.stdin(b""))
        out = fc.Reader(c).wait(5 * st.SLACK)
        check(out is not None and out.startswith(b"Status: 405"), "GET: %r" % out)
        check(b"Allow: POST" in out, "GET: %r" % out)
    finally:
        c.close()


def main():
    try:
        st.run(dict(globals()))
    finally:
        if state["receiver"] is not None:
            state["receiver"].stop()


if __name__ == "__main__":
    main()
