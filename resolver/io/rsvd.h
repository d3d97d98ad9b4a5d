/*
 * rsvd.h -- the parts of cairn-resolver's libuv shell shared by its files
 * (main.c, rsvd_config.c, rsvd_hints.c, rsvd_server.c, rsvd_upstream.c,
 * rsvd_metrics.c, rsvd_trace.c).
 * Not for other modules.
 *
 * Glossary:
 *  - worker: one thread with its own uv loop, listeners (dns_listen_server) and
 *    requests in flight; the cache and the server table are shared by all.
 *  - job: one resolution (an rsv_req) driven by a worker, with the clients
 *    waiting for its answer (identical questions in flight are joined into one
 *    job, keyed by name, type, class and the EDNS/DO/CD bits).
 *  - exchange: one upstream query of a job: a fresh UDP socket on a random
 *    port connected to the server, or a TCP connection, plus its timer.
 */
#ifndef CAIRN_RSVD_H
#define CAIRN_RSVD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <uv.h>

#include "dns_config_io.h"
#include "dns_listen.h"
#include "dns_metrics.h"
#include "http_metrics.h"
#include "dns_shell.h"
#include "dns_name.h"
#include "rsv_cache.h"
#include "rsv_hints.h"
#include "rsv_iter.h"
#include "rsv_select.h"

#define RSVD_PORT 53

/* Everything read from flags and config files. */
struct rsvd_config {
	struct dns_config_vec listen;   /* struct sockaddr_storage, --listen */
	struct dns_config_vec allow;    /* struct dns_cidr, --allow */
	struct dns_config_vec deny;     /* struct dns_cidr, --deny */
	const char *root_hints;         /* --root-hints FILE or NULL (built-in IANA hints) */
	unsigned upstream_port;         /* port hints-file addresses are asked on (53) */
	uint64_t cache_size;            /* --cache-size bytes */
	unsigned min_ttl, max_ttl, max_neg_ttl; /* TTL clamps (s) */
	unsigned threads;               /* worker threads */
	struct sockaddr_storage metrics;/* --metrics address */
	bool has_metrics;               /* metrics given */
	const char *log_level;          /* err, warn, info, debug */
	const char *trace;              /* --trace NAME: one resolution, then exit */
	bool no_ipv6;                   /* do not ask servers over IPv6 */
	unsigned tcp_idle_ms;           /* client TCP idle timeout */
	struct rsv_hints hints;         /* loaded root hints */
};

/* One access-control rule (longest matching prefix wins; deny wins a tie). */
struct rsvd_acl_rule {
	struct dns_cidr cidr;  /* the prefix */
	bool allow;            /* serve (true) or REFUSED (false) */
};

/* The access list: rules from --allow/--deny plus the built-in private ranges. */
struct rsvd_acl {
	struct rsvd_acl_rule *rule; /* rules */
	size_t n;                   /* number of rules */
};

/* Per-thread counters (dns_counters indexes). */
enum {
	RSVD_C_UDP = 0,       /* client queries over UDP */
	RSVD_C_TCP,           /* client queries over TCP */
	RSVD_C_REFUSED_ACL,   /* clients refused by the access list */
	RSVD_C_FORMERR,       /* malformed client queries answered FORMERR */
	RSVD_C_JOINED,        /* client queries joined to one in flight */
	RSVD_C_JOBS,          /* resolutions started */
	RSVD_C_CAPPED,        /* resolutions ended by the hard cap timer */
	RSVD_C_UPSTREAM,      /* upstream queries sent */
	RSVD_C_UP_TCP,        /* of which over TCP */
	RSVD_C_TIMEOUTS,      /* upstream queries timed out */
	RSVD_C_FORGED,        /* replies dropped: wrong source, ID or question */
	RSVD_C_CASE,          /* replies dropped: 0x20 case mismatch */
	RSVD_C_SCRUBBED,      /* records dropped by the scrubber */
	RSVD_C_SEND_ERR,      /* upstream sends that failed at once */
	RSVD_C_RCODE,         /* + rcode 0..15 of answers sent */
	RSVD_C_LAT = RSVD_C_RCODE + 16, /* + latency bucket index (RSVD_LAT_BUCKETS + 1 for +Inf) */
	RSVD_C_LAT_SUM_US = RSVD_C_LAT + 16, /* sum of latencies (microseconds) */
	RSVD_C_COUNT
};

/* Upper bounds (seconds) of the answer latency histogram buckets. */
#define RSVD_LAT_BUCKETS 12
extern const double rsvd_lat_bounds[RSVD_LAT_BUCKETS];

struct rsvd_job;
struct rsvd_exch;
struct rsvd_client;
struct rsvd_server;

/* Per worker thread. */
struct rsvd_worker {
	struct rsvd_server *srv;       /* the server */
	unsigned index;                /* thread index (counter row) */
	uv_loop_t *loop;               /* its loop */
	struct rsv_ctx ctx;            /* iterator context (shared cache and select) */
	struct rsvd_job **jobs;        /* in-flight jobs by question hash (join table) */
	unsigned jobs_mask;            /* buckets - 1 */
	size_t njobs;                  /* jobs in flight */
	bool stopping;                 /* no new upstream work */
	uint8_t *rbuf;                 /* DNS_LISTEN_MSG_MAX bytes: upstream UDP reads */
	uint8_t *abuf;                 /* DNS_LISTEN_MSG_MAX bytes: answers being sent */
} __attribute__((aligned(64)));

/* The running resolver. */
struct rsvd_server {
	struct rsvd_config *cfg;         /* options */
	struct rsvd_acl acl;             /* access list */
	struct rsv_cache *cache;         /* shared cache */
	struct rsv_select *select;       /* shared server table */
	struct rsv_iter_opts iopts;      /* iterator limits */
	struct rsvd_worker *workers;     /* cfg->threads entries */
	struct dns_counters counters;    /* per-thread counters */
	struct dns_shell shell;          /* main loop (signals, metrics), listeners */
	struct http_metrics *metrics;    /* endpoint or NULL */
	bool debug;                      /* log-level debug: one line per resolution */
};

/* Called when a job's resolution is over (answer in buf[0..len), or len 0 on failure). */
typedef void (*rsvd_job_done_cb)(struct rsvd_job *job);

/* ---- rsvd_config.c ---- */

/* Declare the option table into parser with targets in cfg (defaults set). */
int rsvd_config_init(struct dns_config *parser, struct rsvd_config *cfg);
/* Check values, load the root hints; message in err. 0 or DNS_E_CONFIG / -errno. */
int rsvd_config_finish(struct rsvd_config *cfg, char *err, size_t errlen);
/* Build the access list from cfg (built-in private ranges plus --allow/--deny). */
int rsvd_acl_build(struct rsvd_acl *acl, const struct rsvd_config *cfg);
/* Free the access list. */
void rsvd_acl_free(struct rsvd_acl *acl);
/* True if the client sa may use the resolver. */
bool rsvd_acl_allows(const struct rsvd_acl *acl, const struct sockaddr *sa);
/* Fill the cache options from cfg (hash key from getrandom). */
void rsvd_config_cache_opts(const struct rsvd_config *cfg, struct rsv_cache_opts *o);
/* Iterator limits used by the server and --trace (IPv6 off without an IPv6 route). */
void rsvd_iter_opts(const struct rsvd_config *cfg, struct rsv_iter_opts *o);

/* ---- rsvd_hints.c ---- */

/*
 * Read the hints file at path and parse it with rsv_hints_parse() (same results:
 * DNS_E_SYNTAX with *line, DNS_E_NOTFOUND); -errno when it cannot be read.
 */
int rsvd_hints_load(struct rsv_hints *h, const char *path, uint16_t port, unsigned *line);

/* ---- rsvd_upstream.c: driving one rsv_req over the network ---- */

/*
 * A job: the request, the clients waiting and the exchange in flight. Created
 * by rsvd_job_start(); done_cb runs once when the request is DONE (or the hard
 * cap fired: capped set), then the job is freed with rsvd_job_free().
 */
struct rsvd_job {
	struct rsvd_worker *w;          /* owner */
	struct rsv_req *req;            /* the iterator */
	struct rsvd_exch *exch;         /* upstream query in flight, or NULL */
	uv_timer_t cap;                 /* hard cap on the whole resolution */
	rsvd_job_done_cb done_cb;       /* resolution over */
	void *data;                     /* for done_cb */
	bool capped;                    /* ended by the cap timer */
	bool finished;                  /* done_cb called */
	uint64_t hstart;                /* uv_hrtime() at the start (latency) */
	/* join table */
	struct rsvd_job *next;          /* next in the bucket */
	unsigned bucket;                /* bucket index */
	bool in_table;                  /* linked into w->jobs */
	uint8_t key[DNS_NAME_MAX + 8];  /* lower-case qname, qtype, qclass, flags */
	size_t keylen;                  /* bytes used */
	/* clients (rsvd_server.c) */
	struct rsvd_client *clients;    /* waiting clients */
	uint16_t qtype, qclass;         /* the question */
};

/*
 * Start driving req (taken over) on worker w; done_cb is called once when it
 * ends -- possibly before this returns, when the iterator needs no upstream
 * query (answer from the cache, REFUSED class). Always returns 0.
 */
int rsvd_job_start(struct rsvd_job *job, struct rsvd_worker *w, struct rsv_req *req,
	uint32_t cap_ms, rsvd_job_done_cb done_cb);
/* End the job now (hard cap, shutdown): capped set, done_cb called, no answer. */
void rsvd_job_abort(struct rsvd_job *job);
/* Free the request, stop I/O, close handles; the memory of job goes when they are closed. */
void rsvd_job_free(struct rsvd_job *job);
/* Convert rsv_addr to a sockaddr (port included). */
void rsvd_addr_to_sa(const struct rsv_addr *a, struct sockaddr_storage *ss);
/* Convert an AF_INET/AF_INET6 sockaddr to rsv_addr (port included; zeroed otherwise). */
void rsvd_addr_from_sa(const struct sockaddr *sa, struct rsv_addr *a);

/* ---- rsvd_server.c ---- */

/* Create the shared state, start the workers, listeners, metrics and signals. */
int rsvd_server_init(struct rsvd_server *s, struct rsvd_config *cfg);
/* Run the main loop until SIGTERM/SIGINT. */
int rsvd_server_run(struct rsvd_server *s);
/* Stop and free everything; 0, or -EBUSY if a loop did not close cleanly. */
int rsvd_server_deinit(struct rsvd_server *s);

/* ---- rsvd_metrics.c ---- */

/* The /metrics callback (ctx is the struct rsvd_server). */
void rsvd_metrics_cb(void *ctx, struct dns_metrics_buf *buf);
/* Count an answer's latency (ns) in thread t's histogram. */
void rsvd_metrics_latency(struct dns_counters *c, unsigned t, uint64_t ns);

/* ---- rsvd_trace.c ---- */

/* cairn-resolver --trace NAME [TYPE]: resolve once, print every step; exit status. */
int rsvd_trace_run(struct rsvd_config *cfg, const char *name, const char *type);

#endif
