/*
 * test_rsvd_config.c -- cairn-resolver's options and access list
 * (resolver/io/rsvd_config.c): defaults, parsing, the checks of
 * rsvd_config_finish(), and the access list (built-in private ranges, longest
 * matching prefix wins, deny wins a tie); the root hints loader
 * (resolver/io/rsvd_hints.c).
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <cmocka.h>

#include "dns_config.h"
#include "dns_err.h"
#include "hints_fixture.h"
#include "rsvd.h"

/* Parse argv (NULL-terminated) into cfg and finish it; returns finish's result. */
static int parse(struct dns_config *p, struct rsvd_config *cfg, const char **argv, char *err,
	size_t errlen)
{
	int argc = 0;
	while (argv[argc])
		argc++;
	assert_int_equal(rsvd_config_init(p, cfg), 0);
	int r = dns_config_parse_argv(p, argc, (char **)argv);
	if (r < 0)
		return r;
	err[0] = '\0';
	return rsvd_config_finish(cfg, err, errlen);
}

static struct sockaddr_storage sa(const char *text)
{
	struct sockaddr_storage ss;
	memset(&ss, 0, sizeof(ss));
	if (strchr(text, ':')) {
		struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;
		in6->sin6_family = AF_INET6;
		assert_int_equal(inet_pton(AF_INET6, text, &in6->sin6_addr), 1);
	} else {
		struct sockaddr_in *in = (struct sockaddr_in *)&ss;
		in->sin_family = AF_INET;
		assert_int_equal(inet_pton(AF_INET, text, &in->sin_addr), 1);
	}
	return ss;
}

static bool allows(const struct rsvd_acl *acl, const char *text)
{
	struct sockaddr_storage ss = sa(text);
	return rsvd_acl_allows(acl, (const struct sockaddr *)&ss);
}

static void test_defaults(void **state)
{
	struct dns_config p;
	struct rsvd_config cfg;
	char err[512];
	const char *argv[] = {"cairn-resolver", "--listen", "127.0.0.1@5300", NULL};
	(void)state;
	assert_int_equal(parse(&p, &cfg, argv, err, sizeof(err)), 0);
	assert_int_equal(cfg.listen.n, 1);
	assert_int_equal(cfg.cache_size, 64ull << 20);
	assert_int_equal(cfg.min_ttl, 0);
	assert_int_equal(cfg.max_ttl, 86400);
	assert_int_equal(cfg.max_neg_ttl, 3600);
	assert_int_equal(cfg.threads, 1);
	assert_false(cfg.has_metrics);
	assert_null(cfg.trace);
	/* the built-in IANA hints: 13 servers, IPv4 and IPv6, port 53 */
	assert_true(cfg.hints.count >= 13);
	assert_int_equal(cfg.hints.hint[0].addr.port, 53);

	struct rsv_cache_opts co;
	rsvd_config_cache_opts(&cfg, &co);
	assert_int_equal(co.max_bytes, 64u << 20);
	assert_int_equal(co.max_ttl, 86400);
	static const uint8_t zero[16];
	assert_memory_not_equal(co.hash_key, zero, sizeof(zero)); /* keyed from getrandom */
	dns_config_deinit(&p);
}

static void test_values(void **state)
{
	struct dns_config p;
	struct rsvd_config cfg;
	char err[512], hints[] = "/tmp/rsvd-test-hints.XXXXXX";
	(void)state;
	int fd = mkstemp(hints);
	assert_true(fd >= 0);
	const char text[] = ". 3600000 NS a.root.test.\na.root.test. 3600000 A 192.0.2.53\n";
	assert_int_equal(write(fd, text, sizeof(text) - 1), (ssize_t)(sizeof(text) - 1));
	close(fd);
	const char *argv[] = {"cairn-resolver", "--listen", "127.0.0.1@5300", "--listen=::1",
		"--cache-size", "1M", "--min-ttl", "30", "--max-ttl", "600", "--max-negative-ttl", "60",
		"--threads", "2", "--root-hints", hints, "--upstream-port", "5300",
		"--metrics", "127.0.0.1@9999", "--no-ipv6", NULL};
	assert_int_equal(parse(&p, &cfg, argv, err, sizeof(err)), 0);
	assert_int_equal(cfg.listen.n, 2);
	assert_int_equal(cfg.cache_size, 1u << 20);
	assert_int_equal(cfg.min_ttl, 30);
	assert_int_equal(cfg.max_ttl, 600);
	assert_int_equal(cfg.max_neg_ttl, 60);
	assert_int_equal(cfg.threads, 2);
	assert_true(cfg.has_metrics);
	assert_true(cfg.no_ipv6);
	/* the hints file replaces the built-in hints, on the port given */
	assert_int_equal(cfg.hints.count, 1);
	assert_int_equal(cfg.hints.hint[0].addr.family, 4);
	assert_int_equal(cfg.hints.hint[0].addr.port, 5300);
	struct rsv_iter_opts io;
	rsvd_iter_opts(&cfg, &io);
	assert_false(io.ipv6);
	assert_true(io.ipv4);
	dns_config_deinit(&p);
	unlink(hints);
}

static void test_errors(void **state)
{
	struct dns_config p;
	struct rsvd_config cfg;
	char err[512];
	(void)state;

	const char *nolisten[] = {"cairn-resolver", NULL};
	assert_int_equal(parse(&p, &cfg, nolisten, err, sizeof(err)), DNS_E_CONFIG);
	assert_non_null(strstr(err, "listen"));
	dns_config_deinit(&p);

	/* --trace needs no listener */
	const char *trace[] = {"cairn-resolver", "--trace", "example.com", NULL};
	assert_int_equal(parse(&p, &cfg, trace, err, sizeof(err)), 0);
	assert_string_equal(cfg.trace, "example.com");
	dns_config_deinit(&p);

	const char *ttl[] = {"cairn-resolver", "--listen", "127.0.0.1", "--min-ttl", "700",
		"--max-ttl", "600", NULL};
	assert_int_equal(parse(&p, &cfg, ttl, err, sizeof(err)), DNS_E_CONFIG);
	assert_non_null(strstr(err, "min-ttl"));
	dns_config_deinit(&p);

	const char *level[] = {"cairn-resolver", "--listen", "127.0.0.1", "--log-level", "loud", NULL};
	assert_int_equal(parse(&p, &cfg, level, err, sizeof(err)), DNS_E_CONFIG);
	dns_config_deinit(&p);

	const char *nohints[] = {"cairn-resolver", "--listen", "127.0.0.1", "--root-hints",
		"/nonexistent/hints", NULL};
	assert_int_equal(parse(&p, &cfg, nohints, err, sizeof(err)), DNS_E_CONFIG);
	assert_non_null(strstr(err, "/nonexistent/hints"));
	dns_config_deinit(&p);

	const char *badcidr[] = {"cairn-resolver", "--listen", "127.0.0.1", "--allow", "10.0.0.0/33",
		NULL};
	assert_true(parse(&p, &cfg, badcidr, err, sizeof(err)) < 0);
	dns_config_deinit(&p);
}

static void test_acl_default(void **state)
{
	struct dns_config p;
	struct rsvd_config cfg;
	struct rsvd_acl acl;
	char err[512];
	const char *argv[] = {"cairn-resolver", "--listen", "127.0.0.1", NULL};
	(void)state;
	assert_int_equal(parse(&p, &cfg, argv, err, sizeof(err)), 0);
	assert_int_equal(rsvd_acl_build(&acl, &cfg), 0);
	/* loopback, RFC 1918, RFC 4193, link-local: served */
	assert_true(allows(&acl, "127.0.0.1"));
	assert_true(allows(&acl, "127.57.9.99"));
	assert_true(allows(&acl, "10.1.2.3"));
	assert_true(allows(&acl, "172.16.0.1"));
	assert_true(allows(&acl, "172.31.255.254"));
	assert_true(allows(&acl, "192.168.1.10"));
	assert_true(allows(&acl, "169.254.1.1"));
	assert_true(allows(&acl, "::1"));
	assert_true(allows(&acl, "fd12:3456::1"));
	assert_true(allows(&acl, "fe80::1"));
	assert_true(allows(&acl, "::ffff:192.168.1.10")); /* IPv4-mapped */
	/* everyone else: REFUSED (never an open resolver, RFC 5358) */
	assert_false(allows(&acl, "8.8.8.8"));
	assert_false(allows(&acl, "172.32.0.1"));
	assert_false(allows(&acl, "192.0.2.1"));
	assert_false(allows(&acl, "2001:db8::1"));
	assert_false(allows(&acl, "::ffff:8.8.8.8"));
	rsvd_acl_free(&acl);
	dns_config_deinit(&p);
}

static void test_acl_rules(void **state)
{
	struct dns_config p;
	struct rsvd_config cfg;
	struct rsvd_acl acl;
	char err[512];
	const char *argv[] = {"cairn-resolver", "--listen", "127.0.0.1",
		"--allow", "203.0.113.0/24", "--deny", "10.1.0.0/16", "--allow", "10.1.2.3/32",
		"--deny", "127.0.0.0/8", "--allow", "2001:db8::/32", "--deny", "2001:db8:bad::/48",
		NULL};
	(void)state;
	assert_int_equal(parse(&p, &cfg, argv, err, sizeof(err)), 0);
	assert_int_equal(rsvd_acl_build(&acl, &cfg), 0);
	assert_true(allows(&acl, "203.0.113.7"));      /* allow added to the defaults */
	assert_true(allows(&acl, "192.168.1.10"));     /* defaults stay */
	assert_false(allows(&acl, "10.1.9.9"));        /* /16 deny beats the default /8 */
	assert_true(allows(&acl, "10.2.0.1"));         /* outside the deny */
	assert_true(allows(&acl, "10.1.2.3"));         /* /32 allow beats the /16 deny */
	assert_false(allows(&acl, "127.0.0.1"));       /* same length as the default: deny wins */
	assert_true(allows(&acl, "::1"));
	assert_true(allows(&acl, "2001:db8:1::1"));
	assert_false(allows(&acl, "2001:db8:bad::1"));
	assert_false(allows(&acl, "8.8.8.8"));
	rsvd_acl_free(&acl);
	dns_config_deinit(&p);
}

/* The hints loader reads the file and hands it to rsv_hints_parse(). */
static void test_hints_load(void **state)
{
	(void)state;
	struct rsv_hints h;
	unsigned line = 0;
	const char *text = HINTS_FIXTURE;
	char path[] = "/tmp/rsv_hintsXXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	assert_int_equal(rsvd_hints_load(&h, path, 53, NULL), 0);
	assert_int_equal(h.count, 3);
	/* a bad line: its number, as from rsv_hints_parse() */
	const char bad[] = ". NS a.root.test.\nthis is not a record\n";
	fd = open(path, O_WRONLY | O_TRUNC);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, bad, sizeof(bad) - 1), (ssize_t)(sizeof(bad) - 1));
	close(fd);
	assert_int_equal(rsvd_hints_load(&h, path, 53, &line), DNS_E_SYNTAX);
	assert_int_equal(line, 2);
	unlink(path);
	assert_int_equal(rsvd_hints_load(&h, "/nonexistent/hints", 53, NULL), -ENOENT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_values),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_acl_default),
		cmocka_unit_test(test_acl_rules),
		cmocka_unit_test(test_hints_load),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
