/*
 * dns_metrics.c -- the Prometheus text buffer and per-thread counters (dns_metrics.h).
 */
#include "dns_metrics.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dns_err.h"

/* ---- text buffer ---- */

int dns_metrics_printf(struct dns_metrics_buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (b->failed)
		return -ENOMEM;
	for (;;) {
		size_t room = b->cap - b->len;
		va_start(ap, fmt);
		n = vsnprintf(room ? b->data + b->len : NULL, room, fmt, ap);
		va_end(ap);
		if (n < 0) {
			b->failed = true;
			return -EINVAL;
		}
		if ((size_t)n < room) {
			b->len += (size_t)n;
			return 0;
		}
		size_t cap = b->cap ? b->cap : 1024;
		while (cap < b->len + (size_t)n + 1)
			cap *= 2;
		char *nd = realloc(b->data, cap);
		if (nd == NULL) {
			b->failed = true;
			return -ENOMEM;
		}
		b->data = nd;
		b->cap = cap;
	}
}

int dns_metrics_header(struct dns_metrics_buf *b, const char *name, const char *type, const char *help)
{
	return dns_metrics_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

void dns_metrics_buf_deinit(struct dns_metrics_buf *b)
{
	free(b->data);
	memset(b, 0, sizeof(*b));
}

/* ---- counters ---- */

int dns_counters_init(struct dns_counters *c, unsigned nthreads, unsigned ncounters)
{
	const size_t line = 64 / sizeof(uint64_t);
	memset(c, 0, sizeof(*c));
	if (nthreads == 0)
		nthreads = 1;
	c->nthreads = nthreads;
	c->ncounters = ncounters;
	c->stride = (ncounters + line - 1) / line * line;
	if (c->stride == 0)
		c->stride = line;
	size_t bytes = (size_t)nthreads * c->stride * sizeof(uint64_t);
	c->slots = aligned_alloc(64, bytes);
	if (c->slots == NULL)
		return -ENOMEM;
	memset(c->slots, 0, bytes);
	return 0;
}

void dns_counters_deinit(struct dns_counters *c)
{
	free(c->slots);
	memset(c, 0, sizeof(*c));
}

uint64_t dns_counter_sum(const struct dns_counters *c, unsigned index)
{
	uint64_t sum = 0;
	for (unsigned t = 0; t < c->nthreads; t++)
		sum += __atomic_load_n(&c->slots[(size_t)t * c->stride + index], __ATOMIC_RELAXED);
	return sum;
}
