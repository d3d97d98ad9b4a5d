/* http_cond.c -- conditional request evaluation (RFC 9110 13.1, 13.2). */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "dns_err.h"
#include "http_cond.h"
#include "http_date.h"

int http_etag_make(char *buf, size_t size, uint64_t ino, uint64_t fsize, int64_t mtime_ns)
{
	int n = snprintf(buf, size, "\"%" PRIx64 "-%" PRIx64 "-%" PRIx64 "\"", ino, fsize,
		(uint64_t)mtime_ns);
	if (n < 0 || (size_t)n >= size)
		return DNS_E_SPACE;
	return n;
}

/* One entity-tag at *s: sets weak, the opaque-tag span (with quotes). false if malformed. */
static bool etag_next(const char **s, bool *weak, const char **op, size_t *oplen)
{
	const char *p = *s;
	*weak = false;
	if (p[0] == 'W' && p[1] == '/') {
		*weak = true;
		p += 2;
	}
	if (*p != '"')
		return false;
	const char *q = p + 1;
	/* etagc = %x21 / %x23-7E / obs-text (RFC 9110 8.8.3) */
	while (*q && *q != '"') {
		unsigned char c = (unsigned char)*q;
		if (c < 0x21 || c == 0x7f)
			return false;
		q++;
	}
	if (*q != '"')
		return false;
	*op = p;
	*oplen = (size_t)(q + 1 - p);
	*s = q + 1;
	return true;
}

bool http_etag_list_match(const char *list, const char *etag, bool weak)
{
	const char *s = list, *eop, *op;
	size_t eoplen, oplen;
	bool eweak, w, found = false;

	while (*s == ' ' || *s == '\t')
		s++;
	if (s[0] == '*') {
		const char *t = s + 1;
		while (*t == ' ' || *t == '\t')
			t++;
		if (*t == '\0')
			return etag != NULL;
	}
	if (!etag)
		return false;
	const char *e = etag;
	if (!etag_next(&e, &eweak, &eop, &eoplen))
		return false;
	while (*s) {
		while (*s == ' ' || *s == '\t' || *s == ',')
			s++;
		if (!*s)
			break;
		if (!etag_next(&s, &w, &op, &oplen))
			return false;
		if (oplen == eoplen && memcmp(op, eop, oplen) == 0 && (weak || (!w && !eweak)))
			found = true;
		while (*s == ' ' || *s == '\t')
			s++;
		if (*s && *s != ',')
			return false;
	}
	return found;
}

static bool header_date(const struct http_request *r, const char *name, int64_t *t)
{
	const struct http_header *h = http_request_header(r, name);
	return h && http_date_parse(h->value, h->value_len, t) == 0;
}

int http_cond_eval(const struct http_request *r, const struct http_validators *v)
{
	const struct http_header *h;
	bool safe = r->method == HTTP_METHOD_GET || r->method == HTTP_METHOD_HEAD;
	int64_t t;

	/* Step 1 and 2 of RFC 9110 13.2.2. */
	if ((h = http_request_header(r, "if-match"))) {
		if (!http_etag_list_match(h->value, v->etag, false))
			return 412;
	} else if (v->has_mtime && header_date(r, "if-unmodified-since", &t)) {
		if (v->mtime > t)
			return 412;
	}
	/* Step 3: If-None-Match, weak comparison (13.1.2). */
	if ((h = http_request_header(r, "if-none-match"))) {
		if (http_etag_list_match(h->value, v->etag, true))
			return safe ? 304 : 412;
		return 0;
	}
	/* Step 4: If-Modified-Since only without If-None-Match, only GET/HEAD (13.1.3). */
	if (safe && v->has_mtime && header_date(r, "if-modified-since", &t)) {
		if (v->mtime <= t)
			return 304;
	}
	return 0;
}

bool http_if_range_ok(const struct http_request *r, const struct http_validators *v)
{
	const struct http_header *h = http_request_header(r, "if-range");
	int64_t t;
	if (!h)
		return true;
	if (h->value[0] == '"' || (h->value[0] == 'W' && h->value[1] == '/')) {
		/* Strong comparison: a weak tag in If-Range never matches (13.1.5). */
		if (h->value[0] == 'W')
			return false;
		return v->etag && http_etag_list_match(h->value, v->etag, false) &&
			strchr(h->value, ',') == NULL;
	}
	return v->has_mtime && http_date_parse(h->value, h->value_len, &t) == 0 && t == v->mtime;
}
