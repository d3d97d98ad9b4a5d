/* dns_name.c -- wire-form domain names: length, case, order, text conversion. */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "dns_err.h"
#include "dns_name.h"

static inline uint8_t lower(uint8_t c)
{
	return (c >= 'A' && c <= 'Z') ? (uint8_t)(c + 32) : c;
}

size_t dns_name_len(const uint8_t *name)
{
	const uint8_t *p = name;
	while (*p)
		p += *p + 1;
	return (size_t)(p - name) + 1;
}

unsigned dns_name_labels(const uint8_t *name)
{
	unsigned n = 0;
	while (*name) {
		name += *name + 1;
		n++;
	}
	return n;
}

int dns_name_check(const uint8_t *buf, size_t len)
{
	size_t pos = 0;
	for (;;) {
		if (pos >= len)
			return DNS_E_SHORT;
		uint8_t l = buf[pos];
		if (l > DNS_LABEL_MAX)
			return DNS_E_LABEL;
		if (pos + 1 + l > DNS_NAME_MAX)
			return DNS_E_NAMELEN;
		pos += 1 + (size_t)l;
		if (l == 0)
			break;
	}
	return pos == len ? 0 : DNS_E_TRAILING;
}

size_t dns_name_lower(uint8_t *dst, const uint8_t *src)
{
	size_t i = 0;
	for (;;) {
		uint8_t l = src[i];
		dst[i++] = l;
		if (l == 0)
			return i;
		for (uint8_t k = 0; k < l; k++, i++)
			dst[i] = lower(src[i]);
	}
}

bool dns_name_eq(const uint8_t *a, const uint8_t *b)
{
	for (;;) {
		uint8_t l = *a;
		if (l != *b)
			return false;
		if (l == 0)
			return true;
		a++, b++;
		for (uint8_t k = 0; k < l; k++)
			if (lower(a[k]) != lower(b[k]))
				return false;
		a += l, b += l;
	}
}

/* Offsets of each label, so names can be walked from the root end. */
static unsigned label_offsets(const uint8_t *name, uint8_t off[128])
{
	unsigned n = 0;
	size_t pos = 0;
	while (name[pos]) {
		off[n++] = (uint8_t)pos;
		pos += name[pos] + 1;
	}
	return n;
}

int dns_name_cmp(const uint8_t *a, const uint8_t *b)
{
	uint8_t oa[128], ob[128];
	unsigned na = label_offsets(a, oa), nb = label_offsets(b, ob);

	/* RFC 4034 6.1: compare label by label from the most significant (rightmost). */
	while (na > 0 && nb > 0) {
		const uint8_t *la = a + oa[--na], *lb = b + ob[--nb];
		unsigned lena = la[0], lenb = lb[0];
		unsigned m = lena < lenb ? lena : lenb;
		for (unsigned k = 1; k <= m; k++) {
			uint8_t ca = lower(la[k]), cb = lower(lb[k]);
			if (ca != cb)
				return ca < cb ? -1 : 1;
		}
		if (lena != lenb)
			return lena < lenb ? -1 : 1;
	}
	if (na == nb)
		return 0;
	return na < nb ? -1 : 1;
}

const uint8_t *dns_name_strip(const uint8_t *name, unsigned n)
{
	while (n-- > 0 && *name)
		name += *name + 1;
	return name;
}

bool dns_name_is_sub(const uint8_t *name, const uint8_t *zone)
{
	unsigned ln = dns_name_labels(name), lz = dns_name_labels(zone);
	if (ln < lz)
		return false;
	return dns_name_eq(dns_name_strip(name, ln - lz), zone);
}

bool dns_name_is_wildcard(const uint8_t *name)
{
	return name[0] == 1 && name[1] == '*';
}

int dns_name_from_str(const char *text, const uint8_t *origin, uint8_t *out, size_t *outlen)
{
	size_t n = 0;
	const char *s = text;

	if (s[0] == '.' && s[1] == '\0') {
		out[0] = 0;
		if (outlen)
			*outlen = 1;
		return 0;
	}
	if (*s == '\0') {
		/* "" means the origin itself (as "@" does in zone files). */
		if (!origin)
			return DNS_E_SYNTAX;
		size_t ol = dns_name_len(origin);
		memcpy(out, origin, ol);
		if (outlen)
			*outlen = ol;
		return 0;
	}
	bool absolute = false;
	while (*s) {
		size_t lpos = n++;
		uint8_t llen = 0;
		if (*s == '.')
			return DNS_E_SYNTAX; /* empty label */
		while (*s && *s != '.') {
			int c = (unsigned char)*s++;
			if (c == '\\') {
				if (isdigit((unsigned char)s[0]) && isdigit((unsigned char)s[1]) &&
				    isdigit((unsigned char)s[2])) {
					c = (s[0] - '0') * 100 + (s[1] - '0') * 10 + (s[2] - '0');
					if (c > 255)
						return DNS_E_SYNTAX;
					s += 3;
				} else if (*s) {
					c = (unsigned char)*s++;
				} else {
					return DNS_E_SYNTAX;
				}
			}
			if (llen == DNS_LABEL_MAX)
				return DNS_E_LABEL;
			if (n + 1 >= DNS_NAME_MAX)
				return DNS_E_NAMELEN;
			out[n++] = (uint8_t)c;
			llen++;
		}
		out[lpos] = llen;
		if (*s == '.') {
			s++;
			if (*s == '\0')
				absolute = true;
		}
	}
	if (absolute || !origin) {
		out[n++] = 0;
	} else {
		size_t ol = dns_name_len(origin);
		if (n + ol > DNS_NAME_MAX)
			return DNS_E_NAMELEN;
		memcpy(out + n, origin, ol);
		n += ol;
	}
	if (outlen)
		*outlen = n;
	return 0;
}

int dns_name_to_str(const uint8_t *name, char *buf, size_t size)
{
	size_t n = 0;
	if (size < 2)
		return DNS_E_SPACE;
	if (name[0] == 0) {
		buf[0] = '.';
		buf[1] = '\0';
		return 1;
	}
	while (*name) {
		uint8_t l = *name++;
		for (uint8_t k = 0; k < l; k++) {
			uint8_t c = name[k];
			char tmp[5];
			int w;
			if (c == '.' || c == '\\' || c == '"' || c == '(' || c == ')' ||
			    c == ';' || c == '@' || c == '$')
				w = snprintf(tmp, sizeof(tmp), "\\%c", c);
			else if (c <= 0x20 || c >= 0x7f)
				w = snprintf(tmp, sizeof(tmp), "\\%03u", c);
			else
				w = snprintf(tmp, sizeof(tmp), "%c", c);
			if (n + (size_t)w + 2 > size)
				return DNS_E_SPACE;
			memcpy(buf + n, tmp, (size_t)w);
			n += (size_t)w;
		}
		buf[n++] = '.';
		name += l;
	}
	buf[n] = '\0';
	return (int)n;
}
