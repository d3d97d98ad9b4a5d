/* Unit tests of http_cond: entity-tag comparison and the precedence of RFC 9110 13.2.2. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "http_cond.h"

/* A request with up to four header fields. */
static struct http_request req(enum http_method m, struct http_header *h, const char *const *kv)
{
	struct http_request r;
	unsigned n = 0;
	memset(&r, 0, sizeof(r));
	r.method = m;
	for (; kv[2 * n]; n++) {
		h[n].name = kv[2 * n];
		h[n].name_len = strlen(kv[2 * n]);
		h[n].value = kv[2 * n + 1];
		h[n].value_len = strlen(kv[2 * n + 1]);
	}
	r.headers = h;
	r.n_headers = n;
	return r;
}

#define LM 784111777 /* Sun, 06 Nov 1994 08:49:37 GMT */

static int eval(enum http_method m, const char *const *kv)
{
	struct http_header h[4];
	struct http_request r = req(m, h, kv);
	struct http_validators v = {.etag = "\"abc\"", .has_mtime = true, .mtime = LM};
	return http_cond_eval(&r, &v);
}

static void etag_compare(void **state)
{
	(void)state;
	/* RFC 9110 8.8.3.2's table. */
	assert_false(http_etag_list_match("W/\"1\"", "W/\"1\"", false));
	assert_true(http_etag_list_match("W/\"1\"", "W/\"1\"", true));
	assert_false(http_etag_list_match("W/\"1\"", "W/\"2\"", true));
	assert_false(http_etag_list_match("W/\"1\"", "\"1\"", false));
	assert_true(http_etag_list_match("W/\"1\"", "\"1\"", true));
	assert_true(http_etag_list_match("\"1\"", "\"1\"", false));
	assert_true(http_etag_list_match("\"x\", \"y\" ,\"1\"", "\"1\"", false));
	assert_true(http_etag_list_match(" * ", "\"1\"", false));
	assert_false(http_etag_list_match("*", NULL, true));
	assert_false(http_etag_list_match("1", "\"1\"", true));        /* unquoted */
	assert_false(http_etag_list_match("\"1", "\"1\"", true));      /* unterminated */
	assert_false(http_etag_list_match("\"a\" junk", "\"a\"", true));
	assert_false(http_etag_list_match("\"a b\"", "\"a b\"", true)); /* space not an etagc */
	assert_false(http_etag_list_match("", "\"1\"", true));
	char buf[HTTP_ETAG_MAX];
	assert_true(http_etag_make(buf, sizeof(buf), 0x1234, 10, 1000000001) > 0);
	assert_string_equal(buf, "\"1234-a-3b9aca01\"");
	assert_true(http_etag_list_match(buf, buf, false));
}

static void none_match(void **state)
{
	(void)state;
	assert_int_equal(eval(HTTP_METHOD_GET, (const char *[]){"If-None-Match", "\"abc\"", NULL}), 304);
	assert_int_equal(eval(HTTP_METHOD_HEAD, (const char *[]){"If-None-Match", "W/\"abc\"", NULL}), 304);
	assert_int_equal(eval(HTTP_METHOD_GET, (const char *[]){"If-None-Match", "\"x\", \"abc\"", NULL}), 304);
	assert_int_equal(eval(HTTP_METHOD_GET, (const char *[]){"If-None-Match", "*", NULL}), 304);
	assert_int_equal(eval(HTTP_METHOD_GET, (const char *[]){"If-None-Match", "\"abd\"", NULL}), 0);
	/* Unsafe methods get 412 instead of 304. */
	assert_int_equal(eval(HTTP_METHOD_PUT, (const char *[]){"If-None-Match", "*", NULL}), 412);
}

static void modified_since(void **state)
{
	(void)state;
	assert_int_equal(eval(HTTP_METHOD_GET,
				 (const char *[]){"If-Modified-Since", "Sun, 06 Nov 1994 08:49:37 GMT", NULL}), 304);
	assert_int_equal(eval(HTTP_METHOD_GET,
				 (const char *[]){"If-Modified-Since", "Sun, 06 Nov 1994 08:49:38 GMT", NULL}), 304);
	assert_int_equal(eval(HTTP_METHOD_GET,
				 (const char *[]){"If-Modified-Since", "Sun, 06 Nov 1994 08:49:36 GMT", NULL}), 0);
	/* Not a date: ignored (13.1.3). */
	assert_int_equal(eval(HTTP_METHOD_GET, (const char *[]){"If-Modified-Since", "yesterday", NULL}), 0);
	/* Only GET and HEAD. */
	assert_int_equal(eval(HTTP_METHOD_POST,
				 (const char *[]){"If-Modified-Since", "Sun, 06 Nov 1994 08:49:37 GMT", NULL}), 0);
}

/* RFC 9110 13.2.2: If-None-Match wins over If-Modified-Since, both ways. */
static void precedence(void **state)
{
	(void)state;
	assert_int_equal(eval(HTTP_METHOD_GET, (const char *[]){"If-None-Match", "\"old\"",
				 "If-Modified-Since", "Sun, 06 Nov 1994 08:49:37 GMT", NULL}), 0);
	assert_int_equal(eval(HTTP_METHOD_GET, (const char *[]){"If-Modified-Since",
				 "Sun, 06 Nov 1990 08:49:37 GMT", "If-None-Match", "\"abc\"", NULL}), 304);
	/* If-Match first: a failing one gives 412 even if If-None-Match would give 304. */
	assert_int_equal(eval(HTTP_METHOD_GET, (const char *[]){"If-Match", "\"zzz\"",
				 "If-None-Match", "\"abc\"", NULL}), 412);
	assert_int_equal(eval(HTTP_METHOD_GET, (const char *[]){"If-Match", "\"abc\"", NULL}), 0);
	assert_int_equal(eval(HTTP_METHOD_GET, (const char *[]){"If-Match", "W/\"abc\"", NULL}), 412);
	assert_int_equal(eval(HTTP_METHOD_GET, (const char *[]){"If-Unmodified-Since",
				 "Sun, 06 Nov 1994 08:49:36 GMT", NULL}), 412);
	/* If-Unmodified-Since is ignored when If-Match is present. */
	assert_int_equal(eval(HTTP_METHOD_GET, (const char *[]){"If-Match", "*", "If-Unmodified-Since",
				 "Sun, 06 Nov 1994 08:49:36 GMT", NULL}), 0);
}

static void if_range(void **state)
{
	struct http_header h[4];
	struct http_validators v = {.etag = "\"abc\"", .has_mtime = true, .mtime = LM};
	struct http_request r;
	(void)state;
	r = req(HTTP_METHOD_GET, h, (const char *[]){NULL});
	assert_true(http_if_range_ok(&r, &v));
	r = req(HTTP_METHOD_GET, h, (const char *[]){"If-Range", "\"abc\"", NULL});
	assert_true(http_if_range_ok(&r, &v));
	r = req(HTTP_METHOD_GET, h, (const char *[]){"If-Range", "W/\"abc\"", NULL});
	assert_false(http_if_range_ok(&r, &v));
	r = req(HTTP_METHOD_GET, h, (const char *[]){"If-Range", "\"abd\"", NULL});
	assert_false(http_if_range_ok(&r, &v));
	r = req(HTTP_METHOD_GET, h, (const char *[]){"If-Range", "Sun, 06 Nov 1994 08:49:37 GMT", NULL});
	assert_true(http_if_range_ok(&r, &v));
	r = req(HTTP_METHOD_GET, h, (const char *[]){"If-Range", "Sun, 06 Nov 1994 08:49:38 GMT", NULL});
	assert_false(http_if_range_ok(&r, &v));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(etag_compare),
		cmocka_unit_test(none_match),
		cmocka_unit_test(modified_since),
		cmocka_unit_test(precedence),
		cmocka_unit_test(if_range),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
