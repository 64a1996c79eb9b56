/*
 * db_pg_pipe: the PostgreSQL driver's pipeline (db_pg.h).
 *
 * A webhook's transaction is a dozen short statements; run one by one,
 * each costs a round trip to the server, and the receiver's leader spent
 * most of a commit waiting on them.  Statements whose result nobody reads
 * (db_run_later(): the key locks, upserts, the outbox's insert) and those
 * sent ahead of their step (db_send()) are queued in libpq's pipeline
 * mode instead, and go to the server with the next statement that waits
 * for one (or the COMMIT), all in one write, their results read in one
 * go: a "settle".
 *
 * The server runs a pipeline's statements in order, each as it would have
 * run alone, so a transaction does the same work in the same order; what
 * moves is where a failure is reported.  A statement that fails aborts
 * the transaction (it would have anyway: nothing here runs under a
 * savepoint of its own), the rest of the pipeline is skipped, and the
 * first failure is the result of the step or commit that settled it.
 * Outside a transaction the statements up to a settle form one implicit
 * transaction; the store only queues inside one.
 *
 * The connection stays in blocking mode: a pipeline holds at most
 * PG_MAX_PENDING statements and their results are a few bytes each, so
 * neither side can fill the other's socket buffer while it writes.
 */
#include "config.h"

#include "db_pg.h"
#include "log.h"

/* A result to keep, or its failure noted (the first one wins). */
static PGresult *
accept(struct pg_db *d, PGresult *r, bool keep, enum store_rc *first)
{
	ExecStatusType st = PQresultStatus(r);

	if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK) {
		if (keep)
			return r;
	} else if (st != PGRES_PIPELINE_ABORTED && *first == STORE_OK) {
		*first = db_pg_fail(d, r);
		log_debug("sql: %s", d->msg);
	}
	PQclear(r);
	return NULL;
}

/* One queued statement's results, up to the NULL that ends them. */
static void
take(struct pg_db *d, const struct pg_pending *p, enum store_rc *first)
{
	PGresult *r, *kept = NULL;

	while ((r = PQgetResult(d->conn)) != NULL) {
		r = accept(d, r, p->into != NULL && kept == NULL, first);
		if (r != NULL)
			kept = r;
		if (PQstatus(d->conn) == CONNECTION_BAD)
			break;
	}
	if (p->s != NULL)
		p->s->sent = false;
	if (p->into != NULL)
		*p->into = kept;
}

/* Past the sync's own result, then out of pipeline mode. */
static void
leave(struct pg_db *d, enum store_rc *first)
{
	PGresult *r;

	while (PQstatus(d->conn) == CONNECTION_OK &&
	    (r = PQgetResult(d->conn)) != NULL) {
		bool sync = PQresultStatus(r) == PGRES_PIPELINE_SYNC;
		PQclear(r);
		if (sync)
			break;
	}
	if (!PQexitPipelineMode(d->conn) && *first == STORE_OK)
		*first = db_pg_fail(d, NULL);
}

bool
db_pg_piped(struct pg_db *d)
{
	return PQpipelineStatus(d->conn) != PQ_PIPELINE_OFF;
}

enum store_rc
db_pg_settle(struct pg_db *d)
{
	enum store_rc first = STORE_OK;
	int i;

	if (!db_pg_piped(d))
		return STORE_OK;
	/*
	 * Without its sync the server need not send the results, and waiting
	 * for them could last for ever: the connection is given up instead
	 * (reset before its next use, which ends the pipeline).
	 */
	if (!PQpipelineSync(d->conn)) {
		(void)db_pg_fail(d, NULL);
		d->broken = true;
		db_pg_pipe_drop(d, 0);
		return STORE_BUSY;
	}
	for (i = 0; i < d->npending && PQstatus(d->conn) == CONNECTION_OK; i++)
		take(d, &d->pending[i], &first);
	if (PQstatus(d->conn) == CONNECTION_OK)
		leave(d, &first);
	else if (first == STORE_OK)
		first = db_pg_fail(d, NULL);
	db_pg_pipe_drop(d, i);	/* the rest, if the connection was lost */
	return first;
}

void
db_pg_pipe_drop(struct pg_db *d, int from)
{
	for (int i = from; i < d->npending; i++) {
		if (d->pending[i].s != NULL)
			d->pending[i].s->sent = false;
		if (d->pending[i].into != NULL)
			*d->pending[i].into = NULL;
	}
	d->npending = 0;
}

/* Room for one more statement, in pipeline mode. */
static enum store_rc
room(struct pg_db *d)
{
	enum store_rc rc;

	if (d->npending == PG_MAX_PENDING && (rc = db_pg_settle(d)) != STORE_OK)
		return rc;
	if (!db_pg_piped(d) && !PQenterPipelineMode(d->conn))
		return db_pg_fail(d, NULL);
	return STORE_OK;
}

static void
queued(struct pg_db *d, struct pg_stmt *s, PGresult **into)
{
	d->pending[d->npending].s = s;
	d->pending[d->npending++].into = into;
	if (s != NULL)
		s->sent = true;
}

enum store_rc
db_pg_send(struct pg_db *d, struct pg_stmt *s, bool keep)
{
	enum store_rc rc;

	if (d->broken)
		return STORE_BUSY;
	/* Prepared first (a reset connection): that waits for the server. */
	if (s->generation != d->generation && ((rc = db_pg_settle(d)) !=
	    STORE_OK || (rc = db_pg_server_prepare(s)) != STORE_OK))
		return rc;
	if ((rc = room(d)) != STORE_OK)
		return rc;
	if (!PQsendQueryPrepared(d->conn, s->name, s->nparams, s->values,
	    s->lengths, s->formats, 0))
		return db_pg_fail(d, NULL);
	queued(d, keep ? s : NULL, keep ? &s->res : NULL);
	return STORE_OK;
}

enum store_rc
db_pg_send_sql(struct pg_db *d, const char *sql, PGresult **into)
{
	enum store_rc rc;

	if (d->broken)
		return STORE_BUSY;
	if ((rc = room(d)) != STORE_OK)
		return rc;
	if (!PQsendQueryParams(d->conn, sql, 0, NULL, NULL, NULL, NULL, 0))
		return db_pg_fail(d, NULL);
	queued(d, NULL, into);
	return STORE_OK;
}
