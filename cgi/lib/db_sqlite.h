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

DB_DRIVER_STMT_FUNCS(db_sqlite);

#endif
