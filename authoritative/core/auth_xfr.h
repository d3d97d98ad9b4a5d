/*
 * auth_xfr.h -- zone replication, the pure part: AXFR out and in, NOTIFY and
 * SOA query messages, and the refresh state machine of a secondary zone.
 *
 * Nothing here touches a socket or a clock: messages go in and out as bytes,
 * time is passed in as `now` (milliseconds on any monotonic base), and the io
 * layer (authoritative/io/authd_xfr.c) does the sending and the timers.
 *
 * Glossary:
 *   primary    the server a zone is copied from (RFC 1996 calls it the master).
 *   secondary  a server keeping a copy fetched by zone transfer (the slave).
 *   AXFR       full zone transfer over TCP (RFC 5936): the zone's SOA, every
 *              other record, the SOA again, spread over one or more messages.
 *   NOTIFY     opcode 4 (RFC 1996): the primary tells its secondaries that the
 *              zone changed, so they check the SOA at once instead of waiting.
 *   refresh/retry/expire  the SOA timers (RFC 1035 3.3.13): check the primary
 *              every REFRESH seconds, every RETRY seconds after a failure, and
 *              stop answering for the zone EXPIRE seconds after the last
 *              successful check.
 *   serial arithmetic  RFC 1982 comparison of 32-bit serials that wrap.
 */
#ifndef CAIRN_AUTH_XFR_H
#define CAIRN_AUTH_XFR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "auth_zone.h"
#include "dns_mem.h"
#include "dns_name.h"
#include "dns_pkt.h"

/* ---- serial arithmetic ------------------------------------------------------- */

/*
 * Compare serials by RFC 1982 3.2 (SERIAL_BITS 32): <0 if a precedes b, 0 if
 * equal, >0 if a follows b. The undefined case (they differ by exactly 2^31)
 * counts as "not greater" either way: it returns <0, so a secondary never
 * takes such a serial as newer.
 */
int auth_serial_cmp(uint32_t a, uint32_t b);

/* ---- AXFR out ------------------------------------------------------------------ */

/*
 * Writer of an AXFR response (RFC 5936 2.2): walks a zone snapshot in AXFR
 * order and packs as many records as fit into each message. Every message has
 * the query's ID, QR and AA set, opcode QUERY, RCODE NOERROR; the question is
 * echoed in the first message only (RFC 5936 2.2.1 allows QDCOUNT 0 after it);
 * names are compressed by the dns_writer (case-insensitively, so a name may go
 * out in the case of an equal name written before it, e.g. the question's:
 * the same name for the DNS, RFC 4343). An OPT record is added to each message
 * when the query had one (RFC 6891 7). Plain value; the zone must outlive it.
 */
struct auth_axfr_out {
	const struct auth_zone *z;   /* zone being sent (caller holds a reference) */
	struct auth_zone_iter it;    /* position in the zone */
	struct auth_rr_view next;    /* record read from it but not sent yet */
	bool has_next;               /* next is valid */
	bool first;                  /* the next message is the first one */
	uint16_t id;                 /* the query's ID */
	uint8_t qname[DNS_NAME_MAX]; /* the query's name, case kept */
	uint16_t qtype;              /* AXFR (or IXFR, answered with a full AXFR) */
	uint16_t qclass;             /* the query's class */
	bool opt;                    /* the query carried EDNS: add OPT */
	uint16_t flags_rd;           /* the query's RD bit, copied (RFC 1035 4.1.1) */
	size_t msgs;                 /* messages produced so far */
	size_t rrs;                  /* records produced so far (both SOAs counted) */
};

/* Start the response to query q for zone z. */
void auth_axfr_out_init(struct auth_axfr_out *o, const struct auth_zone *z,
	const struct dns_query *q);
/*
 * Write the next message into buf (at most cap bytes, at most 65535 are used).
 * Returns the message length (> 0), 0 when the whole zone has been sent, or
 * DNS_E_SPACE if a single record cannot fit in a message of cap bytes.
 */
int auth_axfr_out_next(struct auth_axfr_out *o, uint8_t *buf, size_t cap);

/* ---- AXFR in ------------------------------------------------------------------- */

/* Where an incoming transfer stands. */
enum auth_axfr_in_state {
	AUTH_AXFR_IN_START = 0, /* no message yet: the first record must be the SOA */
	AUTH_AXFR_IN_BODY,      /* opening SOA seen: records until the SOA again */
	AUTH_AXFR_IN_DONE,      /* closing SOA seen: call auth_axfr_in_finish() */
	AUTH_AXFR_IN_FAILED     /* a message was rejected: see why */
};

/*
 * Consumer of an AXFR response: fed the messages one by one (as read from the
 * TCP stream, without the 2-byte length), it checks each against the query
 * (ID, question, RCODE, RFC 5936 2.2) and feeds the records to a zone builder,
 * decompressing names inside RDATA for the types RFC 3597 4 names as
 * well-known (and SRV, NAPTR, RP, AFSDB, RT, PX, SIG, NXT, which it says
 * SHOULD be decompressed). Records in the authority and additional sections
 * (TSIG, OPT) are skipped.
 */
struct auth_axfr_in {
	const struct dns_mm *mm;       /* allocator of the zone being built */
	uint8_t origin[DNS_NAME_MAX];  /* zone requested (canonical wire) */
	uint16_t id;                   /* ID of the AXFR query sent */
	enum auth_axfr_in_state state; /* progress */
	struct auth_zone_builder *b;   /* zone being built (NULL before start) */
	uint8_t soa[DNS_NAME_MAX * 2 + 20]; /* RDATA of the opening SOA */
	uint16_t soa_len;              /* its length */
	uint32_t serial;               /* its serial */
	unsigned msgs;                 /* messages accepted */
	size_t rrs;                    /* records accepted (both SOAs counted) */
	uint8_t rcode;                 /* RCODE of a refusing answer (when failed) */
	uint8_t *rdbuf;                /* scratch for expanded RDATA (AUTH_AXFR_RDBUF octets) */
	const char *why;               /* static text saying why it failed, NULL if it did not */
};

/* Size of the RDATA expansion buffer: the largest RDATA a builder takes. */
#define AUTH_AXFR_RDBUF 65535

/* Prepare to receive origin (wire, any case) for the query with this ID. 0 or -ENOMEM. */
int auth_axfr_in_init(struct auth_axfr_in *in, const struct dns_mm *mm,
	const uint8_t *origin, uint16_t id);
/*
 * Feed one response message. Returns 1 when it ended the transfer (closing SOA
 * seen), 0 when more messages are needed, or a negative code with in->why set
 * and the state AUTH_AXFR_IN_FAILED: DNS_E_FORMAT (malformed message, wrong
 * ID/question, TC set, first record not the SOA, records after the closing
 * SOA), DNS_E_UNSUPPORTED (RCODE not NOERROR; in->rcode holds it), -ENOMEM.
 * Records the zone builder rejects do not stop the transfer: finish() reports
 * them.
 */
int auth_axfr_in_feed(struct auth_axfr_in *in, const uint8_t *msg, size_t len);
/*
 * After feed() returned 1: run the zone checks and build the snapshot (see
 * auth_zone_builder_finish(); errors are "AXFR:0: reason" lines in err).
 * Returns 0, DNS_E_ZONE, -ENOMEM, or DNS_E_FORMAT if the transfer is not
 * complete. The builder is consumed either way.
 */
int auth_axfr_in_finish(struct auth_axfr_in *in, struct auth_zone **out,
	char *err, size_t errlen);
/* Release what the transfer holds (always call it, also after finish). Safe twice. */
void auth_axfr_in_deinit(struct auth_axfr_in *in);

/* ---- queries a secondary and a primary send ------------------------------------ */

/*
 * A SOA query for origin (opcode QUERY, RD clear, class IN), as a secondary
 * sends to its primary before deciding to transfer (RFC 1035 4.3.5). Returns
 * the length or DNS_E_SPACE.
 */
int auth_xfr_soa_query_write(uint8_t *buf, size_t cap, uint16_t id,
	const uint8_t *origin);
/* An AXFR query for origin (RFC 5936 2.1). Returns the length or DNS_E_SPACE. */
int auth_xfr_axfr_query_write(uint8_t *buf, size_t cap, uint16_t id,
	const uint8_t *origin);
/*
 * A NOTIFY for zone z (RFC 1996 3.3-3.7): opcode NOTIFY, AA set, question
 * <origin, SOA, IN>, and the zone's SOA in the answer section as a hint of the
 * new serial. Returns the length or DNS_E_SPACE.
 */
int auth_xfr_notify_write(uint8_t *buf, size_t cap, uint16_t id,
	const struct auth_zone *z);
/*
 * Check a reply to a NOTIFY we sent (RFC 1996 4.7): QR set, opcode NOTIFY, the
 * ID and the question <origin, SOA> echoed (QDCOUNT 0 is also accepted). On
 * success *rcode gets the reply's RCODE (NOERROR means acknowledged). Returns
 * 0 or DNS_E_FORMAT (not a reply to that NOTIFY: keep waiting).
 */
int auth_xfr_notify_reply_check(const uint8_t *msg, size_t len, uint16_t id,
	const uint8_t *origin, uint8_t *rcode);
/*
 * Read the answer to our SOA query: ID and question must match, QR set, RCODE
 * NOERROR, AA set, and a SOA record owned by origin in the answer section.
 * *serial gets its serial. Returns 0, DNS_E_FORMAT (not a reply to the query,
 * ignore it), DNS_E_UNSUPPORTED (a valid reply without the SOA: error RCODE,
 * no AA, or no SOA; *rcode (may be NULL) gets the RCODE).
 */
int auth_xfr_soa_reply_parse(const uint8_t *msg, size_t len, uint16_t id,
	const uint8_t *origin, uint32_t *serial, uint8_t *rcode);
/*
 * The response to a NOTIFY or AXFR request we do not serve or refuse: header
 * with q's ID, QR, the request's opcode, AA when rcode is NOERROR, the question
 * echoed, no records (RFC 1996 4.7 for NOTIFY; RFC 5936 2.2.1 for AXFR errors).
 * Returns the length or DNS_E_SPACE.
 */
int auth_xfr_reply_write(uint8_t *buf, size_t cap, const struct dns_query *q,
	uint8_t rcode);

/*
 * The answer to an IXFR over UDP (RFC 1995 2, 4): the zone's current SOA alone
 * (AA, question echoed), which tells the client to come back over TCP, where
 * it gets the whole zone AXFR-style. Returns the length or DNS_E_SPACE.
 */
int auth_xfr_soa_only_write(uint8_t *buf, size_t cap, const struct dns_query *q,
	const struct auth_zone *z);

/* ---- kept copy -------------------------------------------------------------------- */

/*
 * One record in master-file presentation form followed by a newline (via
 * ldns; RFC 3597 generic form for RDATA ldns cannot print), owner and RDATA
 * names absolute. Returns the length written (NUL-terminated) or DNS_E_SPACE,
 * -ENOMEM.
 */
int auth_xfr_rr_text(const struct auth_rr_view *rr, char *buf, size_t size);

/* ---- refresh state machine of one secondary zone ---------------------------------- */

/* What the secondary side of one zone is doing. */
enum auth_refresh_state {
	AUTH_REFRESH_IDLE = 0, /* waiting for the refresh (or retry) time */
	AUTH_REFRESH_SOA,      /* a SOA query to the primary is outstanding */
	AUTH_REFRESH_AXFR      /* a transfer from the primary is running */
};

/* What the io layer must do next (returned by auth_refresh_poll()). */
enum auth_refresh_action {
	AUTH_REFRESH_NONE = 0,   /* nothing now; wake up at auth_refresh_next() */
	AUTH_REFRESH_SEND_SOA,   /* send a SOA query to the primary, report with on_soa/on_fail */
	AUTH_REFRESH_START_AXFR, /* transfer the zone, report with on_axfr/on_fail */
	AUTH_REFRESH_EXPIRE      /* the copy expired: stop serving it (reported once) */
};

/* Times used when no SOA is known yet (no copy): seconds. */
#define AUTH_REFRESH_BOOT_RETRY 5       /* first retry after a failed first fetch */
#define AUTH_REFRESH_BOOT_RETRY_MAX 300 /* retries back off (doubling) up to this */
#define AUTH_REFRESH_MIN 1              /* floor of refresh/retry from a SOA */

/*
 * The refresh timers of one secondary zone (RFC 1035 4.3.5, RFC 1996 3.11).
 * Feed it events with `now` in milliseconds; ask it what to do with poll().
 * A NOTIFY while a check is running is remembered and causes another check
 * as soon as that one ends (RFC 1996 4.4).
 */
struct auth_refresh {
	enum auth_refresh_state state; /* current state */
	bool have_zone;      /* a copy is being served (loaded or transferred) */
	bool expired;        /* the copy expired and is no longer served */
	bool expire_told;    /* AUTH_REFRESH_EXPIRE was returned already */
	bool notified;       /* a NOTIFY arrived during a check: check again after */
	uint32_t serial;     /* serial of the copy, when have_zone */
	uint32_t refresh;    /* REFRESH of the copy, seconds */
	uint32_t retry;      /* RETRY of the copy, seconds */
	uint32_t expire;     /* EXPIRE of the copy, seconds */
	uint64_t next_at;    /* when IDLE: time of the next check */
	uint64_t expire_at;  /* when have_zone: time the copy expires */
	unsigned failures;   /* checks failed in a row */
};

/* Name of a state for logs. */
const char *auth_refresh_state_name(enum auth_refresh_state s);

/*
 * Start the timers. soa is the copy served at start-up (the kept file), or
 * NULL when there is none; age_ms is how old that copy already is (time since
 * it was last known good, e.g. from the file's modification time), counted
 * against its EXPIRE. The first check is due at once either way.
 */
void auth_refresh_init(struct auth_refresh *r, uint64_t now,
	const struct auth_soa *soa, uint64_t age_ms);
/*
 * What to do now: when IDLE and the next check is due it moves to SOA and
 * returns SEND_SOA (without a copy it moves straight to AXFR and returns
 * START_AXFR: there is nothing to compare); returns EXPIRE once when the copy
 * has passed its expire time; else NONE.
 */
enum auth_refresh_action auth_refresh_poll(struct auth_refresh *r, uint64_t now);
/*
 * When to call poll() next (absolute time): the next check when IDLE, or the
 * copy's expiry if sooner; UINT64_MAX while a check runs without a copy.
 */
uint64_t auth_refresh_next(const struct auth_refresh *r);
/*
 * The primary answered the SOA query with this serial. If it is newer than
 * the copy's (RFC 1982) the state becomes AXFR and START_AXFR is returned;
 * otherwise the copy is confirmed (its expire time restarts, RFC 1035
 * 3.3.13), the next check is due after REFRESH, and NONE is returned (or
 * SEND_SOA at once if a NOTIFY came meanwhile).
 */
enum auth_refresh_action auth_refresh_on_soa(struct auth_refresh *r, uint64_t now,
	uint32_t serial);
/*
 * The transfer ended with a new copy (now served) whose SOA is soa: timers
 * from it, next check after REFRESH (or at once after a NOTIFY meanwhile).
 */
void auth_refresh_on_axfr(struct auth_refresh *r, uint64_t now,
	const struct auth_soa *soa);
/*
 * The SOA query or the transfer failed (timeout, refused, bad data): next try
 * after RETRY (or the back-off schedule without a copy).
 */
void auth_refresh_on_fail(struct auth_refresh *r, uint64_t now);
/*
 * A NOTIFY for the zone arrived from the primary (RFC 1996 3.11): when IDLE
 * the check becomes due at once; during a check another one follows it.
 */
void auth_refresh_on_notify(struct auth_refresh *r, uint64_t now);

#endif
