/*
 * http_route: see http_route.h.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "http_route.h"
#include "urlpath.h"

/*
 * Split through urlpath (from REQUEST_URI where the web server's
 * PATH_INFO would have lost an encoded "/"), then bound each segment.
 */
enum http_error
http_path_split(struct http_req *req, struct http_path *p, const char **why)
{
	struct urlpath_vars v = { http_param(req, "REQUEST_URI"),
	    http_param(req, "SCRIPT_NAME"), http_path(req) };
	enum urlpath_rc rc = urlpath_split(&v, p->buf, sizeof(p->buf), p->seg,
	    HTTP_ROUTE_SEGMENTS, &p->nseg);

	for (size_t i = 0; rc == URLPATH_OK && i < p->nseg; i++)
		if (strlen(p->seg[i]) > HTTP_SEGMENT_MAX)
			rc = URLPATH_NOT_FOUND;
	*why = NULL;
	if (rc == URLPATH_BAD) {
		*why = "the path has a malformed %-escape or a control"
		    " character";
		return HTTP_ERR_BAD_PARAMETER;
	}
	return rc == URLPATH_OK ? HTTP_ERR_NONE : HTTP_ERR_NOT_FOUND;
}

bool
http_route_wildcard(const struct http_route *r, size_t i)
{
	return i < HTTP_ROUTE_SEGMENTS && r->pattern[i] != NULL &&
	    strcmp(r->pattern[i], "*") == 0;
}

static bool
pattern_matches(const struct http_route *r, const struct http_path *p)
{
	size_t i;

	for (i = 0; i < HTTP_ROUTE_SEGMENTS && r->pattern[i] != NULL; i++)
		if (i >= p->nseg || (!http_route_wildcard(r, i) &&
		    strcmp(r->pattern[i], p->seg[i]) != 0))
			return false;
	return i == p->nseg;
}

static bool
method_matches(const struct http_route *r, const char *method)
{
	return strcmp(r->method, method) == 0 ||
	    (strcmp(method, "HEAD") == 0 && strcmp(r->method, "GET") == 0);
}

/* Is method one of the list's ("GET, PUT")? */
static bool
allow_has(const char *allow, const char *method)
{
	size_t n = strlen(method);

	for (const char *p = allow; *p != '\0'; p += strspn(p, ", ")) {
		if (strncmp(p, method, n) == 0 && (p[n] == ',' || p[n] == '\0'))
			return true;
		p += strcspn(p, ",");
	}
	return false;
}

/*
 * Add method to the Allow list, once.  A method that does not fit whole
 * is left out rather than cut: HTTP_ALLOW_MAX holds far more methods
 * than one path has.
 */
static void
allow_add(struct http_match *m, const char *method)
{
	size_t len = strlen(m->allow);

	if (allow_has(m->allow, method) ||
	    len + strlen(", ") + strlen(method) >= sizeof(m->allow))
		return;
	snprintf(m->allow + len, sizeof(m->allow) - len, "%s%s",
	    len > 0 ? ", " : "", method);
}

/*
 * The first entry whose pattern and method match wins; every entry whose
 * pattern matches adds its method to Allow, for the 405 (RFC 9110
 * 15.5.6: Allow lists the methods the resource has, not just one).
 */
enum http_error
http_route_find(const void *table, size_t n, size_t size,
    const struct http_path *path, const char *method, struct http_match *m)
{
	m->entry = NULL;
	m->allow[0] = '\0';
	for (size_t i = 0; i < n; i++) {
		const struct http_route *r =
		    (const void *)((const char *)table + i * size);

		if (!pattern_matches(r, path))
			continue;
		if (m->entry == NULL && method_matches(r, method))
			m->entry = r;
		allow_add(m, r->method);
	}
	if (m->entry != NULL)
		return HTTP_ERR_NONE;
	return m->allow[0] != '\0' ? HTTP_ERR_METHOD_NOT_ALLOWED :
	    HTTP_ERR_NOT_FOUND;
}
