/*
 * db_sqlite_stmt: the SQLite driver's statements (db_sqlite.h).  Every
 * statement is prepared persistent: the store prepares each one once per
 * connection and keeps it.  Text and blobs are bound without a copy
 * (SQLITE_STATIC): db.h asks the caller to keep them until the reset.
 */
#include "config.h"

#include <stdlib.h>

#include "db_sqlite.h"

static sqlite3_stmt *
raw(struct db_stmt *s)
{
	return ((struct sqlite_stmt *)s)->s;
}

struct db_stmt *
db_sqlite_prepare(struct db *db, const char *sql)
{
	struct sqlite_stmt *s = calloc(1, sizeof(*s));

	if (s == NULL)
		return NULL;
	s->base.db = db;
	if (sqlite3_prepare_v3(((struct sqlite_db *)db)->h, sql, -1,
	    SQLITE_PREPARE_PERSISTENT, &s->s, NULL) != SQLITE_OK) {
		free(s);
		return NULL;
	}
	return &s->base;
}

void
db_sqlite_finalize(struct db_stmt *s)
{
	sqlite3_finalize(raw(s));
	free(s);
}

void
db_sqlite_bind_int64(struct db_stmt *s, int i, int64_t v)
{
	sqlite3_bind_int64(raw(s), i, v);
}

void
db_sqlite_bind_text(struct db_stmt *s, int i, const char *v)
{
	if (v == NULL)
		sqlite3_bind_null(raw(s), i);
	else
		sqlite3_bind_text(raw(s), i, v, -1, SQLITE_STATIC);
}

void
db_sqlite_bind_blob(struct db_stmt *s, int i, const void *p, size_t n)
{
	sqlite3_bind_blob(raw(s), i, p, (int)n, SQLITE_STATIC);
}

void
db_sqlite_bind_null(struct db_stmt *s, int i)
{
	sqlite3_bind_null(raw(s), i);
}

enum store_rc
db_sqlite_step(struct db_stmt *s, bool *row)
{
	int rc = sqlite3_step(raw(s));

	*row = rc == SQLITE_ROW;
	return db_sqlite_rc(rc);
}

int64_t
db_sqlite_column_int64(struct db_stmt *s, int i)
{
	return sqlite3_column_int64(raw(s), i);
}

const char *
db_sqlite_column_text(struct db_stmt *s, int i)
{
	return (const char *)sqlite3_column_text(raw(s), i);
}

const void *
db_sqlite_column_blob(struct db_stmt *s, int i, size_t *len)
{
	const void *p = sqlite3_column_blob(raw(s), i);

	*len = (size_t)sqlite3_column_bytes(raw(s), i);
	return p;
}

bool
db_sqlite_column_is_null(struct db_stmt *s, int i)
{
	return sqlite3_column_type(raw(s), i) == SQLITE_NULL;
}

void
db_sqlite_reset(struct db_stmt *s)
{
	sqlite3_reset(raw(s));
	sqlite3_clear_bindings(raw(s));
}

int64_t
db_sqlite_changes(struct db *db)
{
	return sqlite3_changes(((struct sqlite_db *)db)->h);
}
