#!/usr/bin/env python3
"""Upgrade in place: a database made by the first release's schema only
(sql/001_init.sql applied by hand with the sqlite3 shell, user_version 1)
holding an order with events, a shipment with carrier data and
checkpoints, and a rejected delivery, is brought up to date by the current
build, both by `shiptrack migrate` and by the first webhook the receiver
takes in CGI mode; afterwards it has the schema of a freshly created
database, the old rows are untouched and served by the API, and the tables
later migrations added work.

This test is about storage itself (SQLite's): it builds old schemas by hand
and reads the schema, user_version and every old row on purpose, through
st.storage_sql.  What the programs show of the upgraded data it reads
through them.
"""
import json
import os
import re
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import shiptrack_test as st  # noqa: E402
import webserver as ws  # noqa: E402
from shiptrack_test import check, eq  # noqa: E402

SQLITE3 = os.environ.get("SQLITE3") or shutil.which("sqlite3") or "/usr/bin/sqlite3"
TMP = st.tempdir("shiptrack-upgrade-")
OLD = os.path.join(TMP, "old.db")
ORDER = "ord_old_1"
NUMBER = "1ZOLD000000000001"
ENV = {"SHIPTRACK_LOOKUP_SECRET": ws.LOOKUP_SECRET}

state = {}


def ms(minutes):
    return 1740819600000 + minutes * 60000      # st.iso(minutes) in ms


def key(minutes, event_id):
    """shipments.*_key: "<createdAt ms, 15 digits>|<event id>"."""
    return "%015d|%s" % (ms(minutes), event_id)


def sql_str(v):
    if v is None:
        return "NULL"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, bytes):
        return "X'%s'" % v.hex()
    return "'" + str(v).replace("'", "''") + "'"


def insert(table, row):
    cols = ", ".join(row)
    vals = ", ".join(sql_str(v) for v in row.values())
    return "INSERT INTO %s(%s) VALUES (%s);\n" % (table, cols, vals)


# The first release's rows, as its receiver and poller wrote them.
EVENTS = [
    ("evt_old_1", "PAYMENT_SUCCEEDED", 0, st.event("PAYMENT_SUCCEEDED", ORDER, st.iso(0), "evt_old_1")),
    ("evt_old_2", "ORDER_PLACED", 5, st.event("ORDER_PLACED", ORDER, st.iso(5), "evt_old_2")),
    ("evt_old_3", "TRACKING_OBTAINED", 60,
     st.tracking(ORDER, NUMBER, "UPS", "https://ups.example/" + NUMBER, st.iso(60), "evt_old_3")),
]


def old_sql():
    out = "BEGIN;\n"
    for seq, (eid, etype, minute, body) in enumerate(EVENTS, 1):
        out += insert("events", {
            "seq": seq, "id": eid, "scheme": "rye1", "type": etype, "order_id": ORDER,
            "created_at": st.iso(minute), "created_ms": ms(minute), "marketplace": "shopify",
            "received_at": "2025-03-01T%02d:%02d:01.250Z" % (9 + minute // 60, minute % 60),
            "body": body})
    out += insert("orders", {
        "id": ORDER, "status": "SUCCEEDED", "stage": "in_transit", "marketplace": "shopify",
        "created_at": st.iso(0), "created_ms": ms(0),
        "updated_at": "2025-03-02T11:00:00.000Z", "updated_ms": ms(26 * 60)})
    out += insert("shipments", {
        "id": 1, "order_id": ORDER, "tracking_number": NUMBER, "carrier": "UPS",
        "tracking_url": "https://ups.example/" + NUMBER,
        "first_key": key(60, "evt_old_3"), "carrier_key": key(60, "evt_old_3"),
        "url_key": key(60, "evt_old_3"), "tag": "InTransit", "subtag": "InTransit_003",
        "subtag_message": "Arrived at facility", "expected_delivery": "2025-03-05",
        "last_checkpoint_at": "2025-03-02T10:00:00Z", "checked_at": "2025-03-02T11:00:00Z",
        "carrier_id": "as_old_1", "carrier_slug": "ups", "carrier_updated_ms": ms(25 * 60),
        "poll_failures": 0, "next_poll_ms": ms(27 * 60)})
    for t, tag, sub, msg, loc in (
            ("2025-03-01T20:00:00Z", "InfoReceived", "InfoReceived_001", "Label created", None),
            ("2025-03-02T10:00:00Z", "InTransit", "InTransit_003", "Arrived at facility",
             "Louisville, KY")):
        out += insert("checkpoints", {
            "shipment_id": 1, "time_raw": t, "time_ms": None, "has_offset": 1, "tag": tag,
            "subtag": sub, "message": msg, "location": loc})
    out += insert("rejected_deliveries", {
        "id": 1, "scheme": "rye1", "reason": "invalid JSON", "received_at":
        "2025-03-01T09:30:00.000Z", "body": b"{not json"})
    out += "COMMIT;\n"
    return out


def tables_001():
    """{table: [columns]} of the first schema, read from the old database."""
    names = [r[0] for r in st.storage_sql(OLD, "SELECT name FROM sqlite_master"
                                               " WHERE type='table' AND name NOT LIKE 'sqlite_%'")]
    return {n: [r[1] for r in st.storage_sql(OLD, 'PRAGMA table_info("%s")' % n)]
            for n in names}


def old_rows(db):
    """Every row of the first schema's tables, first-schema columns only."""
    return {t: sorted(st.storage_sql(db, 'SELECT %s FROM "%s"' %
                                     (", ".join('"%s"' % c for c in cols), t)), key=repr)
            for t, cols in state["schema1"].items()}


def schema(db):
    """{(type, name): normalised SQL} of every table and index.  The SQL
    loses comments and runs of blanks: the sqlite3 shell keeps comments in
    sqlite_master, the compiled-in migrations do not carry them."""
    out = {}
    for typ, name, sql in st.storage_sql(db, "SELECT type, name, sql FROM sqlite_master "
                                             "WHERE name NOT LIKE 'sqlite_%'"):
        sql = re.sub(r"--[^\n]*", "", sql or "")
        out[(typ, name)] = " ".join(sql.replace("( ", "(").split())
    return out


def same_schema(db, what):
    got, want = schema(db), schema(state["fresh"])
    missing = sorted(set(want) - set(got))
    extra = sorted(set(got) - set(want))
    differ = sorted(k for k in set(got) & set(want) if got[k] != want[k])
    check(not (missing or extra or differ),
          "%s: schema differs from a fresh database's: missing %r, extra %r, "
          "different %r" % (what, missing, extra,
                            [(k, got[k], want[k]) for k in differ]))


def user_version(db):
    return st.storage_sql(db, "PRAGMA user_version")[0][0]


def migration_count():
    """How many migrations this build carries (sql/migrations.c)."""
    with open(os.path.join(st.TOP_BUILDDIR, "sql", "migrations.c")) as f:
        m = re.search(r"shiptrack_migration_count = (\d+);", f.read())
    check(m is not None, "migration count in sql/migrations.c")
    return int(m.group(1))


def copy_old(name):
    path = os.path.join(TMP, name)
    shutil.copyfile(OLD, path)
    return path


def test_build_a_first_release_database():
    init = os.path.join(st.TOP_SRCDIR, "sql", "sqlite", "001_init.sql")
    with open(init) as f:
        script = f.read() + "\nPRAGMA user_version = 1;\n" + old_sql()
    p = subprocess.run([SQLITE3, "-bail", OLD], input=script, capture_output=True,
                       text=True, timeout=60)
    eq((p.returncode, p.stderr), (0, ""), "sqlite3 001_init.sql + data")
    eq(user_version(OLD), 1, "user_version of the old database")
    state["schema1"] = tables_001()
    state["rows1"] = old_rows(OLD)
    # Counted in storage: any program would migrate the old file first.
    eq([len(state["rows1"][t]) for t in ("events", "orders", "shipments", "checkpoints",
                                         "rejected_deliveries")], [3, 1, 1, 2, 1], "old rows")
    state["fresh"] = st.template_db()
    state["n"] = migration_count()
    eq(user_version(state["fresh"]), state["n"], "a fresh database's user_version")
    check(state["n"] > 1, "this build has migrations beyond the first")


def test_api_refuses_an_unmigrated_database():
    """The API opens read-only and never migrates: it says so."""
    db = copy_old("readonly.db")
    a = st.api(db, "/v1/health", token=None)
    eq(a.status, 503, "health on an old database (%s)" % a)
    check(b"shiptrack migrate" in a.stderr, "the log says to run shiptrack migrate: %r" %
          a.stderr)
    eq(user_version(db), 1, "the API did not touch the schema")


def test_shiptrack_migrate():
    db = copy_old("migrated.db")
    p = st.run_cli(["migrate"], db=db)
    eq(p.returncode, 0, "shiptrack migrate (%s%s)" % (p.stdout, p.stderr))
    eq(user_version(db), state["n"], "user_version after migrate")
    same_schema(db, "after shiptrack migrate")
    eq(old_rows(db), state["rows1"], "old rows unchanged")
    p = st.run_cli(["migrate"], db=db)
    eq(p.returncode, 0, "migrate again")
    eq(old_rows(db), state["rows1"], "old rows unchanged by a second migrate")
    p = st.run_cli(["check"], db=db, env=ENV)
    eq(p.returncode, 0, "shiptrack check after the upgrade (%s%s)" % (p.stdout, p.stderr))
    state["migrated"] = db


def check_old_order_visible(db):
    a = st.api(db, "/v1/orders/" + ORDER)
    eq(a.status, 200, "operator view of the old order (%s)" % a)
    j = a.json()
    eq((j["id"], j["status"], j["stage"], j["marketplace"], j["createdAt"]),
       (ORDER, "SUCCEEDED", "in_transit", "shopify", st.iso(0)), "old order")
    eq([e["id"] for e in j["events"]], ["evt_old_1", "evt_old_2", "evt_old_3"], "old events")
    eq(j["events"][0]["receivedAt"], "2025-03-01T09:00:01.250Z", "old receive time")
    eq(len(j["shipments"]), 1, "one shipment")
    s = j["shipments"][0]
    eq((s["trackingNumber"], s["carrier"], s["tag"], s["subtag"], s["subtagMessage"],
        s["expectedDelivery"], s["lastCheckpointAt"]),
       (NUMBER, "UPS", "InTransit", "InTransit_003", "Arrived at facility", "2025-03-05",
        "2025-03-02T10:00:00Z"), "old shipment")
    eq([(c["time"], c["message"]) for c in s["checkpoints"]],
       [("2025-03-02T10:00:00Z", "Arrived at facility"),
        ("2025-03-01T20:00:00Z", "Label created")], "old checkpoints, newest first")
    a = st.api(db, "/v1/track/%s" % ORDER, token=None, env=ENV,
               query="key=" + ws.lookup_key(ORDER))
    eq(a.status, 200, "shopper view of the old order (%s)" % a)
    eq(a.json()["stage"], "in_transit", "shopper view stage")
    check("events" not in a.json(), "no events in the shopper view")
    return j


def test_old_data_through_the_api():
    check_old_order_visible(state["migrated"])
    a = st.api(state["migrated"], "/v1/stats")
    eq(a.status, 200, "stats (%s)" % a)


def test_new_tables_after_migrate():
    """Tables of later migrations work with old orders: a contact address
    (order_facts), a stage change queued as a notification (notifications)
    whose previous stage comes from the old row."""
    db = state["migrated"]
    a = st.api(db, "/v1/orders/%s/contact" % ORDER, method="PUT",
               body=json.dumps({"email": "shopper@example.com"}))
    eq(a.status, 204, "PUT contact on the old order (%s)" % a)
    contact = st.operator_view(db, ORDER)["contact"]
    eq((contact["email"], contact["from"]["email"]), ("shopper@example.com", "operator"),
       "contact stored")
    a = st.post(db, st.event("ORDER_FAILED", ORDER, st.iso(27 * 60), "evt_new_1"))
    eq(a.status, 200, "a new webhook for the old order (%s)" % a)
    j = st.api(db, "/v1/orders/" + ORDER).json()
    eq((j["status"], j["stage"]), ("FAILED", "failed"), "old and new events folded together")
    eq([e["id"] for e in j["events"]], ["evt_old_1", "evt_old_2", "evt_old_3", "evt_new_1"],
       "events")
    eq([(n["stage"], n["previousStage"]) for n in j["notifications"]],
       [("failed", "in_transit")], "notification queued")
    eq(old_rows(db)["events"][:3], state["rows1"]["events"], "old events untouched")


def test_contacts_move_into_order_facts():
    """A schema-4 database (sql/001..004 applied by hand) with an address in
    the old contacts table: the migration moves it into order_facts as the
    operator's, and notifications still find it."""
    db = os.path.join(TMP, "schema4.db")
    script = ""
    for name in ("001_init.sql", "002_poll.sql", "003_notifications.sql", "004_metrics.sql"):
        with open(os.path.join(st.TOP_SRCDIR, "sql", "sqlite", name)) as f:
            script += f.read() + "\n"
    script += "PRAGMA user_version = 4;\n" + old_sql()
    script += ("INSERT INTO contacts(order_id, email, updated_at) VALUES "
               "('%s', 'old.shopper@example.com', '2025-03-01T09:00:00Z');\n" % ORDER)
    p = subprocess.run([SQLITE3, db], input=script, text=True, capture_output=True)
    eq(p.returncode, 0, "sqlite3 builds the schema-4 database (%s)" % p.stderr)
    p = st.run_cli(["migrate"], db=db)
    eq(p.returncode, 0, "migrate (%s)" % p.stderr)
    # What the migration did to the tables, read there on purpose.
    eq(st.storage_sql(db, "SELECT order_id, origin, email, order_number, updated_at"
                          " FROM order_facts"),
       [(ORDER, "operator", "old.shopper@example.com", None, "2025-03-01T09:00:00Z")],
       "the address moved, as the operator's")
    eq(st.storage_sql(db, "SELECT count(*) FROM sqlite_master WHERE name = 'contacts'"),
       [(0,)], "the old table is gone")
    j = st.api(db, "/v1/orders/" + ORDER, env=ENV).json()
    eq(j["contact"]["email"], "old.shopper@example.com", "the operator view shows it")


def test_webhook_migrates_in_cgi_mode():
    """The receiver, the first program to see the old file, migrates it."""
    db = copy_old("by-webhook.db")
    a = st.post(db, st.event("PAYMENT_SUCCEEDED", "ord_new_1", st.iso(30), "evt_new_2"))
    eq(a.status, 200, "webhook on the old database (%s)" % a)
    eq(a.json(), {"ok": True, "event": "evt_new_2", "duplicate": False}, "answer")
    check(b"migrated from schema 1 to %d" % state["n"] in a.stderr,
          "the receiver logs the migration: %r" % a.stderr)
    eq(user_version(db), state["n"], "user_version after the webhook")
    same_schema(db, "after the receiver's migration")
    rows = old_rows(db)
    for t, before in state["rows1"].items():
        if t == "events":
            eq([r for r in rows[t] if r[1] != "evt_new_2"], before, "old events unchanged")
        elif t == "orders":
            eq([r for r in rows[t] if r[0] != "ord_new_1"], before, "old orders unchanged")
        else:
            eq(rows[t], before, "old %s unchanged" % t)
    check_old_order_visible(db)
    eq([n["stage"] for n in st.operator_view(db, "ord_new_1")["notifications"]],
       ["processing"], "the new order's stage queued as a notification")
    a = st.post(db, st.event("PAYMENT_SUCCEEDED", "ord_new_1", st.iso(30), "evt_new_2"))
    eq(a.json()["duplicate"], True, "the same event again is a duplicate")


def main():
    if not os.access(SQLITE3, os.X_OK):
        print("not ok - the sqlite3 shell is not installed (%s)" % SQLITE3)
        sys.exit(1)
    st.run(dict(globals()))


if __name__ == "__main__":
    main()
