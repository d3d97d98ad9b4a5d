/*
 * http_date.h -- HTTP dates (RFC 9110 5.6.7).
 *
 * Senders use IMF-fixdate only ("Sun, 06 Nov 1994 08:49:37 GMT"); recipients
 * must also accept the obsolete RFC 850 form ("Sunday, 06-Nov-94 08:49:37 GMT")
 * and asctime's ("Sun Nov  6 08:49:37 1994"). Times are seconds since the Unix
 * epoch, UTC. Pure: the caller passes the time; nothing here reads the clock.
 */
#ifndef CAIRN_HTTP_DATE_H
#define CAIRN_HTTP_DATE_H

#include <stddef.h>
#include <stdint.h>

/* Bytes of an IMF-fixdate plus its NUL. */
#define HTTP_DATE_LEN 30

/*
 * Write t as an IMF-fixdate into buf (at least HTTP_DATE_LEN bytes). Returns
 * 29, or DNS_E_SPACE when size is too small or -ERANGE when t is before 1970
 * or after year 9999.
 */
int http_date_format(int64_t t, char *buf, size_t size);
/*
 * Parse an HTTP-date in any of the three forms into *t. Returns 0, or
 * DNS_E_SYNTAX (a recipient then ignores the field: RFC 9110 13.1.3, 13.1.4).
 * A two-digit RFC 850 year yy is read as 20yy when yy < 70, else 19yy: a
 * fixed pivot, since RFC 9110 5.6.7's "more than 50 years in the future" rule
 * needs a clock the core does not read.
 */
int http_date_parse(const char *s, size_t len, int64_t *t);

#endif
