/*
 * rsvd_server.c -- cairn-resolver's running server: the shared cache and server
 * table, the worker threads, and what happens to each client query.
 *
 * Per client query, on the worker thread that received it:
 *   1. access list: a client outside it gets REFUSED (RFC 5358: no open resolver);
 *   2. message cache fast path (rsv_msgcache_answer): a hit is answered from the
 *      stored wire copy with no parsing and no allocation;
 *   3. else the query joins an identical one in flight on this worker (same name
 *      case-insensitively, type, class, and OPT/DO/CD bits), or starts a job
 *      (rsvd_upstream.c) that drives a new rsv_req;
 *   4. when the job is done its answer is stored in the message cache and sent
 *      to every client waiting, each with its own ID, RD bit and question case.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dns_cursor.h"
#include "dns_err.h"
#include "dns_hash.h"
#include "dns_log.h"
#include "dns_pkt.h"
#include "dns_rand.h"
#include "dns_writer.h"
#include "rsvd.h"

#define RSVD_JOB_BUCKETS 1024
#define RSVD_CAP_EXTRA_MS 2000 /* hard cap = iterator budget + this */

/* Key flag bits of a job (beside name, type, class). */
#define KEY_EDNS 0x01
#define KEY_DO 0x02
#define KEY_CD 0x04
#define KEY_INTERNAL 0x80 /* the resolver's own job (priming): never joined */

/* A client waiting for a job's answer. */
struct rsvd_client {
	struct rsvd_client *next;        /* next client of the job */
	struct dns_listen_req *lreq;     /* the listener's request */
	uint64_t hstart;                 /* uv_hrtime() at arrival */
	uint16_t id;                     /* its query ID */
	uint16_t flags;                  /* its RD and CD bits */
	uint16_t udp_max;                /* largest UDP answer it takes (0: TCP) */
	bool has_opt;                    /* it sent OPT */
	uint8_t qlen;                    /* bytes of qname */
	uint8_t qname[DNS_NAME_MAX];     /* its question name, case as sent */
};

/* ---- answers built here: errors ---- */

/* An answer with rcode, the question echoed and OPT if the client sent one. */
static size_t error_write(uint8_t *out, size_t cap, uint16_t id, uint16_t qflags,
	const uint8_t *qname, uint16_t qtype, uint16_t qclass, bool has_opt, unsigned rcode)
{
	struct dns_writer w;
	dns_writer_init(&w, out, cap);
	if (qname && dns_writer_question(&w, qname, qtype, qclass) < 0)
		return 0;
	if (has_opt) {
		dns_writer_section(&w, DNS_SEC_ADDITIONAL);
		dns_writer_opt(&w, 1232, 0, 0, NULL, 0);
	}
	return dns_writer_finish(&w, id,
		(uint16_t)(DNS_FLAG_QR | DNS_FLAG_RA | (qflags & (DNS_FLAG_RD | DNS_FLAG_CD)) | rcode));
}

static void count(struct rsvd_worker *w, unsigned idx, uint64_t n)
{
	dns_counter_add(&w->srv->counters, w->index, idx, n);
}

/* Send msg to the client of lreq and count it. */
static void answer_send(struct rsvd_worker *w, struct dns_listen_req *lreq, const uint8_t *msg,
	size_t len, uint64_t hstart)
{
	if (len < 12)
		return;
	dns_listen_reply(lreq, msg, len);
	count(w, RSVD_C_RCODE + (msg[3] & 0x0f), 1);
	rsvd_metrics_latency(&w->srv->counters, w->index, uv_hrtime() - hstart);
}

/* ---- the join table ---- */

static unsigned key_hash(const uint8_t *key, size_t len, unsigned mask)
{
	/* FNV-1a: the table is per worker and bounded by clients in flight */
	return dns_fnv32(DNS_FNV32_INIT, key, len) & mask;
}

static size_t key_make(uint8_t *key, const uint8_t *qname, uint16_t qtype, uint16_t qclass,
	uint8_t flags)
{
	size_t n = dns_name_lower(key, qname);
	key[n++] = (uint8_t)(qtype >> 8);
	key[n++] = (uint8_t)qtype;
	key[n++] = (uint8_t)(qclass >> 8);
	key[n++] = (uint8_t)qclass;
	key[n++] = flags;
	return n;
}

static struct rsvd_job *job_find(struct rsvd_worker *w, const uint8_t *key, size_t len)
{
	unsigned b = key_hash(key, len, w->jobs_mask);
	for (struct rsvd_job *j = w->jobs[b]; j; j = j->next)
		if (j->keylen == len && memcmp(j->key, key, len) == 0 && !j->finished)
			return j;
	return NULL;
}

static void job_link(struct rsvd_worker *w, struct rsvd_job *job)
{
	job->bucket = key_hash(job->key, job->keylen, w->jobs_mask);
	job->next = w->jobs[job->bucket];
	w->jobs[job->bucket] = job;
	job->in_table = true;
	w->njobs++;
}

static void job_unlink(struct rsvd_worker *w, struct rsvd_job *job)
{
	if (!job->in_table)
		return;
	for (struct rsvd_job **p = &w->jobs[job->bucket]; *p; p = &(*p)->next)
		if (*p == job) {
			*p = job->next;
			break;
		}
	job->in_table = false;
	w->njobs--;
}

/* ---- a job is over: answer its clients ---- */

/*
 * The answer cut to its header and question with TC set (RFC 1035 4.2.1, RFC
 * 2181 9), plus an OPT record when the client sent one (RFC 6891 7: a requester
 * that sent OPT gets one back). out needs qend + 11 bytes.
 */
static size_t truncated_write(uint8_t *out, const uint8_t *answer, size_t qend, bool has_opt)
{
	static const uint8_t opt[11] = {0, 0, 41, 1232 >> 8, 1232 & 0xff, 0, 0, 0, 0, 0, 0};
	memcpy(out, answer, qend);
	out[2] |= DNS_FLAG_TC >> 8;
	memset(out + 6, 0, 6);
	if (!has_opt)
		return qend;
	memcpy(out + qend, opt, sizeof(opt));
	out[11] = 1;
	return qend + sizeof(opt);
}

static void job_done(struct rsvd_job *job)
{
	struct rsvd_worker *w = job->w;
	uint8_t small[DNS_NAME_MAX + 64];
	size_t len = 0;

	job_unlink(w, job);
	if (job->req && w->srv->debug) {
		char nb[DNS_NAME_TEXT_MAX], tb[16], rb[16];
		dns_name_to_str(job->key, nb, sizeof(nb));
		log_debug("resolved %s %s: %s in %llu ms, %u upstream queries, %u timeouts%s", nb,
			dns_type_name(job->qtype, tb),
			job->capped ? "capped" : dns_rcode_name(rsv_req_rcode(job->req), rb),
			(unsigned long long)((uv_hrtime() - job->hstart) / 1000000),
			rsv_req_stats(job->req)->upstream, rsv_req_stats(job->req)->timeouts,
			job->clients && job->clients->next ? " (joined clients)" : "");
	}
	if (job->req) {
		const struct rsv_req_stats *st = rsv_req_stats(job->req);
		count(w, RSVD_C_FORGED, st->forged);
		count(w, RSVD_C_CASE, st->case_drop);
		count(w, RSVD_C_SCRUBBED, st->scrubbed);
	}
	if (!job->capped && job->req) {
		if (rsv_req_finish(job->req, w->abuf, DNS_LISTEN_MSG_MAX, &len) < 0 || len < 12)
			len = 0;
		if (len > 0 && w->srv->cache)
			rsv_msgcache_insert(w->srv->cache, w->abuf, len, uv_now(w->loop));
	}
	/*
	 * Where the question ends in the finished answer: its name must be written
	 * in full at offset 12 (no compression pointer), so each client's own
	 * spelling of the same name (same length) can be copied over it.
	 */
	size_t qend = 0;
	if (len > 0) {
		struct dns_cursor cur;
		uint8_t qn[DNS_NAME_MAX];
		size_t qnlen = 0;
		dns_cursor_init(&cur, w->abuf, len);
		if (dns_cursor_skip(&cur, 12) < 0 || dns_cursor_name(&cur, qn, &qnlen) < 0 ||
		    cur.pos - 12 != qnlen || dns_cursor_skip(&cur, 4) < 0)
			len = 0;
		else
			qend = cur.pos;
	}
	while (job->clients) {
		struct rsvd_client *c = job->clients;
		job->clients = c->next;
		if (len > 0 && qend - 12 - 4 == c->qlen) {
			/* this client's ID, RD bit and question case (RFC 1035 4.1.1) */
			w->abuf[0] = (uint8_t)(c->id >> 8);
			w->abuf[1] = (uint8_t)c->id;
			w->abuf[2] = (uint8_t)((w->abuf[2] & ~0x01) | ((c->flags & DNS_FLAG_RD) ? 1 : 0));
			memcpy(w->abuf + 12, c->qname, c->qlen);
			if (c->udp_max && len > c->udp_max) {
				/* too big for the client's UDP limit: header and question with TC */
				size_t tl = truncated_write(small, w->abuf, qend, c->has_opt);
				answer_send(w, c->lreq, small, tl, c->hstart);
			} else {
				answer_send(w, c->lreq, w->abuf, len, c->hstart);
			}
		} else {
			size_t n = error_write(small, sizeof(small), c->id, c->flags, c->qname, job->qtype,
				job->qclass, c->has_opt, DNS_RC_SERVFAIL);
			answer_send(w, c->lreq, small, n, c->hstart);
		}
		dns_listen_done(c->lreq);
		free(c);
	}
	rsvd_job_free(job);
}

/* ---- client queries ---- */

/* 1. a client outside the access list: REFUSED (RFC 5358), if its query parses. */
static void refuse(struct rsvd_worker *w, struct dns_listen_req *lreq, const uint8_t *pkt,
	size_t len, uint64_t hstart)
{
	uint8_t small[DNS_NAME_MAX + 64];
	struct dns_query q;
	size_t n;
	int err;

	count(w, RSVD_C_REFUSED_ACL, 1);
	if (dns_query_parse(pkt, len, &q, &err) == DNS_QUERY_OK) {
		n = error_write(small, sizeof(small), q.hdr.id, q.hdr.flags, q.qname, q.qtype,
			q.qclass, q.has_opt, DNS_RC_REFUSED);
		answer_send(w, lreq, small, n, hstart);
	}
	dns_listen_done(lreq);
}

/* A query that does not parse (FORMERR) or is not a QUERY (NOTIMP): header only. */
static void answer_unusable(struct rsvd_worker *w, struct dns_listen_req *lreq,
	const uint8_t *pkt, size_t len, enum dns_query_verdict v, unsigned opcode, uint64_t hstart)
{
	uint8_t small[DNS_NAME_MAX + 64];
	struct dns_header h;
	size_t n;
	unsigned rc = v != DNS_QUERY_OK ? DNS_RC_FORMERR : DNS_RC_NOTIMP;

	if (dns_header_parse(pkt, len, &h) == 0) {
		n = error_write(small, sizeof(small), h.id, h.flags, NULL, 0, 0, false, rc);
		if (n >= 12)
			small[2] |= (uint8_t)(opcode << 3);
		answer_send(w, lreq, small, n, hstart);
	}
	count(w, RSVD_C_FORMERR, v != DNS_QUERY_OK);
	dns_listen_done(lreq);
}

/* What the answer to the client of lreq needs from its query q; NULL without memory. */
static struct rsvd_client *client_new(struct dns_listen_req *lreq, const struct dns_query *q,
	bool tcp, uint64_t hstart)
{
	struct rsvd_client *c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	c->lreq = lreq;
	c->hstart = hstart;
	c->id = q->hdr.id;
	c->flags = q->hdr.flags;
	c->has_opt = q->has_opt;
	c->udp_max = tcp ? 0 : (q->has_opt ? (q->edns.udp_size < 512 ? 512 : q->edns.udp_size) : 512);
	c->qlen = (uint8_t)q->qname_len;
	memcpy(c->qname, q->qname, q->qname_len);
	return c;
}

/*
 * A job resolving req for its first client c, keyed key[0..klen) in the join
 * table, started. 0, or -ENOMEM with nothing taken over.
 */
static int job_new(struct rsvd_worker *w, struct rsv_req *req, struct rsvd_client *c,
	const uint8_t *key, size_t klen, const struct dns_query *q)
{
	struct rsvd_job *job = calloc(1, sizeof(*job));
	if (!job)
		return -ENOMEM;
	memcpy(job->key, key, klen);
	job->keylen = klen;
	job->qtype = q->qtype;
	job->qclass = q->qclass;
	job->clients = c;
	job->hstart = c->hstart;
	job_link(w, job);
	count(w, RSVD_C_JOBS, 1);
	rsvd_job_start(job, w, req, w->srv->iopts.budget_ms + RSVD_CAP_EXTRA_MS, job_done);
	return 0;
}

static void on_query(void *ctx, struct dns_listen_req *lreq, const uint8_t *pkt, size_t len)
{
	struct rsvd_server *s = ctx;
	struct rsvd_worker *w = &s->workers[dns_listen_req_thread(lreq)];
	bool tcp = dns_listen_req_transport(lreq) == DNS_TRANSPORT_TCP;
	const struct sockaddr *peer = dns_listen_req_peer(lreq);
	uint64_t hstart = uv_hrtime();
	uint64_t now = uv_now(w->loop);
	uint8_t small[DNS_NAME_MAX + 64];
	struct dns_query q;
	size_t n;
	int err;

	count(w, tcp ? RSVD_C_TCP : RSVD_C_UDP, 1);
	if (!rsvd_acl_allows(&s->acl, peer)) {
		refuse(w, lreq, pkt, len, hstart);
		return;
	}
	/*
	 * 2. the fast path: a repeat answered from the message cache into the
	 * worker's buffer (the listener copies or sends it at once)
	 */
	if (rsv_msgcache_answer(s->cache, pkt, len, tcp, now, w->abuf, DNS_LISTEN_MSG_MAX,
			&n) == 0) {
		answer_send(w, lreq, w->abuf, n, hstart);
		dns_listen_done(lreq);
		return;
	}

	enum dns_query_verdict v = dns_query_parse(pkt, len, &q, &err);
	if (v == DNS_QUERY_DROP) {
		dns_listen_done(lreq);
		return;
	}
	unsigned opcode = (q.hdr.flags >> 11) & 0x0f;
	if (v != DNS_QUERY_OK || opcode != 0) {
		answer_unusable(w, lreq, pkt, len, v, opcode, hstart);
		return;
	}

	/* 3. join an identical question in flight, or start a resolution */
	uint8_t key[DNS_NAME_MAX + 8];
	uint8_t kf = (uint8_t)((q.has_opt ? KEY_EDNS : 0) |
		(q.has_opt && (q.edns.flags & 0x8000) ? KEY_DO : 0) |
		((q.hdr.flags & DNS_FLAG_CD) ? KEY_CD : 0));
	size_t klen = key_make(key, q.qname, q.qtype, q.qclass, kf);
	struct rsvd_client *c = client_new(lreq, &q, tcp, hstart);
	if (!c)
		goto servfail;

	struct rsvd_job *job = job_find(w, key, klen);
	if (job) {
		c->next = job->clients;
		job->clients = c;
		count(w, RSVD_C_JOINED, 1);
		return;
	}
	if (w->stopping) {
		free(c);
		goto servfail;
	}
	struct rsv_addr client;
	struct rsv_req *req;
	rsvd_addr_from_sa(peer, &client);
	if (rsv_req_begin(&req, &w->ctx, pkt, len, &client, now) < 0) {
		free(c);
		goto servfail;
	}
	if (job_new(w, req, c, key, klen, &q) < 0) {
		rsv_req_free(req);
		free(c);
		goto servfail;
	}
	return;

servfail:
	n = error_write(small, sizeof(small), q.hdr.id, q.hdr.flags, q.qname, q.qtype, q.qclass,
		q.has_opt, DNS_RC_SERVFAIL);
	answer_send(w, lreq, small, n, hstart);
	dns_listen_done(lreq);
}

/* ---- workers ---- */

/* Root priming (RFC 8109): ". NS" from the hints fills the cache with the current root servers. */
static void start_priming(struct rsvd_worker *w)
{
	static const uint8_t root[1] = {0};
	struct rsv_req *req;
	struct rsvd_job *job;
	if (rsv_req_begin_name(&req, &w->ctx, root, DNS_T_NS, uv_now(w->loop)) < 0)
		return;
	if (!(job = calloc(1, sizeof(*job)))) {
		rsv_req_free(req);
		return;
	}
	job->keylen = key_make(job->key, root, DNS_T_NS, DNS_CLASS_IN, KEY_INTERNAL);
	job->qtype = DNS_T_NS;
	job->qclass = DNS_CLASS_IN;
	job->hstart = uv_hrtime();
	job_link(w, job);
	rsvd_job_start(job, w, req, w->srv->iopts.budget_ms + RSVD_CAP_EXTRA_MS, job_done);
}

static void on_thread_start(void *ctx, unsigned thread, uv_loop_t *loop)
{
	struct rsvd_server *s = ctx;
	struct rsvd_worker *w = &s->workers[thread];
	w->loop = loop;
	if (thread == 0)
		start_priming(w);
}

static void on_thread_stop(void *ctx, unsigned thread, uv_loop_t *loop)
{
	struct rsvd_server *s = ctx;
	struct rsvd_worker *w = &s->workers[thread];
	(void)loop;
	w->stopping = true;
	/* end every resolution: its clients get SERVFAIL, its sockets are closed */
	for (unsigned b = 0; b <= w->jobs_mask; b++)
		while (w->jobs[b])
			rsvd_job_abort(w->jobs[b]);
}

/* ---- life cycle ---- */

static int workers_init(struct rsvd_server *s)
{
	unsigned n = s->cfg->threads;
	s->workers = aligned_alloc(64, n * sizeof(*s->workers));
	if (!s->workers)
		return -ENOMEM;
	memset(s->workers, 0, n * sizeof(*s->workers));
	for (unsigned i = 0; i < n; i++) {
		struct rsvd_worker *w = &s->workers[i];
		w->srv = s;
		w->index = i;
		w->jobs_mask = RSVD_JOB_BUCKETS - 1;
		w->jobs = calloc(RSVD_JOB_BUCKETS, sizeof(*w->jobs));
		w->rbuf = malloc(DNS_LISTEN_MSG_MAX);
		w->abuf = malloc(DNS_LISTEN_MSG_MAX);
		if (!w->jobs || !w->rbuf || !w->abuf)
			return -ENOMEM;
		w->ctx.mm = dns_mm_std();
		w->ctx.cache = s->cache;
		w->ctx.select = s->select;
		w->ctx.hints = &s->cfg->hints;
		w->ctx.rng = *dns_rand_rng();
		w->ctx.opts = s->iopts;
	}
	return 0;
}

int rsvd_server_init(struct rsvd_server *s, struct rsvd_config *cfg)
{
	struct rsv_cache_opts co;
	struct rsv_select_opts so;
	int r;

	memset(s, 0, sizeof(*s));
	s->cfg = cfg;
	s->debug = dns_log_level_from_str(cfg->log_level) == DNS_LOG_DEBUG;
	if ((r = dns_shell_init(&s->shell)) < 0)
		return r;
	if ((r = rsvd_acl_build(&s->acl, cfg)) < 0)
		return r;
	rsvd_config_cache_opts(cfg, &co);
	if ((r = rsv_cache_new(dns_mm_std(), &co, &s->cache)) < 0) {
		log_err("cannot create the cache (cache-size %llu): %s",
			(unsigned long long)cfg->cache_size, dns_strerror(r));
		return r;
	}
	rsv_select_opts_default(&so);
	if ((r = rsv_select_new(dns_mm_std(), &so, &s->select)) < 0)
		return r;
	rsvd_iter_opts(cfg, &s->iopts);
	if ((r = dns_counters_init(&s->counters, cfg->threads, RSVD_C_COUNT)) < 0)
		return r;
	if ((r = workers_init(s)) < 0)
		return r;

	/* no reload: SIGHUP keeps its default action */
	struct dns_shell_config sc = {
		.listen = {
			.addrs = cfg->listen.items,
			.naddrs = cfg->listen.n,
			.threads = cfg->threads,
			.opts = {.query_cb = on_query, .ctx = s, .tcp_idle_ms = cfg->tcp_idle_ms},
			.thread_start = on_thread_start,
			.thread_stop = on_thread_stop,
		},
	};
	if ((r = dns_shell_start(&s->shell, &sc)) < 0)
		return r; /* logged there */
	if (cfg->has_metrics) {
		if ((r = http_metrics_start(&s->metrics, &s->shell.loop, (const struct sockaddr *)&cfg->metrics,
				rsvd_metrics_cb, s)) < 0)
			return r; /* logged there */
	}
	log_info("cairn-resolver %s ready: %zu root hints, %u threads, cache %llu bytes",
		CAIRN_VERSION, cfg->hints.count, cfg->threads, (unsigned long long)cfg->cache_size);
	return 0;
}

int rsvd_server_run(struct rsvd_server *s)
{
	return dns_shell_run(&s->shell);
}

int rsvd_server_deinit(struct rsvd_server *s)
{
	int r = dns_shell_stop(&s->shell);

	if (s->metrics)
		http_metrics_close(s->metrics);
	s->metrics = NULL;
	if (dns_shell_deinit(&s->shell) < 0)
		r = -EBUSY;
	if (s->workers) {
		for (unsigned i = 0; i < s->cfg->threads; i++) {
			free(s->workers[i].jobs);
			free(s->workers[i].rbuf);
			free(s->workers[i].abuf);
		}
		free(s->workers);
	}
	s->workers = NULL;
	rsv_select_free(s->select);
	s->select = NULL;
	if (s->cache)
		rsv_cache_free(s->cache);
	s->cache = NULL;
	dns_counters_deinit(&s->counters);
	rsvd_acl_free(&s->acl);
	return r;
}
