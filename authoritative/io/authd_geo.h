/*
 * authd_geo.h -- CDN steering in the running cairn-auth: the map snapshot
 * (geo_map.h) loaded from `--map FILE`, checked against the zones, swapped on
 * reload, the answer engine's steer and chaos_txt hooks, and `--explain`.
 *
 * Threads: the main thread loads maps, runs the health checks
 * (authd_health.h) and watches the map and GeoIP files (uv_fs_poll); worker
 * threads only read. A loaded map is a struct authd_geo_snap: immutable except
 * its health bytes (one per replica, written with atomic byte stores by the
 * main thread, read by workers). Snapshots are reference-counted: the serving
 * unit of authd_server (struct authd_serving) holds one, so workers pick a new
 * map up with the zones, one reference per batch, and the old map is freed
 * when its last reader lets go.
 *
 * Metrics outlive maps: datacenters and steered names get a counter slot by
 * name the first time a map names them, and keep it across reloads, so
 * counters never go backwards when a map is reloaded.
 */
#ifndef CAIRN_AUTHD_GEO_H
#define CAIRN_AUTHD_GEO_H

#include <stdbool.h>
#include <stdint.h>

#include <uv.h>

#include "auth_answer.h"
#include "auth_zone.h"
#include "authd_geo_snap.h"
#include "dns_metrics.h"
#include "geo_map.h"

struct authd_config;
struct authd_health;

/* Counter slots (by name, kept across reloads). The last one of each is "other". */
#define AUTHD_GEO_DC_SLOTS 256
#define AUTHD_GEO_NAME_SLOTS 1024

/* The steering state of the server (main thread owns it; workers read cfg parts). */
struct authd_geo;

/* What a worker hands the hooks as their ctx: the map it holds and who it is. */
struct authd_geo_view {
	struct authd_geo *geo;             /* for counters and the explain ACL */
	struct authd_geo_snap *snap;       /* the map of the batch (referenced by the caller) */
	unsigned thread;                   /* worker index (counter row) */
};

/*
 * Load cfg's map (`--map`) and check it against set. threads is the number of
 * worker rows for counters. changed(ctx) is called on the main loop when the
 * map file or its GeoIP file changed on disk (polled every
 * `map-check-interval` seconds): the server then calls authd_geo_reload()
 * with its zones and hands the result to the workers. Starts the health
 * checks and the file watch on loop. On error the reason ("FILE: reason")
 * has been logged; returns DNS_E_CONFIG or -ENOMEM and *out is NULL.
 */
int authd_geo_start(struct authd_geo **out, const struct authd_config *cfg, uv_loop_t *loop,
	unsigned threads, const struct auth_zoneset *set, void (*changed)(void *ctx),
	void *changed_ctx);

/*
 * Reload the map file and check it against set (SIGHUP, file change). A bad
 * map is logged ("FILE: reason") and the current one stays; a good one
 * becomes current (health carried over, checks restarted). The caller
 * publishes it (the serving unit takes authd_geo_current()). Main thread.
 * Returns 0 when a new map is current, or the negative error that kept the
 * old one.
 */
int authd_geo_reload(struct authd_geo *g, const struct auth_zoneset *set);

/* A reference to the current map snapshot (NULL if none). Main thread. */
struct authd_geo_snap *authd_geo_current(struct authd_geo *g);

/* Stop the file watch and the health checks (handles close on the next loop runs). */
void authd_geo_close(struct authd_geo *g);
/* Free what is left once the loop has run the close callbacks. NULL ok. */
void authd_geo_free(struct authd_geo *g);

/* Append the steering and health metrics (main thread, on a scrape). */
void authd_geo_metrics(struct authd_geo *g, struct dns_metrics_buf *b);

/* The auth_hooks members; ctx is a struct authd_geo_view. */
int authd_geo_steer(void *ctx, const struct auth_steer_query *q, struct auth_steer_result *res);
int authd_geo_chaos_txt(void *ctx, const uint8_t *qname, size_t qname_len,
	const struct auth_client *client, const struct dns_ecs *ecs, char *buf, size_t cap);

/*
 * `cairn-auth --explain NAME CLIENT[/PREFIX]`: load the zones and the map of
 * cfg as a start would, and print geo_explain() for NAME A and AAAA as the
 * client CLIENT (a source address) or CLIENT/PREFIX (an ECS subnet) would get
 * it with every replica up. Returns the exit status (0, or 1 with the reason
 * on stderr).
 */
int authd_geo_explain_main(const struct authd_config *cfg, const char *name, const char *client);

#endif
