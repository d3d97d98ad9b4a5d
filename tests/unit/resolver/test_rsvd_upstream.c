/*
 * test_rsvd_upstream.c -- resolver/io/rsvd_upstream.c on a real loop: a job
 * drives an rsv_req against a fake authoritative server on 127.0.0.1 (a UDP
 * socket, and a TCP listener on the same port), checking that
 *  - an answer is fed back and the job ends NOERROR with it;
 *  - the upstream socket is connected: the same reply sent first from another
 *    port never reaches the iterator (the kernel drops it), the true one does;
 *  - a silent server ends in SERVFAIL within the iterator's budget, with the
 *    timeouts counted;
 *  - a truncated UDP reply makes the iterator retry over TCP (2-byte framing).
 * Every test closes all handles and asserts uv_loop_close() == 0.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <cmocka.h>

#include "dns_name.h"
#include "dns_pkt.h"
#include "dns_rand.h"
#include "rsvd.h"

enum mode { M_ANSWER, M_FORGE_FIRST, M_SILENT, M_TC };

struct fake {
	enum mode mode;
	uv_udp_t udp, other;         /* the server's socket, and another port for forgeries */
	uv_tcp_t listener;           /* TCP on the same port */
	struct fake_conn {
		uv_tcp_t tcp;        /* an accepted connection */
		uint8_t buf[4096];   /* bytes read */
		size_t len;          /* bytes in buf */
		uv_write_t wr;       /* the reply */
		uint8_t out[514];    /* the reply with its length prefix */
	} conn[4];
	unsigned nconn;
	uint8_t out[512];            /* last reply built */
	uint16_t port;
	unsigned udp_queries, tcp_queries;
};

struct run {
	uv_loop_t loop;
	struct fake fake;
	struct rsvd_server srv;
	struct rsvd_config cfg;
	struct rsvd_worker w;
	bool done;
	unsigned rcode;
	bool has_true, has_forged;
	uint64_t t_done;
};

/* A reply to query q: echo the question as sent, one A record (unless tc). */
static size_t reply_build(uint8_t *out, const uint8_t *q, size_t qlen, const uint8_t ip[4], bool tc)
{
	size_t off = 12;
	while (off < qlen && q[off] != 0)
		off += 1 + q[off];
	size_t qend = off + 5;
	assert_true(qend <= qlen);
	memcpy(out, q, qend);
	out[2] = 0x84 | (tc ? 0x02 : 0) | (q[2] & 0x01); /* QR AA [TC] RD */
	out[3] = 0;
	out[4] = 0; out[5] = 1;
	out[6] = 0; out[7] = tc ? 0 : 1;
	memset(out + 8, 0, 4);
	if (tc)
		return qend;
	static const uint8_t rr[] = {0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 1, 0x2c, 0, 4};
	memcpy(out + qend, rr, sizeof(rr));
	memcpy(out + qend + sizeof(rr), ip, 4);
	return qend + sizeof(rr) + 4;
}

static const uint8_t ip_true[4] = {192, 0, 2, 1};
static const uint8_t ip_forged[4] = {6, 6, 6, 6};

static void fake_alloc(uv_handle_t *h, size_t s, uv_buf_t *b)
{
	static uint8_t buf[4096];
	(void)h;
	(void)s;
	*b = uv_buf_init((char *)buf, sizeof(buf));
}

static void fake_udp_recv(uv_udp_t *u, ssize_t n, const uv_buf_t *b, const struct sockaddr *from,
	unsigned flags)
{
	struct fake *f = u->data;
	(void)flags;
	if (n <= 0 || !from)
		return;
	f->udp_queries++;
	uv_buf_t ob;
	size_t len;
	switch (f->mode) {
	case M_SILENT:
		return;
	case M_FORGE_FIRST:
		len = reply_build(f->out, (uint8_t *)b->base, (size_t)n, ip_forged, false);
		ob = uv_buf_init((char *)f->out, (unsigned)len);
		assert_int_equal(uv_udp_try_send(&f->other, &ob, 1, from), (int)len);
		/* fall through: then the true answer from the right port */
	case M_ANSWER:
		len = reply_build(f->out, (uint8_t *)b->base, (size_t)n, ip_true, false);
		break;
	case M_TC:
		len = reply_build(f->out, (uint8_t *)b->base, (size_t)n, ip_true, true);
		break;
	default:
		return;
	}
	ob = uv_buf_init((char *)f->out, (unsigned)len);
	assert_int_equal(uv_udp_try_send(&f->udp, &ob, 1, from), (int)len);
}

static void fake_tcp_read(uv_stream_t *s, ssize_t n, const uv_buf_t *b)
{
	struct fake_conn *c = s->data;
	if (n <= 0)
		return;
	assert_true(c->len + (size_t)n <= sizeof(c->buf));
	memcpy(c->buf + c->len, b->base, (size_t)n);
	c->len += (size_t)n;
	if (c->len < 2 || c->len < 2u + (size_t)(c->buf[0] << 8 | c->buf[1]))
		return;
	struct fake *f = (struct fake *)s->loop->data;
	f->tcp_queries++;
	size_t len = reply_build(c->out + 2, c->buf + 2, c->len - 2, ip_true, false);
	c->out[0] = (uint8_t)(len >> 8);
	c->out[1] = (uint8_t)len;
	uv_buf_t ob = uv_buf_init((char *)c->out, (unsigned)len + 2);
	assert_int_equal(uv_write(&c->wr, s, &ob, 1, NULL), 0);
	c->len = 0;
}

static void fake_accept(uv_stream_t *l, int status)
{
	struct fake *f = l->data;
	assert_int_equal(status, 0);
	assert_true(f->nconn < 4);
	struct fake_conn *c = &f->conn[f->nconn++];
	uv_tcp_init(l->loop, &c->tcp);
	c->tcp.data = c;
	assert_int_equal(uv_accept(l, (uv_stream_t *)&c->tcp), 0);
	uv_read_start((uv_stream_t *)&c->tcp, fake_alloc, fake_tcp_read);
}

static void fake_start(struct fake *f, uv_loop_t *loop, enum mode mode)
{
	struct sockaddr_in a;
	struct sockaddr_storage got;
	int len = sizeof(got);
	memset(f, 0, sizeof(*f));
	f->mode = mode;
	loop->data = f;
	uv_ip4_addr("127.0.0.1", 0, &a);
	assert_int_equal(uv_udp_init(loop, &f->udp), 0);
	f->udp.data = f;
	assert_int_equal(uv_udp_bind(&f->udp, (struct sockaddr *)&a, 0), 0);
	assert_int_equal(uv_udp_getsockname(&f->udp, (struct sockaddr *)&got, &len), 0);
	f->port = ntohs(((struct sockaddr_in *)&got)->sin_port);
	assert_int_equal(uv_udp_recv_start(&f->udp, fake_alloc, fake_udp_recv), 0);
	assert_int_equal(uv_udp_init(loop, &f->other), 0);
	assert_int_equal(uv_udp_bind(&f->other, (struct sockaddr *)&a, 0), 0);
	a.sin_port = htons(f->port);
	assert_int_equal(uv_tcp_init(loop, &f->listener), 0);
	f->listener.data = f;
	assert_int_equal(uv_tcp_bind(&f->listener, (struct sockaddr *)&a, 0), 0);
	assert_int_equal(uv_listen((uv_stream_t *)&f->listener, 4, fake_accept), 0);
}

static void fake_close(struct fake *f)
{
	uv_close((uv_handle_t *)&f->udp, NULL);
	uv_close((uv_handle_t *)&f->other, NULL);
	uv_close((uv_handle_t *)&f->listener, NULL);
	for (unsigned i = 0; i < f->nconn; i++)
		uv_close((uv_handle_t *)&f->conn[i].tcp, NULL);
}

static void on_done(struct rsvd_job *job)
{
	struct run *r = job->data;
	uint8_t buf[4096];
	size_t len = 0;
	r->done = true;
	r->t_done = uv_now(&r->loop);
	assert_false(job->capped);
	r->rcode = rsv_req_rcode(job->req);
	assert_int_equal(rsv_req_finish(job->req, buf, sizeof(buf), &len), 0);
	r->has_true = memmem(buf, len, ip_true, 4) != NULL;
	r->has_forged = memmem(buf, len, ip_forged, 4) != NULL;
	rsvd_job_free(job);
	fake_close(&r->fake);
}

/* Resolve test.example. A against the fake server in mode; the run's results in *r. */
static void run_one(struct run *r, enum mode mode, uint32_t budget_ms)
{
	struct rsv_cache_opts co;
	struct rsv_select_opts so;
	uint8_t ns[DNS_NAME_MAX], qname[DNS_NAME_MAX];

	memset(r, 0, sizeof(*r));
	assert_int_equal(uv_loop_init(&r->loop), 0);
	fake_start(&r->fake, &r->loop, mode);

	struct rsv_addr addr = {.family = 4, .port = r->fake.port, .ip = {127, 0, 0, 1}};
	assert_int_equal(dns_name_from_str("a.root.test.", NULL, ns, NULL), 0);
	assert_int_equal(rsv_hints_add(&r->cfg.hints, ns, &addr), 0);
	r->cfg.threads = 1;
	r->srv.cfg = &r->cfg;
	rsv_cache_opts_default(&co);
	rsv_select_opts_default(&so);
	assert_int_equal(rsv_cache_new(dns_mm_std(), &co, &r->srv.cache), 0);
	assert_int_equal(rsv_select_new(dns_mm_std(), &so, &r->srv.select), 0);
	assert_int_equal(dns_counters_init(&r->srv.counters, 1, RSVD_C_COUNT), 0);
	rsv_iter_opts_default(&r->srv.iopts);
	r->srv.iopts.ipv6 = false;
	r->srv.iopts.budget_ms = budget_ms;
	r->srv.iopts.qname_min = false; /* one question: the fake answers every name */
	r->w.srv = &r->srv;
	r->w.loop = &r->loop;
	r->w.rbuf = malloc(DNS_LISTEN_MSG_MAX);
	assert_non_null(r->w.rbuf);
	r->w.ctx.mm = dns_mm_std();
	r->w.ctx.cache = r->srv.cache;
	r->w.ctx.select = r->srv.select;
	r->w.ctx.hints = &r->cfg.hints;
	r->w.ctx.rng = *dns_rand_rng();
	r->w.ctx.opts = r->srv.iopts;

	struct rsv_req *req;
	struct rsvd_job *job = calloc(1, sizeof(*job));
	assert_non_null(job);
	job->data = r;
	assert_int_equal(dns_name_from_str("test.example.", NULL, qname, NULL), 0);
	assert_int_equal(rsv_req_begin_name(&req, &r->w.ctx, qname, DNS_T_A, uv_now(&r->loop)), 0);
	uint64_t t0 = uv_now(&r->loop);
	assert_int_equal(rsvd_job_start(job, &r->w, req, budget_ms + 2000, on_done), 0);
	assert_int_equal(uv_run(&r->loop, UV_RUN_DEFAULT), 0);
	assert_true(r->done);
	r->t_done -= t0;
	/* every handle closed: the loop closes cleanly */
	assert_int_equal(uv_loop_close(&r->loop), 0);
}

static void run_free(struct run *r)
{
	free(r->w.rbuf);
	rsv_select_free(r->srv.select);
	rsv_cache_free(r->srv.cache);
	dns_counters_deinit(&r->srv.counters);
}

static uint64_t counter(struct run *r, unsigned idx)
{
	return dns_counter_sum(&r->srv.counters, idx);
}

static void test_answer(void **state)
{
	struct run *r = calloc(1, sizeof(*r));
	(void)state;
	run_one(r, M_ANSWER, 3000);
	assert_int_equal(r->rcode, DNS_RC_NOERROR);
	assert_true(r->has_true);
	assert_true(counter(r, RSVD_C_UPSTREAM) >= 1);
	assert_int_equal(counter(r, RSVD_C_TIMEOUTS), 0);
	assert_int_equal(counter(r, RSVD_C_UP_TCP), 0);
	run_free(r);
	free(r);
}

static void test_connected_socket(void **state)
{
	struct run *r = calloc(1, sizeof(*r));
	(void)state;
	run_one(r, M_FORGE_FIRST, 3000);
	assert_int_equal(r->rcode, DNS_RC_NOERROR);
	assert_true(r->has_true);
	assert_false(r->has_forged); /* the reply from the other port never arrived */
	run_free(r);
	free(r);
}

static void test_silent(void **state)
{
	struct run *r = calloc(1, sizeof(*r));
	(void)state;
	run_one(r, M_SILENT, 1500);
	assert_int_equal(r->rcode, DNS_RC_SERVFAIL);
	assert_true(counter(r, RSVD_C_TIMEOUTS) >= 1);
	assert_true(r->fake.udp_queries >= 1);
	/* the iterator's budget ended it, not the hard cap (budget + 2000 ms) */
	assert_int_equal(counter(r, RSVD_C_CAPPED), 0);
	run_free(r);
	free(r);
}

static void test_tc_tcp(void **state)
{
	struct run *r = calloc(1, sizeof(*r));
	(void)state;
	run_one(r, M_TC, 3000);
	assert_int_equal(r->rcode, DNS_RC_NOERROR);
	assert_true(r->has_true);
	assert_int_equal(r->fake.tcp_queries, 1);
	assert_int_equal(counter(r, RSVD_C_UP_TCP), 1);
	run_free(r);
	free(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_answer),
		cmocka_unit_test(test_connected_socket),
		cmocka_unit_test(test_silent),
		cmocka_unit_test(test_tc_tcp),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
