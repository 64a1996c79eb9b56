/*
 * store_meta: small facts of the installation (sql/001, table meta):
 * each a text under a key, read and written here only.  The poller keeps
 * its runs and cursors there (store_carrier.h names some keys); GET
 * /v1/stats shows some by prefix.  Declared in store.h.
 */
#include "config.h"

#include <string.h>

#include "store.h"
#include "store_int.h"

static const struct db_sql sql[] = {
	{ Q_META_GET, .sql = "SELECT value FROM meta WHERE key = ?" },
	{ Q_META_SET, .sql =
	"INSERT INTO meta(key, value) VALUES (?1, ?2)"
	" ON CONFLICT(key) DO UPDATE SET value = excluded.value" },
	{ Q_META_DELETE, .sql = "DELETE FROM meta WHERE key = ?1" },
	/* A few dozen small rows: the prefix is matched in C. */
	{ Q_META_ALL, .sql = "SELECT key, value FROM meta ORDER BY key" },
};

static struct db_stmt *
stmt(struct store *st, enum stmt q)
{
	return store_stmt(st, q, sql, STORE_SQL_N(sql));
}

enum store_rc
store_meta_get(struct store *st, const char *key, char *buf, size_t bufsz)
{
	struct db_stmt *s = stmt(st, Q_META_GET);
	struct store_text m = { buf, bufsz };
	enum store_rc rc;
	bool any;

	buf[0] = '\0';
	if (s == NULL)
		return STORE_ERROR;
	db_bind_text(s, 1, key);
	rc = store_each_row(st, s, store_text_row, NULL, &m, "meta", &any);
	return rc == STORE_OK && !any ? STORE_NONE : rc;
}

enum store_rc
store_meta_set(struct store *st, const char *key, const char *value)
{
	return store_run(st, stmt(st, Q_META_SET), "set meta", "tt", key,
	    value);
}

enum store_rc
store_meta_delete(struct store *st, const char *key)
{
	return store_run(st, stmt(st, Q_META_DELETE), "delete meta", "t", key);
}

struct meta_ctx {
	const char *prefix;
	size_t len;
	store_meta_cb cb;
	void *arg;
};

static int
meta_row_fn(struct db_stmt *s, void *cb, void *arg)
{
	struct meta_ctx *m = arg;
	const char *key = db_column_text(s, 0);

	(void)cb;
	if (key == NULL || strncmp(key, m->prefix, m->len) != 0)
		return 0;
	return m->cb(m->arg, key, db_column_text(s, 1));
}

enum store_rc
store_meta_prefix(struct store *st, const char *prefix, store_meta_cb cb,
    void *arg)
{
	struct db_stmt *s = stmt(st, Q_META_ALL);
	struct meta_ctx m = { prefix, strlen(prefix), cb, arg };

	if (s == NULL)
		return STORE_ERROR;
	return store_each_row(st, s, meta_row_fn, NULL, &m, "meta", NULL);
}
