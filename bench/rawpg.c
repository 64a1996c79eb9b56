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

#define INSERT_SQL \
	"INSERT INTO events(id, scheme, type, order_id, created_at," \
	" created_ms, marketplace, received_at, body)" \
	" VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9) ON CONFLICT (id) DO NOTHING"

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

/* gen-events.py's file, "<signature>\t<body>" a line, as rawsqlite reads it. */
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
		if ((r->body = strdup(tab + 1)) == NULL)
			exit(2);
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
	size_t nrows, done = 0, latcap = 1 << 16;
	double seconds, t0, t, *lat;
	char id[128], sync[16];

	if (argc != 5 || (strcmp(argv[4], "full") != 0 &&
	    strcmp(argv[4], "normal") != 0)) {
		fprintf(stderr,
		    "usage: rawpg URI EVENTS_FILE SECONDS full|normal\n");
		return 2;
	}
	seconds = atof(argv[3]);
	rows = load(argv[2], &nrows);
	if (nrows == 0) {
		fprintf(stderr, "no events in %s\n", argv[2]);
		return 2;
	}
	pg = open_db(argv[1], strcmp(argv[4], "full") == 0, sync, sizeof(sync));
	if ((lat = malloc(latcap * sizeof(*lat))) == NULL)
		return 1;
	t0 = now_s();
	do {
		const struct row *r = &rows[done % nrows];
		double ts = now_s();

		/* Past the end of the file: new ids, so every commit writes. */
		snprintf(id, sizeof(id), "%s#%zu", r->id, done / nrows);
		insert(pg, r, id, (int64_t)done);
		t = now_s();
		if (done == latcap) {
			latcap *= 2;
			if ((lat = realloc(lat, latcap * sizeof(*lat))) == NULL)
				return 1;
		}
		lat[done++] = (t - ts) * 1000.0;
	} while (t - t0 < seconds);
	qsort(lat, done, sizeof(*lat), cmp_double);
	printf("rows=%zu seconds=%.3f rate=%.1f p50_ms=%.3f p99_ms=%.3f "
	    "p999_ms=%.3f max_ms=%.3f synchronous_commit=%s\n", done, t - t0,
	    (double)done / (t - t0), lat[done / 2], lat[done * 99 / 100],
	    lat[done * 999 / 1000], lat[done - 1], sync);
	PQfinish(pg);
	for (size_t i = 0; i < nrows; i++)
		free(rows[i].body);
	free(rows);
	free(lat);
	return 0;
}
