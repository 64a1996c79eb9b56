/*
 * rawrows: see rawrows.h.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <time.h>

#include "rawrows.h"

double
rawrows_now_s(void)
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

static void
fill(struct row *r, const char *body)
{
	if ((r->body = strdup(body)) == NULL)
		exit(2);
	r->len = strlen(r->body);
	field(r->body, "id", r->id, sizeof(r->id));
	field(r->body, "type", r->type, sizeof(r->type));
	field(r->body, "requestId", r->order, sizeof(r->order));
	field(r->body, "createdAt", r->created, sizeof(r->created));
}

struct row *
rawrows_load(const char *path, size_t *count)
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

		if (tab == NULL)
			continue;
		if (line[len - 1] == '\n')
			line[--len] = '\0';
		if (n == cap) {
			cap = cap ? cap * 2 : 4096;
			if ((rows = realloc(rows, cap * sizeof(*rows))) == NULL)
				exit(2);
		}
		fill(&rows[n++], tab + 1);
	}
	free(line);
	fclose(f);
	*count = n;
	return rows;
}

void
rawrows_free(struct row *rows, size_t count)
{
	for (size_t i = 0; i < count; i++)
		free(rows[i].body);
	free(rows);
}

void
latencies_add(struct latencies *l, double ms)
{
	if (l->n == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 1 << 16;
		if ((l->ms = realloc(l->ms, l->cap * sizeof(*l->ms))) == NULL)
			exit(1);
	}
	l->ms[l->n++] = ms;
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

void
latencies_print(struct latencies *l, double seconds)
{
	size_t n = l->n;

	if (n == 0) {
		printf("rows=0 seconds=%.3f", seconds);
		return;
	}
	qsort(l->ms, n, sizeof(*l->ms), cmp_double);
	printf("rows=%zu seconds=%.3f rate=%.1f p50_ms=%.3f p99_ms=%.3f "
	    "p999_ms=%.3f max_ms=%.3f", n, seconds, (double)n / seconds,
	    l->ms[n / 2], l->ms[n * 99 / 100], l->ms[n * 999 / 1000],
	    l->ms[n - 1]);
	free(l->ms);
	l->ms = NULL;
	l->n = l->cap = 0;
}
