/*
 * edge.h -- cairn-edge: a caching reverse proxy in front of HTTP/1.1 origins.
 *
 * The program's pieces: its options (edge_config.c); the client side towards
 * the origins, with a keep-alive pool per origin and connect/read timeouts
 * (edge_upstream.c); the request handler that routes, answers from the cache
 * (http_cache.h, the RFC 9111 state machine), collapses concurrent misses into
 * one fetch, revalidates, serves stale on errors and streams what it does not
 * store (edge_proxy*.c, carrying out what http_route.h and http_edge_policy.h
 * decide; edge_proxy_impl.h names the pieces); and main with /health and the SIGTERM drain
 * (edge_main.c). Private to cairn-edge.
 *
 * Glossary: "origin" = a configured upstream server, known by the host name
 * clients use for it; "fetch" = one request to an origin on behalf of one or
 * more clients (or of nobody: a background revalidation); "leader" = the
 * client whose request started a fetch; "waiter" = a client collapsed onto
 * another's fetch.
 */
#ifndef CAIRN_EDGE_H
#define CAIRN_EDGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "dns_config_io.h"
#include "http_cache.h"
#include "http_server.h"

/* Default port of --listen and of an origin's ADDR when none is given. */
#define EDGE_PORT 8080
#define EDGE_ORIGIN_PORT 80
/* Most origins one edge knows. */
#define EDGE_MAX_ORIGINS 64

/* One --origin HOST=ADDR@PORT. */
struct edge_origin_conf {
	char *host;                    /* lower-case host name, without port */
	struct sockaddr_storage addr;  /* where the origin listens */
};

/* The options of cairn-edge (flags and config-file lines). */
struct edge_config {
	struct dns_config_vec listen;      /* ADDR@PORT to serve on (repeatable) */
	struct edge_origin_conf origins[EDGE_MAX_ORIGINS]; /* --origin, in order */
	size_t norigins;                   /* their number */
	uint64_t cache_size;               /* memory for cached objects */
	uint64_t max_object;               /* largest object stored (0: cache_size / 8) */
	struct dns_config_vec purge_allow; /* CIDRs allowed to PURGE (struct dns_cidr) */
	unsigned connect_timeout_ms;       /* connecting to an origin */
	unsigned origin_timeout_ms;        /* an origin's silence while a response is awaited */
	unsigned idle_timeout_ms;          /* clients' keep-alive idle time */
	unsigned header_timeout_ms;        /* time for a client to send a request head */
	unsigned send_timeout_ms;          /* time a client may stall a response */
	unsigned max_conns;                /* open client connections */
	unsigned pool_size;                /* idle keep-alive connections kept per origin */
	unsigned pool_idle_ms;             /* how long an idle origin connection is kept */
	unsigned drain_delay_ms;           /* after SIGTERM: /health 503 this long before closing listeners */
	unsigned heuristic_max;            /* cap of a heuristic freshness lifetime, s */
	uint64_t max_body;                 /* request body bytes forwarded (413 beyond) */
	const char *log_level;             /* err, warn, info, debug */
	/* derived by edge_config_finish() */
	struct dns_cidr default_allow[2];  /* 127.0.0.0/8 and ::1 when no --purge-allow */
};

/* Declare the options into parser (storing into cfg). Returns 0 or -ENOMEM. */
int edge_config_init(struct dns_config *parser, struct edge_config *cfg);
/* Check and derive after parsing; err gets "option x: reason". 0 or DNS_E_CONFIG. */
int edge_config_finish(struct edge_config *cfg, char *err, size_t errlen);
/* Free what the options allocated. */
void edge_config_deinit(struct edge_config *cfg);
/* May the client at sa PURGE? */
bool edge_config_purge_allowed(const struct edge_config *cfg, const struct sockaddr *sa);

/* ---- upstream: connections to origins (edge_upstream.c) ------------------ */

struct edge_upconn;
struct edge_upreq;

/* One origin at run time, with its pool of idle connections. */
struct edge_origin {
	const char *host;             /* as configured */
	size_t host_len;              /* its length */
	struct sockaddr_storage addr; /* where it listens */
	char addr_text[64];           /* ADDR@PORT for logs */
	struct edge_upconn *idle;     /* idle keep-alive connections (list) */
	unsigned nidle;               /* their number */
	struct edge *edge;            /* owner */
};

/* The response head arrived (resp valid during the call). */
typedef void (*edge_up_head_cb)(struct edge_upreq *u, const struct http_response *resp);
/* Body bytes (valid during the call). Return 0, or negative to abort the fetch. */
typedef int (*edge_up_body_cb)(struct edge_upreq *u, const uint8_t *data, size_t len);
/*
 * The exchange is over: err 0 when the response is complete (resp valid
 * during the call), else UV_ETIMEDOUT (no answer in time: 504) or another
 * negative error (connection refused or lost, malformed response: 502).
 */
typedef void (*edge_up_done_cb)(struct edge_upreq *u, int err, const struct http_response *resp);

/* One request to an origin. The caller owns it; fields below are set before start. */
struct edge_upreq {
	struct edge_origin *origin;   /* where to send it */
	char *buf;                    /* the request bytes (the caller's until done) */
	size_t len;                   /* their number */
	enum http_method method;      /* for the response's framing (HEAD: no body) */
	bool idempotent;              /* may be retried on a fresh connection if a reused one failed */
	edge_up_head_cb on_head;      /* see above */
	edge_up_body_cb on_body;      /* see above */
	edge_up_done_cb on_done;      /* see above; called exactly once unless aborted */
	void *arg;                    /* the caller's */
	/* set by the upstream layer */
	struct edge_upconn *conn;     /* connection in use */
	bool head_seen;               /* on_head was called */
	bool retried;                 /* a retry on a fresh connection happened */
	bool paused;                  /* reading stopped by edge_up_pause() */
};

/*
 * Send u on an idle connection of its origin or a new one. Returns 0 (on_done
 * will be called later, from the loop), or a negative libuv error (no callback).
 */
int edge_up_start(struct edge *edge, struct edge_upreq *u);
/* Stop reading the response for now (the client is slow) / go on. */
void edge_up_pause(struct edge_upreq *u);
void edge_up_resume(struct edge_upreq *u);
/* Give up u: its connection is closed, no more callbacks. */
void edge_up_abort(struct edge_upreq *u);
/* Close every idle connection (at stop). */
void edge_up_close_idle(struct edge *edge);

/* ---- the proxy (edge_proxy*.c) ------------------------------------------ */

struct edge_fetch;

/* Counters shown by /health. */
struct edge_stats {
	uint64_t hits;         /* answered fresh from the cache */
	uint64_t misses;       /* answered from an origin fetch */
	uint64_t revalidated;  /* answered after a 304 */
	uint64_t stale;        /* answered stale (while revalidating or on an origin error) */
	uint64_t fetches;      /* requests sent to origins */
	uint64_t collapsed;    /* clients that waited for another's fetch */
	uint64_t errors;       /* 502/504 answered */
};

/* The running edge. */
struct edge {
	uv_loop_t *loop;                  /* the loop */
	const struct edge_config *cfg;    /* options */
	struct http_cache cache;          /* the cache */
	struct http_server server;        /* client side */
	struct edge_origin origins[EDGE_MAX_ORIGINS]; /* one per --origin */
	size_t norigins;                  /* their number */
	const char *hosts[EDGE_MAX_ORIGINS]; /* origins[i].host, for http_route_find() */
	struct edge_fetch *fetches;       /* fetches clients may join (list) */
	unsigned nconns_up;               /* open origin connections */
	bool draining;                    /* SIGTERM seen: /health says 503 */
	bool stopping;                    /* server stopped: no more pooling */
	struct edge_stats stats;          /* counters */
};

/* Set up the edge's cache and origins. Returns 0 or -ENOMEM. */
int edge_init(struct edge *edge, uv_loop_t *loop, const struct edge_config *cfg);
/* Free the cache (after the loop ran dry). */
void edge_deinit(struct edge *edge);
/* The http_server request callback; ctx is the struct edge. */
void edge_serve(void *ctx, struct http_exchange *ex);

#endif
