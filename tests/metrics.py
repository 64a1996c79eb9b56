#!/usr/bin/env python3
"""GET /v1/metrics: Prometheus's text format, read back with a strict
parser (tests/promparse.py, itself shown to refuse malformed text first),
and the counts it shows.

Webhooks go through the real receiver, in CGI mode and as a FastCGI
process with several request threads (tests/fcgi_client.py): accepted,
duplicate, signed but not JSON (kept as a rejected delivery), bad
signatures and wrong methods (nothing stored).  The poller's carrier
requests by endpoint and outcome, and its run durations, come from real
runs against the AfterShip stand-in.  Unsigned requests never cause a
database write each: in CGI mode at most one every 10 s, under FastCGI
they ride along with the next commit or the exit.
"""
import json
import os
import signal
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import shiptrack_test as st  # noqa: E402
import fcgi_client as fc  # noqa: E402
import poll_test as pt  # noqa: E402
import promparse  # noqa: E402
from shiptrack_test import check, eq  # noqa: E402

TMP = st.tempdir("shiptrack-metrics-")
FAST = {"SHIPTRACK_DURABILITY": "normal"}


def metrics(db):
    a = st.api(db, "/v1/metrics")
    eq(a.status, 200, "GET /v1/metrics")
    eq(a.headers.get("content-type"), "text/plain; version=0.0.4; charset=utf-8",
       "content type")
    eq(a.headers.get("cache-control"), "no-store", "never cached")
    try:
        return promparse.parse(a.body.decode("utf-8"))
    except promparse.Malformed as e:
        raise AssertionError("malformed /v1/metrics: %s\n%s" % (e, a.body.decode()))


def webhooks(m):
    return {l["result"]: v for _, l, v in m["shiptrack_webhooks_total"].samples}


def rejected(m):
    return {l["reason"]: v for _, l, v in m["shiptrack_webhooks_rejected_total"].samples}


def unsigned(db, body=b'{"id":"x"}'):
    return st.post(db, body, sign_with="not_the_secret_at_all_123", env=FAST)


# --- the parser refuses what is not the format ------------------------------

GOOD = """# HELP x_total A counter, with \\\\ and \\n escaped.
# TYPE x_total counter
x_total{a="1",b="q\\"uote\\\\ \\nnl",} 3
x_total 0 1700000000000
# a plain comment
# HELP g A gauge.
# TYPE g gauge
g -1.5e3
g{k="NaN"} NaN
# TYPE h_seconds histogram
h_seconds_bucket{le="0.5"} 1
h_seconds_bucket{le="1"} 2
h_seconds_bucket{le="+Inf"} 3
h_seconds_sum 4.25
h_seconds_count 3
h_seconds_bucket{x="y",le="+Inf"} 0
h_seconds_sum{x="y"} 0
h_seconds_count{x="y"} 0

"""

BAD = {
    "no newline at the end": "# TYPE g gauge\ng 1",
    "bad metric name": "# TYPE 9g gauge\n9g 1\n",
    "bad label escape": '# TYPE g gauge\ng{a="\\t"} 1\n',
    "unquoted label value": "# TYPE g gauge\ng{a=1} 1\n",
    "unterminated label value": '# TYPE g gauge\ng{a="1} 1\n',
    "repeated label": '# TYPE g gauge\ng{a="1",a="2"} 1\n',
    "reserved label name": '# TYPE g gauge\ng{__a="1"} 1\n',
    "bad value": "# TYPE g gauge\ng 1,5\n",
    "two spaces": "# TYPE g gauge\ng  1\n",
    "bad timestamp": "# TYPE g gauge\ng 1 soon\n",
    "TYPE after a sample": "# TYPE g gauge\ng 1\n# TYPE g gauge\n",
    "two HELP lines": "# HELP g a\n# HELP g b\n# TYPE g gauge\ng 1\n",
    "unknown type": "# TYPE g gaugeish\ng 1\n",
    "bad HELP escape": "# HELP g a\\tb\n# TYPE g gauge\ng 1\n",
    "sample without TYPE": "g 1\n",
    "family not contiguous": "# TYPE a gauge\na 1\n# TYPE b gauge\nb 1\na{x=\"1\"} 2\n",
    "same series twice": '# TYPE g gauge\ng{a="1"} 1\ng{a="1"} 2\n',
    "counter without _total": "# TYPE c counter\nc 1\n",
    "negative counter": "# TYPE c_total counter\nc_total -1\n",
    "gauge sample of another name": "# TYPE g gauge\ng_other 1\n",
    "histogram without +Inf": "# TYPE h histogram\nh_bucket{le=\"1\"} 1\nh_sum 1\nh_count 1\n",
    "histogram not cumulative": "# TYPE h histogram\nh_bucket{le=\"1\"} 2\n"
                                "h_bucket{le=\"+Inf\"} 1\nh_sum 1\nh_count 1\n",
    "histogram count != +Inf": "# TYPE h histogram\nh_bucket{le=\"+Inf\"} 2\nh_sum 1\nh_count 3\n",
    "histogram without _sum": "# TYPE h histogram\nh_bucket{le=\"+Inf\"} 2\nh_count 2\n",
    "histogram bad le": "# TYPE h histogram\nh_bucket{le=\"one\"} 2\nh_sum 1\nh_count 2\n",
}


def test_parser_accepts_the_format_and_refuses_the_rest():
    f = promparse.parse(GOOD)
    eq(f["x_total"].help, "A counter, with \\ and \n escaped.", "HELP unescaped")
    eq(f["x_total"].value(a="1", b='q"uote\\ \nnl'), 3.0, "label escapes")
    eq(f["g"].value(), -1500.0, "float")
    eq(len(f["h_seconds"].samples), 8, "histogram samples")
    for why, text in BAD.items():
        try:
            promparse.parse(text)
        except promparse.Malformed:
            continue
        raise AssertionError("the parser accepted %s: %r" % (why, text))


# --- what /v1/metrics shows --------------------------------------------------

def test_operator_only():
    db = st.fresh_db(TMP)
    st.error_answer(st.api(db, "/v1/metrics", token=st.API_TOKEN, auth=None),
                    401, "unauthorized")
    st.error_answer(st.api(db, "/v1/metrics", token=None), 403, "forbidden")


def test_fresh_database_every_family_with_help_and_type():
    db = st.fresh_db(TMP)
    m = metrics(db)
    want = {"shiptrack_orders_by_stage": "gauge", "shiptrack_orders_by_status": "gauge",
            "shiptrack_orders_stale": "gauge", "shiptrack_events_stored": "gauge",
            "shiptrack_rejected_deliveries_stored": "gauge",
            "shiptrack_notifications": "gauge",
            "shiptrack_last_poll_timestamp_seconds": "gauge",
            "shiptrack_last_successful_poll_timestamp_seconds": "gauge",
            "shiptrack_last_rye_pass_timestamp_seconds": "gauge",
            "shiptrack_last_successful_rye_pass_timestamp_seconds": "gauge",
            "shiptrack_run_lock_held": "gauge", "shiptrack_run_lock_age_seconds": "gauge",
            "shiptrack_run_lock_stuck": "gauge",
            "shiptrack_webhooks_total": "counter",
            "shiptrack_webhooks_rejected_total": "counter",
            "shiptrack_carrier_requests_total": "counter",
            "shiptrack_poll_duration_seconds": "histogram",
            "shiptrack_commit_duration_seconds": "histogram",
            "shiptrack_commit_batch_size": "histogram",
            "shiptrack_rye_requests_total": "counter",
            "shiptrack_rye_events_recovered_total": "counter",
            "shiptrack_rye_intents_completed_total": "counter",
            "shiptrack_rye_orders_resynced_total": "counter",
            "shiptrack_rye_errors_total": "counter"}
    eq({k: f.type for k, f in m.items()}, want, "families and types")
    for f in m.values():
        check(f.name.startswith("shiptrack_") and f.help, "%s: name and help" % f.name)
    eq(m["shiptrack_orders_by_stage"].value(stage="delivered"), 0.0, "no orders")
    eq(webhooks(m), {"accepted": 0, "duplicate": 0, "challenge": 0}, "webhooks")
    check(set(rejected(m).values()) == {0.0}, "no refusals yet")
    eq(m["shiptrack_last_poll_timestamp_seconds"].samples, [], "never polled: no sample")
    eq(m["shiptrack_run_lock_held"].series(),
       {(("lock", "notify"),): 0.0, (("lock", "poll"),): 0.0, (("lock", "rye"),): 0.0},
       "locks free")


def test_store_counts_agree_with_stats():
    db = st.fresh_db(TMP)
    for i in range(3):
        eq(st.post(db, st.event("ORDER_PLACED", "ord_m_%d" % i, st.iso(i)), env=FAST).status,
           200, "placed")
    eq(st.post(db, st.tracking("ord_m_0", "1ZMETRICS0001", "UPS"), env=FAST).status, 200,
       "tracking")
    eq(st.post(db, st.event("ORDER_FAILED", "ord_m_2", st.iso(9)), env=FAST).status, 200,
       "failed")
    s = st.api(db, "/v1/stats").json()
    m = metrics(db)
    for stage, n in s["stage"].items():
        eq(m["shiptrack_orders_by_stage"].value(stage=stage), n, "stage " + stage)
    for status, n in s["status"].items():
        eq(m["shiptrack_orders_by_status"].value(status=status), n, "status " + status)
    eq(sum(v for _, _, v in m["shiptrack_orders_by_stage"].samples), 3, "three orders")
    eq(m["shiptrack_orders_stale"].value(), s["stale"], "stale")
    eq(m["shiptrack_events_stored"].value(), s["events"], "events")
    for state, n in s["notifications"].items():
        eq(m["shiptrack_notifications"].value(state=state), n, "notifications " + state)
    check(s["notifications"]["pending"] > 0, "some notifications queued")


def test_webhooks_in_cgi_mode():
    db = st.fresh_db(TMP)
    body = st.event("ORDER_PLACED", "ord_m_cgi", st.iso(1))
    eq(st.post(db, body, env=FAST).status, 200, "accepted")
    eq(st.post(db, body, env=FAST).status, 200, "duplicate")
    eq(st.post(db, b"{not json", env=FAST).status, 400, "signed, not JSON")
    eq(st.post(db, st.event("ORDER_PLACED", "ord_m_cgi", createdAt=None), env=FAST).status,
       400, "no createdAt")
    m = metrics(db)
    eq(webhooks(m), {"accepted": 1, "duplicate": 1, "challenge": 0}, "stored outcomes")
    eq((rejected(m)["invalid_json"], rejected(m)["missing_field"]), (1, 1),
       "kept as evidence, counted in their commits")
    eq(unsigned(db).status, 401, "bad signature")
    eq(rejected(metrics(db))["bad_signature"], 1, "the first refusal is stored")
    # More unsigned requests within 10 s: no write, whatever they are (a
    # promise about storage: read there, on purpose).
    before = st.storage_sql(db, "SELECT * FROM metrics ORDER BY 1, 2, 3"), st.storage_dump(db)
    eq(unsigned(db).status, 401, "bad signature again")
    eq(st.post(db, b"", method="GET", env=FAST).status, 405, "GET")
    eq((st.storage_sql(db, "SELECT * FROM metrics ORDER BY 1, 2, 3"), st.storage_dump(db)),
       before, "unsigned requests in a row wrote nothing")
    # Once the 10 s have passed, the next one is stored again (time moved
    # back in storage, on purpose).
    st.storage_sql(db, "UPDATE metrics SET value = value - 10000 WHERE name = '#flushed_ms'")
    eq(st.post(db, b"", method="GET", env=FAST).status, 405, "GET")
    eq(rejected(metrics(db))["method_not_allowed"], 1, "stored after the window")


def test_webhooks_in_fastcgi_mode_all_counted():
    db = st.fresh_db(TMP)
    env = st.base_env(st.webhook_env(db, SHIPTRACK_THREADS=4, SHIPTRACK_DURABILITY="normal"))
    r = fc.Receiver(st.WEBHOOK, env, TMP)
    try:
        def send(body, signed=True, method="POST"):
            a = r.request(fc.webhook_params(body, signed=signed, method=method), body, 20)
            check(a is not None, "an answer")
            return int(a.split(b"\r\n", 1)[0].split()[1])

        body = st.event("ORDER_PLACED", "ord_m_fcgi", st.iso(1))
        eq(send(body), 200, "accepted")
        eq(send(body), 200, "duplicate")
        eq(send(b"[1,2"), 400, "not JSON")
        for _ in range(5):
            eq(send(body, signed=False), 401, "unsigned")
        eq(send(b"", method="GET"), 405, "GET")
        eq(send(b"", method="PUT"), 405, "PUT")
        # Nothing has committed since the refusals: they wait in memory.
        eq(rejected(metrics(db)).get("bad_signature"), 0, "refusals not written each")
        eq(send(st.event("ORDER_PLACED", "ord_m_fcgi2", st.iso(2))), 200, "accepted")
        m = metrics(db)
        eq(webhooks(m), {"accepted": 2, "duplicate": 1, "challenge": 0}, "outcomes")
        got = rejected(m)
        eq((got["bad_signature"], got["method_not_allowed"], got["invalid_json"]), (5, 2, 1),
           "refusals rode along with the next commit")
        for _ in range(3):
            eq(send(body, signed=False), 401, "unsigned")
    finally:
        r.stop()     # SIGTERM: the process stores what still waits, then exits
    eq(r.proc.returncode, 0, "clean exit")
    m = metrics(db)
    eq(rejected(m)["bad_signature"], 8, "stored at exit")
    # The group commits: every webhook that reached one (2 accepted, 1
    # duplicate, 1 kept as evidence) in a batch, one duration per commit.
    def total(family, part):
        return [v for n, _, v in m[family].samples if n.endswith(part)][0]
    eq(total("shiptrack_commit_batch_size", "_sum"), 4, "webhooks in commits")
    commits = total("shiptrack_commit_batch_size", "_count")
    check(1 <= commits <= 4, "commits: %r" % commits)
    eq(total("shiptrack_commit_duration_seconds", "_count"), commits, "a duration per commit")
    check(total("shiptrack_commit_duration_seconds", "_sum") > 0, "durations add up")


def test_poll_runs_counted():
    stub = pt.Stub()
    db = st.fresh_db(TMP)
    pt.order(db, "ord_m_poll", "1Z999AA10123456784", "UPS")
    p = pt.poll(db, stub)
    pt.expect_exit(p, 0, "poll")
    m = metrics(db)
    req = m["shiptrack_carrier_requests_total"].series()
    eq(req.get((("endpoint", "create"), ("outcome", "ok"))), 1, "one create: %r" % req)
    h = m["shiptrack_poll_duration_seconds"]
    eq([v for n, l, v in h.samples if n.endswith("_count")], [1], "one run")
    first = m["shiptrack_last_successful_poll_timestamp_seconds"].value()
    eq(m["shiptrack_last_poll_timestamp_seconds"].value(), first, "last run was ok")
    check(abs(first - time.time()) < 3600, "a recent time: %r" % first)
    # A run the service refuses: counted by outcome; the last good one stays
    # (the first run moved into the past in storage, on purpose).
    st.storage_sql(db, "UPDATE meta SET value = '2025-01-01T00:00:00Z'"
                   " WHERE key IN ('poll.finishedAt', 'poll_ok.finishedAt')")
    pt.make_due(db)
    p = pt.poll(db, stub, key="as_wrong_key_000000")
    pt.expect_exit(p, 2, "refused key")
    m = metrics(db)
    req = m["shiptrack_carrier_requests_total"].series()
    check(any(dict(k)["outcome"] == "unauthorized" for k in req), "401 counted: %r" % req)
    eq(m["shiptrack_last_successful_poll_timestamp_seconds"].value(), 1735689600.0,
       "the last successful run is still the old one")
    check(m["shiptrack_last_poll_timestamp_seconds"].value() > 1735689600.0,
          "the last run is the new one")
    eq([v for n, l, v in m["shiptrack_poll_duration_seconds"].samples
        if n.endswith("_count")], [2], "two runs")
    stub.close()


def test_histogram_exposed_cumulative():
    db = st.fresh_db(TMP)
    rows = [("", "1", 2), ("", "5", 1), ("", "+Inf", 1), ("", "sum", 2 * 400 + 3000 + 7200000),
            # a bucket bound this build does not use counts towards the next one up
            ("", "3", 4)]
    # Stored totals written in storage on purpose: a bound no run of this
    # build would store.
    for labels, part, v in rows:
        st.storage_sql(db, "INSERT INTO metrics(name, labels, part, value) VALUES (?,?,?,?)",
                       ("shiptrack_poll_duration_seconds", labels, part, v))
    h = metrics(db)["shiptrack_poll_duration_seconds"]
    buckets = {l["le"]: v for n, l, v in h.samples if n.endswith("_bucket")}
    eq((buckets["1"], buckets["5"], buckets["15"], buckets["+Inf"]), (2, 7, 7, 8), "cumulative")
    eq([v for n, l, v in h.samples if n.endswith("_sum")], [7203.8], "sum in seconds")


def test_label_values_escaped():
    db = st.fresh_db(TMP)
    # A status no event gives, written in storage on purpose.
    st.storage_sql(db, "INSERT INTO orders(id, status, stage, created_at, created_ms, updated_at,"
                   " updated_ms) VALUES ('x', 'WEIRD \"\\\n', 'placed', '', 0, '', 0)")
    m = metrics(db)
    eq(m["shiptrack_orders_by_status"].value(status='WEIRD "\\\n'), 1, "escaped and read back")


if __name__ == "__main__":
    st.run()
