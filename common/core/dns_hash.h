/*
 * dns_hash.h -- the hash functions of cairn, one copy each.
 *
 * FNV-1a (32 and 64 bits) is for tables whose keys the outside world does not choose
 * (our own addresses, map names, zone owners loaded by the operator). Tables keyed by
 * what a client or an upstream server sends use the keyed SipHash-1-3, so that nobody
 * who does not know the key can aim many keys at one chain.
 */
#ifndef CAIRN_DNS_HASH_H
#define CAIRN_DNS_HASH_H

#include <stddef.h>
#include <stdint.h>

#define DNS_FNV32_INIT 2166136261u           /* FNV-1a 32-bit offset basis */
#define DNS_FNV64_INIT 14695981039346656037ull /* FNV-1a 64-bit offset basis */

/* FNV-1a over n bytes, continuing from h (DNS_FNV32_INIT to start). */
static inline uint32_t dns_fnv32(uint32_t h, const void *p, size_t n)
{
	const uint8_t *b = p;
	for (size_t i = 0; i < n; i++)
		h = (h ^ b[i]) * 16777619u;
	return h;
}

/* FNV-1a over n bytes, continuing from h (DNS_FNV64_INIT to start). */
static inline uint64_t dns_fnv64(uint64_t h, const void *p, size_t n)
{
	const uint8_t *b = p;
	for (size_t i = 0; i < n; i++)
		h = (h ^ b[i]) * 1099511628211ull;
	return h;
}

/* SipHash-1-3 of in[0..len) under the 16-byte key (read little-endian). */
uint64_t dns_siphash13(const uint8_t key[16], const void *in, size_t len);

#endif
