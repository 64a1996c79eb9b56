"""Local stand-ins for the two places `shiptrack notify` delivers to.

Receiver: the store's webhook endpoint (http.server on 127.0.0.1).  It
checks every delivery's Standard Webhooks signature itself, records what
came, and answers as told: "ok" (200), "fail" (500), "gone" (410),
"busy" (503 with Retry-After), "big" (200 with a huge body), or "hang"
(holds the request until release(), then answers 200 or drops it).

SmtpSink: a minimal SMTP server (socketserver; not the deprecated smtpd
module) that records each message with its envelope, and can refuse
recipients temporarily ("tempfail": 451) or for good ("reject": 550), or
require AUTH PLAIN with given credentials.  It never offers STARTTLS (as a
server without TLS, or a man in the middle who strips it, would not) and
records the verb of every command it is sent (`verbs`), so a test can
tell whether AUTH was ever attempted.

Python 3 standard library only.
"""

import base64
import hashlib
import hmac
import json
import socketserver
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def sw_key(secret):
    """The Standard Webhooks signing key: base64 after "whsec_"."""
    if secret.startswith("whsec_"):
        secret = secret[6:]
    return base64.b64decode(secret)


def sw_verify(secret, msg_id, timestamp, body, header):
    """True when one "v1,<base64>" in the space-separated header matches."""
    signed = msg_id.encode() + b"." + timestamp.encode() + b"." + body
    want = base64.b64encode(hmac.new(sw_key(secret), signed, hashlib.sha256).digest())
    for part in (header or "").split(" "):
        version, _, sig = part.partition(",")
        if version == "v1" and hmac.compare_digest(sig.encode(), want):
            return True
    return False


class Receiver:
    def __init__(self, secret):
        self.secret = secret
        self.mode = "ok"
        self.deliveries = []
        self.lock = threading.Lock()
        self.arrived = threading.Event()    # a request is being held ("hang")
        self._release = threading.Event()
        self._answer_after_hang = True
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_POST(self):
                receiver._handle(self)

        class Server(ThreadingHTTPServer):
            daemon_threads = True

            def handle_error(self, request, client_address):
                pass    # a sender that hung up (timeouts, kill -9) is expected

        self.server = Server(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self):
        return "http://127.0.0.1:%d/hooks/shiptrack?token=tok_in_url_x" % self.server.server_port

    def set_mode(self, mode):
        """Leaving "hang" ends a held request as release() last said
        (answered, unless release(answer=False) came first)."""
        with self.lock:
            self.mode = mode
            if mode != "hang":
                self._release.set()
            else:
                self._answer_after_hang = True
                self._release.clear()
                self.arrived.clear()

    def release(self, answer=True):
        """End a "hang": answer 200, or (answer=False) drop the connection."""
        self._answer_after_hang = answer
        self._release.set()

    def accepted(self):
        """Deliveries answered 2xx."""
        with self.lock:
            return [d for d in self.deliveries if d["answered"] and 200 <= d["answered"] < 300]

    def all(self):
        with self.lock:
            return list(self.deliveries)

    def close(self):
        self._release.set()
        self.server.shutdown()
        self.server.server_close()

    def _handle(self, h):
        n = int(h.headers.get("Content-Length", "0"))
        body = h.rfile.read(n)
        d = {
            "id": h.headers.get("webhook-id"),
            "timestamp": h.headers.get("webhook-timestamp"),
            "signature": h.headers.get("webhook-signature"),
            "content_type": h.headers.get("Content-Type"),
            "path": h.path,
            "body": body,
            "received": time.time(),
            "answered": None,
        }
        d["sig_ok"] = bool(d["id"] and d["timestamp"] and sw_verify(
            self.secret, d["id"], d["timestamp"], body, d["signature"]))
        try:
            d["json"] = json.loads(body)
        except ValueError:
            d["json"] = None
        with self.lock:
            self.deliveries.append(d)
            mode = self.mode
        if mode == "hang":
            self.arrived.set()
            self._release.wait(120)
            if not self._answer_after_hang:
                return          # drop the connection without an answer
            mode = "ok"
        status, extra, reply = {
            "ok": (200, {}, b'{"ok":true}'),
            "fail": (500, {}, b"boom\r\nX-Injected: no\x1b[31m"),
            "gone": (410, {}, b"gone"),
            "busy": (503, {"Retry-After": "120"}, b"busy"),
            "big": (200, {}, b"x" * (200 * 1024)),
        }[mode]
        d["answered"] = status  # before the bytes go: the sender may be quicker than us
        try:
            h.send_response(status)
            for k, v in extra.items():
                h.send_header(k, v)
            h.send_header("Content-Length", str(len(reply)))
            h.end_headers()
            h.wfile.write(reply)
            h.wfile.flush()
        except OSError:
            d["answered"] = None    # the sender had gone


class SmtpSink:
    def __init__(self, user=None, password=None):
        self.messages = []
        self.verbs = []         # every command's verb, in order (no arguments)
        self.mode = "ok"
        self.user, self.password = user, password
        self.lock = threading.Lock()
        sink = self

        class Handler(socketserver.StreamRequestHandler):
            timeout = 30

            def handle(self):
                sink._session(self)

        class Server(socketserver.ThreadingTCPServer):
            allow_reuse_address = True
            daemon_threads = True

        self.server = Server(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self):
        return "smtp://127.0.0.1:%d" % self.server.server_address[1]

    def close(self):
        self.server.shutdown()
        self.server.server_close()

    def _session(self, h):
        def say(line):
            h.wfile.write(line.encode("ascii") + b"\r\n")
            h.wfile.flush()

        env = {"from": None, "rcpt": [], "auth": None}
        say("220 sink.test ESMTP ready")
        while True:
            raw = h.rfile.readline(4096)
            if not raw:
                return
            line = raw.decode("latin-1").rstrip("\r\n")
            verb = line.split(" ", 1)[0].upper()
            with self.lock:
                self.verbs.append(verb)
            if verb == "EHLO":
                say("250-sink.test")
                if self.user is not None:
                    say("250-AUTH PLAIN")
                say("250 8BITMIME")
            elif verb == "HELO":
                say("250 sink.test")
            elif verb == "AUTH":
                env["auth"] = self._auth(h, line, say)
            elif verb == "MAIL":
                if self.user is not None and env["auth"] is None:
                    say("530 5.7.0 authentication required")
                    continue
                env["from"] = line[10:].strip()
                env["rcpt"] = []
                say("250 OK")
            elif verb == "RCPT":
                if self.mode == "tempfail":
                    say("451 4.3.0 try again later")
                elif self.mode == "reject":
                    say("550 5.1.1 no such mailbox")
                else:
                    env["rcpt"].append(line[8:].strip())
                    say("250 OK")
            elif verb == "DATA":
                say("354 go ahead")
                data = self._data(h)
                with self.lock:
                    self.messages.append({"from": env["from"], "rcpt": list(env["rcpt"]),
                                          "auth": env["auth"], "data": data})
                say("250 OK queued")
            elif verb in ("RSET", "NOOP"):
                say("250 OK")
            elif verb == "QUIT":
                say("221 bye")
                return
            else:
                say("502 5.5.2 not implemented")

    def _auth(self, h, line, say):
        parts = line.split(" ")
        if len(parts) < 2 or parts[1].upper() != "PLAIN":
            say("504 5.5.4 mechanism not supported")
            return None
        if len(parts) == 3:
            blob = parts[2]
        else:
            say("334 ")
            blob = h.rfile.readline(4096).decode("latin-1").strip()
        try:
            _, user, password = base64.b64decode(blob).decode("utf-8").split("\0")
        except ValueError:
            say("501 5.5.2 bad AUTH")
            return None
        if user == self.user and password == self.password:
            say("235 2.7.0 authenticated")
            return user
        say("535 5.7.8 bad credentials")
        return None

    @staticmethod
    def _data(h):
        out = []
        while True:
            raw = h.rfile.readline(65536)
            if not raw or raw in (b".\r\n", b".\n"):
                break
            if raw.startswith(b".."):
                raw = raw[1:]
            out.append(raw)
        return b"".join(out)
