/*
 * authd_zonefile.h -- zone files from the file system. The zone loader of
 * authoritative/core opens no file itself (auth_zone.h, struct
 * auth_zone_reader): this is the reader cairn-auth hands it, over
 * dns_file_read(), for the master file and every file it $INCLUDEs -- at
 * start-up, on SIGHUP, for --check-zone and --explain, and for a secondary's
 * kept copy.
 */
#ifndef CAIRN_AUTHD_ZONEFILE_H
#define CAIRN_AUTHD_ZONEFILE_H

#include <stddef.h>
#include <stdint.h>

#include "auth_zone.h"
#include "dns_mem.h"

/* The reader over the file system (process allocator, no size limit). */
const struct auth_zone_reader *authd_zonefile_reader(void);

/*
 * auth_zone_load() of the master file path through authd_zonefile_reader():
 * same arguments, results and messages.
 */
int authd_zonefile_load(const struct dns_mm *mm, const uint8_t *origin, const char *path,
	struct auth_zone **out, char *err, size_t errlen);

#endif
