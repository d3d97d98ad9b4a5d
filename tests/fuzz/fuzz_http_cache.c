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

	/* The directive parser on every value of every block. */
	for (unsigned i = 0; i < resp.n; i++) {
		struct http_cc cc;
		http_cc_init(&cc);
		http_cc_parse(&cc, resp.h[i].value, resp.h[i].value_len);
		if (cc.max_age > 2147483648LL || cc.s_maxage > 2147483648LL)
			abort();
		http_header_is_hop(resp.h, resp.n, resp.h[i].name, resp.h[i].name_len);
	}

	memset(&r, 0, sizeof(r));
	r.method = (data[3] & 1) ? HTTP_METHOD_HEAD : HTTP_METHOD_GET;
	r.method_name = "GET";
	r.target = "/";
	r.version_major = 1;
	r.version_minor = 1;
	r.headers = req.h;
	r.n_headers = req.n;

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
		struct http_cache_entry *f = NULL;
		if (http_cache_age(e, t0 + delay) < 0)
			abort();
		/* The same request finds it (Vary values are its own). */
		if (http_cache_lookup(&c, "k", &r, t0 + delay, &f) == HTTP_CACHE_MISS)
			abort();
		if (f)
			http_cache_entry_unref(&c, f);
		http_cache_lookup(&c, "k", &r, t0 + delay + later, &f);
		if (f) {
			struct http_header cond[2];
			unsigned n = http_cache_conditional(f, cond);
			if (n > 2)
				abort();
			http_cache_stale_if_error(f, t0 + delay + later);
			if (data[3] & 2) {
				int rr = http_cache_refresh(&c, f, nm.h, nm.n, t0 + later, t0 + later + delay);
				if (rr == 0 && http_cache_age(f, t0 + later + delay) < 0)
					abort();
				/* The refreshed entry keeps its body and is still found (or was removed). */
				struct http_cache_entry *g = NULL;
				http_cache_lookup(&c, "k", &r, t0 + later + delay, &g);
				if (g && g->body_len != 4)
					abort();
				if (g)
					http_cache_entry_unref(&c, g);
			}
			http_cache_entry_unref(&c, f);
		}
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
