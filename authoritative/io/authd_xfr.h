/*
 * authd_xfr.h -- replication in cairn-auth, the libuv shell: AXFR out to
 * addresses in the `allow-transfer` ACL, NOTIFY out to the `notify` secondaries
 * when a zone changes, and the secondary side of every zone configured with a
 * `primary`: SOA checks over UDP on the SOA refresh/retry/expire timers and at
 * once on NOTIFY, AXFR over TCP, the new version swapped in and kept on disk
 * (the zone's file, written atomically) so a restart serves the last good copy.
 *
 * The protocol logic is in authoritative/core/auth_xfr.h; this file sends,
 * receives and keeps time. Outgoing queries, transfers and NOTIFYs leave from
 * a configured `listen` address of the peer's family, so the peer's ACLs can
 * name the address it knows us by: a loopback one for a loopback peer, else
 * the first that is neither loopback nor a wildcard; when there is none the
 * kernel chooses.
 *
 * Threads: authd_xfr_start/close/zone_changed run on the main thread (the
 * server's main loop); authd_xfr_on_notify/on_axfr run on worker threads and
 * only hand events to the main loop through a uv_async handle.
 */
#ifndef CAIRN_AUTHD_XFR_H
#define CAIRN_AUTHD_XFR_H

#include <stdint.h>

#include <uv.h>

#include "auth_zone.h"
#include "authd_config.h"
#include "dns_listen.h"
#include "dns_pkt.h"

struct authd_xfr;

/*
 * What replication needs of the server it runs in, filled in by the server:
 * replication calls it back and includes nothing of it.
 */
struct authd_xfr_host {
	uv_loop_t *loop;                /* the main loop: timers, sockets, the async */
	const struct authd_config *cfg; /* zones, listen addresses, allow-transfer */
	void *ctx;                      /* passed to every callback */
	/* A reference to the zone set serving now (NULL: none yet); the caller
	 * drops it with auth_zoneset_unref(). Any thread. */
	struct auth_zoneset *(*zones)(void *ctx);
	/* Serve z (a new version from AXFR) in place of the version with the
	 * same origin; the server takes its own reference. Main thread. */
	int (*replace_zone)(void *ctx, struct auth_zone *z);
	/* The secondary zone origin is expired (RFC 1035 3.3.13: EXPIRE passed
	 * with no good check of the primary): SERVFAIL for its names instead of
	 * stale data until replace_zone() serves a fresh copy. Main thread. */
	int (*expire_zone)(void *ctx, const uint8_t *origin);
};

/*
 * Main thread: open the UDP sockets for SOA queries and NOTIFYs, start the
 * refresh timers of every secondary zone (the first check happens at once: a
 * SOA query when the zone is already served from its kept copy, an AXFR when
 * not). host is copied; host->cfg must outlive the replication. Returns 0 and
 * *out, or a negative errno.
 */
int authd_xfr_start(const struct authd_xfr_host *host, struct authd_xfr **out);
/*
 * Main thread, after the workers are stopped and before the loop is closed:
 * stop everything and close every handle. The handles close asynchronously;
 * run the loop (uv_run) once more so their callbacks free the memory.
 */
void authd_xfr_close(struct authd_xfr *x);
/*
 * Any worker thread: a query with opcode NOTIFY (already parsed). Replies
 * NOERROR (AA, question echoed) when the zone is a secondary zone here and the
 * sender is its configured primary, REFUSED when the sender is not, NOTAUTH
 * for a zone that is not a secondary zone here, NOTIMP for a QTYPE other than
 * SOA (RFC 1996 3.2, 4.7); then wakes the main loop for the check. Always ends
 * with dns_listen_done(req).
 */
void authd_xfr_on_notify(struct authd_xfr *x, struct dns_listen_req *req,
	const struct dns_query *q);
/*
 * Any worker thread: a query with QTYPE AXFR or IXFR. REFUSED unless the peer
 * is in `allow-transfer`; NOTAUTH for a zone not served here; AXFR over UDP is
 * REFUSED (RFC 5936 4.2); IXFR over UDP gets the current SOA alone (RFC 1995
 * 2: "come back over TCP"); over TCP both get the whole zone as a series of
 * messages (RFC 5936; a full answer to IXFR is allowed by RFC 1995 4). Ends
 * with dns_listen_done(req).
 */
void authd_xfr_on_axfr(struct authd_xfr *x, struct dns_listen_req *req,
	const struct dns_query *q);
/*
 * Main thread: zone z now serves in a new version (reload, or a transfer in --
 * authd_xfr calls this itself after its own transfers). Sends a NOTIFY to each
 * of the zone's `notify` addresses over UDP and retries up to 5 times with a
 * doubling timeout until a reply arrives (RFC 1996 3.6). A change while a
 * NOTIFY is still unanswered restarts it with the new SOA.
 */
void authd_xfr_zone_changed(struct authd_xfr *x, const struct auth_zone *z);

#endif
