/* json: see json.h. */
#include "config.h"

#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "buf.h"
#include "json.h"
#include "text.h"

/*
 * Strict UTF-8 (RFC 3629): json-c's own check accepts overlong forms,
 * surrogates and code points above U+10FFFF, all of which could make two
 * different byte strings compare or display as the same id.
 */
static bool
utf8_valid(const unsigned char *s, size_t len)
{
	size_t i = 0;

	while (i < len) {
		unsigned char c = s[i];
		size_t n;
		uint32_t cp;

		if (c < 0x80) {
			i++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf)
			n = 1, cp = c & 0x1f;
		else if (c >= 0xe0 && c <= 0xef)
			n = 2, cp = c & 0x0f;
		else if (c >= 0xf0 && c <= 0xf4)
			n = 3, cp = c & 0x07;
		else
			return false;
		if (len - i <= n)
			return false;
		for (size_t k = 1; k <= n; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return false;
			cp = cp << 6 | (s[i + k] & 0x3f);
		}
		if ((n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) ||
		    cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return false;
		i += n + 1;
	}
	return true;
}

/*
 * Every number finite?  json-c reads NaN, Infinity and -Infinity even in
 * strict mode, though JSON has no such literals, and a number beyond a
 * double's range (1e999) as an infinity.  The recursion is bounded by the
 * tokener's depth limit.
 */
static bool
all_finite(json_object *o)
{
	switch (json_object_get_type(o)) {
	case json_type_double:
		return isfinite(json_object_get_double(o));
	case json_type_array:
		for (size_t i = 0; i < json_object_array_length(o); i++)
			if (!all_finite(json_object_array_get_idx(o, i)))
				return false;
		return true;
	case json_type_object: {
		json_object_object_foreach(o, key, v) {
			(void)key;
			if (!all_finite(v))
				return false;
		}
		return true;
	}
	default:
		return true;
	}
}

json_object *
json_parse_bounded(const char *text, size_t len, const char **why)
{
	struct json_tokener *tok;
	json_object *obj;
	const char *unsaid;

	if (why == NULL)
		why = &unsaid;
	*why = "body is not valid JSON";
	if (len > 0x7fffffff || !utf8_valid((const unsigned char *)text, len) ||
	    (tok = json_tokener_new_ex(JSON_MAX_DEPTH)) == NULL)
		return NULL;
	/* Not JSON_TOKENER_VALIDATE_UTF8: utf8_valid() above is stricter. */
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
	obj = json_tokener_parse_ex(tok, text, (int)len);
	/* Trailing bytes after the value, or a value cut short, are invalid. */
	if (obj != NULL && (json_tokener_get_error(tok) != json_tokener_success ||
	    json_tokener_get_parse_end(tok) != len)) {
		json_object_put(obj);
		obj = NULL;
	}
	json_tokener_free(tok);
	if (obj == NULL)
		return NULL;
	/*
	 * json-c decodes every lone surrogate to U+FFFD, so ids holding
	 * "\uD800" and "\uDC00" would read the same: only the text tells.
	 */
	if (text_json_lone_surrogate(text, len))
		*why = "a \\u escape is half a surrogate pair: not Unicode text";
	else if (!all_finite(obj))
		*why = "a number is NaN, Infinity or beyond a double's range";
	else
		return obj;
	json_object_put(obj);
	return NULL;
}

json_object *
json_get_obj(json_object *o, const char *key, json_type type)
{
	json_object *v;

	if (o == NULL || !json_object_object_get_ex(o, key, &v) ||
	    !json_object_is_type(v, type))
		return NULL;
	return v;
}

const char *
json_str_of(json_object *v, size_t max)
{
	const char *s;

	if (v == NULL || !json_object_is_type(v, json_type_string))
		return NULL;
	s = json_object_get_string(v);
	if (*s == '\0' || (size_t)json_object_get_string_len(v) > max ||
	    strlen(s) != (size_t)json_object_get_string_len(v))
		return NULL;	/* too long, or an embedded NUL */
	return s;
}

const char *
json_get_str(json_object *o, const char *key, size_t max)
{
	return json_str_of(json_get_obj(o, key, json_type_string), max);
}

const char *
json_get_token(json_object *o, const char *key, size_t max)
{
	const char *s = json_get_str(o, key, max);

	return s != NULL && text_printable(s) ? s : NULL;
}

/* A string's text, or NULL if an escaped NUL ("\u0000") would cut it short. */
static const char *
whole_string(json_object *v)
{
	const char *str = json_object_get_string(v);

	return strlen(str) == (size_t)json_object_get_string_len(v) ? str : NULL;
}

/*
 * An integer json-c may have clamped: beyond 64 bits it keeps INT64_MIN
 * or UINT64_MAX whatever the digits were, so its text is not the sender's.
 */
static bool
maybe_clamped(json_object *v)
{
	return json_object_get_int64(v) == INT64_MIN ||
	    json_object_get_uint64(v) == UINT64_MAX;
}

const char *
json_get_text(json_object *o, const char *key)
{
	json_object *v;

	if (o == NULL || !json_object_object_get_ex(o, key, &v))
		return NULL;
	switch (json_object_get_type(v)) {
	case json_type_string:
		return whole_string(v);
	case json_type_int:
		return maybe_clamped(v) ? NULL : json_object_get_string(v);
	default:
		return NULL;
	}
}

bool
json_get_key(json_object *o, const char *key, const char **out)
{
	json_object *v;

	*out = NULL;
	if (o == NULL || !json_object_object_get_ex(o, key, &v) ||
	    json_object_is_type(v, json_type_null))
		return true;
	if (json_object_is_type(v, json_type_string))
		*out = whole_string(v);
	return *out != NULL;
}

int
json_to_buf(json_object *o, struct buf *out)
{
	const char *s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
	    JSON_C_TO_STRING_NOSLASHESCAPE);

	buf_reset(out);
	return s != NULL && buf_append(out, s, strlen(s)) == 0 ? 0 : -1;
}
