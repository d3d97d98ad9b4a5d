/* authd_metrics.c -- cairn-auth's Prometheus metrics (text format 0.0.4). */
#include <stdio.h>

#include "auth_zone.h"
#include "authd_geo.h"
#include "authd_server_impl.h"
#include "dns_pkt.h"

static const char *const zone_rcode_names[AUTHD_ZONE_RCODES] = {"NOERROR", "FORMERR",
	"SERVFAIL", "NXDOMAIN", "NOTIMP", "REFUSED", "NOTAUTH", "other"};
static const char *const zone_type_names[AUTHD_ZONE_TYPES] = {"A", "AAAA", "NS", "CNAME", "SOA",
	"MX", "TXT", "SRV", "PTR", "CAA", "DS", "DNSKEY", "HTTPS", "SVCB", "ANY", "AXFR", "other"};

/* Queries by transport and type, responses by RCODE, the plain counters. */
static void metrics_queries(const struct dns_counters *c, struct dns_metrics_buf *b)
{
	char tbuf[16];
	uint64_t v;

	dns_metrics_header(b, "cairn_auth_queries_total", "counter",
		"Queries received, by transport.");
	dns_metrics_printf(b, "cairn_auth_queries_total{transport=\"udp\"} %llu\n",
		(unsigned long long)dns_counter_sum(c, AUTHD_C_UDP));
	dns_metrics_printf(b, "cairn_auth_queries_total{transport=\"tcp\"} %llu\n",
		(unsigned long long)dns_counter_sum(c, AUTHD_C_TCP));

	dns_metrics_header(b, "cairn_auth_queries_by_type_total", "counter",
		"Answered queries by query type.");
	for (unsigned i = 0; i < 256; i++)
		if ((v = dns_counter_sum(c, AUTHD_C_QTYPE + i)))
			dns_metrics_printf(b, "cairn_auth_queries_by_type_total{type=\"%s\"} %llu\n",
				dns_type_name((uint16_t)i, tbuf), (unsigned long long)v);
	if ((v = dns_counter_sum(c, AUTHD_C_QTYPE_CAA)))
		dns_metrics_printf(b, "cairn_auth_queries_by_type_total{type=\"CAA\"} %llu\n",
			(unsigned long long)v);
	if ((v = dns_counter_sum(c, AUTHD_C_QTYPE_OTHER)))
		dns_metrics_printf(b, "cairn_auth_queries_by_type_total{type=\"other\"} %llu\n",
			(unsigned long long)v);

	dns_metrics_header(b, "cairn_auth_responses_by_rcode_total", "counter",
		"Responses by RCODE.");
	for (unsigned i = 0; i < 24; i++)
		if ((v = dns_counter_sum(c, AUTHD_C_RCODE + i)) || i == 0 || i == 3)
			dns_metrics_printf(b, "cairn_auth_responses_by_rcode_total{rcode=\"%s\"} %llu\n",
				dns_rcode_name(i, tbuf), (unsigned long long)v);

	struct { const char *name, *help; unsigned idx; } simple[] = {
		{"cairn_auth_dropped_total", "Malformed queries dropped without a reply.", AUTHD_C_DROPPED},
		{"cairn_auth_truncated_total", "Responses sent with TC set.", AUTHD_C_TC},
		{"cairn_auth_notify_received_total", "NOTIFY requests received.", AUTHD_C_NOTIFY},
		{"cairn_auth_xfr_requests_total", "AXFR/IXFR requests received over TCP.", AUTHD_C_XFR},
		{"cairn_auth_refused_nozone_total", "Queries for names in no configured zone.", AUTHD_C_NOZONE},
		{"cairn_auth_expired_servfail_total", "SERVFAIL answers for expired secondary zones.", AUTHD_C_EXPIRED},
	};
	for (size_t i = 0; i < sizeof(simple) / sizeof(simple[0]); i++) {
		dns_metrics_header(b, simple[i].name, "counter", simple[i].help);
		dns_metrics_printf(b, "%s %llu\n", simple[i].name,
			(unsigned long long)dns_counter_sum(c, simple[i].idx));
	}
}

/* Per configured zone: responses by RCODE, queries by type. */
static void metrics_zone_counters(const struct authd_server *s, struct dns_metrics_buf *b)
{
	const struct dns_counters *c = &s->counters;
	uint64_t v;

	dns_metrics_header(b, "cairn_auth_zone_responses_total", "counter",
		"Responses per zone by RCODE.");
	for (unsigned z = 0; z < s->cfg.n_zones; z++)
		for (unsigned k = 0; k < AUTHD_ZONE_RCODES; k++) {
			v = dns_counter_sum(c, AUTHD_C_ZONE + z * AUTHD_ZONE_STRIDE + k);
			if (v || k == 0)
				dns_metrics_printf(b, "cairn_auth_zone_responses_total{zone=\"%s\",rcode=\"%s\"} %llu\n",
					s->cfg.zones[z].origin_text, zone_rcode_names[k], (unsigned long long)v);
		}
	dns_metrics_header(b, "cairn_auth_zone_queries_total", "counter",
		"Queries per zone by query type.");
	for (unsigned z = 0; z < s->cfg.n_zones; z++)
		for (unsigned k = 0; k < AUTHD_ZONE_TYPES; k++) {
			v = dns_counter_sum(c, AUTHD_C_ZONE + z * AUTHD_ZONE_STRIDE + AUTHD_ZONE_RCODES + k);
			if (v)
				dns_metrics_printf(b, "cairn_auth_zone_queries_total{zone=\"%s\",type=\"%s\"} %llu\n",
					s->cfg.zones[z].origin_text, zone_type_names[k], (unsigned long long)v);
		}
}

void authd_metrics_cb(void *ctx, struct dns_metrics_buf *b)
{
	struct authd_server *s = ctx;

	metrics_queries(&s->counters, b);
	metrics_zone_counters(s, b);

	/* Serials of the zones serving now (runs on the main loop, like reloads). */
	struct auth_zoneset *set = authd_server_zones(s);
	dns_metrics_header(b, "cairn_auth_zone_serial", "gauge", "SOA serial of each zone serving.");
	dns_metrics_header(b, "cairn_auth_zone_records", "gauge", "Records in each zone serving.");
	for (unsigned z = 0; set && z < s->cfg.n_zones; z++) {
		const struct auth_zone *zone = auth_zoneset_get(set, s->cfg.zones[z].origin);
		if (!zone)
			continue;
		dns_metrics_printf(b, "cairn_auth_zone_serial{zone=\"%s\"} %u\n",
			s->cfg.zones[z].origin_text, auth_zone_serial(zone));
		dns_metrics_printf(b, "cairn_auth_zone_records{zone=\"%s\"} %zu\n",
			s->cfg.zones[z].origin_text, auth_zone_rr_count(zone));
	}
	auth_zoneset_unref(set);
	dns_metrics_header(b, "cairn_auth_reloads_total", "counter", "Reloads (SIGHUP).");
	dns_metrics_printf(b, "cairn_auth_reloads_total %llu\n", (unsigned long long)s->reloads);
	dns_metrics_header(b, "cairn_auth_reload_failures_total", "counter",
		"Reloads in which a zone failed to load and kept its previous version.");
	dns_metrics_printf(b, "cairn_auth_reload_failures_total %llu\n",
		(unsigned long long)s->reload_failures);
	if (s->geo)
		authd_geo_metrics(s->geo, b);
}
