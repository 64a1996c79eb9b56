#!/usr/bin/env python3
"""api.fcgi as plain CGI: health, operator order view, auth, errors, ETag,
shipments derived from TRACKING_OBTAINED, and read-only access."""
import hashlib
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import shiptrack_test as st  # noqa: E402
from shiptrack_test import check, eq, error_answer  # noqa: E402

TMP = st.tempdir()
TOKEN = st.API_TOKEN

ORDER_KEYS = ["id", "status", "stage", "marketplace", "createdAt", "updatedAt",
              "contact", "lastSync", "syncError", "shipments", "events", "notifications"]
SHIPMENT_KEYS = ["trackingNumber", "carrier", "trackingUrl", "tag", "subtag",
                 "subtagMessage", "expectedDelivery", "deliveredAt", "lastCheckpointAt",
                 "checkedAt", "pollError", "rye", "checkpoints", "estimates", "pickup",
                 "signedBy", "carrierTrackingLink"]
EVENT_KEYS = ["id", "type", "createdAt", "receivedAt", "source"]
# Keys the code adds beyond DESIGN.md's shape (additive, so the documented
# form still works); anything else unexpected fails.
SHIPMENT_EXTRA = {"stale"}


# About SQLite's own storage (tests/pg_backend.py).
SQLITE_ONLY = {
    "test_read_only_database_untouched": "the file's bytes and its WAL",
}

def shipment_keys(s, what):
    """DESIGN.md's shipment keys, in order, plus only the known additions."""
    keys = list(s.keys())
    eq([k for k in keys if k not in SHIPMENT_EXTRA], SHIPMENT_KEYS, what)
    check(set(keys) - set(SHIPMENT_KEYS) <= SHIPMENT_EXTRA,
          "%s: unexpected keys %r" % (what, set(keys) - set(SHIPMENT_KEYS)))


def db():
    return st.fresh_db(TMP)


def feed(path, *bodies):
    for b in bodies:
        a = st.post(path, b)
        check(a.status == 200, "feeding %r: %s" % (b[:80], a))


def get_view(path, order):
    a = st.api(path, "/v1/orders/" + order)
    eq(a.status, 200, "view of %s (%s)" % (order, a))
    return a.json()


def shipments(path, order):
    return [(s["trackingNumber"], s["carrier"], s["trackingUrl"])
            for s in get_view(path, order)["shipments"]]


# --- health ---------------------------------------------------------------

def test_health_ok():
    path = db()
    a = st.api(path, "/v1/health", token=None)
    eq(a.status, 200, "status (%s)" % a)
    check(a.headers.get("content-type", "").startswith("application/json"), "content-type")
    j = a.json()
    eq(list(j.keys()), ["ok", "version", "database"], "keys")
    eq(j["ok"], True, "ok")
    eq(j["database"], "ok", "database")
    want = st.package_version()
    if want is not None:
        eq(j["version"], want, "version")
    check(isinstance(j["version"], str) and j["version"], "version %r" % j["version"])
    check("etag" in a.headers, "health has an ETag")
    # Health needs no token even when one is configured.
    eq(st.api(path, "/v1/health", token=TOKEN, auth=None).status, 200, "no auth needed")


def test_health_503_without_database():
    missing_dir = os.path.join(TMP, "no-such-dir")
    missing = os.path.join(missing_dir, "missing.db")
    a = st.api(missing, "/v1/health", token=None)
    eq(a.status, 503, "status (%s)" % a)
    j = a.json()
    eq(j["ok"], False, "ok")
    check(j.get("database") != "ok", "database %r" % j.get("database"))
    check(not os.path.exists(missing_dir), "the API created %s" % missing_dir)
    # An operator route on a missing database: 503 unavailable, JSON.
    a = st.api(missing, "/v1/orders/x")
    error_answer(a, 503, "unavailable", "order view without database")
    check("retry-after" in a.headers, "Retry-After")


def test_health_503_on_unmigrated_file_and_file_untouched():
    path = os.path.join(TMP, "empty.db")
    open(path, "wb").close()
    a = st.api(path, "/v1/health", token=None)
    eq(a.status, 503, "unmigrated database (%s)" % a)
    eq(os.path.getsize(path), 0, "the read-only API did not migrate the file")


# --- operator auth and errors ------------------------------------------------

def test_settings_name_the_pages_fallback_language():
    """GET /v1/settings: default_locale as its catalog's code, for anyone,
    cacheable, without touching the database."""
    missing = os.path.join(st.tempdir(), "no-such-dir", "x.db")
    for value, want in ((None, "en"), ("de", "de"), ("pt-BR", "pt")):
        env = {"SHIPTRACK_DEFAULT_LOCALE": value} if value else {}
        a = st.api(missing, "/v1/settings", token=None, env=env)
        eq(a.status, 200, "settings with default_locale %r (%s)" % (value, a))
        eq(a.json(), {"defaultLocale": want}, "the fallback language")
        eq(a.headers.get("cache-control"), "public, max-age=300", "cacheable")
        check(a.headers.get("etag"), "an ETag")
    check(not os.path.exists(os.path.dirname(missing)), "no database was needed or made")
    a = st.api(missing, "/v1/settings", token=None, method="POST", body="{}")
    eq(a.status, 405, "GET only")


def test_operator_needs_bearer_token():
    path = db()
    feed(path, st.event("ORDER_PLACED", "ord_auth", st.iso(0)))
    for what, auth in [("no header", None), ("wrong token", "Bearer wrong"),
                       ("prefix of token", "Bearer " + TOKEN[:-1]),
                       ("token plus a char", "Bearer " + TOKEN + "x"),
                       ("empty bearer", "Bearer "),
                       ("basic scheme", "Basic " + TOKEN),
                       ("token without scheme", TOKEN)]:
        a = st.api(path, "/v1/orders/ord_auth", auth=auth)
        error_answer(a, 401, a.json().get("error", "?") if a.status == 401 else "unauthorized",
                     what)
        check(a.headers.get("www-authenticate", "").startswith("Bearer"),
              "%s: WWW-Authenticate %r" % (what, a.headers.get("www-authenticate")))
        check(b"ord_auth" not in a.body, what + ": order data leaked")
        check(TOKEN.encode() not in a.body and TOKEN.encode() not in a.stderr,
              what + ": token echoed")
    eq(st.api(path, "/v1/orders/ord_auth").status, 200, "right token")


def test_operator_403_when_no_token_configured():
    path = db()
    feed(path, st.event("ORDER_PLACED", "ord_403", st.iso(0)))
    for auth in (None, "Bearer anything", "Bearer "):
        a = st.api(path, "/v1/orders/ord_403", token=None, auth=auth)
        error_answer(a, 403, a.json().get("error") if a.status == 403 else "forbidden",
                     "no token configured, auth %r" % auth)
        check(b"ord_403" not in a.body, "order data leaked")
    a = st.api(path, "/v1/orders/ord_403", token=None, auth="Bearer ",
               env={"SHIPTRACK_API_TOKEN": ""})
    eq(a.status, 403, "empty token setting counts as none (%s)" % a)


def test_blank_token_setting_is_no_token():
    """SHIPTRACK_API_TOKEN=" " is unset after trimming, so "Bearer  " (a
    blank token) opens nothing."""
    path = db()
    feed(path, st.event("ORDER_PLACED", "ord_blank", st.iso(0)))
    for token, auth in ((" ", "Bearer  "), ("  ", "Bearer   "), ("\t", "Bearer \t")):
        a = st.api(path, "/v1/orders/ord_blank", token=None, auth=auth,
                   env={"SHIPTRACK_API_TOKEN": token})
        error_answer(a, 403, "forbidden", "token %r, auth %r" % (token, auth))
        check(b"ord_blank" not in a.body, "order data leaked")


def test_short_token_refused_at_start_up():
    """A token under 16 bytes is a configuration error: operator routes stay
    shut even with that very token, and the log names the key, not the value."""
    path = db()
    feed(path, st.event("ORDER_PLACED", "ord_short", st.iso(0)))
    short = "tok_15_bytes_xx"
    a = st.api(path, "/v1/orders/ord_short", token=short)
    check(a.status in (403, 503), "short token opened the operator route: %s" % a)
    check(b"ord_short" not in a.body, "order data leaked")
    check(b"api_token" in a.stderr and b"16 bytes" in a.stderr,
          "the log says why: %r" % a.stderr)
    check(short.encode() not in a.stderr + a.body, "the token is not echoed")
    a = st.api(path, "/v1/health", token=short)
    eq((a.status, a.json()["error"]), (503, "unavailable"), "health with a bad configuration")
    eq(st.api(path, "/v1/orders/ord_short", token=short + "x").status, 200,
       "16 bytes are enough")


def test_unknown_order_404():
    path = db()
    a = st.api(path, "/v1/orders/ord_nobody")
    error_answer(a, 404, "not_found", "unknown order")


def test_wrong_method_405():
    path = db()
    feed(path, st.event("ORDER_PLACED", "ord_405", st.iso(0)))
    for p in ("/v1/orders/ord_405", "/v1/health"):
        for m in ("POST", "DELETE"):
            a = st.api(path, p, method=m, body=b"{}")
            error_answer(a, 405, "method_not_allowed", "%s %s" % (m, p))
            eq(a.headers.get("allow"), "GET", "%s %s Allow" % (m, p))


def test_unknown_route_404():
    path = db()
    for p in ("/v2/health", "/v1/nothing", "/v1/orders/a/b", "/", "", "/v1",
              "/v1/health/extra", "/" + "x/" * 50):
        a = st.api(path, p)
        error_answer(a, 404, "not_found", "route %r" % p)
    a = st.api(path, None)
    error_answer(a, 404, "not_found", "no PATH_INFO")


# --- the operator view ------------------------------------------------------

def test_operator_view_shape():
    path = db()
    feed(path,
         st.event("PAYMENT_SUCCEEDED", "ord_shape", st.iso(0), "evt_shape_1",
                  data={"marketplace": "shopify", "amount": 2500}),
         st.event("ORDER_PLACED", "ord_shape", st.iso(2), "evt_shape_3"),
         st.tracking("ord_shape", "1ZSHAPE001", "UPS", "https://ups.example/t/1ZSHAPE001",
                     st.iso(3), "evt_shape_4"),
         st.event("ORDER_SUBMISSION_STARTED", "ord_shape", "2025-03-01T09:01:00.250Z",
                  "evt_shape_2"))
    a = st.api(path, "/v1/orders/ord_shape")
    eq(a.status, 200, "status")
    check(a.headers.get("content-type", "").startswith("application/json"), "content-type")
    eq(a.headers.get("cache-control"), "no-store", "operator answers are not cached")
    j = a.json()
    eq(list(j.keys()), ORDER_KEYS, "order keys in order")
    eq(j["id"], "ord_shape", "id")
    eq(j["status"], "SUCCEEDED", "status")
    eq(j["stage"], "shipped", "stage (tracking known, carrier has nothing yet)")
    eq(j["marketplace"], "shopify", "marketplace")
    eq(j["createdAt"], st.iso(0), "createdAt = earliest event")
    check(isinstance(j["updatedAt"], str) and j["updatedAt"].endswith("Z"),
          "updatedAt %r" % j["updatedAt"])
    eq(len(j["shipments"]), 1, "one shipment")
    s = j["shipments"][0]
    shipment_keys(s, "shipment keys in order")
    eq(s["trackingNumber"], "1ZSHAPE001", "number")
    eq(s["carrier"], "UPS", "carrier")
    eq(s["trackingUrl"], "https://ups.example/t/1ZSHAPE001", "url")
    eq(s["tag"], "Pending", "tag before the carrier knows it")
    for k in ("subtag", "subtagMessage", "expectedDelivery", "deliveredAt",
              "lastCheckpointAt", "checkedAt", "pollError"):
        eq(s[k], None, k)
    eq(s["checkpoints"], [], "checkpoints")
    eq([list(e.keys()) for e in j["events"]], [EVENT_KEYS] * 4, "event keys in order")
    eq([(e["id"], e["type"], e["createdAt"]) for e in j["events"]],
       [("evt_shape_1", "PAYMENT_SUCCEEDED", st.iso(0)),
        ("evt_shape_2", "ORDER_SUBMISSION_STARTED", "2025-03-01T09:01:00.250Z"),
        ("evt_shape_3", "ORDER_PLACED", st.iso(2)),
        ("evt_shape_4", "TRACKING_OBTAINED", st.iso(3))],
       "events oldest first by createdAt")
    for e in j["events"]:
        check(e["receivedAt"].endswith("Z"), "receivedAt %r" % e["receivedAt"])
    # No shopper-only or internal fields leak in.
    check(b"carrier_key" not in a.body and b"first_key" not in a.body, "internal columns")


def test_etag_and_if_none_match():
    path = db()
    feed(path, st.event("ORDER_PLACED", "ord_etag", st.iso(0), "evt_etag_1"))
    a = st.api(path, "/v1/orders/ord_etag")
    etag = a.headers.get("etag")
    check(etag is not None and etag.startswith('"') and etag.endswith('"'),
          "strong quoted ETag: %r" % etag)
    b = st.api(path, "/v1/orders/ord_etag")
    eq(b.headers.get("etag"), etag, "same answer, same ETag")
    for inm in (etag, "W/" + etag, '"other", ' + etag, "*"):
        c = st.api(path, "/v1/orders/ord_etag", headers={"If-None-Match": inm})
        eq(c.status, 304, "If-None-Match %r (%s)" % (inm, c))
        eq(c.body, b"", "304 has an empty body")
        eq(c.headers.get("etag"), etag, "304 repeats the ETag")
    c = st.api(path, "/v1/orders/ord_etag", headers={"If-None-Match": '"nope"'})
    eq(c.status, 200, "other ETag")
    eq(c.body, a.body, "full answer")
    # The ETag still needs the token: no 304 (or data) for strangers.
    c = st.api(path, "/v1/orders/ord_etag", auth="Bearer wrong",
               headers={"If-None-Match": etag})
    eq(c.status, 401, "If-None-Match does not bypass auth")
    # A change gives a new ETag, and the old one no longer matches.
    feed(path, st.tracking("ord_etag", "1ZETAG", "UPS", None, st.iso(1)))
    d = st.api(path, "/v1/orders/ord_etag", headers={"If-None-Match": etag})
    eq(d.status, 200, "changed order")
    check(d.headers.get("etag") != etag, "ETag changed")
    h = st.api(path, "/v1/health", token=None)
    e = st.api(path, "/v1/health", token=None, headers={"If-None-Match": h.headers["etag"]})
    eq(e.status, 304, "health 304")


def test_cors_origin_header():
    path = db()
    a = st.api(path, "/v1/health", token=None,
               env={"SHIPTRACK_CORS_ORIGIN": "https://shop.example"})
    eq(a.headers.get("access-control-allow-origin"), "https://shop.example", "CORS header")
    a = st.api(path, "/v1/health", token=None)
    check("access-control-allow-origin" not in a.headers, "no CORS header by default")


# --- shipments ---------------------------------------------------------------

ALIAS_CASES = [
    # (where, (number key, carrier key, url key))
    ("data.order", ("trackingNumber", "courierName", "courierUrl")),
    ("data", ("carrierTrackingNumber", "carrierName", "carrierTrackingUrl")),
    ("data", ("tracking_number", "courier", "tracking_url")),
    ("data.order", ("carrierTrackingNumber", "carrier", "trackingUrl")),
    ("data.shipments", ("trackingNumber", "carrier", "trackingUrl")),
    ("data.order.shipments", ("carrierTrackingNumber", "carrierName", "carrierTrackingUrl")),
    ("data.shipments", ("tracking_number", "courierName", "tracking_url")),
]


def test_tracking_aliases_create_shipments():
    path = db()
    for i, (where, aliases) in enumerate(ALIAS_CASES):
        order = "ord_alias_%d" % i
        number = "TRK%d%s" % (i, "X" * i)
        url = "https://track.example/%d?n=%s" % (i, number)
        feed(path, st.tracking(order, number, "Carrier %d" % i, url, st.iso(i),
                               where=where, aliases=aliases))
        eq(shipments(path, order), [(number, "Carrier %d" % i, url)],
           "%s %s" % (where, "/".join(aliases)))
        eq(get_view(path, order)["status"], "SUCCEEDED", "tracking implies placed")


def test_split_order_shipments():
    path = db()
    data = {"marketplace": "amazon",
            "shipments": [{"trackingNumber": "TBA111", "carrier": "Amazon Logistics",
                           "trackingUrl": "https://amazon.example/TBA111"},
                          {"carrierTrackingNumber": "1Z222", "carrierName": "UPS",
                           "carrierTrackingUrl": "https://ups.example/1Z222"},
                          {"trackingNumber": "TBA111", "carrier": "Amazon Logistics"}]}
    feed(path, st.event("TRACKING_OBTAINED", "ord_split", st.iso(5), "evt_split_1",
                        data=data))
    got = shipments(path, "ord_split")
    eq(sorted(got), sorted([("TBA111", "Amazon Logistics", "https://amazon.example/TBA111"),
                            ("1Z222", "UPS", "https://ups.example/1Z222")]),
       "two shipments from one event, de-duplicated")
    # A later, separate TRACKING_OBTAINED adds a third, listed last.
    feed(path, st.tracking("ord_split", "9400333", "USPS", None, st.iso(6)))
    got = shipments(path, "ord_split")
    eq(len(got), 3, "three shipments")
    eq(got[2], ("9400333", "USPS", None), "latest announcement last")
    # An earlier-announced one, arriving late, is listed first.
    feed(path, st.tracking("ord_split", "FDX000", "FedEx", None, st.iso(1)))
    eq(shipments(path, "ord_split")[0][0], "FDX000", "ordered by first TRACKING_OBTAINED")


def test_same_number_in_several_places_is_one_shipment():
    path = db()
    data = {"order": {"trackingNumber": "1ZDUP", "courierName": "UPS"},
            "trackingNumber": "1ZDUP",
            "shipments": [{"trackingNumber": "1ZDUP"}]}
    feed(path, st.event("TRACKING_OBTAINED", "ord_same", st.iso(0), data=data))
    eq(shipments(path, "ord_same"), [("1ZDUP", "UPS", None)], "one shipment")


def test_tracking_without_number_is_pending():
    path = db()
    for i, data in enumerate([{}, {"marketplace": "shopify"},
                              {"order": {"courierName": "FedEx"}},
                              {"trackingNumber": ""},
                              {"trackingNumber": None, "carrier": "UPS"},
                              {"shipments": []}]):
        order = "ord_pending_%d" % i
        feed(path, st.event("TRACKING_OBTAINED", order, st.iso(i), data=data))
        v = get_view(path, order)
        eq(len(v["shipments"]), 1, "pending shipment shown (%r)" % data)
        s = v["shipments"][0]
        shipment_keys(s, "pending shipment keys")
        eq(s["trackingNumber"], None, "details pending (%r)" % data)
        eq(s["tag"], "Pending", "tag")
        eq(v["status"], "SUCCEEDED", "status")
    eq(shipments(path, "ord_pending_2"), [(None, "FedEx", None)], "carrier kept")
    # Two number-less tracking events: two pending shipments, none dropped.
    feed(path, st.event("TRACKING_OBTAINED", "ord_pending_2", st.iso(9), data={}))
    eq(len(shipments(path, "ord_pending_2")), 2, "second pending shipment")


def test_unsafe_tracking_url_dropped():
    path = db()
    feed(path, st.tracking("ord_js", "1ZJS", "UPS", "javascript:alert(1)", st.iso(0)))
    eq(shipments(path, "ord_js"), [("1ZJS", "UPS", None)], "javascript: URL not kept")


def repeat_case(first, second):
    path = db()
    feed(path, first, second)
    return path


def test_repeat_tracking_later_wins_in_either_order():
    early = st.tracking("ord_rep", "1ZREP", "UPS", "https://ups.example/old",
                        st.iso(10), "evt_rep_early")
    late = st.tracking("ord_rep", "1ZREP", "UPS Ground", "https://ups.example/new",
                       st.iso(20), "evt_rep_late")
    a = repeat_case(early, late)
    b = repeat_case(late, early)
    want = [("1ZREP", "UPS Ground", "https://ups.example/new")]
    eq(shipments(a, "ord_rep"), want, "older then newer: newer carrier/URL")
    eq(shipments(b, "ord_rep"), want, "newer then older: older does not overwrite")
    eq(st.blank_times(st.view(a, "ord_rep")), st.blank_times(st.view(b, "ord_rep")),
       "same view in either arrival order")
    # Three events, all six arrival orders.
    import itertools
    mid = st.tracking("ord_rep", "1ZREP", "UPS Air", "https://ups.example/mid",
                      st.iso(15), "evt_rep_mid")
    views = set()
    for perm in itertools.permutations([early, mid, late]):
        p = db()
        feed(p, *perm)
        eq(shipments(p, "ord_rep"), want, "arrival order %d" %
           [early, mid, late].index(perm[0]))
        views.add(st.blank_times(st.view(p, "ord_rep")))
    eq(len(views), 1, "one view for all arrival orders")


def test_read_only_database_untouched():
    """The API writes nothing: the database file itself is read on purpose
    (size, mtime, sha256, no WAL frames: SQLite's), and what the programs
    show is the same."""
    path = db()
    feed(path,
         st.event("PAYMENT_SUCCEEDED", "ord_ro", st.iso(0)),
         st.tracking("ord_ro", "1ZRO", "UPS", "https://ups.example/1ZRO", st.iso(1)))

    def fingerprint():
        with open(path, "rb") as f:
            data = f.read()
        stt = os.stat(path)
        return stt.st_size, stt.st_mtime_ns, hashlib.sha256(data).hexdigest()

    # What the programs show, then the file (the webhook's connection and
    # the CLI's have closed: each checkpoints on exit).
    shown = st.snapshot(path)
    before = fingerprint()
    for p in ("/v1/health", "/v1/orders/ord_ro", "/v1/orders/unknown", "/nope"):
        st.api(path, p)
    st.api(path, "/v1/orders/ord_ro", method="POST", body=b'{"status":"FAILED"}')
    st.api(path, "/v1/orders/ord_ro", auth="Bearer wrong")
    st.api(path, "/v1/orders/ord_ro", headers={"If-None-Match": "*"})
    eq(fingerprint(), before, "database file (size, mtime, sha256) unchanged")
    wal = path + "-wal"
    check(not os.path.exists(wal) or os.path.getsize(wal) == 0,
          "the API wrote WAL frames (%d bytes)" % (os.path.getsize(wal)
                                                   if os.path.exists(wal) else 0))
    eq(st.snapshot(path), shown, "contents unchanged")


if __name__ == "__main__":
    st.run()
