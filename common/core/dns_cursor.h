/*
 * dns_cursor.h -- bounds-checked reading of wire data.
 *
 * Every parser of outside input reads through a cursor: each read checks the
 * remaining length first and fails with DNS_E_SHORT instead of running off the
 * end. The cursor never allocates and never copies more than asked.
 */
#ifndef CAIRN_DNS_CURSOR_H
#define CAIRN_DNS_CURSOR_H

#include <stddef.h>
#include <stdint.h>

struct dns_cursor {
	const uint8_t *base; /* start of the whole message (compression pointers are offsets into it) */
	size_t len;          /* length of the whole message */
	size_t pos;          /* offset of the next byte to read */
};

/* Start reading buf[0..len). */
void dns_cursor_init(struct dns_cursor *c, const uint8_t *buf, size_t len);
/* Bytes left to read. */
static inline size_t dns_cursor_left(const struct dns_cursor *c) { return c->len - c->pos; }

int dns_cursor_u8(struct dns_cursor *c, uint8_t *v);
int dns_cursor_u16(struct dns_cursor *c, uint16_t *v);   /* network byte order in, host out */
int dns_cursor_u32(struct dns_cursor *c, uint32_t *v);
/* Point *p at the next n bytes and advance past them (no copy). */
int dns_cursor_bytes(struct dns_cursor *c, size_t n, const uint8_t **p);
int dns_cursor_skip(struct dns_cursor *c, size_t n);

/*
 * Read a domain name at the cursor, following compression pointers (RFC 1035 4.1.4).
 * Each pointer must point strictly before the pointer itself, so loops cannot
 * happen; labels are at most 63 octets, the whole name at most 255 (with the root).
 * Writes the uncompressed wire form, case kept, into out (DNS_NAME_MAX bytes) and
 * its length into *outlen (may be NULL). The cursor ends after the name as stored
 * here (after the first pointer if there was one).
 */
int dns_cursor_name(struct dns_cursor *c, uint8_t *out, size_t *outlen);
/* Skip a possibly compressed name, with the same checks as dns_cursor_name(). */
int dns_cursor_skip_name(struct dns_cursor *c);

#endif
