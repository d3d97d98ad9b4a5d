/*
 * authd_xfr.c -- replication on libuv, the common part: the UDP sockets (one
 * per source address) and what arrives on them, start and close. The
 * secondary side is authd_xfr_sec.c, NOTIFY authd_xfr_notify.c, AXFR out
 * authd_xfr_out.c; the decisions are authoritative/core/auth_xfr.c's. See
 * authd_xfr.h.
 */
#include "authd_xfr.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <netinet/in.h>

#include "authd_xfr_impl.h"
#include "dns_err.h"
#include "dns_log.h"
#include "dns_name.h"
#include "dns_rand.h"

/* ---- small helpers --------------------------------------------------------------- */

uint16_t xfr_new_id(void)
{
	return (uint16_t)dns_rand_u32();
}

/* Same IP address (and port when with_port). */
bool xfr_sa_eq(const struct sockaddr *a, const struct sockaddr *b, bool with_port)
{
	if (a->sa_family == AF_INET && b->sa_family == AF_INET) {
		const struct sockaddr_in *x = (const void *)a, *y = (const void *)b;
		return x->sin_addr.s_addr == y->sin_addr.s_addr &&
			(!with_port || x->sin_port == y->sin_port);
	}
	if (a->sa_family == AF_INET6 && b->sa_family == AF_INET6) {
		const struct sockaddr_in6 *x = (const void *)a, *y = (const void *)b;
		return memcmp(&x->sin6_addr, &y->sin6_addr, 16) == 0 &&
			(!with_port || x->sin6_port == y->sin6_port);
	}
	/* An IPv4-mapped peer on an IPv6 socket against an IPv4 address. */
	if (a->sa_family == AF_INET6 && b->sa_family == AF_INET) {
		const struct sockaddr_in6 *x = (const void *)a;
		const struct sockaddr_in *y = (const void *)b;
		static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
		return memcmp(x->sin6_addr.s6_addr, mapped, 12) == 0 &&
			memcmp(x->sin6_addr.s6_addr + 12, &y->sin_addr, 4) == 0 &&
			(!with_port || x->sin6_port == y->sin_port);
	}
	if (a->sa_family == AF_INET && b->sa_family == AF_INET6)
		return xfr_sa_eq(b, a, with_port);
	return false;
}

void xfr_free(struct authd_xfr *x)
{
	uv_mutex_destroy(&x->mu);
	free(x->sec);
	free(x->jobs);
	free(x->udps);
	free(x);
}

static void handle_closed(uv_handle_t *h)
{
	struct authd_xfr *x = ((struct hdata *)h->data)->x;

	require(x->handles > 0);
	if (--x->handles == 0 && x->closing)
		xfr_free(x);
}

static void close_handle(uv_handle_t *h)
{
	if (!uv_is_closing(h))
		uv_close(h, handle_closed);
}

static bool sa_is_loopback(const struct sockaddr *sa)
{
	if (sa->sa_family == AF_INET)
		return (ntohl(((const struct sockaddr_in *)sa)->sin_addr.s_addr) >> 24) == 127;
	return sa->sa_family == AF_INET6 &&
		IN6_IS_ADDR_LOOPBACK(&((const struct sockaddr_in6 *)sa)->sin6_addr);
}

bool xfr_sa_is_wildcard(const struct sockaddr *sa)
{
	if (sa->sa_family == AF_INET)
		return ((const struct sockaddr_in *)sa)->sin_addr.s_addr == htonl(INADDR_ANY);
	return sa->sa_family == AF_INET6 &&
		IN6_IS_ADDR_UNSPECIFIED(&((const struct sockaddr_in6 *)sa)->sin6_addr);
}

/*
 * The source address for talking to dest: a `listen` address of the same
 * family, so that the peer's ACLs (allow-notify, provide-xfr, acl) can name
 * the address it knows us by -- a loopback one for a loopback peer, else the
 * first one that is neither loopback nor a wildcard; the wildcard (the kernel
 * chooses) when there is none. Port 0.
 */
void xfr_pick_source(const struct authd_config *cfg, const struct sockaddr *dest,
	struct sockaddr_storage *out)
{
	bool want_loop = sa_is_loopback(dest);

	memset(out, 0, sizeof(*out));
	out->ss_family = dest->sa_family;
	for (size_t i = 0; i < cfg->listen.n; i++) {
		const struct sockaddr *a = (const struct sockaddr *)
			&DNS_CONFIG_VEC_AT(&cfg->listen, struct sockaddr_storage, i);
		if (a->sa_family != dest->sa_family || xfr_sa_is_wildcard(a) ||
		    sa_is_loopback(a) != want_loop)
			continue;
		memcpy(out, a, a->sa_family == AF_INET ? sizeof(struct sockaddr_in) :
			sizeof(struct sockaddr_in6));
		if (a->sa_family == AF_INET)
			((struct sockaddr_in *)out)->sin_port = 0;
		else
			((struct sockaddr_in6 *)out)->sin6_port = 0;
		return;
	}
}

static uv_udp_t *udp_for(struct authd_xfr *x, const struct sockaddr *to)
{
	struct sockaddr_storage src;

	xfr_pick_source(x->cfg, to, &src);
	for (unsigned i = 0; i < x->n_udps; i++)
		if (xfr_sa_eq((const struct sockaddr *)&x->udps[i].src,
			  (const struct sockaddr *)&src, true) &&
		    x->udps[i].src.ss_family == src.ss_family)
			return &x->udps[i].h;
	return NULL;
}

/* A UDP message in flight: the request and a copy of the bytes. */
struct udp_msg {
	uv_udp_send_t req;
	uint8_t data[];
};

static void udp_sent(uv_udp_send_t *req, int status)
{
	(void)status;
	free(req->data);
}

int xfr_udp_send(struct authd_xfr *x, const struct sockaddr *to, const uint8_t *msg,
	size_t len)
{
	uv_udp_t *u = udp_for(x, to);
	struct udp_msg *s;
	int r;

	if (!u)
		return -ENOTCONN; /* its socket could not be opened at start */
	s = malloc(sizeof(*s) + len);
	if (!s)
		return -ENOMEM;
	memcpy(s->data, msg, len);
	s->req.data = s;
	uv_buf_t b = uv_buf_init((char *)s->data, (unsigned)len);
	r = uv_udp_send(&s->req, u, &b, 1, to, udp_sent);
	if (r < 0)
		free(s);
	return r;
}

void xfr_reply_rcode(struct dns_listen_req *req, const struct dns_query *q, uint8_t rcode)
{
	uint8_t buf[DNS_HEADER_LEN + DNS_NAME_MAX + 4];
	int len = auth_xfr_reply_write(buf, sizeof(buf), q, rcode);
	if (len > 0)
		dns_listen_reply(req, buf, (size_t)len);
}

/* ---- UDP replies ---------------------------------------------------------------------------- */

static void udp_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
	struct authd_xfr *x = ((struct hdata *)h->data)->x;
	(void)suggested;
	buf->base = (char *)x->rbuf;
	buf->len = sizeof(x->rbuf);
}

static void udp_recv(uv_udp_t *h, ssize_t nread, const uv_buf_t *buf,
	const struct sockaddr *from, unsigned flags)
{
	struct authd_xfr *x = ((struct hdata *)h->data)->x;
	const uint8_t *msg = (const uint8_t *)buf->base;
	struct dns_header hd;
	(void)flags;

	if (nread <= 0 || !from || x->closing)
		return;
	if (dns_header_parse(msg, (size_t)nread, &hd) < 0 || !(hd.flags & DNS_FLAG_QR))
		return;
	if (DNS_OPCODE(hd.flags) == DNS_OP_NOTIFY) {
		for (unsigned i = 0; i < x->n_jobs; i++) {
			struct notify_job *j = &x->jobs[i];
			if (j->active && j->id == hd.id &&
			    xfr_sa_eq(from, (const struct sockaddr *)&j->to, true))
				xfr_notify_reply(j, msg, (size_t)nread);
		}
		return;
	}
	for (unsigned i = 0; i < x->n_sec; i++) {
		struct sec_zone *sz = &x->sec[i];
		if (sz->r.state == AUTH_REFRESH_SOA && sz->qid == hd.id &&
		    xfr_sa_eq(from, (const struct sockaddr *)&sz->conf->primary, true)) {
			xfr_soa_reply(sz, msg, (size_t)nread);
			return;
		}
	}
}

/* ---- start and close ------------------------------------------------------------------------- */

/*
 * Make sure a UDP socket exists for the source address of talking to dest
 * (see xfr_pick_source()). Returns 0 or a negative errno (logged).
 */
static int udp_ensure(struct authd_xfr *x, const struct sockaddr *dest)
{
	struct xfr_udp *u;
	char sa[64];
	int r;

	if (udp_for(x, dest))
		return 0;
	u = &x->udps[x->n_udps];
	xfr_pick_source(x->cfg, dest, &u->src);
	u->hd.x = x;
	u->hd.owner = u;
	if ((r = uv_udp_init_ex(x->loop, &u->h, (unsigned)dest->sa_family)) < 0)
		goto fail;
	x->handles++;
	u->h.data = &u->hd;
	x->n_udps++;
	if ((r = uv_udp_bind(&u->h, (const struct sockaddr *)&u->src,
		     dest->sa_family == AF_INET6 ? UV_UDP_IPV6ONLY : 0)) < 0 ||
	    (r = uv_udp_recv_start(&u->h, udp_alloc, udp_recv)) < 0) {
		/* Keep the entry (closed at the end); sends through it fail. */
		uv_udp_recv_stop(&u->h);
		goto fail;
	}
	return 0;
fail:
	log_err("replication: cannot open a UDP socket on %s: %s",
		xfr_addr_text((const struct sockaddr *)&u->src, sa, sizeof(sa)), uv_strerror(r));
	return r;
}

/* x with room for every secondary zone, NOTIFY job and UDP socket of cfg. */
static int xfr_new(const struct authd_xfr_host *host, struct authd_xfr **out)
{
	const struct authd_config *cfg = host->cfg;
	struct authd_xfr *x;
	unsigned n_sec = 0, n_jobs = 0;
	int r;

	x = calloc(1, sizeof(*x));
	if (!x)
		return -ENOMEM;
	struct hdata *self = &x->hd;
	self->x = x;
	self->owner = x;
	x->host = *host;
	x->loop = host->loop;
	x->cfg = cfg;
	if ((r = uv_mutex_init(&x->mu)) < 0) {
		free(x);
		return r;
	}
	for (unsigned i = 0; i < cfg->n_zones; i++) {
		n_sec += cfg->zones[i].has_primary;
		n_jobs += cfg->zones[i].n_notify;
	}
	x->sec = calloc(n_sec + 1, sizeof(*x->sec));
	x->jobs = calloc(n_jobs + 1, sizeof(*x->jobs));
	x->udps = calloc(n_sec + n_jobs + 1, sizeof(*x->udps));
	if (!x->sec || !x->jobs || !x->udps) {
		xfr_free(x);
		return -ENOMEM;
	}
	*out = x;
	return 0;
}

/* A NOTIFY job for each `notify` address of zone c, with its timer and socket. */
static void add_notify_jobs(struct authd_xfr *x, const struct authd_zone_conf *c)
{
	for (unsigned k = 0; k < c->n_notify; k++) {
		struct notify_job *j = &x->jobs[x->n_jobs];
		struct hdata *hd = &j->hd;
		hd->x = x;
		hd->owner = j;
		j->x = x;
		j->conf = c;
		j->to = c->notify[k];
		uv_timer_init(x->loop, &j->timer);
		x->handles++;
		j->timer.data = hd;
		x->n_jobs++;
		udp_ensure(x, (const struct sockaddr *)&j->to); /* failure logged */
	}
}

/* The secondary zone c: its timers, its socket, its refresh state from the copy
 * served now (zs), if any. */
static void add_secondary(struct authd_xfr *x, const struct authd_zone_conf *c,
	const struct auth_zoneset *zs)
{
	struct sec_zone *sz = &x->sec[x->n_sec];
	struct hdata *hd = &sz->hd;
	hd->x = x;
	hd->owner = sz;
	sz->x = x;
	sz->conf = c;
	uv_timer_init(x->loop, &sz->timer);
	uv_timer_init(x->loop, &sz->io_timer);
	x->handles += 2;
	sz->timer.data = hd;
	sz->io_timer.data = hd;
	x->n_sec++;
	udp_ensure(x, (const struct sockaddr *)&c->primary); /* failure logged */

	struct auth_zone *z = zs ? auth_zoneset_get(zs, c->origin) : NULL;
	char pa[64];
	xfr_addr_text((const struct sockaddr *)&c->primary, pa, sizeof(pa));
	if (z) {
		struct auth_soa soa;
		uint64_t age = xfr_keep_age_ms(c);
		auth_zone_soa(z, &soa);
		auth_refresh_init(&sz->r, uv_now(x->loop), &soa, age);
		log_info("zone %s: secondary of %s, serving kept serial %u (%" PRIu64
			" s old)", c->origin_text, pa, soa.serial, age / 1000);
	} else {
		auth_refresh_init(&sz->r, uv_now(x->loop), NULL, 0);
		log_info("zone %s: secondary of %s, no copy yet", c->origin_text, pa);
	}
}

int authd_xfr_start(const struct authd_xfr_host *host, struct authd_xfr **out)
{
	const struct authd_config *cfg = host->cfg;
	struct authd_xfr *x;
	struct auth_zoneset *zs;
	int r;

	if ((r = xfr_new(host, &x)) < 0)
		return r;
	if ((r = uv_async_init(x->loop, &x->async, xfr_async_cb)) < 0) {
		authd_xfr_close(x);
		return r;
	}
	x->handles++;
	x->async.data = &x->hd;

	zs = x->host.zones(x->host.ctx);
	for (unsigned i = 0; i < cfg->n_zones; i++) {
		const struct authd_zone_conf *c = &cfg->zones[i];
		add_notify_jobs(x, c);
		if (c->has_primary)
			add_secondary(x, c, zs);
	}
	auth_zoneset_unref(zs);
	for (unsigned i = 0; i < x->n_sec; i++)
		xfr_sec_drive(&x->sec[i], AUTH_REFRESH_NONE);
	*out = x;
	return 0;
}

void authd_xfr_close(struct authd_xfr *x)
{
	if (!x || x->closing)
		return;
	x->closing = true;
	for (unsigned i = 0; i < x->n_sec; i++) {
		struct sec_zone *sz = &x->sec[i];
		if (sz->t)
			xfr_tcp_abandon(sz->t);
		close_handle((uv_handle_t *)&sz->timer);
		close_handle((uv_handle_t *)&sz->io_timer);
	}
	for (unsigned i = 0; i < x->n_jobs; i++)
		close_handle((uv_handle_t *)&x->jobs[i].timer);
	for (unsigned i = 0; i < x->n_udps; i++)
		close_handle((uv_handle_t *)&x->udps[i].h);
	if (x->async.loop)
		close_handle((uv_handle_t *)&x->async);
	if (x->handles == 0)
		xfr_free(x);
}

