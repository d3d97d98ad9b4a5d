/* Unit tests of http_range: single byte ranges, 206/416 decisions (RFC 9110 14.1.2, 14.2). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "http_range.h"

struct rcase {
	const char *value;
	uint64_t size;
	enum http_range_result want;
	uint64_t first, last;
};

static void ranges(void **state)
{
	static const struct rcase cases[] = {
		{"bytes=0-0", 1000, HTTP_RANGE_PARTIAL, 0, 0},
		{"bytes=0-499", 1000, HTTP_RANGE_PARTIAL, 0, 499},
		{"bytes=-500", 1000, HTTP_RANGE_PARTIAL, 500, 999},
		{"bytes=500-", 1000, HTTP_RANGE_PARTIAL, 500, 999},
		{"bytes=500-5000", 1000, HTTP_RANGE_PARTIAL, 500, 999},   /* end past the size: clamped */
		{"bytes=999-999", 1000, HTTP_RANGE_PARTIAL, 999, 999},
		{"bytes=-5000", 1000, HTTP_RANGE_PARTIAL, 0, 999},        /* suffix longer than the file */
		{"Bytes = 1-2", 1000, HTTP_RANGE_PARTIAL, 1, 2},          /* case, OWS */
		{"bytes=0-18446744073709551615", 10, HTTP_RANGE_PARTIAL, 0, 9},
		{"bytes=1000-", 1000, HTTP_RANGE_UNSATISFIABLE, 0, 0},
		{"bytes=1000-2000", 1000, HTTP_RANGE_UNSATISFIABLE, 0, 0},
		{"bytes=-0", 1000, HTTP_RANGE_UNSATISFIABLE, 0, 0},
		{"bytes=0-0", 0, HTTP_RANGE_UNSATISFIABLE, 0, 0},
		{"bytes=-1", 0, HTTP_RANGE_UNSATISFIABLE, 0, 0},
		{"bytes=5-1", 1000, HTTP_RANGE_NONE, 0, 0},                /* invalid: ignored */
		{"bytes=0-1,5-6", 1000, HTTP_RANGE_NONE, 0, 0},            /* several: whole */
		{"bytes=-", 1000, HTTP_RANGE_NONE, 0, 0},
		{"bytes=", 1000, HTTP_RANGE_NONE, 0, 0},
		{"items=0-1", 1000, HTTP_RANGE_NONE, 0, 0},
		{"bytes=a-b", 1000, HTTP_RANGE_NONE, 0, 0},
		{"bytes=1-2x", 1000, HTTP_RANGE_NONE, 0, 0},
		{"bytes=+1-2", 1000, HTTP_RANGE_NONE, 0, 0},
		{"bytes=99999999999999999999-", 1000, HTTP_RANGE_NONE, 0, 0}, /* overflow */
		{"bytes 0-1", 1000, HTTP_RANGE_NONE, 0, 0},
	};
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint64_t f = 77, l = 77;
		enum http_range_result r = http_range_eval(cases[i].value, cases[i].size, &f, &l);
		if (r != cases[i].want)
			fail_msg("'%s' size %llu: got %d want %d", cases[i].value,
				(unsigned long long)cases[i].size, r, cases[i].want);
		if (r == HTTP_RANGE_PARTIAL && (f != cases[i].first || l != cases[i].last))
			fail_msg("'%s': got %llu-%llu", cases[i].value, (unsigned long long)f,
				(unsigned long long)l);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(ranges),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
