/*
 * urlpath: a request path's segments, each percent-decoded exactly once,
 * so that one segment can carry any order id ("a%2Fb" is "a/b").
 *
 * PATH_INFO cannot tell: CGI hands it over decoded (RFC 3875), so an
 * encoded "/" looks like a separator there, and an id holding "%" would
 * be decoded twice if decoded again; Apache with AllowEncodedSlashes
 * NoDecode decodes everything but "%2F", which makes "a%2Fb" ambiguous.
 * REQUEST_URI keeps the path as the client sent it.  So urlpath finds the
 * tail of REQUEST_URI's path that the web server turned into PATH_INFO
 * (decoding it in either server's way), splits that raw tail at its own
 * slashes and decodes each segment.  Where no tail matches (the server
 * resolved dot segments or merged slashes) PATH_INFO's own segments are
 * taken as they are, unless the client encoded a "/": then the raw path
 * after SCRIPT_NAME (the mount point), if it starts with it; else not
 * found, as routing on PATH_INFO could pick another order.  Without
 * REQUEST_URI (a hand-run CGI), PATH_INFO as it is.
 *
 * No segment may hold a control character or NUL, encoded or not.  Pure:
 * no I/O.
 */
#ifndef SHIPTRACK_URLPATH_H
#define SHIPTRACK_URLPATH_H

#include <stddef.h>

enum urlpath_rc {
	URLPATH_OK,
	URLPATH_NOT_FOUND,	/* too long, too many segments, cannot be routed */
	URLPATH_BAD,		/* malformed %-escape, or a control character */
};

/* The CGI variables it reads; any may be NULL. */
struct urlpath_vars {
	const char *request_uri, *script_name, *path_info;
};

/*
 * Split into at most maxseg non-empty segments, decoded into buf (bufsz
 * bytes); seg[i] point into buf.
 */
enum urlpath_rc urlpath_split(const struct urlpath_vars *v, char *buf,
    size_t bufsz, const char **seg, size_t maxseg, size_t *nseg);

#endif
