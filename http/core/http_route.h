/*
 * http_route.h -- which origin a request to cairn-edge goes to, and what path
 * it asks there.
 *
 * The request's host (the authority of an absolute-form target, else Host,
 * without its port and a trailing dot, RFC 9112 3.2.2, 7.2) names a configured
 * origin; failing that, the first path segment may name one (the URL-rewriting
 * form of classic CDNs, http://EDGE/ORIGIN-HOST/path, fetched as /path from
 * ORIGIN-HOST). Host names compare case-insensitively (RFC 9110 4.2.3).
 *
 * Pure: the caller passes its origins' host names; no I/O, no allocation.
 */
#ifndef CAIRN_HTTP_ROUTE_H
#define CAIRN_HTTP_ROUTE_H

#include <stddef.h>

#include "http_parse.h"

/* Where a request goes. */
struct http_route {
	size_t origin;                       /* index of the origin in the caller's list */
	char path[HTTP_DEFAULT_MAX_URI + 8]; /* origin-form path with query, as sent on */
	char host[256];                      /* the host asked for (no port), for messages; may be "" */
};

/*
 * Route r among the n origins whose host names are hosts[0..n). Returns 0
 * with *rt filled; DNS_E_SYNTAX when the target has no usable path (answer
 * 400); DNS_E_NOTFOUND when no origin matches (answer 404, rt->host says
 * which host was asked for).
 */
int http_route_find(const char *const *hosts, size_t n, const struct http_request *r,
	struct http_route *rt);

#endif
