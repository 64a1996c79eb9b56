/*
 * apiclient: what the two API clients share, AfterShip's (carrier.h) and
 * Rye's (rye.h): the curl options every request carries, the header
 * list with the credential, a bounded sink for the answer, response
 * header lines split into name and value, and URL escaping.
 *
 * Every transfer is bounded the same way: http(s) only, no redirects
 * (a redirect could carry the credential elsewhere), no signals, the
 * answer read into a buf with a maximum (the client's CARRIER_MAX_BODY
 * or RYE_MAX_BODY), header values trimmed before anyone reads them.  The
 * credential goes only into a header line: never into a URL.
 */
#ifndef SHIPTRACK_APICLIENT_H
#define SHIPTRACK_APICLIENT_H

#include <stdbool.h>
#include <stddef.h>

#include <curl/curl.h>

#include "buf.h"

/* The options every request of either client carries (user agent, protocols, ...). */
void apiclient_easy_defaults(CURL *e);

/*
 * The header list: the credential's line as given, Accept: JSON, and for
 * a POST the JSON content type and no "Expect: 100-continue".  curl
 * copies the lines: the caller may wipe its own.  NULL when out of memory.
 */
struct curl_slist *apiclient_headers(const char *credential_line, bool post);

/* Where one transfer's answer goes. */
struct apiclient_sink {
	struct buf body;	/* at most its max; past it the transfer stops */
	bool too_large;		/* it stopped so */
	/*
	 * One header line as curl hands it over (with its CRLF); line NULL: a
	 * new status line began (after a 100 Continue), forget what came before.
	 */
	void (*header)(void *arg, const char *line, size_t len);
	void *arg;
};
/* Empty it for the next attempt (headers too). */
void apiclient_sink_reset(struct apiclient_sink *s);
/* Point e's body and header callbacks at s. */
void apiclient_sink_attach(CURL *e, struct apiclient_sink *s);

/* A response header line "Name: value", the value trimmed of blanks and CRLF. */
struct apiclient_header {
	const char *name, *value;
	size_t name_len, value_len;
};
/* false when the line has no colon (a status line, the blank end). */
bool apiclient_header_split(const char *line, size_t len, struct apiclient_header *h);
/* Is it this header (names compare without regard to case)? */
bool apiclient_header_is(const struct apiclient_header *h, const char *name);

/* RFC 3986 percent-encoding of everything but the unreserved characters. */
int apiclient_put_escaped(struct buf *out, const char *s);

#endif
