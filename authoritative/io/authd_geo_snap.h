/*
 * authd_geo_snap.h -- a loaded steering map as cairn-auth's threads share
 * it: the compiled map (geo_map.h), its health bytes and counter slots,
 * reference-counted. authd_geo.c makes snapshots and swaps them; the health
 * checker (authd_health.c) holds one and writes its health bytes; the serving
 * unit of authd_server holds one for the workers. Apart from authd_geo.h so
 * that the checker depends on the snapshot and not on the steering state
 * (authd_geo.c uses the checker: the arrow runs one way).
 */
#ifndef CAIRN_AUTHD_GEO_SNAP_H
#define CAIRN_AUTHD_GEO_SNAP_H

#include <stdatomic.h>
#include <stdint.h>

#include "geo_map.h"

/* A loaded map, as workers see it. */
struct authd_geo_snap {
	atomic_uint refs;                  /* the last release frees */
	struct geo_map *map;               /* the compiled map (owned) */
	uint8_t *up;                       /* health byte per replica id (1 up); atomic stores */
	uint16_t dc_slot[GEO_DC_MAX];      /* counter slot of each datacenter */
	uint16_t *name_slot;               /* counter slot of each steered name */
	_Atomic uint64_t *fail_open_ms;    /* per name: when fail open was last logged (ms) */
};

/* Take another reference (any thread). */
struct authd_geo_snap *authd_geo_snap_ref(struct authd_geo_snap *snap);
/* Drop a reference (any thread); the last one frees the map. NULL ok. */
void authd_geo_snap_release(struct authd_geo_snap *snap);

#endif
