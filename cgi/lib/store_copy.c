/*
 * store_copy: `shiptrack copy-to URI`, a store moved to another database
 * (store.h, store_copy_to): the configured SQLite file into an empty
 * PostgreSQL one, say.
 *
 * The target is opened as any store is (migrated if new) and refused if
 * any table holds a row.  Then, in one transaction on the target, every
 * table in an order that puts a row's parents first: the columns are the
 * target's (information_schema), read from the source by the same names
 * and written with bound parameters, integers as integers, bytea as
 * bytes (raw bodies byte for byte), the rest as text.  Row ids are kept,
 * and each identity sequence is moved past the largest, so new rows do
 * not collide with copied ones.  Before the commit, every table's rows
 * are counted on both sides and the events' SHA-256 (id and body, in id
 * order) computed on both: any difference rolls the copy back.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "log.h"
#include "store.h"
#include "store_int.h"

/* Parents before children (checkpoints and the Rye ones need shipments). */
static const char *const tables[] = {
	"events", "rejected_deliveries", "orders", "shipments", "checkpoints",
	"meta", "notifications", "notification_attempts", "metrics",
	"order_facts", "rye_checkpoints", "rye_sync", "rye_shipments_due",
	"lookup_failures",
};
#define NTABLES (sizeof(tables) / sizeof(tables[0]))

#define COLS_MAX 40
#define SQL_MAX 4096

enum coltype { C_TEXT, C_INT, C_BYTES };

struct table {
	const char *name;
	int n;
	char col[COLS_MAX][64];
	enum coltype type[COLS_MAX];
	char identity[64];		/* its identity column, or "" */
};

/* One statement of ad hoc SQL on db (copy-to's own, not the store's). */
static struct db_stmt *
prepare(struct db *db, const char *sql)
{
	struct db_sql q = { .name = -1, .sql = sql };

	return db_prepare(db, &q);
}

static enum store_rc
read_columns(struct db *db, struct table *t)
{
	struct db_stmt *s = prepare(db, "SELECT column_name::text,"
	    " data_type::text, is_identity::text"
	    " FROM information_schema.columns"
	    " WHERE table_schema = current_schema() AND table_name = ?1"
	    " ORDER BY ordinal_position");
	enum store_rc rc;
	bool row;

	t->n = 0;
	t->identity[0] = '\0';
	if (s == NULL)
		return STORE_ERROR;
	db_bind_text(s, 1, t->name);
	while ((rc = db_step(s, &row)) == STORE_OK && row && t->n < COLS_MAX) {
		const char *type = db_column_text(s, 1);
		const char *id = db_column_text(s, 2);
		snprintf(t->col[t->n], sizeof(t->col[0]), "%s",
		    db_column_text(s, 0));
		t->type[t->n] = strcmp(type, "bigint") == 0 ? C_INT :
		    strcmp(type, "bytea") == 0 ? C_BYTES : C_TEXT;
		if (id != NULL && strcmp(id, "YES") == 0)
			snprintf(t->identity, sizeof(t->identity), "%s",
			    t->col[t->n]);
		t->n++;
	}
	db_finalize(s);
	return rc;
}

/* "SELECT a, b FROM t" and "INSERT INTO t(a, b) VALUES (?1, ?2)". */
static void
build_sql(const struct table *t, char *sel, char *ins)
{
	size_t a = 0, b = 0;

	a += (size_t)snprintf(sel, SQL_MAX, "SELECT ");
	b += (size_t)snprintf(ins, SQL_MAX, "INSERT INTO \"%s\"(", t->name);
	for (int i = 0; i < t->n && a < SQL_MAX && b < SQL_MAX; i++) {
		a += (size_t)snprintf(sel + a, SQL_MAX - a, "%s\"%s\"",
		    i ? ", " : "", t->col[i]);
		b += (size_t)snprintf(ins + b, SQL_MAX - b, "%s\"%s\"",
		    i ? ", " : "", t->col[i]);
	}
	if (a < SQL_MAX)
		snprintf(sel + a, SQL_MAX - a, " FROM \"%s\"", t->name);
	for (int i = 0; i < t->n && b < SQL_MAX; i++)
		b += (size_t)snprintf(ins + b, SQL_MAX - b, "%s?%d",
		    i ? ", " : ") VALUES (", i + 1);
	if (b < SQL_MAX)
		snprintf(ins + b, SQL_MAX - b, ")");
}

static void
bind_row(struct db_stmt *from, struct db_stmt *to, const struct table *t)
{
	const void *p;
	size_t len;

	for (int i = 0; i < t->n; i++) {
		if (db_column_is_null(from, i))
			db_bind_null(to, i + 1);
		else if (t->type[i] == C_INT)
			db_bind_int64(to, i + 1, db_column_int64(from, i));
		else if (t->type[i] == C_BYTES) {
			p = db_column_blob(from, i, &len);
			db_bind_blob(to, i + 1, p, len);
		} else
			db_bind_text(to, i + 1, db_column_text(from, i));
	}
}

static enum store_rc
copy_rows(struct db *src, struct db *dst, const struct table *t,
    int64_t *rows)
{
	char sel[SQL_MAX], ins[SQL_MAX];
	struct db_stmt *from, *to;
	enum store_rc rc = STORE_OK;
	bool row, done;

	build_sql(t, sel, ins);
	from = prepare(src, sel);
	to = prepare(dst, ins);
	*rows = 0;
	while (from != NULL && to != NULL &&
	    (rc = db_step(from, &row)) == STORE_OK && row) {
		bind_row(from, to, t);
		rc = db_step(to, &done);
		db_reset(to);
		if (rc != STORE_OK)
			break;
		(*rows)++;
	}
	if (from == NULL || to == NULL)
		rc = STORE_ERROR;
	db_finalize(from);
	db_finalize(to);
	return rc;
}

/* The next id after the largest copied, for an identity column. */
static enum store_rc
move_sequence(struct db *dst, const struct table *t)
{
	char sql[512];
	struct db_stmt *s;
	enum store_rc rc;
	bool row;

	if (t->identity[0] == '\0')
		return STORE_OK;
	snprintf(sql, sizeof(sql), "SELECT setval(pg_get_serial_sequence("
	    "'\"%s\"', '%s'), coalesce((SELECT max(\"%s\") FROM \"%s\"), 0)"
	    " + 1, false)", t->name, t->identity, t->identity, t->name);
	if ((s = prepare(dst, sql)) == NULL)
		return STORE_ERROR;
	rc = db_step(s, &row);
	db_finalize(s);
	return rc;
}

static enum store_rc
count_rows(struct db *db, const char *table, int64_t *n)
{
	char sql[128];
	struct db_stmt *s;
	enum store_rc rc;
	bool row;

	snprintf(sql, sizeof(sql), "SELECT count(*) FROM \"%s\"", table);
	*n = -1;
	if ((s = prepare(db, sql)) == NULL)
		return STORE_ERROR;
	if ((rc = db_step(s, &row)) == STORE_OK && row)
		*n = db_column_int64(s, 0);
	db_finalize(s);
	return rc;
}

/* SHA-256 over every event's id (with its NUL) and body, in id order. */
static enum store_rc
events_digest(struct db *db, char hex[65])
{
	struct db_stmt *s = prepare(db, "SELECT id, body FROM events"
	    " ORDER BY id");
	unsigned char md[32];
	EVP_MD_CTX *c = EVP_MD_CTX_new();
	enum store_rc rc = STORE_ERROR;
	const char *id;
	const void *body;
	size_t len;
	bool row;

	if (s != NULL && c != NULL &&
	    EVP_DigestInit_ex(c, EVP_sha256(), NULL)) {
		while ((rc = db_step(s, &row)) == STORE_OK && row) {
			id = db_column_text(s, 0);
			body = db_column_blob(s, 1, &len);
			EVP_DigestUpdate(c, id, strlen(id) + 1);
			EVP_DigestUpdate(c, body, len);
		}
		if (rc == STORE_OK && !EVP_DigestFinal_ex(c, md, NULL))
			rc = STORE_ERROR;
	}
	for (int i = 0; rc == STORE_OK && i < 32; i++)
		snprintf(hex + 2 * i, 3, "%02x", md[i]);
	db_finalize(s);
	EVP_MD_CTX_free(c);
	return rc;
}

static int
refuse_non_empty(struct db *dst, char *err, size_t errsz)
{
	int64_t n;

	for (size_t i = 0; i < NTABLES; i++) {
		if (count_rows(dst, tables[i], &n) != STORE_OK)
			continue;	/* a table this schema lacks */
		if (n > 0) {
			snprintf(err, errsz, "database %s is not empty (%s has"
			    " %lld rows): copy-to fills an empty one only",
			    db_name(dst), tables[i], (long long)n);
			return -1;
		}
	}
	return 0;
}

/* Every table, in the transaction on dst; counts into rep. */
static int
copy_all(struct store *src, struct store *dst, struct store_copy_report *rep,
    char *err, size_t errsz)
{
	struct table t;
	enum store_rc rc = STORE_OK;

	for (size_t i = 0; rc == STORE_OK && i < NTABLES; i++) {
		t.name = tables[i];
		if ((rc = read_columns(dst->db, &t)) != STORE_OK || t.n == 0)
			continue;
		rc = copy_rows(src->db, dst->db, &t, &rep->rows[rep->ntables]);
		if (rc == STORE_OK)
			rc = move_sequence(dst->db, &t);
		rep->table[rep->ntables++] = tables[i];
	}
	if (rc != STORE_OK) {
		db_describe(dst->db, "copying failed", err, errsz);
		return -1;
	}
	return 0;
}

/* Counts and the events' digest, on both sides alike. */
static int
verify(struct store *src, struct store *dst, struct store_copy_report *rep,
    char *err, size_t errsz)
{
	char other[65];
	int64_t a, b;

	for (size_t i = 0; i < rep->ntables; i++) {
		if (count_rows(src->db, rep->table[i], &a) != STORE_OK ||
		    count_rows(dst->db, rep->table[i], &b) != STORE_OK ||
		    a != b) {
			snprintf(err, errsz, "%s: %lld rows in the source, %lld"
			    " copied", rep->table[i], (long long)a,
			    (long long)b);
			return -1;
		}
	}
	if (events_digest(src->db, rep->digest) != STORE_OK) {
		db_describe(src->db, "reading the source's events back failed", err, errsz);
		return -1;
	}
	if (events_digest(dst->db, other) != STORE_OK) {
		db_describe(dst->db, "reading the copied events back failed", err, errsz);
		return -1;
	}
	if (strcmp(rep->digest, other) != 0) {
		snprintf(err, errsz, "the events' SHA-256 differs between the"
		    " source and the copy");
		return -1;
	}
	return 0;
}

int
store_copy_to(struct store *src, const char *uri, struct store_copy_report *rep,
    char *err, size_t errsz)
{
	struct store *dst;
	int rc;

	memset(rep, 0, sizeof(*rep));
	if (store_open(&dst, uri, STORE_READWRITE, DURABILITY_FULL,
	    src->busy_ms, err, errsz) < 0)
		return -1;
	db_display_name(uri, rep->target, sizeof(rep->target));
	rc = refuse_non_empty(dst->db, err, errsz);
	/*
	 * The migration lock: no node migrates the target meanwhile, and, as
	 * for a migration, no statement timeout (busy_timeout elsewhere):
	 * reading a large store's events back for the checksum takes minutes.
	 */
	if (rc == 0 && (store_begin(dst) != STORE_OK ||
	    db_lock_key(dst->db, "migrate") != STORE_OK)) {
		db_describe(dst->db, "cannot begin", err, errsz);
		rc = -1;
	}
	/* Verified before the commit: a copy that differs leaves nothing. */
	if (rc == 0 && (copy_all(src, dst, rep, err, errsz) < 0 ||
	    verify(src, dst, rep, err, errsz) < 0))
		rc = -1;
	if (rc == 0 && store_commit(dst) != STORE_OK) {
		db_describe(dst->db, "cannot commit the copy", err, errsz);
		rc = -1;
	}
	store_rollback(dst);
	store_close(dst);
	return rc;
}
