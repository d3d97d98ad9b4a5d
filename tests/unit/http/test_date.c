/* Unit tests of http_date: IMF-fixdate format and the three parse forms (RFC 9110 5.6.7). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "dns_err.h"
#include "http_date.h"

static void format_known(void **state)
{
	char buf[HTTP_DATE_LEN];
	(void)state;
	assert_int_equal(http_date_format(784111777, buf, sizeof(buf)), 29);
	assert_string_equal(buf, "Sun, 06 Nov 1994 08:49:37 GMT");
	assert_int_equal(http_date_format(0, buf, sizeof(buf)), 29);
	assert_string_equal(buf, "Thu, 01 Jan 1970 00:00:00 GMT");
	assert_int_equal(http_date_format(951782400, buf, sizeof(buf)), 29);
	assert_string_equal(buf, "Tue, 29 Feb 2000 00:00:00 GMT");
	assert_int_equal(http_date_format(1795774695, buf, sizeof(buf)), 29);
	assert_string_equal(buf, "Fri, 27 Nov 2026 10:18:15 GMT");
	assert_int_equal(http_date_format(-1, buf, sizeof(buf)), -ERANGE);
	assert_int_equal(http_date_format(0, buf, 29), DNS_E_SPACE);
}

static int64_t parse(const char *s)
{
	int64_t t = -12345;
	if (http_date_parse(s, strlen(s), &t) < 0)
		return -1;
	return t;
}

static void parse_forms(void **state)
{
	(void)state;
	assert_int_equal(parse("Sun, 06 Nov 1994 08:49:37 GMT"), 784111777);
	assert_int_equal(parse("Sunday, 06-Nov-94 08:49:37 GMT"), 784111777);
	assert_int_equal(parse("Sun Nov  6 08:49:37 1994"), 784111777);
	assert_int_equal(parse("Sun Nov 16 08:49:37 1994"), 784111777 + 10 * 86400);
	assert_int_equal(parse("Thursday, 01-Jan-37 00:00:00 GMT"), 2114380800); /* 2037 */
	/* the day name is not checked against the date (it is redundant) */
	assert_int_equal(parse("Mon, 06 Nov 1994 08:49:37 GMT"), 784111777);
}

static void parse_bad(void **state)
{
	static const char *bad[] = {
		"", "Sun, 06 Nov 1994 08:49:37", "Sun, 06 Nov 1994 08:49:37 UTC",
		"Sun, 6 Nov 1994 08:49:37 GMT", "Sun, 06 Nov 94 08:49:37 GMT",
		"Sun, 06 Foo 1994 08:49:37 GMT", "Sun, 31 Nov 1994 08:49:37 GMT",
		"Sun, 29 Feb 1900 08:49:37 GMT", "Sun, 06 Nov 1994 24:00:00 GMT",
		"Sun, 06 Nov 1994 08:60:00 GMT", "Sun, 06 Nov 1994 08:49:37 GMT ",
		" Sun, 06 Nov 1994 08:49:37 GMT", "sun, 06 Nov 1994 08:49:37 GMT",
		"Sun Nov 6 08:49:37 1994", "1994-11-06T08:49:37Z", "784111777", "Sun, 00 Nov 1994 08:49:37 GMT",
	};
	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (parse(bad[i]) != -1)
			fail_msg("accepted '%s'", bad[i]);
}

static void roundtrip(void **state)
{
	char buf[HTTP_DATE_LEN];
	(void)state;
	for (int64_t t = 0; t < 253402300799LL; t += 86400LL * 367 + 3601 * 7 + 13) {
		assert_int_equal(http_date_format(t, buf, sizeof(buf)), 29);
		assert_int_equal(parse(buf), t);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(format_known),
		cmocka_unit_test(parse_forms),
		cmocka_unit_test(parse_bad),
		cmocka_unit_test(roundtrip),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
