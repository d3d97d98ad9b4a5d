/*
 * auth_zone_build_impl.h -- the zone builder's internals, shared by the pieces
 * of the zone loader (private to authoritative/core): auth_zone_build.c
 * collects and checks records one by one, auth_zone_finish.c checks them as a
 * whole and lays out the snapshot, auth_zone_text.c feeds master-file text.
 * The snapshot layout itself is auth_zone_impl.h.
 */
#ifndef CAIRN_AUTH_ZONE_BUILD_IMPL_H
#define CAIRN_AUTH_ZONE_BUILD_IMPL_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include "auth_zone.h"
#include "dns_mem.h"
#include "dns_name.h"

#define AUTH_ZONE_ARENA_BLOCK (64 * 1024) /* arena block of builders and snapshots */
#define AUTH_ZONE_BUILDER_ERR_MAX 4096   /* room for the errors met while adding */

/* One record collected by a builder. */
struct brec {
	const uint8_t *owner;  /* canonical wire, in the builder arena */
	const uint8_t *rdata;  /* RDATA wire, in the builder arena */
	const char *file;      /* where it came from (builder arena) */
	unsigned line;         /* line in file, 0 unknown */
	uint32_t seq;          /* order of arrival */
	uint32_t ttl;          /* TTL as given */
	uint16_t type;         /* RR type */
	uint16_t rdlen;        /* RDATA length */
	uint8_t ownerlen;      /* wire length of owner */
};

/* A zone being built: the records so far and the errors met adding them. */
struct auth_zone_builder {
	const struct dns_mm *mm;     /* allocator of the builder and the snapshot */
	struct dns_arena arena;      /* owners, RDATA, file names */
	uint8_t origin[DNS_NAME_MAX]; /* the apex, canonical wire */
	size_t origin_len;           /* its wire length */
	struct brec *recs;           /* records in order of arrival */
	size_t nrecs, caprecs;       /* used and allocated entries of recs */
	const char *srcname;         /* file named in whole-zone errors */
	const char *last_file;       /* interning cache: last file name copied */
	char errs[AUTH_ZONE_BUILDER_ERR_MAX]; /* errors met while adding */
	size_t errpos;               /* end of the text in errs */
	unsigned nerrs;              /* errors met while adding */
};

/*
 * Length of the uncompressed wire name at buf[0..len), or DNS_E_SHORT,
 * DNS_E_LABEL or DNS_E_NAMELEN when it is not a valid one.
 */
int auth_wire_name_len(const uint8_t *buf, size_t len);

/* The presentation form of a wire name into buf, "(bad name)" if it has none. */
void auth_name_text(const uint8_t *name, char *buf, size_t size);

/*
 * Append one "file:line: reason" line (file NULL: "AXFR"; line 0: none) to
 * the error buffer buf[0..cap), *pos its end, *count the errors so far;
 * after 50 a last line says more are not shown.
 */
void auth_zone_err_vadd(char *buf, size_t cap, size_t *pos, unsigned *count,
	const char *file, unsigned line, const char *fmt, va_list ap);

/* Record an error met while adding (reported by auth_zone_builder_finish()). */
void auth_zone_builder_err(struct auth_zone_builder *b, const char *file,
	unsigned line, const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* A copy of file name file in the builder's arena (the last one is reused); NULL
 * when file is NULL or memory ran out. */
const char *auth_zone_builder_intern(struct auth_zone_builder *b, const char *file);

#endif
