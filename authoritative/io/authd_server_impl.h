/*
 * authd_server_impl.h -- the parts of struct authd_server shared by the io
 * files of cairn-auth (authd_server.c, authd_metrics.c, main.c; authd_geo.c).
 * Not for replication: it is handed callbacks (struct authd_xfr_host).
 */
#ifndef CAIRN_AUTHD_SERVER_IMPL_H
#define CAIRN_AUTHD_SERVER_IMPL_H

#include <pthread.h>
#include <stdatomic.h>
#include <sys/stat.h>

#include "authd_server.h"
#include "authd_zonefile.h" /* every zone load of the io files reads through it */
#include "dns_config.h"
#include "dns_listen.h"
#include "dns_metrics.h"
#include "dns_shell.h"
#include "http_metrics.h"

/*
 * The zone set serving now plus a map from zone snapshot to configured zone
 * index (for per-zone counters), reference-counted as one unit so workers can
 * hold it across a swap.
 */
struct authd_serving {
	atomic_uint refs;
	struct auth_zoneset *set;
	struct authd_geo_snap *geo;     /* the steering map (a reference), NULL without --map */
	unsigned mask;                  /* map size - 1 (a power of two) */
	struct authd_zone_slot {
		const struct auth_zone *zone;
		unsigned index;
		bool expired;           /* answer SERVFAIL for this zone */
	} *map;                         /* open addressing by pointer */
};

/* Per worker thread: the serving set it holds, and which generation it is. */
struct authd_worker {
	struct authd_serving *serving;
	unsigned gen;
} __attribute__((aligned(64)));

/* What is remembered of each configured zone's file, to skip unchanged files on reload. */
struct authd_file_state {
	bool loaded;       /* st is valid */
	struct stat st;    /* device, inode, size and mtime at the last good load */
};

/* Counter layout per thread (dns_counters rows). */
enum {
	AUTHD_C_QTYPE = 0,            /* 0..255: by query type below 256 */
	AUTHD_C_QTYPE_CAA = 256,      /* CAA (257) */
	AUTHD_C_QTYPE_OTHER = 257,    /* any other type */
	AUTHD_C_RCODE = 258,          /* + rcode 0..23 */
	AUTHD_C_RCODE_OTHER = 282,
	AUTHD_C_DROPPED = 283,        /* malformed, no reply */
	AUTHD_C_UDP = 284,
	AUTHD_C_TCP = 285,
	AUTHD_C_TC = 286,             /* truncated replies */
	AUTHD_C_NOTIFY = 287,         /* NOTIFY requests received */
	AUTHD_C_XFR = 288,            /* AXFR/IXFR requests received */
	AUTHD_C_NOZONE = 289,         /* queries for no configured zone */
	AUTHD_C_EXPIRED = 290,        /* SERVFAIL for an expired secondary zone */
	AUTHD_C_ZONE = 291            /* per configured zone: AUTHD_ZONE_STRIDE counters */
};

/* Per-zone counters: rcode buckets then type buckets. */
#define AUTHD_ZONE_RCODES 8       /* NOERROR FORMERR SERVFAIL NXDOMAIN NOTIMP REFUSED NOTAUTH other */
#define AUTHD_ZONE_TYPES 17       /* 16 common types + other */
#define AUTHD_ZONE_STRIDE (AUTHD_ZONE_RCODES + AUTHD_ZONE_TYPES)

struct authd_xfr;
struct authd_geo;
struct authd_geo_snap;

struct authd_server {
	struct authd_config cfg;
	struct dns_shell shell;             /* main loop (reload, replication, metrics), listeners, signals */
	pthread_mutex_t lock;               /* guards serving */
	struct authd_serving *serving;      /* current set */
	atomic_uint gen;                    /* bumped at each swap */
	struct authd_worker *workers;       /* cfg.threads entries */
	struct authd_file_state *files;     /* cfg.n_zones entries */
	bool *expired;                      /* cfg.n_zones entries: secondary past EXPIRE */
	struct http_metrics *metrics;       /* the Prometheus endpoint, NULL without --metrics */
	struct authd_xfr *xfr;
	struct authd_geo *geo;              /* CDN steering (authd_geo.h), NULL without --map */
	struct dns_counters counters;
	uint64_t reloads, reload_failures;  /* main thread only */
};

/* Bring everything up (zones loaded, sockets bound); on error logs why. */
int authd_server_init(struct authd_server *s, const struct authd_config *cfg);
/* Run the main loop until SIGTERM/SIGINT. */
int authd_server_run(struct authd_server *s);
/* Tear down after run; returns 0 when every loop closed cleanly. */
int authd_server_deinit(struct authd_server *s);
/*
 * Reload every zone file and the map (SIGHUP); a zone or map that fails keeps
 * its old version.
 */
void authd_server_reload(struct authd_server *s);

/* The Prometheus text for a scrape (authd_metrics.c). */
void authd_metrics_cb(void *ctx, struct dns_metrics_buf *buf);

#endif
