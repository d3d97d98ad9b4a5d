/*
 * authd_server.h -- the running cairn-auth: configuration, the serving zone set,
 * query dispatch, reload, and the hooks replication plugs into.
 *
 * Threads: worker threads (one libuv loop each, SO_REUSEPORT listeners) answer
 * queries from the current zone set; the main thread's loop runs signals,
 * reloads, replication timers and the metrics endpoint. The zone set is an
 * immutable snapshot behind a mutex-protected pointer: a worker takes a
 * reference per batch of packets, the main thread swaps in a new set and drops
 * the old one; the last reference frees it.
 */
#ifndef CAIRN_AUTHD_SERVER_H
#define CAIRN_AUTHD_SERVER_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include <uv.h>

#include "auth_zone.h"
#include "dns_config_io.h"
#include "dns_name.h"

/* One `--zone ORIGIN=FILE` with the replication settings that name it. */
struct authd_zone_conf {
	uint8_t origin[DNS_NAME_MAX];    /* canonical wire name */
	char origin_text[DNS_NAME_TEXT_MAX]; /* presentation form, for logs */
	const char *file;                /* master file; for a secondary, its kept copy */
	bool has_primary;                /* `--primary ORIGIN=ADDR@PORT`: this is a secondary */
	struct sockaddr_storage primary; /* where to fetch it from (AXFR) */
	struct sockaddr_storage notify[8]; /* `--notify ORIGIN=ADDR@PORT`: secondaries to NOTIFY */
	unsigned n_notify;
};

/* The parsed configuration of cairn-auth. */
struct authd_config {
	struct dns_config_vec listen;    /* struct sockaddr_storage: `listen ADDR@PORT` */
	struct authd_zone_conf *zones;   /* every `zone` line, in order */
	unsigned n_zones;
	struct dns_config_vec allow_transfer; /* struct dns_cidr: who may AXFR (default none) */
	unsigned threads;                /* worker threads (default 1) */
	bool has_metrics;                /* `metrics ADDR@PORT` given */
	struct sockaddr_storage metrics; /* where the Prometheus endpoint listens */
	unsigned tcp_idle_ms;            /* TCP idle timeout (RFC 7766 6.2.3) */
	unsigned tcp_max_clients;        /* concurrent TCP connections per listener */
	const char *log_level;           /* err | warn | info | debug */
	const char *map_file;            /* `map FILE`: the CDN steering map (NULL: none) */
	bool explain;                    /* `--explain NAME CLIENT[/PREFIX]` (CLI only) */
	struct dns_config_vec explain_allow; /* struct dns_cidr: who may ask CH TXT explanations */
	unsigned map_check_s;            /* poll the map and GeoIP files every N s (0: never) */
	/* raw option values, turned into zones[] after parsing */
	struct dns_config_vec zone_lines;    /* const char *: "ORIGIN=FILE" */
	struct dns_config_vec primary_lines; /* const char *: "ORIGIN=ADDR@PORT" */
	struct dns_config_vec notify_lines;  /* const char *: "ORIGIN=ADDR@PORT" */
};

struct authd_server;

/* The server's main loop (for replication timers and sockets). */
uv_loop_t *authd_server_loop(struct authd_server *s);
/* The configuration it runs with. */
const struct authd_config *authd_server_config(struct authd_server *s);
/* A reference to the zone set serving now; drop it with auth_zoneset_unref(). */
struct auth_zoneset *authd_server_zones(struct authd_server *s);
/*
 * Serve z (a new version of a configured zone, e.g. from AXFR) in place of
 * the current version of the zone with the same origin: builds a new set and
 * swaps it in. The server takes its own reference. Main thread only.
 */
int authd_server_replace_zone(struct authd_server *s, struct auth_zone *z);
/*
 * Mark the secondary zone origin expired (RFC 1035 3.3.13: EXPIRE passed with
 * no good check of the primary): its names get SERVFAIL instead of stale data
 * until authd_server_replace_zone() serves a fresh copy. Main thread only.
 */
int authd_server_expire_zone(struct authd_server *s, const uint8_t *origin);

#endif
