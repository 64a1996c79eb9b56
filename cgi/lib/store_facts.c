/*
 * store_facts: see store_facts.h.  Statements in the table below
 * (named in store_int.h), prepared once per handle; every value is bound.  A
 * change is read-merge-write of one origin's row inside a write
 * transaction (BEGIN IMMEDIATE), so two writers cannot lose each other's
 * fields.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "store_facts.h"
#include "store_int.h"
#include "text.h"

static const struct db_sql sql[] = {
	{ Q_FACTS_ROWS, .sql =
	"SELECT origin, email, order_number, postal_code, country, locale"
	" FROM order_facts WHERE order_id = ?" },
	{ Q_FACTS_PUT, .sql =
	"INSERT INTO order_facts(order_id, origin, email, order_number,"
	" postal_code, country, locale, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
	" ON CONFLICT(order_id, origin) DO UPDATE SET email = excluded.email,"
	" order_number = excluded.order_number, postal_code = excluded.postal_code,"
	" country = excluded.country, locale = excluded.locale,"
	" updated_at = excluded.updated_at" },
	{ Q_FACTS_ORDER_EXISTS, .sql =
	"SELECT 1 FROM orders WHERE id = ?" },
};

static struct db_stmt *
fstmt(struct store *st, enum stmt q)
{
	return store_stmt(st, q, sql, STORE_SQL_N(sql));
}

static const char *const origin_names[FACTS__MAX] = { "operator", "rye" };
static const char *const json_names[FACT__MAX] = {
	"email", "orderNumber", "postalCode", "country", "locale",
};
/* Bounds per fact (the e-mail's is valid_address()'s). */
static const size_t fact_max[FACT__MAX] = { FACT_VALUE_MAX, 64, 16, 2, 35 };

const char *
facts_origin_name(enum facts_origin o)
{
	return o < FACTS__MAX ? origin_names[o] : "unknown";
}

const char *
fact_json_name(enum fact f)
{
	return f < FACT__MAX ? json_names[f] : "unknown";
}

/* "de", "pt-BR", "zh-Hant-TW": a language subtag, then alphanumeric ones. */
static bool
locale_ok(const char *v)
{
	size_t lang = strspn(v, "abcdefghijklmnopqrstuvwxyz");

	if (lang < 2 || lang > 3)
		return false;
	for (const char *p = v + lang; *p != '\0'; ) {
		size_t n;
		if (*p++ != '-')
			return false;
		n = strspn(p, "abcdefghijklmnopqrstuvwxyz"
		    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789");
		if (n < 1 || n > 8)
			return false;
		p += n;
	}
	return true;
}

bool
facts_value_ok(enum fact f, const char *v)
{
	size_t n;

	if (f >= FACT__MAX || v == NULL || (n = strlen(v)) == 0 || n > fact_max[f])
		return false;
	if (f == FACT_LOCALE)
		return locale_ok(v);
	if (f == FACT_COUNTRY)
		return n == 2 && strspn(v, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") == 2;
	return text_printable(v) && v[0] != ' ' && v[n - 1] != ' ';
}

static void
put_field(struct facts *f, enum fact k, const char *v)
{
	f->known[k] = v != NULL && strlen(v) <= FACT_VALUE_MAX;
	snprintf(f->v[k], sizeof(f->v[k]), "%s", f->known[k] ? v : "");
}

static int
facts_row_fn(struct db_stmt *s, void *cb, void *arg)
{
	struct facts *out = arg;
	const char *origin = db_column_text(s, 0);
	enum facts_origin o;

	(void)cb;
	for (o = 0; o < FACTS__MAX; o++)
		if (origin != NULL && strcmp(origin, origin_names[o]) == 0)
			break;
	if (o == FACTS__MAX)
		return 0;	/* an origin of a later version: not ours to show */
	for (enum fact k = 0; k < FACT__MAX; k++) {
		put_field(&out[o], k, db_column_text(s, 1 + (int)k));
		out[o].from[k] = o;
	}
	return 0;
}

enum store_rc
store_facts_rows(struct store *st, const char *order_id,
    struct facts out[FACTS__MAX])
{
	struct db_stmt *s = fstmt(st, Q_FACTS_ROWS);

	memset(out, 0, FACTS__MAX * sizeof(*out));
	if (s == NULL)
		return STORE_ERROR;
	db_bind_text(s, 1, order_id);
	return store_each_row(st, s, facts_row_fn, NULL, out, "order facts", NULL);
}

void
facts_merge(const struct facts rows[FACTS__MAX], struct facts *out)
{
	memset(out, 0, sizeof(*out));
	for (enum fact k = 0; k < FACT__MAX; k++)
		for (enum facts_origin o = 0; o < FACTS__MAX; o++)
			if (rows[o].known[k]) {
				put_field(out, k, rows[o].v[k]);
				out->from[k] = o;
				break;
			}
}

enum store_rc
store_facts_get(struct store *st, const char *order_id, struct facts *out)
{
	struct facts rows[FACTS__MAX];
	enum store_rc rc = store_facts_rows(st, order_id, rows);

	if (rc != STORE_OK)
		return rc;
	facts_merge(rows, out);
	for (enum fact k = 0; k < FACT__MAX; k++)
		if (out->known[k])
			return STORE_OK;
	return STORE_NONE;
}

static enum store_rc
order_exists(struct store *st, const char *order_id)
{
	struct db_stmt *s = fstmt(st, Q_FACTS_ORDER_EXISTS);
	enum store_rc rc;
	bool any;

	if (s == NULL)
		return STORE_ERROR;
	db_bind_text(s, 1, order_id);
	rc = store_each_row(st, s, store_exists_row, NULL, NULL, "order exists", &any);
	return rc == STORE_OK && !any ? STORE_NONE : rc;
}

enum store_rc
store_facts_change(struct store *st, const char *order_id,
    enum facts_origin origin, const struct facts_change *c,
    const char *now_iso, bool require_order)
{
	struct facts rows[FACTS__MAX], *row = &rows[origin];
	struct db_stmt *s;
	enum store_rc rc;

	if (origin >= FACTS__MAX)
		return STORE_ERROR;
	if (require_order && (rc = order_exists(st, order_id)) != STORE_OK)
		return rc;
	if ((rc = store_facts_rows(st, order_id, rows)) != STORE_OK)
		return rc;
	for (enum fact k = 0; k < FACT__MAX; k++)
		if (c->set[k])
			put_field(row, k, c->v[k]);
	if ((s = fstmt(st, Q_FACTS_PUT)) == NULL)
		return STORE_ERROR;
	db_bind_text(s, 1, order_id);
	db_bind_text(s, 2, origin_names[origin]);
	for (enum fact k = 0; k < FACT__MAX; k++)
		db_bind_text(s, 3 + (int)k, row->known[k] ? row->v[k] : NULL);
	db_bind_text(s, 8, now_iso);
	return store_exec_stmt(st, s, "order facts");
}

enum store_rc
store_facts_change_tx(struct store *st, const char *order_id,
    enum facts_origin origin, const struct facts_change *c,
    const char *now_iso, bool require_order)
{
	enum store_rc rc;

	if ((rc = store_begin(st)) != STORE_OK)
		return rc;
	rc = store_facts_change(st, order_id, origin, c, now_iso, require_order);
	if (rc == STORE_OK)
		rc = store_commit(st);
	if (rc != STORE_OK)
		store_rollback(st);
	return rc;
}
