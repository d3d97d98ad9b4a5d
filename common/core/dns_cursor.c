/* dns_cursor.c -- bounds-checked reads of wire data. */
#include <string.h>

#include "dns_cursor.h"
#include "dns_err.h"
#include "dns_name.h"

void dns_cursor_init(struct dns_cursor *c, const uint8_t *buf, size_t len)
{
	c->base = buf;
	c->len = len;
	c->pos = 0;
}

int dns_cursor_u8(struct dns_cursor *c, uint8_t *v)
{
	if (dns_cursor_left(c) < 1)
		return DNS_E_SHORT;
	*v = c->base[c->pos++];
	return 0;
}

int dns_cursor_u16(struct dns_cursor *c, uint16_t *v)
{
	if (dns_cursor_left(c) < 2)
		return DNS_E_SHORT;
	*v = (uint16_t)(c->base[c->pos] << 8 | c->base[c->pos + 1]);
	c->pos += 2;
	return 0;
}

int dns_cursor_u32(struct dns_cursor *c, uint32_t *v)
{
	if (dns_cursor_left(c) < 4)
		return DNS_E_SHORT;
	const uint8_t *p = c->base + c->pos;
	*v = (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
	c->pos += 4;
	return 0;
}

int dns_cursor_bytes(struct dns_cursor *c, size_t n, const uint8_t **p)
{
	if (dns_cursor_left(c) < n)
		return DNS_E_SHORT;
	*p = c->base + c->pos;
	c->pos += n;
	return 0;
}

int dns_cursor_skip(struct dns_cursor *c, size_t n)
{
	if (dns_cursor_left(c) < n)
		return DNS_E_SHORT;
	c->pos += n;
	return 0;
}

/*
 * Walk a name starting at c->pos. Loops are impossible because every pointer
 * must target an offset strictly below the pointer's own offset, so each jump
 * moves backwards and the walk ends. out may be NULL (skip only).
 */
static int read_name(struct dns_cursor *c, uint8_t *out, size_t *outlen)
{
	size_t pos = c->pos, end = 0, n = 0;
	bool jumped = false;

	for (;;) {
		if (pos >= c->len)
			return DNS_E_SHORT;
		uint8_t l = c->base[pos];
		if ((l & 0xc0) == 0xc0) {
			if (pos + 1 >= c->len)
				return DNS_E_SHORT;
			size_t target = (size_t)(l & 0x3f) << 8 | c->base[pos + 1];
			if (target >= pos)
				return DNS_E_POINTER;
			if (!jumped) {
				end = pos + 2;
				jumped = true;
			}
			pos = target;
			continue;
		}
		if (l & 0xc0)
			return DNS_E_LABEL; /* 0x40 / 0x80: extended / reserved label types */
		if (n + 1 + l > DNS_NAME_MAX)
			return DNS_E_NAMELEN;
		if (pos + 1 + l > c->len)
			return DNS_E_SHORT;
		if (out)
			memcpy(out + n, c->base + pos, 1 + (size_t)l);
		n += 1 + (size_t)l;
		pos += 1 + (size_t)l;
		if (l == 0)
			break;
	}
	c->pos = jumped ? end : pos;
	if (outlen)
		*outlen = n;
	return 0;
}

int dns_cursor_name(struct dns_cursor *c, uint8_t *out, size_t *outlen)
{
	return read_name(c, out, outlen);
}

int dns_cursor_skip_name(struct dns_cursor *c)
{
	return read_name(c, NULL, NULL);
}
