#!/usr/bin/env python3
"""Every error path of the poller, against the AfterShip stand-in's faults.

The spec's table: 401 stops the run (exit 2); 4003 is resolved by looking
the number up; 4004 re-creates; 4005/4007/4017 reject the number for good;
4009/4011 are recorded with a growing back-off; 4010/4012 are retried once
without a slug.  429 waits until the reset (or Retry-After); a used-up quota
ends the run quickly, and so do rate-limit headers of absurd size or a
wait past the run's deadline.  5xx (plain text), timeouts, dropped connections and
cut bodies are retried with backoff, and recorded when they persist.
"""

import datetime
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import shiptrack_test as st  # noqa: E402
import poll_test as pt  # noqa: E402

stub = pt.Stub()
NUM = "1Z999AA10123456784"


def fresh(*shipments):
    stub.reset()
    db = st.fresh_db()
    for i, s in enumerate(shipments):
        number, carrier = (s, "UPS") if isinstance(s, str) else s
        pt.order(db, "ord_err_%d" % i, number, carrier)
    return db


def statuses(log, method=None):
    return [r["status"] for r in pt.requests_of(log, method)]


def test_unauthorized_key():
    db = fresh(NUM)
    p = pt.poll(db, stub, key="wrong_key_6b1f0a")
    pt.expect_exit(p, 2, "refused key")
    st.check("401" in p.stderr and "carrier_api_key" in p.stderr, p.stderr)
    st.check("unauthorized" in pt.summary(p), pt.summary(p))
    st.eq(pt.poll_error(db, NUM), None, "not the shipment's fault")
    st.eq(len(stub.api_log()), 1, "the run stopped at the first 401")
    st.eq(st.stats(db)["lastPoll"]["result"], "unauthorized", "run recorded")


def test_configuration_errors():
    db = fresh(NUM)
    p = pt.poll(db, stub, key=None)
    pt.expect_exit(p, 2, "no key")
    st.check("carrier_api_key is not set" in p.stderr, p.stderr)
    p = pt.poll(db, None, env={"SHIPTRACK_CARRIER_API_URL": stub.root + "/api"})
    pt.expect_exit(p, 2, "base without a version")
    st.check("carrier_api_url" in p.stderr, p.stderr)
    p = pt.poll(db, stub, env={"SHIPTRACK_POLL_CONCURRENCY": "0"})
    pt.expect_exit(p, 2, "bad number")
    st.check("SHIPTRACK_POLL_CONCURRENCY" in p.stderr, p.stderr)
    p = pt.poll(db, stub, "--config", "/nonexistent/shiptrack.conf")
    pt.expect_exit(p, 2, "missing config file")
    # A base that parses but that the service does not serve: 404 NotFound.
    p = pt.poll(db, None, env={"SHIPTRACK_CARRIER_API_URL": stub.root + "/wrong/v4"})
    pt.expect_exit(p, 2, "wrong route")
    st.check("carrier_api_url" in p.stderr, p.stderr)
    st.eq(pt.poll_error(db, NUM), None, "nothing recorded")
    st.eq(pt.shipment_row(db, NUM)["carrier_id"], None, "nothing registered")


def test_already_exists_is_looked_up():
    db = fresh(NUM)
    seeded = stub.seed([{"tracking_number": NUM, "slug": "ups", "tag": "InTransit"}])
    p = pt.poll(db, stub)
    pt.expect_exit(p, 0, "4003")
    log = stub.api_log()
    st.eq([(r["method"], r["status"], r["meta_code"]) for r in log],
          [("POST", 400, 4003), ("GET", 200, 200)], "create, then lookup")
    st.check("tracking_numbers=" + NUM in log[1]["query"], log[1]["query"])
    st.eq(pt.shipment_row(db, NUM)["carrier_id"], seeded["trackings"][0]["id"],
          "the existing id adopted")
    st.eq(pt.shipment_view(db, NUM)["tag"], "InTransit", "its data applied")


def test_gone_is_created_again():
    db = fresh(NUM)
    pt.expect_exit(pt.poll(db, stub), 0)
    old = pt.shipment_row(db, NUM)["carrier_id"]
    st.eq(stub.api("DELETE", "/trackings/" + old)[0], 200, "deleted in the stub")
    pt.make_due(db)
    stub.clear_log()
    p = pt.poll(db, stub)
    pt.expect_exit(p, 0, "4004")
    st.eq([(r["method"], r["meta_code"]) for r in stub.api_log()
           if "updated_at_min" not in r["query"]],
          [("GET", 4004), ("POST", 201)], "get 4004, then create")
    new = pt.shipment_row(db, NUM)["carrier_id"]
    st.check(new and new != old, "a new AfterShip id: %r" % new)


def test_rejected_numbers_are_not_polled_again():
    bad, fmt, missing = "1Z-BAD-NUMBER", "1ZFORMAT0001", "1ZMISSING001"
    db = fresh(bad, fmt, missing, NUM)
    stub.faults(create_errors={fmt: 4017, missing: 4007})
    p = pt.poll(db, stub)
    pt.expect_exit(p, 1, "rejections")
    st.check("3 rejected" in pt.summary(p) and "1 registered" in pt.summary(p),
             pt.summary(p))
    for number, code in ((bad, 4005), (fmt, 4017), (missing, 4007)):
        err = pt.poll_error(db, number)
        st.check(("rejected the tracking number (%d" % code) in (err or ""),
                 "%s: %r" % (number, err))
        st.eq(pt.shipment_row(db, number)["next_poll_ms"], pt.NEVER,
              number + " never polled again")
    v = pt.view(db, "ord_err_0")
    st.check("rejected" in v["shipments"][0]["pollError"]["message"], "shown to the operator")
    st.check(v["shipments"][0]["pollError"]["at"], "with its time")
    stub.clear_log()
    pt.make_due(db)
    p = pt.poll(db, stub)
    pt.expect_exit(p, 0, "second run")
    st.eq(pt.requests_of(stub.api_log(), "POST"), [], "no create for rejected numbers")


def test_needs_details_backs_off():
    db = fresh(NUM, "1ZPOSTAL00001")
    stub.faults(create_errors={NUM: 4011, "1ZPOSTAL00001": 4009})
    env = {"SHIPTRACK_POLL_INTERVAL": "60"}
    waits = []
    for attempt in (1, 2, 3):
        pt.make_due(db)
        t0 = int(time.time() * 1000)
        p = pt.poll(db, stub, env=env)
        pt.expect_exit(p, 1, "attempt %d" % attempt)
        sh = pt.shipment_row(db, NUM)
        st.eq(sh["poll_failures"], attempt, "failures counted")
        err = pt.poll_error(db, NUM)
        st.check("(4011" in err, err)
        waits.append(sh["next_poll_ms"] - t0)
    for attempt, w in enumerate(waits):
        want = 60000 * 2 ** attempt
        st.check(want - 1000 <= w <= want + 5000, "back-off %d: %d ms, want ~%d" %
                 (attempt + 1, w, want))
    st.check("(4009" in pt.poll_error(db, "1ZPOSTAL00001"), "4009 recorded")
    # Not due: no request at all.
    stub.clear_log()
    pt.expect_exit(pt.poll(db, stub, env=env), 0)
    st.eq(pt.requests_of(stub.api_log(), "POST"), [], "backing off")
    # Fixed on AfterShip's side: the next try succeeds and clears the error.
    stub.faults(create_errors={NUM: None})
    pt.make_due(db, NUM)
    pt.expect_exit(pt.poll(db, stub, env=env), 0)
    sh = pt.shipment_row(db, NUM)
    st.eq((pt.poll_error(db, NUM), sh["poll_failures"]), (None, 0), "error cleared")
    st.check(sh["carrier_id"], "registered")


def test_slug_trouble_retried_once_without_slug():
    db = fresh((NUM, "UPS"), ("123456789012", "FedEx"), ("NOCOURIER42", "Other"))
    stub.faults(create_errors={NUM: 4012, "123456789012": 4010})
    p = pt.poll(db, stub)
    pt.expect_exit(p, 1, "slug trouble")
    for number, slug in ((NUM, "ups"), ("123456789012", "fedex")):
        bodies = [st.json.loads(r["body"]) for r in pt.requests_of(stub.api_log(), "POST")
                  if number in r["body"]]
        st.eq([b.get("slug") for b in bodies], [slug, None], number + ": slug, then none")
        st.check("cannot tell the courier" in pt.poll_error(db, number),
                 "recorded")
    bodies = [st.json.loads(r["body"]) for r in pt.requests_of(stub.api_log(), "POST")
              if "NOCOURIER42" in r["body"]]
    st.eq(len(bodies), 1, "no slug to drop: one try")
    st.check("(4012" in pt.poll_error(db, "NOCOURIER42"), "4012 recorded")


def test_5xx_retried_then_fine():
    db = fresh(NUM)
    stub.faults(status_5xx={"count": 2, "code": 503})
    p = pt.poll(db, stub)
    pt.expect_exit(p, 0, "5xx twice")
    st.eq(statuses(stub.api_log(), "POST"), [503, 503, 201], "retried after plain-text 503s")
    st.check("2 retried" in pt.summary(p), pt.summary(p))
    st.eq(pt.poll_error(db, NUM), None, "no error left")


def test_5xx_persisting_is_recorded():
    db = fresh(NUM)
    stub.faults(status_5xx={"count": 100, "code": 502})
    t0 = time.monotonic()
    p = pt.poll(db, stub)
    pt.expect_exit(p, 1, "5xx for good")
    st.check(time.monotonic() - t0 < 20, "bounded retries")
    st.eq(statuses(stub.api_log(), "POST"), [502] * 4, "four tries")
    err = pt.poll_error(db, NUM)
    st.check("HTTP 502" in err and "4 attempts" in err, err)


def test_timeout_dropped_and_cut_answers_retried():
    env = {"SHIPTRACK_CARRIER_TIMEOUT": "1"}
    for fault, what in (({"slow_ms": 2500, "slow_count": 1}, "timeout"),
                        ({"drop_count": 1}, "dropped connection"),
                        # the create did succeed: its retry meets 4003, looked up
                        ({"malformed_json_count": 1}, "cut body")):
        db = fresh(NUM)
        stub.faults(**fault)
        p = pt.poll(db, stub, env=env)
        pt.expect_exit(p, 0, what)
        st.check("1 retried" in pt.summary(p), what + ": " + pt.summary(p))
        st.check(pt.shipment_row(db, NUM)["carrier_id"] and pt.poll_error(db, NUM) is None,
                 what + ": registered")


def stamp(r):
    return datetime.datetime.fromisoformat(r["time"]).timestamp()


def test_429_waits_until_reset():
    """Pacing and X-RateLimit-Remaining normally keep the poller clear of
    429s (see poll_limits.py).  Here it is told a far higher limit than the
    stand-in enforces and sends four at once: every 429 is waited out until
    X-RateLimit-Reset (or Retry-After), then retried."""
    env = {"SHIPTRACK_CARRIER_RATE_CREATE": "1000", "SHIPTRACK_POLL_CONCURRENCY": "4"}
    for retry_after in (False, True):
        numbers = ["1ZRATE%08d" % i for i in range(8)]
        db = fresh(*numbers)
        stub.faults(rate_limits={"create": 2}, retry_after=retry_after)
        p = pt.poll(db, stub, env=env)
        pt.expect_exit(p, 0, "429s waited out")
        st.check("8 registered" in pt.summary(p), pt.summary(p))
        log = stub.api_log()
        limited = [r for r in log if r["status"] == 429]
        st.check(limited, "the stand-in did limit")
        st.check(("%d rate-limited" % len(limited)) in pt.summary(p), pt.summary(p))
        for r in limited:
            # Sent after the 429 was answered, yet in the same window?  The
            # stand-in stamps a request when it handles it, so the (at most
            # CONCURRENCY - 1) requests already in flight when the 429 went
            # out may be stamped after it -- by 100 ms and more on a loaded
            # CI machine.  A poller that ignored the 429 would send the
            # rest of its 8 in that window too.
            same = [x for x in log if x["bucket"] == r["bucket"] and
                    stamp(x) > stamp(r) and int(stamp(x)) == int(stamp(r))]
            st.check(len(same) <= 3, "requests in the window of a 429, after it: %r"
                     % [(x["seq"], x["time"], x["status"]) for x in same])


def test_quota_exhausted_ends_the_run():
    db = fresh(NUM)
    pt.expect_exit(pt.poll(db, stub), 0, "register")
    cursor = pt.list_cursor(db)
    stub.faults(quota_exhausted=True, retry_after=True)
    pt.make_due(db)
    t0 = time.monotonic()
    p = pt.poll(db, stub)
    pt.expect_exit(p, 1, "quota")
    st.check(time.monotonic() - t0 < 15, "did not wait for midnight")
    st.check("quota" in p.stderr, p.stderr)
    st.eq(pt.poll_error(db, NUM), None, "not recorded against the shipment")
    st.eq(pt.list_cursor(db), cursor, "cursor kept")


def bounded_poll(db, env=None, timeout=120):
    """A run that does not end is a failure, not a hang."""
    try:
        return pt.poll(db, stub, env=env, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise AssertionError("the run did not end within %d s" % timeout)


def test_hostile_rate_limit_headers():
    """Rate-limit numbers past any sane size mean "wait very long": the
    endpoint is closed for the run at the first 429 (the rate limit is
    reported, exit 1), instead of overflowing into "retry at once" and
    spinning through every wait (or aborting under UBSan)."""
    huge = "9223372036854775807"
    cases = (({"Retry-After": huge, "X-RateLimit-Reset": huge}, "both INT64_MAX"),
             ({"Retry-After": None, "X-RateLimit-Reset": huge}, "Reset INT64_MAX"),
             ({"Retry-After": huge + "999999", "X-RateLimit-Reset": None},
              "Retry-After past int64"),
             ({"Retry-After": "Fri, 31 Dec 99999 23:59:59 GMT", "X-RateLimit-Reset": None},
              "Retry-After a date far ahead"))
    for headers, what in cases:
        db = fresh(NUM)
        stub.faults(quota_exhausted=True, headers=headers)
        p = bounded_poll(db)
        pt.expect_exit(p, 1, what)
        st.check(pt.summary(p).endswith("; rate_limited") and "1 rate-limited" in
                 pt.summary(p), what + ": " + pt.summary(p))
        st.check("rate limit or quota stopped this run" in p.stderr, what + ": " + p.stderr)
        st.eq(statuses(stub.api_log()), [429], what + ": one request, not retried at once")
        st.eq(pt.poll_error(db, NUM), None, what + ": not the shipment's fault")


def test_rate_limit_wait_never_outlasts_the_run():
    """A Retry-After within max wait (60 s) but past the run's deadline
    (poll_interval 10 s) is not waited out: the run ends, rate limited."""
    db = fresh(NUM)
    stub.faults(quota_exhausted=True, headers={"Retry-After": "30"})
    p = bounded_poll(db, env={"SHIPTRACK_POLL_INTERVAL": "10"})
    pt.expect_exit(p, 1, "429 past the deadline")
    st.check(pt.summary(p).endswith("; rate_limited"), pt.summary(p))
    st.check("past the end of this run" in p.stderr, p.stderr)
    st.eq(statuses(stub.api_log()), [429], "one request, no wait")


def test_list_sync_failure_keeps_the_cursor():
    db = fresh(NUM)
    pt.expect_exit(pt.poll(db, stub), 0, "register")
    cursor = pt.list_cursor(db)
    time.sleep(1.1)
    stub.faults(status_5xx={"count": 100, "code": 500})
    p = pt.poll(db, stub)
    pt.expect_exit(p, 1, "list failing")
    st.check("list_sync_failed" in pt.summary(p), pt.summary(p))
    st.eq(pt.list_cursor(db), cursor, "cursor kept")
    stub.faults(reset=True)
    pt.expect_exit(pt.poll(db, stub), 0, "list back")
    st.check(pt.list_cursor(db) > cursor, "cursor moved")


st.run()
