/*
 * store_int.h: the inside of the store room, shared by its files (store.c
 * and the files of each concern) and the checkpointer (which opens a
 * connection like a handle's).  Nothing else includes this: the rest of
 * the program sees store.h and the concern headers.
 *
 * Statements: every one the store runs has a name in the one enum below,
 * grouped by the file that holds its SQL, and a prepared slot per handle
 * (st->stmt[name]): a name cannot stand for two statements, and a
 * statement is prepared once per handle, on first use.  Each file keeps
 * its SQL in a table of struct db_sql (db.h) and asks for a statement
 * with store_stmt(st, name, table, n).
 */
#ifndef SHIPTRACK_STORE_INT_H
#define SHIPTRACK_STORE_INT_H

#include "db.h"
#include "store.h"

enum stmt {
	/* store.c: the counts of `shiptrack check` */
	Q_COUNT_EVENTS_ALL, Q_COUNT_ORDERS, Q_COUNT_SHIPMENTS, Q_COUNT_CHECKPOINTS,
	Q_COUNT_REJECTED_ALL,
	/* store_events.c */
	Q_EVENT_INSERT, Q_REJECT_INSERT, Q_ORDER_EVENTS, Q_ALL_EVENTS,
	Q_EVENT_REDERIVE, Q_EVENT_ORDER_IDS, Q_RESET_DERIVED, Q_PRUNE_SHIPMENTS,
	Q_PRUNE_ORDERS,
	/* store_orders.c */
	Q_SHIP_UPSERT, Q_SHIP_PENDING, Q_ORDER_UPSERT, Q_ORDER_GET, Q_ORDER_STAGE,
	Q_ORDER_SHIPMENTS, Q_CHECKPOINTS, Q_ORDERS_LIST, Q_ORDERS_SCAN,
	Q_COUNT_STATUS, Q_COUNT_STAGE, Q_COUNT_EVENTS, Q_COUNT_REJECTED, Q_EXPORT,
	/* store_meta.c */
	Q_META_GET, Q_META_SET, Q_META_DELETE, Q_META_ALL,
	/* store_carrier.c */
	Q_CARRIER_DUE_REGISTER, Q_CARRIER_DUE_RECONCILE, Q_CARRIER_SHIPMENT,
	Q_CARRIER_ANY_REGISTERED, Q_CARRIER_MATCH, Q_CARRIER_NEWER,
	Q_CARRIER_SET_FIELDS, Q_CARRIER_SET_UPDATED, Q_CARRIER_IDENTITY_ADOPT,
	Q_CARRIER_IDENTITY_KEEP, Q_CARRIER_CHECKPOINT, Q_CARRIER_LAST_CHECKPOINT,
	Q_CARRIER_SET_LAST_CHECKPOINT, Q_CARRIER_FETCHED, Q_CARRIER_FAILURES,
	Q_CARRIER_FAIL, Q_CARRIER_REJECT,
	Q_CARRIER_STALL_GET, Q_CARRIER_STALL_BEGIN, Q_CARRIER_STALL_END,
	Q_CARRIER_STALL_DUE,
	/* store_outbox.c */
	Q_NOTIFY_INSERT, Q_NOTIFY_REAP_LOG, Q_NOTIFY_REAP, Q_NOTIFY_CLAIM, Q_NOTIFY_ATTEMPT,
	Q_NOTIFY_FINISH, Q_NOTIFY_ORDER_ROWS, Q_NOTIFY_ATTEMPTS, Q_NOTIFY_COUNTS,
	Q_NOTIFY_SUPERSEDED, Q_NOTIFY_DELAYED,
	/* store_metrics.c */
	Q_METRIC_ADD, Q_METRIC_EACH, Q_METRIC_FLUSHED_GET, Q_METRIC_FLUSHED_SET,
	/* store_facts.c */
	Q_FACTS_ROWS, Q_FACTS_PUT, Q_FACTS_ORDER_EXISTS,
	/* store_rye.c: the Rye sync's records */
	Q_RYE_SUBJECT_ORDER, Q_RYE_RESOLVE, Q_RYE_LATEST, Q_RYE_SUBJECT_RECORDS,
	Q_RYE_SHIP_BY_RYE, Q_RYE_SHIP_BY_NUMBER, Q_RYE_SHIP_INSERT, Q_RYE_SHIP_SET,
	Q_RYE_SHIP_DELETE, Q_RYE_CHECKPOINT, Q_RYE_RESET_SHIPMENTS,
	Q_RYE_RESET_CHECKPOINTS,
	/* store_rye_pass.c: the Rye pass's state */
	Q_RYE_TRIGGERS, Q_RYE_WANT_INTENT, Q_RYE_WANT_ORDER1, Q_RYE_PLACED_DUE,
	Q_RYE_WANT_SHIPMENT, Q_RYE_DUE_ORDERS, Q_RYE_DUE_SHIPMENTS, Q_RYE_SYNCED,
	Q_RYE_FAILURES, Q_RYE_FAILED, Q_RYE_SHIP_DONE, Q_RYE_SHIP_FAILURES,
	Q_RYE_SHIP_FAILED, Q_RYE_FINAL, Q_RYE_SYNC_GET, Q_RYE_SCHEMES,
	Q_RYE_MAX_SEQ,
	/* store_lookup.c: shopper lookups and their limits */
	Q_LOOKUP_CANDIDATES, Q_LOOKUP_PRUNE, Q_LOOKUP_COUNT, Q_LOOKUP_NTH,
	Q_LOOKUP_FAIL,
	Q__MAX
};

#define STORE_MAX_ASKED 4

struct store {
	struct db *db;
	struct db_stmt *stmt[Q__MAX];
	char *uri;			/* the connection string (never in messages) */
	enum durability durability;	/* as opened: another connection alike */
	long busy_ms;
	struct stale_rules stale;
	bool writing_events;		/* this transaction holds "events" shared */
	/* statements store_ask() sent ahead, each bound to asked_key */
	struct db_stmt *asked[STORE_MAX_ASKED];
	int nasked;
	char asked_key[256];
	/*
	 * store_event_insert_ahead(): the insert to go with the next ask, and
	 * the id of one sent so, its result not read yet (NULL: none).
	 */
	bool ahead_waiting;
	struct event_rec ahead_rec;
	char ahead_received_at[40];
	const char *ahead_sent_id;
};

/*
 * The statement q, prepared from its entry in table (n entries, looked up
 * by name) on first use and kept; NULL on error (logged).
 */
struct db_stmt *store_stmt(struct store *st, enum stmt q,
    const struct db_sql *table, size_t n);
#define STORE_SQL_N(table) (sizeof(table) / sizeof((table)[0]))
/* Before inserting an event (store.c: why); once per transaction. */
enum store_rc store_lock_writing_events(struct store *st);
/*
 * Send s with key as its one parameter ahead of its step (db_send()), so
 * that the reads of one order cost one round trip; store_bind_key() at
 * the step then keeps what was asked if the key is the same.  What is
 * asked is forgotten at every transaction boundary, and when another key
 * is asked, so a step never reads an answer from before a write.
 */
enum store_rc store_ask(struct store *st, struct db_stmt *s, const char *key);
void store_bind_key(struct store *st, struct db_stmt *s, const char *key);
/* store_order_ask()'s part in store_events.c. */
enum store_rc store_order_events_ask(struct store *st, const char *order_id);
/* Send the insert store_event_insert_ahead() left waiting, if any. */
enum store_rc store_event_send_ahead(struct store *st);
/* At a transaction boundary: inserts waiting or sent ahead are dropped. */
void store_event_forget_ahead(struct store *st);
/* Step a statement that returns no rows, then reset it; errors logged. */
enum store_rc store_exec_stmt(struct store *st, struct db_stmt *s, const char *what);
/*
 * The same for a write whose result nobody reads, inside a transaction:
 * on a server it waits for the next statement's round trip (db_run_later()).
 */
enum store_rc store_exec_later(struct store *st, struct db_stmt *s, const char *what);
/*
 * Bind s's parameters from the arguments, one letter of binds each: 't' a
 * const char * (NULL: SQL NULL), 'i' an int64_t (cast it: the arguments
 * are read as int64_t), then store_exec_stmt().  s NULL (a statement that
 * could not be prepared, already logged): STORE_ERROR.
 */
enum store_rc store_run(struct store *st, struct db_stmt *s, const char *what,
    const char *binds, ...);
/* The same, then store_exec_later(). */
enum store_rc store_run_later(struct store *st, struct db_stmt *s,
    const char *what, const char *binds, ...);

/*
 * Step a row-returning statement, calling fn(s, cb, arg) per row: 0 goes
 * on, > 0 stops (fine), < 0 fails.  Resets the statement.  *any (may be
 * NULL) tells whether there was a row.
 */
typedef int (*row_fn)(struct db_stmt *s, void *cb, void *arg);
enum store_rc store_each_row(struct store *st, struct db_stmt *s, row_fn fn,
    void *cb, void *arg, const char *what, bool *any);
/* A row_fn: the first column of the first row into *(int64_t *)arg. */
int store_int64_row(struct db_stmt *s, void *cb, void *arg);
/* A row_fn that only stops at the first row (store_each_row's *any tells). */
int store_exists_row(struct db_stmt *s, void *cb, void *arg);
/* Column i's text into dst ("" for NULL), cut to dstsz. */
void store_copy_col(char *dst, size_t dstsz, struct db_stmt *s, int i);
/* A row_fn: the first column of the first row into a struct store_text. */
struct store_text {
	char *buf;
	size_t sz;
};
int store_text_row(struct db_stmt *s, void *cb, void *arg);

/* --- the rules on stored columns (store_rules.c) --- */

/*
 * The columns of a shipment that order.h's rules read: SQL returns them as
 * stored and C decides (store_rules.c), so the tag as shown, staleness and
 * stalls are one implementation that no backend has to run inside the
 * database.  Select SHIP_RULE_COLS(p) (p: a table prefix such as "s.")
 * and read them with store_ship_cols(); SHIP_EST_COLS are the latest
 * bounds of the estimates the stall rule weighs, best first.
 */
#define SHIP_RULE_COLS(p) p "tag, " p "carrier_updated_ms, " p "rye_status, " \
	p "last_checkpoint_at, " p "first_key"
#define SHIP_RULE_NCOLS 5
#define SHIP_EST_COLS "est_carrier_latest, est_predicted_latest, rye_estimated_delivery"
#define SHIP_EST_NCOLS 3

struct ship_cols {
	const char *tag;		/* AfterShip's tag as stored */
	bool carrier_known;		/* carrier data stored (carrier_updated_ms) */
	const char *rye_status, *last_checkpoint_at, *first_key;
	const char *estimate[SHIP_EST_NCOLS];	/* NULL each when none */
};

/* SHIP_RULE_NCOLS columns from column first on (estimates: none). */
void store_ship_cols(struct db_stmt *s, int first, struct ship_cols *c);
/* SHIP_EST_NCOLS columns from column first on. */
void store_ship_estimates(struct db_stmt *s, int first, struct ship_cols *c);
/* The tag as shown, staged and judged (order.h, shipment_tag_of). */
enum carrier_tag store_ship_tag(const struct ship_cols *c);
/* shipment_is_stale() and shipment_is_stalled() by the store's rules. */
bool store_ship_stale(const struct store *st, const struct ship_cols *c,
    int64_t now_ms);
bool store_ship_stalled(const struct store *st, const struct ship_cols *c,
    int64_t now_ms);
/*
 * The wait before the next try after failures failures so far: base_ms,
 * doubled for each (at most 2^20 times), at most cap_ms.
 */
int64_t store_backoff_ms(int64_t failures, int64_t base_ms, int64_t cap_ms);
/* An order waiting for tracking (processing, placed) longer than Pending allows. */
bool store_order_waits_too_long(const struct store *st, const char *stage,
    int64_t created_ms, int64_t now_ms);

#endif
