/*
 * store_metrics: see store_metrics.h.  Statements in the SLOTS_METRICS range
 * (store_int.h), prepared once per handle; every value is bound.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "store_int.h"
#include "store_metrics.h"

enum mstmt {
	M_ADD = SLOTS_METRICS, M_EACH, M_FLUSHED_GET, M_FLUSHED_SET,
	M__END
};
STORE_SLOTS_FIT(M__END, SLOTS_FACTS);


/* A row of its own in the table (no family has this name): set, not added. */
#define FLUSHED "'#flushed_ms', '', ''"

static const char *const msql[M__END - M_ADD] = {
#define Q(n) [n - M_ADD]
	Q(M_ADD) =
	"INSERT INTO metrics(name, labels, part, value) VALUES (?1, ?2, ?3, ?4)"
	" ON CONFLICT(name, labels, part) DO UPDATE"
	" SET value = metrics.value + excluded.value",
	Q(M_EACH) =
	"SELECT name, labels, part, value FROM metrics ORDER BY name, labels, part",
	Q(M_FLUSHED_GET) =
	"SELECT value FROM metrics WHERE (name, labels, part) = (" FLUSHED ")",
	Q(M_FLUSHED_SET) =
	"INSERT INTO metrics(name, labels, part, value) VALUES (" FLUSHED ", ?1)"
	" ON CONFLICT(name, labels, part) DO UPDATE SET value = excluded.value",
#undef Q
};

static sqlite3_stmt *
mstmt(struct store *st, enum mstmt q)
{
	return store_stmt(st, q, msql[q - M_ADD]);
}

enum store_rc
store_metric_add(struct store *st, const char *name, const char *labels,
    const char *part, int64_t delta)
{
	sqlite3_stmt *s = mstmt(st, M_ADD);

	if (s == NULL)
		return STORE_ERROR;
	store_bind_text(s, 1, name);
	store_bind_text(s, 2, labels ? labels : "");
	store_bind_text(s, 3, part ? part : "");
	sqlite3_bind_int64(s, 4, delta);
	return store_exec_stmt(st, s, "add to metric");
}

static int
metric_row_fn(sqlite3_stmt *s, void *cb, void *arg)
{
	struct metric_row r = {
		.name = store_col_text(s, 0), .labels = store_col_text(s, 1),
		.part = store_col_text(s, 2), .value = sqlite3_column_int64(s, 3),
	};

	if (r.name == NULL || r.labels == NULL || r.part == NULL)
		return 0;	/* NOT NULL in the schema; skip rather than crash */
	return ((store_metric_cb)cb)(arg, &r);
}

enum store_rc
store_metrics_each(struct store *st, store_metric_cb cb, void *arg)
{
	sqlite3_stmt *s = mstmt(st, M_EACH);

	if (s == NULL)
		return STORE_ERROR;
	return store_each_row(st, s, metric_row_fn, (void *)cb, arg, "metrics", NULL);
}

static int
ms_row_fn(sqlite3_stmt *s, void *cb, void *arg)
{
	(void)cb;
	*(int64_t *)arg = sqlite3_column_int64(s, 0);
	return 1;
}

enum store_rc
store_metrics_flushed_get(struct store *st, int64_t *ms)
{
	sqlite3_stmt *s = mstmt(st, M_FLUSHED_GET);

	*ms = 0;
	if (s == NULL)
		return STORE_ERROR;
	return store_each_row(st, s, ms_row_fn, NULL, ms, "metrics flushed", NULL);
}

enum store_rc
store_metrics_flushed_set(struct store *st, int64_t ms)
{
	sqlite3_stmt *s = mstmt(st, M_FLUSHED_SET);

	if (s == NULL)
		return STORE_ERROR;
	sqlite3_bind_int64(s, 1, ms);
	return store_exec_stmt(st, s, "metrics flushed");
}
