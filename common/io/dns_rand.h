/*
 * dns_rand.h -- operating-system randomness (getrandom(2)), buffered per thread.
 *
 * Each thread keeps a small buffer refilled from getrandom(2), so taking a few
 * bytes (a DNS ID, a source port) does not cost a system call. The buffer is
 * dropped in a child after fork() so parent and child never share values.
 * dns_rand_rng() exposes the same source as a struct dns_rng for core code.
 */
#ifndef CAIRN_DNS_RAND_H
#define CAIRN_DNS_RAND_H

#include <stddef.h>
#include <stdint.h>

#include "dns_rng.h"

/* Fill buf with n random bytes. Aborts if the kernel has no getrandom(2). */
void dns_rand_bytes(void *buf, size_t n);
/* A random 32-bit value. */
uint32_t dns_rand_u32(void);
/* A uniform random value in [0, n) without modulo bias; 0 if n < 2. */
uint32_t dns_rand_uniform(uint32_t n);
/* This source as a struct dns_rng (a static object, usable from any thread). */
const struct dns_rng *dns_rand_rng(void);

#endif
