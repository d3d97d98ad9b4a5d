/*
 * authd_xfr_notify.c -- NOTIFY (RFC 1996): out to the `notify` secondaries of
 * a zone that changed, retried until answered; in from a zone's primary on a
 * worker thread, handed to the main loop, where it starts a refresh.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <netinet/in.h>

#include "authd_xfr_impl.h"
#include "dns_err.h"
#include "dns_log.h"
#include "dns_name.h"

#define NOTIFY_TIMEOUT_MS 1000  /* first NOTIFY retry; doubles each time */
#define NOTIFY_TRIES 5          /* NOTIFYs sent before giving up (RFC 1996 3.6) */

/* ---- NOTIFY out ---------------------------------------------------------------------------- */

static void notify_timer_cb(uv_timer_t *h);

static void notify_send(struct notify_job *j)
{
	char pa[64];
	int r = xfr_udp_send(j->x, (const struct sockaddr *)&j->to, j->msg, j->len);
	j->tries++;
	if (r < 0)
		log_warn("zone %s: cannot send NOTIFY to %s: %s", j->conf->origin_text,
			xfr_addr_text((const struct sockaddr *)&j->to, pa, sizeof(pa)),
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
			xfr_addr_text((const struct sockaddr *)&j->to, pa, sizeof(pa)), j->tries);
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
		j->id = xfr_new_id();
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
			xfr_addr_text((const struct sockaddr *)&j->to, pa, sizeof(pa)));
		/* Sent from the next loop iteration, not from here: the caller may
		 * not have swapped the new version in yet, and a secondary that
		 * reacts at once must find it served. */
		uv_timer_start(&j->timer, notify_timer_cb, 0, 0);
	}
}

void xfr_notify_reply(struct notify_job *j, const uint8_t *msg, size_t len)
{
	char pa[64], rc[16];
	uint8_t rcode;

	if (auth_xfr_notify_reply_check(msg, len, j->id, j->conf->origin, &rcode) < 0)
		return;
	j->active = false;
	uv_timer_stop(&j->timer);
	xfr_addr_text((const struct sockaddr *)&j->to, pa, sizeof(pa));
	if (rcode == DNS_RC_NOERROR)
		log_info("zone %s: NOTIFY serial %u acknowledged by %s", j->conf->origin_text,
			j->serial, pa);
	else
		log_warn("zone %s: NOTIFY serial %u answered %s by %s", j->conf->origin_text,
			j->serial, dns_rcode_name(rcode, rc), pa);
}

/* ---- NOTIFY in (worker threads -> main loop) ---------------------------------------------- */

void xfr_async_cb(uv_async_t *h)
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
		xfr_sec_drive(&x->sec[i], AUTH_REFRESH_NONE);
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
	else if (!xfr_sa_eq(peer, (const struct sockaddr *)&sz->conf->primary, false))
		rcode = DNS_RC_REFUSED;
	else
		rcode = DNS_RC_NOERROR;
	xfr_reply_rcode(req, q, rcode);
	dns_listen_done(req);
	if (dns_name_to_str(q->qname, name, sizeof(name)) < 0)
		snprintf(name, sizeof(name), "?");
	xfr_addr_text(peer, pa, sizeof(pa));
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
