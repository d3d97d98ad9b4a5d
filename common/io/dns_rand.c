/*
 * dns_rand.c -- operating-system randomness (getrandom(2)), buffered per thread.
 */
#include "dns_rand.h"

#include <errno.h>
#include <pthread.h>
#include <string.h>
#include <sys/random.h>

#include "dns_err.h"

/* Bytes fetched per getrandom(2) call; at most 256 are never cut short by signals. */
#define RAND_BUF 256

struct rand_buf {
	uint8_t bytes[RAND_BUF];
	size_t left; /* unused bytes at the end of bytes[] */
};

static _Thread_local struct rand_buf tls_buf;
static pthread_once_t atfork_once = PTHREAD_ONCE_INIT;

/* In the child of fork() the forking thread's buffer is a copy of the parent's: drop it. */
static void rand_atfork_child(void)
{
	memset(&tls_buf, 0, sizeof(tls_buf));
}

static void rand_atfork_register(void)
{
	pthread_atfork(NULL, NULL, rand_atfork_child);
}

static void getrandom_full(void *buf, size_t n)
{
	uint8_t *p = buf;
	while (n > 0) {
		ssize_t got = getrandom(p, n, 0);
		if (got < 0) {
			require(errno == EINTR);
			continue;
		}
		p += got;
		n -= (size_t)got;
	}
}

void dns_rand_bytes(void *buf, size_t n)
{
	struct rand_buf *rb = &tls_buf;
	uint8_t *p = buf;

	pthread_once(&atfork_once, rand_atfork_register);
	if (n > RAND_BUF / 2) {
		/* large requests go straight to the kernel */
		getrandom_full(buf, n);
		return;
	}
	while (n > 0) {
		if (rb->left == 0) {
			getrandom_full(rb->bytes, RAND_BUF);
			rb->left = RAND_BUF;
		}
		size_t take = n < rb->left ? n : rb->left;
		uint8_t *src = rb->bytes + RAND_BUF - rb->left;
		memcpy(p, src, take);
		/* do not leave used bytes behind in memory */
		memset(src, 0, take);
		rb->left -= take;
		p += take;
		n -= take;
	}
}

uint32_t dns_rand_u32(void)
{
	uint32_t v;
	dns_rand_bytes(&v, sizeof(v));
	return v;
}

uint32_t dns_rand_uniform(uint32_t n)
{
	return dns_rng_uniform(dns_rand_rng(), n);
}

static void rand_fill(void *ctx, void *buf, size_t len)
{
	(void)ctx;
	dns_rand_bytes(buf, len);
}

static const struct dns_rng rand_rng = { rand_fill, NULL };

const struct dns_rng *dns_rand_rng(void)
{
	return &rand_rng;
}
