/*
 * test_config.c -- the config reader: argv, config files, precedence, every error
 * message, --help/--version, and the address/CIDR/size helpers.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dns_config_io.h"
#include "dns_err.h"

/* Every allocation of the reader goes through cmocka, so a leak fails the test. */
#include "test_mm.h"

/* The options of an imaginary program, one of each kind. */
struct settings {
	struct dns_config_vec listen; /* ADDR */
	unsigned threads;
	uint64_t cache_size;
	bool verbose;
	const char *name;
	const char *out;
	struct dns_config_vec allow;  /* CIDR */
	struct sockaddr_storage metrics;
	struct dns_cidr single_cidr;
	struct dns_config_vec zones;  /* STRING repeat */
	unsigned zone_cb_calls;
	char zone_seen[8][64];
};

static int zone_cb(void *ctx, const char *value, char *err, size_t errlen)
{
	struct settings *s = ctx;
	if (strchr(value, '=') == NULL) {
		snprintf(err, errlen, "expected ORIGIN=FILE, got '%s'", value);
		return DNS_E_SYNTAX;
	}
	if (s->zone_cb_calls < 8)
		snprintf(s->zone_seen[s->zone_cb_calls], sizeof(s->zone_seen[0]), "%s", value);
	s->zone_cb_calls++;
	return 0;
}

static struct settings S;

static const struct dns_opt opts[] = {
	{ .name = "listen", .type = DNS_OPT_ADDR, .flags = DNS_OPT_REPEAT, .target = &S.listen,
	  .default_port = 53, .help = "address to answer on" },
	{ .name = "threads", .type = DNS_OPT_UINT, .target = &S.threads, .min = 1, .max = 64,
	  .help = "worker threads" },
	{ .name = "cache-size", .type = DNS_OPT_SIZE, .target = &S.cache_size, .min = 1024,
	  .help = "cache memory" },
	{ .name = "verbose", .short_name = 'v', .type = DNS_OPT_FLAG, .target = &S.verbose,
	  .help = "log more" },
	{ .name = "name", .type = DNS_OPT_STRING, .target = &S.name, .metavar = "TEXT", .help = "a name" },
	{ .name = "out", .short_name = 'o', .type = DNS_OPT_STRING, .target = &S.out, .flags = DNS_OPT_CLI_ONLY,
	  .metavar = "FILE", .help = "output file" },
	{ .name = "allow", .type = DNS_OPT_CIDR, .flags = DNS_OPT_REPEAT, .target = &S.allow,
	  .help = "clients allowed" },
	{ .name = "metrics", .type = DNS_OPT_ADDR, .target = &S.metrics, .default_port = 9153,
	  .help = "metrics endpoint" },
	{ .name = "net", .type = DNS_OPT_CIDR, .target = &S.single_cidr, .help = "one network" },
	{ .name = "zone", .type = DNS_OPT_CALLBACK, .flags = DNS_OPT_REPEAT, .cb = zone_cb, .cb_ctx = &S,
	  .metavar = "ORIGIN=FILE", .help = "serve a zone" },
	{ .name = "tag", .type = DNS_OPT_STRING, .flags = DNS_OPT_REPEAT, .target = &S.zones, .help = "tags" },
	{ .name = NULL },
};

static struct dns_config cfg;

static int setup(void **state)
{
	memset(&S, 0, sizeof(S));
	assert_int_equal(dns_config_init_files(&cfg, opts, &tmm), 0);
	return 0;
}

static int teardown(void **state)
{
	dns_config_deinit(&cfg);
	assert_null(S.listen.items);
	return 0;
}

/* Parse an argv given as a NULL-terminated list. */
static int parse(const char *first, ...)
{
	char *argv[64];
	int argc = 0;
	va_list ap;
	argv[argc++] = (char *)"/usr/sbin/prog";
	va_start(ap, first);
	for (const char *a = first; a != NULL; a = va_arg(ap, const char *))
		argv[argc++] = (char *)a;
	va_end(ap);
	argv[argc] = NULL;
	int rc = dns_config_parse_argv(&cfg, argc, argv);
	return rc;
}

static int text(const char *t)
{
	return dns_config_parse_text(&cfg, "test.conf", t, strlen(t));
}

static uint16_t port_of(const struct sockaddr_storage *ss)
{
	return ntohs(ss->ss_family == AF_INET ? ((const struct sockaddr_in *)ss)->sin_port
					      : ((const struct sockaddr_in6 *)ss)->sin6_port);
}

static void assert_addr(const struct sockaddr_storage *ss, const char *want)
{
	char buf[80];
	assert_string_equal(dns_addr_format((const struct sockaddr *)ss, buf, sizeof(buf)), want);
}

static void test_argv_all_types(void **state)
{
	assert_int_equal(parse("--listen", "127.0.0.1@5353", "--listen=::1", "--threads", "4",
			       "--cache-size=64M", "-v", "--name", "hello", "-o", "out.bin", "pos1",
			       "--allow", "10.0.0.0/8", "--allow=2001:db8::/32", "--metrics", "127.0.0.2",
			       "--zone", "example.=ex.zone", "--tag", "a", "--tag=b", "--net", "192.168.1.7/24",
			       "--", "--pos2", NULL), 0);
	assert_int_equal(cfg.action, DNS_CONFIG_RUN);
	assert_string_equal(cfg.prog, "prog");
	assert_int_equal(S.listen.n, 2);
	assert_addr(&DNS_CONFIG_VEC_AT(&S.listen, struct sockaddr_storage, 0), "127.0.0.1@5353");
	assert_addr(&DNS_CONFIG_VEC_AT(&S.listen, struct sockaddr_storage, 1), "::1@53");
	assert_int_equal(S.threads, 4);
	assert_int_equal(S.cache_size, 64ull << 20);
	assert_true(S.verbose);
	assert_string_equal(S.name, "hello");
	assert_string_equal(S.out, "out.bin");
	assert_int_equal(S.allow.n, 2);
	assert_int_equal(DNS_CONFIG_VEC_AT(&S.allow, struct dns_cidr, 0).family, AF_INET);
	assert_int_equal(DNS_CONFIG_VEC_AT(&S.allow, struct dns_cidr, 0).len, 8);
	assert_int_equal(DNS_CONFIG_VEC_AT(&S.allow, struct dns_cidr, 1).family, AF_INET6);
	assert_int_equal(DNS_CONFIG_VEC_AT(&S.allow, struct dns_cidr, 1).len, 32);
	assert_addr(&S.metrics, "127.0.0.2@9153");
	assert_int_equal(S.zone_cb_calls, 1);
	assert_string_equal(S.zone_seen[0], "example.=ex.zone");
	assert_int_equal(S.zones.n, 2);
	assert_string_equal(DNS_CONFIG_VEC_AT(&S.zones, const char *, 0), "a");
	assert_string_equal(DNS_CONFIG_VEC_AT(&S.zones, const char *, 1), "b");
	assert_int_equal(S.single_cidr.len, 24);
	assert_int_equal(S.single_cidr.addr[3], 0); /* host bits cleared */
	assert_int_equal(cfg.nargs, 2);
	assert_string_equal(cfg.args[0], "pos1");
	assert_string_equal(cfg.args[1], "--pos2");
}

static void test_argv_short_attached_and_last_wins(void **state)
{
	assert_int_equal(parse("-oout1", "--threads", "2", "--threads", "3", "-", NULL), 0);
	assert_string_equal(S.out, "out1");
	assert_int_equal(S.threads, 3);
	assert_int_equal(cfg.nargs, 1);
	assert_string_equal(cfg.args[0], "-");
}

static void test_file_syntax(void **state)
{
	assert_int_equal(text("# a comment\n"
			      "\n"
			      "   listen 127.0.0.1@5300   # trailing comment\n"
			      "listen=::1@5301\r\n"
			      "threads = 2\n"
			      "\tverbose\n"
			      "name a#b\n"
			      "cache-size 1G\n"
			      "tag one\n"
			      "tag two"), 0);
	assert_int_equal(S.listen.n, 2);
	assert_addr(&DNS_CONFIG_VEC_AT(&S.listen, struct sockaddr_storage, 0), "127.0.0.1@5300");
	assert_addr(&DNS_CONFIG_VEC_AT(&S.listen, struct sockaddr_storage, 1), "::1@5301");
	assert_int_equal(S.threads, 2);
	assert_true(S.verbose);
	assert_string_equal(S.name, "a#b"); /* '#' starts a comment only after blank space */
	assert_int_equal(S.cache_size, 1ull << 30);
	assert_int_equal(S.zones.n, 2);
	assert_string_equal(DNS_CONFIG_VEC_AT(&S.zones, const char *, 1), "two");
}

/* Write text to a new temporary file; returns its path in buf. */
static void write_tmp(char *path, size_t size, const char *content)
{
	snprintf(path, size, "/tmp/cairn-test-config-XXXXXX");
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, content, strlen(content)), (ssize_t)strlen(content));
	close(fd);
}

static void test_precedence(void **state)
{
	char path[64];
	write_tmp(path, sizeof(path),
		  "threads 2\n"
		  "listen 127.0.0.1@1\n"
		  "name fromfile\n"
		  "cache-size 2M\n");
	/* command line wins for single options wherever --config stands; repeatable ones add up */
	assert_int_equal(parse("--threads", "8", "--config", path, "--listen", "127.0.0.1@2", NULL), 0);
	assert_int_equal(S.threads, 8);
	assert_string_equal(S.name, "fromfile");
	assert_int_equal(S.cache_size, 2ull << 20);
	assert_int_equal(S.listen.n, 2);
	assert_int_equal(port_of(&DNS_CONFIG_VEC_AT(&S.listen, struct sockaddr_storage, 0)), 1);
	assert_int_equal(port_of(&DNS_CONFIG_VEC_AT(&S.listen, struct sockaddr_storage, 1)), 2);
	unlink(path);
}

static void test_file_include_and_depth(void **state)
{
	char inner[64], outer[64], loop[64], line[128];
	write_tmp(inner, sizeof(inner), "threads 5\n");
	snprintf(line, sizeof(line), "config %s\nname outer\n", inner);
	write_tmp(outer, sizeof(outer), line);
	assert_int_equal(dns_config_parse_file(&cfg, outer), 0);
	assert_int_equal(S.threads, 5);
	assert_string_equal(S.name, "outer");

	/* a file including itself stops at the depth limit with file:line */
	write_tmp(loop, sizeof(loop), "");
	FILE *f = fopen(loop, "w");
	assert_non_null(f);
	fprintf(f, "# self\nconfig %s\n", loop);
	fclose(f);
	assert_int_equal(dns_config_parse_file(&cfg, loop), DNS_E_CONFIG);
	char want[256];
	snprintf(want, sizeof(want), "%s:2: config files nested too deep at '%s'", loop, loop);
	assert_string_equal(cfg.err, want);
	unlink(inner);
	unlink(outer);
	unlink(loop);
}

/* Each argv mistake and its message. */
static void test_argv_errors(void **state)
{
	static const struct {
		const char *args[4];
		const char *msg;
	} cases[] = {
		{ { "--bogus" }, "option --bogus: unknown option" },
		{ { "--bogus=1" }, "option --bogus: unknown option" },
		{ { "-x" }, "option -x: unknown option" },
		{ { "--threads" }, "option --threads: missing argument" },
		{ { "-o" }, "option -o: missing argument" },
		{ { "--config" }, "option --config: missing argument" },
		{ { "--threads", "abc" }, "option --threads: bad number 'abc'" },
		{ { "--threads", "-1" }, "option --threads: bad number '-1'" },
		{ { "--threads=0" }, "option --threads: '0' is out of range 1..64" },
		{ { "--threads", "65" }, "option --threads: '65' is out of range 1..64" },
		{ { "--threads", "99999999999999999999999" },
		  "option --threads: '99999999999999999999999' is out of range 1..64" },
		{ { "--cache-size", "12Q" }, "option --cache-size: bad size '12Q'" },
		{ { "--cache-size", "1" }, "option --cache-size: '1' is out of range 1024..18446744073709551615" },
		{ { "--listen", "1.2.3.4@99999" }, "option --listen: bad address '1.2.3.4@99999'" },
		{ { "--listen", "localhost" }, "option --listen: bad address 'localhost'" },
		{ { "--listen", "1.2.3.4@" }, "option --listen: bad address '1.2.3.4@'" },
		{ { "--allow", "10.0.0.0/33" }, "option --allow: bad prefix '10.0.0.0/33'" },
		{ { "--verbose=yes" }, "option --verbose: takes no argument" },
		{ { "--help=1" }, "option --help: takes no argument" },
		{ { "--zone", "nofile" }, "option --zone: expected ORIGIN=FILE, got 'nofile'" },
		{ { "--config", "/nonexistent/cairn.conf" }, "/nonexistent/cairn.conf: No such file or directory" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		dns_config_deinit(&cfg);
		assert_int_equal(dns_config_init_files(&cfg, opts, &tmm), 0);
		int rc = parse(cases[i].args[0], cases[i].args[1], cases[i].args[2], NULL);
		if (strstr(cases[i].msg, "No such file") != NULL)
			assert_int_equal(rc, -ENOENT);
		else
			assert_int_equal(rc, DNS_E_CONFIG);
		assert_string_equal(cfg.err, cases[i].msg);
	}
}

/* Each config-file mistake and its FILE:LINE message. */
static void test_file_errors(void **state)
{
	static const struct {
		const char *text;
		const char *msg;
	} cases[] = {
		{ "threads 2\nbogus 1\n", "test.conf:2: unknown option 'bogus'" },
		{ "threads 2\n\nthreads 3\n", "test.conf:3: duplicate option 'threads'" },
		{ "threads\n", "test.conf:1: option 'threads' needs an argument" },
		{ "threads # none\n", "test.conf:1: option 'threads' needs an argument" },
		{ "threads x1\n", "test.conf:1: threads: bad number 'x1'" },
		{ "threads 100\n", "test.conf:1: threads: '100' is out of range 1..64" },
		{ "cache-size 5T\n", "test.conf:1: cache-size: bad size '5T'" },
		{ "# c\nlisten 300.1.1.1\n", "test.conf:2: listen: bad address '300.1.1.1'" },
		{ "allow 10.0.0.0/x\n", "test.conf:1: allow: bad prefix '10.0.0.0/x'" },
		{ "verbose yes\n", "test.conf:1: option 'verbose' takes no argument" },
		{ "out file\n", "test.conf:1: option 'out' is only for the command line" },
		{ "help\n", "test.conf:1: option 'help' is only for the command line" },
		{ "config\n", "test.conf:1: option 'config' needs an argument" },
		{ "zone bad\n", "test.conf:1: zone: expected ORIGIN=FILE, got 'bad'" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		dns_config_deinit(&cfg);
		assert_int_equal(dns_config_init_files(&cfg, opts, &tmm), 0);
		assert_int_equal(text(cases[i].text), DNS_E_CONFIG);
		assert_string_equal(cfg.err, cases[i].msg);
	}

	/* a line too long and a NUL byte */
	char *big = malloc(5000);
	assert_non_null(big);
	memset(big, 'a', 4999);
	big[4999] = '\0';
	assert_int_equal(text(big), DNS_E_CONFIG);
	assert_string_equal(cfg.err, "test.conf:1: line too long");
	free(big);
	assert_int_equal(dns_config_parse_text(&cfg, "n.conf", "threads 1\nna\0me x\n", 18), DNS_E_CONFIG);
	assert_string_equal(cfg.err, "n.conf:2: NUL byte in line");

	/* the same option in two files is not a duplicate: the later file wins */
	assert_int_equal(text("name one\n"), 0);
	assert_int_equal(text("name two\n"), 0);
	assert_string_equal(S.name, "two");
}

static void test_file_error_via_argv(void **state)
{
	char path[64], want[128];
	write_tmp(path, sizeof(path), "threads 2\nlisten 1.2.3.4@x\n");
	assert_int_equal(parse("--config", path, NULL), DNS_E_CONFIG);
	snprintf(want, sizeof(want), "%s:2: listen: bad address '1.2.3.4@x'", path);
	assert_string_equal(cfg.err, want);
	unlink(path);
}

static void test_shadowed_file_value_still_checked(void **state)
{
	char path[64], want[128];
	/* a file value hidden by the command line is still validated: typos don't hide */
	write_tmp(path, sizeof(path), "threads 0\n");
	assert_int_equal(parse("--threads", "3", "--config", path, NULL), DNS_E_CONFIG);
	snprintf(want, sizeof(want), "%s:1: threads: '0' is out of range 1..64", path);
	assert_string_equal(cfg.err, want);
	unlink(path);
}

static void test_help_version(void **state)
{
	char buf[4096];
	assert_int_equal(parse("--threads", "2", "--help", "--bogus", NULL), 0);
	assert_int_equal(cfg.action, DNS_CONFIG_HELP);
	size_t need = dns_config_help(&cfg, "[options] ZONEFILE", buf, sizeof(buf));
	assert_int_equal(need, strlen(buf));
	assert_non_null(strstr(buf, "usage: prog [options] ZONEFILE\n"));
	assert_non_null(strstr(buf, "--listen ADDR@PORT"));
	assert_non_null(strstr(buf, "address to answer on (repeatable)"));
	assert_non_null(strstr(buf, "--threads N"));
	assert_non_null(strstr(buf, "-v, --verbose "));
	assert_non_null(strstr(buf, "-o, --out FILE"));
	assert_non_null(strstr(buf, "--zone ORIGIN=FILE"));
	assert_non_null(strstr(buf, "--config FILE"));
	assert_non_null(strstr(buf, "--version"));
	/* truncation: like snprintf, the needed length and a terminated prefix */
	char small[16];
	assert_int_equal(dns_config_help(&cfg, "[options] ZONEFILE", small, sizeof(small)), need);
	assert_int_equal(strlen(small), sizeof(small) - 1);

	dns_config_deinit(&cfg);
	assert_int_equal(dns_config_init_files(&cfg, opts, &tmm), 0);
	assert_int_equal(parse("--version", NULL), 0);
	assert_int_equal(cfg.action, DNS_CONFIG_VERSION);
}

static void test_addr_parse(void **state)
{
	struct sockaddr_storage ss;
	char buf[80];
	assert_int_equal(dns_addr_parse("127.0.0.1@5353", 53, &ss), 0);
	assert_int_equal(ss.ss_family, AF_INET);
	assert_int_equal(port_of(&ss), 5353);
	assert_int_equal(dns_addr_parse("10.1.2.3", 53, &ss), 0);
	assert_string_equal(dns_addr_format((struct sockaddr *)&ss, buf, sizeof(buf)), "10.1.2.3@53");
	assert_int_equal(dns_addr_parse("::1@0", 53, &ss), 0);
	assert_int_equal(ss.ss_family, AF_INET6);
	assert_int_equal(port_of(&ss), 0);
	assert_int_equal(dns_addr_parse("[2001:db8::1]@65535", 53, &ss), 0);
	assert_string_equal(dns_addr_format((struct sockaddr *)&ss, buf, sizeof(buf)), "2001:db8::1@65535");
	assert_int_equal(dns_addr_parse("fe80::1", 853, &ss), 0);
	assert_int_equal(port_of(&ss), 853);
	assert_int_equal(dns_addr_parse("", 53, &ss), DNS_E_SYNTAX);
	assert_int_equal(dns_addr_parse("@53", 53, &ss), DNS_E_SYNTAX);
	assert_int_equal(dns_addr_parse("1.2.3.4@65536", 53, &ss), DNS_E_SYNTAX);
	assert_int_equal(dns_addr_parse("1.2.3.4@-1", 53, &ss), DNS_E_SYNTAX);
	assert_int_equal(dns_addr_parse("1.2.3@53", 53, &ss), DNS_E_SYNTAX);
	assert_int_equal(dns_addr_parse("::g", 53, &ss), DNS_E_SYNTAX);
	assert_int_equal(dns_addr_parse("example.com@53", 53, &ss), DNS_E_SYNTAX);
	assert_int_equal(dns_addr_parse(NULL, 53, &ss), DNS_E_SYNTAX);
}

static void sa4(struct sockaddr_storage *ss, const char *a)
{
	memset(ss, 0, sizeof(*ss));
	ss->ss_family = AF_INET;
	assert_int_equal(inet_pton(AF_INET, a, &((struct sockaddr_in *)ss)->sin_addr), 1);
}

static void sa6(struct sockaddr_storage *ss, const char *a)
{
	memset(ss, 0, sizeof(*ss));
	ss->ss_family = AF_INET6;
	assert_int_equal(inet_pton(AF_INET6, a, &((struct sockaddr_in6 *)ss)->sin6_addr), 1);
}

static void test_cidr(void **state)
{
	struct dns_cidr c;
	struct sockaddr_storage ss;

	assert_int_equal(dns_cidr_parse("10.0.0.0/8", &c), 0);
	sa4(&ss, "10.255.1.2");
	assert_true(dns_cidr_match(&c, (struct sockaddr *)&ss));
	sa4(&ss, "11.0.0.0");
	assert_false(dns_cidr_match(&c, (struct sockaddr *)&ss));
	sa6(&ss, "::ffff:10.1.1.1"); /* IPv4-mapped matches the IPv4 prefix */
	assert_true(dns_cidr_match(&c, (struct sockaddr *)&ss));
	sa6(&ss, "::10.1.1.1");
	assert_false(dns_cidr_match(&c, (struct sockaddr *)&ss));

	assert_int_equal(dns_cidr_parse("192.168.1.77/20", &c), 0); /* host bits cleared */
	assert_int_equal(c.addr[2], 0);
	assert_int_equal(c.addr[3], 0);
	sa4(&ss, "192.168.15.255");
	assert_true(dns_cidr_match(&c, (struct sockaddr *)&ss));
	sa4(&ss, "192.168.16.0");
	assert_false(dns_cidr_match(&c, (struct sockaddr *)&ss));

	assert_int_equal(dns_cidr_parse("0.0.0.0/0", &c), 0);
	sa4(&ss, "203.0.113.9");
	assert_true(dns_cidr_match(&c, (struct sockaddr *)&ss));
	sa6(&ss, "2001:db8::1");
	assert_false(dns_cidr_match(&c, (struct sockaddr *)&ss));

	assert_int_equal(dns_cidr_parse("2001:db8::/33", &c), 0);
	assert_int_equal(c.family, AF_INET6);
	sa6(&ss, "2001:db8:7fff::1");
	assert_true(dns_cidr_match(&c, (struct sockaddr *)&ss));
	sa6(&ss, "2001:db8:8000::1");
	assert_false(dns_cidr_match(&c, (struct sockaddr *)&ss));
	sa4(&ss, "32.1.13.184");
	assert_false(dns_cidr_match(&c, (struct sockaddr *)&ss));

	assert_int_equal(dns_cidr_parse("127.0.0.1", &c), 0);
	assert_int_equal(c.len, 32);
	sa4(&ss, "127.0.0.1");
	assert_true(dns_cidr_match(&c, (struct sockaddr *)&ss));
	sa4(&ss, "127.0.0.2");
	assert_false(dns_cidr_match(&c, (struct sockaddr *)&ss));

	assert_int_equal(dns_cidr_parse("::/129", &c), DNS_E_SYNTAX);
	assert_int_equal(dns_cidr_parse("1.2.3.4/", &c), DNS_E_SYNTAX);
	assert_int_equal(dns_cidr_parse("/8", &c), DNS_E_SYNTAX);
	assert_int_equal(dns_cidr_parse("1.2.3.4/8/8", &c), DNS_E_SYNTAX);
	assert_int_equal(dns_cidr_parse("host/8", &c), DNS_E_SYNTAX);
}

static void test_size_parse(void **state)
{
	uint64_t v;
	assert_int_equal(dns_size_parse("0", &v), 0);
	assert_int_equal(v, 0);
	assert_int_equal(dns_size_parse("100", &v), 0);
	assert_int_equal(v, 100);
	assert_int_equal(dns_size_parse("4k", &v), 0);
	assert_int_equal(v, 4096);
	assert_int_equal(dns_size_parse("64M", &v), 0);
	assert_int_equal(v, 64ull << 20);
	assert_int_equal(dns_size_parse("3G", &v), 0);
	assert_int_equal(v, 3ull << 30);
	assert_int_equal(dns_size_parse("17179869184G", &v), -ERANGE);
	assert_int_equal(dns_size_parse("18446744073709551616", &v), -ERANGE);
	assert_int_equal(dns_size_parse("M", &v), DNS_E_SYNTAX);
	assert_int_equal(dns_size_parse("", &v), DNS_E_SYNTAX);
	assert_int_equal(dns_size_parse("1.5G", &v), DNS_E_SYNTAX);
	assert_int_equal(dns_size_parse("64MB", &v), DNS_E_SYNTAX);
	assert_int_equal(dns_size_parse(" 64M", &v), DNS_E_SYNTAX);
}

/*
 * The core reads no file itself: without a reader (dns_config_init() alone) a config
 * file is refused with a message; a file too large for the reader says so.
 */
static void test_file_reader(void **state)
{
	char path[64];
	write_tmp(path, sizeof(path), "threads 3\n");
	dns_config_deinit(&cfg);
	assert_int_equal(dns_config_init(&cfg, opts, &tmm), 0);
	assert_int_equal(dns_config_parse_file(&cfg, path), DNS_E_UNSUPPORTED);
	char want[128];
	snprintf(want, sizeof(want), "%s: config files cannot be read here", path);
	assert_string_equal(cfg.err, want);
	assert_int_equal(S.threads, 0);
	dns_config_use_files(&cfg);
	assert_int_equal(dns_config_parse_file(&cfg, path), 0);
	assert_int_equal(S.threads, 3);
	unlink(path);
	/* 16 MiB is the limit: /dev/zero goes past it */
	assert_int_equal(dns_config_parse_file(&cfg, "/dev/zero"), DNS_E_CONFIG);
	assert_string_equal(cfg.err, "/dev/zero: file too large");
}

/* cmocka checks for leaks before a teardown runs: set up and tear down inside the test. */
#define WRAPPED(fn) \
	static void fn##_w(void **state) { setup(state); fn(state); teardown(state); }
WRAPPED(test_argv_all_types)
WRAPPED(test_argv_short_attached_and_last_wins)
WRAPPED(test_file_syntax)
WRAPPED(test_precedence)
WRAPPED(test_file_include_and_depth)
WRAPPED(test_argv_errors)
WRAPPED(test_file_errors)
WRAPPED(test_file_error_via_argv)
WRAPPED(test_shadowed_file_value_still_checked)
WRAPPED(test_help_version)
WRAPPED(test_file_reader)

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_argv_all_types_w),
		cmocka_unit_test(test_argv_short_attached_and_last_wins_w),
		cmocka_unit_test(test_file_syntax_w),
		cmocka_unit_test(test_precedence_w),
		cmocka_unit_test(test_file_include_and_depth_w),
		cmocka_unit_test(test_argv_errors_w),
		cmocka_unit_test(test_file_errors_w),
		cmocka_unit_test(test_file_error_via_argv_w),
		cmocka_unit_test(test_shadowed_file_value_still_checked_w),
		cmocka_unit_test(test_help_version_w),
		cmocka_unit_test(test_file_reader_w),
		cmocka_unit_test(test_addr_parse),
		cmocka_unit_test(test_cidr),
		cmocka_unit_test(test_size_parse),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
