/*
 * dns_file.h -- reading a whole file into memory, for the loaders the shells call
 * before handing a buffer to a core parser (config files, root hints, zone files,
 * maps). Cores never open files themselves.
 */
#ifndef CAIRN_DNS_FILE_H
#define CAIRN_DNS_FILE_H

#include <stddef.h>

#include "dns_mem.h"

/*
 * Read all of path into a buffer allocated with mm, NUL-terminated (the NUL is not
 * counted in *len). At most max bytes are accepted (0: no limit). Returns 0, a
 * negative errno from the OS, or -EFBIG when the file is larger than max. On
 * failure *out is untouched and nothing is allocated; on success the caller frees
 * *out with mm_free(mm, *out).
 */
int dns_file_read(const char *path, size_t max, const struct dns_mm *mm, char **out, size_t *len);

#endif
