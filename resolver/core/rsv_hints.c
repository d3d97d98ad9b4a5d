/*
 * rsv_hints.c -- built-in root hints and the hints-file parser (via ldns).
 */
#include "rsv_hints.h"

#include <errno.h>
#include <string.h>

#include <ldns/ldns.h>

#include "dns_err.h"
#include "rsv_ldns.h"

/* IANA named.root (last changed 2023-11 for b.root-servers.net). */
static const struct {
	const char *name, *v4, *v6;
} iana[] = {
	{ "a.root-servers.net.", "198.41.0.4", "2001:503:ba3e::2:30" },
	{ "b.root-servers.net.", "170.247.170.2", "2801:1b8:10::b" },
	{ "c.root-servers.net.", "192.33.4.12", "2001:500:2::c" },
	{ "d.root-servers.net.", "199.7.91.13", "2001:500:2d::d" },
	{ "e.root-servers.net.", "192.203.230.10", "2001:500:a8::e" },
	{ "f.root-servers.net.", "192.5.5.241", "2001:500:2f::f" },
	{ "g.root-servers.net.", "192.112.36.4", "2001:500:12::d0d" },
	{ "h.root-servers.net.", "198.97.190.53", "2001:500:1::53" },
	{ "i.root-servers.net.", "192.36.148.17", "2001:7fe::53" },
	{ "j.root-servers.net.", "192.58.128.30", "2001:503:c27::2:30" },
	{ "k.root-servers.net.", "193.0.14.129", "2001:7fd::1" },
	{ "l.root-servers.net.", "199.7.83.42", "2001:500:9f::42" },
	{ "m.root-servers.net.", "202.12.27.33", "2001:dc3::35" },
};

int rsv_hints_add(struct rsv_hints *h, const uint8_t *name, const struct rsv_addr *addr)
{
	if (h->count >= RSV_HINTS_MAX)
		return DNS_E_SPACE;
	struct rsv_hint *e = &h->hint[h->count++];
	dns_name_lower(e->name, name);
	e->addr = *addr;
	return 0;
}

void rsv_hints_builtin(struct rsv_hints *h)
{
	h->count = 0;
	for (size_t i = 0; i < sizeof(iana) / sizeof(iana[0]); i++) {
		uint8_t name[DNS_NAME_MAX];
		size_t len;
		struct rsv_addr a;
		if (dns_name_from_str(iana[i].name, NULL, name, &len) != 0)
			continue;
		if (rsv_addr_parse(iana[i].v4, &a) == 0)
			rsv_hints_add(h, name, &a);
		if (rsv_addr_parse(iana[i].v6, &a) == 0)
			rsv_hints_add(h, name, &a);
	}
}

int rsv_hints_parse(struct rsv_hints *h, const char *text, uint16_t port, unsigned *line)
{
	enum { MAXNS = 32 };
	uint8_t ns[MAXNS][DNS_NAME_MAX];
	size_t nns = 0;
	struct rsv_hints tmp = { 0 };
	int ret = 0;
	unsigned lineno = 0;
	ldns_rr_list *addrs = ldns_rr_list_new();
	if (!addrs)
		return -ENOMEM;
	const char *p = text;
	while (*p) {
		const char *e = strchr(p, '\n');
		size_t n = e ? (size_t)(e - p) : strlen(p);
		char buf[1024];
		lineno++;
		if (n >= sizeof(buf)) {
			ret = DNS_E_SYNTAX;
			goto out;
		}
		memcpy(buf, p, n);
		buf[n] = '\0';
		p += n + (e ? 1 : 0);
		char *c = strchr(buf, ';');
		if (c)
			*c = '\0';
		char *s = buf;
		while (*s == ' ' || *s == '\t' || *s == '\r')
			s++;
		if (*s == '\0' || *s == '$')
			continue;
		ldns_rr *rr = NULL;
		if (ldns_rr_new_frm_str(&rr, s, 3600, NULL, NULL) != LDNS_STATUS_OK) {
			ret = DNS_E_SYNTAX;
			goto out;
		}
		ldns_rr_type t = rrtype(rr);
		const uint8_t *owner = ldns_rdf_data(ldns_rr_owner(rr));
		if (t == LDNS_RR_TYPE_NS && owner[0] == 0 && nns < MAXNS && ldns_rr_rdf(rr, 0)) {
			dns_name_lower(ns[nns++], ldns_rdf_data(ldns_rr_rdf(rr, 0)));
			ldns_rr_free(rr);
		} else if (t == LDNS_RR_TYPE_A || t == LDNS_RR_TYPE_AAAA) {
			ldns_rr_list_push_rr(addrs, rr);
		} else {
			ldns_rr_free(rr);
		}
	}
	for (size_t i = 0; i < ldns_rr_list_rr_count(addrs); i++) {
		ldns_rr *rr = ldns_rr_list_rr(addrs, i);
		const uint8_t *owner = ldns_rdf_data(ldns_rr_owner(rr));
		ldns_rdf *rd = ldns_rr_rdf(rr, 0);
		bool listed = false;
		for (size_t j = 0; j < nns; j++)
			listed = listed || dns_name_eq(ns[j], owner);
		if (!listed || !rd)
			continue;
		struct rsv_addr a = { .port = port };
		if (rrtype(rr) == LDNS_RR_TYPE_A && ldns_rdf_size(rd) == 4) {
			a.family = 4;
			memcpy(a.ip, ldns_rdf_data(rd), 4);
		} else if (rrtype(rr) == LDNS_RR_TYPE_AAAA && ldns_rdf_size(rd) == 16) {
			a.family = 6;
			memcpy(a.ip, ldns_rdf_data(rd), 16);
		} else {
			continue;
		}
		rsv_hints_add(&tmp, owner, &a);
	}
	if (tmp.count == 0) {
		ret = DNS_E_NOTFOUND;
		goto out;
	}
	*h = tmp;
out:
	if (ret == DNS_E_SYNTAX && line)
		*line = lineno;
	ldns_rr_list_deep_free(addrs);
	return ret;
}
