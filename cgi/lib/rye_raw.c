/*
 * rye_raw: an answer's JSON with the raw text of its parts: the body
 * parsed by json-c as one value, and the byte ranges of the values at a
 * path of member names or of an array's elements, so that each object
 * Rye sent is stored byte for byte as Rye sent it (rye_record.h), not as
 * json-c would print it again.  Pure.
 */
#include "config.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "rye.h"
#include "rye_int.h"

/* --- JSON, and the raw text of each element of "data" --------------------- */

const char *
rye_skip_ws(const char *p, const char *end)
{
	while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
		p++;
	return p;
}

/*
 * One JSON value at p, parsed by json-c; *next: just after it.  -1 when bad.
 * strict: RFC 8259 only, and nothing but blanks after the value.
 */
static int
parse_at(const char *p, const char *end, bool strict, json_object **out,
    const char **next)
{
	struct json_tokener *tok;
	json_object *obj;
	int rc = -1;

	*out = NULL;
	if (p >= end || end - p > (ptrdiff_t)RYE_MAX_BODY ||
	    (tok = json_tokener_new_ex(RYE_MAX_DEPTH)) == NULL)
		return -1;
	json_tokener_set_flags(tok, JSON_TOKENER_VALIDATE_UTF8 |
	    (strict ? JSON_TOKENER_STRICT : 0));
	obj = json_tokener_parse_ex(tok, p, (int)(end - p));
	if (json_tokener_get_error(tok) == json_tokener_success) {
		*next = p + json_tokener_get_parse_end(tok);
		*out = obj;
		rc = 0;
	} else
		json_object_put(obj);
	json_tokener_free(tok);
	return rc;
}

/*
 * A part's value (an element, a member): what follows it, a ',' or a
 * closing bracket, is for the caller.  Lenient, so it is used only in a
 * body rye_parse_json() took.
 */
static int
value_at(const char *p, const char *end, json_object **out, const char **next)
{
	return parse_at(p, end, false, out, next);
}

/*
 * A whole body: one JSON value and nothing but blanks after it, strictly.
 * json-c otherwise skips comments, and one after a part's value would be
 * inside that part's raw text (value_slice() trims only blanks), which is
 * then no longer one JSON value (found by tests/fuzz/fuzz_rye).  JSON has
 * no comments: such a body is not Rye's answer.
 */
json_object *
rye_parse_json(const char *text, size_t len)
{
	json_object *obj;
	const char *next;

	if (len == 0 || len > RYE_MAX_BODY ||
	    parse_at(text, text + len, true, &obj, &next) < 0)
		return NULL;
	if (rye_skip_ws(next, text + len) != text + len) {
		json_object_put(obj);
		return NULL;
	}
	return obj;
}

/* The value at p, without the blanks json-c may have eaten after it. */
static struct rye_slice
value_slice(const char *p, const char *next)
{
	while (next > p && (next[-1] == ' ' || next[-1] == '\t' ||
	    next[-1] == '\n' || next[-1] == '\r'))
		next--;
	return (struct rye_slice){ p, (size_t)(next - p) };
}

/* The elements of the array at *pp ('['), up to max of them; -1 when bad. */
static long
array_slices(const char **pp, const char *end, struct rye_slice *sl, size_t max)
{
	const char *p = *pp + 1, *next;
	json_object *v;
	long n = 0;

	for (;;) {
		p = rye_skip_ws(p, end);
		if (p < end && *p == ']' && n == 0)
			break;
		if (value_at(p, end, &v, &next) < 0)
			return -1;
		json_object_put(v);
		if ((size_t)n < max)
			sl[n] = value_slice(p, next);
		n++;
		p = rye_skip_ws(next, end);
		if (p < end && *p == ',') {
			p++;
			continue;
		}
		if (p < end && *p == ']')
			break;
		return -1;
	}
	*pp = p + 1;
	return n;
}

/*
 * The raw text of the member key of the object at [p, end), exactly as it
 * is in the body: json-c builds trees and cannot point back into its
 * input, so walk the object here and let json-c read every value (its
 * parse end tells where a value stops).  The last member of that name
 * wins, as in json-c's tree.  0, or -1 when the walk fails or there is
 * no such member.
 */
static int
member_slice(const char *p, const char *end, const char *key, struct rye_slice *out)
{
	const char *next;
	json_object *k, *v;
	int found = -1;

	p = rye_skip_ws(p, end);
	if (p >= end || *p++ != '{')
		return -1;
	for (p = rye_skip_ws(p, end); p < end && *p != '}'; p = rye_skip_ws(p, end)) {
		bool is_key;

		if (value_at(p, end, &k, &p) < 0 || !json_object_is_type(k, json_type_string)) {
			json_object_put(k);
			return -1;
		}
		is_key = strcmp(json_object_get_string(k), key) == 0;
		json_object_put(k);
		p = rye_skip_ws(p, end);
		if (p >= end || *p++ != ':')
			return -1;
		p = rye_skip_ws(p, end);
		if (value_at(p, end, &v, &next) < 0)
			return -1;
		json_object_put(v);
		if (is_key) {
			*out = value_slice(p, next);
			found = 0;
		}
		p = rye_skip_ws(next, end);
		if (p < end && *p == ',')
			p++;
		else if (p >= end || *p != '}')
			return -1;
	}
	return found;
}

/* The value at a path of member names from the body's top; 0 or -1. */
int
rye_path_slice(const char *body, size_t len, const char *const *path, size_t depth,
    struct rye_slice *out)
{
	*out = (struct rye_slice){ body, len };
	for (size_t i = 0; i < depth; i++)
		if (member_slice(out->p, out->p + out->n, path[i], out) < 0)
			return -1;
	return 0;
}

/* The elements of the array at a path; their number, or -1. */
long
rye_path_array_slices(const char *body, size_t len, const char *const *path,
    size_t depth, struct rye_slice *sl, size_t max)
{
	struct rye_slice arr;
	const char *p;

	if (rye_path_slice(body, len, path, depth, &arr) < 0 || arr.n == 0 || *arr.p != '[')
		return -1;
	p = arr.p;
	return array_slices(&p, arr.p + arr.n, sl, max);
}

/* The top-level "data" array's elements (list answers). */
long
rye_raw_data_slices(const char *body, size_t len, struct rye_slice *sl, size_t max)
{
	static const char *const path[] = { "data" };

	return rye_path_array_slices(body, len, path, 1, sl, max);
}
