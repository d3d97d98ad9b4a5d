/*
 * fuzz_http_cache.c -- libFuzzer target for cairn-edge's cache core
 * (http_cache.h): the Cache-Control parser and the store / lookup /
 * revalidate / invalidate rules on arbitrary fields.
 *
 * Input: 4 control bytes (status pick, time offsets, operations), then text:
 * response field lines ("Name: value", LF-separated), an empty line, request
 * field lines, an empty line, the fields of a 304. Invariants checked: the
 * cache never counts more bytes than its limit; a stored response is found
 * again by the same request at the time it was stored (unless it was evicted
 * for room, impossible here: one entry is far below the limit); the age is
 * never negative; a 304 refresh leaves a usable entry or removes it; every
 * entry is freed at the end (LeakSanitizer).
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http_cache.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAXF 24

struct block {
	struct http_header h[MAXF];
	unsigned n;
};

/* Split text (modified in place) into "Name: value" fields until an empty line. */
static char *read_block(char *p, char *end, struct block *b)
{
	b->n = 0;
	while (p < end) {
		char *nl = memchr(p, '\n', (size_t)(end - p));
		char *line_end = nl ? nl : end;
		if (line_end == p)
			return nl ? nl + 1 : end;
		*line_end = '\0';
		char *colon = strchr(p, ':');
		if (colon && colon > p && b->n < MAXF) {
			*colon = '\0';
			char *v = colon + 1;
			while (*v == ' ')
				v++;
			b->h[b->n].name = p;
			b->h[b->n].name_len = strlen(p);
			b->h[b->n].value = v;
			b->h[b->n].value_len = strlen(v);
			b->n++;
		}
		p = nl ? nl + 1 : end;
	}
	return end;
}

/* The directive parser on every value of a block. */
static void check_cc(const struct block *b)
{
	for (unsigned i = 0; i < b->n; i++) {
		struct http_cc cc;
		http_cc_init(&cc);
		http_cc_parse(&cc, b->h[i].value, b->h[i].value_len);
		if (cc.max_age > 2147483648LL || cc.s_maxage > 2147483648LL)
			abort();
		http_header_is_hop(b->h, b->n, b->h[i].name, b->h[i].name_len);
	}
}

/* A GET (or HEAD, by bit 0 of ctl) of / with the fields of req. */
static void request_of(struct http_request *r, const struct block *req, uint8_t ctl)
{
	memset(r, 0, sizeof(*r));
	r->method = (ctl & 1) ? HTTP_METHOD_HEAD : HTTP_METHOD_GET;
	r->method_name = "GET";
	r->target = "/";
	r->version_major = 1;
	r->version_minor = 1;
	r->headers = req->h;
	r->n_headers = req->n;
}

/* A 304 with the fields of nm refreshes f at now (received at now + delay). */
static void check_refresh(struct http_cache *c, struct http_cache_entry *f,
	const struct http_request *r, const struct block *nm, int64_t now, int64_t delay)
{
	int rr = http_cache_refresh(c, f, nm->h, nm->n, now, now + delay);
	if (rr == 0 && http_cache_age(f, now + delay) < 0)
		abort();
	/* The refreshed entry keeps its body and is still found (or was removed). */
	struct http_cache_entry *g = NULL;
	http_cache_lookup(c, "k", r, now + delay, &g);
	if (g && g->body_len != 4)
		abort();
	if (g)
		http_cache_entry_unref(c, g);
}

/* The entry e just stored at t0 (received at t0 + delay): found again at once,
 * looked up later, revalidated by a 304 if bit 1 of ctl is set. */
static void check_stored(struct http_cache *c, struct http_cache_entry *e,
	const struct http_request *r, const struct block *nm, uint8_t ctl, int64_t t0,
	int64_t delay, int64_t later)
{
	struct http_cache_entry *f = NULL;
	if (http_cache_age(e, t0 + delay) < 0)
		abort();
	/* The same request finds it (Vary values are its own). */
	if (http_cache_lookup(c, "k", r, t0 + delay, &f) == HTTP_CACHE_MISS)
		abort();
	if (f)
		http_cache_entry_unref(c, f);
	http_cache_lookup(c, "k", r, t0 + delay + later, &f);
	if (f) {
		struct http_header cond[2];
		unsigned n = http_cache_conditional(f, cond);
		if (n > 2)
			abort();
		http_cache_stale_if_error(f, t0 + delay + later);
		if (ctl & 2)
			check_refresh(c, f, r, nm, t0 + later, delay);
		http_cache_entry_unref(c, f);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const unsigned statuses[] = {200, 203, 204, 206, 300, 301, 302, 304, 307, 404, 410, 500};
	struct http_cache c;
	struct http_cache_config cfg = {.max_bytes = 1 << 16, .max_object = 1 << 14, .heuristic_max = 600};
	struct block resp, req, nm;
	struct http_request r;
	struct http_cache_entry *e = NULL;
	char *text, *p, *end;
	const int64_t t0 = 1700000000;

	if (size < 4)
		return 0;
	text = malloc(size - 4 + 1);
	if (!text)
		return 0;
	memcpy(text, data + 4, size - 4);
	text[size - 4] = '\0';
	end = text + (size - 4);
	p = read_block(text, end, &resp);
	p = read_block(p, end, &req);
	read_block(p, end, &nm);

	check_cc(&resp);
	request_of(&r, &req, data[3]);

	if (http_cache_init(&c, &cfg, NULL) < 0) {
		free(text);
		return 0;
	}
	unsigned status = statuses[data[0] % (sizeof(statuses) / sizeof(statuses[0]))];
	int64_t delay = data[1] % 8, later = data[2];
	bool storable = http_cache_storable(&r, status, resp.h, resp.n, NULL);
	int rc = http_cache_store(&c, "k", &r, status, resp.h, resp.n, (const uint8_t *)"body", 4, t0,
		t0 + delay, &e);
	if (rc == 0 && !storable)
		abort();
	if (c.bytes > cfg.max_bytes)
		abort();
	if (e) {
		check_stored(&c, e, &r, &nm, data[3], t0, delay, later);
		http_cache_entry_unref(&c, e);
	}
	if (c.bytes > cfg.max_bytes)
		abort();
	if (data[3] & 4)
		http_cache_invalidate(&c, "k");
	http_cache_deinit(&c);
	free(text);
	return 0;
}
