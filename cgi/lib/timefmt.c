/*
 * timefmt: see timefmt.h.  A hand-written parser because strptime is
 * locale- and libc-dependent and silently accepts trailing junk; this one
 * accepts exactly:  YYYY-MM-DD [ ("T"|" ") HH:MM[:SS[.f{1,9}]] [Z|z|+hh:mm|-hh:mm|+hhmm|+hh] ].
 */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "timefmt.h"

static int
digits(const char **p, int n, int *out)
{
	int v = 0;

	for (int i = 0; i < n; i++) {
		char c = (*p)[i];
		if (c < '0' || c > '9')
			return -1;
		v = v * 10 + (c - '0');
	}
	*p += n;
	*out = v;
	return 0;
}

/* Days from 1970-01-01 to y-m-d in the proleptic Gregorian calendar. */
static int64_t
days_from_civil(int y, int m, int d)
{
	int64_t era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

static int
days_in_month(int y, int m)
{
	static const int dm[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;

	return m == 2 && leap ? 29 : dm[m - 1];
}

static int
parse_offset(const char **p, int *offset_min)
{
	int sign, hh, mm = 0;

	if (**p == 'Z' || **p == 'z') {
		(*p)++;
		*offset_min = 0;
		return 0;
	}
	sign = **p == '-' ? -1 : 1;
	(*p)++;
	if (digits(p, 2, &hh) < 0 || hh > 23)
		return -1;
	/* "+hh", "+hhmm" or "+hh:mm": a colon must be followed by minutes. */
	if (**p == ':') {
		(*p)++;
		if (digits(p, 2, &mm) < 0)
			return -1;
	} else if (**p != '\0' && digits(p, 2, &mm) < 0)
		return -1;
	if (mm > 59)
		return -1;
	*offset_min = sign * (hh * 60 + mm);
	return 0;
}

static int
parse_clock(const char **p, int *hh, int *mi, int *ss, int *ms)
{
	*ss = 0, *ms = 0;
	if (digits(p, 2, hh) < 0 || **p != ':')
		return -1;
	(*p)++;
	if (digits(p, 2, mi) < 0)
		return -1;
	if (**p == ':') {
		(*p)++;
		if (digits(p, 2, ss) < 0)
			return -1;
		if (**p == '.' || **p == ',') {
			int n = 0, scale = 100;
			(*p)++;
			while (**p >= '0' && **p <= '9' && n < 9) {
				*ms += (**p - '0') * scale;
				scale /= 10;
				(*p)++, n++;
			}
			if (n == 0)
				return -1;
		}
	}
	/* 60 is accepted for a leap second and folded into the next minute. */
	if (*hh > 23 || *mi > 59 || *ss > 60)
		return -1;
	return 0;
}

int
timefmt_parse(const char *s, struct timeval_iso *out)
{
	const char *p = s;
	int y, mo, d, hh = 0, mi = 0, ss = 0, ms = 0, off = 0;

	memset(out, 0, sizeof(*out));
	if (s == NULL || digits(&p, 4, &y) < 0 || *p++ != '-' ||
	    digits(&p, 2, &mo) < 0 || *p++ != '-' || digits(&p, 2, &d) < 0)
		return -1;
	if (mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, mo))
		return -1;
	if (*p == 'T' || *p == 't' || *p == ' ') {
		p++;
		if (parse_clock(&p, &hh, &mi, &ss, &ms) < 0)
			return -1;
		out->has_time = true;
		if (*p != '\0') {
			if (*p != 'Z' && *p != 'z' && *p != '+' && *p != '-')
				return -1;
			if (parse_offset(&p, &off) < 0)
				return -1;
			out->has_offset = true;
		}
	}
	if (*p != '\0')
		return -1;
	out->ms = ((days_from_civil(y, mo, d) * 86400 + hh * 3600 + mi * 60 +
	    ss - (int64_t)off * 60) * 1000) + ms;
	return 0;
}

/* v (>= 0) as exactly width decimal digits, zero-padded. */
static void
put_digits(char *out, int v, int width)
{
	for (int i = width - 1; i >= 0; i--, v /= 10)
		out[i] = (char)('0' + v % 10);
}

void
timefmt_iso_utc(int64_t ms, char out[TIMEFMT_ISO_LEN])
{
	int64_t secs = ms >= 0 ? ms / 1000 : (ms - 999) / 1000;
	int frac = (int)(ms - secs * 1000);
	time_t t = (time_t)secs;
	struct tm tm;
	size_t n;

	gmtime_r(&t, &tm);
	if (tm.tm_year + 1900 >= 0 && tm.tm_year + 1900 <= 9999) {
		/*
		 * The common case by hand: strftime and snprintf cost ten times
		 * gmtime_r, and a view formats one time per checkpoint.
		 */
		put_digits(out, tm.tm_year + 1900, 4);
		out[4] = '-';
		put_digits(out + 5, tm.tm_mon + 1, 2);
		out[7] = '-';
		put_digits(out + 8, tm.tm_mday, 2);
		out[10] = 'T';
		put_digits(out + 11, tm.tm_hour, 2);
		out[13] = ':';
		put_digits(out + 14, tm.tm_min, 2);
		out[16] = ':';
		put_digits(out + 17, tm.tm_sec, 2);
		n = 19;
	} else
		n = strftime(out, TIMEFMT_ISO_LEN, "%Y-%m-%dT%H:%M:%S", &tm);
	if (frac != 0) {
		out[n] = '.';
		put_digits(out + n + 1, frac, 3);
		n += 4;
	}
	out[n] = 'Z';
	out[n + 1] = '\0';
}

int64_t
timefmt_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t
timefmt_latest_ms(const struct timeval_iso *t)
{
	const int64_t hour = 3600 * 1000;

	if (!t->has_time)
		return t->ms + 36 * hour;
	return t->has_offset ? t->ms : t->ms + 12 * hour;
}
