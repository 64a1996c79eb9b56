/*
 * bench/rawsqlite: the ceiling for durable webhook storage on this disk.
 *
 * One process, one connection, no HTTP: insert the benchmark's event rows
 * (the same ~1.5 KB bodies, into the `events` table of a migrated
 * shiptrack database, with its UNIQUE id and its index) one transaction
 * per row, BEGIN IMMEDIATE / INSERT / COMMIT, WAL, at the durability
 * asked for.  Fields are cut out of the body with strstr: this measures
 * commits, not JSON parsing.
 *
 * usage: rawsqlite DB EVENTS_FILE SECONDS full|normal
 * prints: rows=N seconds=S rate=R p50_ms=A p99_ms=B p999_ms=C max_ms=D
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sqlite3.h>

#include "rawrows.h"

static void
exec(sqlite3 *db, const char *sql)
{
	char *msg = NULL;

	if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK) {
		fprintf(stderr, "%s: %s\n", sql, msg ? msg : "?");
		exit(1);
	}
}

int
main(int argc, char **argv)
{
	sqlite3 *db;
	sqlite3_stmt *ins;
	struct row *rows;
	struct latencies lat = { 0 };
	size_t nrows, done = 0;
	double seconds, t0, t;
	char id[128], received[32];

	if (argc != 5 || (strcmp(argv[4], "full") != 0 && strcmp(argv[4], "normal") != 0)) {
		fprintf(stderr, "usage: rawsqlite DB EVENTS_FILE SECONDS full|normal\n");
		return 2;
	}
	seconds = atof(argv[3]);
	rows = rawrows_load(argv[2], &nrows);
	if (nrows == 0) {
		fprintf(stderr, "no events in %s\n", argv[2]);
		return 2;
	}
	if (sqlite3_open(argv[1], &db) != SQLITE_OK) {
		fprintf(stderr, "open %s: %s\n", argv[1], sqlite3_errmsg(db));
		return 1;
	}
	exec(db, "PRAGMA journal_mode = WAL");
	exec(db, strcmp(argv[4], "full") == 0 ? "PRAGMA synchronous = FULL" :
	    "PRAGMA synchronous = NORMAL");
	if (sqlite3_prepare_v2(db,
	    "INSERT INTO events(id, scheme, type, order_id, created_at, created_ms,"
	    " marketplace, received_at, body) VALUES (?,?,?,?,?,?,?,?,?)"
	    " ON CONFLICT(id) DO NOTHING", -1, &ins, NULL) != SQLITE_OK) {
		fprintf(stderr, "prepare: %s\n", sqlite3_errmsg(db));
		return 1;
	}
	t0 = rawrows_now_s();
	do {
		const struct row *r = &rows[done % nrows];
		double ts = rawrows_now_s();
		time_t wall = time(NULL);
		struct tm tm;

		/* Past the end of the file: new ids, so every commit writes. */
		snprintf(id, sizeof(id), "%s#%zu", r->id, done / nrows);
		gmtime_r(&wall, &tm);
		strftime(received, sizeof(received), "%Y-%m-%dT%H:%M:%SZ", &tm);
		exec(db, "BEGIN IMMEDIATE");
		sqlite3_bind_text(ins, 1, id, -1, SQLITE_STATIC);
		sqlite3_bind_text(ins, 2, "rye1", -1, SQLITE_STATIC);
		sqlite3_bind_text(ins, 3, r->type, -1, SQLITE_STATIC);
		sqlite3_bind_text(ins, 4, r->order, -1, SQLITE_STATIC);
		sqlite3_bind_text(ins, 5, r->created, -1, SQLITE_STATIC);
		sqlite3_bind_int64(ins, 6, (sqlite3_int64)done);
		sqlite3_bind_text(ins, 7, "shopify", -1, SQLITE_STATIC);
		sqlite3_bind_text(ins, 8, received, -1, SQLITE_STATIC);
		sqlite3_bind_blob(ins, 9, r->body, (int)r->len, SQLITE_STATIC);
		if (sqlite3_step(ins) != SQLITE_DONE) {
			fprintf(stderr, "insert: %s\n", sqlite3_errmsg(db));
			return 1;
		}
		sqlite3_reset(ins);
		exec(db, "COMMIT");
		t = rawrows_now_s();
		latencies_add(&lat, (t - ts) * 1000.0);
		done++;
	} while (t - t0 < seconds);
	latencies_print(&lat, t - t0);
	putchar('\n');
	sqlite3_finalize(ins);
	sqlite3_close(db);
	rawrows_free(rows, nrows);
	return 0;
}
