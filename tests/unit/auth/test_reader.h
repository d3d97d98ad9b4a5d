/*
 * test_reader.h -- the struct auth_zone_reader of the unit tests that load
 * fixture files: dns_file_read() through the checked allocator, so a buffer
 * the loader fails to give back fails the test. Include after test_mm.h.
 */
#ifndef CAIRN_TEST_READER_H
#define CAIRN_TEST_READER_H

#include <stddef.h>

#include "auth_zone.h"
#include "dns_file.h"

static inline int test_reader_read(void *ctx, const char *path, char **text, size_t *len)
{
	(void)ctx;
	return dns_file_read(path, 0, &tmm, text, len);
}

static inline void test_reader_release(void *ctx, char *text, size_t len)
{
	(void)ctx;
	(void)len;
	mm_free(&tmm, text);
}

/* Reads the fixtures from the file system. */
static const struct auth_zone_reader test_reader = {test_reader_read, test_reader_release, NULL};

#endif
