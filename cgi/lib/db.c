/*
 * db: see db.h.  The connection string picks the driver; every other
 * call goes to the driver the connection or statement came from.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "db_driver.h"
#include "log.h"

/* The drivers this build has: a PostgreSQL URI, else a SQLite file. */
static bool
is_pg(const char *uri)
{
	return strncmp(uri, "postgresql://", 13) == 0 ||
	    strncmp(uri, "postgres://", 11) == 0;
}

static const struct db_driver *
driver_for(const char *uri)
{
	return is_pg(uri) ? &db_pg_driver : &db_sqlite_driver;
}

unsigned
db_uri_caps(const char *uri)
{
	return driver_for(uri)->caps;
}

void
db_display_name(const char *uri, char *buf, size_t bufsz)
{
	if (is_pg(uri))
		(void)db_pg_redact(uri, buf, bufsz);
	else
		snprintf(buf, bufsz, "%s", uri);
}

int
db_open(struct db **out, const char *uri, enum store_mode mode, enum durability d,
    long busy_ms, char *err, size_t errsz)
{
	const struct db_driver *drv = driver_for(uri);

	*out = NULL;
	return drv->open(out, uri, mode, d, busy_ms, err, errsz);
}

void
db_close(struct db *db)
{
	if (db != NULL)
		db->drv->close(db);
}

unsigned
db_caps(const struct db *db)
{
	return db->drv->caps;
}

enum db_dialect
db_dialect(const struct db *db)
{
	return db->drv->dialect;
}

const char *
db_name(const struct db *db)
{
	return db->drv->name_of(db);
}

const char *
db_errmsg(struct db *db)
{
	return db->drv->errmsg(db);
}

enum store_rc
db_logged(struct db *db, enum store_rc rc, const char *what)
{
	switch (rc) {
	case STORE_OK:
	case STORE_NONE:
		break;
	case STORE_BUSY:
		log_warn("%s: database is busy", what);
		break;
	case STORE_FULL:
		log_error("%s: database or disk is full", what);
		break;
	default:
		log_error("%s: %s", what, db != NULL ? db_errmsg(db) : "out of memory");
		break;
	}
	return rc;
}

void
db_describe(struct db *db, const char *what, char *err, size_t errsz)
{
	db->drv->describe(db, what, err, errsz);
}

struct db_stmt *
db_prepare(struct db *db, const struct db_sql *q)
{
	const char *own = db->drv->dialect == DB_SQLITE ? q->sqlite : q->pg;
	const char *sql = own != NULL ? own : q->sql;

	if (sql == NULL) {
		log_error("statement %d: no SQL for %s", q->name, db->drv->name);
		return NULL;
	}
	return db->drv->prepare(db, sql);
}

void
db_finalize(struct db_stmt *s)
{
	if (s != NULL)
		s->db->drv->finalize(s);
}

void
db_bind_int64(struct db_stmt *s, int i, int64_t v)
{
	s->db->drv->bind_int64(s, i, v);
}

void
db_bind_text(struct db_stmt *s, int i, const char *v)
{
	s->db->drv->bind_text(s, i, v);
}

void
db_bind_blob(struct db_stmt *s, int i, const void *p, size_t n)
{
	s->db->drv->bind_blob(s, i, p, n);
}

void
db_bind_null(struct db_stmt *s, int i)
{
	s->db->drv->bind_null(s, i);
}

enum store_rc
db_step(struct db_stmt *s, bool *row)
{
	return s->db->drv->step(s, row);
}

enum store_rc
db_run_later(struct db_stmt *s)
{
	enum store_rc rc;
	bool row;

	if (s->db->drv->run_later != NULL)
		return s->db->drv->run_later(s);
	rc = s->db->drv->step(s, &row);
	s->db->drv->reset(s);
	return rc;
}

enum store_rc
db_send(struct db_stmt *s)
{
	return s->db->drv->send != NULL ? s->db->drv->send(s) : STORE_OK;
}

int64_t
db_column_int64(struct db_stmt *s, int i)
{
	return s->db->drv->column_int64(s, i);
}

const char *
db_column_text(struct db_stmt *s, int i)
{
	return s->db->drv->column_text(s, i);
}

const void *
db_column_blob(struct db_stmt *s, int i, size_t *len)
{
	return s->db->drv->column_blob(s, i, len);
}

bool
db_column_is_null(struct db_stmt *s, int i)
{
	return s->db->drv->column_is_null(s, i);
}

void
db_reset(struct db_stmt *s)
{
	s->db->drv->reset(s);
}

int64_t
db_changes(struct db *db)
{
	return db->drv->changes(db);
}

enum store_rc
db_exec(struct db *db, const char *sql)
{
	return db->drv->exec(db, sql);
}

enum store_rc
db_tx(struct db *db, enum db_tx op)
{
	return op < DB_TX__MAX ? db->drv->tx(db, op) : STORE_ERROR;
}

bool
db_in_tx(struct db *db)
{
	return db->drv->in_tx(db);
}

const char *const *
db_migrations(const struct db *db)
{
	return db->drv->migrations;
}

/* sql/migrations.c: how many every dialect has (sql/gen-migrations.sh checks). */
extern const int shiptrack_migration_count;

int
db_schema_target(void)
{
	return shiptrack_migration_count;
}

int
db_schema_version(struct db *db)
{
	return db->drv->schema_version(db);
}

enum store_rc
db_set_schema_version(struct db *db, int version)
{
	return db->drv->set_schema_version(db, version);
}

void
db_on_progress(struct db *db, void (*fn)(void *arg), void *arg)
{
	if (db->drv->on_progress != NULL)
		db->drv->on_progress(db, fn, arg);
}

int64_t
db_change_counter(struct db *db)
{
	return db->drv->change_counter != NULL ? db->drv->change_counter(db) : -1;
}

enum store_rc
db_integrity(struct db *db, char *buf, size_t bufsz)
{
	return db->drv->integrity(db, buf, bufsz);
}

enum store_rc
db_lock_key(struct db *db, const char *key)
{
	return db->drv->lock_key != NULL ? db->drv->lock_key(db, key) : STORE_OK;
}

enum store_rc
db_lock_key_shared(struct db *db, const char *key)
{
	return db->drv->lock_key_shared != NULL ? db->drv->lock_key_shared(db, key) :
	    STORE_OK;
}

enum store_rc
db_try_lock_session(struct db *db, const char *key, bool *taken)
{
	*taken = false;
	return db->drv->try_lock_session != NULL ?
	    db->drv->try_lock_session(db, key, taken) : STORE_ERROR;
}

enum store_rc
db_lock_holder(struct db *db, const char *key, bool *held, int64_t *since_ms,
    long *pid)
{
	*held = false;
	*since_ms = 0;
	*pid = 0;
	return db->drv->lock_holder != NULL ?
	    db->drv->lock_holder(db, key, held, since_ms, pid) : STORE_ERROR;
}

enum store_rc
db_empty(struct db *db)
{
	return db->drv->empty(db);
}

void
db_defer_checkpoints(struct db *db, int backstop)
{
	if (db->drv->defer_checkpoints != NULL)
		db->drv->defer_checkpoints(db, backstop);
}

int
db_log_pages(struct db *db)
{
	return db->drv->log_pages != NULL ? db->drv->log_pages(db) : 0;
}

enum store_rc
db_checkpoint(struct db *db, int *log_pages, int *done_pages)
{
	if (db->drv->checkpoint == NULL) {
		if (log_pages != NULL)
			*log_pages = 0;
		if (done_pages != NULL)
			*done_pages = 0;
		return STORE_OK;
	}
	return db->drv->checkpoint(db, log_pages, done_pages);
}
