"""The scenario tests' PostgreSQL pass (standard library only).

With SHIPTRACK_TEST_BACKEND=pg, tests/shiptrack_test.py asks this module
for fresh databases and for its storage helpers (sqlite(), tables(),
counts(), dump()) whenever a database is a postgresql:// URI:

- one private server per test process (tests/pgserver.py: initdb in a
  temporary directory, a free port, fsync off: these tests are not about
  crashes), started on first use and stopped when the process exits;
- one database migrated by `shiptrack migrate` (the programs' own
  migrations, as with SQLite's template file), copied for each fresh
  database with CREATE DATABASE ... TEMPLATE;
- a statement with SQLite's ? placeholders runs through psql; its rows
  come back as the sqlite3 module gives them: integers as int, a boolean
  as 1 or 0, bytea as bytes, NULL as None (each row read as JSON, so
  types survive; a text that itself starts with \\x would read as bytes,
  which no test stores).

`make check` runs chosen scenario tests a second time this way: the
generated tests/pg/NAME.sh (tests/Makefile.inc) run tests/NAME.py with
SHIPTRACK_TEST_BACKEND=pg.  A test function about SQLite's own storage
(its file, its journal, its pragmas) is listed in its module's
SQLITE_ONLY with the reason, and the PostgreSQL pass says so instead of
running it.
"""
import itertools
import json
import os
import re

import pgserver

_server = None
_template = None
_names = itertools.count(1)


def server():
    global _server
    if _server is None:
        _server = pgserver.start(fsync=False)
    return _server


def is_pg(db):
    return isinstance(db, str) and db.startswith(("postgresql://", "postgres://"))


def _database(uri):
    return uri.rsplit("/", 1)[1].split("?", 1)[0]


def template(run_cli):
    """The migrated template's name (migrated once per process)."""
    global _template
    if _template is None:
        pg = server()
        uri = pg.create_database("template_shiptrack")
        p = run_cli(["migrate"], db=uri)
        if p.returncode != 0:
            raise RuntimeError("shiptrack migrate failed (%d): %s%s"
                               % (p.returncode, p.stdout, p.stderr))
        _template = "template_shiptrack"
    return _template


def fresh_db(run_cli):
    """A new database, a copy of the migrated template; its URI.  Named
    by process too: a test may fork workers that each make their own."""
    return server().create_database("t%d_%d" % (os.getpid(), next(_names)),
                                    template=template(run_cli))


def copy_db(uri):
    """A new database, a copy of uri's (nobody connected to it)."""
    return server().create_database("t%d_%d" % (os.getpid(), next(_names)),
                                    template=_database(uri))


def _params(sql):
    """SQLite's ? and ?N as psql's :'pN'; the parameters' order."""
    out, order, n = [], [], 0

    def sub(m):
        nonlocal n
        if m.group(1):
            return m.group(1)
        k = int(m.group(2)) if m.group(2) else n + 1
        n = max(n, k)
        order.append(k)
        return ":'p%d'" % k
    out = re.sub(r"('(?:[^']|'')*')|\?(\d*)", sub, sql)
    return out, order


def _value(v):
    if isinstance(v, bool):
        return int(v)
    if isinstance(v, str) and v.startswith("\\x") and re.fullmatch(r"\\x[0-9a-f]*", v):
        return bytes.fromhex(v[2:])
    return v


def _typeof(m):
    """SQLite's typeof(x), named as SQLite names the storage class."""
    return ("(CASE pg_typeof(%s)::text WHEN 'bytea' THEN 'blob' WHEN 'bigint'"
            " THEN 'integer' ELSE pg_typeof(%s)::text END)" % (m.group(1), m.group(1)))


def sql(uri, text, params=(), dicts=False):
    """Run one statement; its rows as sqlite3 gives them (a list), or as
    dicts."""
    pg = server()
    body, _ = _params(text.strip().rstrip(";"))
    body = re.sub(r"\btypeof\((\w+)\)", _typeof, body)
    values = list(params)
    if not re.match(r"(?is)\s*(select|with|values)\b", body):
        pg.run_sql(body + ";", values, database=_database(uri))
        return []
    out = pg.psql(pgserver.script("COPY (SELECT row_to_json(q) FROM (%s) q) TO STDOUT;"
                                  % body, values), _database(uri))
    rows = []
    for (line,) in pgserver.parse_copy(out):
        pairs = json.loads(line, object_pairs_hook=lambda kv: kv)
        if dicts:
            rows.append({k: _value(v) for k, v in pairs})
        else:
            rows.append(tuple(_value(v) for _, v in pairs))
    return rows


def _literal(v):
    if v is None:
        return "NULL"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, (bytes, bytearray)):
        return "'\\x%s'::bytea" % bytes(v).hex()
    return "'%s'" % str(v).replace("'", "''")


def many(uri, text, rows):
    """One statement for each row of parameters, in one transaction."""
    body, order = _params(text.strip().rstrip(";"))
    stmts = []
    for row in rows:
        s = body
        for k in sorted(set(order), reverse=True):
            s = s.replace(":'p%d'" % k, _literal(row[k - 1]))
        stmts.append(s)
    server().psql("BEGIN;\n%s;\nCOMMIT;\n" % ";\n".join(stmts), _database(uri))


def tables(uri):
    """Every table but metrics and schema_migrations (as the SQLite helper)."""
    return [r[0] for r in sql(uri, "SELECT tablename::text FROM pg_tables WHERE schemaname ="
                              " current_schema() AND tablename NOT IN ('metrics',"
                              " 'schema_migrations') ORDER BY 1")]
