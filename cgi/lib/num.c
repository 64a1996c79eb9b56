/* num: see num.h. */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>

#include "num.h"

int
num_parse_long(const char *s, long min, long max, long *out)
{
	char *end;
	long v;

	/* strtol would skip blanks and accept "+5" or "-0": we do not. */
	if (s == NULL || !(isdigit((unsigned char)*s) || (*s == '-' && min < 0)))
		return -1;
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno == ERANGE || end == s || *end != '\0' || v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

int64_t
num_digits(const char *v, size_t len, size_t *i, int64_t max)
{
	int64_t n = 0;
	size_t start = *i;

	for (; *i < len && v[*i] >= '0' && v[*i] <= '9'; (*i)++)
		n = n > (max - (v[*i] - '0')) / 10 ? max : n * 10 + (v[*i] - '0');
	return *i > start ? n : -1;
}

int64_t
num_whole_digits(const char *v, size_t len, int64_t max)
{
	size_t i = 0;
	int64_t n = num_digits(v, len, &i, max);

	return i == len ? n : -1;
}
