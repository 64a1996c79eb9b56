/*
 * store_metrics: see store_metrics.h.  Statements in the table below
 * (named in store_int.h), prepared once per handle; every value is bound.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "store_int.h"
#include "store_metrics.h"

/* A row of its own in the table (no family has this name): set, not added. */
#define FLUSHED "'#flushed_ms', '', ''"

static const struct db_sql sql[] = {
	{ Q_METRIC_ADD, .sql =
	"INSERT INTO metrics(name, labels, part, value) VALUES (?1, ?2, ?3, ?4)"
	" ON CONFLICT(name, labels, part) DO UPDATE"
	" SET value = metrics.value + excluded.value" },
	{ Q_METRIC_EACH, .sql =
	"SELECT name, labels, part, value FROM metrics ORDER BY name, labels, part" },
	{ Q_METRIC_FLUSHED_GET, .sql =
	"SELECT value FROM metrics WHERE (name, labels, part) = (" FLUSHED ")" },
	{ Q_METRIC_FLUSHED_SET, .sql =
	"INSERT INTO metrics(name, labels, part, value) VALUES (" FLUSHED ", ?1)"
	" ON CONFLICT(name, labels, part) DO UPDATE SET value = excluded.value" },
};

static struct db_stmt *
mstmt(struct store *st, enum stmt q)
{
	return store_stmt(st, q, sql, STORE_SQL_N(sql));
}

enum store_rc
store_metric_add(struct store *st, const char *name, const char *labels,
    const char *part, int64_t delta)
{
	struct db_stmt *s = mstmt(st, Q_METRIC_ADD);

	if (s == NULL)
		return STORE_ERROR;
	db_bind_text(s, 1, name);
	db_bind_text(s, 2, labels ? labels : "");
	db_bind_text(s, 3, part ? part : "");
	db_bind_int64(s, 4, delta);
	return store_exec_later(st, s, "add to metric");
}

static int
metric_row_fn(struct db_stmt *s, void *cb, void *arg)
{
	struct metric_row r = {
		.name = db_column_text(s, 0), .labels = db_column_text(s, 1),
		.part = db_column_text(s, 2), .value = db_column_int64(s, 3),
	};

	if (r.name == NULL || r.labels == NULL || r.part == NULL)
		return 0;	/* NOT NULL in the schema; skip rather than crash */
	return ((store_metric_cb)cb)(arg, &r);
}

enum store_rc
store_metrics_each(struct store *st, store_metric_cb cb, void *arg)
{
	struct db_stmt *s = mstmt(st, Q_METRIC_EACH);

	if (s == NULL)
		return STORE_ERROR;
	return store_each_row(st, s, metric_row_fn, (void *)cb, arg, "metrics", NULL);
}

enum store_rc
store_metrics_flushed_get(struct store *st, int64_t *ms)
{
	struct db_stmt *s = mstmt(st, Q_METRIC_FLUSHED_GET);

	*ms = 0;
	if (s == NULL)
		return STORE_ERROR;
	return store_each_row(st, s, store_int64_row, NULL, ms, "metrics flushed", NULL);
}

enum store_rc
store_metrics_flushed_set(struct store *st, int64_t ms)
{
	struct db_stmt *s = mstmt(st, Q_METRIC_FLUSHED_SET);

	if (s == NULL)
		return STORE_ERROR;
	db_bind_int64(s, 1, ms);
	return store_exec_stmt(st, s, "metrics flushed");
}
