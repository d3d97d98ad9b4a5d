/*
 * replay.c -- the scenario runner (see replay.h).
 */
#include "replay.h"

#include <ctype.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <ldns/ldns.h>

#include "dns_err.h"
#include "dns_name.h"
#include "dns_pkt.h"
#include "dns_writer.h"
#include "rsv_cache.h"
#include "rsv_hints.h"
#include "rsv_iter.h"
#include "rsv_select.h"
#include "test_mm.h"

struct run {
	const char *path;
	unsigned line;
	char *err;
	size_t errlen;
	/* trace of the iterator, shown on failure */
	char *trace;
	size_t trace_len, trace_cap;
	/* world */
	uint64_t now, qstart;
	struct dns_rng_seeded seed;
	struct rsv_hints hints;
	struct rsv_iter_opts iopts;
	struct rsv_select_opts sopts;
	struct rsv_cache *cache;
	struct rsv_select *select;
	struct rsv_ctx ctx;
	struct rsv_req *req;
	bool done;
	/* the last query produced */
	bool have_query;
	uint8_t qbuf[512];
	size_t qlen;
	struct rsv_addr qdest;
	enum rsv_transport qtp;
	uint32_t qtimeout;
};

static int rfail(struct run *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int rfail(struct run *r, const char *fmt, ...)
{
	int n = snprintf(r->err, r->errlen, "%s:%u: ", r->path, r->line);
	va_list ap;
	va_start(ap, fmt);
	if (n > 0 && (size_t)n < r->errlen)
		vsnprintf(r->err + n, r->errlen - (size_t)n, fmt, ap);
	va_end(ap);
	return -1;
}

static void trace_cb(void *arg, const char *line)
{
	struct run *r = arg;
	size_t n = strlen(line);
	if (r->trace_len + n + 2 > r->trace_cap) {
		size_t cap = (r->trace_cap + n + 2) * 2;
		char *t = realloc(r->trace, cap);
		if (!t)
			return;
		r->trace = t;
		r->trace_cap = cap;
	}
	memcpy(r->trace + r->trace_len, line, n);
	r->trace_len += n;
	r->trace[r->trace_len++] = '\n';
	r->trace[r->trace_len] = '\0';
}

/* The core allocates through cmocka's checked allocator (test_mm.h): a leak fails the test. */

/* Split s into at most max words. */
static int words(char *s, char **w, int max)
{
	int n = 0;
	while (*s && n < max) {
		while (*s && isspace((unsigned char)*s))
			s++;
		if (!*s)
			break;
		w[n++] = s;
		while (*s && !isspace((unsigned char)*s))
			s++;
		if (*s)
			*s++ = '\0';
	}
	return n;
}

static int setup(struct run *r)
{
	if (r->select)
		return 0;
	struct rsv_cache_opts co;
	rsv_cache_opts_default(&co);
	co.shards = 1;
	co.max_bytes = 1 << 20;
	if (rsv_cache_new(&tmm, &co, &r->cache) != 0)
		return rfail(r, "cache");
	if (rsv_select_new(&tmm, &r->sopts, &r->select) != 0)
		return rfail(r, "select");
	r->ctx.mm = &tmm;
	r->ctx.cache = r->cache;
	r->ctx.select = r->select;
	r->ctx.hints = &r->hints;
	dns_rng_seeded_init(&r->ctx.rng, &r->seed, 20261127);
	r->ctx.opts = r->iopts;
	r->ctx.trace = trace_cb;
	r->ctx.trace_arg = r;
	return 0;
}

static int name_parse(struct run *r, const char *text, uint8_t *out)
{
	size_t len;
	if (dns_name_from_str(text, NULL, out, &len) != 0)
		return rfail(r, "bad name %s", text);
	return 0;
}

static int cmd_query(struct run *r, char **w, int n)
{
	if (n < 3)
		return rfail(r, "QUERY name type");
	if (setup(r))
		return -1;
	if (r->req) {
		rsv_req_free(r->req);
		r->req = NULL;
	}
	uint8_t name[DNS_NAME_MAX], buf[512];
	if (name_parse(r, w[1], name))
		return -1;
	int type = dns_type_from_str(w[2]);
	if (type < 0)
		return rfail(r, "bad type %s", w[2]);
	bool edns = !(n > 3 && strcmp(w[3], "noedns") == 0);
	struct dns_writer wr;
	dns_writer_init(&wr, buf, sizeof(buf));
	dns_writer_question(&wr, name, (uint16_t)type, DNS_CLASS_IN);
	if (edns) {
		dns_writer_section(&wr, DNS_SEC_ADDITIONAL);
		dns_writer_opt(&wr, 1232, 0, 0, NULL, 0);
	}
	size_t len = dns_writer_finish(&wr, 0x4242, DNS_FLAG_RD);
	r->qstart = r->now;
	r->done = false;
	r->have_query = false;
	int ret = rsv_req_begin(&r->req, &r->ctx, buf, len, NULL, r->now);
	if (ret)
		return rfail(r, "rsv_req_begin: %d", ret);
	return 0;
}

/* Make sure a query has been produced; describe it on failure. */
static int need_query(struct run *r)
{
	if (r->have_query)
		return 0;
	if (!r->req)
		return rfail(r, "no QUERY before the step");
	const uint8_t *pkt;
	size_t len;
	enum rsv_state st = rsv_req_produce(r->req, &pkt, &len, &r->qdest, &r->qtp, &r->qtimeout,
		r->now);
	if (st == RSV_DONE)
		return rfail(r, "the iterator finished (rcode %u) instead of sending a query",
			rsv_req_rcode(r->req));
	memcpy(r->qbuf, pkt, len);
	r->qlen = len;
	r->have_query = true;
	return 0;
}

static int cmd_query_expect(struct run *r, char **w, int n)
{
	if (n < 4)
		return rfail(r, "QUERY_EXPECT addr type name");
	if (need_query(r))
		return -1;
	struct rsv_addr want;
	uint8_t name[DNS_NAME_MAX];
	char ab[64], nb[DNS_NAME_TEXT_MAX], tb[16];
	if (rsv_addr_parse(w[1], &want) != 0)
		return rfail(r, "bad address %s", w[1]);
	int type = dns_type_from_str(w[2]);
	if (type < 0 || name_parse(r, w[3], name))
		return rfail(r, "bad type or name");
	struct dns_query q;
	if (dns_query_parse(r->qbuf, r->qlen, &q, NULL) != DNS_QUERY_OK)
		return rfail(r, "the iterator sent a malformed query");
	dns_name_to_str(q.qname, nb, sizeof(nb));
	if (!rsv_addr_eq(&want, &r->qdest) || q.qtype != type || !dns_name_eq(q.qname, name))
		return rfail(r, "expected a query to %s for %s %s, got %s for %s %s", w[1], w[3], w[2],
			rsv_addr_str(&r->qdest, ab, sizeof(ab)), nb, dns_type_name(q.qtype, tb));
	bool tcp = false, noedns = false, nocase = false;
	for (int i = 4; i < n; i++) {
		if (strcmp(w[i], "tcp") == 0)
			tcp = true;
		else if (strcmp(w[i], "noedns") == 0)
			noedns = true;
		else if (strcmp(w[i], "nocase") == 0)
			nocase = true;
		else
			return rfail(r, "unknown QUERY_EXPECT option %s", w[i]);
	}
	if (tcp != (r->qtp == RSV_TCP))
		return rfail(r, "expected %s, the query goes over %s", tcp ? "TCP" : "UDP",
			r->qtp == RSV_TCP ? "TCP" : "UDP");
	if (noedns == q.has_opt)
		return rfail(r, "expected the query %s EDNS", noedns ? "without" : "with");
	if (q.has_opt && q.edns.udp_size != 1232)
		return rfail(r, "EDNS buffer %u, expected 1232", q.edns.udp_size);
	if (nocase) {
		uint8_t low[DNS_NAME_MAX];
		dns_name_lower(low, q.qname);
		if (memcmp(low, q.qname, q.qname_len) != 0)
			return rfail(r, "expected the name without 0x20 case, got %s", nb);
	}
	if (q.hdr.flags & DNS_FLAG_RD)
		return rfail(r, "RD set on an iterative query");
	return 0;
}

static int section_of(const char *s)
{
	if (strcmp(s, "ANSWER") == 0)
		return LDNS_SECTION_ANSWER;
	if (strcmp(s, "AUTHORITY") == 0)
		return LDNS_SECTION_AUTHORITY;
	if (strcmp(s, "ADDITIONAL") == 0)
		return LDNS_SECTION_ADDITIONAL;
	return -1;
}

/* Read a block (FLAGS, RCODE, sections, records) up to END into pkt. */
static int read_block(struct run *r, FILE *f, ldns_pkt *pkt)
{
	char line[1024];
	int sec = LDNS_SECTION_ANSWER;
	while (fgets(line, sizeof(line), f)) {
		r->line++;
		char *c = strchr(line, ';');
		if (c)
			*c = '\0';
		char copy[1024];
		strcpy(copy, line);
		char *w[16];
		int n = words(copy, w, 16);
		if (n == 0)
			continue;
		if (strcmp(w[0], "END") == 0)
			return 0;
		if (strcmp(w[0], "FLAGS") == 0) {
			for (int i = 1; i < n; i++) {
				if (strcmp(w[i], "AA") == 0)
					ldns_pkt_set_aa(pkt, true);
				else if (strcmp(w[i], "TC") == 0)
					ldns_pkt_set_tc(pkt, true);
				else
					return rfail(r, "unknown flag %s", w[i]);
			}
			continue;
		}
		if (strcmp(w[0], "RCODE") == 0 && n == 2) {
			ldns_lookup_table *lt = ldns_lookup_by_name(ldns_rcodes, w[1]);
			if (!lt)
				return rfail(r, "unknown rcode %s", w[1]);
			ldns_pkt_set_rcode(pkt, (uint8_t)lt->id);
			continue;
		}
		if (n == 1 && section_of(w[0]) >= 0) {
			sec = section_of(w[0]);
			continue;
		}
		char *t = line;
		while (isspace((unsigned char)*t))
			t++;
		size_t tl = strlen(t);
		while (tl > 0 && isspace((unsigned char)t[tl - 1]))
			t[--tl] = '\0';
		ldns_rr *rr = NULL;
		if (ldns_rr_new_frm_str(&rr, t, 3600, NULL, NULL) != LDNS_STATUS_OK)
			return rfail(r, "bad record: %s", t);
		ldns_pkt_push_rr(pkt, (ldns_pkt_section)sec, rr);
	}
	return rfail(r, "missing END");
}

static int cmd_reply(struct run *r, char **w, int n, FILE *f)
{
	if (need_query(r))
		return -1;
	struct rsv_addr from = r->qdest;
	bool badid = false, lower = false, noopt = false, drop = false;
	for (int i = 1; i < n; i++) {
		if (strcmp(w[i], "from") == 0 && i + 1 < n) {
			if (rsv_addr_parse(w[++i], &from) != 0)
				return rfail(r, "bad address");
		} else if (strcmp(w[i], "badid") == 0) {
			badid = true;
		} else if (strcmp(w[i], "lowercase") == 0) {
			lower = true;
		} else if (strcmp(w[i], "noopt") == 0) {
			noopt = true;
		} else if (strcmp(w[i], "drop") == 0) {
			drop = true;
		} else {
			return rfail(r, "unknown REPLY option %s", w[i]);
		}
	}
	struct dns_query q;
	if (dns_query_parse(r->qbuf, r->qlen, &q, NULL) != DNS_QUERY_OK)
		return rfail(r, "malformed query");
	ldns_pkt *pkt = ldns_pkt_new();
	if (!pkt)
		return rfail(r, "ldns_pkt_new");
	int ret = read_block(r, f, pkt);
	uint8_t *wire = NULL;
	size_t wlen = 0;
	if (ret)
		goto out;
	ldns_pkt_set_id(pkt, (uint16_t)(q.hdr.id + (badid ? 1 : 0)));
	ldns_pkt_set_qr(pkt, true);
	uint8_t qn[DNS_NAME_MAX];
	memcpy(qn, q.qname, q.qname_len);
	if (lower)
		dns_name_lower(qn, qn);
	ldns_rr *qrr = ldns_rr_new();
	ldns_rr_set_owner(qrr, ldns_dname_new_frm_data((uint16_t)q.qname_len, qn));
	ldns_rr_set_type(qrr, (ldns_rr_type)q.qtype);
	ldns_rr_set_class(qrr, (ldns_rr_class)q.qclass);
	ldns_rr_set_question(qrr, true);
	ldns_pkt_push_rr(pkt, LDNS_SECTION_QUESTION, qrr);
	if (q.has_opt && !noopt)
		ldns_pkt_set_edns_udp_size(pkt, 1232);
	if (ldns_pkt2wire(&wire, pkt, &wlen) != LDNS_STATUS_OK) {
		ret = rfail(r, "ldns_pkt2wire");
		goto out;
	}
	enum rsv_state st = rsv_req_consume(r->req, wire, wlen, &from, r->now);
	if (drop && st != RSV_WAIT) {
		ret = rfail(r, "the reply should have been dropped, it was accepted");
		goto out;
	}
	if (!drop && st == RSV_WAIT) {
		ret = rfail(r, "the reply was dropped");
		goto out;
	}
	if (!drop)
		r->have_query = false;
out:
	free(wire);
	ldns_pkt_free(pkt);
	return ret;
}

static int cmd_timeout(struct run *r)
{
	if (need_query(r))
		return -1;
	r->now += r->qtimeout;
	enum rsv_state st = rsv_req_consume(r->req, NULL, 0, NULL, r->now);
	if (st == RSV_WAIT)
		return rfail(r, "timeout not taken");
	r->have_query = false;
	return 0;
}

/* Records of a section as sorted canonical strings, TTLs included. */
static char *section_text(ldns_rr_list *l)
{
	size_t n = ldns_rr_list_rr_count(l);
	char **s = calloc(n + 1, sizeof(*s));
	size_t total = 1;
	for (size_t i = 0; i < n; i++) {
		ldns_rr *c = ldns_rr_clone(ldns_rr_list_rr(l, i));
		ldns_rr2canonical(c);
		s[i] = ldns_rr2str(c);
		total += strlen(s[i]) + 1;
		ldns_rr_free(c);
	}
	for (size_t i = 0; i + 1 < n; i++)
		for (size_t j = i + 1; j < n; j++)
			if (strcmp(s[i], s[j]) > 0) {
				char *t = s[i];
				s[i] = s[j];
				s[j] = t;
			}
	char *out = calloc(1, total);
	for (size_t i = 0; i < n; i++) {
		strcat(out, s[i]);
		free(s[i]);
	}
	free(s);
	return out;
}

static int finish_req(struct run *r)
{
	if (r->done)
		return 0;
	if (!r->req)
		return rfail(r, "no QUERY");
	const uint8_t *pkt;
	size_t len;
	struct rsv_addr dest;
	enum rsv_transport tp;
	uint32_t to;
	if (r->have_query)
		return rfail(r, "a query is still in flight");
	if (rsv_req_produce(r->req, &pkt, &len, &dest, &tp, &to, r->now) != RSV_DONE) {
		struct dns_query q;
		char ab[64], nb[DNS_NAME_TEXT_MAX], tb[16];
		dns_query_parse(pkt, len, &q, NULL);
		dns_name_to_str(q.qname, nb, sizeof(nb));
		return rfail(r, "not done: the iterator sends a query to %s for %s %s",
			rsv_addr_str(&dest, ab, sizeof(ab)), nb, dns_type_name(q.qtype, tb));
	}
	r->done = true;
	return 0;
}

static int cmd_check_answer(struct run *r, FILE *f)
{
	ldns_pkt *want = ldns_pkt_new();
	ldns_pkt *got = NULL;
	char *a = NULL, *b = NULL;
	int ret = read_block(r, f, want);
	if (ret)
		goto out;
	if ((ret = finish_req(r)) != 0)
		goto out;
	uint8_t buf[65535];
	size_t len;
	if (rsv_req_finish(r->req, buf, sizeof(buf), &len) != 0) {
		ret = rfail(r, "rsv_req_finish failed");
		goto out;
	}
	if (ldns_wire2pkt(&got, buf, len) != LDNS_STATUS_OK) {
		ret = rfail(r, "the answer does not parse");
		goto out;
	}
	if (ldns_pkt_get_rcode(got) != ldns_pkt_get_rcode(want)) {
		ret = rfail(r, "rcode %d, expected %d", ldns_pkt_get_rcode(got),
			ldns_pkt_get_rcode(want));
		goto out;
	}
	if (ldns_pkt_id(got) != 0x4242 || !ldns_pkt_qr(got) || !ldns_pkt_ra(got)) {
		ret = rfail(r, "bad answer header");
		goto out;
	}
	static const ldns_pkt_section secs[3] = { LDNS_SECTION_ANSWER, LDNS_SECTION_AUTHORITY,
		LDNS_SECTION_ADDITIONAL };
	static const char *names[3] = { "ANSWER", "AUTHORITY", "ADDITIONAL" };
	for (int i = 0; i < 3 && ret == 0; i++) {
		ldns_rr_list *lg = secs[i] == LDNS_SECTION_ANSWER ? ldns_pkt_answer(got) :
			secs[i] == LDNS_SECTION_AUTHORITY ? ldns_pkt_authority(got) : ldns_pkt_additional(got);
		ldns_rr_list *lw = secs[i] == LDNS_SECTION_ANSWER ? ldns_pkt_answer(want) :
			secs[i] == LDNS_SECTION_AUTHORITY ? ldns_pkt_authority(want) : ldns_pkt_additional(want);
		a = section_text(lg);
		b = section_text(lw);
		if (strcmp(a, b) != 0)
			ret = rfail(r, "%s section differs:\n-- got:\n%s-- expected:\n%s", names[i], a, b);
		free(a);
		free(b);
		a = b = NULL;
	}
out:
	ldns_pkt_free(want);
	if (got)
		ldns_pkt_free(got);
	return ret;
}

/* The answer written into cap bytes (a UDP client's limit) must carry TC and fit. */
static int cmd_check_truncated(struct run *r, size_t cap)
{
	if (finish_req(r))
		return -1;
	uint8_t buf[65535];
	size_t len;
	if (cap > sizeof(buf))
		return rfail(r, "cap too large");
	if (rsv_req_finish(r->req, buf, cap, &len) != 0)
		return rfail(r, "rsv_req_finish failed");
	struct dns_header h;
	if (len > cap || dns_header_parse(buf, len, &h) != 0)
		return rfail(r, "answer of %zu bytes for a limit of %zu", len, cap);
	if (!(h.flags & DNS_FLAG_TC))
		return rfail(r, "TC not set in a %zu-byte answer", len);
	ldns_pkt *p = NULL;
	if (ldns_wire2pkt(&p, buf, len) != LDNS_STATUS_OK)
		return rfail(r, "the truncated answer does not parse");
	ldns_pkt_free(p);
	return 0;
}

static int cmd_check_stats(struct run *r, char **w, int n)
{
	if (n != 3)
		return rfail(r, "CHECK_STATS key n");
	if (!r->req)
		return rfail(r, "no QUERY");
	const struct rsv_req_stats *st = rsv_req_stats(r->req);
	unsigned want = (unsigned)strtoul(w[2], NULL, 10), got;
	if (strcmp(w[1], "upstream") == 0)
		got = st->upstream;
	else if (strcmp(w[1], "timeouts") == 0)
		got = st->timeouts;
	else if (strcmp(w[1], "forged") == 0)
		got = st->forged;
	else if (strcmp(w[1], "case_drop") == 0)
		got = st->case_drop;
	else if (strcmp(w[1], "scrubbed") == 0)
		got = st->scrubbed;
	else if (strcmp(w[1], "cache_hits") == 0)
		got = st->cache_hits;
	else if (strcmp(w[1], "max_upstream") == 0) {
		if (st->upstream > want)
			return rfail(r, "%u upstream queries, more than %u", st->upstream, want);
		return 0;
	} else
		return rfail(r, "unknown stat %s", w[1]);
	if (got != want)
		return rfail(r, "%s is %u, expected %u", w[1], got, want);
	return 0;
}

static int cmd_check_cache(struct run *r, char **w, int n)
{
	if (n != 4)
		return rfail(r, "CHECK_CACHE name type present|absent");
	uint8_t name[DNS_NAME_MAX];
	if (name_parse(r, w[1], name))
		return -1;
	int type = dns_type_from_str(w[2]);
	const struct rsv_rrset *rr;
	bool present = rsv_cache_lookup(r->cache, name, (uint16_t)type, DNS_CLASS_IN, r->now, &rr,
		NULL) == 0;
	if (present) {
		present = rr->kind == RSV_RR_POSITIVE;
		rsv_rrset_release(rr);
	}
	bool want = strcmp(w[3], "present") == 0;
	if (present != want)
		return rfail(r, "%s %s is %s in the cache", w[1], w[2], present ? "present" : "absent");
	return 0;
}

static int cmd_config(struct run *r, char **w, int n)
{
	if (n != 3)
		return rfail(r, "CONFIG key value");
	if (r->select)
		return rfail(r, "CONFIG after the first QUERY");
	bool on = strcmp(w[2], "on") == 0;
	unsigned v = (unsigned)strtoul(w[2], NULL, 10);
	if (strcmp(w[1], "qname_min") == 0)
		r->iopts.qname_min = on;
	else if (strcmp(w[1], "use_0x20") == 0)
		r->iopts.use_0x20 = on;
	else if (strcmp(w[1], "max_upstream") == 0)
		r->iopts.max_upstream = v;
	else if (strcmp(w[1], "max_ns_lookups") == 0)
		r->iopts.max_ns_lookups = v;
	else if (strcmp(w[1], "max_referrals") == 0)
		r->iopts.max_referrals = v;
	else if (strcmp(w[1], "max_cname") == 0)
		r->iopts.max_cname = v;
	else if (strcmp(w[1], "budget_ms") == 0)
		r->iopts.budget_ms = v;
	else if (strcmp(w[1], "ipv6") == 0)
		r->iopts.ipv6 = on;
	else if (strcmp(w[1], "explore") == 0)
		r->sopts.explore_permille = v;
	else if (strcmp(w[1], "tie_random") == 0)
		r->sopts.tie_random = on;
	else
		return rfail(r, "unknown CONFIG %s", w[1]);
	return 0;
}

static int step(struct run *r, char *line, FILE *f)
{
	char copy[1024];
	snprintf(copy, sizeof(copy), "%s", line);
	char *words_[16];
	char **w = words_;
	int n = words(copy, w, 16);
	if (n == 0)
		return 0;
	if (strcmp(w[0], "STEP") == 0) {
		if (n < 3)
			return rfail(r, "STEP n what");
		w += 2;
		n -= 2;
	}
	const char *c = w[0];
	if (strcmp(c, "HINT") == 0) {
		uint8_t name[DNS_NAME_MAX];
		struct rsv_addr a;
		if (n != 3 || name_parse(r, w[1], name) || rsv_addr_parse(w[2], &a) != 0)
			return rfail(r, "HINT name addr");
		rsv_hints_add(&r->hints, name, &a);
		return 0;
	}
	if (strcmp(c, "CONFIG") == 0)
		return cmd_config(r, w, n);
	if (strcmp(c, "QUERY") == 0)
		return cmd_query(r, w, n);
	if (strcmp(c, "QUERY_EXPECT") == 0)
		return cmd_query_expect(r, w, n);
	if (strcmp(c, "REPLY") == 0)
		return cmd_reply(r, w, n, f);
	if (strcmp(c, "TIMEOUT") == 0)
		return cmd_timeout(r);
	if (strcmp(c, "TIME_PASSES") == 0 && n == 2) {
		r->now += strtoull(w[1], NULL, 10);
		return 0;
	}
	if (strcmp(c, "CHECK_TIME") == 0 && n == 2) {
		uint64_t want = strtoull(w[1], NULL, 10);
		if (r->now - r->qstart != want)
			return rfail(r, "clock at %llu ms, expected %llu",
				(unsigned long long)(r->now - r->qstart), (unsigned long long)want);
		return 0;
	}
	if (strcmp(c, "CHECK_TIMEOUT") == 0 && n == 2) {
		if (need_query(r))
			return -1;
		uint32_t want = (uint32_t)strtoul(w[1], NULL, 10);
		if (r->qtimeout != want)
			return rfail(r, "timeout %u ms, expected %u", r->qtimeout, want);
		return 0;
	}
	if (strcmp(c, "CHECK_ANSWER") == 0)
		return cmd_check_answer(r, f);
	if (strcmp(c, "CHECK_TRUNCATED") == 0 && n == 2)
		return cmd_check_truncated(r, (size_t)strtoul(w[1], NULL, 10));
	if (strcmp(c, "CHECK_TRACE") == 0) {
		/* the rest of the line must appear in the iterator's trace (--trace) */
		const char *want = strstr(line, "CHECK_TRACE") + strlen("CHECK_TRACE");
		while (*want == ' ' || *want == '\t')
			want++;
		char text[512];
		snprintf(text, sizeof(text), "%s", want);
		size_t tl = strlen(text);
		while (tl > 0 && isspace((unsigned char)text[tl - 1]))
			text[--tl] = '\0';
		if (!r->trace || !strstr(r->trace, text))
			return rfail(r, "the trace lacks \"%s\"", text);
		return 0;
	}
	if (strcmp(c, "CHECK_STATS") == 0)
		return cmd_check_stats(r, w, n);
	if (strcmp(c, "CHECK_CACHE") == 0)
		return cmd_check_cache(r, w, n);
	return rfail(r, "unknown command %s", c);
}

int replay_run_file(const char *path, char *err, size_t errlen)
{
	struct run r = { .path = path, .err = err, .errlen = errlen, .now = 1000000 };
	rsv_iter_opts_default(&r.iopts);
	rsv_select_opts_default(&r.sopts);
	/* scenarios name the server they expect: no random choice among equals */
	r.sopts.explore_permille = 0;
	r.sopts.tie_random = false;
	err[0] = '\0';
	FILE *f = fopen(path, "r");
	if (!f) {
		snprintf(err, errlen, "%s: cannot open", path);
		return -1;
	}
	char line[1024];
	int ret = 0;
	while (ret == 0 && fgets(line, sizeof(line), f)) {
		r.line++;
		char *c = strchr(line, ';');
		if (c)
			*c = '\0';
		ret = step(&r, line, f);
	}
	fclose(f);
	if (ret && r.trace) {
		size_t used = strlen(err);
		snprintf(err + used, errlen - used, "\n-- iterator trace:\n%s", r.trace);
	} else if (getenv("REPLAY_TRACE") && r.trace) {
		fprintf(stderr, "%s:\n%s", path, r.trace);
	}
	rsv_req_free(r.req);
	rsv_select_free(r.select);
	rsv_cache_free(r.cache);
	free(r.trace);
	return ret;
}
