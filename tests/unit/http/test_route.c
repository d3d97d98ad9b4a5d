/*
 * Unit tests of http_route: the origin and path of a request to cairn-edge,
 * by Host or absolute-form authority (ports and a trailing dot ignored, case
 * folded) and by the /ORIGIN-HOST/path form. No sockets, no allocation.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "dns_err.h"
#include "http_route.h"

static const char *const hosts[] = {"www.cdn.test", "files.test", "[::1]"};
#define NHOSTS (sizeof(hosts) / sizeof(hosts[0]))

/* A GET of target, with a Host field unless host is NULL (then HTTP/1.0). */
struct req {
	struct http_header h[1];
	struct http_request r;
};

static const struct http_request *req_make(struct req *q, const char *target, const char *host)
{
	memset(q, 0, sizeof(*q));
	q->r.method = HTTP_METHOD_GET;
	q->r.method_name = "GET";
	q->r.target = target;
	q->r.target_len = strlen(target);
	q->r.version_major = 1;
	q->r.version_minor = host ? 1 : 0;
	if (host) {
		q->h[0] = (struct http_header){.name = "Host", .name_len = 4, .value = host,
			.value_len = strlen(host)};
		q->r.headers = q->h;
		q->r.n_headers = 1;
	}
	return &q->r;
}

/* Route a GET of target (Host: host) into *rt; http_route_find()'s code. */
static int route(const char *target, const char *host, struct http_route *rt)
{
	struct req q;
	return http_route_find(hosts, NHOSTS, req_make(&q, target, host), rt);
}

static void by_host(void **state)
{
	static struct http_route rt;
	(void)state;
	assert_int_equal(route("/a/b?c=d", "www.cdn.test", &rt), 0);
	assert_int_equal(rt.origin, 0);
	assert_string_equal(rt.path, "/a/b?c=d");
	assert_string_equal(rt.host, "www.cdn.test");
	/* the port, a trailing dot and the case do not matter */
	assert_int_equal(route("/", "WWW.Cdn.Test:8080", &rt), 0);
	assert_int_equal(rt.origin, 0);
	assert_string_equal(rt.host, "WWW.Cdn.Test");
	assert_int_equal(route("/x", "files.test.", &rt), 0);
	assert_int_equal(rt.origin, 1);
	assert_string_equal(rt.path, "/x");
	assert_int_equal(route("/x", "files.test.:80", &rt), 0);
	assert_int_equal(rt.origin, 1);
	/* an IPv6 literal keeps its brackets, loses its port */
	assert_int_equal(route("/v6", "[::1]:8080", &rt), 0);
	assert_int_equal(rt.origin, 2);
	assert_string_equal(rt.host, "[::1]");
}

static void absolute_form(void **state)
{
	static struct http_route rt;
	(void)state;
	/* RFC 9112 3.2.2: the target's authority wins over Host */
	assert_int_equal(route("http://files.test:81/p?q", "www.cdn.test", &rt), 0);
	assert_int_equal(rt.origin, 1);
	assert_string_equal(rt.path, "/p?q");
	assert_int_equal(route("http://files.test", "www.cdn.test", &rt), 0);
	assert_int_equal(rt.origin, 1);
	assert_string_equal(rt.path, "/");
}

static void by_path(void **state)
{
	static struct http_route rt;
	(void)state;
	assert_int_equal(route("/files.test/dir/f.txt?v=1", "edge.test", &rt), 0);
	assert_int_equal(rt.origin, 1);
	assert_string_equal(rt.path, "/dir/f.txt?v=1");
	assert_string_equal(rt.host, "edge.test");
	assert_int_equal(route("/files.test", "edge.test", &rt), 0);
	assert_string_equal(rt.path, "/");
	assert_int_equal(route("/FILES.TEST?x", NULL, &rt), 0);
	assert_int_equal(rt.origin, 1);
	assert_string_equal(rt.path, "/?x");
	assert_string_equal(rt.host, "");
	/* a known Host is taken as it is, even when the path names another origin */
	assert_int_equal(route("/files.test/x", "www.cdn.test", &rt), 0);
	assert_int_equal(rt.origin, 0);
	assert_string_equal(rt.path, "/files.test/x");
}

static void no_origin(void **state)
{
	static struct http_route rt;
	(void)state;
	assert_int_equal(route("/x", "unknown.test:8080", &rt), DNS_E_NOTFOUND);
	assert_string_equal(rt.host, "unknown.test");
	assert_int_equal(route("/", NULL, &rt), DNS_E_NOTFOUND);
	assert_int_equal(route("//x", "unknown.test", &rt), DNS_E_NOTFOUND);
	assert_int_equal(route("/www.cdn.testx/y", "unknown.test", &rt), DNS_E_NOTFOUND);
	/* a prefix of a configured name is not that name */
	assert_int_equal(route("/", "www.cdn", &rt), DNS_E_NOTFOUND);
	assert_int_equal(http_route_find(hosts, 0, &(struct http_request){.target = "/",
		.method = HTTP_METHOD_GET}, &rt), DNS_E_NOTFOUND);
}

static void bad_target(void **state)
{
	static struct http_route rt;
	static char longt[HTTP_DEFAULT_MAX_URI + 16];
	(void)state;
	assert_int_equal(route("*", "www.cdn.test", &rt), DNS_E_SYNTAX);
	assert_int_equal(route("www.cdn.test:443", "www.cdn.test", &rt), DNS_E_SYNTAX);
	assert_int_equal(route("ftp://www.cdn.test/", "www.cdn.test", &rt), DNS_E_SYNTAX);
	memset(longt, 'a', sizeof(longt) - 1);
	longt[0] = '/';
	assert_int_equal(route(longt, "www.cdn.test", &rt), DNS_E_SYNTAX);
	/* the longest path that fits */
	longt[sizeof(rt.path) - 1] = '\0';
	assert_int_equal(route(longt, "www.cdn.test", &rt), 0);
	assert_int_equal(strlen(rt.path), sizeof(rt.path) - 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(by_host),
		cmocka_unit_test(absolute_form),
		cmocka_unit_test(by_path),
		cmocka_unit_test(no_origin),
		cmocka_unit_test(bad_target),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
