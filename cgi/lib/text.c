/* text: see text.h. */
#include "config.h"

#include "text.h"

bool
text_printable(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return false;
	return true;
}

void
text_clean_copy(char *out, size_t outsz, const char *s, size_t len)
{
	size_t o = 0;

	for (size_t i = 0; i < len && o + 1 < outsz; i++)
		if ((unsigned char)s[i] >= 0x20 && s[i] != 0x7f)
			out[o++] = s[i];
	out[o] = '\0';
}

int
text_hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* The code unit of a "\uXXXX" escape starting at s[i], or -1 if none is. */
static long
u_escape(const char *s, size_t len, size_t i)
{
	long v = 0;

	if (i >= len || len - i < 6 || s[i] != '\\' || s[i + 1] != 'u')
		return -1;
	for (size_t k = 2; k < 6; k++) {
		int h = text_hexval(s[i + k]);
		if (h < 0)
			return -1;
		v = v << 4 | h;
	}
	return v;
}

bool
text_json_lone_surrogate(const char *s, size_t len)
{
	size_t i = 0;

	while (i < len) {
		long u, low;

		if (s[i] != '\\') {
			i++;
			continue;
		}
		/* Any other escape is two bytes: "\\\\uD800" is no escape of D800. */
		if ((u = u_escape(s, len, i)) < 0) {
			i += 2;
			continue;
		}
		if (u >= 0xdc00 && u <= 0xdfff)
			return true;		/* a low half first */
		if (u >= 0xd800 && u <= 0xdbff) {
			low = u_escape(s, len, i + 6);
			if (low < 0xdc00 || low > 0xdfff)
				return true;	/* a high half alone */
			i += 12;
			continue;
		}
		i += 6;
	}
	return false;
}
