/*
 * rsvd_trace.c -- `cairn-resolver --trace NAME [TYPE]`: one resolution from an
 * empty cache on a private loop, with the iterator's trace callback printing
 * every step (server asked and its RTT, referral taken, retries and backoff,
 * the final answer). It runs the same job code as the server (rsvd_upstream.c),
 * so what it shows is what the server does.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ldns/ldns.h>

#include "dns_err.h"
#include "dns_pkt.h"
#include "dns_rand.h"
#include "rsvd.h"

struct trace_state {
	int status;       /* exit status */
	uint8_t buf[DNS_LISTEN_MSG_MAX];
};

static void trace_line(void *arg, const char *line)
{
	(void)arg;
	printf("%s\n", line);
	fflush(stdout);
}

static void trace_done(struct rsvd_job *job)
{
	struct trace_state *ts = job->data;
	size_t len = 0;
	char rb[16];

	if (job->capped) {
		printf(";; gave up: the hard time cap expired\n");
		ts->status = 1;
	} else if (rsv_req_finish(job->req, ts->buf, sizeof(ts->buf), &len) == 0 && len >= 12) {
		const struct rsv_req_stats *st = rsv_req_stats(job->req);
		unsigned rc = rsv_req_rcode(job->req);
		ldns_pkt *p = NULL;
		printf(";; %s after %u upstream queries (%u timeouts, %u replies dropped, %u records scrubbed)\n",
			dns_rcode_name(rc, rb), st->upstream, st->timeouts, st->forged + st->case_drop,
			st->scrubbed);
		if (ldns_wire2pkt(&p, ts->buf, len) == LDNS_STATUS_OK) {
			ldns_pkt_print(stdout, p);
			ldns_pkt_free(p);
		}
		ts->status = rc == DNS_RC_SERVFAIL ? 1 : 0;
	} else {
		printf(";; no answer could be built\n");
		ts->status = 1;
	}
	fflush(stdout);
	rsvd_job_free(job);
}

int rsvd_trace_run(struct rsvd_config *cfg, const char *name, const char *type)
{
	struct rsvd_server s;
	struct rsvd_worker w;
	struct rsv_cache_opts co;
	struct rsv_select_opts so;
	struct trace_state *ts = NULL;
	struct rsv_req *req = NULL;
	struct rsvd_job *job = NULL;
	uv_loop_t loop;
	uint8_t qname[DNS_NAME_MAX];
	int qtype = DNS_T_A, rc = 1, r;
	bool loop_ok = false;

	memset(&s, 0, sizeof(s));
	memset(&w, 0, sizeof(w));
	if (dns_name_from_str(name, NULL, qname, NULL) < 0) {
		fprintf(stderr, "cairn-resolver: --trace: bad name '%s'\n", name);
		return 1;
	}
	if (type && (qtype = dns_type_from_str(type)) < 0) {
		fprintf(stderr, "cairn-resolver: --trace: unknown type '%s'\n", type);
		return 1;
	}
	s.cfg = cfg;
	rsvd_config_cache_opts(cfg, &co);
	rsv_select_opts_default(&so);
	rsvd_iter_opts(cfg, &s.iopts);
	if ((r = rsv_cache_new(dns_mm_std(), &co, &s.cache)) < 0 ||
	    (r = rsv_select_new(dns_mm_std(), &so, &s.select)) < 0 ||
	    (r = dns_counters_init(&s.counters, 1, RSVD_C_COUNT)) < 0 ||
	    (r = uv_loop_init(&loop)) < 0) {
		fprintf(stderr, "cairn-resolver: %s\n", dns_strerror(r));
		goto out;
	}
	loop_ok = true;
	w.srv = &s;
	w.loop = &loop;
	w.rbuf = malloc(DNS_LISTEN_MSG_MAX);
	ts = calloc(1, sizeof(*ts));
	job = calloc(1, sizeof(*job));
	if (!w.rbuf || !ts || !job) {
		fprintf(stderr, "cairn-resolver: out of memory\n");
		goto out;
	}
	w.ctx.mm = dns_mm_std();
	w.ctx.cache = s.cache;
	w.ctx.select = s.select;
	w.ctx.hints = &cfg->hints;
	w.ctx.rng = *dns_rand_rng();
	w.ctx.opts = s.iopts;
	w.ctx.trace = trace_line;
	for (size_t i = 0; i < cfg->hints.count; i++) {
		char ab[64], nb[DNS_NAME_TEXT_MAX];
		dns_name_to_str(cfg->hints.hint[i].name, nb, sizeof(nb));
		printf(";; root hint %s %s\n", nb, rsv_addr_str(&cfg->hints.hint[i].addr, ab, sizeof(ab)));
	}
	if ((r = rsv_req_begin_name(&req, &w.ctx, qname, (uint16_t)qtype, uv_now(&loop))) < 0) {
		fprintf(stderr, "cairn-resolver: --trace: %s\n", dns_strerror(r));
		goto out;
	}
	job->data = ts;
	ts->status = 1;
	rsvd_job_start(job, &w, req, s.iopts.budget_ms + 2000, trace_done);
	job = NULL; /* freed by trace_done via its timer's close callback */
	uv_run(&loop, UV_RUN_DEFAULT);
	rc = ts->status;
out:
	free(job);
	if (loop_ok) {
		uv_run(&loop, UV_RUN_DEFAULT);
		uv_loop_close(&loop);
	}
	free(ts);
	free(w.rbuf);
	rsv_select_free(s.select);
	if (s.cache)
		rsv_cache_free(s.cache);
	dns_counters_deinit(&s.counters);
	return rc;
}
