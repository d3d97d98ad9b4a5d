/*
 * Unit tests of http_parse: llhttp glue fed incrementally. Pipelined requests
 * split at every byte boundary must parse to the same requests; limits give
 * the right status; request-smuggling shapes are refused with 400.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "test_mm.h"
#include "dns_err.h"
#include "http_parse.h"

/* One line per request: method, target, version, fields, body, keep-alive. */
static void summarise(const struct http_request *r, char *out, size_t cap)
{
	size_t n = strlen(out);
	n += (size_t)snprintf(out + n, cap - n, "%s %s %u.%u ka=%d ch=%d", r->method_name, r->target,
		r->version_major, r->version_minor, r->keep_alive, r->chunked);
	for (unsigned i = 0; i < r->n_headers; i++)
		n += (size_t)snprintf(out + n, cap - n, " [%s=%s]", r->headers[i].name, r->headers[i].value);
	n += (size_t)snprintf(out + n, cap - n, " body=%.*s\n", (int)r->body_len,
		r->body ? (const char *)r->body : "");
}

/*
 * Feed data in the pieces cut at the offsets in cuts (ascending); append a
 * summary line per request. Returns the number of requests, or -status.
 */
static int run(const struct http_limits *lim, const char *data, size_t len, const size_t *cuts,
	size_t ncuts, char *out, size_t cap)
{
	struct http_parser p;
	size_t start = 0;
	int nreq = 0;

	out[0] = '\0';
	assert_int_equal(http_parser_init(&p, lim, &tmm), 0);
	for (size_t c = 0; c <= ncuts; c++) {
		size_t end = c < ncuts ? cuts[c] : len;
		size_t pos = start;
		while (pos < end) {
			size_t used = 0;
			int r = http_parser_feed(&p, (const uint8_t *)data + pos, end - pos, &used);
			assert_true(used <= end - pos);
			pos += used;
			if (r == 1) {
				summarise(&p.req, out, cap);
				nreq++;
				/* Feeding before the answer is done is refused. */
				assert_int_equal(http_parser_feed(&p, (const uint8_t *)"x", 1, &used), -EBUSY);
				http_parser_next(&p);
				continue;
			}
			if (r < 0) {
				assert_int_equal(r, DNS_E_FORMAT);
				int st = p.status;
				assert_non_null(p.reason);
				http_parser_deinit(&p);
				return -st;
			}
			assert_int_equal(r, 0);
			assert_int_equal(pos, end);
		}
		start = end;
	}
	assert_int_equal(http_parser_eof(&p), 0);
	http_parser_deinit(&p);
	return nreq;
}

static int run_whole(const struct http_limits *lim, const char *data, char *out, size_t cap)
{
	return run(lim, data, strlen(data), NULL, 0, out, cap);
}

static const char pipelined[] =
	"GET /a/b?x=1 HTTP/1.1\r\nHost: example.test\r\nUser-Agent:  t  \r\nAccept: */*\r\n\r\n"
	"POST /form HTTP/1.1\r\nHost: example.test\r\nContent-Length: 5\r\n\r\nhello"
	"PUT /up HTTP/1.1\r\nHost: example.test\r\nTransfer-Encoding: chunked\r\n\r\n"
	"3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n"
	"HEAD /h HTTP/1.1\r\nHost: example.test\r\nX-Empty:\r\nConnection: close\r\n\r\n";

static void pipelined_whole(void **state)
{
	char out[4096];
	(void)state;
	assert_int_equal(run_whole(NULL, pipelined, out, sizeof(out)), 4);
	assert_string_equal(out,
		"GET /a/b?x=1 1.1 ka=1 ch=0 [Host=example.test] [User-Agent=t] [Accept=*/*] body=\n"
		"POST /form 1.1 ka=1 ch=0 [Host=example.test] [Content-Length=5] body=hello\n"
		"PUT /up 1.1 ka=1 ch=1 [Host=example.test] [Transfer-Encoding=chunked] body=abcde\n"
		"HEAD /h 1.1 ka=0 ch=0 [Host=example.test] [X-Empty=] [Connection=close] body=\n");
}

/* Every single cut point, and every pair of cut points, give the same requests. */
static void pipelined_every_split(void **state)
{
	char ref[4096], out[4096];
	size_t len = strlen(pipelined);
	(void)state;
	assert_int_equal(run_whole(NULL, pipelined, ref, sizeof(ref)), 4);
	for (size_t i = 1; i < len; i++) {
		size_t cuts[1] = {i};
		assert_int_equal(run(NULL, pipelined, len, cuts, 1, out, sizeof(out)), 4);
		assert_string_equal(out, ref);
	}
	for (size_t i = 1; i < len; i += 7) {
		for (size_t j = i + 1; j < len; j++) {
			size_t cuts[2] = {i, j};
			assert_int_equal(run(NULL, pipelined, len, cuts, 2, out, sizeof(out)), 4);
			assert_string_equal(out, ref);
		}
	}
}

static void pipelined_byte_by_byte(void **state)
{
	char ref[4096], out[4096];
	size_t len = strlen(pipelined), cuts[sizeof(pipelined)];
	(void)state;
	for (size_t i = 0; i + 1 < len; i++)
		cuts[i] = i + 1;
	assert_int_equal(run_whole(NULL, pipelined, ref, sizeof(ref)), 4);
	assert_int_equal(run(NULL, pipelined, len, cuts, len - 1, out, sizeof(out)), 4);
	assert_string_equal(out, ref);
}

static void http10_and_keepalive(void **state)
{
	char out[1024];
	(void)state;
	assert_int_equal(run_whole(NULL, "GET / HTTP/1.0\r\n\r\n", out, sizeof(out)), 1);
	assert_string_equal(out, "GET / 1.0 ka=0 ch=0 body=\n");
	assert_int_equal(run_whole(NULL, "GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", out,
				 sizeof(out)), 1);
	assert_string_equal(out, "GET / 1.0 ka=1 ch=0 [Connection=keep-alive] body=\n");
	/* Leading empty lines before a request are ignored (RFC 9112 2.2). */
	assert_int_equal(run_whole(NULL, "\r\nGET / HTTP/1.1\r\nHost: h\r\n\r\n", out, sizeof(out)), 1);
}

/* Requests that must be refused, with the status. */
static void refused(void **state)
{
	static const struct {
		const char *req;
		int status;
	} cases[] = {
		/* smuggling shapes (RFC 9112 6.1, 6.3, 11.2) */
		{"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n", 400},
		{"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n", 400},
		{"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd", 400},
		{"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\nabc", 400},
		{"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 3, 4\r\n\r\nabcd", 400},
		{"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: -1\r\n\r\n", 400},
		{"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip\r\n\r\n", 400},
		{"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked, gzip\r\n\r\n", 400},
		{"POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400},
		{"GET / HTTP/1.1\r\nHost: h\r\nX: a\r\n  folded\r\n\r\n", 400},
		{"GET / HTTP/1.1\r\nHost: h\r\nX: a\r\n\tfolded\r\n\r\n", 400},
		{"GET / HTTP/1.1\r\nHost : h\r\n\r\n", 400},
		{"GET / HTTP/1.1\r\nHo\"st: h\r\n\r\n", 400},
		{"GET / HTTP/1.1\r\nHost: h\nX: y\r\n\r\n", 400},
		{"GET / HTTP/1.1\r\n\r\n", 400},
		{"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400},
		{"GET / HTTP/1.1\r\nHost: h\r\n: empty\r\n\r\n", 400},
		{"G@T / HTTP/1.1\r\nHost: h\r\n\r\n", 400},
		{"GET  HTTP/1.1\r\nHost: h\r\n\r\n", 400},
		{"GET / HTTP/x.y\r\nHost: h\r\n\r\n", 400},
		{"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", 400},
		/* versions (RFC 9110 15.6.6) */
		{"GET / HTTP/2.0\r\nHost: h\r\n\r\n", 505},
		{"GET / HTTP/3.0\r\nHost: h\r\n\r\n", 505},
		{"GET / HTTP/0.9\r\n\r\n", 505},
		{"GET / HTTP/1.2\r\nHost: h\r\n\r\n", 505},
	};
	char out[1024];
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int r = run_whole(NULL, cases[i].req, out, sizeof(out));
		if (r != -cases[i].status)
			fail_msg("case %zu (%s): got %d, want %d", i, cases[i].req, r, -cases[i].status);
		/* The same verdict when the bytes come one at a time. */
		size_t len = strlen(cases[i].req), cuts[256];
		assert_true(len < 256);
		for (size_t k = 0; k + 1 < len; k++)
			cuts[k] = k + 1;
		r = run(NULL, cases[i].req, len, cuts, len - 1, out, sizeof(out));
		if (r != -cases[i].status)
			fail_msg("case %zu split: got %d, want %d", i, r, -cases[i].status);
	}
}

static void limits(void **state)
{
	struct http_limits lim = {.max_uri = 32, .max_head = 64, .max_headers = 3, .max_body = 8};
	char req[512], out[1024];
	(void)state;
	/* URI of exactly the limit passes, one more is 414. */
	snprintf(req, sizeof(req), "GET /%031d HTTP/1.1\r\nHost: h\r\n\r\n", 0);
	assert_int_equal(run_whole(&lim, req, out, sizeof(out)), 1);
	snprintf(req, sizeof(req), "GET /%032d HTTP/1.1\r\nHost: h\r\n\r\n", 0);
	assert_int_equal(run_whole(&lim, req, out, sizeof(out)), -414);
	/* Header count and size: 431. */
	assert_int_equal(run_whole(&lim, "GET / HTTP/1.1\r\nHost: h\r\nA: 1\r\nB: 2\r\n\r\n", out,
				 sizeof(out)), 1);
	assert_int_equal(run_whole(&lim, "GET / HTTP/1.1\r\nHost: h\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n", out,
				 sizeof(out)), -431);
	snprintf(req, sizeof(req), "GET / HTTP/1.1\r\nHost: h\r\nBig: %070d\r\n\r\n", 0);
	assert_int_equal(run_whole(&lim, req, out, sizeof(out)), -431);
	/* Body: Content-Length over the limit is refused before the body arrives. */
	assert_int_equal(run_whole(&lim, "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 8\r\n\r\n12345678",
				 out, sizeof(out)), 1);
	assert_int_equal(run_whole(&lim, "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 9\r\n\r\n", out,
				 sizeof(out)), -413);
	assert_int_equal(run_whole(&lim, "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 99999999999999999999\r\n\r\n",
				 out, sizeof(out)), -400);
	/* Chunked bodies are counted as they come. */
	assert_int_equal(run_whole(&lim,
				 "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n5\r\n12345\r\n5\r\n67890\r\n0\r\n\r\n",
				 out, sizeof(out)), -413);
	/* no_body refuses any body. */
	struct http_limits nb = {.no_body = true};
	assert_int_equal(run_whole(&nb, "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 1\r\n\r\nx", out,
				 sizeof(out)), -413);
	assert_int_equal(run_whole(&nb, "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\n\r\n", out,
				 sizeof(out)), 1);
}

/* Limits hold however the bytes are split (callbacks see partial spans). */
static void limits_split(void **state)
{
	struct http_limits lim = {.max_uri = 32, .max_head = 64, .max_headers = 3};
	char req[512], out[1024];
	(void)state;
	snprintf(req, sizeof(req), "GET /%040d HTTP/1.1\r\nHost: h\r\n\r\n", 0);
	size_t len = strlen(req), cuts[512];
	for (size_t i = 0; i + 1 < len; i++)
		cuts[i] = i + 1;
	assert_int_equal(run(&lim, req, len, cuts, len - 1, out, sizeof(out)), -414);
	snprintf(req, sizeof(req), "GET / HTTP/1.1\r\nHost: h\r\nBig: %070d\r\n\r\n", 0);
	len = strlen(req);
	for (size_t i = 0; i + 1 < len; i++)
		cuts[i] = i + 1;
	assert_int_equal(run(&lim, req, len, cuts, len - 1, out, sizeof(out)), -431);
}

static void eof_mid_request(void **state)
{
	struct http_parser p;
	size_t used;
	(void)state;
	assert_int_equal(http_parser_init(&p, NULL, &tmm), 0);
	assert_int_equal(http_parser_eof(&p), 0);
	assert_int_equal(http_parser_feed(&p, (const uint8_t *)"GET / HT", 8, &used), 0);
	assert_true(p.in_request);
	assert_false(p.head_done);
	assert_int_equal(http_parser_eof(&p), DNS_E_FORMAT);
	assert_int_equal(p.status, 400);
	http_parser_deinit(&p);
}

static void helpers(void **state)
{
	(void)state;
	assert_true(http_list_has_token("keep-alive, Close", "close"));
	assert_true(http_list_has_token(" close ", "close"));
	assert_false(http_list_has_token("closed, x", "close"));
	assert_false(http_list_has_token("", "close"));
	assert_int_equal(http_method_from_name("GET"), HTTP_METHOD_GET);
	assert_int_equal(http_method_from_name("PURGE"), HTTP_METHOD_PURGE);
	assert_int_equal(http_method_from_name("get"), HTTP_METHOD_OTHER);
}

/* Summary of one response: status, version, fields, body, keep-alive. */
static void summarise_resp(const struct http_response *r, char *out, size_t cap)
{
	size_t n = strlen(out);
	n += (size_t)snprintf(out + n, cap - n, "%u %u.%u ka=%d ch=%d", r->status, r->version_major,
		r->version_minor, r->keep_alive, r->chunked);
	for (unsigned i = 0; i < r->n_headers; i++)
		n += (size_t)snprintf(out + n, cap - n, " [%s=%s]", r->headers[i].name, r->headers[i].value);
	n += (size_t)snprintf(out + n, cap - n, " body=%.*s\n", (int)r->body_len,
		r->body ? (const char *)r->body : "");
}

/*
 * Feed a response stream cut at every offset in cuts; methods[i] is the method
 * of the i-th request answered. Ends with EOF. Returns responses or -status.
 */
static int run_resp(const char *data, size_t len, const size_t *cuts, size_t ncuts,
	const enum http_method *methods, char *out, size_t cap)
{
	struct http_parser p;
	size_t start = 0;
	int nresp = 0, r;

	out[0] = '\0';
	assert_int_equal(http_parser_init_response(&p, NULL, &tmm), 0);
	http_parser_expect(&p, methods[0]);
	for (size_t c = 0; c <= ncuts; c++) {
		size_t end = c < ncuts ? cuts[c] : len;
		size_t pos = start;
		while (pos < end) {
			size_t used = 0;
			r = http_parser_feed(&p, (const uint8_t *)data + pos, end - pos, &used);
			pos += used;
			if (r == 1) {
				summarise_resp(&p.resp, out, cap);
				nresp++;
				http_parser_next(&p);
				http_parser_expect(&p, methods[nresp]);
				continue;
			}
			if (r < 0) {
				int st = p.status;
				http_parser_deinit(&p);
				return -st;
			}
		}
		start = end;
	}
	r = http_parser_eof(&p);
	if (r == 1) {
		summarise_resp(&p.resp, out, cap);
		nresp++;
	} else if (r < 0) {
		int st = p.status;
		http_parser_deinit(&p);
		return -st;
	}
	http_parser_deinit(&p);
	return nresp;
}

static const char responses[] =
	"HTTP/1.1 100 Continue\r\n\r\n"
	"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nETag: \"a\"\r\n\r\nhello"
	"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n"            /* answer to HEAD: no body */
	"HTTP/1.1 304 Not Modified\r\nContent-Length: 99\r\nETag: \"a\"\r\n\r\n"
	"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n1\r\nd\r\n0\r\n\r\n"
	"HTTP/1.1 204 No Content\r\n\r\n"
	"HTTP/1.0 200 OK\r\nServer: old\r\n\r\nuntil the end";

static const enum http_method resp_methods[] = {HTTP_METHOD_GET, HTTP_METHOD_HEAD, HTTP_METHOD_GET,
	HTTP_METHOD_GET, HTTP_METHOD_DELETE, HTTP_METHOD_GET, HTTP_METHOD_GET, HTTP_METHOD_GET};

static void responses_every_split(void **state)
{
	char ref[4096], out[4096];
	size_t len = strlen(responses);
	(void)state;
	assert_int_equal(run_resp(responses, len, NULL, 0, resp_methods, ref, sizeof(ref)), 6);
	assert_string_equal(ref,
		"200 1.1 ka=1 ch=0 [Content-Length=5] [ETag=\"a\"] body=hello\n"
		"200 1.1 ka=1 ch=0 [Content-Length=5] body=\n"
		"304 1.1 ka=1 ch=0 [Content-Length=99] [ETag=\"a\"] body=\n"
		"200 1.1 ka=1 ch=1 [Transfer-Encoding=chunked] body=abcd\n"
		"204 1.1 ka=1 ch=0 body=\n"
		"200 1.0 ka=0 ch=0 [Server=old] body=until the end\n");
	for (size_t i = 1; i < len; i++) {
		size_t cuts[1] = {i};
		assert_int_equal(run_resp(responses, len, cuts, 1, resp_methods, out, sizeof(out)), 6);
		assert_string_equal(out, ref);
	}
}

static void responses_refused(void **state)
{
	static const char *bad[] = {
		"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n",
		"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd",
		"HTTP/2.0 200 OK\r\n\r\n",
		"HTTP/1.1 20 OK\r\n\r\n",
		"HTTP/1.1 200 OK\r\nX: a\r\n folded\r\n\r\n",
		"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort",   /* cut short by EOF */
		"HTTP/1.1 200 OK\r\nContent-Length: 2000000\r\n\r\n",  /* above max_body */
		"garbage\r\n\r\n",
	};
	char out[1024];
	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int r = run_resp(bad[i], strlen(bad[i]), NULL, 0, resp_methods, out, sizeof(out));
		if (r != -502)
			fail_msg("response %zu: got %d, want -502", i, r);
	}
}

static int count_body(void *arg, const uint8_t *data, size_t len)
{
	size_t *n = arg;
	for (size_t i = 0; i < len; i++)
		if (data[i] != 'x')
			return -1;
	*n += len;
	return 0;
}

/* A streamed body is not kept and not limited. */
static void response_body_streamed(void **state)
{
	struct http_limits lim = {.max_body = 4};
	struct http_parser p;
	char data[256];
	size_t n = 0, used, pos = 0;
	(void)state;
	int hl = snprintf(data, sizeof(data), "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n");
	memset(data + hl, 'x', 100);
	assert_int_equal(http_parser_init_response(&p, &lim, &tmm), 0);
	http_parser_set_body_cb(&p, count_body, &n);
	int r = 0;
	while (pos < (size_t)hl + 100) {
		size_t piece = (size_t)hl + 100 - pos < 7 ? (size_t)hl + 100 - pos : 7;
		r = http_parser_feed(&p, (const uint8_t *)data + pos, piece, &used);
		pos += used;
		if (r != 0)
			break;
	}
	assert_int_equal(r, 1);
	assert_int_equal(n, 100);
	assert_int_equal(p.resp.status, 200);
	assert_null(p.resp.body);
	http_parser_deinit(&p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(pipelined_whole),
		cmocka_unit_test(pipelined_every_split),
		cmocka_unit_test(pipelined_byte_by_byte),
		cmocka_unit_test(http10_and_keepalive),
		cmocka_unit_test(refused),
		cmocka_unit_test(limits),
		cmocka_unit_test(limits_split),
		cmocka_unit_test(eof_mid_request),
		cmocka_unit_test(helpers),
		cmocka_unit_test(responses_every_split),
		cmocka_unit_test(responses_refused),
		cmocka_unit_test(response_body_streamed),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
