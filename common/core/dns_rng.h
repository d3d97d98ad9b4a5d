/*
 * dns_rng.h -- a random source handed to core code.
 *
 * Cores never read randomness themselves (no rand(), no getrandom()): they are
 * given a struct dns_rng. Programs pass the getrandom-based one from
 * common/io/dns_rand.h (dns_rand_rng()); unit tests pass a seeded one
 * (dns_rng_seeded_init() below) so every run is the same.
 */
#ifndef CAIRN_DNS_RNG_H
#define CAIRN_DNS_RNG_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

struct dns_rng {
	void (*fill)(void *ctx, void *buf, size_t len); /* fill buf with len random bytes; never fails */
	void *ctx;                                      /* first argument of fill */
};

/* len random bytes into buf. */
static inline void dns_rng_bytes(const struct dns_rng *rng, void *buf, size_t len)
{
	rng->fill(rng->ctx, buf, len);
}

/* A random 32-bit value. */
static inline uint32_t dns_rng_u32(const struct dns_rng *rng)
{
	uint32_t v;
	rng->fill(rng->ctx, &v, sizeof(v));
	return v;
}

/*
 * A uniform value in [0, n) without modulo bias (rejection sampling); 0 if n is 0.
 */
static inline uint32_t dns_rng_uniform(const struct dns_rng *rng, uint32_t n)
{
	if (n < 2)
		return 0;
	/* values below (2^32 mod n) would make the low residues more likely */
	uint32_t floor = (uint32_t)(-n) % n;
	for (;;) {
		uint32_t v = dns_rng_u32(rng);
		if (v >= floor)
			return v % n;
	}
}

/* State of the deterministic test generator (splitmix64). */
struct dns_rng_seeded {
	uint64_t state; /* advances by a constant per 8 bytes produced */
};

static inline void dns_rng_seeded_fill(void *ctx, void *buf, size_t len)
{
	struct dns_rng_seeded *s = ctx;
	uint8_t *p = buf;
	while (len > 0) {
		uint64_t z = (s->state += 0x9e3779b97f4a7c15ull);
		z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
		z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
		z ^= z >> 31;
		size_t n = len < sizeof(z) ? len : sizeof(z);
		memcpy(p, &z, n);
		p += n;
		len -= n;
	}
}

/*
 * Make rng a deterministic generator seeded with seed, keeping its state in st.
 * For tests only: the sequence is predictable.
 */
static inline void dns_rng_seeded_init(struct dns_rng *rng, struct dns_rng_seeded *st, uint64_t seed)
{
	st->state = seed;
	rng->fill = dns_rng_seeded_fill;
	rng->ctx = st;
}

#endif
