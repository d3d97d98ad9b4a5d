/*
 * geo_mmdb.h -- struct geo_source over a MaxMind DB file (libmaxminddb).
 *
 * Reads the GeoLite2-City schema fields steering needs: location.latitude,
 * location.longitude, country.iso_code, continent.code (and city.names.en
 * for explanations). Walks the whole search tree for geo_map_load(); IPv4
 * networks of an IPv6 database (at ::/96) are reported at ::ffff:0:0/96,
 * and the alias subtrees (::ffff:0:0/96 and 2002::/16 in MaxMind's
 * databases) are not walked twice. An IPv4-only database is reported at
 * ::ffff:0:0/96 too.
 */
#ifndef CAIRN_GEO_MMDB_H
#define CAIRN_GEO_MMDB_H

#include <stddef.h>

#include "geo_map.h"

/* Open path; fills out. 0, or DNS_E_CONFIG with "PATH: reason" in err. */
int geo_mmdb_open(const char *path, struct geo_source *out, char *err, size_t errlen);
/* Close what geo_mmdb_open() opened. */
void geo_mmdb_close(struct geo_source *src);

#endif
