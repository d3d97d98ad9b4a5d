/*
 * authd_geo_load.h -- loading a steering map in cairn-auth: the map file read
 * (dns_file_read), the GeoIP database it names opened (libmaxminddb; a
 * relative name is next to the map file), the map compiled by the core
 * (geo_map_load(), geo_mmdb.h) and checked against the zones served. The
 * file I/O of steering is here so that the core parses buffers only.
 * Used by authd_geo.c (start, reload) and authd_geo_explain.c.
 */
#ifndef CAIRN_AUTHD_GEO_LOAD_H
#define CAIRN_AUTHD_GEO_LOAD_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>

#include "auth_zone.h"
#include "dns_mem.h"
#include "geo_map.h"

/*
 * Open the MaxMind DB at path (memory-mapped) as a GeoIP source, allocating
 * through mm. 0; DNS_E_CONFIG with "PATH: reason" in err; -ENOMEM.
 */
int authd_geoip_open(const struct dns_mm *mm, const char *path, struct geo_source *out,
	char *err, size_t errlen);
/* Close what authd_geoip_open() opened. */
void authd_geoip_close(struct geo_source *src);

/* The struct geo_opener of a map read from a file. */
struct authd_geoip_opener {
	struct geo_opener ops;     /* what geo_map_load() takes (ctx: this struct) */
	const struct dns_mm *mm;   /* for authd_geoip_open() */
	const char *map_file;      /* a relative "geoip" is in this file's directory */
	char path[PATH_MAX];       /* the path opened, "" if none (to watch the file) */
};

/* Set o up for a map read from map_file (kept, not copied). */
void authd_geoip_opener_init(struct authd_geoip_opener *o, const struct dns_mm *mm,
	const char *map_file);

/*
 * Read file, compile it (allocating through mm) and check it against set
 * (authd_geo_check_zones(), warning about shadowed records). On success *out
 * is the map and geoip (geoip_cap bytes, may be NULL) the GeoIP path it uses
 * ("" if none). On error the reason is in err ("FILE: reason") and the
 * return is DNS_E_CONFIG, -ENOMEM or the -errno of reading the file.
 */
int authd_geo_load(const struct dns_mm *mm, const char *file, const struct auth_zoneset *set,
	struct geo_map **out, char *geoip, size_t geoip_cap, char *err, size_t errlen);

/*
 * Check the map's steered names against the zones of set: each inside a
 * zone served, not at or below a cut or a DNAME, not a CNAME owner. With
 * warn, static A/AAAA shadowed by a name are logged. 0, DNS_E_CONFIG or
 * -ENOMEM with "FILE: reason" in err (file names the map).
 */
int authd_geo_check_zones(const struct geo_map *m, const struct auth_zoneset *set,
	const char *file, bool warn, char *err, size_t errlen);

/* The presentation form of a steered name without its final dot (as operators write it). */
void authd_geo_name_text(const struct geo_name *n, char *buf, size_t cap);

#endif
