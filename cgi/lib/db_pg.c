/*
 * db_pg: the PostgreSQL driver (db_driver.h), chosen by a database that
 * starts postgresql:// or postgres:// (any libpq connection URI: host,
 * port, sslmode and the rest pass through to libpq).  db_pg_stmt.c has
 * the statements, db_pg_schema.c the schema and the checks; db_pg.h says
 * how a lost connection is handled.
 *
 * The password may be in the URI, in PGPASSFILE or ~/.pgpass (libpq reads
 * them), or in the file named by database_password_file
 * (db_set_password_file()).  It is never repeated: messages name the
 * database by a form rebuilt from the parsed URI without it
 * (postgresql://user@host:port/dbname), and a URI libpq cannot parse is
 * not echoed at all (its message may quote the password).
 *
 * Every connection, when made and when reset: synchronous_commit on for
 * durability full (COMMIT returns once the server's log is flushed), off
 * for normal (it returns before: a crash of the database server may lose
 * the last commits, never corrupt); lock_timeout and statement_timeout
 * are busy_timeout, so a lock or a statement that takes longer fails
 * STORE_BUSY (503 with Retry-After).  These are session settings: behind
 * a pooler in transaction mode they are the role's (README).
 *
 * Write transactions are READ COMMITTED: every statement sees what was
 * committed before it started, and writers that recompute an order take
 * its key lock first (db_lock_key()), so the second of two waits for the
 * first's commit and then reads its rows.  Read transactions are
 * REPEATABLE READ READ ONLY: one snapshot, as SQLite's.
 */
#include "config.h"

#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "db_pg.h"
#include "log.h"

extern const char *const shiptrack_migrations_pg[];

_Atomic unsigned long db_pg_local_commits;

static char *password_path;	/* database_password_file, if set */

void
db_set_password_file(const char *path)
{
	free(password_path);
	password_path = path != NULL && *path != '\0' ? strdup(path) : NULL;
}

/* The password from the file, trimmed; -1 with err if unusable. */
static int
read_password(char *pw, size_t pwsz, char *err, size_t errsz)
{
	struct stat sb;
	ssize_t n;
	int fd = open(password_path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);

	if (fd < 0 || fstat(fd, &sb) < 0) {
		snprintf(err, errsz, "database_password_file %s: cannot"
		    " read it", password_path);
		if (fd >= 0)
			close(fd);
		return -1;
	}
	if (sb.st_mode & 077) {
		snprintf(err, errsz, "database_password_file %s: readable"
		    " by group or others: chmod 600 it", password_path);
		close(fd);
		return -1;
	}
	n = read(fd, pw, pwsz - 1);
	close(fd);
	if (n < 0)
		n = 0;
	while (n > 0 && (pw[n - 1] == '\n' || pw[n - 1] == '\r' ||
	    pw[n - 1] == ' ' || pw[n - 1] == '\t'))
		n--;
	pw[n] = '\0';
	return 0;
}

/* The value of keyword k in libpq's parsed options ("" if none). */
static const char *
opt(PQconninfoOption *o, const char *k)
{
	for (; o != NULL && o->keyword != NULL; o++)
		if (strcmp(o->keyword, k) == 0 && o->val != NULL)
			return o->val;
	return "";
}

int
db_pg_redact(const char *uri, char *buf, size_t bufsz)
{
	PQconninfoOption *o = PQconninfoParse(uri, NULL);
	const char *user, *host, *port, *db;

	if (o == NULL) {
		snprintf(buf, bufsz, "postgresql://(a connection string libpq"
		    " cannot parse)");
		return -1;
	}
	user = opt(o, "user");
	host = opt(o, "host");
	port = opt(o, "port");
	db = opt(o, "dbname");
	snprintf(buf, bufsz, "postgresql://%s%s%s%s%s/%s", user,
	    *user ? "@" : "", host, *port ? ":" : "", port, db);
	PQconninfoFree(o);
	return 0;
}

static void
note(struct pg_db *d, const char *msg)
{
	size_t n;

	snprintf(d->msg, sizeof(d->msg), "%s", msg != NULL && *msg ? msg :
	    "no message");
	n = strcspn(d->msg, "\n");
	d->msg[n] = '\0';
}

/* Lost, or about to be: the connection is reset before its next use. */
static bool
lost(struct pg_db *d, const char *state)
{
	return PQstatus(d->conn) == CONNECTION_BAD ||
	    (state != NULL && (strncmp(state, "08", 2) == 0 ||
	    strcmp(state, "57P01") == 0 || strcmp(state, "57P02") == 0 ||
	    strcmp(state, "57P03") == 0));
}

enum store_rc
db_pg_fail(struct pg_db *d, const PGresult *r)
{
	const char *state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
	const char *m = r ? PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY) :
	    NULL;

	note(d, m != NULL ? m : PQerrorMessage(d->conn));
	if (lost(d, state)) {
		d->broken = true;
		return STORE_BUSY;
	}
	if (state == NULL)
		return STORE_ERROR;
	if (strcmp(state, "55P03") == 0 || strcmp(state, "57014") == 0 ||
	    strcmp(state, "40P01") == 0 || strcmp(state, "40001") == 0 ||
	    strcmp(state, "53300") == 0)
		return STORE_BUSY;
	if (strcmp(state, "53100") == 0)
		return STORE_FULL;
	return STORE_ERROR;
}

enum store_rc
db_pg_simple(struct pg_db *d, const char *sql)
{
	enum store_rc rc = db_pg_settle(d);
	PGresult *r;
	ExecStatusType st;

	if (rc != STORE_OK)
		return rc;
	r = PQexec(d->conn, sql);
	st = PQresultStatus(r);

	if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
		rc = db_pg_fail(d, r);
		log_debug("sql: %s", d->msg);
	}
	PQclear(r);
	return rc;
}

int64_t
db_pg_scalar(struct pg_db *d, const char *sql)
{
	PGresult *r;
	int64_t v = -1;

	if (db_pg_settle(d) != STORE_OK)
		return -1;
	r = PQexec(d->conn, sql);

	if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1 &&
	    !PQgetisnull(r, 0, 0))
		v = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
	else
		(void)db_pg_fail(d, r);
	PQclear(r);
	return v;
}

static enum store_rc
configure(struct pg_db *d)
{
	char sql[256];
	long ms = d->busy_ms > 0 ? d->busy_ms : 1;

	snprintf(sql, sizeof(sql), "SET synchronous_commit = %s;"
	    " SET lock_timeout = %ld; SET statement_timeout = %ld;"
	    " SET client_encoding = 'UTF8'",
	    d->durability == DURABILITY_FULL ? "on" : "off", ms, ms);
	return db_pg_simple(d, sql);
}

enum store_rc
db_pg_ready(struct pg_db *d)
{
	if (!d->broken)
		return STORE_OK;
	db_pg_pipe_drop(d, 0);
	PQreset(d->conn);
	if (PQstatus(d->conn) != CONNECTION_OK) {
		note(d, PQerrorMessage(d->conn));
		return STORE_BUSY;
	}
	d->generation++;
	d->broken = false;
	d->counter = -1;
	log_info("database %s: connection re-established", d->name);
	return configure(d);
}

static PGconn *
connect_to(const char *uri, const char *password, long busy_ms)
{
	char app[64], timeout[24];
	const char *k[6] = { "connect_timeout", "fallback_application_name",
	    "dbname", NULL, NULL, NULL };
	const char *v[6] = { timeout, app, uri, NULL, NULL, NULL };

	/* A down server answers 503 within about busy_timeout, not never. */
	snprintf(timeout, sizeof(timeout), "%ld", busy_ms / 1000 > 2 ?
	    busy_ms / 1000 : 2);
	/* The pid, for the run locks' probe (pg_stat_activity). */
	snprintf(app, sizeof(app), "shiptrack pid=%ld", (long)getpid());
	if (password != NULL) {
		k[3] = "password";
		v[3] = password;
	}
	return PQconnectdbParams(k, v, 1);
}

static void pg_close(struct db *db);

static struct pg_db *
new_db(const char *uri, enum durability dur, long busy_ms)
{
	struct pg_db *d = calloc(1, sizeof(*d));
	char name[512];

	if (d == NULL)
		return NULL;
	d->base.drv = &db_pg_driver;
	d->generation = 1;
	d->counter = -1;
	d->durability = dur;
	d->busy_ms = busy_ms;
	(void)db_pg_redact(uri, name, sizeof(name));
	if ((d->name = strdup(name)) == NULL) {
		free(d);
		return NULL;
	}
	return d;
}

static int
pg_open(struct db **out, const char *uri, enum store_mode mode,
    enum durability dur, long busy_ms, char *err, size_t errsz)
{
	char pw[1024];
	struct pg_db *d = new_db(uri, dur, busy_ms);

	(void)mode;
	if (d == NULL) {
		snprintf(err, errsz, "out of memory");
		return -1;
	}
	if (strncmp(d->name, "postgresql://(", 14) == 0) {
		snprintf(err, errsz, "database %s", d->name);
		pg_close(&d->base);
		return -1;
	}
	if (password_path != NULL && read_password(pw, sizeof(pw), err,
	    errsz) < 0) {
		pg_close(&d->base);
		return -1;
	}
	d->conn = connect_to(uri, password_path ? pw : NULL, busy_ms);
	explicit_bzero(pw, sizeof(pw));
	if (d->conn == NULL || PQstatus(d->conn) != CONNECTION_OK ||
	    configure(d) != STORE_OK) {
		if (d->conn != NULL && d->msg[0] == '\0')
			note(d, PQerrorMessage(d->conn));
		snprintf(err, errsz, "database %s: cannot connect: %s", d->name,
		    d->conn ? d->msg : "out of memory");
		pg_close(&d->base);
		return -1;
	}
	*out = &d->base;
	return 0;
}

static void
pg_close(struct db *db)
{
	struct pg_db *d = (struct pg_db *)db;

	if (d->lock != NULL)
		db_pg_finalize(d->lock);
	if (d->lock_shared != NULL)
		db_pg_finalize(d->lock_shared);
	if (d->conn != NULL)
		PQfinish(d->conn);
	free(d->name);
	free(d);
}

static const char *
pg_name(const struct db *db)
{
	return ((const struct pg_db *)db)->name;
}

static const char *
pg_errmsg(struct db *db)
{
	return ((struct pg_db *)db)->msg;
}

static void
pg_describe(struct db *db, const char *what, char *err, size_t errsz)
{
	struct pg_db *d = (struct pg_db *)db;

	snprintf(err, errsz, "database %s: %s: %s", d->name, what, d->msg);
}

static enum store_rc
pg_exec(struct db *db, const char *sql)
{
	struct pg_db *d = (struct pg_db *)db;
	enum store_rc rc;

	if (d->broken && d->tx_open)
		return STORE_BUSY;
	rc = db_pg_ready(d);
	return rc == STORE_OK ? db_pg_simple(d, sql) : rc;
}

/* --- transactions -------------------------------------------------------- */

static const char *const tx_sql[DB_TX__MAX] = {
	[DB_BEGIN] = "BEGIN",
	[DB_BEGIN_READ] = "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY",
	[DB_COMMIT] = "COMMIT",
	[DB_ROLLBACK] = "ROLLBACK",
	[DB_SAVEPOINT] = "SAVEPOINT item",
	[DB_RELEASE] = "RELEASE item",
	[DB_ROLLBACK_TO] = "ROLLBACK TO item",
};

/*
 * COMMIT of a transaction that failed earlier answers "ROLLBACK", not an
 * error: that must not pass for a commit (a 2xx is sent only after one).
 * Statements still in the pipeline go with it, in one round trip; if one
 * of them fails, the COMMIT is skipped, that failure is the result and
 * the transaction is rolled back here (the caller takes it as ended).
 */
static enum store_rc
commit(struct pg_db *d)
{
	PGresult *r = NULL;
	enum store_rc rc = STORE_OK;

	if (!db_pg_piped(d))
		r = PQexec(d->conn, "COMMIT");
	else if ((rc = db_pg_send_sql(d, "COMMIT", &r)) == STORE_OK)
		rc = db_pg_settle(d);
	if (rc == STORE_OK && PQresultStatus(r) != PGRES_COMMAND_OK)
		rc = db_pg_fail(d, r);
	else if (rc == STORE_OK && strcmp(PQcmdStatus(r), "COMMIT") != 0) {
		note(d, "the transaction had failed and was rolled back");
		rc = STORE_ERROR;
	}
	PQclear(r);
	if (rc != STORE_OK && PQstatus(d->conn) == CONNECTION_OK &&
	    PQtransactionStatus(d->conn) != PQTRANS_IDLE)
		PQclear(PQexec(d->conn, "ROLLBACK"));
	return rc;
}

/*
 * A read transaction notes the change counter before its snapshot is
 * taken (at its first statement), so a view rendered in it is at least
 * as new as the counter it is kept with (viewcache.h).
 */
static enum store_rc
begin_once(struct pg_db *d, enum db_tx op)
{
	enum store_rc rc = db_pg_ready(d);

	if (rc == STORE_OK && op == DB_BEGIN_READ &&
	    (d->read_counter = db_pg_change_counter(&d->base)) < 0)
		rc = d->broken ? STORE_BUSY : STORE_ERROR;
	if (rc == STORE_OK && (rc = db_pg_simple(d, tx_sql[op])) == STORE_OK) {
		d->tx_open = true;
		d->read_tx = op == DB_BEGIN_READ;
	}
	return rc;
}

/*
 * A connection found lost at BEGIN (the server restarted, an idle
 * connection was cut) had nothing of this transaction yet: it is reset
 * and the transaction begun again, once.
 */
static enum store_rc
begin(struct pg_db *d, enum db_tx op)
{
	enum store_rc rc = begin_once(d, op);

	return rc == STORE_BUSY && d->broken ? begin_once(d, op) : rc;
}

/*
 * A connection lost inside a transaction fails every later step of it
 * STORE_BUSY, its COMMIT too: it is reset only once the transaction is
 * over, so no statement of it can run on a new connection, outside any
 * transaction, and be taken for part of it.
 */
static enum store_rc
pg_tx(struct db *db, enum db_tx op)
{
	struct pg_db *d = (struct pg_db *)db;
	enum store_rc rc;

	if (op == DB_BEGIN || op == DB_BEGIN_READ)
		return begin(d, op);
	if (op == DB_COMMIT || op == DB_ROLLBACK) {
		bool was = d->tx_open, wrote = !d->read_tx;
		d->tx_open = d->read_tx = false;
		if (op == DB_ROLLBACK)
			(void)db_pg_settle(d);	/* whatever failed is undone */
		if (d->broken || !was)
			return op == DB_ROLLBACK ? STORE_OK : STORE_BUSY;
		if (op == DB_ROLLBACK)
			return db_pg_simple(d, tx_sql[op]);
		rc = commit(d);
		if (rc == STORE_OK && wrote)
			atomic_fetch_add(&db_pg_local_commits, 1);
		return rc;
	}
	if (op == DB_ROLLBACK_TO)
		(void)db_pg_settle(d);	/* whatever failed is undone */
	if (d->broken)
		return STORE_BUSY;
	rc = db_pg_simple(d, tx_sql[op]);
	return rc;
}

static bool
pg_in_tx(struct db *db)
{
	return ((struct pg_db *)db)->tx_open;
}

const struct db_driver db_pg_driver = {
	.name = "PostgreSQL",
	.dialect = DB_POSTGRESQL,
	.caps = DB_HAS_CHANGE_COUNTER | DB_LOCKS_KEYS | DB_HAS_SESSION_LOCKS |
	    DB_PIPELINES,
	.migrations = shiptrack_migrations_pg,
	.open = pg_open,
	.close = pg_close,
	.name_of = pg_name,
	.errmsg = pg_errmsg,
	.describe = pg_describe,
	.prepare = db_pg_prepare,
	.finalize = db_pg_finalize,
	.bind_int64 = db_pg_bind_int64,
	.bind_text = db_pg_bind_text,
	.bind_blob = db_pg_bind_blob,
	.bind_null = db_pg_bind_null,
	.step = db_pg_step,
	.run_later = db_pg_run_later,
	.send = db_pg_send_stmt,
	.column_int64 = db_pg_column_int64,
	.column_text = db_pg_column_text,
	.column_blob = db_pg_column_blob,
	.column_is_null = db_pg_column_is_null,
	.reset = db_pg_reset,
	.changes = db_pg_changes,
	.exec = pg_exec,
	.tx = pg_tx,
	.in_tx = pg_in_tx,
	.schema_version = db_pg_schema_version,
	.set_schema_version = db_pg_set_schema_version,
	.change_counter = db_pg_change_counter,
	.integrity = db_pg_integrity,
	.empty = db_pg_empty,
	.lock_key = db_pg_lock_key,
	.lock_key_shared = db_pg_lock_key_shared,
	.try_lock_session = db_pg_try_lock_session,
	.lock_holder = db_pg_lock_holder,
};
