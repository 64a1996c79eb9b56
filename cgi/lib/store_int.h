/*
 * store_int.h: the inside of the store room, shared by its files
 * (store.c for events and orders, and the files that add statements for
 * other concerns, e.g. carrier data).  Nothing outside cgi/lib/store*.c
 * includes this: the rest of the program sees only store.h.
 *
 * Statement slots: each file of the room owns one range of the slot map
 * below and passes its SQL with the slot, so every statement is prepared
 * once per handle.  Each file asserts at compile time that its statements
 * end before the next range begins: a file that outgrows its range fails
 * the build instead of silently running another file's SQL.
 */
#ifndef SHIPTRACK_STORE_INT_H
#define SHIPTRACK_STORE_INT_H

#include <time.h>

#include <sqlite3.h>

#include "store.h"

enum store_slots {
	SLOTS_STORE = 0,	/* store.c: events, orders */
	SLOTS_CARRIER = 40,	/* store_carrier.c */
	SLOTS_NOTIFY = 72,	/* store_notify.c: the outbox */
	SLOTS_METRICS = 104,	/* store_metrics.c */
	SLOTS_FACTS = 136,	/* store_facts.c: buyer and lookup data */
	SLOTS_SYNC = 168,	/* the Rye sync's state */
	SLOTS_LOOKUP = 200,	/* shopper lookups and their limits */
	SLOTS_END = 232
};
#define STORE_MAX_STMTS SLOTS_END
/* In each file, after its statement enum: it fits its range. */
#define STORE_SLOTS_FIT(end, next) \
	_Static_assert((int)(end) <= (int)(next), "statement slots overflow into " #next)

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

struct store {
	sqlite3 *db;
	sqlite3_stmt *stmt[STORE_MAX_STMTS];
	long busy_ms;
	struct timespec busy_start;
	struct stale_rules stale;
	int wal_pages;		/* pages in the WAL after the last commit */
	int auto_pages;		/* PASSIVE checkpoint in COMMIT past this */
};

/* The prepared statement in slot, preparing sql on first use; NULL on error. */
sqlite3_stmt *store_stmt(struct store *st, int slot, const char *sql);
/* SQLite result code -> store_rc, logging anything unexpected. */
enum store_rc store_map_rc(struct store *st, int rc, const char *what);
/* Bind text or NULL. */
void store_bind_text(sqlite3_stmt *s, int i, const char *v);
/* Step a statement that returns no rows, then reset and clear it. */
enum store_rc store_exec_stmt(struct store *st, sqlite3_stmt *s, const char *what);
/* Run SQL text without parameters (transactions, pragmas, fixed DDL). */
enum store_rc store_exec_sql(struct store *st, const char *sql);
const char *store_col_text(sqlite3_stmt *s, int i);

/*
 * Step a row-returning statement, calling fn(s, cb, arg) per row: 0 goes
 * on, > 0 stops (fine), < 0 fails.  Resets the statement.  *any (may be
 * NULL) tells whether there was a row.
 */
typedef int (*row_fn)(sqlite3_stmt *s, void *cb, void *arg);
enum store_rc store_each_row(struct store *st, sqlite3_stmt *s, row_fn fn,
    void *cb, void *arg, const char *what, bool *any);

/* A row_fn: the first column of the first row into *(int64_t *)arg. */
int store_int64_row(sqlite3_stmt *s, void *cb, void *arg);

/* --- the rules on stored columns (store_rules.c) --- */

/* SHIP_RULE_NCOLS columns from column first on (estimates: none). */
void store_ship_cols(sqlite3_stmt *s, int first, struct ship_cols *c);
/* SHIP_EST_NCOLS columns from column first on. */
void store_ship_estimates(sqlite3_stmt *s, int first, struct ship_cols *c);
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
