/*
 * geo_health.h -- the rise/fall state of one replica's health check.
 *
 * A replica starts up (so a fresh server answers at once). fall consecutive
 * failed checks take it down; rise consecutive good checks bring it back, as
 * in gdnsd's and HAProxy's checkers. Pure: the io layer runs the checks
 * (authd_health.c) and reports each result with the time it finished.
 */
#ifndef CAIRN_GEO_HEALTH_H
#define CAIRN_GEO_HEALTH_H

#include <stdbool.h>
#include <stdint.h>

#include "geo_map.h"

struct geo_health {
	bool up;                 /* the state answers use */
	uint8_t ok_run;          /* consecutive successes while down */
	uint8_t fail_run;        /* consecutive failures while up */
	uint64_t since_ms;       /* when the state last changed (0: never) */
	uint64_t checks, failures; /* totals, for metrics */
	uint32_t last_ms;        /* duration of the last check (ms) */
};

/* Up, no history. */
void geo_health_init(struct geo_health *h);

/*
 * Record one check result of a replica checked as c: ok or not, how long it
 * took (ms) and when it finished (now_ms). Returns true when the state
 * changed (up -> down after c->fall failures, down -> up after c->rise
 * successes).
 */
bool geo_health_report(struct geo_health *h, const struct geo_check *c, bool ok,
	uint32_t took_ms, uint64_t now_ms);

#endif
