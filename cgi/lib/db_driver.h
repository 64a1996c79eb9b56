/*
 * db_driver: what a backend fills in (db_sqlite.c), for db.c and the
 * drivers only; the store's files see db.h.
 *
 * A driver's connection and statement structs begin with struct db and
 * struct db_stmt, so db.c can reach the driver from either; every other
 * field is the driver's own.  db.h describes what each operation must do;
 * an operation a backend lacks the capability for may be NULL (db.c then
 * answers as db.h says: -1, 0, or nothing).
 */
#ifndef SHIPTRACK_DB_DRIVER_H
#define SHIPTRACK_DB_DRIVER_H

#include "db.h"

struct db {
	const struct db_driver *drv;
};

struct db_stmt {
	struct db *db;
};

struct db_driver {
	const char *name;
	enum db_dialect dialect;
	unsigned caps;			/* DB_CAN_CHECKPOINT, ... */
	const char *const *migrations;	/* this dialect's, NULL-ended */

	int (*open)(struct db **out, const char *uri, enum store_mode mode,
	    enum durability d, long busy_ms, char *err, size_t errsz);
	void (*close)(struct db *db);
	const char *(*name_of)(const struct db *db);
	const char *(*errmsg)(struct db *db);
	void (*describe)(struct db *db, const char *what, char *err, size_t errsz);

	struct db_stmt *(*prepare)(struct db *db, const char *sql);
	void (*finalize)(struct db_stmt *s);
	void (*bind_int64)(struct db_stmt *s, int i, int64_t v);
	void (*bind_text)(struct db_stmt *s, int i, const char *v);
	void (*bind_blob)(struct db_stmt *s, int i, const void *p, size_t n);
	void (*bind_null)(struct db_stmt *s, int i);
	enum store_rc (*step)(struct db_stmt *s, bool *row);
	enum store_rc (*run_later)(struct db_stmt *s);	/* NULL: step, reset */
	enum store_rc (*send)(struct db_stmt *s);	/* NULL: nothing to do */
	int64_t (*column_int64)(struct db_stmt *s, int i);
	const char *(*column_text)(struct db_stmt *s, int i);
	const void *(*column_blob)(struct db_stmt *s, int i, size_t *len);
	bool (*column_is_null)(struct db_stmt *s, int i);
	void (*reset)(struct db_stmt *s);
	int64_t (*changes)(struct db *db);
	enum store_rc (*exec)(struct db *db, const char *sql);

	enum store_rc (*tx)(struct db *db, enum db_tx op);
	bool (*in_tx)(struct db *db);

	int (*schema_version)(struct db *db);
	enum store_rc (*set_schema_version)(struct db *db, int version);
	void (*on_progress)(struct db *db, void (*fn)(void *arg), void *arg);

	int64_t (*change_counter)(struct db *db);
	enum store_rc (*integrity)(struct db *db, char *buf, size_t bufsz);
	enum store_rc (*empty)(struct db *db);
	enum store_rc (*lock_key)(struct db *db, const char *key);
	enum store_rc (*lock_key_shared)(struct db *db, const char *key);
	enum store_rc (*try_lock_session)(struct db *db, const char *key,
	    bool *taken);
	enum store_rc (*lock_holder)(struct db *db, const char *key, bool *held,
	    int64_t *since_ms, long *pid);

	void (*defer_checkpoints)(struct db *db, int backstop);
	int (*log_pages)(struct db *db);
	enum store_rc (*checkpoint)(struct db *db, int *log_pages, int *done_pages);
};

/*
 * The statement functions every driver has, declared once: a driver's
 * own header says DB_DRIVER_STMT_FUNCS(db_NAME) and defines them (its
 * table above points at them).
 */
#define DB_DRIVER_STMT_FUNCS(drv) \
	struct db_stmt *drv##_prepare(struct db *db, const char *sql); \
	void drv##_finalize(struct db_stmt *s); \
	void drv##_bind_int64(struct db_stmt *s, int i, int64_t v); \
	void drv##_bind_text(struct db_stmt *s, int i, const char *v); \
	void drv##_bind_blob(struct db_stmt *s, int i, const void *p, size_t n); \
	void drv##_bind_null(struct db_stmt *s, int i); \
	enum store_rc drv##_step(struct db_stmt *s, bool *row); \
	int64_t drv##_column_int64(struct db_stmt *s, int i); \
	const char *drv##_column_text(struct db_stmt *s, int i); \
	const void *drv##_column_blob(struct db_stmt *s, int i, size_t *len); \
	bool drv##_column_is_null(struct db_stmt *s, int i); \
	void drv##_reset(struct db_stmt *s); \
	int64_t drv##_changes(struct db *db)

extern const struct db_driver db_sqlite_driver;
extern const struct db_driver db_pg_driver;

/* db_pg.c: uri without its password, for messages; -1 if unparsable. */
int db_pg_redact(const char *uri, char *buf, size_t bufsz);

#endif
