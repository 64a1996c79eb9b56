/* valid: see valid.h. */
#include "config.h"

#include <string.h>

#include "valid.h"

bool
valid_header_value(const char *s, size_t max)
{
	size_t n = 0;

	if (s == NULL || *s == '\0')
		return false;
	for (; *s != '\0'; s++, n++)
		if ((unsigned char)*s < 0x20 || (unsigned char)*s > 0x7e || n >= max)
			return false;
	return true;
}

bool
valid_order_id(const char *id)
{
	size_t n = 0;

	if (id == NULL || *id == '\0')
		return false;
	for (; *id != '\0'; id++, n++)
		if ((unsigned char)*id < 0x20 || *id == 0x7f || n >= VALID_ORDER_ID_MAX)
			return false;
	return true;
}

/* A dot-atom: non-empty, no leading, trailing or doubled dot. */
static bool
dot_atom_ok(const char *s, size_t len)
{
	if (len == 0 || s[0] == '.' || s[len - 1] == '.')
		return false;
	for (size_t i = 1; i < len; i++)
		if (s[i] == '.' && s[i - 1] == '.')
			return false;
	return true;
}

static bool
domain_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || c == '-' || c == '.';
}

bool
valid_address(const char *addr)
{
	const char *at;
	size_t len, local;

	/* Printable ASCII only: no blank, CR, LF, NUL tricks, no UTF-8. */
	if (!valid_header_value(addr, VALID_ADDR_MAX) ||
	    strpbrk(addr, " <>()[]\\,;:\"") != NULL)
		return false;
	if ((at = strchr(addr, '@')) == NULL || strchr(at + 1, '@') != NULL)
		return false;
	len = strlen(addr);
	local = (size_t)(at - addr);
	if (local > VALID_LOCAL_MAX || !dot_atom_ok(addr, local) ||
	    !dot_atom_ok(at + 1, len - local - 1))
		return false;
	for (const char *p = at + 1; *p != '\0'; p++)
		if (!domain_char(*p))
			return false;
	return true;
}
