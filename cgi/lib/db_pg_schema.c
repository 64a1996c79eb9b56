/*
 * db_pg_schema: the PostgreSQL driver's schema version, change counter
 * and checks (db_pg.h).
 *
 * PostgreSQL has no user_version: the version is the largest in a table
 * schema_migrations(version), one row per migration applied, made by the
 * first migration's transaction.  The store migrates in one transaction
 * that first takes the key lock "migrate" (store.c): two nodes starting
 * at once queue there, and the second, reading the version again after
 * the first committed (READ COMMITTED), finds nothing left to do.  That
 * lock and the migrations themselves wait as long as they take: a schema
 * change on a large store outlasts busy_timeout.
 *
 * Key locks and session locks: db_pg_lock.c.
 *
 * The change counter is the server's WAL insert position: every commit
 * on any connection of any node moves it, in one cheap query.  Other
 * writes move it too (autovacuum, another database of the cluster);
 * that costs the view cache a re-render, never a stale answer.
 */
#include "config.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "db_pg.h"
#include "log.h"

int
db_pg_schema_version(struct db *db)
{
	struct pg_db *d = (struct pg_db *)db;
	int64_t have;

	if (db_pg_ready(d) != STORE_OK)
		return -1;
	/*
	 * The catalog read as a table, in the statement's snapshot: a name
	 * lookup (to_regclass) may answer from the session's cache, which an
	 * advisory lock does not refresh, and miss the table another node's
	 * migration just committed.
	 */
	have = db_pg_scalar(d, "SELECT count(*) FROM pg_catalog.pg_tables"
	    " WHERE schemaname = current_schema()"
	    " AND tablename = 'schema_migrations'");
	if (have <= 0)
		return (int)have;
	return (int)db_pg_scalar(d, "SELECT coalesce(max(version), 0)"
	    " FROM schema_migrations");
}

enum store_rc
db_pg_set_schema_version(struct db *db, int version)
{
	char sql[320];

	snprintf(sql, sizeof(sql), "CREATE TABLE IF NOT EXISTS"
	    " schema_migrations (version BIGINT PRIMARY KEY,"
	    " applied_at TIMESTAMPTZ NOT NULL DEFAULT now());"
	    " INSERT INTO schema_migrations(version)"
	    " SELECT generate_series(1, %d) ON CONFLICT DO NOTHING", version);
	return db_pg_simple((struct pg_db *)db, sql);
}

static int64_t
mono_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

/*
 * Asking costs a round trip, as much as the cached view it guards saves,
 * so the answer is kept PG_COUNTER_LAG_MS: another node's commit is seen
 * that much later at most, one made in this process at once.  An older
 * counter kept with a newer view only costs a render.
 */
int64_t
db_pg_change_counter(struct db *db)
{
	struct pg_db *d = (struct pg_db *)db;
	unsigned long commits = atomic_load(&db_pg_local_commits);
	int64_t now = mono_ms(), v;

	if (d->read_tx)
		return d->read_counter;
	if (d->counter >= 0 && commits == d->counter_commits &&
	    now - d->counter_at_ms < PG_COUNTER_LAG_MS)
		return d->counter;
	if (db_pg_ready(d) != STORE_OK)
		return -1;
	v = db_pg_scalar(d, "SELECT pg_current_wal_insert_lsn() - '0/0'");
	d->counter = v;
	d->counter_at_ms = now;
	d->counter_commits = commits;
	return v;
}

/*
 * amcheck's bt_index_check on every B-tree index of the schema, where the
 * extension is installed (CREATE EXTENSION amcheck, by a superuser);
 * without it only the server's answering is checked, and the log says so.
 */
enum store_rc
db_pg_integrity(struct db *db, char *buf, size_t bufsz)
{
	struct pg_db *d = (struct pg_db *)db;
	int64_t n;
	enum store_rc rc;

	snprintf(buf, bufsz, "no answer");
	if ((rc = db_pg_ready(d)) != STORE_OK)
		return rc;
	log_info("database %s: PostgreSQL %d", d->name,
	    PQserverVersion(d->conn));
	n = db_pg_scalar(d, "SELECT count(*) FROM pg_extension"
	    " WHERE extname = 'amcheck'");
	if (n < 0)
		return STORE_ERROR;
	if (n == 0) {
		log_info("database %s: amcheck is not installed: indexes"
		    " not checked", d->name);
		snprintf(buf, bufsz, "ok");
		return STORE_OK;
	}
	if (db_pg_simple(d, "SELECT bt_index_check(c.oid) FROM pg_index i"
	    " JOIN pg_class c ON c.oid = i.indexrelid"
	    " JOIN pg_am a ON a.oid = c.relam WHERE a.amname = 'btree'"
	    " AND c.relnamespace = current_schema()::regnamespace")
	    != STORE_OK) {
		snprintf(buf, bufsz, "%s", d->msg);
		return STORE_OK;
	}
	snprintf(buf, bufsz, "ok");
	return STORE_OK;
}

/* Every table of the schema but the migrations' own; ids start again. */
enum store_rc
db_pg_empty(struct db *db)
{
	struct pg_db *d = (struct pg_db *)db;
	PGresult *r;
	char *sql;
	enum store_rc rc;

	if ((rc = db_pg_ready(d)) != STORE_OK || (rc = db_pg_settle(d)) != STORE_OK)
		return rc;
	r = PQexec(d->conn, "SELECT 'TRUNCATE ' ||"
	    " string_agg(format('%I', tablename), ', ') ||"
	    " ' RESTART IDENTITY CASCADE' FROM pg_tables"
	    " WHERE schemaname = current_schema()"
	    " AND tablename <> 'schema_migrations'");
	if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) != 1) {
		rc = db_pg_fail(d, r);
		PQclear(r);
		return rc;
	}
	if (PQgetisnull(r, 0, 0) ||
	    (sql = strdup(PQgetvalue(r, 0, 0))) == NULL) {
		PQclear(r);
		return STORE_OK;
	}
	PQclear(r);
	rc = db_pg_simple(d, sql);
	free(sql);
	return rc;
}
