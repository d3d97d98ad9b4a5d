/*
 * mapc_json.h -- cairn-mapc's input: the networks file (docs/cairn-mapc.md)
 * read with jansson, every rule checked with an error naming the JSON path
 * (the same "FILE: PATH: reason" form as cairn-auth's map loader, through
 * dns_json.h), then handed to the writer (mapc_writer.h).
 */
#ifndef CAIRN_MAPC_JSON_H
#define CAIRN_MAPC_JSON_H

#include <stddef.h>
#include <stdint.h>

#include "dns_mem.h"
#include "mapc_writer.h"

/*
 * Parse a cairn-mapc networks file (docs/cairn-mapc.md) and build the database:
 * json/len is the text, file names it in messages; build_epoch and
 * record_size as in struct mapc_meta. On bad input returns
 * DNS_E_CONFIG with "FILE: path: reason" (or "FILE:LINE:COL: reason" for a
 * JSON syntax error) in err; -E2BIG or -ENOMEM with a message too.
 */
int mapc_compile_json(const struct dns_mm *mm, const char *json, size_t len,
	const char *file, uint64_t build_epoch, unsigned record_size, struct mapc_buf *out,
	struct mapc_stats *st, char *err, size_t errlen);

#endif
