/*
 * geo_mmdb.h -- struct geo_source over a MaxMind DB (libmaxminddb).
 *
 * Reads the GeoLite2-City schema fields steering needs: location.latitude,
 * location.longitude, country.iso_code, continent.code (and city.names.en
 * for explanations). Walks the whole search tree for geo_map_load(); IPv4
 * networks of an IPv6 database (at ::/96) are reported at ::ffff:0:0/96,
 * and the alias subtrees (::ffff:0:0/96 and 2002::/16 in MaxMind's
 * databases) are not walked twice. An IPv4-only database is reported at
 * ::ffff:0:0/96 too.
 *
 * The core opens no file: the io layer opens the database (MMDB_open,
 * authoritative/io/authd_geo_load.h) and hands it over here; reading it
 * afterwards goes through libmaxminddb's mapping of the file.
 */
#ifndef CAIRN_GEO_MMDB_H
#define CAIRN_GEO_MMDB_H

#include <stddef.h>
#include <stdint.h>

#include <maxminddb.h>

#include "dns_mem.h"
#include "geo_map.h"

/* What a struct geo_source over one database reads (its ctx; caller storage). */
struct geo_mmdb {
	MMDB_s *db;               /* opened by the caller, closed by it after the source */
	const struct dns_mm *mm;  /* the walk's record cache */
	uint32_t v4_node;         /* node reached by ::/96 in an IPv6 tree (UINT32_MAX: none) */
};

/*
 * Make out a source reading db through s (both must outlive out). name is
 * out->name, for messages (kept, not copied). Nothing is allocated here; a
 * walk allocates its record cache through mm and frees it before returning.
 * 0, or DNS_E_CONFIG with "NAME: unsupported ip_version N" in err.
 */
int geo_mmdb_init(struct geo_mmdb *s, const struct dns_mm *mm, MMDB_s *db, const char *name,
	struct geo_source *out, char *err, size_t errlen);

#endif
