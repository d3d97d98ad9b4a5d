/*
 * authd_xfr_sec.c -- the secondary side of replication: the refresh timers of
 * each zone with a primary (auth_refresh, RFC 1035 4.3.5) driven on the main
 * loop, SOA queries over UDP, AXFR in over TCP (RFC 5936), the new version
 * served and kept on disk.
 */
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <netinet/in.h>

#include "authd_xfr_impl.h"
#include "dns_err.h"
#include "dns_log.h"
#include "dns_name.h"

#define SOA_TIMEOUT_MS 2000     /* wait for a SOA answer, per try */
#define SOA_TRIES 3             /* SOA queries sent before the check fails */
#define AXFR_IDLE_MS 15000      /* a transfer with no data this long fails */
#define AXFR_MAX_BYTES (1024u * 1024 * 1024) /* a transfer larger than this fails */
#define TCP_BUF (2 + DNS_MSG_MAX) /* one framed message */
#define TEXT_LINE_MAX (2 * 65535 + 4096) /* one record in presentation form */

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
uint64_t xfr_keep_age_ms(const struct authd_zone_conf *c)
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

static int soa_start(struct sec_zone *sz);
static int axfr_start(struct sec_zone *sz);

static void sec_timer_cb(uv_timer_t *h)
{
	struct sec_zone *sz = ((struct hdata *)h->data)->owner;
	xfr_sec_drive(sz, AUTH_REFRESH_NONE);
}

/* Report a failed check and carry on. */
static void sec_fail(struct sec_zone *sz)
{
	uv_timer_stop(&sz->io_timer);
	if (sz->t)
		xfr_tcp_abandon(sz->t);
	auth_refresh_on_fail(&sz->r, uv_now(sz->x->loop));
	xfr_sec_drive(sz, AUTH_REFRESH_NONE);
}

/*
 * Do what the state machine asks until it asks nothing more, then sleep until
 * its next deadline.
 */
void xfr_sec_drive(struct sec_zone *sz, enum auth_refresh_action a)
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
				xfr_addr_text((const struct sockaddr *)&sz->conf->primary, pa,
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
	int r = xfr_udp_send(sz->x, (const struct sockaddr *)&sz->conf->primary, msg, (size_t)len);
	if (r < 0)
		return r;
	uv_timer_start(&sz->io_timer, io_timeout_cb, SOA_TIMEOUT_MS, 0);
	return 0;
}

static int soa_start(struct sec_zone *sz)
{
	char pa[64];
	int r;

	sz->qid = xfr_new_id();
	sz->tries = 0;
	if ((r = soa_send(sz)) < 0)
		log_warn("zone %s: cannot send a SOA query to %s: %s", sz->conf->origin_text,
			xfr_addr_text((const struct sockaddr *)&sz->conf->primary, pa, sizeof(pa)),
			dns_strerror(r));
	return r;
}

/* A SOA answer from the primary (already matched by ID and address). */
void xfr_soa_reply(struct sec_zone *sz, const uint8_t *msg, size_t len)
{
	char pa[64], rc[16];
	uint32_t serial;
	uint8_t rcode = 0;
	const struct sockaddr *p = (const struct sockaddr *)&sz->conf->primary;

	int r = auth_xfr_soa_reply_parse(msg, len, sz->qid, sz->conf->origin, &serial, &rcode);
	if (r == DNS_E_FORMAT)
		return; /* not an answer to our query: keep waiting */
	uv_timer_stop(&sz->io_timer);
	xfr_addr_text(p, pa, sizeof(pa));
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
	xfr_sec_drive(sz, auth_refresh_on_soa(&sz->r, now, serial));
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
void xfr_tcp_abandon(struct xfr_tcp *t)
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
		xfr_addr_text((const struct sockaddr *)&sz->conf->primary, pa, sizeof(pa)), what,
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

	xfr_addr_text((const struct sockaddr *)&sz->conf->primary, pa, sizeof(pa));
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
	xfr_sec_drive(sz, AUTH_REFRESH_NONE);
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
	uint16_t id = xfr_new_id();
	int r, len;

	xfr_addr_text(p, pa, sizeof(pa));
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
	xfr_pick_source(x->cfg, p, &src);
	if (!xfr_sa_is_wildcard((const struct sockaddr *)&src) &&
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

	xfr_addr_text((const struct sockaddr *)&sz->conf->primary, pa, sizeof(pa));
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
