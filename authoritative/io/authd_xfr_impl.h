/*
 * authd_xfr_impl.h -- the state of replication (authd_xfr.h) shared by its
 * pieces (private to them): authd_xfr.c (sockets, start and close),
 * authd_xfr_sec.c (the secondary side: refresh, SOA query, AXFR in, kept
 * copy), authd_xfr_notify.c (NOTIFY out and in), authd_xfr_out.c (AXFR out).
 */
#ifndef CAIRN_AUTHD_XFR_IMPL_H
#define CAIRN_AUTHD_XFR_IMPL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include <uv.h>

#include "auth_xfr.h"
#include "authd_xfr.h"
#include "dns_config.h"

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

/* Replication of one server. */
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

/* ---- authd_xfr.c ---- */

/* A fresh random message ID. */
uint16_t xfr_new_id(void);
/* sa as "ADDR@PORT" into buf. */
static inline const char *xfr_addr_text(const struct sockaddr *sa, char *buf, size_t size)
{
	return dns_addr_format(sa, buf, size);
}
/* Same IP address (and port when with_port); an IPv4-mapped IPv6 address
 * equals its IPv4 one. */
bool xfr_sa_eq(const struct sockaddr *a, const struct sockaddr *b, bool with_port);
/* The address is the wildcard of its family. */
bool xfr_sa_is_wildcard(const struct sockaddr *sa);
/* The source address for talking to dest (see authd_xfr.h), port 0. */
void xfr_pick_source(const struct authd_config *cfg, const struct sockaddr *dest,
	struct sockaddr_storage *out);
/* Send a copy of msg to `to` from the UDP socket of its source address. 0 or
 * a negative errno (-ENOTCONN: that socket could not be opened at start). */
int xfr_udp_send(struct authd_xfr *x, const struct sockaddr *to, const uint8_t *msg,
	size_t len);
/* Free x once its last handle closed. */
void xfr_free(struct authd_xfr *x);
/* Reply to q with the header and question alone and this RCODE. */
void xfr_reply_rcode(struct dns_listen_req *req, const struct dns_query *q, uint8_t rcode);

/* ---- authd_xfr_sec.c ---- */

/* How old the kept copy of c is (now minus its file's mtime), ms; 0 unknown. */
uint64_t xfr_keep_age_ms(const struct authd_zone_conf *c);
/* Do what the refresh state machine of sz asks (a first, then what it polls)
 * until it asks nothing more, then sleep until its next deadline. */
void xfr_sec_drive(struct sec_zone *sz, enum auth_refresh_action a);
/* A SOA answer from the primary of sz (matched by ID and address). */
void xfr_soa_reply(struct sec_zone *sz, const uint8_t *msg, size_t len);
/* Detach the transfer t from its zone and close its connection. */
void xfr_tcp_abandon(struct xfr_tcp *t);

/* ---- authd_xfr_notify.c ---- */

/* A reply to the NOTIFY of j (matched by ID and address). */
void xfr_notify_reply(struct notify_job *j, const uint8_t *msg, size_t len);
/* Main loop: the worker threads flagged NOTIFYs; check those zones now. */
void xfr_async_cb(uv_async_t *h);

#endif
