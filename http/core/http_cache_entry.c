/*
 * http_cache_entry.c -- what a stored entry is made of (http_cache_impl.h): the
 * fields kept from the origin's message, the Vary secondary key (RFC 9111 4.1)
 * and its match against a request, and the freshness derived from the fields
 * (4.2.1, 4.2.2).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "dns_err.h"
#include "http_cache.h"
#include "http_cache_impl.h"
#include "http_cond.h"
#include "http_date.h"

/*
 * The normalised value of the request fields named name (4.1): field lines
 * joined with ',', spaces around commas dropped, inner runs folded to one.
 * Written to out (NULL to measure); returns the length, or DNS_E_NOTFOUND when absent.
 */
static long vary_value(const struct http_request *req, const char *name, size_t name_len, char *out)
{
	long n = 0;
	bool found = false;
	for (unsigned i = 0; req && i < req->n_headers; i++) {
		const struct http_header *h = &req->headers[i];
		if (h->name_len != name_len || strncasecmp(h->name, name, name_len) != 0)
			continue;
		if (found) {
			if (out)
				out[n] = ',';
			n++;
		}
		found = true;
		bool space = false;
		for (size_t k = 0; k < h->value_len; k++) {
			char ch = h->value[k];
			if (is_ows(ch)) {
				space = true;
				continue;
			}
			if (ch == ',') {
				space = false;
				if (out)
					out[n] = ',';
				n++;
				continue;
			}
			if (space && n > 0 && (!out || out[n - 1] != ',')) {
				if (out)
					out[n] = ' ';
				n++;
			}
			space = false;
			if (out)
				out[n] = ch;
			n++;
		}
	}
	if (!found)
		return DNS_E_NOTFOUND;
	if (out)
		out[n] = '\0';
	return n;
}


/*
 * The next element of a comma-separated field value (RFC 9110 5.6.1) in
 * [*s, end): its start and *len, or NULL when none is left; *s moves past it.
 * Empty elements are skipped; an element ends at a comma or white space.
 */
static const char *list_next(const char **s, const char *end, size_t *len)
{
	const char *p = *s;
	while (p < end && (*p == ',' || is_ows(*p)))
		p++;
	if (p >= end) {
		*s = p;
		return NULL;
	}
	const char *t = p;
	while (p < end && *p != ',' && !is_ows(*p))
		p++;
	*len = (size_t)(p - t);
	/* anything after white space up to the comma is not part of the name */
	while (p < end && *p != ',')
		p++;
	*s = p;
	return t;
}

static bool is_vary(const char *name, size_t len)
{
	return len == 4 && strncasecmp(name, "vary", 4) == 0;
}

/*
 * Measure the Vary field names in f (all Vary lines: *nvary of them, *vsize
 * bytes with their NULs) and req's values of them (*valsize bytes).
 */
static void vary_measure(const struct field_ref *f, unsigned nf, const struct http_request *req,
	size_t *nvary, size_t *vsize, size_t *valsize)
{
	for (unsigned i = 0; i < nf; i++) {
		if (!is_vary(f[i].name, f[i].name_len))
			continue;
		const char *s = f[i].value, *end = s + f[i].value_len, *t;
		size_t l;
		while ((t = list_next(&s, end, &l))) {
			(*nvary)++;
			*vsize += l + 1;
			long vl = vary_value(req, t, l, NULL);
			if (vl >= 0)
				*valsize += (size_t)vl + 1;
		}
	}
}

/* Copy the fields f into hdrs, their strings from p on; note e's validators. */
static void fields_copy(struct http_cache_entry *e, struct http_header *hdrs, char *p,
	const struct field_ref *f, unsigned nf)
{
	e->etag = NULL;
	e->last_modified = NULL;
	for (unsigned i = 0; i < nf; i++) {
		hdrs[i].name = p;
		memcpy(p, f[i].name, f[i].name_len);
		p[f[i].name_len] = '\0';
		hdrs[i].name_len = f[i].name_len;
		p += f[i].name_len + 1;
		hdrs[i].value = p;
		memcpy(p, f[i].value, f[i].value_len);
		p[f[i].value_len] = '\0';
		hdrs[i].value_len = f[i].value_len;
		p += f[i].value_len + 1;
		if (!e->etag && strcasecmp(hdrs[i].name, "etag") == 0)
			e->etag = hdrs[i].value;
		if (!e->last_modified && strcasecmp(hdrs[i].name, "last-modified") == 0)
			e->last_modified = hdrs[i].value;
	}
}

/* Fill v (room for nvary fields, then strings) from the Vary lines of hdrs and req's values. */
static void vary_copy(struct http_cache_vary *v, size_t nvary, const struct http_header *hdrs,
	unsigned nf, const struct http_request *req)
{
	char *q = (char *)v + sizeof(*v) + nvary * sizeof(struct vary_field);
	v->n = 0;
	for (unsigned i = 0; i < nf; i++) {
		if (!is_vary(hdrs[i].name, hdrs[i].name_len))
			continue;
		const char *s = hdrs[i].value, *end = s + hdrs[i].value_len, *t;
		size_t l;
		while ((t = list_next(&s, end, &l))) {
			struct vary_field *vf = &v->f[v->n++];
			memcpy(q, t, l);
			q[l] = '\0';
			vf->name = q;
			q += l + 1;
			vf->value = NULL;
			long vl = vary_value(req, vf->name, l, q);
			if (vl >= 0) {
				vf->value = q;
				q += vl + 1;
			}
		}
	}
}

/*
 * Build the meta block of an entry: its header array and strings, and the
 * Vary secondary key from req (when vary_req is true; else the old vary is
 * kept by the caller). Sets e->headers, n_headers, etag, last_modified, meta,
 * meta_size and (with vary_req) e->vary.
 */
int http_cache_meta_build(const struct dns_mm *mm, struct http_cache_entry *e, const struct field_ref *f,
	unsigned nf, const struct http_request *req, bool vary_req)
{
	size_t size = nf * sizeof(struct http_header), nvary = 0, vsize = 0, valsize = 0;

	for (unsigned i = 0; i < nf; i++)
		size += f[i].name_len + f[i].value_len + 2;
	if (vary_req) {
		vary_measure(f, nf, req, &nvary, &vsize, &valsize);
		if (nvary) {
			size = (size + 7) & ~(size_t)7;
			vsize += sizeof(struct http_cache_vary) + nvary * sizeof(struct vary_field);
		}
	}
	size_t total = size + vsize + valsize;
	void *block = mm_alloc(mm, total ? total : 1);
	if (!block)
		return -ENOMEM;
	fields_copy(e, block, (char *)block + nf * sizeof(struct http_header), f, nf);
	e->headers = block;
	e->n_headers = nf;
	if (vary_req) {
		e->vary = NULL;
		if (nvary) {
			e->vary = (struct http_cache_vary *)((char *)block + size);
			vary_copy(e->vary, nvary, e->headers, nf, req);
		}
	}
	e->meta = block;
	e->meta_size = total;
	return 0;
}

/* Does req select e by its Vary secondary key (4.1)? */
bool http_cache_vary_match(const struct http_cache *c, const struct http_cache_entry *e,
	const struct http_request *req)
{
	char stack[1024];
	if (!e->vary)
		return true;
	for (unsigned i = 0; i < e->vary->n; i++) {
		const struct vary_field *vf = &e->vary->f[i];
		size_t nl = strlen(vf->name);
		long need = vary_value(req, vf->name, nl, NULL);
		if (need < 0 || !vf->value) {
			if ((need < 0) != (vf->value == NULL))
				return false;
			continue;
		}
		/* The measure is an upper bound of the normalised length. */
		char *buf = (size_t)need < sizeof(stack) ? stack : mm_alloc(c->mm, (size_t)need + 1);
		if (!buf)
			return false; /* cannot compare: not a match */
		vary_value(req, vf->name, nl, buf);
		bool same = strcmp(buf, vf->value) == 0;
		if (buf != stack)
			mm_free(c->mm, buf);
		if (!same)
			return false;
	}
	return true;
}

static int64_t header_date(const struct http_header *hdrs, unsigned n, const char *name, bool *ok)
{
	const struct http_header *h = http_headers_find(hdrs, n, name);
	int64_t t = 0;
	*ok = h && http_date_parse(h->value, h->value_len, &t) == 0;
	return *ok ? t : 0;
}

/* RFC 9110 15.1: statuses cacheable by default (heuristically). */
bool http_cache_heuristic_status(unsigned s)
{
	switch (s) {
	case 200: case 203: case 204: case 206: case 300: case 301: case 308:
	case 404: case 405: case 410: case 414: case 501:
		return true;
	default:
		return false;
	}
}

/* Set the derived times and the freshness lifetime of e from its fields (4.2.1, 4.2.2). */
void http_cache_derive(const struct http_cache *c, struct http_cache_entry *e, const struct http_header *age_src,
	unsigned n_age_src)
{
	bool ok;
	const struct http_header *age;

	http_cc_from_headers(&e->cc, e->headers, e->n_headers);
	e->date_value = header_date(e->headers, e->n_headers, "date", &ok);
	if (!ok)
		e->date_value = e->response_time;
	age = http_headers_find(age_src, n_age_src, "age");
	e->age_value = age ? http_cache_delta_parse(age->value, age->value_len) : 0;
	if (e->age_value < 0)
		e->age_value = 0;
	if (e->cc.s_maxage >= 0) {
		e->lifetime = e->cc.s_maxage;
	} else if (e->cc.max_age >= 0) {
		e->lifetime = e->cc.max_age;
	} else if (http_headers_find(e->headers, e->n_headers, "expires")) {
		/* An Expires that does not parse means "already expired" (5.3). */
		int64_t exp = header_date(e->headers, e->n_headers, "expires", &ok);
		e->lifetime = ok && exp > e->date_value ? exp - e->date_value : 0;
	} else {
		int64_t lm = header_date(e->headers, e->n_headers, "last-modified", &ok);
		e->lifetime = 0;
		if (ok && (http_cache_heuristic_status(e->status) || e->cc.is_public) && e->date_value > lm) {
			e->lifetime = (e->date_value - lm) / 10;
			if (e->lifetime > c->cfg.heuristic_max)
				e->lifetime = c->cfg.heuristic_max;
		}
	}
}

/* Fields of the origin's message worth storing. */
unsigned http_cache_select_fields(const struct http_header *hdrs, unsigned n, struct field_ref *out)
{
	unsigned k = 0;
	for (unsigned i = 0; i < n; i++) {
		const struct http_header *h = &hdrs[i];
		if (http_header_is_hop(hdrs, n, h->name, h->name_len) ||
			strcasecmp(h->name, "age") == 0 || strcasecmp(h->name, "content-length") == 0)
			continue;
		out[k++] = (struct field_ref){h->name, h->name_len, h->value, h->value_len};
	}
	return k;
}

