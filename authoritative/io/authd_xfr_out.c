/*
 * authd_xfr_out.c -- AXFR out (RFC 5936) to the peers in `allow-transfer`, on
 * the worker thread the request came in on; IXFR gets the whole zone too
 * (RFC 1995 4).
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

/* ---- AXFR out -------------------------------------------------------------------------------- */

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

	xfr_addr_text(peer, pa, sizeof(pa));
	if (dns_name_to_str(q->qname, name, sizeof(name)) < 0)
		snprintf(name, sizeof(name), "?");
	if (!transfer_allowed(x, peer)) {
		log_warn("zone %s: %s refused to %s (not in allow-transfer)", name, what, pa);
		xfr_reply_rcode(req, q, DNS_RC_REFUSED);
		goto out;
	}
	dns_name_lower(lname, q->qname);
	zs = x->host.zones(x->host.ctx);
	z = zs ? auth_zoneset_get(zs, lname) : NULL;
	if (!z) {
		log_warn("zone %s: %s from %s: not a zone served here", name, what, pa);
		xfr_reply_rcode(req, q, DNS_RC_NOTAUTH);
		goto out;
	}
	if (!tcp) {
		if (q->qtype == DNS_T_IXFR) {
			uint8_t buf[2048];
			int len = auth_xfr_soa_only_write(buf, sizeof(buf), q, z);
			if (len > 0)
				dns_listen_reply(req, buf, (size_t)len);
		} else {
			xfr_reply_rcode(req, q, DNS_RC_REFUSED); /* RFC 5936 4.2: TCP only */
		}
		goto out;
	}
	uint8_t *buf = dns_listen_req_buf(req);
	if (!buf) {
		xfr_reply_rcode(req, q, DNS_RC_SERVFAIL);
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
