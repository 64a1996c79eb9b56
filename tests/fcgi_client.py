"""A minimal FastCGI client (Python 3 standard library) for tests that need
control a web server would not give: records sent one byte at a time,
bodies that stop, answers read record by record.

    import fcgi_client as fc
    r = fc.Receiver(st.WEBHOOK, env)      # the program on a unix socket
    c = r.begin(fc.webhook_params(body))  # BEGIN_REQUEST + PARAMS sent
    c.sendall(fc.stdin(body) + fc.stdin(b""))
    answer = fc.Reader(c).wait(10)        # STDOUT bytes, or None
    r.stop()
"""
import os
import select
import socket
import struct
import subprocess
import time

import shiptrack_test as st

BEGIN_REQUEST, END_REQUEST, PARAMS, STDIN, STDOUT = 1, 3, 4, 5, 6


def record(rtype, content, rid=1):
    return struct.pack(">BBHHBx", 1, rtype, rid, len(content), 0) + content


def stdin(data):
    """One FCGI_STDIN record (empty: the end of the body)."""
    return record(STDIN, data)


def name_value(k, v):
    def length(n):
        return bytes([n]) if n < 128 else struct.pack(">I", n | 0x80000000)
    k, v = k.encode(), v.encode()
    return length(len(k)) + length(len(v)) + k + v


def webhook_params(body, signed=True, method="POST", content_length=None):
    p = {"REQUEST_METHOD": method, "CONTENT_TYPE": "application/json",
         "CONTENT_LENGTH": str(len(body) if content_length is None else content_length)}
    if signed:
        p["HTTP_RYE_HMAC_SIGNATURE_V1"] = st.sign_v1(st.SECRET, body)
    return p


class Receiver:
    """A FastCGI program listening on a unix socket in tmpdir (fd 0)."""

    def __init__(self, program, env, tmpdir):
        self.path = os.path.join(tmpdir, "fcgi-%d.sock" % os.getpid())
        ls = socket.socket(socket.AF_UNIX)
        ls.bind(self.path)
        ls.listen(16)
        with open(os.path.join(tmpdir, "fcgi.log"), "ab") as log:
            self.proc = subprocess.Popen([program], stdin=ls.fileno(), env=env,
                                         stdout=subprocess.DEVNULL, stderr=log)
        ls.close()

    def begin(self, params):
        """A connected socket with BEGIN_REQUEST and the params sent."""
        c = socket.socket(socket.AF_UNIX)
        c.connect(self.path)
        c.sendall(record(BEGIN_REQUEST, struct.pack(">HB5x", 1, 0)) +
                  record(PARAMS, b"".join(name_value(k, v) for k, v in params.items())) +
                  record(PARAMS, b""))
        return c

    def request(self, params, body, limit=10):
        """A whole request; the STDOUT bytes, or None after limit s."""
        c = self.begin(params)
        try:
            c.sendall(stdin(body) + stdin(b""))
            return Reader(c).wait(limit)
        finally:
            c.close()

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


class Reader:
    """Collects FCGI_STDOUT from a connection until FCGI_END_REQUEST."""

    def __init__(self, c):
        self.c, self.data, self.out, self.done = c, b"", b"", False

    def wait(self, limit, until_started=False):
        """The whole answer once FCGI_END_REQUEST is in, else None after limit
        s (or as soon as the status line is in, with until_started)."""
        t0 = time.monotonic()
        while not self.done and time.monotonic() - t0 < limit:
            if until_started and self.started():
                break
            r, _, _ = select.select([self.c], [], [], 0.1)
            if not r:
                continue
            try:
                d = self.c.recv(65536)
            except OSError:
                break
            if not d:
                break
            self.data += d
            while len(self.data) >= 8:
                _, rtype, _, clen, plen = struct.unpack(">BBHHBx", self.data[:8])
                if len(self.data) < 8 + clen + plen:
                    break
                if rtype == STDOUT:
                    self.out += self.data[8:8 + clen]
                elif rtype == END_REQUEST:
                    self.done = True
                self.data = self.data[8 + clen + plen:]
        return self.out if self.done else None

    def started(self):
        """The answer's status line has arrived (its end may wait)."""
        return self.out.startswith(b"Status:") and b"\r\n" in self.out
