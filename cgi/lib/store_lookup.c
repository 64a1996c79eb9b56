/*
 * store_lookup: see store_lookup.h.  Statements in the table below
 * (named in store_int.h), prepared once per handle.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "store_int.h"
#include "store_lookup.h"

static const struct db_sql sql[] = {
	{ Q_LOOKUP_CANDIDATES, .sql =
	"SELECT DISTINCT order_id FROM order_facts WHERE order_number = ?1"
	" ORDER BY order_id LIMIT ?2" },
	{ Q_LOOKUP_PRUNE, .sql = "DELETE FROM lookup_failures WHERE at_ms < ?1" },
	{ Q_LOOKUP_COUNT, .sql =
	"SELECT count(*) FROM lookup_failures WHERE key = ?1 AND at_ms >= ?2" },
	/* The failure whose expiry brings the count below the limit. */
	{ Q_LOOKUP_NTH, .sql =
	"SELECT at_ms FROM lookup_failures WHERE key = ?1 AND at_ms >= ?2"
	" ORDER BY at_ms LIMIT 1 OFFSET ?3" },
	{ Q_LOOKUP_FAIL, .sql = "INSERT INTO lookup_failures(key, at_ms) VALUES (?1, ?2)" },
};

static struct db_stmt *
stmt(struct store *st, enum stmt q)
{
	return store_stmt(st, q, sql, STORE_SQL_N(sql));
}

static int
candidate_row(struct db_stmt *s, void *cb, void *arg)
{
	struct lookup_candidates *c = arg;
	const char *id = db_column_text(s, 0);

	(void)cb;
	if (c->n == LOOKUP_MAX_CANDIDATES)
		return 1;
	if (id != NULL && strlen(id) < sizeof(c->id[0]))
		snprintf(c->id[c->n++], sizeof(c->id[0]), "%s", id);
	return 0;
}

enum store_rc
store_lookup_candidates(struct store *st, const char *order_number,
    struct lookup_candidates *out)
{
	struct db_stmt *s = stmt(st, Q_LOOKUP_CANDIDATES);

	out->n = 0;
	if (s == NULL)
		return STORE_ERROR;
	db_bind_text(s, 1, order_number);
	db_bind_int64(s, 2, LOOKUP_MAX_CANDIDATES);
	return store_each_row(st, s, candidate_row, NULL, out, "lookup candidates", NULL);
}

enum store_rc
store_lookup_prune(struct store *st, int64_t since_ms)
{
	return store_run(st, stmt(st, Q_LOOKUP_PRUNE), "prune lookup failures", "i",
	    (int64_t)since_ms);
}

enum store_rc
store_lookup_failures(struct store *st, const char *key, int64_t since_ms,
    long max, long *n, int64_t *oldest_ms)
{
	struct db_stmt *c = stmt(st, Q_LOOKUP_COUNT), *o = stmt(st, Q_LOOKUP_NTH);
	int64_t count = 0;
	enum store_rc rc;

	*n = 0;
	*oldest_ms = -1;
	if (c == NULL || o == NULL)
		return STORE_ERROR;
	db_bind_text(c, 1, key);
	db_bind_int64(c, 2, since_ms);
	if ((rc = store_each_row(st, c, store_int64_row, NULL, &count,
	    "lookup failures", NULL)) != STORE_OK)
		return rc;
	*n = count > 0x7fffffffL ? 0x7fffffffL : (long)count;
	if (*n < max)
		return STORE_OK;
	db_bind_text(o, 1, key);
	db_bind_int64(o, 2, since_ms);
	db_bind_int64(o, 3, (int64_t)*n - max);
	return store_each_row(st, o, store_int64_row, NULL, oldest_ms, "lookup failure",
	    NULL);
}

enum store_rc
store_lookup_fail(struct store *st, const char *key, int64_t now_ms)
{
	return store_run(st, stmt(st, Q_LOOKUP_FAIL), "record lookup failure", "ti",
	    key, (int64_t)now_ms);
}
