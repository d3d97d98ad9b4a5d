/* rsvd_metrics.c -- cairn-resolver's Prometheus metrics (text format 0.0.4). */
#include <stdio.h>

#include "dns_pkt.h"
#include "rsvd.h"

/* Upper bounds of the answer latency buckets, in seconds (a cache hit lands in the first). */
const double rsvd_lat_bounds[RSVD_LAT_BUCKETS] = {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005,
	0.01, 0.05, 0.1, 0.5, 1.0, 5.0};

void rsvd_metrics_latency(struct dns_counters *c, unsigned t, uint64_t ns)
{
	double sec = (double)ns / 1e9;
	unsigned i = 0;
	while (i < RSVD_LAT_BUCKETS && sec > rsvd_lat_bounds[i])
		i++;
	dns_counter_add(c, t, RSVD_C_LAT + i, 1);
	dns_counter_add(c, t, RSVD_C_LAT_SUM_US, ns / 1000);
}

static void one(struct dns_metrics_buf *b, const char *name, const char *type, const char *help,
	unsigned long long v)
{
	dns_metrics_header(b, name, type, help);
	dns_metrics_printf(b, "%s %llu\n", name, v);
}

/* Sum of counter i over the threads of c (a struct dns_counters * in scope). */
#define SUM(i) ((unsigned long long)dns_counter_sum(c, (i)))

/* Client queries and the answers sent, by RCODE. */
static void metrics_clients(struct dns_metrics_buf *b, const struct dns_counters *c)
{
	char rb[16];

	dns_metrics_header(b, "cairn_resolver_queries_total", "counter",
		"Client queries received, by transport.");
	dns_metrics_printf(b, "cairn_resolver_queries_total{transport=\"udp\"} %llu\n", SUM(RSVD_C_UDP));
	dns_metrics_printf(b, "cairn_resolver_queries_total{transport=\"tcp\"} %llu\n", SUM(RSVD_C_TCP));

	dns_metrics_header(b, "cairn_resolver_responses_total", "counter", "Answers sent, by RCODE.");
	for (unsigned i = 0; i < 16; i++) {
		unsigned long long v = SUM(RSVD_C_RCODE + i);
		if (v || i == 0 || i == 2 || i == 3 || i == 5)
			dns_metrics_printf(b, "cairn_resolver_responses_total{rcode=\"%s\"} %llu\n",
				dns_rcode_name(i, rb), v);
	}
}

/* The cache's lookups, memory and evictions. */
static void metrics_cache(struct dns_metrics_buf *b, struct rsv_cache *cache)
{
	struct rsv_cache_stats cs;

	rsv_cache_stats(cache, &cs);
	dns_metrics_header(b, "cairn_resolver_cache_hits_total", "counter",
		"Cache lookups answered: whole answers (message) and RRsets used by the iterator.");
	dns_metrics_printf(b, "cairn_resolver_cache_hits_total{cache=\"message\"} %llu\n",
		(unsigned long long)cs.msg_hits);
	dns_metrics_printf(b, "cairn_resolver_cache_hits_total{cache=\"rrset\"} %llu\n",
		(unsigned long long)cs.hits);
	dns_metrics_header(b, "cairn_resolver_cache_misses_total", "counter",
		"Cache lookups not answered.");
	dns_metrics_printf(b, "cairn_resolver_cache_misses_total{cache=\"message\"} %llu\n",
		(unsigned long long)cs.msg_misses);
	dns_metrics_printf(b, "cairn_resolver_cache_misses_total{cache=\"rrset\"} %llu\n",
		(unsigned long long)cs.misses);
	one(b, "cairn_resolver_cache_memory_bytes", "gauge", "Bytes charged to the cache now.",
		(unsigned long long)cs.bytes);
	one(b, "cairn_resolver_cache_memory_limit_bytes", "gauge", "The cache's memory bound.",
		(unsigned long long)cs.max_bytes);
	one(b, "cairn_resolver_cache_entries", "gauge", "Entries in the cache now.",
		(unsigned long long)cs.entries);
	one(b, "cairn_resolver_cache_evictions_total", "counter",
		"Live entries evicted by the memory bound.", (unsigned long long)cs.evictions);
}

/* Upstream queries, replies dropped, resolutions and refused or malformed clients. */
static void metrics_work(struct dns_metrics_buf *b, const struct dns_counters *c)
{
	dns_metrics_header(b, "cairn_resolver_upstream_queries_total", "counter",
		"Queries sent to authoritative servers, by transport.");
	dns_metrics_printf(b, "cairn_resolver_upstream_queries_total{transport=\"udp\"} %llu\n",
		SUM(RSVD_C_UPSTREAM) - SUM(RSVD_C_UP_TCP));
	dns_metrics_printf(b, "cairn_resolver_upstream_queries_total{transport=\"tcp\"} %llu\n",
		SUM(RSVD_C_UP_TCP));
	one(b, "cairn_resolver_upstream_timeouts_total", "counter",
		"Upstream queries that got no answer in time.", SUM(RSVD_C_TIMEOUTS));
	one(b, "cairn_resolver_upstream_send_errors_total", "counter",
		"Upstream queries that could not be sent or were refused at once (ICMP).",
		SUM(RSVD_C_SEND_ERR));
	dns_metrics_header(b, "cairn_resolver_replies_dropped_total", "counter",
		"Upstream replies dropped: forged (wrong source, ID or question) or 0x20 case mismatch.");
	dns_metrics_printf(b, "cairn_resolver_replies_dropped_total{reason=\"forged\"} %llu\n",
		SUM(RSVD_C_FORGED));
	dns_metrics_printf(b, "cairn_resolver_replies_dropped_total{reason=\"case\"} %llu\n",
		SUM(RSVD_C_CASE));
	one(b, "cairn_resolver_scrubbed_records_total", "counter",
		"Records dropped as out of bailiwick or unsolicited.", SUM(RSVD_C_SCRUBBED));
	one(b, "cairn_resolver_resolutions_total", "counter",
		"Resolutions started (cache misses not joined to one in flight).", SUM(RSVD_C_JOBS));
	one(b, "cairn_resolver_joined_total", "counter",
		"Client queries joined to an identical one in flight.", SUM(RSVD_C_JOINED));
	one(b, "cairn_resolver_capped_total", "counter",
		"Resolutions ended by the hard time cap (SERVFAIL).", SUM(RSVD_C_CAPPED));
	one(b, "cairn_resolver_refused_acl_total", "counter",
		"Clients refused by the access list.", SUM(RSVD_C_REFUSED_ACL));
	one(b, "cairn_resolver_formerr_total", "counter",
		"Malformed client queries answered FORMERR.", SUM(RSVD_C_FORMERR));
}

/* The answer latency histogram (cumulative buckets, RSVD_LAT_BUCKETS and +Inf). */
static void metrics_latency(struct dns_metrics_buf *b, const struct dns_counters *c)
{
	dns_metrics_header(b, "cairn_resolver_answer_latency_seconds", "histogram",
		"Time from a client query to its answer.");
	unsigned long long cum = 0;
	for (unsigned i = 0; i < RSVD_LAT_BUCKETS; i++) {
		cum += SUM(RSVD_C_LAT + i);
		dns_metrics_printf(b, "cairn_resolver_answer_latency_seconds_bucket{le=\"%g\"} %llu\n",
			rsvd_lat_bounds[i], cum);
	}
	cum += SUM(RSVD_C_LAT + RSVD_LAT_BUCKETS);
	dns_metrics_printf(b, "cairn_resolver_answer_latency_seconds_bucket{le=\"+Inf\"} %llu\n", cum);
	dns_metrics_printf(b, "cairn_resolver_answer_latency_seconds_sum %.6f\n",
		(double)SUM(RSVD_C_LAT_SUM_US) / 1e6);
	dns_metrics_printf(b, "cairn_resolver_answer_latency_seconds_count %llu\n", cum);
}

#undef SUM

void rsvd_metrics_cb(void *ctx, struct dns_metrics_buf *b)
{
	struct rsvd_server *s = ctx;

	metrics_clients(b, &s->counters);
	metrics_cache(b, s->cache);
	metrics_work(b, &s->counters);
	metrics_latency(b, &s->counters);
}
