/*
 * dns_metrics.h -- a Prometheus text-format endpoint and per-thread counters.
 *
 * A tiny HTTP/1.0 server: `GET /metrics` is answered with the text an application
 * callback writes into a growable buffer (Prometheus exposition format 0.0.4),
 * any other path gets 404, any other method 405; the connection is closed after
 * each response. It runs on a loop the caller gives (dns_metrics_start) or on a
 * thread of its own (dns_metrics_thread_start).
 *
 * Counters: struct dns_counters is a table of 64-bit counters with one row per
 * worker thread (each row on its own cache lines). A worker adds to its own row
 * without locks or atomic read-modify-write; a scrape sums the rows.
 *
 * Starting an endpoint sets SIGPIPE to be ignored in the process.
 *
 * Glossary: a "scrape" is one GET /metrics by Prometheus.
 */
#ifndef CAIRN_DNS_METRICS_H
#define CAIRN_DNS_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <uv.h>

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

/* An endpoint on a loop (opaque). */
struct dns_metrics;

/*
 * Listen on addr (TCP) on loop and serve scrapes with cb. Returns 0 and *out,
 * or a negative errno (e.g. -EADDRINUSE).
 */
int dns_metrics_start(struct dns_metrics **out, uv_loop_t *loop, const struct sockaddr *addr,
		      dns_metrics_cb cb, void *ctx);
/* Close the listening socket and open connections; memory goes once the handles are closed. */
void dns_metrics_close(struct dns_metrics *m);
/* The bound address (real port when 0 was asked). */
void dns_metrics_addr(const struct dns_metrics *m, struct sockaddr_storage *out);

/* An endpoint on its own thread and loop (opaque). */
struct dns_metrics_thread;

/* Bind addr in the calling thread (errors come back here), then serve from a new thread. */
int dns_metrics_thread_start(struct dns_metrics_thread **out, const struct sockaddr *addr,
			     dns_metrics_cb cb, void *ctx);
/* Stop serving, join the thread, close its loop, free. 0, or -EBUSY if the loop did not close. */
int dns_metrics_thread_stop(struct dns_metrics_thread *t);
/* The bound address. */
void dns_metrics_thread_addr(const struct dns_metrics_thread *t, struct sockaddr_storage *out);

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
