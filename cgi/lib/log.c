/*
 * log: see log.h.  Lines are assembled in one buffer and written with a
 * single write(2) so concurrent FastCGI workers sharing one error log do
 * not interleave within a line.
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

static const char *log_program = "shiptrack";
static enum log_level log_threshold = LL_INFO;

static const char *const level_names[] = {
	[LL_ERROR] = "error", [LL_WARN] = "warning",
	[LL_INFO] = "info", [LL_DEBUG] = "debug",
};

void
log_init(const char *program, enum log_level level)
{
	log_program = program;
	log_threshold = level;
}

void
log_set_level(enum log_level level)
{
	log_threshold = level;
}

bool
log_enabled(enum log_level level)
{
	return level <= log_threshold;
}

int
log_parse_level(const char *name, enum log_level *out)
{
	for (size_t i = 0; i < sizeof(level_names) / sizeof(level_names[0]); i++)
		if (strcasecmp(name, level_names[i]) == 0) {
			*out = (enum log_level)i;
			return 0;
		}
	if (strcasecmp(name, "warn") == 0) {
		*out = LL_WARN;
		return 0;
	}
	return -1;
}

void
log_escape(char *dst, size_t dstsz, const char *src)
{
	static const char hex[] = "0123456789abcdef";
	size_t o = 0;

	if (dstsz == 0)
		return;
	for (; *src != '\0'; src++) {
		unsigned char c = (unsigned char)*src;
		char esc[5];
		size_t n;

		if (c == '\n')
			n = 2, memcpy(esc, "\\n", 2);
		else if (c == '\r')
			n = 2, memcpy(esc, "\\r", 2);
		else if (c == '\t')
			n = 2, memcpy(esc, "\\t", 2);
		else if (c == '\\')
			n = 2, memcpy(esc, "\\\\", 2);
		else if (c < 0x20 || c == 0x7f) {
			esc[0] = '\\', esc[1] = 'x';
			esc[2] = hex[c >> 4], esc[3] = hex[c & 15];
			n = 4;
		} else
			n = 1, esc[0] = (char)c;
		if (o + n >= dstsz)
			break;
		memcpy(dst + o, esc, n);
		o += n;
	}
	dst[o] = '\0';
}

void
log_msg(enum log_level level, const char *fmt, ...)
{
	char raw[2048], esc[4096], line[4352], stamp[32];
	struct timespec ts;
	struct tm tm;
	va_list ap;
	int n;

	if (level > log_threshold)
		return;
	va_start(ap, fmt);
	vsnprintf(raw, sizeof(raw), fmt, ap);
	va_end(ap);
	log_escape(esc, sizeof(esc), raw);

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%SZ", &tm);
	n = snprintf(line, sizeof(line), "%s %s[%ld] %s: %s\n", stamp,
	    log_program, (long)getpid(), level_names[level], esc);
	if (n < 0)
		return;
	if ((size_t)n >= sizeof(line))
		n = (int)sizeof(line) - 1, line[n - 1] = '\n';
	/* Nothing useful can be done if stderr is gone. */
	if (write(STDERR_FILENO, line, (size_t)n) < 0)
		return;
}
