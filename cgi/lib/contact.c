/*
 * contact: see contact.h.
 */
#include "config.h"

#include <string.h>

#include "contact.h"
#include "valid.h"

/* The value's error; NULL if it may be stored as fact f. */
static const char *
value_refused(enum fact f, const char *s, enum contact_rc *rc)
{
	*rc = f == FACT_EMAIL ? CONTACT_BAD_EMAIL : CONTACT_BAD_VALUE;
	if (f == FACT_EMAIL && !valid_address(s))
		return "not a plain e-mail address (one @, printable ASCII, no"
		    " spaces, angle brackets, quotes or commas)";
	if (f != FACT_EMAIL && !facts_value_ok(f, s))
		return f == FACT_LOCALE ?
		    "locale is a language tag such as de or pt-BR" :
		    "orderNumber (64 bytes) or postalCode (16 bytes) too long"
		    " or not printable";
	return NULL;
}

/* One key of the body into change; NULL, or why it is refused (*rc). */
static const char *
field_refused(const char *key, json_object *v, struct facts_change *change,
    enum contact_rc *rc)
{
	enum fact f;
	const char *s;

	for (f = 0; f < FACT__MAX; f++)
		if (f != FACT_COUNTRY && strcmp(key, fact_json_name(f)) == 0)
			break;
	*rc = CONTACT_BAD_SHAPE;
	if (f == FACT__MAX)
		return "unknown key (expected email, orderNumber, postalCode,"
		    " locale)";
	change->set[f] = true;
	if (v == NULL)
		return NULL;		/* null clears the operator's value */
	if (!json_object_is_type(v, json_type_string))
		return "each value is a string or null";
	s = json_object_get_string(v);
	if (strlen(s) != (size_t)json_object_get_string_len(v)) {
		*rc = f == FACT_EMAIL ? CONTACT_BAD_EMAIL : CONTACT_BAD_VALUE;
		return "a value holds a NUL byte";
	}
	change->v[f] = s;
	return value_refused(f, s, rc);
}

enum contact_rc
contact_change_parse(json_object *root, struct facts_change *change,
    const char **why)
{
	enum contact_rc rc = CONTACT_OK;

	*why = NULL;
	if (root == NULL || !json_object_is_type(root, json_type_object) ||
	    json_object_object_length(root) == 0) {
		*why = "expected an object with email, orderNumber, postalCode"
		    " or locale";
		return CONTACT_BAD_SHAPE;
	}
	json_object_object_foreach(root, key, v) {
		if ((*why = field_refused(key, v, change, &rc)) != NULL)
			return rc;
	}
	return CONTACT_OK;
}
