/*
 * authd_xfr.c -- replication on libuv: AXFR and NOTIFY out, the secondary side
 * (SOA checks over UDP, AXFR in over TCP, kept copy on disk). The decisions are
 * made by authoritative/core/auth_xfr.c; see authd_xfr.h.
 */
#include "authd_xfr.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <netinet/in.h>

#include "auth_xfr.h"
#include "dns_config.h"
#include "dns_err.h"
#include "dns_log.h"
#include "dns_name.h"
#include "dns_rand.h"

#define SOA_TIMEOUT_MS 2000     /* wait for a SOA answer, per try */
#define SOA_TRIES 3             /* SOA queries sent before the check fails */
#define AXFR_IDLE_MS 15000      /* a transfer with no data this long fails */
#define NOTIFY_TIMEOUT_MS 1000  /* first NOTIFY retry; doubles each time */
#define NOTIFY_TRIES 5          /* NOTIFYs sent before giving up (RFC 1996 3.6) */
#define AXFR_MAX_BYTES (1024u * 1024 * 1024) /* a transfer larger than this fails */
#define TCP_BUF (2 + DNS_MSG_MAX) /* one framed message */
#define TEXT_LINE_MAX (2 * 65535 + 4096) /* one record in presentation form */

struct xfr_tcp;
struct authd_xfr;

/*
 * What every handle's data points at: the close callback needs x, the timer
 * and socket callbacks their owner (a sec_zone, a notify_job or x itself).
 */
struct hdata {
	struct authd_xfr *x;
	void *owner;
};

/* One zone configured with a primary. */
struct sec_zone {
	struct authd_xfr *x;
	struct hdata hd;        /* data of its timers */
	const struct authd_zone_conf *conf; /* its configuration (lives in the server) */
	struct auth_refresh r;  /* the refresh timers (core state machine) */
	uv_timer_t timer;       /* wakes up at auth_refresh_next() */
	uv_timer_t io_timer;    /* timeout of the SOA query or the transfer running */
	uint16_t qid;           /* ID of the outstanding SOA query */
	unsigned tries;         /* SOA queries sent in this check */
	struct xfr_tcp *t;      /* the transfer running, NULL if none */
	bool notified;          /* a NOTIFY arrived on a worker (guarded by x->mu) */
};

/* NOTIFYs of one zone to one secondary. */
struct notify_job {
	struct authd_xfr *x;
	struct hdata hd;       /* data of its timer */
	const struct authd_zone_conf *conf; /* the zone */
	struct sockaddr_storage to;         /* the secondary */
	uv_timer_t timer;      /* retry timer */
	bool active;           /* a NOTIFY is waiting for its reply */
	uint16_t id;           /* its ID */
	unsigned tries;        /* sent so far */
	uint32_t serial;       /* serial announced */
	uint8_t msg[1400];     /* the message (question + SOA) */
	size_t len;
};

/* One AXFR in progress over TCP (heap: it outlives its zone's interest in it). */
struct xfr_tcp {
	struct authd_xfr *x;
	struct sec_zone *sz;   /* owner; NULL once abandoned (closing) */
	uv_tcp_t tcp;
	uv_connect_t conn;
	uv_write_t wr;
	uint8_t frame[2 + 512]; /* the AXFR query with its length prefix */
	uint8_t *buf;          /* received bytes not yet consumed (TCP_BUF) */
	size_t len;
	size_t bytes;          /* total received */
	struct auth_axfr_in in; /* the core consumer */
	bool in_ready;         /* in was initialised */
};

/* A UDP socket for SOA queries and NOTIFYs leaving from one source address. */
struct xfr_udp {
	struct hdata hd;              /* handle data: {x, this} */
	uv_udp_t h;
	struct sockaddr_storage src;  /* bound address (port 0) */
};

struct authd_xfr {
	struct authd_xfr_host host; /* the server's callbacks */
	uv_loop_t *loop;
	const struct authd_config *cfg;
	struct sec_zone *sec;  /* zones with a primary */
	unsigned n_sec;
	struct notify_job *jobs; /* every (zone, notify address) pair */
	unsigned n_jobs;
	struct xfr_udp *udps;  /* one UDP socket per source address in use */
	unsigned n_udps;
	uv_async_t async;      /* workers -> main loop: NOTIFYs received */
	uv_mutex_t mu;         /* guards sec[].notified */
	struct hdata hd;       /* data of async */
	unsigned handles;      /* handles open (each close callback drops one) */
	bool closing;
	uint8_t rbuf[DNS_MSG_MAX]; /* UDP receive buffer */
};

/* ---- small helpers --------------------------------------------------------------- */

static uint16_t new_id(void)
{
	return (uint16_t)dns_rand_u32();
}

static const char *addr_text(const struct sockaddr *sa, char *buf, size_t size)
{
	return dns_addr_format(sa, buf, size);
}

/* Same IP address (and port when with_port). */
static bool sa_eq(const struct sockaddr *a, const struct sockaddr *b, bool with_port)
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
		return sa_eq(b, a, with_port);
	return false;
}

static void xfr_free(struct authd_xfr *x)
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

static bool sa_is_wildcard(const struct sockaddr *sa)
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
static void pick_source(const struct authd_config *cfg, const struct sockaddr *dest,
	struct sockaddr_storage *out)
{
	bool want_loop = sa_is_loopback(dest);

	memset(out, 0, sizeof(*out));
	out->ss_family = dest->sa_family;
	for (size_t i = 0; i < cfg->listen.n; i++) {
		const struct sockaddr *a = (const struct sockaddr *)
			&DNS_CONFIG_VEC_AT(&cfg->listen, struct sockaddr_storage, i);
		if (a->sa_family != dest->sa_family || sa_is_wildcard(a) ||
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

	pick_source(x->cfg, to, &src);
	for (unsigned i = 0; i < x->n_udps; i++)
		if (sa_eq((const struct sockaddr *)&x->udps[i].src,
			  (const struct sockaddr *)&src, true) &&
		    x->udps[i].src.ss_family == src.ss_family)
			return &x->udps[i].h;
	return NULL;
}

/* A UDP message in flight: the request and a copy of the bytes. */
struct udp_send {
	uv_udp_send_t req;
	uint8_t data[];
};

static void udp_sent(uv_udp_send_t *req, int status)
{
	(void)status;
	free(req->data);
}

static int udp_send(struct authd_xfr *x, const struct sockaddr *to, const uint8_t *msg,
	size_t len)
{
	uv_udp_t *u = udp_for(x, to);
	struct udp_send *s;
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

/* ---- kept copy ------------------------------------------------------------------------ */

/*
 * Write the zone to FILE.tmp in master-file form, then rename it over FILE, so
 * a crash leaves the old copy or the new one, never half of one.
 */
static int keep_write(const struct sec_zone *sz, const struct auth_zone *z,
	const char *from)
{
	const char *path = sz->conf->file;
	char tmp[4096], *line = NULL;
	struct auth_zone_iter it;
	struct auth_rr_view rr;
	FILE *f = NULL;
	int r = 0;
	bool first = true;

	if (!path)
		return 0;
	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= sizeof(tmp))
		return -ENAMETOOLONG;
	line = malloc(TEXT_LINE_MAX);
	if (!line)
		return -ENOMEM;
	f = fopen(tmp, "w");
	if (!f) {
		r = -errno;
		goto out;
	}
	fprintf(f, "; zone %s serial %u, transferred from %s; kept by cairn-auth\n",
		sz->conf->origin_text, auth_zone_serial(z), from);
	fprintf(f, "$ORIGIN %s\n", sz->conf->origin_text);
	auth_zone_iter_init(&it, z);
	while (auth_zone_iter_next(&it, &rr)) {
		if (rr.type == DNS_T_SOA && !first)
			continue; /* the iterator's closing SOA */
		first = false;
		int n = auth_xfr_rr_text(&rr, line, TEXT_LINE_MAX);
		if (n < 0) {
			r = n;
			goto out;
		}
		if (fputs(line, f) == EOF) {
			r = -errno;
			goto out;
		}
	}
	if (fflush(f) != 0 || fsync(fileno(f)) != 0) {
		r = -errno;
		goto out;
	}
	if (fclose(f) != 0) {
		f = NULL;
		r = -errno;
		goto out;
	}
	f = NULL;
	if (rename(tmp, path) != 0)
		r = -errno;
out:
	if (f)
		fclose(f);
	if (r < 0)
		unlink(tmp);
	free(line);
	return r;
}

/* How old the kept copy is: now minus its file's modification time. */
static uint64_t keep_age_ms(const struct authd_zone_conf *c)
{
	struct stat st;
	struct timespec now;

	if (!c->file || stat(c->file, &st) != 0 || clock_gettime(CLOCK_REALTIME, &now) != 0)
		return 0;
	int64_t ms = ((int64_t)now.tv_sec - st.st_mtim.tv_sec) * 1000 +
		(now.tv_nsec - st.st_mtim.tv_nsec) / 1000000;
	return ms > 0 ? (uint64_t)ms : 0;
}

/* ---- secondary side: driving the refresh state machine ------------------------------- */

static void sec_drive(struct sec_zone *sz, enum auth_refresh_action a);
static int soa_start(struct sec_zone *sz);
static int axfr_start(struct sec_zone *sz);
static void xfr_tcp_abandon(struct xfr_tcp *t);

static void sec_timer_cb(uv_timer_t *h)
{
	struct sec_zone *sz = ((struct hdata *)h->data)->owner;
	sec_drive(sz, AUTH_REFRESH_NONE);
}

/* Report a failed check and carry on. */
static void sec_fail(struct sec_zone *sz)
{
	uv_timer_stop(&sz->io_timer);
	if (sz->t)
		xfr_tcp_abandon(sz->t);
	auth_refresh_on_fail(&sz->r, uv_now(sz->x->loop));
	sec_drive(sz, AUTH_REFRESH_NONE);
}

/*
 * Do what the state machine asks until it asks nothing more, then sleep until
 * its next deadline.
 */
static void sec_drive(struct sec_zone *sz, enum auth_refresh_action a)
{
	struct authd_xfr *x = sz->x;
	char pa[64];

	if (x->closing)
		return;
	for (;;) {
		uint64_t now = uv_now(x->loop);
		if (a == AUTH_REFRESH_NONE)
			a = auth_refresh_poll(&sz->r, now);
		if (a == AUTH_REFRESH_NONE)
			break;
		switch (a) {
		case AUTH_REFRESH_EXPIRE:
			/* RFC 1035 3.3.13: stale data is worse than none. */
			log_err("zone %s: no good check of primary %s for %u s (EXPIRE)",
				sz->conf->origin_text,
				addr_text((const struct sockaddr *)&sz->conf->primary, pa,
					sizeof(pa)), sz->r.expire);
			x->host.expire_zone(x->host.ctx, sz->conf->origin);
			break;
		case AUTH_REFRESH_SEND_SOA:
			if (soa_start(sz) < 0)
				auth_refresh_on_fail(&sz->r, now);
			break;
		case AUTH_REFRESH_START_AXFR:
			if (axfr_start(sz) < 0)
				auth_refresh_on_fail(&sz->r, now);
			break;
		default:
			break;
		}
		a = AUTH_REFRESH_NONE;
	}
	uint64_t next = auth_refresh_next(&sz->r), now = uv_now(x->loop);
	if (next == UINT64_MAX) {
		uv_timer_stop(&sz->timer);
		return;
	}
	uv_timer_start(&sz->timer, sec_timer_cb, next > now ? next - now : 0, 0);
}

/* ---- SOA query ---------------------------------------------------------------------------- */

static void io_timeout_cb(uv_timer_t *h);

static int soa_send(struct sec_zone *sz)
{
	uint8_t msg[512];
	int len = auth_xfr_soa_query_write(msg, sizeof(msg), sz->qid, sz->conf->origin);
	if (len < 0)
		return len;
	sz->tries++;
	int r = udp_send(sz->x, (const struct sockaddr *)&sz->conf->primary, msg, (size_t)len);
	if (r < 0)
		return r;
	uv_timer_start(&sz->io_timer, io_timeout_cb, SOA_TIMEOUT_MS, 0);
	return 0;
}

static int soa_start(struct sec_zone *sz)
{
	char pa[64];
	int r;

	sz->qid = new_id();
	sz->tries = 0;
	if ((r = soa_send(sz)) < 0)
		log_warn("zone %s: cannot send a SOA query to %s: %s", sz->conf->origin_text,
			addr_text((const struct sockaddr *)&sz->conf->primary, pa, sizeof(pa)),
			dns_strerror(r));
	return r;
}

/* A SOA answer from the primary (already matched by ID and address). */
static void soa_reply(struct sec_zone *sz, const uint8_t *msg, size_t len)
{
	char pa[64], rc[16];
	uint32_t serial;
	uint8_t rcode = 0;
	const struct sockaddr *p = (const struct sockaddr *)&sz->conf->primary;

	int r = auth_xfr_soa_reply_parse(msg, len, sz->qid, sz->conf->origin, &serial, &rcode);
	if (r == DNS_E_FORMAT)
		return; /* not an answer to our query: keep waiting */
	uv_timer_stop(&sz->io_timer);
	addr_text(p, pa, sizeof(pa));
	if (r < 0) {
		log_warn("zone %s: primary %s gave no SOA (%s%s)", sz->conf->origin_text, pa,
			dns_rcode_name(rcode, rc), rcode == 0 ? ", not authoritative" : "");
		sec_fail(sz);
		return;
	}
	uint64_t now = uv_now(sz->x->loop);
	if (sz->r.have_zone && auth_serial_cmp(serial, sz->r.serial) <= 0) {
		log_info("zone %s: primary %s has serial %u, ours is %u: up to date",
			sz->conf->origin_text, pa, serial, sz->r.serial);
		/* Record the good check on the kept copy (its age counts against
		 * EXPIRE after a restart). */
		if (sz->conf->file)
			utimes(sz->conf->file, NULL);
	} else if (sz->r.have_zone) {
		log_info("zone %s: primary %s has serial %u, ours is %u: transferring",
			sz->conf->origin_text, pa, serial, sz->r.serial);
	}
	sec_drive(sz, auth_refresh_on_soa(&sz->r, now, serial));
}

/* ---- AXFR in -------------------------------------------------------------------------------- */

static void tcp_closed(uv_handle_t *h)
{
	struct xfr_tcp *t = h->data;
	struct authd_xfr *x = t->x;

	free(t->buf);
	free(t);
	require(x->handles > 0);
	if (--x->handles == 0 && x->closing)
		xfr_free(x);
}

/* Detach the transfer from its zone and close the connection. */
static void xfr_tcp_abandon(struct xfr_tcp *t)
{
	if (t->sz) {
		t->sz->t = NULL;
		t->sz = NULL;
	}
	if (t->in_ready) {
		auth_axfr_in_deinit(&t->in);
		t->in_ready = false;
	}
	if (!uv_is_closing((uv_handle_t *)&t->tcp))
		uv_close((uv_handle_t *)&t->tcp, tcp_closed);
}

static void axfr_fail(struct xfr_tcp *t, const char *what, const char *detail)
{
	struct sec_zone *sz = t->sz;
	char pa[64];

	if (!sz)
		return;
	log_warn("zone %s: AXFR from %s failed: %s%s%s", sz->conf->origin_text,
		addr_text((const struct sockaddr *)&sz->conf->primary, pa, sizeof(pa)), what,
		detail ? ": " : "", detail ? detail : "");
	sec_fail(sz);
}

/* The closing SOA arrived: build, check, serve and keep the new copy. */
static void axfr_done(struct xfr_tcp *t)
{
	struct sec_zone *sz = t->sz;
	struct authd_xfr *x = sz->x;
	struct auth_zone *z = NULL;
	char err[2048], pa[64];
	unsigned msgs = t->in.msgs;
	size_t bytes = t->bytes;
	int r;

	addr_text((const struct sockaddr *)&sz->conf->primary, pa, sizeof(pa));
	r = auth_axfr_in_finish(&t->in, &z, err, sizeof(err));
	uv_timer_stop(&sz->io_timer);
	xfr_tcp_abandon(t);
	if (r < 0) {
		log_err("zone %s: AXFR from %s rejected: %s", sz->conf->origin_text, pa,
			r == DNS_E_ZONE ? err : dns_strerror(r));
		sec_fail(sz);
		return;
	}
	uint32_t serial = auth_zone_serial(z);
	if (sz->r.have_zone && auth_serial_cmp(serial, sz->r.serial) <= 0) {
		log_warn("zone %s: AXFR from %s gave serial %u, not newer than ours (%u): "
			"ignored", sz->conf->origin_text, pa, serial, sz->r.serial);
		auth_zone_unref(z);
		sec_fail(sz);
		return;
	}
	log_info("zone %s: serial %u from %s (%zu records, %u messages, %zu bytes)",
		sz->conf->origin_text, serial, pa, auth_zone_rr_count(z), msgs, bytes);
	/* Kept on disk before it is served: whatever clients have seen survives
	 * a crash right after. A copy that cannot be written is still served. */
	if ((r = keep_write(sz, z, pa)) < 0)
		log_err("zone %s: cannot keep a copy in %s: %s", sz->conf->origin_text,
			sz->conf->file, dns_strerror(r));
	else if (sz->conf->file)
		log_info("zone %s: copy kept in %s", sz->conf->origin_text, sz->conf->file);
	if ((r = x->host.replace_zone(x->host.ctx, z)) < 0) {
		log_err("zone %s: cannot serve serial %u: %s", sz->conf->origin_text, serial,
			dns_strerror(r));
		auth_zone_unref(z);
		sec_fail(sz);
		return;
	}
	struct auth_soa soa;
	auth_zone_soa(z, &soa);
	auth_refresh_on_axfr(&sz->r, uv_now(x->loop), &soa);
	authd_xfr_zone_changed(x, z);
	auth_zone_unref(z);
	sec_drive(sz, AUTH_REFRESH_NONE);
}

static void tcp_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
	struct xfr_tcp *t = h->data;
	(void)suggested;
	buf->base = (char *)t->buf + t->len;
	buf->len = TCP_BUF - t->len;
}

static void tcp_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
	struct xfr_tcp *t = s->data;
	size_t off = 0;
	(void)buf;

	if (!t->sz)
		return;
	if (nread < 0) {
		axfr_fail(t, nread == UV_EOF ? "connection closed before the end" : "read",
			nread == UV_EOF ? NULL : uv_strerror((int)nread));
		return;
	}
	t->len += (size_t)nread;
	t->bytes += (size_t)nread;
	if (t->bytes > AXFR_MAX_BYTES) {
		/* Everything bounded: a primary cannot make us buffer without end. */
		axfr_fail(t, "transfer larger than 1 GiB", NULL);
		return;
	}
	uv_timer_again(&t->sz->io_timer);
	/* RFC 1035 4.2.2: each message is preceded by its two-byte length. */
	while (t->len - off >= 2) {
		size_t fl = (size_t)t->buf[off] << 8 | t->buf[off + 1];
		if (t->len - off - 2 < fl)
			break;
		int r = auth_axfr_in_feed(&t->in, t->buf + off + 2, fl);
		off += 2 + fl;
		if (r < 0) {
			char detail[64];
			if (r == DNS_E_UNSUPPORTED) {
				char rc[16];
				snprintf(detail, sizeof(detail), "%s",
					dns_rcode_name(t->in.rcode, rc));
			}
			axfr_fail(t, t->in.why ? t->in.why : dns_strerror(r),
				r == DNS_E_UNSUPPORTED ? detail : NULL);
			return;
		}
		if (r == 1) {
			axfr_done(t);
			return;
		}
	}
	memmove(t->buf, t->buf + off, t->len - off);
	t->len -= off;
}

static void tcp_written(uv_write_t *req, int status)
{
	struct xfr_tcp *t = req->data;
	if (status < 0 && t->sz)
		axfr_fail(t, "cannot send the query", uv_strerror(status));
}

static void tcp_connected(uv_connect_t *req, int status)
{
	struct xfr_tcp *t = req->data;
	int r;

	if (!t->sz)
		return;
	if (status < 0) {
		axfr_fail(t, "cannot connect", uv_strerror(status));
		return;
	}
	size_t qlen = (size_t)t->frame[0] << 8 | t->frame[1];
	uv_buf_t b = uv_buf_init((char *)t->frame, (unsigned)(2 + qlen));
	t->wr.data = t;
	if ((r = uv_write(&t->wr, (uv_stream_t *)&t->tcp, &b, 1, tcp_written)) < 0 ||
	    (r = uv_read_start((uv_stream_t *)&t->tcp, tcp_alloc, tcp_read)) < 0)
		axfr_fail(t, "cannot send the query", uv_strerror(r));
}

static int axfr_start(struct sec_zone *sz)
{
	struct authd_xfr *x = sz->x;
	const struct sockaddr *p = (const struct sockaddr *)&sz->conf->primary;
	struct xfr_tcp *t;
	char pa[64];
	uint16_t id = new_id();
	int r, len;

	addr_text(p, pa, sizeof(pa));
	t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	t->x = x;
	t->buf = malloc(TCP_BUF);
	len = auth_xfr_axfr_query_write(t->frame + 2, sizeof(t->frame) - 2, id,
		sz->conf->origin);
	if (!t->buf || len < 0 || auth_axfr_in_init(&t->in, dns_mm_std(), sz->conf->origin,
		id) < 0) {
		auth_axfr_in_deinit(&t->in);
		free(t->buf);
		free(t);
		return -ENOMEM;
	}
	t->in_ready = true;
	t->frame[0] = (uint8_t)(len >> 8);
	t->frame[1] = (uint8_t)len;
	if ((r = uv_tcp_init(x->loop, &t->tcp)) < 0) {
		auth_axfr_in_deinit(&t->in);
		free(t->buf);
		free(t);
		return r;
	}
	x->handles++;
	t->tcp.data = t;
	t->conn.data = t;
	t->sz = sz;
	sz->t = t;
	struct sockaddr_storage src;
	pick_source(x->cfg, p, &src);
	if (!sa_is_wildcard((const struct sockaddr *)&src) &&
	    (r = uv_tcp_bind(&t->tcp, (const struct sockaddr *)&src, 0)) < 0)
		goto fail;
	if ((r = uv_tcp_connect(&t->conn, &t->tcp, p, tcp_connected)) < 0)
		goto fail;
	uv_timer_start(&sz->io_timer, io_timeout_cb, AXFR_IDLE_MS, AXFR_IDLE_MS);
	log_info("zone %s: AXFR from %s", sz->conf->origin_text, pa);
	return 0;
fail:
	log_warn("zone %s: cannot start AXFR from %s: %s", sz->conf->origin_text, pa,
		uv_strerror(r));
	xfr_tcp_abandon(t);
	return r;
}

static void io_timeout_cb(uv_timer_t *h)
{
	struct sec_zone *sz = ((struct hdata *)h->data)->owner;
	char pa[64];

	addr_text((const struct sockaddr *)&sz->conf->primary, pa, sizeof(pa));
	if (sz->r.state == AUTH_REFRESH_SOA) {
		if (sz->tries < SOA_TRIES && soa_send(sz) == 0)
			return;
		log_warn("zone %s: no SOA answer from %s after %u tries", sz->conf->origin_text,
			pa, sz->tries);
		sec_fail(sz);
	} else if (sz->r.state == AUTH_REFRESH_AXFR && sz->t) {
		axfr_fail(sz->t, "timed out", NULL);
	} else {
		uv_timer_stop(h);
	}
}

/* ---- NOTIFY out ---------------------------------------------------------------------------- */

static void notify_timer_cb(uv_timer_t *h);

static void notify_send(struct notify_job *j)
{
	char pa[64];
	int r = udp_send(j->x, (const struct sockaddr *)&j->to, j->msg, j->len);
	j->tries++;
	if (r < 0)
		log_warn("zone %s: cannot send NOTIFY to %s: %s", j->conf->origin_text,
			addr_text((const struct sockaddr *)&j->to, pa, sizeof(pa)),
			dns_strerror(r));
	/* RFC 1996 3.6: retry with a growing interval until a reply comes. */
	uv_timer_start(&j->timer, notify_timer_cb,
		(uint64_t)NOTIFY_TIMEOUT_MS << (j->tries - 1), 0);
}

static void notify_timer_cb(uv_timer_t *h)
{
	struct notify_job *j = ((struct hdata *)h->data)->owner;
	char pa[64];

	if (!j->active)
		return;
	if (j->tries >= NOTIFY_TRIES) {
		log_warn("zone %s: no reply to NOTIFY (serial %u) from %s after %u tries",
			j->conf->origin_text, j->serial,
			addr_text((const struct sockaddr *)&j->to, pa, sizeof(pa)), j->tries);
		j->active = false;
		return;
	}
	notify_send(j);
}

void authd_xfr_zone_changed(struct authd_xfr *x, const struct auth_zone *z)
{
	char pa[64];

	if (!x || x->closing)
		return;
	for (unsigned i = 0; i < x->n_jobs; i++) {
		struct notify_job *j = &x->jobs[i];
		if (!dns_name_eq(j->conf->origin, auth_zone_origin(z)))
			continue;
		j->id = new_id();
		int len = auth_xfr_notify_write(j->msg, sizeof(j->msg), j->id, z);
		if (len < 0) {
			log_err("zone %s: cannot build NOTIFY: %s", j->conf->origin_text,
				dns_strerror(len));
			continue;
		}
		j->len = (size_t)len;
		j->serial = auth_zone_serial(z);
		j->tries = 0;
		j->active = true;
		log_info("zone %s: NOTIFY serial %u to %s", j->conf->origin_text, j->serial,
			addr_text((const struct sockaddr *)&j->to, pa, sizeof(pa)));
		/* Sent from the next loop iteration, not from here: the caller may
		 * not have swapped the new version in yet, and a secondary that
		 * reacts at once must find it served. */
		uv_timer_start(&j->timer, notify_timer_cb, 0, 0);
	}
}

static void notify_reply(struct notify_job *j, const uint8_t *msg, size_t len)
{
	char pa[64], rc[16];
	uint8_t rcode;

	if (auth_xfr_notify_reply_check(msg, len, j->id, j->conf->origin, &rcode) < 0)
		return;
	j->active = false;
	uv_timer_stop(&j->timer);
	addr_text((const struct sockaddr *)&j->to, pa, sizeof(pa));
	if (rcode == DNS_RC_NOERROR)
		log_info("zone %s: NOTIFY serial %u acknowledged by %s", j->conf->origin_text,
			j->serial, pa);
	else
		log_warn("zone %s: NOTIFY serial %u answered %s by %s", j->conf->origin_text,
			j->serial, dns_rcode_name(rcode, rc), pa);
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
			    sa_eq(from, (const struct sockaddr *)&j->to, true))
				notify_reply(j, msg, (size_t)nread);
		}
		return;
	}
	for (unsigned i = 0; i < x->n_sec; i++) {
		struct sec_zone *sz = &x->sec[i];
		if (sz->r.state == AUTH_REFRESH_SOA && sz->qid == hd.id &&
		    sa_eq(from, (const struct sockaddr *)&sz->conf->primary, true)) {
			soa_reply(sz, msg, (size_t)nread);
			return;
		}
	}
}

/* ---- NOTIFY in (worker threads -> main loop) ---------------------------------------------- */

static void async_cb(uv_async_t *h)
{
	struct authd_xfr *x = ((struct hdata *)h->data)->x;
	bool *due;

	if (x->closing || x->n_sec == 0)
		return;
	due = calloc(x->n_sec, sizeof(*due));
	if (!due)
		return;
	uv_mutex_lock(&x->mu);
	for (unsigned i = 0; i < x->n_sec; i++) {
		due[i] = x->sec[i].notified;
		x->sec[i].notified = false;
	}
	uv_mutex_unlock(&x->mu);
	for (unsigned i = 0; i < x->n_sec; i++) {
		if (!due[i])
			continue;
		auth_refresh_on_notify(&x->sec[i].r, uv_now(x->loop));
		sec_drive(&x->sec[i], AUTH_REFRESH_NONE);
	}
	free(due);
}

static struct sec_zone *sec_find(struct authd_xfr *x, const uint8_t *name)
{
	for (unsigned i = 0; i < x->n_sec; i++)
		if (dns_name_eq(x->sec[i].conf->origin, name))
			return &x->sec[i];
	return NULL;
}

static void reply_rcode(struct dns_listen_req *req, const struct dns_query *q, uint8_t rcode)
{
	uint8_t buf[DNS_HEADER_LEN + DNS_NAME_MAX + 4];
	int len = auth_xfr_reply_write(buf, sizeof(buf), q, rcode);
	if (len > 0)
		dns_listen_reply(req, buf, (size_t)len);
}

void authd_xfr_on_notify(struct authd_xfr *x, struct dns_listen_req *req,
	const struct dns_query *q)
{
	const struct sockaddr *peer = dns_listen_req_peer(req);
	struct sec_zone *sz = sec_find(x, q->qname);
	char pa[64], name[DNS_NAME_TEXT_MAX], rc[16];
	uint8_t rcode;

	/* RFC 1996 3.2, 3.10, 4.7. */
	if (q->qtype != DNS_T_SOA)
		rcode = DNS_RC_NOTIMP;
	else if (!sz)
		rcode = DNS_RC_NOTAUTH;
	else if (!sa_eq(peer, (const struct sockaddr *)&sz->conf->primary, false))
		rcode = DNS_RC_REFUSED;
	else
		rcode = DNS_RC_NOERROR;
	reply_rcode(req, q, rcode);
	dns_listen_done(req);
	if (dns_name_to_str(q->qname, name, sizeof(name)) < 0)
		snprintf(name, sizeof(name), "?");
	addr_text(peer, pa, sizeof(pa));
	if (rcode != DNS_RC_NOERROR) {
		log_warn("zone %s: NOTIFY from %s: %s", name, pa, dns_rcode_name(rcode, rc));
		return;
	}
	log_info("zone %s: NOTIFY from %s", sz->conf->origin_text, pa);
	uv_mutex_lock(&x->mu);
	sz->notified = true;
	uv_mutex_unlock(&x->mu);
	uv_async_send(&x->async);
}

/* Is the peer in `allow-transfer`? (Default: nobody.) */
static bool transfer_allowed(const struct authd_xfr *x, const struct sockaddr *peer)
{
	const struct dns_config_vec *v = &x->cfg->allow_transfer;
	for (size_t i = 0; i < v->n; i++)
		if (dns_cidr_match(&DNS_CONFIG_VEC_AT(v, struct dns_cidr, i), peer))
			return true;
	return false;
}

void authd_xfr_on_axfr(struct authd_xfr *x, struct dns_listen_req *req,
	const struct dns_query *q)
{
	const struct sockaddr *peer = dns_listen_req_peer(req);
	bool tcp = dns_listen_req_transport(req) == DNS_TRANSPORT_TCP;
	struct auth_zoneset *zs = NULL;
	struct auth_zone *z = NULL;
	char pa[64], name[DNS_NAME_TEXT_MAX], ty[16];
	uint8_t lname[DNS_NAME_MAX];
	const char *what = dns_type_name(q->qtype, ty);

	addr_text(peer, pa, sizeof(pa));
	if (dns_name_to_str(q->qname, name, sizeof(name)) < 0)
		snprintf(name, sizeof(name), "?");
	if (!transfer_allowed(x, peer)) {
		log_warn("zone %s: %s refused to %s (not in allow-transfer)", name, what, pa);
		reply_rcode(req, q, DNS_RC_REFUSED);
		goto out;
	}
	dns_name_lower(lname, q->qname);
	zs = x->host.zones(x->host.ctx);
	z = zs ? auth_zoneset_get(zs, lname) : NULL;
	if (!z) {
		log_warn("zone %s: %s from %s: not a zone served here", name, what, pa);
		reply_rcode(req, q, DNS_RC_NOTAUTH);
		goto out;
	}
	if (!tcp) {
		if (q->qtype == DNS_T_IXFR) {
			uint8_t buf[2048];
			int len = auth_xfr_soa_only_write(buf, sizeof(buf), q, z);
			if (len > 0)
				dns_listen_reply(req, buf, (size_t)len);
		} else {
			reply_rcode(req, q, DNS_RC_REFUSED); /* RFC 5936 4.2: TCP only */
		}
		goto out;
	}
	uint8_t *buf = dns_listen_req_buf(req);
	if (!buf) {
		reply_rcode(req, q, DNS_RC_SERVFAIL);
		goto out;
	}
	struct auth_axfr_out o;
	int n, r = 0;
	auth_axfr_out_init(&o, z, q);
	while ((n = auth_axfr_out_next(&o, buf, DNS_LISTEN_MSG_MAX)) > 0)
		if ((r = dns_listen_reply(req, buf, (size_t)n)) < 0)
			break;
	if (n < 0 || r < 0)
		log_warn("zone %s: %s to %s stopped after %zu messages: %s", name, what, pa,
			o.msgs, dns_strerror(n < 0 ? n : r));
	else
		log_info("zone %s: %s to %s: serial %u, %zu records in %zu messages", name,
			what, pa, auth_zone_serial(z), auth_zone_rr_count(z), o.msgs);
out:
	auth_zoneset_unref(zs);
	dns_listen_done(req);
}

/* ---- start and close ------------------------------------------------------------------------- */

/*
 * Make sure a UDP socket exists for the source address of talking to dest
 * (see pick_source()). Returns 0 or a negative errno (logged).
 */
static int udp_ensure(struct authd_xfr *x, const struct sockaddr *dest)
{
	struct xfr_udp *u;
	char sa[64];
	int r;

	if (udp_for(x, dest))
		return 0;
	u = &x->udps[x->n_udps];
	pick_source(x->cfg, dest, &u->src);
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
		addr_text((const struct sockaddr *)&u->src, sa, sizeof(sa)), uv_strerror(r));
	return r;
}

int authd_xfr_start(const struct authd_xfr_host *host, struct authd_xfr **out)
{
	const struct authd_config *cfg = host->cfg;
	struct authd_xfr *x;
	struct auth_zoneset *zs;
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

	if ((r = uv_async_init(x->loop, &x->async, async_cb)) < 0)
		goto fail;
	x->handles++;
	x->async.data = self;

	zs = x->host.zones(x->host.ctx);
	for (unsigned i = 0; i < cfg->n_zones; i++) {
		const struct authd_zone_conf *c = &cfg->zones[i];
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
		if (!c->has_primary)
			continue;
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
		addr_text((const struct sockaddr *)&c->primary, pa, sizeof(pa));
		if (z) {
			struct auth_soa soa;
			uint64_t age = keep_age_ms(c);
			auth_zone_soa(z, &soa);
			auth_refresh_init(&sz->r, uv_now(x->loop), &soa, age);
			log_info("zone %s: secondary of %s, serving kept serial %u (%" PRIu64
				" s old)", c->origin_text, pa, soa.serial, age / 1000);
		} else {
			auth_refresh_init(&sz->r, uv_now(x->loop), NULL, 0);
			log_info("zone %s: secondary of %s, no copy yet", c->origin_text, pa);
		}
	}
	auth_zoneset_unref(zs);
	for (unsigned i = 0; i < x->n_sec; i++)
		sec_drive(&x->sec[i], AUTH_REFRESH_NONE);
	*out = x;
	return 0;
fail:
	authd_xfr_close(x);
	return r;
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
