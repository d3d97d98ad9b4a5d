/* http_range.c -- single byte-range evaluation (RFC 9110 14.1.2, 14.2). */
#include <stdbool.h>
#include <string.h>
#include <strings.h>

#include "http_range.h"

static const char *ows(const char *s)
{
	while (*s == ' ' || *s == '\t')
		s++;
	return s;
}

/* Decimal without sign; false on no digits or overflow. */
static bool num(const char **s, uint64_t *out)
{
	const char *p = *s;
	uint64_t v = 0;
	if (*p < '0' || *p > '9')
		return false;
	while (*p >= '0' && *p <= '9') {
		unsigned d = (unsigned)(*p - '0');
		if (v > (UINT64_MAX - d) / 10)
			return false;
		v = v * 10 + d;
		p++;
	}
	*s = p;
	*out = v;
	return true;
}

enum http_range_result http_range_eval(const char *value, uint64_t size, uint64_t *first,
	uint64_t *last)
{
	const char *s = value;
	uint64_t a = 0, b = 0;
	bool has_a, has_b;

	/* range-unit is case-insensitive (RFC 9110 14.1). */
	if (strncasecmp(s, "bytes", 5) != 0)
		return HTTP_RANGE_NONE;
	s = ows(s + 5);
	if (*s++ != '=')
		return HTTP_RANGE_NONE;
	s = ows(s);
	has_a = num(&s, &a);
	if (*s++ != '-')
		return HTTP_RANGE_NONE;
	has_b = num(&s, &b);
	s = ows(s);
	/* More than one range: ours to ignore (answered 200 in full). */
	if (*s == ',')
		return HTTP_RANGE_NONE;
	if (*s != '\0')
		return HTTP_RANGE_NONE;
	if (!has_a && !has_b)
		return HTTP_RANGE_NONE;
	if (!has_a) {
		/* suffix-range: the last b bytes; satisfiable if b > 0 and size > 0. */
		if (b == 0 || size == 0)
			return HTTP_RANGE_UNSATISFIABLE;
		*first = b >= size ? 0 : size - b;
		*last = size - 1;
		return HTTP_RANGE_PARTIAL;
	}
	if (has_b && b < a)
		return HTTP_RANGE_NONE; /* invalid range-spec: the field is ignored */
	if (a >= size)
		return HTTP_RANGE_UNSATISFIABLE;
	*first = a;
	*last = (!has_b || b >= size) ? size - 1 : b;
	return HTTP_RANGE_PARTIAL;
}
