/*
 * link: the shopper's tracking-page URL for an order, as `shiptrack link`
 * prints it and notifications carry it.
 *
 *   <base>[/]?order=<percent-encoded id>&key=<lookup key>
 *
 * A base ending in "/" or ".html" takes the query directly; any other
 * base gets a "/" first.  The id is percent-encoded except for RFC 3986
 * unreserved characters, so no id can break out of its parameter.  Pure:
 * no I/O; the key comes from sig_lookup_key().
 */
#ifndef SHIPTRACK_LINK_H
#define SHIPTRACK_LINK_H

#include <stddef.h>

#define LINK_MAX 4096

/* 0 with the URL in out, or -1 if it does not fit in outsz bytes. */
int link_shopper_url(const char *base, const char *lookup_secret,
    const char *order_id, char *out, size_t outsz);

#endif
