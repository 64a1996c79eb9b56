#!/usr/bin/env python3
"""Hostile clients against webhook.fcgi: as plain CGI, and through a real
lighttpd (contrib/lighttpd/shiptrack.conf with its placeholders filled).

Each hostile request must get its documented answer within a deadline,
must not crash or pin the receiver, and a good event right after it must
be answered 200.  What happens, by case:

| client                          | CGI (read_timeout 2 s)    | through lighttpd (defaults)          |
|---------------------------------|---------------------------|--------------------------------------|
| body dribbled 1 byte/s          | 408 timeout at ~2 s       | lighttpd buffers the body: the       |
|                                 |                           | receiver sees it whole, 200 when the |
|                                 |                           | last byte lands; no worker is held   |
| goes idle mid-body              | 408 at the deadline       | lighttpd drops the connection after  |
|                                 |                           | server.max-read-idle, no answer      |
| same, body streamed to backend  |                           | 408 from the receiver at ~2 s        |
| (server.stream-request-body=2)  |                           | (SO_RCVTIMEO)                        |
| Content-Length > body, then EOF | 400 bad_length at once    | lighttpd closes, no answer           |
| Content-Length < body           | 400 bad_length            | 401: lighttpd passes CL bytes, which |
|                                 |                           | the signature does not match         |
| 64 KiB signature header         | 401 bad_signature         | 431 from lighttpd                    |
| 10,000-deep JSON, signed        | 400 invalid_json, kept    | the same                             |
| 900 KB string value, signed     | 200, stored byte for byte | the same                             |
| body over max_body              | 413 payload_too_large     | 413 from the receiver; over          |
|                                 |                           | server.max-request-size: from lighttpd|
| invalid UTF-8, signed           | 400 invalid_json, kept    | the same                             |

Two lines are added to the contrib configuration for the test, both
lighttpd's own settings: server.max-read-idle = 4 (default 60 s, too long
to wait for here), and server.stream-request-body = 2 under the extra
prefix /webhook-stream (lighttpd's default buffers request bodies, so
the receiver's own deadline only shows when the body is streamed).

A dribbling client whose body is streamed to the receiver (not lighttpd's
default) is tests/hostile_fcgi_dribble.py.
"""
import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import shiptrack_test as st  # noqa: E402
import webserver as ws  # noqa: E402
from shiptrack_test import check, eq, error_answer  # noqa: E402

LIGHTTPD = os.environ.get("LIGHTTPD") or "/usr/sbin/lighttpd"
TMP = st.tempdir("shiptrack-hostile-")
READ_TIMEOUT = 2
MAX_BODY = 1048576
IDLE = 4
CGI_DB = st.fresh_db(TMP)
HTTPD_DB = os.path.join(TMP, "httpd.db")
state = {"proc": None, "port": None, "workers": None}
_n = [0]


def next_id(prefix):
    _n[0] += 1
    return "%s_%d" % (prefix, _n[0])


def good_body(prefix="evt_good"):
    return st.event("PAYMENT_SUCCEEDED", "ord_hostile", st.iso(_n[0]), next_id(prefix))


def deep_json(depth=10000):
    return b'{"id":"evt_deep","type":"ORDER_PLACED","createdAt":"2025-03-01T09:00:00Z",' \
        b'"data":' + b'[' * depth + b']' * depth + b'}'


def huge_string_body(size=900 * 1024):
    return st.event("PAYMENT_SUCCEEDED", "ord_hostile", st.iso(1), next_id("evt_huge"),
                    data={"marketplace": "shopify", "note": "x" * size})


INVALID_UTF8 = (b'{"id":"evt_utf8","type":"ORDER_PLACED","createdAt":"2025-03-01T09:00:00Z",'
                b'"requestId":"ord_\xff\xfe","data":{"note":"\xc0\xaf \xed\xa0\x80"}}')


# --- CGI ---------------------------------------------------------------------

def cgi_env(**extra):
    env = st.webhook_env(CGI_DB, SHIPTRACK_READ_TIMEOUT=READ_TIMEOUT)
    env.update(extra)
    return env


def cgi_fed(feed, sig_body, content_length, limit, extra_env=None, headers=None):
    """Run webhook.fcgi as CGI; feed(write) supplies stdin over time, then
    stdin is closed unless feed returns "keep".  Returns (Answer, elapsed).
    The answer must come within limit seconds."""
    e = st.base_env()
    e.update({"REQUEST_METHOD": "POST", "GATEWAY_INTERFACE": "CGI/1.1",
              "SERVER_PROTOCOL": "HTTP/1.1", "QUERY_STRING": ""})
    if content_length is not None:
        e["CONTENT_LENGTH"] = str(content_length)
    h = {"Rye-Hmac-Signature-V1": st.sign_v1(st.SECRET, sig_body)}
    h.update(headers or {})
    for k, v in h.items():
        e[st.header_var(k)] = v
    for k, v in cgi_env(**(extra_env or {})).items():
        e[k] = str(v)
    rfd, wfd = os.pipe()
    t0 = time.monotonic()
    proc = subprocess.Popen([st.WEBHOOK], stdin=rfd, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env=e, close_fds=True)
    os.close(rfd)
    w = os.fdopen(wfd, "wb", buffering=0)
    stop = threading.Event()

    def write(data):
        if stop.is_set():
            return False
        try:
            w.write(data)
            return True
        except OSError:
            return False

    def run():
        keep = feed(write, stop)
        if keep != "keep":
            try:
                w.close()
            except OSError:
                pass

    t = threading.Thread(target=run, daemon=True)
    t.start()
    try:
        out, err = proc.communicate(timeout=limit)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        raise AssertionError("no answer within %.1f s (hung?)" % limit)
    finally:
        stop.set()
        t.join(5)
        try:
            w.close()
        except OSError:
            pass
    elapsed = time.monotonic() - t0
    check(proc.returncode == 0, "webhook.fcgi exited %d: %r" % (proc.returncode, err[-2000:]))
    st.all_stderr.append(("webhook.fcgi", err))
    status, hdrs, body = st.parse_cgi(out)
    return st.Answer(status, hdrs, body, err, elapsed, out), elapsed


def cgi_good(what):
    a = st.post(CGI_DB, good_body(), env={"SHIPTRACK_READ_TIMEOUT": READ_TIMEOUT})
    eq(a.status, 200, "good event after %s (%s)" % (what, a))
    eq(a.json()["duplicate"], False, "good event after %s: duplicate" % what)


def rejected_count(db):
    return st.counts(db)["rejected_deliveries"]


def test_cgi_dribble_gets_408_within_deadline():
    body = good_body("evt_dribble")

    def feed(write, stop):
        for i in range(len(body)):
            if not write(body[i:i + 1]) or stop.wait(1.0):
                return
    a, t = cgi_fed(feed, body, len(body), READ_TIMEOUT + 3)
    error_answer(a, 408, "timeout", "dribbled body")
    check(READ_TIMEOUT - 0.2 <= t <= READ_TIMEOUT + 1.2 * st.SLACK,
          "408 after %.2f s, expected ~%d s" % (t, READ_TIMEOUT))
    eq([e["id"] for e in st.events_of(CGI_DB, "ord_hostile") if e["id"].startswith("evt_dribble")],
       [], "nothing stored")
    cgi_good("a dribbled body")


def test_cgi_length_larger_than_body_then_eof():
    body = good_body("evt_short")

    def feed(write, stop):
        write(body)
    a, t = cgi_fed(feed, body, len(body) + 100, READ_TIMEOUT + 3)
    error_answer(a, 400, "bad_length", "CONTENT_LENGTH larger than the body")
    check(t < 1.0 * st.SLACK, "bad_length took %.2f s; EOF tells at once" % t)
    cgi_good("a short body")


def test_cgi_length_larger_than_body_stdin_open():
    # The web server keeps stdin open: only the deadline can tell.
    body = good_body("evt_short_open")

    def feed(write, stop):
        write(body)
        return "keep"
    a, t = cgi_fed(feed, body, len(body) + 100, READ_TIMEOUT + 3)
    error_answer(a, 408, "timeout", "short body, stdin kept open")
    check(t <= READ_TIMEOUT + 1.0 * st.SLACK, "answered after %.2f s, past the deadline" % t)
    cgi_good("a short body with stdin open")


def test_cgi_length_smaller_than_body():
    # More bytes on stdin than CONTENT_LENGTH: RFC 3875 (4.2) says a CGI
    # program reads CONTENT_LENGTH bytes and no more (a server may send
    # extension data after them).  The receiver reads exactly that much,
    # so it verifies a cut-short body, whose signature does not match:
    # 401, nothing stored, answered at once (no read past the length).
    body = good_body("evt_long")
    before = st.counts(CGI_DB)

    def feed(write, stop):
        write(body)
    a, t = cgi_fed(feed, body, len(body) - 20, READ_TIMEOUT + 3)
    error_answer(a, 401, "bad_signature", "CONTENT_LENGTH smaller than the body")
    check(t < 1.0 * st.SLACK, "answered after %.2f s" % t)
    eq(st.counts(CGI_DB), before, "nothing stored")
    cgi_good("a long body")


def test_cgi_64k_signature_header():
    body = good_body("evt_bighdr")
    before = st.counts(CGI_DB)
    a = st.post(CGI_DB, body, headers={"Rye-Hmac-Signature-V1": "A" * 65536},
                env={"SHIPTRACK_READ_TIMEOUT": READ_TIMEOUT}, timeout=10)
    error_answer(a, 401, "bad_signature", "64 KiB signature header")
    a = st.post(CGI_DB, body, gen=2, headers={"X-Rye-Signature": "v0=" + "0" * 65536},
                env={"SHIPTRACK_READ_TIMEOUT": READ_TIMEOUT}, timeout=10)
    error_answer(a, 401, "bad_signature", "64 KiB gen-2 signature header")
    eq(st.counts(CGI_DB), before, "nothing stored")
    cgi_good("a 64 KiB header")


def test_cgi_deeply_nested_json_kept_as_evidence():
    body = deep_json()
    n = rejected_count(CGI_DB)
    a = st.post(CGI_DB, body, timeout=10)
    error_answer(a, 400, "invalid_json", "10,000-deep JSON")
    eq(rejected_count(CGI_DB), n + 1, "kept as evidence")
    # The evidence's bytes, read in storage on purpose: no program shows them.
    eq(bytes(st.storage_sql(CGI_DB, "SELECT body FROM rejected_deliveries ORDER BY id DESC"
                            " LIMIT 1")[0][0]), body, "evidence byte-identical")
    cgi_good("deep JSON")


def test_cgi_900k_string_accepted():
    body = huge_string_body()
    check(len(body) < MAX_BODY, "body under max_body")
    a = st.post(CGI_DB, body, timeout=10)
    eq(a.status, 200, "900 KB string (%s)" % a)
    eid = a.json()["event"]
    # The raw body, read in storage on purpose: no program shows it.
    eq(bytes(st.storage_sql(CGI_DB, "SELECT body FROM events WHERE id = ?", (eid,))[0][0]),
       body, "stored byte-identical")
    cgi_good("a 900 KB string")


def test_cgi_over_max_body_413():
    body = st.event("PAYMENT_SUCCEEDED", "ord_hostile", st.iso(2), next_id("evt_big"),
                    data={"note": "y" * MAX_BODY})
    before = st.counts(CGI_DB)
    a = st.post(CGI_DB, body, timeout=10, keep_stdin_open=True)
    error_answer(a, 413, "payload_too_large", "declared over max_body")
    check(a.elapsed < 1.0, "413 on the declared length took %.2f s" % a.elapsed)
    a = st.post(CGI_DB, body, timeout=10, content_length=None)
    error_answer(a, 413, "payload_too_large", "undeclared, over max_body")
    eq(st.counts(CGI_DB), before, "nothing stored")
    cgi_good("an oversized body")


def test_cgi_invalid_utf8_kept_as_evidence():
    n = rejected_count(CGI_DB)
    a = st.post(CGI_DB, INVALID_UTF8)
    error_answer(a, 400, "invalid_json", "invalid UTF-8")
    eq(rejected_count(CGI_DB), n + 1, "kept as evidence")
    cgi_good("invalid UTF-8")


# --- lighttpd --------------------------------------------------------------

def free_port():
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def webhook_workers():
    """Pids of the webhook.fcgi processes lighttpd spawned."""
    out = set()
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % d) as f:
                stat = f.read()
            with open("/proc/%s/cmdline" % d, "rb") as f:
                cmd = f.read().split(b"\0")[0]
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2:].split()
        if int(fields[1]) == state["proc"].pid and cmd.endswith(b"webhook.fcgi") \
                and fields[0] != "Z":
            out.add(int(d))
    return out


def start_httpd():
    p = st.run_cli(["migrate"], db=HTTPD_DB)
    if p.returncode != 0:
        raise AssertionError("migrate: %s %s" % (p.stdout, p.stderr))
    conf = os.path.join(TMP, "shiptrack.conf")
    with open(conf, "w") as f:
        f.write("database = %s\nwebhook_secret = %s\napi_token = %s\nread_timeout = %d\n"
                "max_body = %d\ndurability = normal\n"
                % (HTTPD_DB, st.SECRET, st.API_TOKEN, READ_TIMEOUT, MAX_BODY))
    port = free_port()
    with open(os.path.join(st.TOP_SRCDIR, "contrib", "lighttpd", "shiptrack.conf")) as f:
        text = f.read()
    for k, v in {"@WEBROOT@": os.path.join(st.TOP_SRCDIR, "web"), "@PORT@": str(port),
                 "@STATEDIR@": TMP, "@LIBEXECDIR@": os.path.join(st.TOP_BUILDDIR, "cgi"),
                 "@CONFIG@": conf}.items():
        text = text.replace(k, v)
    left = re.findall(r"@[A-Z]+@", re.sub(r"(?m)#.*$", "", text))
    check(not left, "placeholders left in the contrib configuration: %r" % left)
    text += ("\n# hostile.py: lighttpd's own limits, shortened for the test\n"
             "server.max-read-idle = %d\n"
             "$HTTP[\"url\"] =^ \"/webhook-stream\" {\n"
             "  server.stream-request-body = 2\n}\n" % IDLE)
    path = os.path.join(TMP, "lighttpd.conf")
    with open(path, "w") as f:
        f.write(text)
    state["proc"] = ws.start_lighttpd(path, os.path.join(TMP, "lighttpd-error.log"), port,
                                      env=st.base_env())
    state["port"] = port


def stop_httpd():
    proc = state["proc"]
    if proc is None or proc.poll() is not None:
        return
    kids = webhook_workers()
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(5)
    time.sleep(0.5)
    for k in kids:  # spawned for this test: ours to end if still there
        try:
            os.kill(k, signal.SIGKILL)
        except OSError:
            pass


def head(path, body, headers=None, content_length=None, sig_body=None):
    h = "POST %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n" \
        "Content-Type: application/json\r\nContent-Length: %d\r\n" % (
            path, len(body) if content_length is None else content_length)
    hdrs = {"Rye-Hmac-Signature-V1": st.sign_v1(st.SECRET, body if sig_body is None
                                                 else sig_body)}
    hdrs.update(headers or {})
    for k, v in hdrs.items():
        h += "%s: %s\r\n" % (k, v)
    return (h + "\r\n").encode("latin-1")


def read_answer(sock, limit):
    """(status or None if closed without an answer, headers, body, elapsed)."""
    t0 = time.monotonic()
    data = b""
    sock.settimeout(0.2)
    while time.monotonic() - t0 < limit:
        try:
            d = sock.recv(65536)
        except socket.timeout:
            continue
        except OSError:
            break
        if not d:
            break
        data += d
        if b"\r\n\r\n" in data:
            hd, _, rest = data.partition(b"\r\n\r\n")
            m = [l for l in hd.split(b"\r\n") if l.lower().startswith(b"content-length:")]
            if m and len(rest) >= int(m[0].split(b":")[1]):
                break
    else:
        raise AssertionError("no answer within %.1f s" % limit)
    if not data:
        return None, {}, b"", time.monotonic() - t0
    hd, _, rest = data.partition(b"\r\n\r\n")
    lines = hd.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    hdrs = {}
    for line in lines[1:]:
        k, _, v = line.partition(":")
        hdrs[k.strip().lower()] = v.strip()
    return status, hdrs, rest, time.monotonic() - t0


def http(raw, limit=15, then_close=False):
    s = socket.create_connection(("127.0.0.1", state["port"]), timeout=limit)
    try:
        try:
            s.sendall(raw)
            if then_close:
                s.shutdown(socket.SHUT_WR)
        except OSError:
            pass  # refused before the whole request was read: the answer tells
        return read_answer(s, limit)
    finally:
        s.close()


def post(body, path="/webhook", **kw):
    return http(head(path, body, **kw) + body)


def error_json(ans, status, code, what):
    s, h, b, t = ans
    eq(s, status, "%s: status (%r)" % (what, b[:200]))
    j = json.loads(b)
    eq((j["ok"], j["error"]), (False, code), what + ": error")
    return t


def httpd_good(what):
    s, h, b, t = post(good_body("evt_httpd_good"))
    eq(s, 200, "good event after %s (%r)" % (what, b[:200]))
    eq(json.loads(b)["duplicate"], False, "good event after %s" % what)
    check(t < 2.0 * st.SLACK, "good event after %s took %.2f s" % (what, t))


def test_httpd_start():
    if not os.access(LIGHTTPD, os.X_OK):
        raise AssertionError("lighttpd not found at %s" % LIGHTTPD)
    start_httpd()
    httpd_good("start")
    state["workers"] = webhook_workers()
    check(state["workers"], "webhook.fcgi workers running")


def test_httpd_dribble_is_buffered_by_lighttpd():
    # lighttpd reads the whole body before it talks to the receiver, so a
    # body trickling in for longer than read_timeout is still answered 200,
    # and meanwhile the receiver serves others at once.
    body = good_body("evt_httpd_dribble")
    tail = 5
    s = socket.create_connection(("127.0.0.1", state["port"]), timeout=30)
    try:
        s.sendall(head("/webhook", body) + body[:-tail])
        t0 = time.monotonic()
        for i in range(tail):
            time.sleep(1.0)
            if i == 1:
                httpd_good("(during) a dribbling client")
            s.sendall(body[len(body) - tail + i:len(body) - tail + i + 1])
        st_, h, b, t = read_answer(s, 10)
    finally:
        s.close()
    eq(st_, 200, "dribbled body through lighttpd (%r)" % b[:200])
    check(time.monotonic() - t0 > READ_TIMEOUT + 1, "the dribble outlasted read_timeout")
    httpd_good("a dribbled body")


def test_httpd_idle_client_dropped_by_lighttpd():
    body = good_body("evt_httpd_idle")
    s = socket.create_connection(("127.0.0.1", state["port"]), timeout=30)
    try:
        s.sendall(head("/webhook", body) + body[:20])
        st_, h, b, t = read_answer(s, IDLE + 5)
    finally:
        s.close()
    eq(st_, None, "lighttpd closes an idle client without an answer (%r)" % b[:200])
    check(IDLE - 0.5 <= t <= IDLE + 2, "closed after %.2f s, max-read-idle is %d" % (t, IDLE))
    httpd_good("an idle client")


def test_httpd_streamed_body_stall_gets_408_from_receiver():
    body = good_body("evt_httpd_stall")
    s = socket.create_connection(("127.0.0.1", state["port"]), timeout=30)
    try:
        s.sendall(head("/webhook-stream", body) + body[:20])
        ans = read_answer(s, READ_TIMEOUT + 4)
    finally:
        s.close()
    t = error_json(ans, 408, "timeout", "stalled streamed body")
    check(t <= READ_TIMEOUT + 1.5 * st.SLACK, "408 after %.2f s" % t)
    httpd_good("a stalled streamed body")


def test_httpd_length_larger_than_body_then_eof():
    body = good_body("evt_httpd_short")
    s, h, b, t = http(head("/webhook", body, content_length=len(body) + 100) + body,
                      limit=IDLE + 5, then_close=True)
    eq(s, None, "lighttpd closes a body cut short without an answer (%r)" % b[:200])
    check(t < 2.0 * st.SLACK, "closed after %.2f s" % t)
    httpd_good("a short body")


def test_httpd_length_smaller_than_body():
    body = good_body("evt_httpd_long")
    raw = head("/webhook", body, content_length=len(body) - 20) + body
    t = error_json(http(raw), 401, "bad_signature", "Content-Length smaller than the body")
    check(t < 2.0 * st.SLACK, "answered after %.2f s" % t)
    httpd_good("a long body")


def test_httpd_64k_header():
    body = good_body("evt_httpd_bighdr")
    s, h, b, t = post(body, headers={"Rye-Hmac-Signature-V1": "A" * 65536})
    check(s in (400, 431), "64 KiB header: lighttpd answers %r" % s)
    httpd_good("a 64 KiB header")


def test_httpd_deeply_nested_json():
    n = rejected_count(HTTPD_DB)
    error_json(post(deep_json()), 400, "invalid_json", "10,000-deep JSON")
    eq(rejected_count(HTTPD_DB), n + 1, "kept as evidence")
    httpd_good("deep JSON")


def test_httpd_900k_string():
    s, h, b, t = post(huge_string_body())
    eq(s, 200, "900 KB string (%r)" % b[:200])
    httpd_good("a 900 KB string")


def test_httpd_over_max_body():
    body = st.event("PAYMENT_SUCCEEDED", "ord_hostile", st.iso(2), next_id("evt_httpd_big"),
                    data={"note": "y" * MAX_BODY})
    error_json(post(body), 413, "payload_too_large", "over max_body")
    # Over lighttpd's own server.max-request-size (2048 KB): lighttpd refuses.
    big = b'{"pad":"' + b"z" * (2200 * 1024) + b'"}'
    s, h, b, t = post(big)
    eq(s, 413, "over server.max-request-size")
    httpd_good("an oversized body")


def test_httpd_invalid_utf8():
    error_json(post(INVALID_UTF8), 400, "invalid_json", "invalid UTF-8")
    httpd_good("invalid UTF-8")


def test_httpd_receiver_never_restarted():
    eq(webhook_workers(), state["workers"], "webhook.fcgi workers (same pids: none crashed)")
    stop_httpd()
    with open(os.path.join(TMP, "lighttpd-error.log"), "rb") as f:
        log = f.read()
    for bad in (b"child exited", b"child signaled", b"segfault", b"AddressSanitizer",
                b"runtime error", b"LeakSanitizer"):
        check(bad not in log, "%r in the error log" % bad)


def main():
    try:
        st.run(dict(globals()))
    except SystemExit as e:
        if e.code:
            try:
                with open(os.path.join(TMP, "lighttpd-error.log"), errors="replace") as f:
                    for line in f.read().splitlines()[-80:]:
                        print("# " + line)
            except OSError:
                pass
        raise
    finally:
        stop_httpd()


if __name__ == "__main__":
    main()
