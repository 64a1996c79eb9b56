/*
 * rawrows: what bench/rawsqlite and bench/rawpg, the two raw ceilings,
 * share: the benchmark's events file (bench/gen-events.py: "ID<TAB>BODY"
 * per line) read into rows, with their fields cut out of the body with
 * strstr (these programs measure commits, not JSON parsing); a monotonic
 * clock; and the list of every commit's latency with the one line both
 * print.
 */
#ifndef SHIPTRACK_BENCH_RAWROWS_H
#define SHIPTRACK_BENCH_RAWROWS_H

#include <stddef.h>

struct row {
	char *body;
	size_t len;
	char id[96], type[64], order[96], created[48];
};

double rawrows_now_s(void);
/* Every row of the file (exits with 2 if it cannot be read). */
struct row *rawrows_load(const char *path, size_t *count);
void rawrows_free(struct row *rows, size_t count);

struct latencies {
	double *ms;
	size_t n, cap;
};

/* Exits with 1 when out of memory. */
void latencies_add(struct latencies *l, double ms);
/*
 * "rows=N seconds=S rate=R p50_ms=A p99_ms=B p999_ms=C max_ms=D" on
 * stdout, without the newline (sorts the list; frees it).
 */
void latencies_print(struct latencies *l, double seconds);

#endif
