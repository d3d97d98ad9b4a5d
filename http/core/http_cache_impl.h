/*
 * http_cache_impl.h -- what the two halves of the cache share: the field
 * readers (http_cache_fields.c) and the store, its rules and its index
 * (http_cache.c). Private to them.
 */
#ifndef CAIRN_HTTP_CACHE_IMPL_H
#define CAIRN_HTTP_CACHE_IMPL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Optional white space (RFC 9110 5.6.3). */
static inline bool is_ows(char c)
{
	return c == ' ' || c == '\t';
}

/* delta-seconds (RFC 9111 1.2.2): digits only, capped at 2^31; DNS_E_SYNTAX when malformed. */
int64_t http_cache_delta_parse(const char *s, size_t len);
/* Does the comma-separated list value (NUL-terminated) name the token tok/len? */
bool http_cache_list_has(const char *value, const char *tok, size_t len);

#endif
