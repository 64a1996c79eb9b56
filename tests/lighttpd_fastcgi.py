#!/usr/bin/env python3
"""webhook.fcgi and api.fcgi under a real lighttpd, over FastCGI.

lighttpd runs with contrib/lighttpd/shiptrack.conf as shipped, its
placeholders filled in for paths and the port only; it spawns both
programs (bin-path, max-procs 2) on unix sockets in a temporary directory
and serves web/; the settings go in a shiptrack.conf named by @CONFIG@.
curl posts signed webhooks and reads the API and the page.
"""
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import shiptrack_test as st  # noqa: E402
import webserver as ws  # noqa: E402
from shiptrack_test import check, eq  # noqa: E402

LIGHTTPD = os.environ.get("LIGHTTPD") or "/usr/sbin/lighttpd"
TMP = st.tempdir("shiptrack-httpd-")
DB = os.path.join(TMP, "shiptrack.db")
# server.errorlog of contrib/lighttpd/shiptrack.conf (@STATEDIR@ is TMP)
ERRORLOG = os.path.join(TMP, "lighttpd-error.log")
CONF = os.path.join(TMP, "shiptrack.conf")
MAX_BODY = 4096
ORDER = "ord_httpd_1"

state = {"proc": None, "port": None}


def free_port():
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def write_config(port):
    """contrib/lighttpd/shiptrack.conf filled in for paths and the port; the
    receiver's settings in the shiptrack.conf it names."""
    ws.write_config(CONF, DB, max_body=MAX_BODY, read_timeout=5)
    path = os.path.join(TMP, "lighttpd.conf")
    ws.fill(ws.contrib("lighttpd", "shiptrack.conf"), path,
            {"WEBROOT": os.path.join(st.TOP_SRCDIR, "web"), "PORT": port,
             "STATEDIR": TMP, "LIBEXECDIR": os.path.join(st.TOP_BUILDDIR, "cgi"),
             "CONFIG": CONF})
    return path


def start():
    p = st.run_cli(["migrate"], db=DB)
    if p.returncode != 0:
        raise AssertionError("migrate: %s %s" % (p.stdout, p.stderr))
    port = free_port()
    conf = write_config(port)
    # The programs' stderr lands in the error log too, as an init system
    # collecting both would.
    state["proc"] = ws.start_lighttpd(conf, ERRORLOG, port)
    state["port"] = port


def children_of(pid):
    """Pids whose parent is pid (the FastCGI programs lighttpd spawned)."""
    out = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % d) as f:
                stat = f.read()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2:].split()
        if int(fields[1]) == pid and fields[0] != "Z":
            out.append(int(d))
    return out


def alive(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            stat = f.read()
    except OSError:
        return False
    return stat[stat.rindex(")") + 2:].split()[0] != "Z"


def stop():
    """Stop lighttpd; return the spawned programs that outlived it (killed)."""
    proc = state["proc"]
    if proc is None or proc.poll() is not None:
        return []
    kids = children_of(proc.pid)
    state["children"] = kids
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(5)
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and any(alive(k) for k in kids):
        time.sleep(0.1)
    survivors = [k for k in kids if alive(k)]
    state["names"] = {}
    for k in survivors:
        try:
            with open("/proc/%d/cmdline" % k, "rb") as f:
                state["names"][k] = f.read().split(b"\0")[0].decode()
        except OSError:
            state["names"][k] = "?"
    for k in survivors:  # started by this test (through lighttpd): ours to end
        try:
            os.kill(k, signal.SIGKILL)
        except OSError:
            pass
    state["survivors"] = survivors
    return survivors


def curl(path, method="GET", body=None, headers=None):
    """(status, headers dict lowercased, body bytes) via curl."""
    n = next(st._counter)
    bfile = os.path.join(TMP, "resp-%d.body" % n)
    hfile = os.path.join(TMP, "resp-%d.head" % n)
    cmd = ["curl", "-sS", "--max-time", "10", "-X", method, "-o", bfile, "-D", hfile,
           "-w", "%{http_code}", "-H", "Expect:"]
    for k, v in (headers or {}).items():
        cmd += ["-H", "%s: %s" % (k, v)]
    if body is not None:
        infile = os.path.join(TMP, "req-%d.body" % n)
        with open(infile, "wb") as f:
            f.write(body)
        cmd += ["--data-binary", "@" + infile, "-H", "Content-Type: application/json"]
    cmd.append("http://127.0.0.1:%d%s" % (state["port"], path))
    p = subprocess.run(cmd, capture_output=True, timeout=30)
    if p.returncode != 0:
        raise AssertionError("curl %s %s failed (%d): %r" % (method, path, p.returncode,
                                                             p.stderr))
    status = int(p.stdout.decode())
    hdrs = {}
    with open(hfile, "rb") as f:
        blocks = f.read().decode("latin-1").split("\r\n\r\n")
    last = [b for b in blocks if b.strip()][-1]
    for line in last.split("\r\n")[1:]:
        if ":" in line:
            k, v = line.split(":", 1)
            hdrs[k.strip().lower()] = v.strip()
    try:
        with open(bfile, "rb") as f:
            rbody = f.read()
    except FileNotFoundError:  # curl writes no file for an empty body
        rbody = b""
    return status, hdrs, rbody


def post(body, secret=st.SECRET, gen=1):
    if gen == 1:
        h = {"Rye-Hmac-Signature-V1": st.sign_v1(secret, body)}
    else:
        h = {"X-Rye-Signature": st.sign_v2(secret, body)}
    return curl("/webhook", "POST", body, h)


def operator(path):
    return curl("/api" + path, headers={"Authorization": "Bearer " + st.API_TOKEN})


def test_start_lighttpd():
    start()


def test_health_through_lighttpd():
    s, h, b = curl("/api/v1/health")
    eq(s, 200, "health status (%r)" % b)
    j = json.loads(b)
    eq((j["ok"], j["database"]), (True, "ok"), "health body")
    check(h.get("content-type", "").startswith("application/json"), "content-type")
    check("etag" in h, "ETag")


def test_page_through_lighttpd():
    """web/ as the document root, with the security headers."""
    ws.check_page(ws.Client(state["port"]))


def test_webhooks_through_lighttpd():
    bodies = [st.event("PAYMENT_SUCCEEDED", ORDER, st.iso(0), "evt_httpd_1"),
              st.event("ORDER_SUBMISSION_STARTED", ORDER, st.iso(1), "evt_httpd_2"),
              st.event("ORDER_PLACED", ORDER, st.iso(2), "evt_httpd_3"),
              st.tracking(ORDER, "1ZHTTPD001", "UPS", "https://ups.example/1ZHTTPD001",
                          st.iso(3), "evt_httpd_4")]
    for i, b in enumerate(bodies):
        s, h, r = post(b)
        eq(s, 200, "webhook %d (%r)" % (i, r))
        eq(json.loads(r), {"ok": True, "event": "evt_httpd_%d" % (i + 1),
                           "duplicate": False}, "answer %d" % i)
        check(h.get("content-type", "").startswith("application/json"), "content-type")
    s, h, r = post(bodies[2])
    eq(s, 200, "duplicate status")
    eq(json.loads(r)["duplicate"], True, "duplicate flagged")
    s, h, r = post(st.event2("checkout_intent.completed", "ci_httpd_1", created=st.iso(4),
                             id="evt2_httpd_1"), gen=2)
    eq(s, 200, "gen-2 webhook (%r)" % r)
    eq(st.counts(DB)["events"], 5, "events stored")


def test_refusals_through_lighttpd():
    before = st.counts(DB)
    b = st.event("ORDER_FAILED", ORDER, st.iso(9), "evt_httpd_bad")
    s, h, r = post(b, secret="not the secret")
    eq(s, 401, "bad signature (%r)" % r)
    eq(json.loads(r)["error"], "bad_signature", "error code")
    s, h, r = curl("/webhook", "POST", b, {})
    eq(s, 401, "no signature")
    big = st.event("PAYMENT_SUCCEEDED", ORDER, st.iso(9), "evt_httpd_big",
                   data={"pad": "z" * (MAX_BODY * 3)})
    s, h, r = post(big)
    eq(s, 413, "oversize (%r)" % r)
    eq(json.loads(r)["error"], "payload_too_large", "error code")
    s, h, r = curl("/webhook")
    eq(s, 405, "GET /webhook")
    eq(h.get("allow"), "POST", "Allow")
    eq(json.loads(r)["error"], "method_not_allowed", "error code")
    eq(st.counts(DB), before, "nothing stored by refusals")


def test_concurrent_webhooks_through_lighttpd():
    results = []
    lock = threading.Lock()

    def worker(k):
        for i in range(5):
            eid = "evt_conc_%d_%d" % (k, i)
            b = st.event("PAYMENT_SUCCEEDED", "ord_conc_%d" % k, st.iso(i), eid)
            r = post(b)
            with lock:
                results.append((eid, r[0], r[2]))

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    eq(len(results), 20, "answers")
    bad = [r for r in results if r[1] != 200]
    check(not bad, "concurrent posts failed: %r" % bad[:3])
    eq(st.sqlite(DB, "SELECT count(*) FROM events WHERE id LIKE 'evt_conc_%'")[0][0], 20,
       "all concurrent events stored")


def test_operator_view_through_lighttpd():
    s, h, r = operator("/v1/orders/" + ORDER)
    eq(s, 200, "operator view (%r)" % r)
    j = json.loads(r)
    eq(j["id"], ORDER, "id")
    eq(j["status"], "SUCCEEDED", "status")
    eq([x["trackingNumber"] for x in j["shipments"]], ["1ZHTTPD001"], "shipments")
    eq([e["id"] for e in j["events"]], ["evt_httpd_%d" % i for i in range(1, 5)], "events")
    etag = h.get("etag")
    check(etag is not None, "ETag")
    s, h2, r2 = curl("/api/v1/orders/" + ORDER,
                     headers={"Authorization": "Bearer " + st.API_TOKEN,
                              "If-None-Match": etag})
    eq(s, 304, "If-None-Match through lighttpd")
    eq(r2, b"", "empty 304 body")
    s, h, r = curl("/api/v1/orders/" + ORDER)
    eq(s, 401, "no token")
    check(h.get("www-authenticate", "").startswith("Bearer"), "WWW-Authenticate")
    s, h, r = operator("/v1/orders/ord_nobody")
    eq(s, 404, "unknown order")
    eq(json.loads(r)["error"], "not_found", "error code")
    s, h, r = curl("/api/v1/nothing")
    eq(s, 404, "unknown route")
    s, h, r = operator("/v1/orders/ci_httpd_1")
    eq(s, 200, "gen-2 order")
    eq(json.loads(r)["status"], "SUCCEEDED", "gen-2 status")


def test_shopper_view_through_lighttpd():
    ws.check_shopper(ws.Client(state["port"]), ORDER, "httpd")


def test_odd_order_ids_through_lighttpd():
    ws.check_odd_order_ids(ws.Client(state["port"]), "httpd")


def test_stop_lighttpd_and_check_log():
    survivors = stop()
    eq(state["proc"].returncode is not None, True, "lighttpd stopped")
    check(len(state.get("children", [])) >= 2, "lighttpd spawned the FastCGI programs")
    names = state.get("names", {})
    check(not survivors, "FastCGI programs still running 5 s after lighttpd stopped "
          "(SIGTERM ignored?), killed: %r" % names)
    with open(ERRORLOG, "rb") as f:
        log = f.read()
    check(b"shiptrack-webhook[" in log, "receiver log lines in the error log")
    check(b"event evt_httpd_1 type PAYMENT_SUCCEEDED order " + ORDER.encode() in log,
          "accepted-event line in the error log")
    check(b"bad rye1 signature" in log, "bad-signature line")
    for bad in (b"child exited", b"connect() failed", b"overloaded", b"segfault",
                b"AddressSanitizer", b"runtime error"):
        check(bad not in log, "%r in the error log" % bad)
    if os.environ.get("SHIPTRACK_TEST_SHOWLOG"):
        print(log.decode("utf-8", "replace"))
    check(st.SECRET.encode() not in log and st.API_TOKEN.encode() not in log,
          "no secret in the error log")


def main():
    if not os.access(LIGHTTPD, os.X_OK):
        print("not ok - lighttpd not found at %s" % LIGHTTPD)
        sys.exit(1)
    try:
        namespace = dict(globals())
        st.run(namespace)
    except SystemExit as e:
        if e.code:
            for name in (ERRORLOG,):
                try:
                    with open(name, "r", errors="replace") as f:
                        text = f.read()
                except OSError:
                    continue
                print("# --- %s ---" % os.path.basename(name))
                for line in text.splitlines()[-200:]:
                    print("# " + line)
        raise
    finally:
        stop()


if __name__ == "__main__":
    main()
