/*
 * geo_map_load_impl.h -- what the pieces of the map reader share:
 * geo_map_load.c (the whole map, names, networks, defaults) and
 * geo_map_dcs.c (datacenters, replicas and their health checks). The small
 * helpers are static inline so each piece reads the JSON the same way with
 * the same messages. Not for other modules.
 *
 * Every reader function returns 0, or DNS_E_CONFIG (-ENOMEM) with
 * "FILE: PATH: reason" in the reader's err, PATH being the JSON path of the
 * offending value (names["www.cdn.test"].ttl).
 */
#ifndef CAIRN_GEO_MAP_LOAD_IMPL_H
#define CAIRN_GEO_MAP_LOAD_IMPL_H

#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "dns_err.h"
#include "dns_json.h"
#include "geo_map_impl.h"

/* Built-in health check defaults (map-format.md). */
#define DEF_INTERVAL_MS 5000u
#define DEF_TIMEOUT_MS 2000u
#define DEF_RISE 2u
#define DEF_FALL 3u
#define MIN_INTERVAL_MS 50u
#define MAX_INTERVAL_MS 86400000u
#define TTL_MAX 604800u
#define WEIGHT_MAX 1000u

/* The reader of one map: the map being filled and where its one error goes. */
struct geo_ld {
	struct geo_map *m;           /* the map being read (its allocator: m->mm) */
	const char *file;            /* names the map in messages */
	char *err;                   /* "FILE: PATH: reason" goes here (may be NULL) */
	size_t errlen;               /* size of err */
};

/* Health check timing defaults in effect (map "health" or built in). */
struct geo_chk_def {
	uint32_t interval_ms, timeout_ms; /* time between checks, time a check may take */
	uint8_t rise, fall;          /* successes to go up, failures to go down */
};

/* "FILE: PATH: reason" (or "FILE: reason" with an empty path); returns DNS_E_CONFIG. */
__attribute__((format(printf, 3, 4)))
static inline int fail(struct geo_ld *ld, const char *path, const char *fmt, ...)
{
	struct dns_json_err e = { ld->file, ld->err, ld->errlen };
	va_list ap;
	va_start(ap, fmt);
	int r = dns_json_vfail(&e, DNS_E_CONFIG, path, fmt, ap);
	va_end(ap);
	return r;
}

static inline int fail_nomem(struct geo_ld *ld)
{
	if (ld->err && ld->errlen)
		snprintf(ld->err, ld->errlen, "%s: out of memory", ld->file);
	return -ENOMEM;
}

/* Path of a member: "parent.key" or "key" at the top. */
static inline void path_key(char *out, size_t cap, const char *parent, const char *key)
{
	if (*parent)
		snprintf(out, cap, "%.400s.%.64s", parent, key);
	else
		snprintf(out, cap, "%.64s", key);
}

/* Path of a member keyed by data (a name, a CIDR): parent["key"]. */
static inline void path_str(char *out, size_t cap, const char *parent, const char *key)
{
	snprintf(out, cap, "%.200s[\"%.200s\"]", parent, key);
}

static inline void path_idx(char *out, size_t cap, const char *parent, size_t i)
{
	snprintf(out, cap, "%.400s[%zu]", parent, i);
}

/* Every key of obj must be in allowed (NULL-terminated): catches typos. */
static inline int check_keys(struct geo_ld *ld, const json_t *obj, const char *path,
	const char *const *allowed)
{
	struct dns_json_err e = { ld->file, ld->err, ld->errlen };
	return dns_json_check_keys(&e, obj, path, allowed);
}

static inline int want_object(struct geo_ld *ld, const json_t *v, const char *path)
{
	if (!json_is_object(v))
		return fail(ld, path, "must be an object, not %s", dns_json_kind(v));
	return 0;
}

/* An integer in [lo, hi]. */
static inline int get_uint(struct geo_ld *ld, const json_t *v, const char *path, int64_t lo,
	int64_t hi, uint32_t *out)
{
	if (!json_is_integer(v))
		return fail(ld, path, "must be an integer, not %s", dns_json_kind(v));
	json_int_t x = json_integer_value(v);
	if (x < lo || x > hi)
		return fail(ld, path, "%lld is out of range %lld..%lld", (long long)x,
			(long long)lo, (long long)hi);
	*out = (uint32_t)x;
	return 0;
}

/* A number (integer or real) in [lo, hi]. */
static inline int get_number(struct geo_ld *ld, const json_t *v, const char *path, double lo,
	double hi, double *out)
{
	if (!json_is_number(v))
		return fail(ld, path, "must be a number, not %s", dns_json_kind(v));
	double x = json_number_value(v);
	if (!(x >= lo && x <= hi))
		return fail(ld, path, "%g is out of range %g..%g", x, lo, hi);
	*out = x;
	return 0;
}

/* Seconds (fractions allowed) -> ms. */
static inline int get_seconds(struct geo_ld *ld, const json_t *v, const char *path, uint32_t min_ms,
	uint32_t *out)
{
	double s;
	int rc = get_number(ld, v, path, min_ms / 1000.0, MAX_INTERVAL_MS / 1000.0, &s);
	if (rc)
		return rc;
	*out = (uint32_t)llround(s * 1000.0);
	if (*out < min_ms)
		*out = min_ms;
	return 0;
}

/* Parse an IPv4 or IPv6 literal: family 4/6 and 16 bytes (4 used for IPv4). */
static inline bool parse_ip(const char *s, uint8_t *family, uint8_t addr[16])
{
	memset(addr, 0, 16);
	if (inet_pton(AF_INET, s, addr) == 1) {
		*family = 4;
		return true;
	}
	if (inet_pton(AF_INET6, s, addr) == 1) {
		*family = 6;
		return true;
	}
	return false;
}

/* The DC index of a name, DNS_E_NOTFOUND if none. */
static inline int dc_find(const struct geo_map *m, const char *name)
{
	for (unsigned i = 0; i < m->n_dc; i++)
		if (strcmp(m->dc[i].name, name) == 0)
			return (int)i;
	return DNS_E_NOTFOUND;
}

/* The "datacenters" array (required) into ld->m, checks defaulting to def. */
int geo_ld_dcs(struct geo_ld *ld, const json_t *arr, const struct geo_chk_def *def);
/*
 * interval/timeout/rise/fall of obj over def into out (a shorter interval
 * alone brings the inherited timeout down with it).
 */
int geo_ld_timing(struct geo_ld *ld, const json_t *obj, const char *path,
	const struct geo_chk_def *def, struct geo_chk_def *out);

#endif
