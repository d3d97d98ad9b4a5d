/*
 * fuzz_http.c -- libFuzzer target for the HTTP request parser glue
 * (http_parse.h), fed incrementally.
 *
 * Input: 2 control bytes, then the bytes of a connection. The first control
 * byte seeds the split pattern (pieces of 1 to 64 bytes, or whole), the second
 * picks small or default limits (bit 0), requests or responses (bit 1) and,
 * for responses, whether they answer HEAD (bit 2). The connection is parsed twice -- in one
 * piece and in random pieces -- and both must complete the same requests
 * (method, target, version, fields, body, keep-alive), and both must fail or
 * neither. (The status of a failure may differ: with tight limits a split can
 * report 414/431 before llhttp sees a bad byte later in the same span.) The
 * rest of the http/core readers are run on every field value on the way:
 * dates, ranges, entity-tag lists, path normalisation.
 */
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dns_err.h"
#include "http_cond.h"
#include "http_date.h"
#include "http_parse.h"
#include "http_path.h"
#include "http_range.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* FNV-1a over everything a request is, so two parses can be compared. */
static uint64_t mix(uint64_t h, const void *p, size_t n)
{
	const uint8_t *b = p;
	for (size_t i = 0; i < n; i++)
		h = (h ^ b[i]) * 1099511628211ULL;
	return h;
}

static uint64_t digest_resp(const struct http_response *r)
{
	uint64_t h = 1469598103934665603ULL;
	if (r->status < 200 && r->status != 101)
		abort(); /* interim answers are skipped */
	h = mix(h, &r->status, sizeof(r->status));
	h = mix(h, &r->version_minor, sizeof(r->version_minor));
	h = mix(h, &r->keep_alive, sizeof(r->keep_alive));
	for (unsigned i = 0; i < r->n_headers; i++) {
		h = mix(h, r->headers[i].name, r->headers[i].name_len + 1);
		h = mix(h, r->headers[i].value, r->headers[i].value_len + 1);
	}
	if (r->body_len)
		h = mix(h, r->body, r->body_len);
	return h;
}

static uint64_t digest(const struct http_request *r)
{
	uint64_t h = 1469598103934665603ULL;
	h = mix(h, r->method_name, strlen(r->method_name));
	h = mix(h, r->target, r->target_len);
	if (strlen(r->target) != r->target_len)
		abort();
	h = mix(h, &r->version_major, sizeof(r->version_major));
	h = mix(h, &r->version_minor, sizeof(r->version_minor));
	h = mix(h, &r->keep_alive, sizeof(r->keep_alive));
	for (unsigned i = 0; i < r->n_headers; i++) {
		const struct http_header *f = &r->headers[i];
		if (strlen(f->name) != f->name_len || strlen(f->value) != f->value_len)
			abort();
		h = mix(h, f->name, f->name_len + 1);
		h = mix(h, f->value, f->value_len + 1);
	}
	if (r->body_len)
		h = mix(h, r->body, r->body_len);
	return h;
}

/* Exercise the other readers on what a request carries. */
static void use(const struct http_request *r)
{
	char path[512];
	uint64_t a, b;
	int64_t t;
	const char *q, *auth;
	size_t alen;
	struct http_validators v = {.etag = "\"x\"", .has_mtime = true, .mtime = 784111777};

	const char *p = http_target_path(r->target, &auth, &alen);
	if (p) {
		int n = http_path_normalize(p, strlen(p), path, sizeof(path), &q);
		if (n >= 0 && (path[0] != '/' || strstr(path, "/../") || strlen(path) != (size_t)n ||
				   (n >= 3 && strcmp(path + n - 3, "/..") == 0)))
			abort();
	}
	for (unsigned i = 0; i < r->n_headers; i++) {
		const char *val = r->headers[i].value;
		http_date_parse(val, r->headers[i].value_len, &t);
		if (http_range_eval(val, 1000, &a, &b) == HTTP_RANGE_PARTIAL && (a > b || b >= 1000))
			abort();
		http_etag_list_match(val, "\"x\"", true);
	}
	(void)http_cond_eval(r, &v);
	(void)http_if_range_ok(r, &v);
}

#define MAX_REQ 64

/* Parse with pieces from the seed (0: whole). Returns requests, *failed set. */
static int parse(const struct http_limits *lim, int mode, const uint8_t *d, size_t n, uint32_t seed,
	uint64_t *digests, bool *failed)
{
	bool response = mode & 2;
	struct http_parser p;
	size_t pos = 0;
	int nreq = 0;
	uint32_t x = seed | 1;

	*failed = false;
	if ((response ? http_parser_init_response(&p, lim, NULL) : http_parser_init(&p, lim, NULL)) < 0)
		abort();
	if (response)
		http_parser_expect(&p, (mode & 4) ? HTTP_METHOD_HEAD : HTTP_METHOD_GET);
	while (pos < n) {
		size_t piece = n - pos;
		if (seed) {
			x ^= x << 13;
			x ^= x >> 17;
			x ^= x << 5;
			size_t k = 1 + x % 64;
			if (k < piece)
				piece = k;
		}
		size_t off = 0;
		while (off < piece) {
			size_t used = 0;
			int r = http_parser_feed(&p, d + pos + off, piece - off, &used);
			if (used > piece - off)
				abort();
			off += used;
			if (r == 1) {
				if (nreq < MAX_REQ)
					digests[nreq] = response ? digest_resp(&p.resp) : digest(&p.req);
				if (!response)
					use(&p.req);
				nreq++;
				http_parser_next(&p);
				if (response)
					http_parser_expect(&p, (mode & 4) ? HTTP_METHOD_HEAD : HTTP_METHOD_GET);
				continue;
			}
			if (r < 0) {
				if (r != DNS_E_FORMAT || p.status < 400 || p.status > 505 || !p.reason ||
					(response && p.status != 502))
					abort();
				*failed = true;
				goto out;
			}
			if (off != piece)
				abort();
		}
		pos += piece;
	}
	int e = http_parser_eof(&p);
	if (e < 0) {
		*failed = true;
	} else if (e == 1) {
		if (!response)
			abort();
		if (nreq < MAX_REQ)
			digests[nreq] = digest_resp(&p.resp);
		nreq++;
	}
out:
	http_parser_deinit(&p);
	return nreq;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint64_t d1[MAX_REQ], d2[MAX_REQ];
	struct http_limits small = {.max_uri = 64, .max_head = 128, .max_headers = 4, .max_body = 32};
	bool f1, f2;

	if (size < 2)
		return 0;
	const struct http_limits *lim = (data[1] & 1) ? &small : NULL;
	uint32_t seed = data[0] ? (uint32_t)data[0] * 2654435761u : 0x9e3779b9u;
	int n1 = parse(lim, data[1], data + 2, size - 2, 0, d1, &f1);
	int n2 = parse(lim, data[1], data + 2, size - 2, seed, d2, &f2);
	if (n1 != n2 || f1 != f2)
		abort();
	for (int i = 0; i < n1 && i < MAX_REQ; i++)
		if (d1[i] != d2[i])
			abort();
	return 0;
}
