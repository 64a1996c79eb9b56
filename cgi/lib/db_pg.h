/*
 * db_pg.h: the inside of the PostgreSQL driver, shared by db_pg.c
 * (connections, errors, transactions), db_pg_stmt.c (statements),
 * db_pg_schema.c (migrations, the change counter, checks),
 * db_pg_lock.c (advisory locks) and db_pg_pipe.c (the pipeline).
 * Nothing else includes it; these files (and bench/rawpg.c) are the only
 * ones that call libpq.
 *
 * A connection is one libpq connection.  When it is lost (the server
 * restarted, a network cut) the transaction it was in fails STORE_BUSY
 * and the connection is marked broken; the next transaction (or the next
 * statement outside one) resets it first.  Statements are prepared on the
 * server per connection (PQprepare, named "s<n>"), so a reset connection
 * prepares them again: each statement remembers the connection's
 * generation it was prepared in.
 */
#ifndef SHIPTRACK_DB_PG_H
#define SHIPTRACK_DB_PG_H

#include <libpq-fe.h>

#include "db_driver.h"

#define PG_MAX_PARAMS 64
/* Statements queued in a pipeline before it is settled (db_pg_pipe.c). */
#define PG_MAX_PENDING 64
/* The first key of every advisory lock shiptrack takes ("ST", 21332). */
#define SHIPTRACK_LOCK_CLASS 0x5354

struct pg_stmt;

/* A statement in the pipeline, and where its result goes (NULL: nowhere). */
struct pg_pending {
	struct pg_stmt *s;
	PGresult **into;
};

struct pg_db {
	struct db base;
	PGconn *conn;
	char *name;			/* the URI as messages show it */
	enum durability durability;	/* set again on every reset */
	long busy_ms;
	char msg[256];			/* the last error, one line */
	int64_t changes;		/* rows the last command changed */
	unsigned generation;		/* bumped by every reset */
	unsigned next_stmt;		/* names s1, s2, ... */
	bool broken;			/* lost: reset before the next use */
	bool tx_open;			/* between BEGIN and COMMIT/ROLLBACK */
	bool read_tx;			/* in a DB_BEGIN_READ transaction */
	int64_t read_counter;		/* the change counter as that began */
	struct db_stmt *lock;		/* db_lock_key()'s, prepared once */
	struct db_stmt *lock_shared;	/* db_lock_key_shared()'s */
	struct pg_pending pending[PG_MAX_PENDING];	/* in the pipeline */
	int npending;
	/* the change counter as last asked (db_pg_schema.c); -1: not yet */
	int64_t counter, counter_at_ms;
	unsigned long counter_commits;
};

/*
 * The change counter is asked of the server at most this often per
 * connection; commits made in this process (db_pg_local_commits, counted
 * at each COMMIT of a write transaction) are seen at once.
 */
#define PG_COUNTER_LAG_MS 50
extern _Atomic unsigned long db_pg_local_commits;

struct pg_stmt {
	struct db_stmt base;
	char name[16];
	char *sql;			/* with $n placeholders */
	int nparams;
	Oid types[PG_MAX_PARAMS];	/* 0: the server infers */
	unsigned generation;		/* prepared in; 0: not yet */
	const char *values[PG_MAX_PARAMS];
	int lengths[PG_MAX_PARAMS], formats[PG_MAX_PARAMS];
	char ints[PG_MAX_PARAMS][24];	/* integers as text */
	PGresult *res;			/* the result, stepped through */
	int row;			/* the current row; -1: before */
	unsigned char *blob;		/* a bytea column, decoded */
	bool sent;			/* in the pipeline, its result to come */
};

/* SQLSTATE / connection state of a failed result -> store_rc, noted. */
enum store_rc db_pg_fail(struct pg_db *d, const PGresult *r);
/* Reset a broken connection (before a transaction); STORE_BUSY if down. */
enum store_rc db_pg_ready(struct pg_db *d);
/* Run SQL without parameters: STORE_OK, or the failure mapped. */
enum store_rc db_pg_simple(struct pg_db *d, const char *sql);
/* One int64 from a one-row query without parameters (-1 on error). */
int64_t db_pg_scalar(struct pg_db *d, const char *sql);

DB_DRIVER_STMT_FUNCS(db_pg);
enum store_rc db_pg_run_later(struct db_stmt *s);
enum store_rc db_pg_send_stmt(struct db_stmt *s);
/* Prepare s on the server if this connection has not (a reset one). */
enum store_rc db_pg_server_prepare(struct pg_stmt *s);

/*
 * The pipeline (db_pg_pipe.c).  Send s as bound (keep: its result goes to
 * s->res, read by its step), or SQL without parameters (its result to
 * *into, if not NULL); db_pg_settle() sends what is queued and reads every
 * result: the first failure's store_rc.  Anything that waits for the
 * server settles first.  db_pg_pipe_drop() forgets the queue from entry
 * from on (a lost connection).
 */
enum store_rc db_pg_send(struct pg_db *d, struct pg_stmt *s, bool keep);
enum store_rc db_pg_send_sql(struct pg_db *d, const char *sql, PGresult **into);
enum store_rc db_pg_settle(struct pg_db *d);
/* In pipeline mode: a statement must join the pipeline, not run alone. */
bool db_pg_piped(struct pg_db *d);
void db_pg_pipe_drop(struct pg_db *d, int from);
/* ? and ?N rewritten to $N as SQLite numbers them; -1 if malformed. */
int db_pg_rewrite(const char *sql, char *out, size_t outsz, int *nparams,
    bool used[PG_MAX_PARAMS + 1]);

int db_pg_schema_version(struct db *db);
enum store_rc db_pg_set_schema_version(struct db *db, int version);
int64_t db_pg_change_counter(struct db *db);
enum store_rc db_pg_integrity(struct db *db, char *buf, size_t bufsz);
enum store_rc db_pg_empty(struct db *db);
enum store_rc db_pg_lock_key(struct db *db, const char *key);
enum store_rc db_pg_lock_key_shared(struct db *db, const char *key);
enum store_rc db_pg_try_lock_session(struct db *db, const char *key,
    bool *taken);
enum store_rc db_pg_lock_holder(struct db *db, const char *key, bool *held,
    int64_t *since_ms, long *pid);

#endif
