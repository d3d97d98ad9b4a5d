/* Unit tests of http_path: decoding and normalisation, and a table of hostile paths. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "dns_err.h"
#include "http_mime.h"
#include "http_path.h"

static int norm(const char *in, char *out, size_t size)
{
	return http_path_normalize(in, strlen(in), out, size, NULL);
}

static void good_paths(void **state)
{
	static const char *cases[][2] = {
		{"/", "/"},
		{"/index.html", "/index.html"},
		{"/a/b/c.txt", "/a/b/c.txt"},
		{"/a/", "/a/"},
		{"//a///b", "/a/b"},
		{"/./a/./b/.", "/a/b/"},
		{"/a%20b", "/a b"},
		{"/%7euser/%41", "/~user/A"},
		{"/a/b?x=1&y=%2e%2e", "/a/b"},
		{"/..a/b..", "/..a/b.."},       /* not a ".." segment */
		{"/.hidden/...", "/.hidden/..."},
		{"/caf%C3%A9", "/caf\xc3\xa9"},
		{"/a%2Fb", "/a/b"},             /* decoded slash separates */
	};
	char out[256];
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int r = norm(cases[i][0], out, sizeof(out));
		if (r < 0 || strcmp(out, cases[i][1]) != 0)
			fail_msg("'%s': got %d '%s', want '%s'", cases[i][0], r, r < 0 ? "" : out, cases[i][1]);
		assert_int_equal((size_t)r, strlen(out));
	}
}

/* Paths that must never reach the file system. */
static void hostile_paths(void **state)
{
	static const char *bad[] = {
		"/..", "/../etc/passwd", "/a/../../etc/passwd", "/a/..", "/a/../b",
		"/%2e%2e/etc/passwd", "/%2E%2E/", "/a/%2E%2E/%2e%2e/etc", "/.%2e/x", "/%2e./x",
		"/..%2fetc/passwd", "/a%2f..%2f..%2fetc", "/..%2F", "/a/..?q",
		"/a\\..\\b", "/a%5c..%5cb", "/%5c", "/a%00.html", "/a\0b",
		"/a%", "/a%2", "/a%zz", "/a%2g", "/a\tb", "/a%0d%0aSet-Cookie:x", "/a%7f",
		"a/b", "", "*", "http://h/x", "%2e%2e/x",
	};
	char out[256];
	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		size_t len = strlen(bad[i]);
		if (strcmp(bad[i], "/a") == 0) /* "/a\0b": the NUL is in the bytes */
			len = 4;
		int r = http_path_normalize(bad[i], len, out, sizeof(out), NULL);
		if (r != DNS_E_SYNTAX)
			fail_msg("accepted hostile path %zu '%s' as '%s'", i, bad[i], out);
	}
}

static void query_and_space(void **state)
{
	const char *q;
	char out[16];
	(void)state;
	assert_int_equal(http_path_normalize("/a?b", 4, out, sizeof(out), &q), 2);
	assert_string_equal(q, "?b");
	assert_int_equal(http_path_normalize("/a", 2, out, sizeof(out), &q), 2);
	assert_null(q);
	assert_int_equal(norm("/abcdefg", out, 8), DNS_E_SPACE);
	assert_int_equal(norm("/abcdefg", out, 9), 8);
	assert_int_equal(norm("/a/b/c/d", out, 8), DNS_E_SPACE);
}

static void target_forms(void **state)
{
	const char *a;
	size_t al;
	(void)state;
	assert_string_equal(http_target_path("/x", &a, &al), "/x");
	assert_null(a);
	assert_string_equal(http_target_path("http://h.test:8080/p?q", &a, &al), "/p?q");
	assert_int_equal(al, 11);
	assert_memory_equal(a, "h.test:8080", 11);
	assert_string_equal(http_target_path("HTTP://h", &a, &al), "/");
	assert_null(http_target_path("*", &a, &al));
	assert_null(http_target_path("h.test:443", &a, &al));
	assert_null(http_target_path("https://h/", &a, &al));
	assert_null(http_target_path("http:///x", &a, &al));
}

static void mime(void **state)
{
	(void)state;
	assert_string_equal(http_mime_type("/a/index.html"), "text/html; charset=utf-8");
	assert_string_equal(http_mime_type("/A.PNG"), "image/png");
	assert_string_equal(http_mime_type("/x.tar.gz"), "application/gzip");
	assert_string_equal(http_mime_type("/noext"), "application/octet-stream");
	assert_string_equal(http_mime_type("/dir.d/noext"), "application/octet-stream");
	assert_string_equal(http_mime_type("/x."), "application/octet-stream");
	assert_string_equal(http_mime_type("/x.unknown"), "application/octet-stream");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(good_paths),
		cmocka_unit_test(hostile_paths),
		cmocka_unit_test(query_and_space),
		cmocka_unit_test(target_forms),
		cmocka_unit_test(mime),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
