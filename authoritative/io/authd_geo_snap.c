/*
 * authd_geo_snap.c -- references to a loaded steering map (authd_geo_snap.h).
 */
#include <stdlib.h>

#include "authd_geo_snap.h"

struct authd_geo_snap *authd_geo_snap_ref(struct authd_geo_snap *snap)
{
	atomic_fetch_add_explicit(&snap->refs, 1, memory_order_relaxed);
	return snap;
}

void authd_geo_snap_release(struct authd_geo_snap *snap)
{
	if (!snap || atomic_fetch_sub_explicit(&snap->refs, 1, memory_order_acq_rel) != 1)
		return;
	geo_map_free(snap->map);
	free(snap->up);
	free(snap->name_slot);
	free(snap->fail_open_ms);
	free(snap);
}
