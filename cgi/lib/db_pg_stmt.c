/*
 * db_pg_stmt: the PostgreSQL driver's statements (db_pg.h).
 *
 * The store writes SQLite's placeholders, ? and ?N; they are rewritten to
 * $N once, when the statement is prepared, numbered as SQLite numbers
 * them (a bare ? is one more than the largest number so far).  The server
 * infers each parameter's type from where it stands; one the SQL never
 * names (a statement may leave out one its caller binds) is declared
 * text, which it could not infer.  Parameters go as text (an integer in
 * decimal, which the server reads as bigint or, where SQL wants a
 * boolean, as 1 or 0) except blobs, which go binary as bytea.  Results
 * come as text; a boolean column reads 1 or 0, a bytea one is decoded.
 *
 * PQexecPrepared returns the whole result at once, so a callback may run
 * other statements on the connection while one is being stepped (db.h).
 * While statements wait in the pipeline (db_pg_pipe.c), a step sends its
 * statement there too and settles: one round trip for all of them.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db_pg.h"
#include "log.h"

#define TEXTOID 25
#define BYTEAOID 17

/* Copy a quoted run ('...' or "...", doubled quotes inside) to out. */
static const char *
quoted(const char *p, char **o, const char *end)
{
	char q = *p;

	do {
		if (*o < end)
			*(*o)++ = *p;
		p++;
		if (*p == q && p[1] == q) {
			if (*o < end)
				*(*o)++ = *p;
			p++;
			continue;
		}
	} while (*p != '\0' && *p != q);
	return p;
}

int
db_pg_rewrite(const char *sql, char *out, size_t outsz, int *nparams,
    bool used[PG_MAX_PARAMS + 1])
{
	char *o = out, *end = out + outsz - 1;
	int max = 0;

	memset(used, 0, sizeof(bool) * (PG_MAX_PARAMS + 1));
	for (const char *p = sql; *p != '\0'; p++) {
		if (*p == '\'' || *p == '"')
			p = quoted(p, &o, end);
		if (*p == '\0')
			return -1;
		if (*p != '?') {
			if (o < end)
				*o++ = *p;
			continue;
		}
		char *num_end;
		long n = strtol(p + 1, &num_end, 10);
		if (num_end == p + 1)
			n = max + 1;
		if (n < 1 || n > PG_MAX_PARAMS)
			return -1;
		used[n] = true;
		max = n > max ? (int)n : max;
		o += snprintf(o, (size_t)(end - o) + 1, "$%ld", n);
		if (o > end)
			return -1;
		p = num_end - 1;
	}
	*o = '\0';
	*nparams = max;
	return o < end ? 0 : -1;
}

static struct pg_db *
conn_of(struct pg_stmt *s)
{
	return (struct pg_db *)s->base.db;
}

/*
 * A parameter the server cannot type from its place (only ever tested
 * for NULL, say) fails the prepare with 42P08 or 42P18, naming it: it is
 * declared text, the type of every such parameter in the store's SQL, and the
 * prepare tried again.  PQprepare's error is the attempt's result.
 */
static PGresult *
prepare_typed(struct pg_stmt *s, struct pg_db *d)
{
	PGresult *r = NULL;
	const char *state, *m, *dollar;
	long n;

	for (int tries = 0; tries <= s->nparams; tries++) {
		PQclear(r);
		r = PQprepare(d->conn, s->name, s->sql, s->nparams, s->types);
		if (PQresultStatus(r) == PGRES_COMMAND_OK)
			break;
		state = PQresultErrorField(r, PG_DIAG_SQLSTATE);
		m = PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY);
		if (state == NULL || (strcmp(state, "42P18") != 0 &&
		    strcmp(state, "42P08") != 0) || m == NULL ||
		    (dollar = strchr(m, '$')) == NULL)
			break;
		n = strtol(dollar + 1, NULL, 10);
		if (n < 1 || n > s->nparams || s->types[n - 1] != 0)
			break;
		s->types[n - 1] = TEXTOID;
		/* A failed prepare failed the transaction's savepoint. */
		if (d->tx_open && db_pg_simple(d, "ROLLBACK TO SAVEPOINT prep")
		    != STORE_OK)
			break;
	}
	return r;
}

/*
 * On the server, in this connection's generation; store_rc.  Inside a
 * transaction a failed prepare would fail the transaction: it runs
 * under a savepoint there.
 */
enum store_rc
db_pg_server_prepare(struct pg_stmt *s)
{
	struct pg_db *d = conn_of(s);
	PGresult *r;
	enum store_rc rc = STORE_OK;

	if (s->generation == d->generation)
		return STORE_OK;
	if (d->tx_open && (rc = db_pg_simple(d, "SAVEPOINT prep")) != STORE_OK)
		return rc;
	r = prepare_typed(s, d);
	if (PQresultStatus(r) != PGRES_COMMAND_OK) {
		rc = db_pg_fail(d, r);
		log_error("prepare %s: %s", s->sql, d->msg);
	} else
		s->generation = d->generation;
	PQclear(r);
	if (d->tx_open && !d->broken)
		(void)db_pg_simple(d, rc == STORE_OK ? "RELEASE prep" :
		    "ROLLBACK TO SAVEPOINT prep");
	return rc;
}

struct db_stmt *
db_pg_prepare(struct db *db, const char *sql)
{
	struct pg_db *d = (struct pg_db *)db;
	struct pg_stmt *s = calloc(1, sizeof(*s));
	size_t sz = strlen(sql) + 64;
	bool used[PG_MAX_PARAMS + 1];

	if (s == NULL || (s->sql = malloc(sz)) == NULL ||
	    db_pg_rewrite(sql, s->sql, sz, &s->nparams, used) < 0) {
		if (s != NULL)
			free(s->sql);
		free(s);
		snprintf(d->msg, sizeof(d->msg), "cannot rewrite a statement");
		return NULL;
	}
	s->base.db = db;
	s->row = -1;
	snprintf(s->name, sizeof(s->name), "s%u", ++d->next_stmt);
	for (int i = 1; i <= s->nparams; i++)
		s->types[i - 1] = used[i] ? 0 : TEXTOID;
	if (!d->broken && db_pg_server_prepare(s) != STORE_OK && !d->broken) {
		db_pg_finalize(&s->base);
		return NULL;
	}
	return &s->base;
}

void
db_pg_finalize(struct db_stmt *st)
{
	struct pg_stmt *s = (struct pg_stmt *)st;

	db_pg_reset(st);
	free(s->sql);
	free(s);
}

void
db_pg_bind_int64(struct db_stmt *st, int i, int64_t v)
{
	struct pg_stmt *s = (struct pg_stmt *)st;

	if (i < 1 || i > s->nparams)
		return;
	snprintf(s->ints[i - 1], sizeof(s->ints[i - 1]), "%lld", (long long)v);
	s->values[i - 1] = s->ints[i - 1];
	s->formats[i - 1] = 0;
}

void
db_pg_bind_text(struct db_stmt *st, int i, const char *v)
{
	struct pg_stmt *s = (struct pg_stmt *)st;

	if (i < 1 || i > s->nparams)
		return;
	s->values[i - 1] = v;
	s->formats[i - 1] = 0;
}

void
db_pg_bind_blob(struct db_stmt *st, int i, const void *p, size_t n)
{
	struct pg_stmt *s = (struct pg_stmt *)st;

	if (i < 1 || i > s->nparams)
		return;
	/* NULL would be SQL NULL to libpq: an empty blob is not. */
	s->values[i - 1] = p != NULL ? p : "";
	s->lengths[i - 1] = (int)n;
	s->formats[i - 1] = 1;
}

void
db_pg_bind_null(struct db_stmt *s, int i)
{
	db_pg_bind_text(s, i, NULL);
}

/* The step's result, in s->res: checked. */
static enum store_rc
got(struct pg_db *d, struct pg_stmt *s, enum store_rc rc)
{
	ExecStatusType st = PQresultStatus(s->res);

	if (rc == STORE_OK && st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
		rc = db_pg_fail(d, s->res);
		log_debug("sql: %s", d->msg);
	}
	if (rc != STORE_OK) {
		PQclear(s->res);
		s->res = NULL;
	}
	return rc;
}

/* Prepare if need be (a reset connection), then run; store_rc. */
static enum store_rc
execute(struct pg_stmt *s)
{
	struct pg_db *d = conn_of(s);
	enum store_rc rc;

	if (d->broken && d->tx_open)
		return STORE_BUSY;	/* the transaction is lost (db_pg.c) */
	if (s->sent)
		return got(d, s, db_pg_settle(d));
	if (db_pg_piped(d))
		return got(d, s, (rc = db_pg_send(d, s, true)) == STORE_OK ?
		    db_pg_settle(d) : rc);
	if ((rc = db_pg_ready(d)) != STORE_OK ||
	    (rc = db_pg_server_prepare(s)) != STORE_OK)
		return rc;
	s->res = PQexecPrepared(d->conn, s->name, s->nparams, s->values,
	    s->lengths, s->formats, 0);
	return got(d, s, STORE_OK);
}

enum store_rc
db_pg_step(struct db_stmt *st, bool *row)
{
	struct pg_stmt *s = (struct pg_stmt *)st;
	enum store_rc rc;

	*row = false;
	if (s->res == NULL && (rc = execute(s)) != STORE_OK)
		return rc;
	/* Its result's first step (it may have come with another's). */
	if (s->row < 0)
		conn_of(s)->changes = strtoll(PQcmdTuples(s->res), NULL, 10);
	if (s->row < PQntuples(s->res))
		s->row++;
	*row = s->row < PQntuples(s->res);
	return STORE_OK;
}

/*
 * Queued, its result never read: the caller is done with it (db.h).
 * Outside a transaction it runs now: nothing might come after it to
 * take it to the server.
 */
enum store_rc
db_pg_run_later(struct db_stmt *st)
{
	struct pg_stmt *s = (struct pg_stmt *)st;
	struct pg_db *d = conn_of(s);
	enum store_rc rc;
	bool row;

	if (!d->tx_open)
		rc = db_pg_step(st, &row);
	else if (d->broken)
		rc = STORE_BUSY;
	else
		rc = db_pg_send(d, s, false);
	db_pg_reset(st);
	return rc;
}

enum store_rc
db_pg_send_stmt(struct db_stmt *st)
{
	struct pg_stmt *s = (struct pg_stmt *)st;
	struct pg_db *d = conn_of(s);
	enum store_rc rc;

	if (s->sent || s->res != NULL)
		return STORE_OK;
	if (d->broken && d->tx_open)
		return STORE_BUSY;
	if ((rc = db_pg_ready(d)) != STORE_OK)
		return rc;
	return db_pg_send(d, s, true);
}

static bool
has(struct pg_stmt *s, int i)
{
	return s->res != NULL && s->row >= 0 && s->row < PQntuples(s->res) &&
	    i >= 0 && i < PQnfields(s->res) && !PQgetisnull(s->res, s->row, i);
}

int64_t
db_pg_column_int64(struct db_stmt *st, int i)
{
	struct pg_stmt *s = (struct pg_stmt *)st;
	const char *v;

	if (!has(s, i))
		return 0;
	v = PQgetvalue(s->res, s->row, i);
	if (*v == 't' || *v == 'f')	/* a boolean */
		return *v == 't';
	return strtoll(v, NULL, 10);
}

const char *
db_pg_column_text(struct db_stmt *st, int i)
{
	struct pg_stmt *s = (struct pg_stmt *)st;

	return has(s, i) ? PQgetvalue(s->res, s->row, i) : NULL;
}

const void *
db_pg_column_blob(struct db_stmt *st, int i, size_t *len)
{
	struct pg_stmt *s = (struct pg_stmt *)st;
	const char *v;

	*len = 0;
	if (!has(s, i))
		return NULL;
	v = PQgetvalue(s->res, s->row, i);
	if (PQftype(s->res, i) != BYTEAOID) {
		*len = (size_t)PQgetlength(s->res, s->row, i);
		return v;
	}
	if (s->blob != NULL)
		PQfreemem(s->blob);
	s->blob = PQunescapeBytea((const unsigned char *)v, len);
	return s->blob;
}

bool
db_pg_column_is_null(struct db_stmt *st, int i)
{
	return !has((struct pg_stmt *)st, i);
}

void
db_pg_reset(struct db_stmt *st)
{
	struct pg_stmt *s = (struct pg_stmt *)st;

	/* Its result is still to come: read (and dropped) before forgetting. */
	if (s->sent)
		(void)db_pg_settle(conn_of(s));
	PQclear(s->res);
	s->res = NULL;
	s->row = -1;
	if (s->blob != NULL)
		PQfreemem(s->blob);
	s->blob = NULL;
	memset(s->values, 0, sizeof(s->values));
	memset(s->lengths, 0, sizeof(s->lengths));
	memset(s->formats, 0, sizeof(s->formats));
}

int64_t
db_pg_changes(struct db *db)
{
	return ((struct pg_db *)db)->changes;
}
