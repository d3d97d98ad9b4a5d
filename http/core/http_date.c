/* http_date.c -- HTTP-date format and parse (RFC 9110 5.6.7). */
#include <errno.h>
#include <string.h>

#include "dns_err.h"
#include "http_date.h"

static const char days[7][4] = {"Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"}; /* from 1970-01-01 */
static const char *const long_days[7] = {"Thursday", "Friday", "Saturday", "Sunday", "Monday",
	"Tuesday", "Wednesday"};
static const char months[12][4] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep",
	"Oct", "Nov", "Dec"};

/* Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm). */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	unsigned yoe = (unsigned)(y - era * 400);
	unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (int64_t)doe - 719468;
}

static void civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
	z += 719468;
	int64_t era = (z >= 0 ? z : z - 146096) / 146097;
	unsigned doe = (unsigned)(z - era * 146097);
	unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	unsigned mp = (5 * doy + 2) / 153;
	*d = doy - (153 * mp + 2) / 5 + 1;
	*m = mp < 10 ? mp + 3 : mp - 9;
	*y = (int64_t)yoe + era * 400 + (*m <= 2);
}

int http_date_format(int64_t t, char *buf, size_t size)
{
	int64_t y;
	unsigned m, d;

	if (size < HTTP_DATE_LEN)
		return DNS_E_SPACE;
	if (t < 0 || t > 253402300799LL) /* 9999-12-31T23:59:59Z */
		return -ERANGE;
	int64_t dayn = t / 86400, sec = t % 86400;
	civil_from_days(dayn, &y, &m, &d);
	/* Written by hand: snprintf's "%02u" would be fine, but this never truncates silently. */
	char *p = buf;
	memcpy(p, days[dayn % 7], 3);
	p += 3;
	*p++ = ',';
	*p++ = ' ';
	*p++ = (char)('0' + d / 10);
	*p++ = (char)('0' + d % 10);
	*p++ = ' ';
	memcpy(p, months[m - 1], 3);
	p += 3;
	*p++ = ' ';
	*p++ = (char)('0' + y / 1000);
	*p++ = (char)('0' + y / 100 % 10);
	*p++ = (char)('0' + y / 10 % 10);
	*p++ = (char)('0' + y % 10);
	*p++ = ' ';
	unsigned hh = (unsigned)(sec / 3600), mm = (unsigned)(sec / 60 % 60), ss = (unsigned)(sec % 60);
	*p++ = (char)('0' + hh / 10);
	*p++ = (char)('0' + hh % 10);
	*p++ = ':';
	*p++ = (char)('0' + mm / 10);
	*p++ = (char)('0' + mm % 10);
	*p++ = ':';
	*p++ = (char)('0' + ss / 10);
	*p++ = (char)('0' + ss % 10);
	memcpy(p, " GMT", 4);
	p += 4;
	*p = '\0';
	return (int)(p - buf);
}

/* A small cursor over the field value. */
struct cur {
	const char *s, *end;
};

static int lit(struct cur *c, const char *w)
{
	size_t n = strlen(w);
	if ((size_t)(c->end - c->s) < n || memcmp(c->s, w, n) != 0)
		return DNS_E_SYNTAX;
	c->s += n;
	return 0;
}

static int digits(struct cur *c, unsigned n, unsigned *out)
{
	unsigned v = 0;
	if ((size_t)(c->end - c->s) < n)
		return DNS_E_SYNTAX;
	for (unsigned i = 0; i < n; i++) {
		if (c->s[i] < '0' || c->s[i] > '9')
			return DNS_E_SYNTAX;
		v = v * 10 + (unsigned)(c->s[i] - '0');
	}
	c->s += n;
	*out = v;
	return 0;
}

static int month(struct cur *c, unsigned *m)
{
	for (unsigned i = 0; i < 12; i++)
		if (lit(c, months[i]) == 0) {
			*m = i + 1;
			return 0;
		}
	return DNS_E_SYNTAX;
}

/* "HH:MM:SS" */
static int hms(struct cur *c, unsigned *h, unsigned *mi, unsigned *s)
{
	if (digits(c, 2, h) || lit(c, ":") || digits(c, 2, mi) || lit(c, ":") || digits(c, 2, s))
		return DNS_E_SYNTAX;
	/* 60 allows a leap second, as RFC 5322's time-of-day does. */
	return (*h > 23 || *mi > 59 || *s > 60) ? DNS_E_SYNTAX : 0;
}

static const unsigned mdays[12] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};

static int finish(int64_t y, unsigned m, unsigned d, unsigned h, unsigned mi, unsigned s, int64_t *t)
{
	if (m < 1 || m > 12 || d < 1 || d > mdays[m - 1])
		return DNS_E_SYNTAX;
	if (m == 2 && d == 29 && !((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
		return DNS_E_SYNTAX;
	*t = days_from_civil(y, m, d) * 86400 + h * 3600 + mi * 60 + s;
	return 0;
}

int http_date_parse(const char *str, size_t len, int64_t *t)
{
	struct cur c = {str, str + len};
	unsigned d, m, y, h, mi, s;
	int i;

	/* IMF-fixdate: "Sun, 06 Nov 1994 08:49:37 GMT" */
	for (i = 0; i < 7; i++) {
		struct cur k = c;
		if (lit(&k, days[i]) == 0 && lit(&k, ", ") == 0) {
			if (digits(&k, 2, &d) || lit(&k, " ") || month(&k, &m) || lit(&k, " ") ||
				digits(&k, 4, &y) || lit(&k, " ") || hms(&k, &h, &mi, &s) ||
				lit(&k, " GMT") || k.s != k.end)
				return DNS_E_SYNTAX;
			return finish(y, m, d, h, mi, s, t);
		}
	}
	/* rfc850-date: "Sunday, 06-Nov-94 08:49:37 GMT" */
	for (i = 0; i < 7; i++) {
		struct cur k = c;
		if (lit(&k, long_days[i]) == 0 && lit(&k, ", ") == 0) {
			if (digits(&k, 2, &d) || lit(&k, "-") || month(&k, &m) || lit(&k, "-") ||
				digits(&k, 2, &y) || lit(&k, " ") || hms(&k, &h, &mi, &s) ||
				lit(&k, " GMT") || k.s != k.end)
				return DNS_E_SYNTAX;
			return finish(y < 70 ? 2000 + y : 1900 + y, m, d, h, mi, s, t);
		}
	}
	/* asctime-date: "Sun Nov  6 08:49:37 1994" */
	for (i = 0; i < 7; i++) {
		struct cur k = c;
		if (lit(&k, days[i]) == 0 && lit(&k, " ") == 0) {
			if (month(&k, &m) || lit(&k, " "))
				return DNS_E_SYNTAX;
			if (lit(&k, " ") == 0) {
				if (digits(&k, 1, &d))
					return DNS_E_SYNTAX;
			} else if (digits(&k, 2, &d)) {
				return DNS_E_SYNTAX;
			}
			if (lit(&k, " ") || hms(&k, &h, &mi, &s) || lit(&k, " ") || digits(&k, 4, &y) ||
				k.s != k.end)
				return DNS_E_SYNTAX;
			return finish(y, m, d, h, mi, s, t);
		}
	}
	return DNS_E_SYNTAX;
}
