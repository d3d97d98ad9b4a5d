/*
 * auth_zone.h -- the zone database of cairn-auth: loading, immutable snapshots,
 * zone sets.
 *
 * Glossary:
 *   apex       the zone's origin name, owner of its SOA and NS records.
 *   snapshot   a struct auth_zone: built once (from a master file, a string or
 *              AXFR records), never modified afterwards, shared between threads
 *              and freed when its last reference is dropped.
 *   delegation a name below the apex owning NS records (RFC 1034 4.2.1): a zone
 *              cut; data at and below it (except DS at the cut) is not
 *              authoritative.
 *   glue       address records at or below a delegation, kept so referrals can
 *              carry them, flagged non-authoritative.
 *   zone set   the zones a server answers from; lookup gives the deepest zone
 *              containing a name. Also an immutable, reference-counted snapshot,
 *              swapped atomically by the io layer on reload.
 *
 * Every name taken or returned by this API is an uncompressed wire name;
 * names stored in a snapshot are canonical (lower case, RFC 4034 6.2).
 * Load errors are written into a caller buffer as lines "file:line: reason"
 * (the line of the offending record; whole-zone problems such as a missing SOA
 * have no line: "file: reason"); the function returns DNS_E_ZONE.
 */
#ifndef CAIRN_AUTH_ZONE_H
#define CAIRN_AUTH_ZONE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dns_mem.h"

struct auth_zone;
struct auth_zoneset;
struct auth_zone_builder;
struct auth_zoneset_builder;

/* ---- building one zone ---------------------------------------------------- */

/*
 * Start building the zone whose apex is origin (wire form, any case). The
 * builder and the finished snapshot allocate through mm, which must outlive
 * the snapshot. Returns 0 or -ENOMEM.
 */
int auth_zone_builder_new(const struct dns_mm *mm, const uint8_t *origin,
	struct auth_zone_builder **out);

/*
 * Add one record (class IN only; others give DNS_E_ZONE). owner is an
 * uncompressed wire name (any case), rdata its uncompressed wire RDATA
 * (names inside it are stored as given; compare them case-insensitively).
 * file/line say where the record came from and appear in error messages;
 * file may be NULL (e.g. "AXFR" is used when NULL) and line 0.
 * Records are checked as a whole at auth_zone_builder_finish(); here only
 * owner/rdata well-formedness is checked. Identical duplicates are merged.
 * Returns 0, -ENOMEM, or DNS_E_ZONE (message written to the builder's error
 * list, reported by finish).
 */
int auth_zone_builder_add_rr(struct auth_zone_builder *b, const uint8_t *owner,
	uint16_t type, uint16_t rclass, uint32_t ttl, const uint8_t *rdata,
	uint16_t rdlen, const char *file, unsigned line);

/*
 * Run the zone checks and build the snapshot. Checks (each failure one line
 * "file:line: reason" appended to err, NUL-terminated, truncated to errlen):
 * exactly one SOA, at the apex; NS at the apex; records outside the zone;
 * CNAME beside other data (RRSIG/NSEC allowed, RFC 1034 3.6.2, RFC 4035
 * 2.5); more than one CNAME at a name; data below a DNAME (RFC 6672 2.3);
 * missing glue for in-zone name servers. TTLs differing inside one RRset
 * (RFC 2181 5.2) are not an error: like NSD a warning is logged and each
 * record keeps (and is served with) its own TTL.
 * On success *out holds a snapshot with one reference. The builder is freed
 * in every case. Returns 0, -ENOMEM or DNS_E_ZONE.
 */
int auth_zone_builder_finish(struct auth_zone_builder *b, struct auth_zone **out,
	char *err, size_t errlen);

/* Drop a builder without building (after an error in add_rr, say). NULL ok. */
void auth_zone_builder_free(struct auth_zone_builder *b);

/*
 * Where the loader gets the text of a master file and of the files it
 * $INCLUDEs: the core opens no file itself, the caller passes a reader (the
 * io layer's reads the file system, a test's may serve fixtures from memory).
 */
struct auth_zone_reader {
	/* The whole content of path into *text (*len bytes, no NUL needed);
	 * 0, or a negative errno (named in the load error). */
	int (*read)(void *ctx, const char *path, char **text, size_t *len);
	/* Give back what read() returned, once the loader is done with it. */
	void (*release)(void *ctx, char *text, size_t len);
	void *ctx; /* passed to both */
};

/*
 * Load an RFC 1035 master file (via ldns), read through rd: $ORIGIN, $TTL,
 * $INCLUDE (path relative to the including file's directory, nested up to 8
 * deep, read through rd too), relative names, '@', blank owners, multi-line
 * records, every type ldns knows and RFC 3597 unknown types ("TYPE65280 \# 4
 * 0a000001"). Files are expected to start with the zone's origin as $ORIGIN
 * (origin is preset). Errors as described above, including ldns parse errors
 * with ldns's message. Returns 0, -errno (path unreadable: "path: cannot
 * read: reason" also in err), -ENOMEM or DNS_E_ZONE.
 */
int auth_zone_load(const struct dns_mm *mm, const uint8_t *origin, const char *path,
	const struct auth_zone_reader *rd, struct auth_zone **out, char *err, size_t errlen);

/*
 * Same as auth_zone_load() but from text in memory (unit tests, fuzzing);
 * name is used as the file name in error messages. There is no reader:
 * an $INCLUDE is an error ("cannot read $INCLUDE file ...").
 */
int auth_zone_load_string(const struct dns_mm *mm, const uint8_t *origin,
	const char *text, const char *name, struct auth_zone **out, char *err,
	size_t errlen);

/*
 * For `cairn-auth --check-zone ORIGIN FILE`: origin in presentation form,
 * the file read through rd. Loads with the process allocator, runs every
 * check, frees the zone. On success writes a one-line summary ("zone
 * example.com. serial 1: 42 records") into err. Returns 0, -errno,
 * DNS_E_SYNTAX (bad origin) or DNS_E_ZONE.
 */
int auth_zone_check_file(const char *origin, const char *path,
	const struct auth_zone_reader *rd, char *err, size_t errlen);

/* ---- using a zone snapshot ------------------------------------------------- */

/* Take a reference (thread-safe, atomic). Returns z. */
struct auth_zone *auth_zone_ref(struct auth_zone *z);
/* Drop a reference; the last one frees the snapshot. NULL ok. */
void auth_zone_unref(struct auth_zone *z);

/* The apex name, canonical wire form. */
const uint8_t *auth_zone_origin(const struct auth_zone *z);

/* The SOA's fields (RFC 1035 3.3.13), host byte order. */
struct auth_soa {
	uint32_t ttl;     /* TTL of the SOA record itself */
	uint32_t serial;  /* SERIAL */
	uint32_t refresh; /* REFRESH, seconds */
	uint32_t retry;   /* RETRY, seconds */
	uint32_t expire;  /* EXPIRE, seconds */
	uint32_t minimum; /* MINIMUM: negative caching TTL bound (RFC 2308 4) */
};
/* Copy the SOA fields out. */
void auth_zone_soa(const struct auth_zone *z, struct auth_soa *soa);
/* Shortcut for the SOA serial. */
uint32_t auth_zone_serial(const struct auth_zone *z);

/* Number of records in the zone (each counted once; no double SOA). */
size_t auth_zone_rr_count(const struct auth_zone *z);

/* One record as the iterator returns it; pointers valid while z lives. */
struct auth_rr_view {
	const uint8_t *owner;  /* canonical wire name */
	uint16_t type;         /* RR type */
	uint16_t rclass;       /* always IN (1) */
	uint32_t ttl;          /* TTL */
	const uint8_t *rdata;  /* uncompressed RDATA wire */
	uint16_t rdlen;        /* RDATA length */
};

/*
 * Iterator over a zone in AXFR order (RFC 5936 2.2): the SOA, then every
 * other record (owners in canonical order, RRsets by type), then the SOA
 * again. Plain value, no allocation; the zone must outlive it.
 */
struct auth_zone_iter {
	const struct auth_zone *z; /* zone walked */
	size_t node;               /* current node index */
	size_t rrset;              /* current RRset index within the node */
	size_t rr;                 /* current record index within the RRset */
	int phase;                 /* 0 first SOA, 1 body, 2 last SOA, 3 done */
};
/* Start iterating z. */
void auth_zone_iter_init(struct auth_zone_iter *it, const struct auth_zone *z);
/* Next record into *rr; false when done. */
bool auth_zone_iter_next(struct auth_zone_iter *it, struct auth_rr_view *rr);

/* ---- zone sets --------------------------------------------------------------- */

/* Start an empty set (allocated through mm). Returns 0 or -ENOMEM. */
int auth_zoneset_builder_new(const struct dns_mm *mm, struct auth_zoneset_builder **out);
/*
 * Add a zone; the set takes its own reference (the caller keeps its own), so
 * an already-loaded zone from the serving set can be reused on reload when its
 * new file failed. DNS_E_EXISTS if a zone with the same origin was added.
 */
int auth_zoneset_builder_add(struct auth_zoneset_builder *b, struct auth_zone *z);
/* Build the set (one reference to *out); frees the builder in every case. */
int auth_zoneset_builder_finish(struct auth_zoneset_builder *b, struct auth_zoneset **out);
/* Drop a builder and the references it holds. NULL ok. */
void auth_zoneset_builder_free(struct auth_zoneset_builder *b);

/* Take a reference (atomic). Returns s. */
struct auth_zoneset *auth_zoneset_ref(struct auth_zoneset *s);
/* Drop a reference; the last one drops the set's zone references and frees it. NULL ok. */
void auth_zoneset_unref(struct auth_zoneset *s);

/* The deepest zone whose apex is name or an ancestor of it (borrowed); NULL if none. */
struct auth_zone *auth_zoneset_find(const struct auth_zoneset *s, const uint8_t *name);
/* The zone with exactly this origin (borrowed, auth_zone_ref() to keep it); NULL if none. */
struct auth_zone *auth_zoneset_get(const struct auth_zoneset *s, const uint8_t *origin);
/* Number of zones. */
size_t auth_zoneset_count(const struct auth_zoneset *s);
/* Zone number i (0 <= i < count), in canonical order of origins; borrowed. */
struct auth_zone *auth_zoneset_at(const struct auth_zoneset *s, size_t i);

#endif
