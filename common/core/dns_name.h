/*
 * dns_name.h -- domain names in wire form.
 *
 * Glossary: a "name" here is an uncompressed wire-format name: a sequence of
 * length-prefixed labels ending with the zero-length root label, at most 255
 * octets. "Canonical" is lower-case (RFC 4034 6.2). Names are compared without
 * regard to ASCII case (RFC 1035 2.3.3, RFC 4343) unless a function says otherwise.
 */
#ifndef CAIRN_DNS_NAME_H
#define CAIRN_DNS_NAME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DNS_NAME_MAX 255   /* octets in a wire name, root label included */
#define DNS_LABEL_MAX 63   /* octets in one label */
#define DNS_NAME_TEXT_MAX 1024 /* room for any name in presentation form with escapes */

/* Wire length of a valid name (including the root label). */
size_t dns_name_len(const uint8_t *name);
/* Number of labels, not counting the root ("." has 0). */
unsigned dns_name_labels(const uint8_t *name);
/* Check that buf[0..len) holds exactly one valid uncompressed name. */
int dns_name_check(const uint8_t *buf, size_t len);

/* ASCII lower-case copy; dst may equal src. Returns the length. */
size_t dns_name_lower(uint8_t *dst, const uint8_t *src);
/* Case-insensitive equality. */
bool dns_name_eq(const uint8_t *a, const uint8_t *b);
/* Canonical order of RFC 4034 6.1: <0, 0, >0. */
int dns_name_cmp(const uint8_t *a, const uint8_t *b);
/* True if name equals zone or lies below it (case-insensitive). */
bool dns_name_is_sub(const uint8_t *name, const uint8_t *zone);
/* Pointer to the suffix of name that has n fewer labels (n <= labels). */
const uint8_t *dns_name_strip(const uint8_t *name, unsigned n);
/* True if the first label is "*" (a wildcard owner, RFC 4592). */
bool dns_name_is_wildcard(const uint8_t *name);

/*
 * Presentation form -> wire. Accepts "example.com", "example.com." and "." and
 * the \DDD and \X escapes of RFC 1035 5.1; a relative name (no final dot) is made
 * absolute by appending origin (wire, may be NULL meaning the root).
 */
int dns_name_from_str(const char *text, const uint8_t *origin, uint8_t *out, size_t *outlen);
/* Wire -> presentation form with a final dot, escaping as needed. Returns length or <0. */
int dns_name_to_str(const uint8_t *name, char *buf, size_t size);

#endif
