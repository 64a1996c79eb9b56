/*
 * http_route: which entry of a program's route table a request names.
 *
 * The path is split into segments, each percent-decoded exactly once
 * (urlpath.h), so that an order id is one segment whatever it holds.  A
 * table entry has a pattern (literal segments, "*" for any one segment)
 * and a method; HEAD is answered wherever GET is, and the first entry
 * that matches wins.  A path that matches entries, none of them for its
 * method, is 405 with every method those entries have in Allow; a path
 * that matches none, 404.
 *
 * The table is the program's: its entries are its own struct whose first
 * member is a struct http_route, passed as base, count and entry size,
 * as bsearch(3) takes them.  Pure but for http_path_split(), which reads
 * the request's CGI variables.
 */
#ifndef SHIPTRACK_HTTP_ROUTE_H
#define SHIPTRACK_HTTP_ROUTE_H

#include <stddef.h>

#include "http.h"

#define HTTP_ROUTE_SEGMENTS 6
#define HTTP_SEGMENT_MAX 256	/* decoded bytes; a longer segment is 404 */
#define HTTP_PATH_MAX 2048
#define HTTP_ALLOW_MAX 64

struct http_route {
	const char *pattern[HTTP_ROUTE_SEGMENTS];	/* unused ones NULL */
	const char *method;
};

struct http_path {
	char buf[HTTP_PATH_MAX];
	const char *seg[HTTP_ROUTE_SEGMENTS];	/* into buf */
	size_t nseg;
};

/*
 * The request's path into p.  HTTP_ERR_NONE; HTTP_ERR_NOT_FOUND for a
 * path too long or that cannot be routed; HTTP_ERR_BAD_PARAMETER for a
 * malformed %-escape or a control character, with why.
 */
enum http_error http_path_split(struct http_req *req, struct http_path *p,
    const char **why);

struct http_match {
	const void *entry;		/* the table's entry, or NULL */
	char allow[HTTP_ALLOW_MAX];	/* "GET, PUT": what the path has */
};

/*
 * The entry of table (n entries of size bytes) for path and method:
 * HTTP_ERR_NONE with m->entry; HTTP_ERR_METHOD_NOT_ALLOWED with
 * m->allow; HTTP_ERR_NOT_FOUND.
 */
enum http_error http_route_find(const void *table, size_t n, size_t size,
    const struct http_path *path, const char *method, struct http_match *m);

/* Does the pattern's segment i take any value ("*")? */
bool http_route_wildcard(const struct http_route *r, size_t i);

#endif
