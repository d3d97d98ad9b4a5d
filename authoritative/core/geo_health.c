/*
 * geo_health.c -- the rise/fall state of one replica's health check
 * (geo_health.h). A run of results only counts while it points away from the
 * current state: a success while up (or a failure while down) breaks the
 * opposite run, so one flapping check never moves the state.
 */
#include "geo_health.h"

#include <string.h>

void geo_health_init(struct geo_health *h)
{
	memset(h, 0, sizeof(*h));
	h->up = true;
}

bool geo_health_report(struct geo_health *h, const struct geo_check *c, bool ok,
	uint32_t took_ms, uint64_t now_ms)
{
	/* A map always gives 1..255; a zeroed check still needs one result. */
	unsigned fall = c->fall ? c->fall : 1;
	unsigned rise = c->rise ? c->rise : 1;

	h->checks++;
	if (!ok)
		h->failures++;
	h->last_ms = took_ms;
	if (h->up) {
		h->ok_run = 0;
		if (ok) {
			h->fail_run = 0;
			return false;
		}
		if (++h->fail_run < fall)
			return false;
		h->up = false;
	} else {
		h->fail_run = 0;
		if (!ok) {
			h->ok_run = 0;
			return false;
		}
		if (++h->ok_run < rise)
			return false;
		h->up = true;
	}
	h->ok_run = h->fail_run = 0;
	h->since_ms = now_ms;
	return true;
}
