/*
 * bench/rawpg: the ceiling for durable webhook storage on PostgreSQL.
 *
 * The twin of bench/rawsqlite: one process, one connection, no HTTP:
 * insert the benchmark's event rows (the same ~1.5 KB bodies, into the
 * `events` table of a database migrated with sql/pg/, with its UNIQUE id
 * and its index) one transaction per row, BEGIN / INSERT / COMMIT, at the
 * durability asked for: full is synchronous_commit = on (COMMIT returns
 * once the server has flushed its log), normal is off (it returns before:
 * a crash of the server may lose the last commits, never corrupt them).
 * One statement prepared once, parameters as shiptrack's driver sends
 * them: text as text, the integer and the body binary.  Fields are cut
 * out of the body with strstr, as rawsqlite does: this measures commits,
 * not JSON parsing.
 *
 * usage: rawpg URI EVENTS_FILE SECONDS full|normal
 * prints: rows=N seconds=S rate=R p50_ms=A p99_ms=B p999_ms=C max_ms=D
 *         synchronous_commit=on|off (as the server reports it in effect)
 * The URI may hold a password: it is never printed (libpq's messages do
 * not repeat it).
 */
#include "config.h"

#include <endian.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libpq-fe.h>

#include "rawrows.h"

#define INSERT_SQL \
	"INSERT INTO events(id, scheme, type, order_id, created_at," \
	" created_ms, marketplace, received_at, body)" \
	" VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9) ON CONFLICT (id) DO NOTHING"

/* res, which must have status want: otherwise say why and exit. */
static PGresult *
expect(PGconn *pg, PGresult *res, ExecStatusType want, const char *what)
{
	if (PQresultStatus(res) != want) {
		fprintf(stderr, "%s: %s", what, PQerrorMessage(pg));
		PQclear(res);
		PQfinish(pg);
		exit(1);
	}
	return res;
}

static void
exec(PGconn *pg, const char *sql)
{
	PQclear(expect(pg, PQexec(pg, sql), PGRES_COMMAND_OK, sql));
}

/* Connected, at the durability asked for, the insert prepared. */
static PGconn *
open_db(const char *uri, int full, char *sync, size_t syncsz)
{
	PGconn *pg = PQconnectdb(uri);
	PGresult *res;

	if (PQstatus(pg) != CONNECTION_OK) {
		fprintf(stderr, "connect: %s", PQerrorMessage(pg));
		PQfinish(pg);
		exit(1);
	}
	exec(pg, full ? "SET synchronous_commit = on" :
	    "SET synchronous_commit = off");
	res = expect(pg, PQexec(pg, "SHOW synchronous_commit"),
	    PGRES_TUPLES_OK, "SHOW");
	snprintf(sync, syncsz, "%s", PQgetvalue(res, 0, 0));
	PQclear(res);
	res = PQprepare(pg, "ins", INSERT_SQL, 9, NULL);
	PQclear(expect(pg, res, PGRES_COMMAND_OK, "prepare"));
	return pg;
}

/* One row in a transaction of its own: BEGIN, INSERT, COMMIT. */
static void
insert(PGconn *pg, const struct row *r, const char *id, int64_t n)
{
	char received[32];
	time_t wall = time(NULL);
	struct tm tm;
	uint64_t ms = htobe64((uint64_t)n);
	const char *v[9] = { id, "rye1", r->type, r->order, r->created,
	    (const char *)&ms, "shopify", received, r->body };
	int len[9] = { 0, 0, 0, 0, 0, (int)sizeof(ms), 0, 0, (int)r->len };
	int fmt[9] = { 0, 0, 0, 0, 0, 1, 0, 0, 1 };
	PGresult *res;

	gmtime_r(&wall, &tm);
	strftime(received, sizeof(received), "%Y-%m-%dT%H:%M:%SZ", &tm);
	exec(pg, "BEGIN");
	res = PQexecPrepared(pg, "ins", 9, v, len, fmt, 0);
	expect(pg, res, PGRES_COMMAND_OK, "insert");
	if (strcmp(PQcmdTuples(res), "1") != 0) {
		fprintf(stderr, "insert: %s was there already"
		    " (use a new database)\n", id);
		exit(1);
	}
	PQclear(res);
	exec(pg, "COMMIT");
}

int
main(int argc, char **argv)
{
	PGconn *pg;
	struct row *rows;
	struct latencies lat = { 0 };
	size_t nrows, done = 0;
	double seconds, t0, t;
	char id[128], sync[16];

	if (argc != 5 || (strcmp(argv[4], "full") != 0 &&
	    strcmp(argv[4], "normal") != 0)) {
		fprintf(stderr,
		    "usage: rawpg URI EVENTS_FILE SECONDS full|normal\n");
		return 2;
	}
	seconds = atof(argv[3]);
	rows = rawrows_load(argv[2], &nrows);
	if (nrows == 0) {
		fprintf(stderr, "no events in %s\n", argv[2]);
		return 2;
	}
	pg = open_db(argv[1], strcmp(argv[4], "full") == 0, sync, sizeof(sync));
	t0 = rawrows_now_s();
	do {
		const struct row *r = &rows[done % nrows];
		double ts = rawrows_now_s();

		/* Past the end of the file: new ids, so every commit writes. */
		snprintf(id, sizeof(id), "%s#%zu", r->id, done / nrows);
		insert(pg, r, id, (int64_t)done);
		t = rawrows_now_s();
		latencies_add(&lat, (t - ts) * 1000.0);
		done++;
	} while (t - t0 < seconds);
	latencies_print(&lat, t - t0);
	printf(" synchronous_commit=%s\n", sync);
	PQfinish(pg);
	rawrows_free(rows, nrows);
	return 0;
}
