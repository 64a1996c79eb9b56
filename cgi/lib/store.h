/*
 * store: what the programs keep in the database, behind one interface.
 *
 * The store's files are written against db.h, the driver interface; the
 * connection string given to store_open() picks the backend (db.c).
 * Each handle prepares every statement once, on first use, from the
 * named tables of the store's files, and reuses it.  Writers take the
 * write lock when the transaction begins, so a transaction never fails
 * half-way on a lock upgrade; a lock not had within busy_ms is
 * STORE_BUSY, which callers answer with 503.
 *
 * The schema is the numbered migrations in sql/, compiled in; a writable
 * open applies the missing ones inside one transaction and records the
 * count as the database's schema version.
 *
 * Reads hand rows to callbacks; the strings in a row are valid only
 * during the callback.
 */
#ifndef SHIPTRACK_STORE_H
#define SHIPTRACK_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "order.h"

struct store;

/* An order id's longest (the receiver accepts no longer one). */
#define STORE_ORDER_ID_MAX 200

enum store_rc {
	STORE_OK,
	STORE_NONE,	/* no such row, or the insert was a duplicate */
	STORE_BUSY,	/* lock not obtained within busy_timeout */
	STORE_FULL,	/* disk or quota full */
	STORE_ERROR,	/* anything else; logged */
};

enum store_mode { STORE_READWRITE, STORE_READONLY };

/*
 * What a commit promises on power loss: FULL, that it is on disk when the
 * commit returns; NORMAL, that the database stays whole but the last
 * commits may be lost (SQLite's synchronous = NORMAL in WAL mode).
 */
enum durability { DURABILITY_FULL, DURABILITY_NORMAL };

/*
 * uri: the database's connection string (the path of a SQLite file, db.h).
 * -1 with "database ...: what went wrong" in err.
 */
/* database_password_file (NULL: none), for every store_open() after. */
void store_set_password_file(const char *path);
/* The database as messages show it: a path, or a URI without password. */
void store_display_name(const char *uri, char *buf, size_t bufsz);
int  store_open(struct store **out, const char *uri, enum store_mode mode,
    enum durability durability, long busy_ms, char *err, size_t errsz);
void store_close(struct store *st);

/* Schema version of the file, and the one this build carries. */
int  store_schema_version(struct store *st);
int  store_schema_target(void);

/*
 * Told while a writable open migrates the file (for a progress line):
 * from the version found, done of total migrations applied; called before
 * each migration, every so often while one runs, and once at the end.
 * One per process; NULL for none.
 */
typedef void (*store_migrate_fn)(void *arg, int from, int done, int total);
void store_on_migrate(store_migrate_fn fn, void *arg);

/* A write transaction, its write lock taken at once. */
enum store_rc store_begin(struct store *st);
enum store_rc store_commit(struct store *st);
void store_rollback(struct store *st);
/*
 * A read transaction: the reads between these see one snapshot (a view
 * made of several queries cannot mix two states of an order).
 */
enum store_rc store_read_begin(struct store *st);
/* In a write transaction: this order's other writers wait until it ends. */
enum store_rc store_lock_order(struct store *st, const char *order_id);
void store_read_end(struct store *st);
/*
 * A number that changes whenever another connection has committed since
 * this handle last asked, so that what was read at one value is current
 * while it stays; inside a read transaction, its snapshot's.  -1 when the
 * backend cannot tell (or on error): then nothing read may be kept.
 */
int64_t store_change_counter(struct store *st);
/*
 * How long the database's write-ahead log was after this handle's last
 * commit, in pages; 0 where the backend keeps none of its own (for the
 * commit statistics, and the checkpointer where there is one).
 */
int store_log_pages(const struct store *st);
/* A nested unit inside the open transaction (a savepoint). */
enum store_rc store_savepoint(struct store *st);
enum store_rc store_release(struct store *st);
void store_rollback_to(struct store *st);

/* Every row of every table removed, as in a new database (tests). */
enum store_rc store_empty(struct store *st);

/*
 * What `shiptrack check` prints: the backend's own integrity check, the
 * schema version, and how many rows the main tables hold (those that
 * could be counted).  STORE_OK when the integrity check ran; its verdict
 * is in integrity ("no answer" when it did not run).
 */
#define STORE_CHECK_TABLES 5
struct store_check {
	char integrity[512];	/* "ok", or the first problem found */
	int schema;
	size_t ncounts;
	struct { const char *table; int64_t rows; } count[STORE_CHECK_TABLES];
};
enum store_rc store_check(struct store *st, struct store_check *out);

/* --- writes (inside a transaction) --- */

struct event_rec {
	const char *id, *scheme, *type, *order_id, *created_at, *marketplace;
	const char *received_at;
	const char *source;		/* "webhook" (NULL) or "sync" */
	const char *subject;		/* gen 2: "<source.type>:<source.id>" */
	const char *status;		/* observations: the status stated */
	int64_t created_ms;
	const void *body;
	size_t body_len;
};

/* STORE_OK, or STORE_NONE when the id was already stored. */
enum store_rc store_event_insert(struct store *st, const struct event_rec *e);
/*
 * The insert of the event the caller will store next (its
 * store_event_insert() with the same id, in this transaction), sent to a
 * server with the next store_order_ask(), so that one round trip serves
 * one event's reads and the next one's insert.  Where that saves nothing
 * (db.h: DB_PIPELINES) it does nothing.  e's strings must last until
 * that insert; received_at is copied.
 */
void store_event_insert_ahead(struct store *st, const struct event_rec *e);
enum store_rc store_rejected_insert(struct store *st, const char *scheme,
    const char *reason, const char *received_at, const void *body, size_t len);

struct shipment_ref {
	const char *order_id;
	const char *tracking_number;	/* NULL: pending, keyed by pending_key */
	const char *pending_key;
	const char *carrier, *url;
	const char *event_key;	/* store_event_key() of the announcing event */
};
/* "<ms zero-padded>|<id>": sorts as (createdAt, id). */
#define STORE_EVENT_KEY_LEN 256
void store_event_key(char *out, size_t outsz, int64_t created_ms, const char *id);
enum store_rc store_shipment_upsert(struct store *st, const struct shipment_ref *s);

struct order_rec {
	const char *id, *status, *stage, *marketplace, *created_at, *updated_at;
	int64_t created_ms, updated_ms;
	bool keep_updated_if_same;	/* replay: an unchanged order keeps updatedAt */
};
enum store_rc store_order_upsert(struct store *st, const struct order_rec *o);

/* --- reads --- */

struct event_row {
	int64_t seq, created_ms;
	const char *id, *scheme, *type, *order_id, *created_at, *received_at,
	    *marketplace, *source, *subject, *status;
	const void *body;
	size_t body_len;
};
typedef int (*store_event_cb)(void *arg, const struct event_row *r);

/* Events of one order, oldest first by (createdAt, id). */
enum store_rc store_order_events(struct store *st, const char *order_id,
    store_event_cb cb, void *arg);
/* Every stored event in arrival order, with bodies (for replay). */
enum store_rc store_all_events(struct store *st, store_event_cb cb, void *arg);
struct event_derived {
	const char *type, *order_id, *created_at, *marketplace, *subject, *status;
	int64_t created_ms;
};
enum store_rc store_event_rederive(struct store *st, int64_t seq,
    const struct event_derived *d);

struct order_row {
	const char *id, *status, *stage, *marketplace, *created_at, *updated_at;
};
typedef int (*store_order_cb)(void *arg, const struct order_row *r);
enum store_rc store_order_get(struct store *st, const char *id,
    store_order_cb cb, void *arg);

struct shipment_row {
	int64_t id;
	bool stale;		/* by the rules given to store_set_stale_rules */
	/* tag: as shown (order.h, shipment_tag_of: AfterShip's, else Rye's) */
	const char *tracking_number, *carrier, *tracking_url, *tag, *subtag,
	    *subtag_message, *expected_delivery, *delivered_at,
	    *last_checkpoint_at, *checked_at, *poll_error, *poll_error_at;
	/* estimates by source, "" never: NULL when none (sql/007) */
	const char *est_carrier[2], *est_predicted[2];	/* earliest, latest */
	const char *est_rye;		/* Rye's date (NULL until the Rye sync) */
	const char *pickup_location, *pickup_note, *signed_by,
	    *carrier_tracking_link;
	/* what Rye says about the parcel (gen 2), NULL when nothing */
	const char *rye_shipment_id, *rye_status, *rye_estimated_delivery,
	    *rye_delivered_at;
};
typedef int (*store_shipment_cb)(void *arg, const struct shipment_row *r);
enum store_rc store_order_shipments(struct store *st, const char *order_id,
    store_shipment_cb cb, void *arg);

struct checkpoint_row {
	const char *time, *tag, *subtag, *message, *location;
};
typedef int (*store_checkpoint_cb)(void *arg, const struct checkpoint_row *r);
enum store_rc store_shipment_checkpoints(struct store *st, int64_t shipment_id,
    store_checkpoint_cb cb, void *arg);

/* Order ids that have events, for replay. */
typedef int (*store_id_cb)(void *arg, const char *id);
enum store_rc store_event_order_ids(struct store *st, store_id_cb cb, void *arg);

/* Replay: forget everything derived from events (keeps carrier data). */
enum store_rc store_reset_derived(struct store *st);
/* Replay: drop shipments no event announced, and orders with no events. */
enum store_rc store_prune_derived(struct store *st);

/* The staleness rules the store judges rows by (store_rules.c); copied. */
void store_set_stale_rules(struct store *st, const struct stale_rules *r);

struct order_filter {
	const char *status, *stage;	/* NULL: any */
	bool stale;			/* only orders with something stale */
	bool has_cursor;		/* continue after (cursor_ms, cursor_id) */
	int64_t cursor_ms;
	const char *cursor_id;
	int limit;
	int64_t now_ms;
};
/* Orders newest first (createdAt, then id, descending). */
typedef int (*store_order_key_cb)(void *arg, const char *id, int64_t created_ms);
enum store_rc store_orders_list(struct store *st, const struct order_filter *f,
    store_order_key_cb cb, void *arg);

/* Grouped counts: group is "status", "stage", "stale", "events", ... */
typedef int (*store_count_cb)(void *arg, const char *group, const char *key,
    int64_t n);
enum store_rc store_stats(struct store *st, int64_t now_ms, store_count_cb cb,
    void *arg);

/* --- meta: small facts of the installation (store_meta.c) --- */

/* STORE_NONE (buf "") when the key is absent. */
enum store_rc store_meta_get(struct store *st, const char *key, char *buf,
    size_t bufsz);
enum store_rc store_meta_set(struct store *st, const char *key, const char *value);
enum store_rc store_meta_delete(struct store *st, const char *key);
/* meta rows whose key starts with prefix, by key. */
typedef int (*store_meta_cb)(void *arg, const char *key, const char *value);
enum store_rc store_meta_prefix(struct store *st, const char *prefix,
    store_meta_cb cb, void *arg);

/* Every order joined with its shipments (one row per shipment, or one
 * row with NULL shipment columns), newest order first. */
#define STORE_EXPORT_COLUMNS 15
typedef int (*store_export_cb)(void *arg, const char *const *cols);
extern const char *const store_export_header[STORE_EXPORT_COLUMNS];
enum store_rc store_export(struct store *st, store_export_cb cb, void *arg);

/* The order's current stage into buf: STORE_OK, or STORE_NONE if no order. */
enum store_rc store_order_stage(struct store *st, const char *order_id,
    char *buf, size_t bufsz);
/*
 * Ask for an order's stage, events and shipments at once, so that the
 * three calls that read them (store_order_stage(), store_order_events(),
 * store_order_shipments()) cost one round trip to a server, not three.
 * Each reads what was asked if asked for the same order since the last
 * transaction boundary and no other order was asked meanwhile, and asks
 * afresh otherwise.  Nothing may write in between.  An insert left for
 * it by store_event_insert_ahead() goes after the three reads.
 */
enum store_rc store_order_ask(struct store *st, const char *order_id);

/* How many events are stored (replay's progress). */
enum store_rc store_event_count(struct store *st, int64_t *n);

/*
 * `shiptrack copy-to URI` (store_copy.c): every table of st into the
 * database uri, which must be empty (it is migrated if new); then each
 * table's rows counted and the events' SHA-256 computed on both sides.
 * 0, or -1 with err (the target's password never in it).
 */
#define STORE_COPY_TABLES 16
struct store_copy_report {
	const char *table[STORE_COPY_TABLES];
	int64_t rows[STORE_COPY_TABLES];
	size_t ntables;
	char digest[65];		/* the events' SHA-256, hex */
	char target[512];		/* uri as messages show it */
};
int store_copy_to(struct store *st, const char *uri,
    struct store_copy_report *rep, char *err, size_t errsz);

#endif
