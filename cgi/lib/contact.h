/*
 * contact: the operator's change of an order's contact and lookup facts,
 * as a JSON body gives it (the API's PUT /v1/orders/{id}/contact).
 *
 * The body is an object of at least one of "email", "orderNumber",
 * "postalCode", "locale", each a string or null (null clears the
 * operator's value, so Rye's shows again).  Every value is checked as
 * the store wants it (store_facts.h: facts_value_ok; an address as
 * valid.h's valid_address) before anything is written; the first
 * key refused says why.  Pure: no I/O.
 */
#ifndef SHIPTRACK_CONTACT_H
#define SHIPTRACK_CONTACT_H

#include <json-c/json.h>

#include "store_facts.h"

enum contact_rc {
	CONTACT_OK,
	CONTACT_BAD_SHAPE,	/* not an object, unknown key, not a string */
	CONTACT_BAD_VALUE,	/* a value out of its bounds */
	CONTACT_BAD_EMAIL,	/* the e-mail is not a plain address */
};

/*
 * The change root asks for, into change (its values point into root);
 * CONTACT_OK, or why not in *why.
 */
enum contact_rc contact_change_parse(json_object *root,
    struct facts_change *change, const char **why);

#endif
