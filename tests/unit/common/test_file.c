/*
 * test_file.c -- dns_file_read(): whole files, limits and errors, every buffer
 * through the checked allocator.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dns_file.h"
#include "test_mm.h"

static char dir[] = "/tmp/cairn-test-file-XXXXXX";

static const char *path_of(const char *name)
{
	static char p[128];
	snprintf(p, sizeof(p), "%s/%s", dir, name);
	return p;
}

static void write_file(const char *name, const void *data, size_t n)
{
	FILE *f = fopen(path_of(name), "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(data, 1, n, f), n);
	assert_int_equal(fclose(f), 0);
}

static void test_read(void **state)
{
	char *buf = NULL;
	size_t len = 0;
	write_file("small", "one\ntwo\n", 8);
	assert_int_equal(dns_file_read(path_of("small"), 0, &tmm, &buf, &len), 0);
	assert_int_equal(len, 8);
	assert_string_equal(buf, "one\ntwo\n"); /* NUL-terminated */
	mm_free(&tmm, buf);

	/* larger than any first guess, with NUL bytes inside */
	size_t big = 300000;
	char *data = malloc(big);
	for (size_t i = 0; i < big; i++)
		data[i] = (char)(i * 7);
	write_file("big", data, big);
	assert_int_equal(dns_file_read(path_of("big"), 0, &tmm, &buf, &len), 0);
	assert_int_equal(len, big);
	assert_memory_equal(buf, data, big);
	assert_int_equal(buf[big], 0);
	mm_free(&tmm, buf);
	free(data);

	write_file("empty", "", 0);
	assert_int_equal(dns_file_read(path_of("empty"), 0, &tmm, &buf, &len), 0);
	assert_int_equal(len, 0);
	assert_int_equal(buf[0], 0);
	mm_free(&tmm, buf);
}

static void test_limit(void **state)
{
	char *buf = (char *)"untouched";
	size_t len = 99;
	write_file("ten", "0123456789", 10);
	assert_int_equal(dns_file_read(path_of("ten"), 10, &tmm, &buf, &len), 0);
	assert_int_equal(len, 10);
	mm_free(&tmm, buf);
	buf = (char *)"untouched";
	assert_int_equal(dns_file_read(path_of("ten"), 9, &tmm, &buf, &len), -EFBIG);
	assert_string_equal(buf, "untouched");
	/* /dev/zero never ends: the limit stops it */
	assert_int_equal(dns_file_read("/dev/zero", 100000, &tmm, &buf, &len), -EFBIG);
}

static void test_errors(void **state)
{
	char *buf = NULL;
	size_t len = 0;
	assert_int_equal(dns_file_read(path_of("missing"), 0, &tmm, &buf, &len), -ENOENT);
	assert_int_equal(dns_file_read(dir, 0, &tmm, &buf, &len), -EISDIR);
	assert_null(buf);
}

static int setup(void **state)
{
	return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
	const char *names[] = { "small", "big", "empty", "ten" };
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		unlink(path_of(names[i]));
	return rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_read),
		cmocka_unit_test(test_limit),
		cmocka_unit_test(test_errors),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
