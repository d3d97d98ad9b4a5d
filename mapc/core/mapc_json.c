/*
 * mapc_json.c -- the cairn-mapc networks reader (mapc_json.h). Messages
 * follow cairn-auth's map loader: "FILE: PATH: reason", "FILE:LINE:COL:
 * reason" for JSON syntax.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "dns_err.h"
#include "dns_json.h"
#include "mapc_json.h"

struct rd {
	const char *file;
	char *err;
	size_t errlen;
};

static int fail(struct rd *rd, int code, const char *path, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int fail(struct rd *rd, int code, const char *path, const char *fmt, ...)
{
	struct dns_json_err e = { rd->file, rd->err, rd->errlen };
	va_list ap;
	va_start(ap, fmt);
	int r = dns_json_vfail(&e, code, path, fmt, ap);
	va_end(ap);
	return r;
}

static int check_keys(struct rd *rd, json_t *obj, const char *path,
	const char *const *allowed)
{
	struct dns_json_err e = { rd->file, rd->err, rd->errlen };
	return dns_json_check_keys(&e, obj, path, allowed);
}

/*
 * "ADDR/LEN" or "ADDR" (a host) into the 128-bit tree: IPv4 at ::a.b.c.d/96+LEN
 * (where libmaxminddb looks IPv4 up); an IPv6 network inside ::ffff:0:0/96 is
 * the same IPv4 network. Host bits must be zero.
 */
static int parse_net(struct rd *rd, const char *key, const char *path, uint8_t addr[16],
	unsigned *plen)
{
	struct dns_json_err e = { rd->file, rd->err, rd->errlen };
	uint8_t a[16], family;
	unsigned len;
	int rc = dns_json_prefix(&e, key, path, &family, a, &len);
	if (rc < 0)
		return rc;
	int fam = family == 4 ? AF_INET : AF_INET6;
	memset(addr, 0, 16);
	if (fam == AF_INET) {
		memcpy(addr + 12, a, 4);
		*plen = len + 96;
		return 0;
	}
	static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
	static const uint8_t zero[12] = {0};
	if (len >= 96 && memcmp(a, mapped, 12) == 0) {
		/* ::ffff:a.b.c.d/96+n is a.b.c.d/n, stored once, reached via the alias */
		memcpy(addr + 12, a + 12, 4);
		*plen = len;
		return 0;
	}
	if (len >= 96 && memcmp(a, zero, 12) == 0)
		return fail(rd, DNS_E_CONFIG, path, "inside ::/96, where IPv4 networks are "
			"stored; write it as an IPv4 network");
	if (len > 80 && len < 96) {
		/* would it contain ::ffff:0:0/96 (bits 0-79 zero, 80-95 one)? */
		uint8_t m[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
		for (unsigned c = len; c < 128; c++)
			m[c >> 3] &= (uint8_t)~(0x80 >> (c & 7));
		if (memcmp(m, a, 16) == 0)
			return fail(rd, DNS_E_CONFIG, path, "covers ::ffff:0:0/96, the IPv4-mapped "
				"addresses, without ::/96; use /80 or shorter, or IPv4 networks");
	}
	memcpy(addr, a, 16);
	*plen = len;
	return 0;
}

static int get_coord(struct rd *rd, json_t *v, const char *path, double lim, double *out)
{
	if (!json_is_number(v))
		return fail(rd, DNS_E_CONFIG, path, "must be a number, not %s", dns_json_kind(v));
	double x = json_number_value(v);
	if (!(x >= -lim && x <= lim))
		return fail(rd, DNS_E_CONFIG, path, "%g is out of range %g..%g", x, -lim, lim);
	*out = x;
	return 0;
}

static int get_string(struct rd *rd, json_t *v, const char *path, const char **out)
{
	if (!json_is_string(v))
		return fail(rd, DNS_E_CONFIG, path, "must be a string, not %s", dns_json_kind(v));
	*out = json_string_value(v);
	return 0;
}

/* One network's object into rec (strings point into the JSON). */
static int parse_record(struct rd *rd, json_t *obj, const char *path,
	struct mapc_record *rec)
{
	static const char *const keys[] = {"lat", "lon", "country", "continent", "city",
		"datacenter", NULL};
	static const char *const continents[] = {"AF", "AN", "AS", "EU", "NA", "OC", "SA"};
	char p[560], k[128]; /* path (< 512) plus ".datacenter" */
	const char *s = NULL;
	json_t *lat, *lon, *v;
	int r;

	memset(rec, 0, sizeof(*rec));
	if (!json_is_object(obj))
		return fail(rd, DNS_E_CONFIG, path, "must be an object, not %s", dns_json_kind(obj));
	if ((r = check_keys(rd, obj, path, keys)) < 0)
		return r;
	lat = json_object_get(obj, "lat");
	lon = json_object_get(obj, "lon");
	if (!lat != !lon)
		return fail(rd, DNS_E_CONFIG, path, "%s without %s", lat ? "lat" : "lon",
			lat ? "lon" : "lat");
	if (lat) {
		snprintf(p, sizeof(p), "%s.lat", path);
		if ((r = get_coord(rd, lat, p, 90, &rec->lat)) < 0)
			return r;
		snprintf(p, sizeof(p), "%s.lon", path);
		if ((r = get_coord(rd, lon, p, 180, &rec->lon)) < 0)
			return r;
		rec->has_location = true;
	}
	if ((v = json_object_get(obj, "country"))) {
		snprintf(p, sizeof(p), "%s.country", path);
		if ((r = get_string(rd, v, p, &s)) < 0)
			return r;
		if (strlen(s) != 2 || s[0] < 'A' || s[0] > 'Z' || s[1] < 'A' || s[1] > 'Z') {
			dns_json_show(k, sizeof(k), s);
			return fail(rd, DNS_E_CONFIG, p, "\"%s\" is not an ISO 3166 alpha-2 code "
				"(two upper-case letters)", k);
		}
		memcpy(rec->country, s, 3);
	}
	if ((v = json_object_get(obj, "continent"))) {
		snprintf(p, sizeof(p), "%s.continent", path);
		if ((r = get_string(rd, v, p, &s)) < 0)
			return r;
		bool ok = false;
		for (size_t i = 0; i < sizeof(continents) / sizeof(*continents); i++)
			if (strcmp(s, continents[i]) == 0)
				ok = true;
		if (!ok) {
			dns_json_show(k, sizeof(k), s);
			return fail(rd, DNS_E_CONFIG, p, "\"%s\" is not a continent code "
				"(AF AN AS EU NA OC SA)", k);
		}
		memcpy(rec->continent, s, 3);
	}
	if ((v = json_object_get(obj, "city"))) {
		snprintf(p, sizeof(p), "%s.city", path);
		if ((r = get_string(rd, v, p, &rec->city)) < 0)
			return r;
		/* jansson rejects \u0000 and invalid UTF-8, so the text is clean */
		size_t n = json_string_length(v);
		if (n == 0 || n > MAPC_CITY_MAX)
			return fail(rd, DNS_E_CONFIG, p, "must be 1..%d bytes long",
				MAPC_CITY_MAX);
	}
	if ((v = json_object_get(obj, "datacenter"))) {
		snprintf(p, sizeof(p), "%s.datacenter", path);
		if ((r = get_string(rd, v, p, &rec->datacenter)) < 0)
			return r;
		if (!dns_json_dc_name_ok(rec->datacenter, MAPC_DC_MAX)) {
			dns_json_show(k, sizeof(k), rec->datacenter);
			return fail(rd, DNS_E_CONFIG, p, "\"%s\" is not a datacenter name "
				"(1..%d of A-Z a-z 0-9 _ . -)", k, MAPC_DC_MAX);
		}
	}
	return 0;
}

static int load(struct rd *rd, const struct dns_mm *mm, json_t *root, uint64_t build_epoch,
	unsigned record_size, struct mapc_buf *out, struct mapc_stats *st)
{
	static const char *const top_keys[] = {"description", "networks", NULL};
	struct mapc_writer *w = NULL;
	const char **names = NULL;
	const char *desc = "cairn-mapc network map", *key;
	json_t *nets, *v;
	char path[512], k[128];
	size_t i = 0;
	int r;

	if (build_epoch == 0)
		return fail(rd, -EINVAL, "", "a build time of 0 is refused by libmaxminddb "
			"(SOURCE_DATE_EPOCH must be 1 or later)");
	if (record_size != 0 && record_size != 24 && record_size != 28 && record_size != 32)
		return fail(rd, -EINVAL, "", "record size %u is not 24, 28 or 32", record_size);
	if (!json_is_object(root))
		return fail(rd, DNS_E_CONFIG, "", "the networks file must be a JSON object, not %s",
			dns_json_kind(root));
	if ((r = check_keys(rd, root, "", top_keys)) < 0)
		return r;
	if ((v = json_object_get(root, "description"))) {
		if ((r = get_string(rd, v, "description", &desc)) < 0)
			return r;
		if (json_string_length(v) > MAPC_DESC_MAX)
			return fail(rd, DNS_E_CONFIG, "description", "longer than %d bytes",
				MAPC_DESC_MAX);
	}
	nets = json_object_get(root, "networks");
	if (!nets)
		return fail(rd, DNS_E_CONFIG, "networks", "missing");
	if (!json_is_object(nets))
		return fail(rd, DNS_E_CONFIG, "networks", "must be an object, not %s",
			dns_json_kind(nets));
	if (json_object_size(nets) > MAPC_NETS_MAX)
		return fail(rd, -E2BIG, "networks", "more than %u networks", MAPC_NETS_MAX);
	if ((r = mapc_writer_new(mm, &w)) < 0)
		return fail(rd, r, "", "out of memory");
	if (json_object_size(nets) &&
			!(names = mm_alloc(mm, json_object_size(nets) * sizeof(*names)))) {
		r = fail(rd, -ENOMEM, "", "out of memory");
		goto out;
	}
	json_object_foreach(nets, key, v) {
		struct mapc_record rec;
		uint8_t addr[16];
		unsigned len = 0;
		dns_json_show(k, sizeof(k), key);
		snprintf(path, sizeof(path), "networks[\"%s\"]", k);
		if ((r = parse_net(rd, key, path, addr, &len)) < 0)
			goto out;
		if ((r = parse_record(rd, v, path, &rec)) < 0)
			goto out;
		if ((r = mapc_writer_add(w, addr, len, &rec)) < 0) {
			r = fail(rd, r, path, "%s", r == -ENOMEM ? "out of memory" : dns_strerror(r));
			goto out;
		}
		names[i++] = key;
	}
	struct mapc_meta meta = {"cairn-Map", desc, build_epoch, record_size};
	r = mapc_writer_build(w, &meta, out, st);
	if (r == DNS_E_EXISTS) {
		char other[128];
		dns_json_show(k, sizeof(k), names[st->dup[1]]);
		dns_json_show(other, sizeof(other), names[st->dup[0]]);
		snprintf(path, sizeof(path), "networks[\"%s\"]", k);
		r = fail(rd, DNS_E_CONFIG, path, "the same network as \"%s\"", other);
	} else if (r == -E2BIG) {
		if (record_size)
			r = fail(rd, r, "networks", "too large for %u-bit records", record_size);
		else
			r = fail(rd, r, "networks", "too large for a MaxMind DB (32-bit records)");
	} else if (r < 0) {
		r = fail(rd, r, "", "%s", r == -ENOMEM ? "out of memory" : dns_strerror(r));
	}
out:
	if (names)
		mm_free(mm, names);
	mapc_writer_free(w);
	return r;
}

int mapc_compile_json(const struct dns_mm *mm, const char *json, size_t len,
	const char *file, uint64_t build_epoch, unsigned record_size, struct mapc_buf *out,
	struct mapc_stats *st, char *err, size_t errlen)
{
	struct mapc_stats dummy;
	struct rd rd = {file ? file : "(networks)", err, errlen};
	json_error_t je;

	if (err && errlen)
		err[0] = '\0';
	if (!st)
		st = &dummy;
	json_t *root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &je);
	if (!root) {
		if (err && errlen)
			snprintf(err, errlen, "%s:%d:%d: %s", rd.file, je.line, je.column, je.text);
		return DNS_E_CONFIG;
	}
	int r = load(&rd, mm, root, build_epoch, record_size, out, st);
	json_decref(root);
	return r;
}
