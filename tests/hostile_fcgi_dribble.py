#!/usr/bin/env python3
"""A body dribbled one byte a second to webhook.fcgi over FastCGI must be
answered 408 when read_timeout has passed, as in CGI mode.

This is what a web server that streams request bodies to the backend
passes on (lighttpd's server.stream-request-body = 1 or 2, nginx's
fastcgi_request_buffering off).  The test speaks FastCGI itself, over a
unix socket, to a webhook.fcgi it starts (SHIPTRACK_READ_TIMEOUT=2), so no
web server's own buffering or timeouts are involved.

In FastCGI mode FCGX_GetStr keeps reading until its buffer is full, and
each arriving byte re-arms SO_RCVTIMEO; http.c therefore reads what the
stream holds and, when it is empty, one byte with the socket timeout set
to what is left of the whole body's deadline.  A stalled body (no byte at all) does get its
408 (tests/hostile.py, through lighttpd).
"""
import os
import select
import socket
import struct
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import shiptrack_test as st  # noqa: E402
from shiptrack_test import check, eq  # noqa: E402

READ_TIMEOUT = 2
TMP = st.tempdir("shiptrack-fcgi-")
DB = st.fresh_db(TMP)
state = {"proc": None, "sock": None}

FCGI_BEGIN_REQUEST, FCGI_END_REQUEST, FCGI_PARAMS, FCGI_STDIN, FCGI_STDOUT = 1, 3, 4, 5, 6


def record(rtype, content, rid=1):
    return struct.pack(">BBHHBx", 1, rtype, rid, len(content), 0) + content


def name_value(k, v):
    def length(n):
        return bytes([n]) if n < 128 else struct.pack(">I", n | 0x80000000)
    k, v = k.encode(), v.encode()
    return length(len(k)) + length(len(v)) + k + v


def begin(params):
    """A connected socket with the request's begin and params sent."""
    c = socket.socket(socket.AF_UNIX)
    c.connect(state["sock"])
    c.sendall(record(FCGI_BEGIN_REQUEST, struct.pack(">HB5x", 1, 0)) +
              record(FCGI_PARAMS, b"".join(name_value(k, v) for k, v in params.items())) +
              record(FCGI_PARAMS, b""))
    return c


def read_stdout(c, limit):
    """The FCGI_STDOUT bytes until FCGI_END_REQUEST, or None after limit s."""
    data, out, t0 = b"", b"", time.monotonic()
    while time.monotonic() - t0 < limit:
        r, _, _ = select.select([c], [], [], 0.2)
        if not r:
            continue
        d = c.recv(65536)
        if not d:
            break
        data += d
        while len(data) >= 8:
            _, rtype, _, clen, plen = struct.unpack(">BBHHBx", data[:8])
            if len(data) < 8 + clen + plen:
                break
            if rtype == FCGI_STDOUT:
                out += data[8:8 + clen]
            elif rtype == FCGI_END_REQUEST:
                return out
            data = data[8 + clen + plen:]
    return None


def params_for(body):
    return {"REQUEST_METHOD": "POST", "CONTENT_LENGTH": str(len(body)),
            "CONTENT_TYPE": "application/json",
            "HTTP_RYE_HMAC_SIGNATURE_V1": st.sign_v1(st.SECRET, body)}


def test_start_receiver():
    path = os.path.join(TMP, "webhook.sock")
    ls = socket.socket(socket.AF_UNIX)
    ls.bind(path)
    ls.listen(16)
    env = st.base_env(st.webhook_env(DB, SHIPTRACK_READ_TIMEOUT=READ_TIMEOUT))
    with open(os.path.join(TMP, "webhook.log"), "ab") as log:
        state["proc"] = subprocess.Popen([st.WEBHOOK], stdin=ls.fileno(), env=env,
                                         stdout=subprocess.DEVNULL, stderr=log)
    ls.close()
    state["sock"] = path
    body = st.event("PAYMENT_SUCCEEDED", "ord_fcgi", st.iso(0), "evt_fcgi_1")
    c = begin(params_for(body))
    c.sendall(record(FCGI_STDIN, body) + record(FCGI_STDIN, b""))
    out = read_stdout(c, 10)
    c.close()
    check(out is not None and out.startswith(b"Status: 200"), "good event over FastCGI: %r" % out)


def test_dribbled_body_gets_408():
    body = st.event("PAYMENT_SUCCEEDED", "ord_fcgi", st.iso(1), "evt_fcgi_dribble")
    c = begin(params_for(body))
    t0 = time.monotonic()
    out, sent = None, 0
    try:
        while time.monotonic() - t0 < READ_TIMEOUT + 4 and sent < len(body):
            c.sendall(record(FCGI_STDIN, body[sent:sent + 1]))
            sent += 1
            out = read_stdout(c, 1.0)
            if out is not None:
                break
    except OSError:
        out = read_stdout(c, 1.0)
    finally:
        c.close()
    t = time.monotonic() - t0
    check(out is not None, "no answer %.1f s into a body dribbled 1 byte/s (%d bytes sent);"
          " read_timeout is %d s" % (t, sent, READ_TIMEOUT))
    check(out.startswith(b"Status: 408"), "answer: %r" % out[:200])
    check(t <= READ_TIMEOUT + 1.5, "408 after %.2f s" % t)
    eq(st.sqlite(DB, "SELECT count(*) FROM events WHERE id = 'evt_fcgi_dribble'")[0][0], 0,
       "nothing stored")


def main():
    try:
        st.run(dict(globals()))
    finally:
        p = state["proc"]
        if p is not None and p.poll() is None:
            p.terminate()
            try:
                p.wait(5)
            except subprocess.TimeoutExpired:
                p.kill()


if __name__ == "__main__":
    main()
