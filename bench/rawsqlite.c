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

struct row {
	char *body;
	size_t len;
	char id[96], type[64], order[96], created[48];
};

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Copy the string value of "key":"..." into out (no escapes in our bodies). */
static void
field(const char *body, const char *key, char *out, size_t outsz)
{
	char pat[64];
	const char *p, *e;
	size_t n;

	snprintf(pat, sizeof(pat), "\"%s\":\"", key);
	out[0] = '\0';
	if ((p = strstr(body, pat)) == NULL)
		return;
	p += strlen(pat);
	if ((e = strchr(p, '"')) == NULL)
		return;
	n = (size_t)(e - p) < outsz - 1 ? (size_t)(e - p) : outsz - 1;
	memcpy(out, p, n);
	out[n] = '\0';
}

static struct row *
load(const char *path, size_t *count)
{
	FILE *f = fopen(path, "r");
	struct row *rows = NULL;
	size_t n = 0, cap = 0, lcap = 0;
	char *line = NULL;
	ssize_t len;

	if (f == NULL) {
		perror(path);
		exit(2);
	}
	while ((len = getline(&line, &lcap, f)) > 0) {
		char *tab = strchr(line, '\t');
		struct row *r;

		if (tab == NULL)
			continue;
		if (line[len - 1] == '\n')
			line[--len] = '\0';
		if (n == cap) {
			cap = cap ? cap * 2 : 4096;
			if ((rows = realloc(rows, cap * sizeof(*rows))) == NULL)
				exit(2);
		}
		r = &rows[n++];
		r->body = strdup(tab + 1);
		r->len = strlen(r->body);
		field(r->body, "id", r->id, sizeof(r->id));
		field(r->body, "type", r->type, sizeof(r->type));
		field(r->body, "requestId", r->order, sizeof(r->order));
		field(r->body, "createdAt", r->created, sizeof(r->created));
	}
	free(line);
	fclose(f);
	*count = n;
	return rows;
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

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
	size_t nrows, done = 0, latcap = 1 << 16;
	double seconds, t0, t, *lat;
	char id[128], received[32];

	if (argc != 5 || (strcmp(argv[4], "full") != 0 && strcmp(argv[4], "normal") != 0)) {
		fprintf(stderr, "usage: rawsqlite DB EVENTS_FILE SECONDS full|normal\n");
		return 2;
	}
	seconds = atof(argv[3]);
	rows = load(argv[2], &nrows);
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
	if ((lat = malloc(latcap * sizeof(*lat))) == NULL)
		return 1;
	t0 = now_s();
	do {
		const struct row *r = &rows[done % nrows];
		double ts = now_s();
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
		t = now_s();
		if (done == latcap && (lat = realloc(lat, (latcap *= 2) * sizeof(*lat))) == NULL)
			return 1;
		lat[done++] = (t - ts) * 1000.0;
	} while (t - t0 < seconds);
	qsort(lat, done, sizeof(*lat), cmp_double);
	printf("rows=%zu seconds=%.3f rate=%.1f p50_ms=%.3f p99_ms=%.3f "
	    "p999_ms=%.3f max_ms=%.3f\n", done, t - t0, (double)done / (t - t0),
	    lat[done / 2], lat[done * 99 / 100], lat[done * 999 / 1000],
	    lat[done - 1]);
	sqlite3_finalize(ins);
	sqlite3_close(db);
	return 0;
}
