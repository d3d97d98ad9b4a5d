/*
 * Unit tests of authd_health: the libuv health checker on a real loop against
 * fake replicas on 127.61.200.x made by the test itself (a TCP listener, an
 * HTTP server answering 200, one answering 503, a port nobody listens on).
 * Checks run every 100 ms with rise = fall = 2; the test waits on conditions
 * with a deadline, never a fixed time. Ends by closing every handle and
 * asserting uv_loop_close() == 0.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <uv.h>

#include "authd_geo_snap.h"
#include "authd_health.h"
#include "geo_map.h"
#include "test_mm.h"

/* ---- fake replicas ------------------------------------------------------------ */

enum fake_kind { FAKE_TCP, FAKE_HTTP_200, FAKE_HTTP_503 };

struct fake {
	uv_tcp_t srv;
	enum fake_kind kind;
	unsigned accepted;
	bool open;
};

struct fake_conn {
	uv_tcp_t tcp;
	uv_write_t wr;
	struct fake *f;
	char buf[1024];
	bool answered;
};

static void conn_closed(uv_handle_t *h)
{
	free(h->data);
}

static void conn_written(uv_write_t *w, int status)
{
	struct fake_conn *c = w->data;
	(void)status;
	uv_close((uv_handle_t *)&c->tcp, conn_closed);
}

static void conn_alloc(uv_handle_t *h, size_t sz, uv_buf_t *b)
{
	struct fake_conn *c = h->data;
	(void)sz;
	*b = uv_buf_init(c->buf, sizeof(c->buf));
}

/* The whole request arrives in one read on loopback; answer it, then close. */
static void conn_read(uv_stream_t *s, ssize_t n, const uv_buf_t *b)
{
	struct fake_conn *c = s->data;
	(void)b;
	if (n == 0 || c->answered)
		return;
	if (n < 0) {
		uv_close((uv_handle_t *)&c->tcp, conn_closed);
		return;
	}
	assert_non_null(memmem(c->buf, (size_t)n, "GET /health HTTP/1.1\r\n", 22));
	assert_non_null(memmem(c->buf, (size_t)n, "User-Agent: cairn-auth-health\r\n", 31));
	c->answered = true;
	uv_read_stop(s);
	static const char ok[] = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";
	static const char bad[] = "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n\r\n";
	const char *text = c->f->kind == FAKE_HTTP_200 ? ok : bad;
	uv_buf_t out = uv_buf_init((char *)text, (unsigned)strlen(text));
	c->wr.data = c;
	assert_int_equal(uv_write(&c->wr, s, &out, 1, conn_written), 0);
}

static void on_fake_conn(uv_stream_t *srv, int status)
{
	struct fake *f = srv->data;
	struct fake_conn *c = calloc(1, sizeof(*c));
	assert_int_equal(status, 0);
	assert_non_null(c);
	c->f = f;
	uv_tcp_init(srv->loop, &c->tcp);
	c->tcp.data = c;
	assert_int_equal(uv_accept(srv, (uv_stream_t *)&c->tcp), 0);
	f->accepted++;
	if (f->kind == FAKE_TCP)
		uv_close((uv_handle_t *)&c->tcp, conn_closed);
	else
		uv_read_start((uv_stream_t *)&c->tcp, conn_alloc, conn_read);
}

/* Listen on addr:0; returns the port the kernel chose. */
static unsigned fake_start(uv_loop_t *loop, struct fake *f, const char *addr, enum fake_kind k)
{
	struct sockaddr_in sin;
	struct sockaddr_storage ss;
	int len = sizeof(ss);
	memset(f, 0, sizeof(*f));
	f->kind = k;
	assert_int_equal(uv_ip4_addr(addr, 0, &sin), 0);
	assert_int_equal(uv_tcp_init(loop, &f->srv), 0);
	f->srv.data = f;
	assert_int_equal(uv_tcp_bind(&f->srv, (const struct sockaddr *)&sin, 0), 0);
	assert_int_equal(uv_listen((uv_stream_t *)&f->srv, 16, on_fake_conn), 0);
	assert_int_equal(uv_tcp_getsockname(&f->srv, (struct sockaddr *)&ss, &len), 0);
	f->open = true;
	return ntohs(((struct sockaddr_in *)&ss)->sin_port);
}

static void fake_stop(struct fake *f)
{
	if (f->open)
		uv_close((uv_handle_t *)&f->srv, NULL);
	f->open = false;
}

/* A port nothing listens on: bound, then closed again. */
static unsigned free_port(uv_loop_t *loop, const char *addr)
{
	struct fake f;
	unsigned port = fake_start(loop, &f, addr, FAKE_TCP);
	fake_stop(&f);
	uv_run(loop, UV_RUN_NOWAIT);
	return port;
}

/* ---- waiting on a condition ----------------------------------------------------- */

struct waiter {
	bool (*cond)(void *ctx);
	void *ctx;
	bool met;
	uv_timer_t poll, deadline;
};

static void wait_poll(uv_timer_t *t)
{
	struct waiter *w = t->data;
	if (w->cond(w->ctx)) {
		w->met = true;
		uv_timer_stop(&w->poll);
		uv_timer_stop(&w->deadline);
	}
}

static void wait_deadline(uv_timer_t *t)
{
	struct waiter *w = t->data;
	uv_timer_stop(&w->poll);
}

/* Run loop until cond holds (checked every 10 ms) or 10 s passed; true if it held. */
static bool run_until(uv_loop_t *loop, bool (*cond)(void *ctx), void *ctx)
{
	struct waiter w = {.cond = cond, .ctx = ctx};
	uv_timer_init(loop, &w.poll);
	uv_timer_init(loop, &w.deadline);
	w.poll.data = w.deadline.data = &w;
	uv_timer_start(&w.poll, wait_poll, 10, 10);
	uv_timer_start(&w.deadline, wait_deadline, 10000, 0);
	/* the health timers keep the loop alive: run until our timers stopped */
	while (uv_is_active((uv_handle_t *)&w.poll))
		uv_run(loop, UV_RUN_ONCE);
	uv_close((uv_handle_t *)&w.poll, NULL);
	uv_close((uv_handle_t *)&w.deadline, NULL);
	uv_run(loop, UV_RUN_NOWAIT);
	return w.met;
}

/* ---- the test ------------------------------------------------------------------ */

struct world {
	struct authd_geo_snap *snap;
	struct authd_health *h;
};

static bool states_settled(void *ctx)
{
	struct world *w = ctx;
	for (unsigned id = 0; id < 4; id++) {
		const struct geo_health *st = authd_health_state(w->h, id, NULL);
		if (!st || st->checks < 4)
			return false;
	}
	/* tcp and http-200 up, http-503 and refused down */
	return w->snap->up[0] && w->snap->up[1] && !w->snap->up[2] && !w->snap->up[3];
}

static bool tcp_down(void *ctx)
{
	struct world *w = ctx;
	return !w->snap->up[0];
}

static bool tcp_up(void *ctx)
{
	struct world *w = ctx;
	return w->snap->up[0];
}

static struct authd_geo_snap *snap_of(const char *json)
{
	struct authd_geo_snap *s = calloc(1, sizeof(*s));
	char err[512] = "";
	assert_non_null(s);
	int r = geo_map_load_with(&tmm, json, strlen(json), "health.json", NULL, &s->map, err, sizeof(err));
	if (r != 0)
		fail_msg("map: %s", err);
	atomic_init(&s->refs, 1);
	unsigned n = geo_map_replicas(s->map);
	assert_int_equal(n, 5);
	s->up = malloc(n);
	assert_non_null(s->up);
	memset(s->up, 1, n);
	return s;
}

static void checks_on_a_loop(void **state)
{
	uv_loop_t loop;
	struct fake tcp, ok, bad;
	struct world w;
	char json[2048];
	(void)state;

	assert_int_equal(uv_loop_init(&loop), 0);
	unsigned p_tcp = fake_start(&loop, &tcp, "127.61.200.1", FAKE_TCP);
	unsigned p_ok = fake_start(&loop, &ok, "127.61.200.2", FAKE_HTTP_200);
	unsigned p_bad = fake_start(&loop, &bad, "127.61.200.3", FAKE_HTTP_503);
	unsigned p_none = free_port(&loop, "127.61.200.4");
	snprintf(json, sizeof(json),
		"{\"health\": {\"interval\": 0.1, \"timeout\": 0.1, \"rise\": 2, \"fall\": 2},"
		" \"datacenters\": [{\"name\": \"dc1\", \"lat\": 0, \"lon\": 0, \"replicas\": ["
		"  {\"address\": \"127.61.200.1\", \"check\": {\"tcp\": %u}},"
		"  {\"address\": \"127.61.200.2\", \"check\": {\"http\": \"http://127.61.200.2:%u/health\"}},"
		"  {\"address\": \"127.61.200.3\", \"check\": {\"http\": \"http://127.61.200.3:%u/health\"}},"
		"  {\"address\": \"127.61.200.4\", \"check\": {\"tcp\": %u}},"
		"  {\"address\": \"127.61.200.5\"}]}],"
		" \"names\": {\"www.example.test\": {}}}",
		p_tcp, p_ok, p_bad, p_none);
	w.snap = snap_of(json);

	assert_int_equal(authd_health_start(&w.h, &loop, w.snap, NULL), 0);
	assert_non_null(w.h);
	assert_null(authd_health_state(w.h, 4, NULL)); /* no check: always up */
	assert_true(run_until(&loop, states_settled, &w));
	double last_s = -1;
	const struct geo_health *st = authd_health_state(w.h, 1, &last_s);
	/* (a loaded machine may time a check out now and then: not asserted) */
	assert_true(st->failures < st->checks);
	/* the latency of the last check is recorded (how long it took is a benchmark's
	 * business; the bound only catches a value that is not a duration at all) */
	assert_true(last_s >= 0 && last_s < 60);
	assert_true(ok.accepted >= 4);
	st = authd_health_state(w.h, 2, NULL);
	assert_int_equal(st->failures, st->checks); /* a 503 never passes */
	assert_true(bad.accepted >= 1);
	assert_int_equal(authd_health_state(w.h, 3, NULL)->failures,
		authd_health_state(w.h, 3, NULL)->checks);
	assert_true(w.snap->up[4]);

	/* the TCP replica stops listening: down after fall failures */
	fake_stop(&tcp);
	assert_true(run_until(&loop, tcp_down, &w));
	uint64_t fails = authd_health_state(w.h, 0, NULL)->failures;
	assert_true(fails >= 2);

	/* a reload: the new checker set carries states and counters over */
	struct authd_health *h2 = NULL;
	assert_int_equal(authd_health_start(&h2, &loop, w.snap, w.h), 0);
	assert_false(authd_health_state(h2, 0, NULL)->up);
	assert_true(authd_health_state(h2, 0, NULL)->failures >= fails);
	assert_true(authd_health_state(h2, 1, NULL)->checks >= 4);
	authd_health_close(w.h);
	w.h = h2;

	/* it listens again (same port): up after rise successes */
	struct sockaddr_in sin;
	memset(&tcp, 0, sizeof(tcp));
	tcp.kind = FAKE_TCP;
	uv_ip4_addr("127.61.200.1", (int)p_tcp, &sin);
	assert_int_equal(uv_tcp_init(&loop, &tcp.srv), 0);
	tcp.srv.data = &tcp;
	assert_int_equal(uv_tcp_bind(&tcp.srv, (const struct sockaddr *)&sin, 0), 0);
	assert_int_equal(uv_listen((uv_stream_t *)&tcp.srv, 16, on_fake_conn), 0);
	tcp.open = true;
	assert_true(run_until(&loop, tcp_up, &w));

	/* shutdown: every handle closes, the snapshot reference goes with the checker */
	authd_health_close(w.h);
	fake_stop(&tcp);
	fake_stop(&ok);
	fake_stop(&bad);
	assert_int_equal(uv_run(&loop, UV_RUN_DEFAULT), 0);
	assert_int_equal(uv_loop_close(&loop), 0);
	assert_int_equal(atomic_load(&w.snap->refs), 1);
	authd_geo_snap_release(w.snap);
}

/* A map without checks needs no checker; closing NULL is fine. */
static void no_checks(void **state)
{
	uv_loop_t loop;
	struct authd_health *h = (void *)1;
	const char *json =
		"{\"datacenters\": [{\"name\": \"dc1\", \"lat\": 0, \"lon\": 0, \"replicas\": ["
		" {\"address\": \"192.0.2.1\"}, {\"address\": \"192.0.2.2\"}, {\"address\": \"192.0.2.3\"},"
		" {\"address\": \"192.0.2.4\"}, {\"address\": \"192.0.2.5\"}]}],"
		" \"names\": {\"www.example.test\": {}}}";
	(void)state;
	assert_int_equal(uv_loop_init(&loop), 0);
	struct authd_geo_snap *s = snap_of(json);
	assert_int_equal(authd_health_start(&h, &loop, s, NULL), 0);
	assert_null(h);
	assert_null(authd_health_state(h, 0, NULL));
	authd_health_close(h);
	assert_int_equal(uv_run(&loop, UV_RUN_DEFAULT), 0);
	assert_int_equal(uv_loop_close(&loop), 0);
	authd_geo_snap_release(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(checks_on_a_loop),
		cmocka_unit_test(no_checks),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
