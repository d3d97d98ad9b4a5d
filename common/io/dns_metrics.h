/*
 * dns_metrics.h -- what a program's metrics are made of: the text of a scrape,
 * written by the program's callback into a growable buffer (Prometheus exposition
 * format 0.0.4), and per-thread counters. The endpoint that serves the text is
 * http/io/http_metrics.h.
 *
 * Counters: struct dns_counters is a table of 64-bit counters with one row per
 * worker thread (each row on its own cache lines). A worker adds to its own row
 * without locks or atomic read-modify-write; a scrape sums the rows.
 *
 * Glossary: a "scrape" is one GET /metrics by Prometheus.
 */
#ifndef CAIRN_DNS_METRICS_H
#define CAIRN_DNS_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

/* The body of a response, built by the application callback. */
struct dns_metrics_buf {
	char *data;   /* text so far, NUL-terminated (NULL until something is written) */
	size_t len;   /* bytes of text */
	size_t cap;   /* bytes allocated */
	bool failed;  /* an allocation failed: the scrape answers 500 */
};

/* Append printf-formatted text to buf. Returns 0 or -ENOMEM (and sets failed). */
int dns_metrics_printf(struct dns_metrics_buf *buf, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Append the "# HELP name help" and "# TYPE name type" lines ("counter", "gauge"). */
int dns_metrics_header(struct dns_metrics_buf *buf, const char *name, const char *type, const char *help);
/* Free the buffer's text. */
void dns_metrics_buf_deinit(struct dns_metrics_buf *buf);

/* Fill buf with the metrics text; called once per scrape on the endpoint's loop thread. */
typedef void (*dns_metrics_cb)(void *ctx, struct dns_metrics_buf *buf);

/*
 * Per-thread counters: slots[thread * stride + index]. Each thread writes only
 * its own row; readers sum rows with relaxed atomic loads, so a scrape sees every
 * count at most a moment late and never a torn value.
 */
struct dns_counters {
	uint64_t *slots;     /* nthreads rows of stride counters, 64-byte aligned */
	unsigned nthreads;   /* rows */
	unsigned ncounters;  /* counters per row */
	size_t stride;       /* counters per row rounded up to a cache line */
};

/* Allocate nthreads x ncounters counters set to 0. Returns 0 or -ENOMEM. */
int dns_counters_init(struct dns_counters *c, unsigned nthreads, unsigned ncounters);
void dns_counters_deinit(struct dns_counters *c);

/* Add n to counter index of row thread; call only from the thread owning that row. */
static inline void dns_counter_add(struct dns_counters *c, unsigned thread, unsigned index, uint64_t n)
{
	uint64_t *p = &c->slots[(size_t)thread * c->stride + index];
	/* one writer per slot: a plain load and store, made atomic only so readers never tear */
	__atomic_store_n(p, __atomic_load_n(p, __ATOMIC_RELAXED) + n, __ATOMIC_RELAXED);
}

/* The sum of counter index over every thread. */
uint64_t dns_counter_sum(const struct dns_counters *c, unsigned index);

#endif
