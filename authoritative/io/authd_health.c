/*
 * authd_health.c -- libuv health checks of CDN replicas (authd_health.h).
 *
 * One check per replica with a `check` in the map. Each has a repeating
 * interval timer, a timeout timer and, while an attempt runs, a TCP handle:
 *
 *   IDLE     waiting for the interval timer
 *   CONNECT  uv_tcp_connect() in flight
 *   READ     HTTP: request written, waiting for the status line
 *   CLOSING  result recorded, TCP handle closing (a new attempt waits for it)
 *
 * Only one attempt at a time: the timeout never exceeds the interval (the
 * map enforces it), and a tick that finds the previous attempt still closing
 * is skipped rather than queued.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "authd_geo_snap.h"
#include "authd_health.h"
#include "dns_log.h"
#include "dns_rand.h"

enum hc_phase {
	HC_IDLE = 0,  /* no attempt running */
	HC_CONNECT,   /* connecting */
	HC_READ,      /* HTTP request sent, reading the status line */
	HC_CLOSING    /* attempt over, TCP handle closing */
};

struct hcheck {
	struct authd_health *owner;
	const struct geo_replica *rep;  /* in owner->snap's map */
	const char *dc;                 /* its datacenter's name */
	char label[320];                /* "eu-london 127.61.1.1 tcp:8081", for logs */
	struct geo_health st;
	enum hc_phase phase;
	uv_timer_t tick;                /* every interval */
	uv_timer_t timeout;             /* the attempt's deadline */
	uv_tcp_t tcp;                   /* the attempt's connection (valid in CONNECT..CLOSING) */
	uv_connect_t conn;
	uv_write_t wr;
	char req[512];                  /* HTTP request text */
	char rbuf[64];                  /* start of the HTTP response */
	size_t rlen;
	uint64_t started_ns;            /* uv_hrtime() at the attempt's start */
	double last_s;                  /* duration of the last attempt, for metrics */
};

struct authd_health {
	uv_loop_t *loop;
	struct authd_geo_snap *snap;    /* referenced */
	struct hcheck **by_id;          /* geo_map_replicas() entries, NULL without a check */
	struct hcheck *checks;          /* n entries */
	unsigned n;
	unsigned open_handles;          /* handles not yet closed; 0 after close: free */
	bool closing;
};

static void health_maybe_free(struct authd_health *h)
{
	if (!h->closing || h->open_handles > 0)
		return;
	authd_geo_snap_release(h->snap);
	free(h->by_id);
	free(h->checks);
	free(h);
}

static void on_handle_closed(uv_handle_t *hd)
{
	struct hcheck *c = hd->data;
	struct authd_health *h = c->owner;
	h->open_handles--;
	health_maybe_free(h);
}

static void check_describe(const struct hcheck *c, char *buf, size_t cap)
{
	const struct geo_replica *r = c->rep;
	char addr[INET6_ADDRSTRLEN];
	inet_ntop(r->family == 4 ? AF_INET : AF_INET6, r->addr, addr, sizeof(addr));
	if (r->check.kind == GEO_CHECK_TCP)
		snprintf(buf, cap, "%s %s tcp:%u", c->dc, addr, r->check.port);
	else
		snprintf(buf, cap, "%s %s http://%s%s", c->dc, addr, r->check.host, r->check.path);
}

static void on_tcp_closed(uv_handle_t *hd)
{
	struct hcheck *c = hd->data;
	struct authd_health *h = c->owner;
	h->open_handles--;
	c->phase = HC_IDLE;
	health_maybe_free(h);
}

/* Feed one result to the state machine; a change goes to the workers' byte and the log. */
static void record(struct hcheck *c, bool ok, uint32_t took_ms)
{
	struct authd_health *h = c->owner;
	unsigned fails_before = c->st.fail_run, oks_before = c->st.ok_run;

	if (geo_health_report(&c->st, &c->rep->check, ok, took_ms, uv_now(h->loop))) {
		__atomic_store_n(&h->snap->up[c->rep->id], (uint8_t)c->st.up, __ATOMIC_RELEASE);
		if (c->st.up)
			log_info("health: %s up (%u successes)", c->label, oks_before + 1);
		else
			log_warn("health: %s down (%u failures)", c->label, fails_before + 1);
	} else {
		log_debug("health: %s check %s in %u ms", c->label, ok ? "ok" : "failed", took_ms);
	}
}

/* The attempt is over: record it, close its connection. */
static void attempt_finish(struct hcheck *c, bool ok)
{
	struct authd_health *h = c->owner;
	uint64_t took_ns = uv_hrtime() - c->started_ns;
	uint32_t took_ms = (uint32_t)(took_ns / 1000000u);

	if (c->phase != HC_CONNECT && c->phase != HC_READ)
		return;
	uv_timer_stop(&c->timeout);
	c->phase = HC_CLOSING;
	c->last_s = (double)took_ns / 1e9;
	uv_close((uv_handle_t *)&c->tcp, on_tcp_closed);
	if (h->closing)
		return;
	record(c, ok, took_ms);
}

static void on_timeout(uv_timer_t *t)
{
	attempt_finish(t->data, false);
}

static void on_alloc(uv_handle_t *hd, size_t suggested, uv_buf_t *buf)
{
	struct hcheck *c = hd->data;
	(void)suggested;
	*buf = uv_buf_init(c->rbuf + c->rlen, (unsigned)(sizeof(c->rbuf) - 1 - c->rlen));
}

/* A status line "HTTP/1.x 2xx" (RFC 9112 4) in the first bytes read. */
static int status_verdict(const char *p, size_t n)
{
	static const char pre[] = "HTTP/1.";
	if (n < 12) {
		/* a prefix that already cannot match fails early */
		return strncmp(p, pre, n < 7 ? n : 7) == 0 ? -1 : 0;
	}
	if (memcmp(p, pre, 7) != 0 || p[7] < '0' || p[7] > '9' || p[8] != ' ')
		return 0;
	return p[9] == '2' && p[10] >= '0' && p[10] <= '9' && p[11] >= '0' && p[11] <= '9';
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
	struct hcheck *c = s->data;
	(void)buf;
	if (c->phase != HC_READ)
		return;
	if (nread < 0) {
		attempt_finish(c, status_verdict(c->rbuf, c->rlen) == 1);
		return;
	}
	c->rlen += (size_t)nread;
	int v = status_verdict(c->rbuf, c->rlen);
	if (v >= 0 || c->rlen >= sizeof(c->rbuf) - 1)
		attempt_finish(c, v == 1);
}

static void on_written(uv_write_t *w, int status)
{
	struct hcheck *c = w->data;
	if (status < 0)
		attempt_finish(c, false);
}

static void on_connect(uv_connect_t *req, int status)
{
	struct hcheck *c = req->data;
	if (status == UV_ECANCELED || c->phase != HC_CONNECT)
		return;
	if (status < 0) {
		attempt_finish(c, false);
		return;
	}
	if (c->rep->check.kind == GEO_CHECK_TCP) {
		attempt_finish(c, true);
		return;
	}
	c->phase = HC_READ;
	c->rlen = 0;
	uv_buf_t b = uv_buf_init(c->req, (unsigned)strlen(c->req));
	c->wr.data = c;
	if (uv_write(&c->wr, (uv_stream_t *)&c->tcp, &b, 1, on_written) < 0 ||
	    uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read) < 0)
		attempt_finish(c, false);
}

static void on_tick(uv_timer_t *t)
{
	struct hcheck *c = t->data;
	struct authd_health *h = c->owner;
	const struct geo_check *k = &c->rep->check;
	struct sockaddr_storage ss;

	if (h->closing || c->phase != HC_IDLE)
		return; /* the previous attempt is still closing: skip this tick */
	memset(&ss, 0, sizeof(ss));
	if (k->family == 4) {
		struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
		sin->sin_family = AF_INET;
		sin->sin_port = htons(k->port);
		memcpy(&sin->sin_addr, k->addr, 4);
	} else {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(k->port);
		memcpy(&sin6->sin6_addr, k->addr, 16);
	}
	c->started_ns = uv_hrtime();
	if (uv_tcp_init(h->loop, &c->tcp) < 0) {
		/* no handle to close: count a failure and wait for the next tick */
		record(c, false, 0);
		return;
	}
	c->tcp.data = c;
	h->open_handles++;
	c->phase = HC_CONNECT;
	c->conn.data = c;
	uv_timer_start(&c->timeout, on_timeout, k->timeout_ms ? k->timeout_ms : 1, 0);
	int r = uv_tcp_connect(&c->conn, &c->tcp, (const struct sockaddr *)&ss, on_connect);
	if (r < 0)
		attempt_finish(c, false); /* the callback is never called on error */
}

static bool same_check(const struct geo_replica *a, const struct geo_replica *b)
{
	const struct geo_check *x = &a->check, *y = &b->check;
	return a->family == b->family && memcmp(a->addr, b->addr, 16) == 0 &&
		x->kind == y->kind && x->port == y->port && x->family == y->family &&
		memcmp(x->addr, y->addr, 16) == 0 && strcmp(x->host, y->host) == 0 &&
		strcmp(x->path, y->path) == 0 && x->interval_ms == y->interval_ms &&
		x->timeout_ms == y->timeout_ms && x->rise == y->rise && x->fall == y->fall;
}

int authd_health_start(struct authd_health **out, uv_loop_t *loop, struct authd_geo_snap *snap,
	const struct authd_health *old)
{
	const struct geo_map *m = snap->map;
	unsigned nrep = geo_map_replicas(m), n = 0;
	struct authd_health *h;

	*out = NULL;
	for (unsigned id = 0; id < nrep; id++)
		if (geo_map_replica(m, id)->check.kind != GEO_CHECK_NONE)
			n++;
	if (n == 0)
		return 0;
	if (!(h = calloc(1, sizeof(*h))))
		return -ENOMEM;
	h->checks = calloc(n, sizeof(*h->checks));
	h->by_id = calloc(nrep, sizeof(*h->by_id));
	if (!h->checks || !h->by_id) {
		free(h->checks);
		free(h->by_id);
		free(h);
		return -ENOMEM;
	}
	h->loop = loop;
	h->snap = authd_geo_snap_ref(snap);
	for (unsigned id = 0; id < nrep; id++) {
		const struct geo_replica *r = geo_map_replica(m, id);
		if (r->check.kind == GEO_CHECK_NONE)
			continue;
		struct hcheck *c = &h->checks[h->n++];
		c->owner = h;
		c->rep = r;
		c->dc = geo_map_dc(m, r->dc)->name;
		check_describe(c, c->label, sizeof(c->label));
		geo_health_init(&c->st);
		for (unsigned j = 0; old && j < old->n; j++) {
			if (same_check(old->checks[j].rep, r)) {
				c->st = old->checks[j].st;
				break;
			}
		}
		/* the byte geo_map_carry_health() gave is what answers use */
		c->st.up = __atomic_load_n(&snap->up[id], __ATOMIC_RELAXED) != 0;
		if (r->check.kind == GEO_CHECK_HTTP)
			snprintf(c->req, sizeof(c->req),
				"GET %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n"
				"User-Agent: cairn-auth-health\r\n\r\n",
				r->check.path, r->check.host);
		h->by_id[id] = c;
		uv_timer_init(loop, &c->tick);
		uv_timer_init(loop, &c->timeout);
		c->tick.data = c->timeout.data = c;
		h->open_handles += 2;
		uint32_t iv = r->check.interval_ms ? r->check.interval_ms : 1;
		/* a random first tick in [0, interval) spreads checks of a big map */
		uv_timer_start(&c->tick, on_tick, dns_rand_uniform(iv), iv);
	}
	*out = h;
	return 0;
}

void authd_health_close(struct authd_health *h)
{
	if (!h || h->closing)
		return;
	h->closing = true;
	for (unsigned i = 0; i < h->n; i++) {
		struct hcheck *c = &h->checks[i];
		if (c->phase == HC_CONNECT || c->phase == HC_READ) {
			uv_timer_stop(&c->timeout);
			c->phase = HC_CLOSING;
			uv_close((uv_handle_t *)&c->tcp, on_tcp_closed);
		}
		uv_close((uv_handle_t *)&c->tick, on_handle_closed);
		uv_close((uv_handle_t *)&c->timeout, on_handle_closed);
	}
	health_maybe_free(h);
}

const struct geo_health *authd_health_state(const struct authd_health *h, unsigned id,
	double *last_s)
{
	if (!h || id >= geo_map_replicas(h->snap->map) || !h->by_id[id])
		return NULL;
	if (last_s)
		*last_s = h->by_id[id]->last_s;
	return &h->by_id[id]->st;
}
