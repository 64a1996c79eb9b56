#!/usr/bin/env python3
"""The list sync against a carrier service that never reaches its last page.

A service that always answers has_next_page with a next cursor (or, in the
page form, a count always past the page) would keep shiptrack-poll running
for ever, holding the run lock, and every later cron run would leave
quietly.  A run asks for at most poll_max_pages pages, stops at a page the
service repeats (the same next cursor; in the page form the same
trackings) and at its deadline (poll_interval).  Each of these ends the run
with exit 1 and one log line saying so, and does not record the sync as
complete: the next run lists again from the same point.

Each run here is bounded by a subprocess timeout, so a poller that does not
stop fails the test instead of hanging it.
"""

import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import shiptrack_test as st  # noqa: E402
import poll_test as pt  # noqa: E402

stub = pt.Stub()
NUM = "1Z999AA10123456784"
# Far beyond what any bounded run here takes (the longest, the deadline
# test, is poll_interval = 10 s), far below "for ever".
RUN_TIMEOUT = 120
# Cursor form (2024-10 on), and the page form of the dated API and of /v4.
VERSIONS = ("2025-07", "2024-07", "v4")


def bounded_poll(db, version, env=None):
    try:
        return pt.poll(db, stub, version=version, env=env, timeout=RUN_TIMEOUT)
    except subprocess.TimeoutExpired:
        raise AssertionError("%s: the run did not end within %d s (endless list paging)"
                             % (version, RUN_TIMEOUT))


def synced(version):
    """A database with one registered shipment and a complete list sync."""
    stub.reset()
    db = st.fresh_db()
    pt.order(db, "ord_paging", NUM)
    pt.expect_exit(pt.poll(db, stub, version=version), 0, version + ": first run")
    cursor = pt.list_cursor(db)
    st.check(cursor, version + ": the first run recorded a complete sync")
    stub.clear_log()
    return db, cursor


def list_requests(log):
    """The list sync's requests (not the lookups of numbers that exist)."""
    return [r for r in log if r["method"] == "GET" and r["path"].endswith("/trackings")
            and "tracking_numbers=" not in r["query"]]


def since(r):
    return re.search(r"updated_at_min=([^&]*)", r["query"]).group(1)


def one_line(p, words):
    """Exactly one stderr line holds all of words; returns it."""
    lines = [l for l in p.stderr.splitlines() if all(w in l for w in words)]
    st.eq(len(lines), 1, "lines with %r in %r" % (words, p.stderr[-2000:]))
    return lines[0]


def lists_again_from_the_same_point(db, version, cut_run_lists, cursor):
    """The sync was not recorded: the next run lists from where the cut one did."""
    st.eq(pt.list_cursor(db), cursor, version + ": cursor kept")
    stub.faults(endless_list=None)
    stub.clear_log()
    p = bounded_poll(db, version)
    pt.expect_exit(p, 0, version + ": the service ends its list again")
    again = list_requests(stub.api_log())
    st.check(again, version + ": the next run lists")
    st.eq(since(again[0]), since(cut_run_lists[0]), version + ": from the same point")
    st.check(pt.list_cursor(db) > cursor, version + ": a complete sync moves the cursor")


def test_page_cap_ends_an_endless_list():
    for version in VERSIONS:
        db, cursor = synced(version)
        stub.faults(endless_list="fresh")
        p = bounded_poll(db, version, env={"SHIPTRACK_POLL_MAX_PAGES": "5"})
        pt.expect_exit(p, 1, version + ": capped")
        st.check(pt.summary(p).endswith("; list_page_cap"), pt.summary(p))
        one_line(p, ("poll_max_pages (5 pages)", "not complete", "same point"))
        lists = list_requests(stub.api_log())
        st.eq(len(lists), 5, version + ": list pages asked for")
        st.eq(st.stats(db)["lastPoll"]["result"], "list_page_cap",
              version + ": the run's result, for /v1/stats")
        lists_again_from_the_same_point(db, version, lists, cursor)


def test_repeated_cursor_or_page_stops_the_list():
    """The default cap (1000 pages) is far away: the repeat itself stops it."""
    for version, what in (("2025-07", "next cursor"), ("2024-07", "page"), ("v4", "page")):
        db, cursor = synced(version)
        stub.faults(endless_list="repeat")
        p = bounded_poll(db, version)
        pt.expect_exit(p, 1, version + ": repeated")
        st.check(pt.summary(p).endswith("; list_repeated"), pt.summary(p))
        one_line(p, ("answered page 2 with a %s it had given before" % what,
                     "not complete"))
        lists = list_requests(stub.api_log())
        st.eq(len(lists), 2, version + ": list pages asked for")
        lists_again_from_the_same_point(db, version, lists, cursor)


def test_list_paging_stops_at_the_deadline():
    """Fresh pages, a cap far away: the run's deadline (poll_interval) ends it.
    (The stand-in allows 6 list requests a second: 10 s are some 60 pages.)"""
    db, cursor = synced("2025-07")
    stub.faults(endless_list="fresh")
    p = bounded_poll(db, "2025-07", env={"SHIPTRACK_POLL_INTERVAL": "10"})
    pt.expect_exit(p, 1, "out of time")
    st.check(pt.summary(p).endswith("; list_out_of_time"), pt.summary(p))
    one_line(p, ("out of time (poll_interval, 10 s)", "not complete"))
    lists = list_requests(stub.api_log())
    st.check(1 < len(lists) < 1000, "%d pages, stopped by time, not the cap" % len(lists))
    lists_again_from_the_same_point(db, "2025-07", lists, cursor)


st.run()
