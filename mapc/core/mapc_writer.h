/*
 * mapc_writer.h -- a writer of the MaxMind DB format (v2.0), the core of cairn-mapc.
 *
 * Builds, in memory, a MaxMind DB file that libmaxminddb reads: an IPv6 search
 * tree, the data section (GeoLite2-City schema records, each distinct record
 * written once) and the metadata. Pure: no file I/O, no clock (the build time is
 * passed in), no randomness; the same input gives the same bytes.
 *
 * Glossary (MaxMind DB format specification, "Search Tree Section"):
 *   node        two records, one per value of the next address bit
 *   record      a number: < node_count is a node; == node_count is "no data";
 *               > node_count points into the data section
 *               (offset = record - node_count - 16)
 *   record size bits per record: 24, 28 or 32, the smallest that holds the
 *               largest record value
 *   alias       IPv4 networks live at ::/96 (where libmaxminddb looks IPv4
 *               addresses up in an IPv6 tree); the record for ::ffff:0:0/96
 *               holds the same value as the one for ::/96, so IPv4-mapped
 *               addresses reach the same subtree (as MaxMind's writers do)
 *
 * Overlapping networks: the most specific one wins; the rest of a wider
 * network keeps the wider network's record.
 */
#ifndef CAIRN_MAPC_WRITER_H
#define CAIRN_MAPC_WRITER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dns_mem.h"

#define MAPC_CITY_MAX 255   /* longest city name, bytes of UTF-8 */
#define MAPC_DC_MAX 63      /* longest datacenter name (as geo_map.h) */
#define MAPC_DESC_MAX 1024  /* longest description, bytes of UTF-8 */
#define MAPC_NETS_MAX 50000000u /* networks in one database */

/* The data of one network, written as a GeoLite2-City-schema map. */
struct mapc_record {
	bool has_location;      /* write location.latitude/longitude */
	double lat;             /* location.latitude, degrees in [-90, 90] */
	double lon;             /* location.longitude, degrees in [-180, 180] */
	char country[3];        /* country.iso_code, "" when absent */
	char continent[3];      /* continent.code, "" when absent */
	const char *city;       /* city.names.en, NULL when absent (copied by add) */
	const char *datacenter; /* top-level "datacenter", NULL when absent (copied) */
};

/* Metadata of the database (the fixed keys are written by the core). */
struct mapc_meta {
	const char *database_type; /* e.g. "cairn-Map" */
	const char *description;   /* written as description {"en": ...} */
	uint64_t build_epoch;      /* seconds since 1970, chosen by the caller; not 0
	                            * (libmaxminddb refuses a file saying 0) */
	unsigned record_size;      /* 0: the smallest that fits; 24, 28 or 32 to ask
	                            * for one (-E2BIG if the map does not fit it) */
};

/* A growable byte buffer; zero-initialise, then set mm. */
struct mapc_buf {
	const struct dns_mm *mm; /* allocator of data */
	uint8_t *data;           /* bytes */
	size_t len;              /* bytes used */
	size_t cap;              /* bytes allocated */
};

/* Free the buffer's storage (it may be reused afterwards). */
void mapc_buf_deinit(struct mapc_buf *b);

/* What mapc_writer_build() wrote. */
struct mapc_stats {
	size_t networks;      /* networks added */
	size_t records;       /* distinct records in the data section */
	uint32_t node_count;  /* nodes of the search tree */
	unsigned record_size; /* 24, 28 or 32 */
	size_t tree_bytes;    /* search tree */
	size_t data_bytes;    /* data section (after the 16-byte separator) */
	size_t total_bytes;   /* whole file */
	size_t dup[2];        /* on DNS_E_EXISTS: add-order indices of the two equal networks */
};

/* A database being built: networks are added, then built once. */
struct mapc_writer;

/* Create an empty writer. 0 or -ENOMEM. */
int mapc_writer_new(const struct dns_mm *mm, struct mapc_writer **out);
/* Free the writer and everything it copied. w may be NULL. */
void mapc_writer_free(struct mapc_writer *w);

/*
 * Add a network: addr is 16 bytes in the IPv6 tree (an IPv4 network a.b.c.d/n
 * is given as ::a.b.c.d/96+n), len 0..128, bits beyond len must be zero
 * (-EINVAL otherwise). The record's strings are copied. Returns 0, -EINVAL
 * (bad prefix or record), -E2BIG (too many networks) or -ENOMEM.
 */
int mapc_writer_add(struct mapc_writer *w, const uint8_t addr[16], unsigned len,
	const struct mapc_record *rec);

/*
 * Build the database file into out (appended to out->data). Returns 0;
 * DNS_E_EXISTS when two networks are the same (st->dup names them); -EINVAL
 * for a build_epoch of 0 or a record_size other than 0, 24, 28, 32;
 * -E2BIG when it does not fit 32-bit records; -ENOMEM. st may be NULL.
 */
int mapc_writer_build(struct mapc_writer *w, const struct mapc_meta *meta,
	struct mapc_buf *out, struct mapc_stats *st);

#endif
