#!/usr/bin/env python3
"""The schema's PostgreSQL dialect (sql/pg/NNN_*.sql) against a real server
(tests/pgserver.py) and against SQLite's.

Every SQLite migration has its PostgreSQL twin, numbered and named alike;
the twins apply in order, each in one transaction, to a new database; what
they build has the tables, columns (type, NOT NULL, default), primary keys,
unique constraints, foreign keys and named indexes (columns, order,
uniqueness, partial or not) that `shiptrack migrate` builds in SQLite, by
name, so the dialects cannot drift: a difference fails unless KNOWN below
lists and explains it (and a KNOWN entry that no longer differs fails too).
Text sorts as SQLite sorts it (byte order) even in a database whose own
collation does not (ICU's en-US, as many a production database has);
migration 005 carries the operator's contacts over as SQLite's does; row
ids are handed out, and given ones kept, as SQLite's INTEGER PRIMARY KEY
does; and bench/rawpg, the bench's libpq ceiling, inserts gen-events.py's
rows into the events table byte for byte.

This test is about storage itself: it reads both schemas on purpose (the
SQLite one through st.storage_sql).
"""
import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import shiptrack_test as st  # noqa: E402
import pgserver  # noqa: E402
from shiptrack_test import check, eq  # noqa: E402

# Differences between the dialects' schemas that are meant, and why.
KNOWN = {
    "only in pg: column notification_attempts.rowid":
        "SQLite's implicit rowid, which the outbox reads attempts in the order "
        "of, made an explicit column (a PostgreSQL table has no row number)",
}

PG = pgserver.start(fsync=False)
TMP = st.tempdir("shiptrack-pg-schema-")
state = {}


def sql_dir(dialect):
    """sql/<dialect>/; SQLite's files may still be in sql/ itself."""
    d = os.path.join(st.TOP_SRCDIR, "sql", dialect)
    if dialect == "sqlite" and not os.path.isdir(d):
        d = os.path.join(st.TOP_SRCDIR, "sql")
    return d


def migrations(dialect):
    d = sql_dir(dialect)
    return [os.path.join(d, f) for f in sorted(os.listdir(d))
            if re.fullmatch(r"\d{3}_\w+\.sql", f)]


def icu_database(name):
    """A database whose own collation is ICU's en-US, not byte order."""
    PG.run_sql("CREATE DATABASE :\"p1\" OWNER :\"p2\" TEMPLATE template0 ENCODING 'UTF8'"
               " LOCALE 'C' LOCALE_PROVIDER icu ICU_LOCALE 'en-US';", [name, PG.owner],
               database="postgres")


def migrate(name, files):
    """Apply files in order, each in one transaction, as the owner (as
    shiptrack's own migrations would run)."""
    for f in files:
        PG.run_sql_file(f, database=name, as_owner=True)


def migrated():
    if "db" not in state:
        icu_database("migrated")
        migrate("migrated", migrations("pg"))
        state["db"] = "migrated"
    return state["db"]


# --- the two schemas, described alike -----------------------------------------------
#
# {"table t": None, "column t.c": (type, not null, default),
#  "primary key t": columns, "unique t(cols)": None,
#  "foreign key t(cols)": (table, columns, on delete),
#  "index name": (table, columns, unique, partial)}

SQLITE_TYPES = {"INTEGER": "bigint", "TEXT": "text", "BLOB": "bytea"}
PG_DELETE = {"a": "NO ACTION", "r": "RESTRICT", "c": "CASCADE", "n": "SET NULL",
             "d": "SET DEFAULT"}


def sqlite_schema(db):
    q = lambda sql: st.storage_sql(db, sql)  # noqa: E731
    out = {}
    for (t,) in q("SELECT name FROM sqlite_master WHERE type = 'table'"
                  " AND name NOT LIKE 'sqlite_%'"):
        out["table " + t] = None
        info = q("PRAGMA table_info('%s')" % t)
        pk = [c[1] for c in sorted(info, key=lambda c: c[5]) if c[5]]
        rowid = len(pk) == 1 and [c[2] for c in info if c[1] == pk[0]] == ["INTEGER"]
        for _, name, typ, notnull, default, inpk in info:
            # A primary key is never NULL in PostgreSQL; in SQLite only an
            # INTEGER one is (the code stores no NULL key either way).
            out["column %s.%s" % (t, name)] = (
                SQLITE_TYPES.get(typ.upper(), typ), bool(notnull or inpk),
                "identity" if rowid and inpk else default)
        if pk:
            out["primary key " + t] = tuple(pk)
        for _, iname, unique, origin, partial in q("PRAGMA index_list('%s')" % t):
            cols = tuple(c[2] + (" DESC" if c[3] else "")
                         for c in q("PRAGMA index_xinfo('%s')" % iname) if c[5])
            if origin == "u":
                out["unique %s(%s)" % (t, ",".join(cols))] = None
            elif origin == "c":
                out["index " + iname] = (t, cols, bool(unique), bool(partial))
        fks = {}
        for fid, seq, other, frm, to, _, on_delete, _ in q("PRAGMA foreign_key_list('%s')" % t):
            fks.setdefault(fid, []).append((seq, frm, to, other, on_delete))
        for parts in fks.values():
            parts.sort()
            out["foreign key %s(%s)" % (t, ",".join(p[1] for p in parts))] = (
                parts[0][3], tuple(p[2] for p in parts), parts[0][4])
    return out


COLS = ("(SELECT string_agg(a.attname, ',' ORDER BY k.n) FROM unnest(%s)"
        " WITH ORDINALITY k(attnum, n) JOIN pg_attribute a"
        " ON a.attrelid = %s AND a.attnum = k.attnum)")


def pg_columns(db, out):
    for t, c, typ, nullable, default, identity in PG.query(
            "SELECT table_name, column_name, data_type, is_nullable, column_default,"
            " is_identity FROM information_schema.columns WHERE table_schema = 'public'",
            database=db):
        if identity == "YES":
            default = "identity"
        elif default is not None:
            default = re.sub(r"::[a-z ]+$", "", default)
        out["column %s.%s" % (t, c)] = (typ, nullable == "NO", default)


def pg_constraints(db, out):
    for t, kind, cols, other, ocols, on_delete in PG.query(
            "SELECT c.conrelid::regclass::text, c.contype, " + COLS % ("c.conkey", "c.conrelid")
            + ", c.confrelid::regclass::text, " + COLS % ("c.confkey", "c.confrelid")
            + ", c.confdeltype FROM pg_constraint c JOIN pg_namespace s"
            " ON s.oid = c.connamespace WHERE s.nspname = 'public'", database=db):
        if kind == "p":
            out["primary key " + t] = tuple(cols.split(","))
        elif kind == "u":
            out["unique %s(%s)" % (t, cols)] = None
        elif kind == "f":
            out["foreign key %s(%s)" % (t, cols)] = (other, tuple(ocols.split(",")),
                                                     PG_DELETE[on_delete])
        else:
            out["constraint %s %s(%s)" % (kind, t, cols)] = None


def pg_indexes(db, out):
    """Indexes of their own (not those behind a key or a unique constraint)."""
    for name, t, cols, unique, partial in PG.query(
            "SELECT i.indexrelid::regclass::text, i.indrelid::regclass::text,"
            " (SELECT string_agg(a.attname || CASE WHEN i.indoption[k.n - 1] & 1 = 1"
            "  THEN ' DESC' ELSE '' END, ',' ORDER BY k.n)"
            "  FROM unnest(i.indkey) WITH ORDINALITY k(attnum, n) JOIN pg_attribute a"
            "  ON a.attrelid = i.indrelid AND a.attnum = k.attnum),"
            " i.indisunique, i.indpred IS NOT NULL FROM pg_index i JOIN pg_class r"
            " ON r.oid = i.indrelid JOIN pg_namespace s ON s.oid = r.relnamespace"
            " WHERE s.nspname = 'public' AND NOT EXISTS"
            " (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid)", database=db):
        out["index " + name] = (t, tuple(cols.split(",")), unique == "t", partial == "t")


def pg_schema(db):
    out = {"table " + t: None for (t,) in PG.query(
        "SELECT table_name FROM information_schema.tables"
        " WHERE table_schema = 'public' AND table_type = 'BASE TABLE'", database=db)}
    pg_columns(db, out)
    pg_constraints(db, out)
    pg_indexes(db, out)
    return out


def differences(sqlite, pg):
    out = []
    for k in sorted(set(sqlite) | set(pg)):
        if k not in pg:
            out.append("only in sqlite: " + k)
        elif k not in sqlite:
            out.append("only in pg: " + k)
        elif sqlite[k] != pg[k]:
            out.append("%s: sqlite %r, pg %r" % (k, sqlite[k], pg[k]))
    return out


# --- the tests --------------------------------------------------------------------

def test_every_migration_has_its_twin():
    lite = [os.path.basename(f) for f in migrations("sqlite")]
    pg = [os.path.basename(f) for f in migrations("pg")]
    check(len(lite) >= 7, "SQLite's migrations found in %s: %r" % (sql_dir("sqlite"), lite))
    eq(pg, lite, "sql/pg/ beside SQLite's")
    eq([int(f[:3]) for f in pg], list(range(1, len(pg) + 1)), "numbered from 001 on")


def test_the_migrations_apply_in_order_to_a_new_database():
    db = migrated()
    eq(PG.query("SELECT count(*) FROM information_schema.tables"
                " WHERE table_schema = 'public'", database=db),
       [(str(len([k for k in pg_schema(db) if k.startswith("table ")])),)], "tables")
    check(PG.query("SELECT to_regclass('events') IS NOT NULL", database=db) == [("t",)],
          "events exists")


def test_the_schema_is_sqlites():
    found = differences(sqlite_schema(st.template_db()), pg_schema(migrated()))
    unexplained = [d for d in found if d not in KNOWN]
    stale = [k for k in KNOWN if k not in found]
    eq(unexplained, [], "differences from SQLite's schema that KNOWN does not explain")
    eq(stale, [], "KNOWN differences that are gone (remove them)")


def test_every_text_column_sorts_bytewise():
    db = migrated()
    eq(PG.query("SELECT table_name || '.' || column_name FROM information_schema.columns"
                " WHERE table_schema = 'public' AND data_type = 'text'"
                " AND collation_name IS DISTINCT FROM 'C' ORDER BY 1", database=db),
       [], "text columns not collated \"C\"")
    eq(PG.query("SELECT datlocprovider FROM pg_database WHERE datname = :'p1'", [db]),
       [("i",)], "the database's own collation is ICU's")
    ids = ["ord_B", "ord_a", "ord_Z", "ord__x", "ord_|", "ord-1", "ord_é", "ORD_b"]
    for i in ids:
        PG.run_sql("INSERT INTO orders VALUES (:'p1', 'PLACED', 'placed', NULL,"
                   " '2025-01-01T00:00:00Z', 1, '2025-01-01T00:00:00Z', 1)", [i], database=db)
    want = sorted(ids, key=lambda s: s.encode())
    eq([r[0] for r in PG.query("SELECT id FROM orders ORDER BY id", database=db)], want,
       "ORDER BY id")
    # Keyset paging: the page after want[3] is every later id.
    eq([r[0] for r in PG.query("SELECT id FROM orders WHERE (created_ms, id) > (1, :'p1')"
                               " ORDER BY created_ms, id", [want[3]], database=db)],
       want[4:], "(created_ms, id) > (1, id)")


def test_contacts_move_to_order_facts():
    """005 carries an operator's contacts over, and contacts goes."""
    icu_database("facts")
    files = migrations("pg")
    migrate("facts", files[:4])
    PG.run_sql("INSERT INTO contacts VALUES ('ord_1', 'a@example.com', '2025-01-01T00:00:00Z')",
               database="facts")
    migrate("facts", files[4:])
    eq(PG.query("SELECT order_id, origin, email, order_number, updated_at FROM order_facts",
                database="facts"),
       [("ord_1", "operator", "a@example.com", None, "2025-01-01T00:00:00Z")], "order_facts")
    eq(PG.query("SELECT to_regclass('contacts') IS NULL", database="facts"), [("t",)],
       "contacts is gone")


def test_row_ids_are_handed_out_and_given_ones_kept():
    db = migrated()
    ins = ("INSERT INTO rejected_deliveries(%sscheme, reason, received_at, body)"
           " VALUES (%s'rye1', 'test', '2025-01-01T00:00:00Z', :'p1') RETURNING id")
    first = int(PG.query(ins % ("", ""), [b"a"], database=db)[0][0])
    eq(int(PG.query(ins % ("", ""), [b"b"], database=db)[0][0]), first + 1, "the next id")
    eq(PG.query(ins % ("id, ", "1000, "), [b"c"], database=db), [("1000",)], "a given id")
    eq(PG.query("SELECT body FROM rejected_deliveries WHERE id = 1000", database=db),
       [("\\x63",)], "its body")


def rawpg(db, durability):
    events = os.path.join(TMP, "events.txt")
    if not os.path.exists(events):
        subprocess.run([sys.executable, os.path.join(st.TOP_SRCDIR, "bench", "gen-events.py"),
                        "5", "secret", events], check=True)
    p = subprocess.run([os.path.join(st.TOP_BUILDDIR, "bench", "rawpg"), PG.uri_for(db),
                        events, "0.2", durability], capture_output=True, text=True, timeout=120)
    eq(p.returncode, 0, "rawpg %s: %s" % (durability, p.stderr))
    check(PG.password not in p.stdout + p.stderr, "no password in rawpg's output")
    fields = dict(kv.split("=", 1) for kv in p.stdout.split())
    for k in ("rows", "seconds", "rate", "p50_ms", "p99_ms", "p999_ms", "max_ms"):
        check(k in fields, "rawpg prints %s: %r" % (k, p.stdout))
    with open(events) as f:
        return fields, [line.rstrip("\n").split("\t", 1)[1] for line in f]


def test_rawpg_inserts_the_bench_rows():
    for durability, sync in (("full", "on"), ("normal", "off")):
        db = "raw_" + durability
        PG.create_database(db)
        migrate(db, migrations("pg"))
        fields, bodies = rawpg(db, durability)
        eq(fields["synchronous_commit"], sync, "%s: synchronous_commit" % durability)
        rows = int(fields["rows"])
        check(rows >= 1, "%s: rows %d" % (durability, rows))
        eq(PG.query("SELECT count(*), min(created_ms), max(created_ms) FROM events",
                    database=db), [(str(rows), "0", str(rows - 1))], "%s: stored" % durability)
        got = PG.query("SELECT convert_from(body, 'UTF8'), scheme, source, order_id"
                       " FROM events WHERE id = 'evt_bench_000000000#0'", database=db)
        eq(got, [(bodies[0], "rye1", "webhook", "ord_bench_000000000")],
           "%s: the first row, body byte for byte" % durability)


if __name__ == "__main__":
    st.run()
