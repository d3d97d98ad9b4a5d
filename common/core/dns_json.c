/*
 * dns_json.c -- shared pieces of the JSON readers (dns_json.h).
 */
#include "dns_json.h"

#include <arpa/inet.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "dns_err.h"

int dns_json_vfail(const struct dns_json_err *e, int code, const char *path,
	const char *fmt, va_list ap)
{
	char reason[512];
	vsnprintf(reason, sizeof(reason), fmt, ap);
	if (e->err && e->errlen) {
		if (path && *path)
			snprintf(e->err, e->errlen, "%s: %s: %s", e->file, path, reason);
		else
			snprintf(e->err, e->errlen, "%s: %s", e->file, reason);
	}
	return code;
}

int dns_json_fail(const struct dns_json_err *e, int code, const char *path,
	const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int r = dns_json_vfail(e, code, path, fmt, ap);
	va_end(ap);
	return r;
}

const char *dns_json_kind(const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_OBJECT: return "an object";
	case JSON_ARRAY: return "an array";
	case JSON_STRING: return "a string";
	case JSON_INTEGER: return "an integer";
	case JSON_REAL: return "a number";
	case JSON_TRUE:
	case JSON_FALSE: return "a boolean";
	case JSON_NULL: return "null";
	}
	return "?";
}

int dns_json_check_keys(const struct dns_json_err *e, const json_t *obj,
	const char *path, const char *const *allowed)
{
	const char *key;
	json_t *v;
	json_object_foreach((json_t *)obj, key, v) {
		bool ok = false;
		for (const char *const *a = allowed; *a; a++)
			if (strcmp(key, *a) == 0)
				ok = true;
		if (!ok) {
			char k[128];
			dns_json_show(k, sizeof(k), key);
			return dns_json_fail(e, DNS_E_CONFIG, path, "unknown key \"%s\"", k);
		}
	}
	return 0;
}

void dns_json_show(char *out, size_t cap, const char *s)
{
	size_t n = 0;
	if (!cap)
		return;
	for (; *s && n + 1 < cap && n < 100; s++)
		out[n++] = ((unsigned char)*s < 0x20 || *s == '"' || *s == 0x7f) ? '?' : *s;
	out[n] = '\0';
}

bool dns_json_dc_name_ok(const char *s, size_t max)
{
	size_t n = strlen(s);
	if (n == 0 || n > max)
		return false;
	for (; *s; s++) {
		char ch = *s;
		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		      (ch >= '0' && ch <= '9') || ch == '_' || ch == '.' || ch == '-'))
			return false;
	}
	return true;
}

int dns_json_prefix(const struct dns_json_err *e, const char *text, const char *path,
	uint8_t *family, uint8_t addr[16], unsigned *len)
{
	char buf[64];
	const char *slash = strchr(text, '/');
	size_t al = slash ? (size_t)(slash - text) : strlen(text);
	int af;

	memset(addr, 0, 16);
	if (al >= sizeof(buf))
		return dns_json_fail(e, DNS_E_CONFIG, path, "not an address prefix (ADDR/LEN)");
	memcpy(buf, text, al);
	buf[al] = '\0';
	if (inet_pton(AF_INET, buf, addr) == 1)
		af = AF_INET;
	else if (inet_pton(AF_INET6, buf, addr) == 1)
		af = AF_INET6;
	else
		return dns_json_fail(e, DNS_E_CONFIG, path, "\"%.100s\" is not an IP address", buf);
	unsigned max = af == AF_INET ? 32 : 128, l = max;
	if (slash) {
		const char *q = slash + 1;
		if (!*q || strlen(q) > 3)
			return dns_json_fail(e, DNS_E_CONFIG, path, "bad prefix length");
		l = 0;
		for (; *q; q++) {
			if (*q < '0' || *q > '9')
				return dns_json_fail(e, DNS_E_CONFIG, path, "bad prefix length");
			l = l * 10 + (unsigned)(*q - '0');
		}
		if (l > max)
			return dns_json_fail(e, DNS_E_CONFIG, path,
				"prefix length %u is longer than %u", l, max);
	}
	for (unsigned b = l; b < max; b++)
		if (addr[b >> 3] & (0x80 >> (b & 7))) {
			uint8_t fixed[16];
			char t[INET6_ADDRSTRLEN];
			memcpy(fixed, addr, 16);
			for (unsigned c = l; c < max; c++)
				fixed[c >> 3] &= (uint8_t)~(0x80 >> (c & 7));
			inet_ntop(af, fixed, t, sizeof(t));
			return dns_json_fail(e, DNS_E_CONFIG, path,
				"host bits are set (the network is %s/%u)", t, l);
		}
	*family = af == AF_INET ? 4 : 6;
	*len = l;
	return 0;
}
