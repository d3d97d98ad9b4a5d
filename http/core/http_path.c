/* http_path.c -- percent-decoding and lexical normalisation of request paths. */
#include <stdbool.h>
#include <string.h>
#include <strings.h>

#include "dns_err.h"
#include "http_path.h"

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return DNS_E_SYNTAX;
}

int http_path_normalize(const char *target, size_t len, char *out, size_t size, const char **query)
{
	size_t o = 0, seg_start;
	size_t i = 0;

	if (query)
		*query = NULL;
	if (len == 0 || target[0] != '/')
		return DNS_E_SYNTAX;
	if (size < 2)
		return DNS_E_SPACE;
	out[o++] = '/';
	seg_start = o;
	while (i < len) {
		unsigned char c = (unsigned char)target[i];
		if (c == '?') {
			if (query)
				*query = target + i;
			break;
		}
		if (c == '%') {
			int hi, lo;
			if (i + 2 >= len)
				return DNS_E_SYNTAX;
			hi = hexval(target[i + 1]);
			lo = hexval(target[i + 2]);
			if (hi < 0 || lo < 0)
				return DNS_E_SYNTAX;
			c = (unsigned char)(hi * 16 + lo);
			i += 3;
		} else {
			i++;
		}
		/* NUL ends C strings early, controls have no place in a file name, and a
		 * backslash is a separator on other systems: reject, decoded or not. */
		if (c < 0x20 || c == 0x7f || c == '\\')
			return DNS_E_SYNTAX;
		/* A decoded %2F separates segments too: a file name cannot hold '/',
		 * and checking segments after decoding catches "..%2F" as well. */
		if (c == '/') {
			/* End of a segment: check what it was. */
			size_t sl = o - seg_start;
			if (sl == 2 && out[seg_start] == '.' && out[seg_start + 1] == '.')
				return DNS_E_SYNTAX;
			if (sl == 1 && out[seg_start] == '.')
				o = seg_start; /* "." segment: drop */
			/* empty segment (//): nothing was written, nothing to drop */
			if (o > seg_start) {
				if (o + 1 >= size)
					return DNS_E_SPACE;
				out[o++] = '/';
			}
			seg_start = o;
			continue;
		}
		if (o + 1 >= size)
			return DNS_E_SPACE;
		out[o++] = (char)c;
	}
	/* The last segment. */
	size_t sl = o - seg_start;
	if (sl == 2 && out[seg_start] == '.' && out[seg_start + 1] == '.')
		return DNS_E_SYNTAX;
	if (sl == 1 && out[seg_start] == '.')
		o = seg_start;
	out[o] = '\0';
	return (int)o;
}

const char *http_target_path(const char *target, const char **authority, size_t *alen)
{
	if (authority)
		*authority = NULL;
	if (alen)
		*alen = 0;
	if (target[0] == '/')
		return target;
	if (strncasecmp(target, "http://", 7) != 0)
		return NULL;
	const char *a = target + 7;
	size_t n = strcspn(a, "/?");
	if (n == 0)
		return NULL;
	if (authority)
		*authority = a;
	if (alen)
		*alen = n;
	if (a[n] == '/')
		return a + n;
	/* "http://host" or "http://host?q": the path is "/" (RFC 9112 3.2.1). */
	return a[n] == '\0' ? "/" : NULL;
}
