/* promtext: see promtext.h. */
#include "config.h"

#include <math.h>	/* isnan, isinf: macros, no libm */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "promtext.h"

static bool
name_char(char c, bool first, bool colon)
{
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_')
		return true;
	if (c == ':')
		return colon;
	return !first && c >= '0' && c <= '9';
}

static bool
name_ok(const char *name, bool colon)
{
	if (name == NULL || *name == '\0')
		return false;
	for (const char *p = name; *p != '\0'; p++)
		if (!name_char(*p, p == name, colon))
			return false;
	return true;
}

bool
promtext_name_ok(const char *name)
{
	return name_ok(name, true);
}

void
promtext_number(double v, char *buf, size_t bufsz)
{
	if (isnan(v)) {
		snprintf(buf, bufsz, "NaN");
		return;
	}
	if (isinf(v)) {
		snprintf(buf, bufsz, v > 0 ? "+Inf" : "-Inf");
		return;
	}
	/* Whole numbers as integers; otherwise the shortest exact decimal. */
	if (v > -9007199254740992.0 && v < 9007199254740992.0 &&
	    v == (double)(long long)v) {
		snprintf(buf, bufsz, "%.0f", v);
		return;
	}
	for (int prec = 6; prec <= 17; prec++) {
		snprintf(buf, bufsz, "%.*g", prec, v);
		if (strtod(buf, NULL) == v)
			return;
	}
}

int
promtext_label(char *buf, size_t bufsz, const char *name, const char *value)
{
	size_t len = strlen(buf), o;

	if (!name_ok(name, false) || strncmp(name, "__", 2) == 0)
		return -1;
	o = len;
	/* ,name=" then the value (each byte at most 2) then " */
	if (o + 1 + strlen(name) + 2 + 2 * strlen(value) + 2 > bufsz)
		return -1;
	if (o > 0)
		buf[o++] = ',';
	o += (size_t)sprintf(buf + o, "%s=\"", name);
	for (const char *p = value; *p != '\0'; p++) {
		if (*p == '\\' || *p == '"' || *p == '\n') {
			buf[o++] = '\\';
			buf[o++] = *p == '\n' ? 'n' : *p;
		} else
			buf[o++] = *p;
	}
	buf[o++] = '"';
	buf[o] = '\0';
	return 0;
}

int
promtext_family(struct buf *b, const char *name, const char *type,
    const char *help)
{
	if (!promtext_name_ok(name) || buf_printf(b, "# HELP %s ", name) < 0)
		return -1;
	for (const char *p = help; *p != '\0'; p++) {
		int rc = *p == '\\' ? buf_append(b, "\\\\", 2) :
		    *p == '\n' ? buf_append(b, "\\n", 2) : buf_append(b, p, 1);
		if (rc < 0)
			return -1;
	}
	return buf_printf(b, "\n# TYPE %s %s\n", name, type);
}

int
promtext_sample(struct buf *b, const char *name, const char *labels, double v)
{
	char num[PROMTEXT_NUMBER_LEN];

	if (!promtext_name_ok(name))
		return -1;
	promtext_number(v, num, sizeof(num));
	if (labels != NULL && *labels != '\0')
		return buf_printf(b, "%s{%s} %s\n", name, labels, num);
	return buf_printf(b, "%s %s\n", name, num);
}
