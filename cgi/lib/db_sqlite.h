/*
 * db_sqlite.h: the inside of the SQLite driver, shared by db_sqlite.c
 * (connections, transactions, schema, the WAL) and db_sqlite_stmt.c
 * (statements).  Nothing else includes it.
 */
#ifndef SHIPTRACK_DB_SQLITE_H
#define SHIPTRACK_DB_SQLITE_H

#include <time.h>

#include <sqlite3.h>

#include "db_driver.h"

struct sqlite_db {
	struct db base;
	sqlite3 *h;
	char *path;			/* for messages */
	long busy_ms;
	struct timespec busy_start;
	int wal_pages;			/* pages in the WAL after the last commit */
	int auto_pages;			/* PASSIVE checkpoint in COMMIT past this */
	sqlite3_stmt *tx[DB_TX__MAX];	/* transaction control, prepared once */
	sqlite3_stmt *data_version;
	void (*progress)(void *arg);
	void *progress_arg;
	char *empty_sql;		/* db_empty()'s DELETEs, made once */
};

struct sqlite_stmt {
	struct db_stmt base;
	sqlite3_stmt *s;
};

enum store_rc db_sqlite_rc(int rc);

struct db_stmt *db_sqlite_prepare(struct db *db, const char *sql);
void db_sqlite_finalize(struct db_stmt *s);
void db_sqlite_bind_int64(struct db_stmt *s, int i, int64_t v);
void db_sqlite_bind_text(struct db_stmt *s, int i, const char *v);
void db_sqlite_bind_blob(struct db_stmt *s, int i, const void *p, size_t n);
void db_sqlite_bind_null(struct db_stmt *s, int i);
enum store_rc db_sqlite_step(struct db_stmt *s, bool *row);
int64_t db_sqlite_column_int64(struct db_stmt *s, int i);
const char *db_sqlite_column_text(struct db_stmt *s, int i);
const void *db_sqlite_column_blob(struct db_stmt *s, int i, size_t *len);
bool db_sqlite_column_is_null(struct db_stmt *s, int i);
void db_sqlite_reset(struct db_stmt *s);
int64_t db_sqlite_changes(struct db *db);

#endif
