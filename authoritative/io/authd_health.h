/*
 * authd_health.h -- the health checker of cairn-auth's CDN replicas: one
 * libuv check per replica that has one in the map (TCP connect, or an HTTP
 * GET whose status line must be 2xx), every interval with a random start so
 * checks do not align, each result fed to the rise/fall state machine
 * (geo_health.h). A state change is stored in the map snapshot's health byte
 * (an atomic byte store workers read) and logged:
 *   health: eu-london 127.61.1.1 tcp:8081 down (3 failures)
 *
 * Runs on the main loop. A checker set belongs to one map snapshot (it holds
 * a reference); on reload the new set starts with the old one's states for
 * replicas that are the same (address and check), then the old one is closed.
 */
#ifndef CAIRN_AUTHD_HEALTH_H
#define CAIRN_AUTHD_HEALTH_H

#include <stdbool.h>
#include <stdint.h>

#include <uv.h>

#include "geo_health.h"

struct authd_geo_snap;
struct authd_health;

/*
 * Start checking the replicas of snap on loop. Replicas found in old (the
 * previous set, may be NULL) with the same address and check keep their state
 * and counters; the others start as snap->up says. Returns 0 and *out (NULL
 * when the map has no check at all), or -ENOMEM / a libuv error.
 */
int authd_health_start(struct authd_health **out, uv_loop_t *loop, struct authd_geo_snap *snap,
	const struct authd_health *old);

/*
 * Stop every check and close its handles; the memory (and the snapshot
 * reference) goes when the last close callback ran. NULL ok.
 */
void authd_health_close(struct authd_health *h);

/*
 * The state of replica id (NULL when it has no check, or h is NULL) and, in
 * *last_s (may be NULL), how long its last check took in seconds (finer than
 * the state's last_ms). Main thread.
 */
const struct geo_health *authd_health_state(const struct authd_health *h, unsigned id,
	double *last_s);

#endif
