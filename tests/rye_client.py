#!/usr/bin/env python3
"""The Rye client (cgi/lib/rye.c) against the Rye stand-in (tests/rye_stub.py).

tests/rye_client_check drives the client; the stand-in's request log shows
what went over the wire. Paging to the end (raw event text byte for byte),
the two endless-paging guards (page cap, repeated cursor), an intent with
its shipments in both forms across pages, gen-1 orderByID, no self-caused
429 at Rye's 10 reads/s (nor at a lower RateLimit-Policy), 429s and
RateLimit r=0 honoured (waits checked from the log, lower bounds only),
waits that would pass the deadline not started, 401 as its own result with
the key in no output, a body over the cap refused, cut JSON retried and then
reported, 5xx retried, a non-Rye 404 not taken for "unknown intent".
"""

import atexit
import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import shiptrack_test as st  # noqa: E402

CHECK = os.path.join(st.TOP_BUILDDIR, "tests", "rye_client_check")
STUB = os.path.join(st.TOP_SRCDIR, "tests", "rye_stub.py")
KEY = "RYE/staging-test-key-4b7e1c9a"


class Stub:
    """One rye_stub.py process, stopped at exit."""

    def __init__(self):
        self.dir = st.tempdir("rye-stub-")
        port_file = os.path.join(self.dir, "port")
        self.log_file = open(os.path.join(self.dir, "stub.log"), "w")
        self.proc = subprocess.Popen([sys.executable, STUB, "--port", "0", "--port-file",
                                      port_file, "--api-key", KEY],
                                     stdout=subprocess.DEVNULL, stderr=self.log_file)
        deadline = time.monotonic() + 15
        while not os.path.exists(port_file):
            if time.monotonic() > deadline or self.proc.poll() is not None:
                raise RuntimeError("rye stub did not start")
            time.sleep(0.02)
        with open(port_file) as f:
            self.root = "http://127.0.0.1:%d" % int(f.read())

    def ctl(self, path, body=None):
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.root + "/_control/" + path, data=data,
                                     method="POST" if data is not None else "GET")
        try:
            with urllib.request.urlopen(req, timeout=30) as r:
                return json.load(r)
        except urllib.error.HTTPError as e:
            raise AssertionError("stub control %s: %s %s" % (path, e.code, e.read()[:300]))

    def faults(self, **kw):
        return self.ctl("faults", kw)

    def log(self):
        return self.ctl("log")["requests"]

    def fresh(self):
        """Forget everything: data, faults, log and rate windows."""
        self.ctl("reset", {})

    def close(self):
        self.proc.terminate()
        self.proc.wait(timeout=10)
        self.log_file.close()


stub = Stub()
atexit.register(stub.close)


def run(*args, key=KEY, timeout=120):
    """Run the check program; (exit status, [parsed stdout lines], stderr)."""
    env = st.base_env({"RYE_CHECK_KEY": key})
    argv = [CHECK, "--base", stub.root, "--graphql", stub.root + "/v1/query"] + \
        [str(a) for a in args]
    p = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=timeout)
    lines = []
    for line in p.stdout.splitlines():
        try:
            lines.append(json.loads(line))
        except ValueError:
            raise AssertionError("not a JSON line: %r\nstderr: %s" % (line, p.stderr))
    st.check(lines and "stats" in lines[-1], "no stats line (crashed?): %r %s"
             % (p.stdout[-300:], p.stderr[-500:]))
    st.check(KEY not in p.stdout and KEY not in p.stderr, "the key is in the output")
    return p.returncode, lines, p.stderr


def calls(lines, name=None):
    return [ln for ln in lines if "call" in ln and (name is None or ln["call"] == name)]


def api_requests(log):
    return [r for r in log if r["gen"] is not None]


def seed_events(n):
    events = [{"id": "evt_%03d" % i, "type": "shipment.updated", "createdAt":
               "2026-03-25T00:%02d:%02dZ" % (i // 60 % 60, i % 60),
               "source": {"type": "shipment", "id": "shp_%d" % i}} for i in range(n)]
    # Raw texts the stand-in serves byte for byte: odd spacing, escapes, key order.
    events.append({"raw": '{ "source":{"id":"ci_\\u0031","type":"checkout_intent"},\n'
                          '  "type" : "checkout_intent.completed","id":"evt_raw1",'
                          '"createdAt":"2026-03-26T00:00:00.5Z", "data":{"a":[1,2.50,null]}}'})
    events.append({"raw": '{"id":"evt_raw2","type":"product.updated","x":"caf\u00e9 \\u00e9"}'})
    events.append({"raw": '{"type":"no id at all"}'})
    return stub.ctl("events", {"events": events})["events"]


# --- paging ------------------------------------------------------------------

def test_events_paged_to_the_end_raw_text_kept():
    stub.fresh()
    seeded = seed_events(250)
    rc, lines, _ = run("--limit", 100, "events")
    st.eq(rc, 0, "exit")
    got = [ln for ln in lines if "event" in ln]
    want = [e for e in reversed(seeded) if e["id"] is not None]    # newest first
    st.eq([e["event"] for e in got], [e["id"] for e in want], "every event, once, in order")
    for g, w in zip(got, want):
        st.eq(g["raw"], w["raw"], "raw text of %s" % w["id"])
    raw1 = next(g for g in got if g["event"] == "evt_raw1")
    st.eq((raw1["type"], raw1["sourceType"], raw1["sourceId"], raw1["createdAt"]),
          ("checkout_intent.completed", "checkout_intent", "ci_1", "2026-03-26T00:00:00.5Z"),
          "fields of a raw event")
    walk = calls(lines, "events")[0]
    st.eq((walk["result"], walk["stop"], walk["pages"], walk["items"], walk["skipped"]),
          ("ok", "end", 3, 252, 1), "the walk")
    log = api_requests(stub.log())
    st.eq(len(log), 3, "three pages, three requests")
    st.check("after=" not in log[0]["query"] and all("after=" in r["query"] for r in log[1:]),
             "pages follow endCursor: %r" % [r["query"] for r in log])
    st.eq({r["scheme"] for r in log}, {"Bearer"}, "REST scheme by default")


def test_endless_paging_new_cursors_stop_at_the_page_cap():
    stub.fresh()
    seed_events(5)
    stub.faults(endless_paging="new")
    rc, lines, _ = run("--max-pages", 4, "events")
    walk = calls(lines, "events")[0]
    st.eq((rc, walk["result"], walk["stop"], walk["pages"]), (0, "ok", "page cap", 4), "walk")
    st.eq(len(api_requests(stub.log())), 4, "requests")


def test_endless_paging_repeated_cursor_stops_at_once():
    stub.fresh()
    seed_events(5)
    stub.faults(endless_paging="repeat")
    rc, lines, _ = run("--max-pages", 1000, "events")
    walk = calls(lines, "events")[0]
    st.eq((rc, walk["result"], walk["stop"], walk["pages"]), (0, "ok", "repeated cursor", 2),
          "walk")
    st.eq(len(api_requests(stub.log())), 2, "requests")


# --- intents and shipments -------------------------------------------------------

def test_intent_and_shipments_both_forms_across_pages():
    stub.fresh()
    stub.ctl("intents", {"intents": [{
        "id": "ci_aaa8af5c", "state": "completed", "createdAt": "2026-03-25T00:00:00Z",
        "orderId": "ord_1", "referenceId": "order-1234",
        "buyer": {"email": "john@example.com", "postalCode": "10001", "country": "US",
                  "firstName": "John", "lastName": None, "phone": "1"}}]})
    stub.ctl("shipments", {"shipments": [
        {"id": "shp_cur", "checkoutIntentId": "ci_aaa8af5c", "marketplaceOrderId": "112-3",
         "status": "shipped", "shippedAt": "2026-03-26T20:00:00Z", "externalId": None,
         "tracking": {"number": "1Z999AA10123456784", "carrierName": "UPS",
                      "url": "https://www.ups.com/track?tracknum=1Z999AA10123456784",
                      "deliveryDate": {"estimated": "2026-03-30T00:00:00Z"}},
         "trackingEvents": [{"status": "shipped", "description": "Departed",
                             "location": {"city": "Louisville", "province": None,
                                          "country": None},
                             "timestamp": {"local": "2026-03-26T22:10:00.000-04:00",
                                           "utc": "2026-03-27T02:10:00Z"}}]},
        {"id": "shp_old", "checkoutIntentId": "ci_aaa8af5c", "status": "out_for_delivery",
         "tracking": {"number": "9400100000000000000000", "carrierName": "USPS",
                      "estimatedDeliveryDate": "2025-02-07T00:00:00Z"},
         "trackingEvents": [{"description": "Out for delivery", "displayDate": "Feb 6, 2025",
                             "displayTime": "7:02 AM", "location": "Brooklyn, NY"}]},
        {"id": "shp_ord", "checkoutIntentId": "ci_aaa8af5c", "status": "ordered",
         "marketplaceOrderId": None},
        {"id": "shp_other", "checkoutIntentId": "ci_someone_else", "status": "shipped"}]})
    rc, lines, _ = run("--limit", 2, "intent", "ci_aaa8af5c")
    st.eq(rc, 0, "exit")
    intent = next(ln["intent"] for ln in lines if "intent" in ln)
    st.eq((intent["id"], intent["state"], intent["orderId"], intent["referenceId"],
           intent["email"], intent["postalCode"], intent["country"], intent["firstName"],
           intent["lastName"]),
          ("ci_aaa8af5c", "completed", "ord_1", "order-1234", "john@example.com", "10001", "US",
           "John", None), "intent")
    ships = {ln["shipment"]["id"]: ln["shipment"] for ln in lines if "shipment" in ln}
    st.eq(sorted(ships), ["shp_cur", "shp_old", "shp_ord"], "this intent's shipments only")
    cur, old, ordered = ships["shp_cur"], ships["shp_old"], ships["shp_ord"]
    st.eq((cur["number"], cur["carrierName"], cur["estimatedDelivery"],
           cur["marketplaceOrderId"], cur["events"][0]["city"], cur["events"][0]["utc"]),
          ("1Z999AA10123456784", "UPS", "2026-03-30T00:00:00Z", "112-3", "Louisville",
           "2026-03-27T02:10:00Z"), "current form")
    st.eq((old["number"], old["estimatedDelivery"], old["events"][0]["displayDate"],
           old["events"][0]["location"], old["url"]),
          ("9400100000000000000000", "2025-02-07T00:00:00Z", "Feb 6, 2025", "Brooklyn, NY",
           None), "older form")
    st.eq((ordered["hasTracking"], ordered["events"]), (False, []), "ordered: no tracking")
    walk = calls(lines, "shipments")[0]
    st.eq((walk["stop"], walk["pages"], walk["items"]), ("end", 2, 3), "shipments walk")

    rc, lines, _ = run("intent", "ci_unknown")
    st.eq((rc, calls(lines)[0]["result"], calls(lines)[0]["error"]),
          (0, "not found", "NotFoundError"), "unknown intent")
    st.eq(len(calls(lines)), 1, "no shipments asked for an unknown intent")
    rc, lines, _ = run("shipment", "shp_old")
    st.eq((rc, lines[0]["shipment"]["carrierName"]), (0, "USPS"), "one shipment")


def test_404_that_is_not_ryes_is_not_unknown_intent():
    stub.fresh()
    p = subprocess.run([CHECK, "--base", stub.root + "/wrong", "--graphql",
                        stub.root + "/v1/query", "intent", "ci_1"],
                       env=st.base_env({"RYE_CHECK_KEY": KEY}), capture_output=True,
                       text=True, timeout=60)
    line = json.loads(p.stdout.splitlines()[0])
    st.eq((p.returncode, line["result"], line["http"]), (1, "failed", 404), "wrong base URL")


# --- gen 1 ----------------------------------------------------------------------------

def test_order_by_id():
    stub.fresh()
    stub.ctl("orders", {"orders": [{
        "id": "00401732-8a19-48eb-be6a-6138d2f666c7", "status": "PARTIALLY_CANCELLED",
        "marketplace": "SHOPIFY", "marketplaceOrderIds": ["5523456789"],
        "shipments": [{"carrierName": "UPS", "carrierTrackingNumber": "1Z999AA10123456784",
                       "carrierTrackingUrl": None}],
        "events": [{"__typename": "TrackingObtainedOrderEvent", "id": "3c1d9e20",
                    "createdAt": "2023-04-13T09:02:11Z"},
                   {"__typename": "OrderCancelFailedOrderEvent", "id": "e2",
                    "createdAt": "2023-04-13T10:00:00Z", "reason": "too late"}]}]})
    rc, lines, _ = run("--scheme", "Bearer", "order", "00401732-8a19-48eb-be6a-6138d2f666c7")
    st.eq(rc, 0, "exit")
    o = lines[0]["order"]
    st.eq((o["status"], o["marketplace"], o["marketplaceOrderIds"], o["shipments"][0]["number"],
           o["shipments"][0]["url"], [e["typename"] for e in o["events"]],
           o["events"][1]["reason"]),
          ("PARTIALLY_CANCELLED", "SHOPIFY", ["5523456789"], "1Z999AA10123456784", None,
           ["TrackingObtainedOrderEvent", "OrderCancelFailedOrderEvent"], "too late"), "order")
    st.check(calls(lines)[0]["rawLength"] > 100, "the raw answer is kept")
    log = api_requests(stub.log())
    st.eq([(r["gen"], r["method"], r["scheme"]) for r in log], [(1, "POST", "Basic")],
          "gen 1 always sends Basic")

    rc, lines, _ = run("order", "no-such-order")
    st.eq((rc, calls(lines)[0]["result"]), (0, "not found"), "orderByID null")
    rc, lines, _ = run("order", "x", key="wrong-key-000000000")
    st.eq((rc, calls(lines)[0]["result"]), (2, "unauthorized"), "bad key, 401")
    stub.faults(graphql_auth_status=200)
    rc, lines, _ = run("order", "x", key="wrong-key-000000000")
    st.eq((rc, calls(lines)[0]["result"]), (2, "unauthorized"), "bad key, errors in a 200")


# --- rate limits -------------------------------------------------------------------------

def windows_over(log, limit):
    """Requests that found `limit` or more earlier ones in their one-second window."""
    times = [r["mono"] for r in log]
    return [t for i, t in enumerate(times)
            if sum(1 for u in times[:i] if u > t - 1.0) >= limit]


def test_no_self_caused_429_at_rye_rate():
    stub.fresh()
    stub.ctl("intents", {"intents": [{"id": "ci_rate"}]})
    rc, lines, _ = run("--rate", 10, "repeat", 30, "ci_rate")
    log = api_requests(stub.log())
    st.eq([r["status"] for r in log], [200] * 30, "every request answered 200, none 429")
    st.eq(windows_over(log, 10), [], "never 10 already in a one-second window")
    st.eq((rc, lines[-1]["stats"]["rateLimited"]), (0, 0), "the client saw no 429")


def test_policy_lower_than_the_rate_is_followed():
    """RateLimit-Policy q=4 while the client is set to 10/s: it paces itself to 90% of 4/s
    from the first answer on (about 280 ms apart), instead of bursting into r=0 or 429s."""
    stub.fresh()
    stub.ctl("intents", {"intents": [{"id": "ci_rate"}]})
    stub.faults(rate_limit=4)
    rc, lines, _ = run("--rate", 10, "repeat", 14, "ci_rate")
    log = api_requests(stub.log())
    st.eq([r["status"] for r in log], [200] * 14, "no 429 at the account's lower quota")
    gaps = [b["mono"] - a["mono"] for a, b in zip(log, log[1:])]
    st.check(min(gaps) >= 0.2, "paced to the policy from the first answer on: %s"
             % ["%.3f" % g for g in gaps])
    st.eq(rc, 0, "exit")


def test_two_clients_sharing_a_key_wait_out_real_429s():
    """Two runs at 10/s on one key (20/s against Rye's 10): the stand-in's real limit answers
    429 or r=0, both wait, and every call ends ok."""
    stub.fresh()
    stub.ctl("intents", {"intents": [{"id": "ci_rate"}]})
    env = st.base_env({"RYE_CHECK_KEY": KEY})
    argv = [CHECK, "--base", stub.root, "--graphql", stub.root + "/v1/query", "--rate", "10",
            "repeat", "15", "ci_rate"]
    procs = [subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, text=True)
             for _ in range(2)]
    outs = [p.communicate(timeout=120)[0] for p in procs]
    st.eq([p.returncode for p in procs], [0, 0], "both runs")
    results = [json.loads(ln)["result"] for out in outs for ln in out.splitlines()
               if '"call"' in ln]
    st.eq(results, ["ok"] * 30, "every call ends ok")
    stats = [json.loads(out.splitlines()[-1])["stats"] for out in outs]
    log = api_requests(stub.log())
    st.eq(sum(1 for r in log if r["status"] == 200), 30, "30 answers")
    st.eq(sum(1 for r in log if r["status"] == 429), sum(s["rateLimited"] for s in stats),
          "every 429 the stand-in sent was seen, and waited out")
    st.check(sum(s["rateLimited"] + s["held"] for s in stats) > 0,
             "the shared limit was met: %r" % stats)


def test_429_waits_1_2_s_then_longer():
    stub.fresh()
    stub.ctl("intents", {"intents": [{"id": "ci_rate"}]})
    stub.faults(force_429={"count": 2}, ratelimit_headers="not_on_429")
    rc, lines, _ = run("intent", "ci_rate")
    log = [r for r in api_requests(stub.log()) if r["path"].endswith("ci_rate")]
    st.eq([r["status"] for r in log], [429, 429, 200], "two 429s, then the answer")
    st.check(log[1]["mono"] - log[0]["mono"] >= 1.0, "first wait >= 1 s")
    st.check(log[2]["mono"] - log[1]["mono"] >= 2.0, "second wait >= 2 s")
    st.eq((rc, lines[-1]["stats"]["rateLimited"]), (0, 2), "result")


def test_429_retry_after_header_and_body_honoured():
    stub.fresh()
    stub.ctl("intents", {"intents": [{"id": "ci_rate"}]})
    stub.faults(force_429={"count": 1, "retry_after": "3"})
    rc, _, _ = run("intent", "ci_rate")
    log = api_requests(stub.log())
    st.eq([r["status"] for r in log][:2], [429, 200], "statuses")
    st.check(log[1]["mono"] - log[0]["mono"] >= 3.0, "Retry-After: 3 waited out")
    stub.ctl("log/clear", {})
    stub.faults(force_429={"count": 1, "body_retry_after": 3})
    rc, _, _ = run("intent", "ci_rate")
    log = api_requests(stub.log())
    st.eq([r["status"] for r in log][:2], [429, 200], "statuses")
    st.check(log[1]["mono"] - log[0]["mono"] >= 3.0, "retryAfter: 3 waited out")
    st.eq(rc, 0, "exit")


def test_ratelimit_r0_holds_for_t():
    stub.fresh()
    stub.ctl("intents", {"intents": [{"id": "ci_rate"}]})
    stub.faults(ratelimit_report={"count": 1, "r": 0, "t": 2})
    rc, lines, _ = run("repeat", 2, "ci_rate")
    log = api_requests(stub.log())
    st.eq([r["status"] for r in log], [200, 200], "statuses")
    st.check(log[1]["mono"] - log[0]["mono"] >= 2.0, "r=0;t=2 held the next request 2 s")
    st.eq(lines[-1]["stats"]["held"], 1, "held once")


def test_waits_past_the_deadline_are_not_started():
    stub.fresh()
    stub.ctl("intents", {"intents": [{"id": "ci_rate"}]})
    stub.faults(force_429={"count": 5, "retry_after": "99999999999999999999999"})
    t0 = time.monotonic()
    rc, lines, _ = run("--deadline", 30, "intent", "ci_rate")
    took = time.monotonic() - t0
    call = calls(lines)[0]
    st.eq((rc, call["result"]), (1, "rate limited"), "result")
    st.check("deadline" in call["message"], call["message"])
    st.eq(len(api_requests(stub.log())), 1, "one request, no waiting")
    st.check(took < 25, "returned before its deadline (%.1f s)" % took)
    # The same for the 5xx back-off.
    stub.faults(reset=True, status_5xx={"count": 50})
    rc, lines, _ = run("--deadline", 1, "--retries", 10, "intent", "ci_rate")
    call = calls(lines)[0]
    st.check(call["result"] in ("unavailable", "stopped"), call)
    st.check("deadline" in call["message"], call["message"])


# --- errors ---------------------------------------------------------------------------------

def test_unauthorized_is_its_own_result_and_the_key_stays_out():
    stub.fresh()
    stub.faults(echo_key=True)
    wrong = "RYE/staging-wrong-key-77aa01"
    rc, lines, err = run("--verbose", "intent", "ci_1", key=wrong)
    call = calls(lines)[0]
    st.eq((rc, call["result"], call["http"], call["error"]), (2, "unauthorized", 401,
                                                              "UnauthorizedError"), "401")
    st.check(wrong not in json.dumps(lines) and wrong not in err,
             "the key the server echoed is masked: %r" % call["message"])
    st.eq(len(api_requests(stub.log())), 1, "no retry of a 401")
    stub.faults(reset=True, error_status={"count": 1, "code": 403})
    rc, lines, _ = run("intent", "ci_1")
    st.eq((rc, calls(lines)[0]["result"]), (2, "unauthorized"), "403")
    # The scheme is configurable.
    stub.faults(reset=True, rest_schemes=["Basic"])
    stub.ctl("intents", {"intents": [{"id": "ci_1"}]})
    rc, lines, _ = run("intent", "ci_1")
    st.eq((rc, calls(lines)[0]["result"]), (2, "unauthorized"), "Bearer refused")
    rc, lines, _ = run("--scheme", "Basic", "intent", "ci_1")
    st.eq((rc, calls(lines, "intent")[0]["result"]), (0, "ok"), "Basic accepted")


def test_huge_body_refused_by_the_cap():
    stub.fresh()
    stub.ctl("intents", {"intents": [{"id": "ci_big"}]})
    stub.faults(huge_body={"count": 1, "bytes": 5 << 20})
    rc, lines, _ = run("intent", "ci_big")
    call = calls(lines)[0]
    st.eq((rc, call["result"]), (1, "invalid answer"), "result")
    st.check("4 MiB" in call["message"], call["message"])
    st.eq(len(api_requests(stub.log())), 1, "not retried")
    stub.faults(huge_body={"count": 1, "bytes": 3 << 20})
    rc, lines, _ = run("intent", "ci_big")
    st.eq((rc, calls(lines)[0]["result"]), (0, "ok"), "3 MiB is under the cap")


def test_malformed_json_is_an_error_not_a_crash():
    stub.fresh()
    seed_events(3)
    stub.faults(malformed_json_count=1)
    rc, lines, _ = run("events")
    st.eq((rc, calls(lines)[0]["result"], calls(lines)[0]["items"]), (0, "ok", 5),
          "one cut body, retried")
    st.eq(len(api_requests(stub.log())), 2, "requests")
    stub.ctl("log/clear", {})
    stub.faults(malformed_json_count=10)
    rc, lines, _ = run("--retries", 2, "events")
    call = calls(lines)[0]
    st.eq((rc, call["result"]), (1, "invalid answer"), "result")
    st.check("not JSON" in call["message"] and "after 3 attempts" in call["message"],
             call["message"])
    st.eq(len(api_requests(stub.log())), 3, "1 + 2 retries")


def test_5xx_and_dropped_connections_retried():
    stub.fresh()
    stub.ctl("intents", {"intents": [{"id": "ci_5"}]})
    stub.faults(status_5xx={"count": 1, "code": 503}, drop_count=0)
    rc, lines, _ = run("intent", "ci_5")
    st.eq(rc, 0, "a 503 then the answer")
    stub.faults(drop_count=1)
    rc, lines, _ = run("intent", "ci_5")
    st.eq(rc, 0, "a dropped connection then the answer")
    stub.ctl("log/clear", {})
    stub.faults(status_5xx={"count": 10, "code": 500, "plain": True})
    rc, lines, _ = run("--retries", 2, "intent", "ci_5")
    call = calls(lines)[0]
    st.eq((rc, call["result"], call["http"]), (1, "unavailable", 500), "persistent 500")
    st.eq(len(api_requests(stub.log())), 3, "1 + 2 retries")


st.run()
