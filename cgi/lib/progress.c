/* progress: see progress.h. */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

#include "progress.h"

static int64_t
mono_ms(void)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000;
}

void
progress_init(struct progress *p, bool wanted)
{
	p->tty = wanted && isatty(STDERR_FILENO);
	p->drawn = false;
	p->start_ms = mono_ms();
	p->last_ms = p->start_ms - PROGRESS_INTERVAL_MS;
}

void
progress_show(struct progress *p, const char *fmt, ...)
{
	int64_t now;
	va_list ap;

	if (!p->tty || (now = mono_ms()) - p->last_ms < PROGRESS_INTERVAL_MS)
		return;
	p->last_ms = now;
	fputs("\r\033[K", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fflush(stderr);
	p->drawn = true;
}

void
progress_end(struct progress *p)
{
	if (p->tty && p->drawn) {
		fputs("\r\033[K", stderr);
		fflush(stderr);
	}
	p->drawn = false;
}

double
progress_seconds(const struct progress *p)
{
	return (double)(mono_ms() - p->start_ms) / 1000.0;
}
