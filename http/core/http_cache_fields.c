/*
 * http_cache_fields.c -- the fields the cache reads: Cache-Control directives
 * (RFC 9111 5.2), field lookups and which fields are hop-by-hop (RFC 9110
 * 7.6.1); see http_cache.h.
 */
#include <stdbool.h>
#include <string.h>
#include <strings.h>

#include "dns_err.h"
#include "http_cache.h"
#include "http_cache_impl.h"

/* delta-seconds beyond this are taken as this (RFC 9111 1.2.2). */
#define DELTA_MAX 2147483648LL

/* ---- Cache-Control ---------------------------------------------------- */

void http_cc_init(struct http_cc *cc)
{
	memset(cc, 0, sizeof(*cc));
	cc->max_age = cc->s_maxage = cc->max_stale = cc->min_fresh = cc->swr = cc->sie = -1;
}

int64_t http_cache_delta_parse(const char *s, size_t len)
{
	int64_t v = 0;
	if (len == 0)
		return DNS_E_SYNTAX;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return DNS_E_SYNTAX;
		if (v < DELTA_MAX)
			v = v * 10 + (s[i] - '0');
	}
	return v > DELTA_MAX ? DELTA_MAX : v;
}

static bool tok_eq(const char *s, size_t len, const char *lit)
{
	return strlen(lit) == len && strncasecmp(s, lit, len) == 0;
}

/* Set a numeric directive unless already set (the first occurrence counts). */
static void set_num(int64_t *field, const char *v, size_t vlen, bool has_value, int64_t if_bad)
{
	int64_t d;
	if (*field >= 0)
		return;
	d = has_value ? http_cache_delta_parse(v, vlen) : -1;
	*field = d >= 0 ? d : if_bad;
}

void http_cc_parse(struct http_cc *cc, const char *value, size_t len)
{
	size_t i = 0;
	while (i < len) {
		const char *name, *v = NULL;
		size_t nlen, vlen = 0;
		bool has_value = false;

		while (i < len && (is_ows(value[i]) || value[i] == ','))
			i++;
		name = value + i;
		while (i < len && value[i] != '=' && value[i] != ',' && !is_ows(value[i]))
			i++;
		nlen = (size_t)(value + i - name);
		while (i < len && is_ows(value[i]))
			i++;
		if (i < len && value[i] == '=') {
			i++;
			while (i < len && is_ows(value[i]))
				i++;
			has_value = true;
			if (i < len && value[i] == '"') {
				/* quoted-string (RFC 9110 5.6.4); "max-age=\"5\"" is tolerated as 5. */
				v = value + ++i;
				while (i < len && value[i] != '"') {
					if (value[i] == '\\' && i + 1 < len)
						i++;
					i++;
				}
				vlen = (size_t)(value + i - v);
				if (i < len)
					i++;
			} else {
				v = value + i;
				while (i < len && value[i] != ',' && !is_ows(value[i]))
					i++;
				vlen = (size_t)(value + i - v);
			}
		}
		/* Anything up to the next comma is junk of this directive. */
		while (i < len && value[i] != ',')
			i++;
		if (nlen == 0)
			continue;
		if (tok_eq(name, nlen, "no-store"))
			cc->no_store = true;
		else if (tok_eq(name, nlen, "no-cache"))
			cc->no_cache = true;
		else if (tok_eq(name, nlen, "private"))
			cc->is_private = true;
		else if (tok_eq(name, nlen, "public"))
			cc->is_public = true;
		else if (tok_eq(name, nlen, "must-revalidate"))
			cc->must_revalidate = true;
		else if (tok_eq(name, nlen, "proxy-revalidate"))
			cc->proxy_revalidate = true;
		else if (tok_eq(name, nlen, "only-if-cached"))
			cc->only_if_cached = true;
		else if (tok_eq(name, nlen, "max-age"))
			set_num(&cc->max_age, v, vlen, has_value, 0);
		else if (tok_eq(name, nlen, "s-maxage"))
			set_num(&cc->s_maxage, v, vlen, has_value, 0);
		else if (tok_eq(name, nlen, "max-stale")) {
			if (!has_value)
				cc->max_stale_any = true;
			else
				set_num(&cc->max_stale, v, vlen, true, -1);
		} else if (tok_eq(name, nlen, "min-fresh"))
			set_num(&cc->min_fresh, v, vlen, has_value, -1);
		else if (tok_eq(name, nlen, "stale-while-revalidate"))
			set_num(&cc->swr, v, vlen, has_value, -1);
		else if (tok_eq(name, nlen, "stale-if-error"))
			set_num(&cc->sie, v, vlen, has_value, -1);
	}
}

void http_cc_from_headers(struct http_cc *cc, const struct http_header *hdrs, unsigned n)
{
	http_cc_init(cc);
	for (unsigned i = 0; i < n; i++)
		if (strcasecmp(hdrs[i].name, "cache-control") == 0)
			http_cc_parse(cc, hdrs[i].value, hdrs[i].value_len);
}

/* ---- fields ----------------------------------------------------------- */

const struct http_header *http_headers_find(const struct http_header *hdrs, unsigned n,
	const char *name)
{
	for (unsigned i = 0; i < n; i++)
		if (strcasecmp(hdrs[i].name, name) == 0)
			return &hdrs[i];
	return NULL;
}

bool http_cache_list_has(const char *value, const char *tok, size_t len)
{
	const char *p = value;
	while (*p) {
		while (*p == ',' || is_ows(*p))
			p++;
		const char *s = p;
		while (*p && *p != ',' && !is_ows(*p))
			p++;
		if ((size_t)(p - s) == len && strncasecmp(s, tok, len) == 0)
			return true;
		while (*p && *p != ',')
			p++;
	}
	return false;
}

bool http_header_is_hop(const struct http_header *hdrs, unsigned n, const char *name, size_t len)
{
	static const char *const fixed[] = {"connection", "keep-alive", "te", "trailer",
		"transfer-encoding", "upgrade", NULL};
	for (unsigned i = 0; fixed[i]; i++)
		if (tok_eq(name, len, fixed[i]))
			return true;
	/* Proxy-Connection, Proxy-Authenticate, Proxy-Authorization ... */
	if (len >= 6 && strncasecmp(name, "proxy-", 6) == 0)
		return true;
	for (unsigned i = 0; i < n; i++)
		if (strcasecmp(hdrs[i].name, "connection") == 0 &&
			http_cache_list_has(hdrs[i].value, name, len))
			return true;
	return false;
}
