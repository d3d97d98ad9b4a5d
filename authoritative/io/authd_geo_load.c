/*
 * authd_geo_load.c -- reading a steering map, opening its GeoIP database and
 * checking the map against the zones (authd_geo_load.h).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <maxminddb.h>

#include "auth_answer.h"
#include "authd_geo_load.h"
#include "dns_err.h"
#include "dns_file.h"
#include "dns_log.h"
#include "dns_name.h"
#include "dns_pkt.h"
#include "geo_mmdb.h"

/* Largest map file read (a map is a few KB; this only bounds a mistake). */
#define MAP_FILE_MAX (64u << 20)

/* An open GeoIP database: the mapping libmaxminddb made and the core's view of it. */
struct geoip_file {
	MMDB_s db;
	struct geo_mmdb src;       /* the source's ctx */
	const struct dns_mm *mm;   /* this struct's allocator */
	char path[1024];           /* the source's name */
};

int authd_geoip_open(const struct dns_mm *mm, const char *path, struct geo_source *out,
	char *err, size_t errlen)
{
	struct geoip_file *f = mm_calloc(mm, 1, sizeof(*f));
	int r;

	if (!f) {
		snprintf(err, errlen, "%s: out of memory", path);
		return -ENOMEM;
	}
	f->mm = mm;
	snprintf(f->path, sizeof(f->path), "%s", path);
	errno = 0;
	int st = MMDB_open(path, MMDB_MODE_MMAP, &f->db);
	if (st != MMDB_SUCCESS) {
		if ((st == MMDB_IO_ERROR || st == MMDB_FILE_OPEN_ERROR) && errno)
			snprintf(err, errlen, "%s: %s (%s)", path, MMDB_strerror(st), strerror(errno));
		else
			snprintf(err, errlen, "%s: %s", path, MMDB_strerror(st));
		mm_free(mm, f);
		return DNS_E_CONFIG;
	}
	if ((r = geo_mmdb_init(&f->src, mm, &f->db, f->path, out, err, errlen)) < 0) {
		MMDB_close(&f->db);
		mm_free(mm, f);
		return r;
	}
	return 0;
}

void authd_geoip_close(struct geo_source *src)
{
	if (!src || !src->ctx)
		return;
	struct geoip_file *f = (struct geoip_file *)((char *)src->ctx -
		offsetof(struct geoip_file, src));
	MMDB_close(&f->db);
	mm_free(f->mm, f);
	src->ctx = NULL;
}

static int opener_open(void *ctx, const char *geoip, struct geo_source *out, char *err,
	size_t errlen)
{
	struct authd_geoip_opener *o = ctx;
	const char *slash = strrchr(o->map_file, '/');
	/* relative to the map file, not to wherever cairn-auth was started */
	if (geoip[0] == '/' || !slash)
		snprintf(o->path, sizeof(o->path), "%s", geoip);
	else
		snprintf(o->path, sizeof(o->path), "%.*s/%s", (int)(slash - o->map_file),
			o->map_file, geoip);
	return authd_geoip_open(o->mm, o->path, out, err, errlen);
}

void authd_geoip_opener_init(struct authd_geoip_opener *o, const struct dns_mm *mm,
	const char *map_file)
{
	memset(o, 0, sizeof(*o));
	o->ops.open = opener_open;
	o->ops.close = authd_geoip_close;
	o->ops.ctx = o;
	o->mm = mm;
	o->map_file = map_file;
}

/* The map file's text (NUL-terminated, freed with mm); errors as "FILE: reason". */
static int read_map(const struct dns_mm *mm, const char *file, char **out, size_t *len,
	char *err, size_t errlen)
{
	int r = dns_file_read(file, MAP_FILE_MAX, mm, out, len);
	if (r == -EFBIG) {
		snprintf(err, errlen, "%s: larger than %u bytes", file, MAP_FILE_MAX);
		return DNS_E_CONFIG;
	}
	if (r == -ENOMEM)
		snprintf(err, errlen, "%s: out of memory", file);
	else if (r == -EIO || r == -EISDIR)
		snprintf(err, errlen, "%s: read error", file);
	else if (r < 0)
		snprintf(err, errlen, "%s: %s", file, strerror(-r));
	return r;
}

int authd_geo_load(const struct dns_mm *mm, const char *file, const struct auth_zoneset *set,
	struct geo_map **out, char *geoip, size_t geoip_cap, char *err, size_t errlen)
{
	struct authd_geoip_opener opener;
	struct geo_map *map = NULL;
	char *json = NULL;
	size_t len = 0;
	int r;

	*out = NULL;
	err[0] = '\0';
	if ((r = read_map(mm, file, &json, &len, err, errlen)) < 0)
		return r;
	authd_geoip_opener_init(&opener, mm, file);
	r = geo_map_load(mm, json, len, file, &opener.ops, &map, err, errlen);
	mm_free(mm, json);
	if (r < 0) {
		if (!err[0])
			snprintf(err, errlen, "%s: %s", file, dns_strerror(r));
		return r;
	}
	if ((r = authd_geo_check_zones(map, set, file, true, err, errlen)) < 0) {
		geo_map_free(map);
		return r;
	}
	if (geoip)
		snprintf(geoip, geoip_cap, "%s", opener.path);
	*out = map;
	return 0;
}

/*
 * A steered name must be answered by steering whenever it is asked: inside a
 * zone we serve (the deepest one, as the answer engine picks), not at or
 * below a zone cut (the data there is the child's, RFC 1034 4.2.1), not below
 * a DNAME (RFC 6672 2.3: the name is redirected) and not a CNAME owner (RFC
 * 1034 3.6.2: a CNAME owner has no other data). Static A/AAAA at the name are
 * only shadowed: warned about, once per load.
 */
int authd_geo_check_zones(const struct geo_map *m, const struct auth_zoneset *set,
	const char *file, bool warn, char *err, size_t errlen)
{
	unsigned nn = geo_map_names(m);
	const struct auth_zone **zone_of = calloc(nn ? nn : 1, sizeof(*zone_of));
	bool *warned = calloc(nn ? nn : 1, sizeof(*warned));
	char text[256], cut[DNS_NAME_TEXT_MAX];
	int r = 0;

	if (!zone_of || !warned) {
		r = -ENOMEM;
		snprintf(err, errlen, "%s: out of memory", file);
		goto out;
	}
	for (unsigned i = 0; i < nn; i++) {
		const struct geo_name *n = geo_map_name_at(m, i);
		zone_of[i] = set ? auth_zoneset_find(set, n->owner) : NULL;
		if (!zone_of[i]) {
			authd_geo_name_text(n, text, sizeof(text));
			snprintf(err, errlen, "%s: names[\"%s\"]: not inside any zone served", file, text);
			r = DNS_E_CONFIG;
			goto out;
		}
	}
	for (size_t zi = 0; set && zi < auth_zoneset_count(set); zi++) {
		const struct auth_zone *z = auth_zoneset_at(set, zi);
		const uint8_t *apex = auth_zone_origin(z);
		bool used = false;
		for (unsigned i = 0; i < nn && !used; i++)
			used = zone_of[i] == z;
		if (!used)
			continue;
		struct auth_zone_iter it;
		struct auth_rr_view rr;
		auth_zone_iter_init(&it, z);
		while (auth_zone_iter_next(&it, &rr)) {
			bool is_cut = rr.type == DNS_T_NS && !dns_name_eq(rr.owner, apex);
			if (is_cut || rr.type == DNS_T_DNAME) {
				for (unsigned i = 0; i < nn; i++) {
					const struct geo_name *n = geo_map_name_at(m, i);
					if (zone_of[i] != z || !dns_name_is_sub(n->owner, rr.owner))
						continue;
					if (!is_cut && dns_name_eq(n->owner, rr.owner))
						continue; /* a DNAME redirects the names below its owner only */
					authd_geo_name_text(n, text, sizeof(text));
					dns_name_to_str(rr.owner, cut, sizeof(cut));
					snprintf(err, errlen, is_cut ?
						"%s: names[\"%s\"]: at or below the zone cut %s (delegated data is not ours to steer)" :
						"%s: names[\"%s\"]: below the DNAME at %s",
						file, text, cut);
					r = DNS_E_CONFIG;
					goto out;
				}
				continue;
			}
			if (rr.type != DNS_T_CNAME && rr.type != DNS_T_A && rr.type != DNS_T_AAAA)
				continue;
			const struct geo_name *n = geo_map_find(m, rr.owner, dns_name_len(rr.owner));
			if (!n || zone_of[n->index] != z)
				continue;
			authd_geo_name_text(n, text, sizeof(text));
			if (rr.type == DNS_T_CNAME) {
				dns_name_to_str(apex, cut, sizeof(cut));
				snprintf(err, errlen, "%s: names[\"%s\"]: zone %s has a CNAME at this name",
					file, text, cut);
				r = DNS_E_CONFIG;
				goto out;
			}
			if (warn && !warned[n->index]) {
				warned[n->index] = true;
				log_warn("%s: names[\"%s\"]: the zone's static A/AAAA records at this name are shadowed by steering",
					file, text);
			}
		}
	}
out:
	free(zone_of);
	free(warned);
	return r;
}

/* The presentation form of a steered name without its final dot (as operators write it). */
void authd_geo_name_text(const struct geo_name *n, char *buf, size_t cap)
{
	snprintf(buf, cap, "%s", n->text);
	size_t l = strlen(buf);
	if (l > 1 && buf[l - 1] == '.')
		buf[l - 1] = '\0';
}
