/*
 * test_mm.h -- the allocator unit tests hand to core code: every allocation goes
 * through cmocka's checked test_malloc/test_free, so a leak or a double free
 * fails the test (STYLE.md, Memory). Include after <cmocka.h>.
 */
#ifndef CAIRN_TEST_MM_H
#define CAIRN_TEST_MM_H

#include <stddef.h>

#include "dns_mem.h"

static inline void *test_mm_alloc(void *ctx, size_t n)
{
	(void)ctx;
	return test_malloc(n);
}

static inline void test_mm_free(void *ctx, void *p)
{
	(void)ctx;
	if (p)
		test_free(p);
}

/* The checked allocator as a struct dns_mm. */
static const struct dns_mm tmm = {test_mm_alloc, test_mm_free, NULL};

#endif
