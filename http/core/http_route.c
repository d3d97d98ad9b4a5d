/* http_route.c -- the origin and path of a request to cairn-edge (see http_route.h). */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "dns_err.h"
#include "http_path.h"
#include "http_route.h"

/* The index of the origin named host[0..len), or n when none is. */
static size_t origin_by_host(const char *const *hosts, size_t n, const char *host, size_t len)
{
	for (size_t i = 0; i < n; i++)
		if (strlen(hosts[i]) == len && strncasecmp(hosts[i], host, len) == 0)
			return i;
	return n;
}

int http_route_find(const char *const *hosts, size_t n, const struct http_request *r,
	struct http_route *rt)
{
	const char *auth = NULL, *target, *host = NULL;
	size_t alen = 0, hlen = 0, o = n;
	const struct http_header *hh;

	rt->origin = n;
	rt->host[0] = '\0';
	target = http_target_path(r->target, &auth, &alen);
	if (!target || strlen(target) >= sizeof(rt->path))
		return DNS_E_SYNTAX;
	if (auth) {
		host = auth;
		hlen = alen;
	} else if ((hh = http_request_header(r, "host")) != NULL) {
		host = hh->value;
		hlen = hh->value_len;
	}
	if (host) {
		/* Drop the port: "[v6]:port", "name:port". */
		if (hlen && host[0] == '[') {
			const char *e = memchr(host, ']', hlen);
			hlen = e ? (size_t)(e - host) + 1 : hlen;
		} else {
			const char *c = memchr(host, ':', hlen);
			if (c)
				hlen = (size_t)(c - host);
		}
		/* A fully qualified "name." is the same host. */
		if (hlen > 1 && host[hlen - 1] == '.')
			hlen--;
		snprintf(rt->host, sizeof(rt->host), "%.*s", (int)(hlen < 255 ? hlen : 255), host);
		o = origin_by_host(hosts, n, host, hlen);
	}
	if (o < n) {
		rt->origin = o;
		snprintf(rt->path, sizeof(rt->path), "%s", target);
		return 0;
	}
	/* /ORIGIN-HOST/path */
	if (target[0] == '/') {
		const char *seg = target + 1;
		size_t sl = strcspn(seg, "/?");
		o = sl ? origin_by_host(hosts, n, seg, sl) : n;
		if (o < n) {
			const char *rest = seg + sl;
			rt->origin = o;
			snprintf(rt->path, sizeof(rt->path), "%s%s", rest[0] == '/' ? "" : "/", rest);
			return 0;
		}
	}
	return DNS_E_NOTFOUND;
}
