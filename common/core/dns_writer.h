/*
 * dns_writer.h -- building DNS messages with name compression.
 *
 * The writer fills a caller-supplied buffer: header, question, then records
 * section by section. Names are compressed against names already written
 * (case-insensitively, so an answer owner equal to the question name points at
 * the question and keeps the client's case, RFC 1035 4.1.4). Names inside RDATA
 * are compressed only for the RFC 1035 types that allow it (RFC 3597 4).
 * A record that does not fit is not written at all and DNS_E_SPACE is returned,
 * so the caller can set TC or stop; dns_writer_mark()/dns_writer_rollback()
 * take back a partial RRset. No allocation.
 */
#ifndef CAIRN_DNS_WRITER_H
#define CAIRN_DNS_WRITER_H

#include <stddef.h>
#include <stdint.h>

#include "dns_edns.h"
#include "dns_pkt.h"

#define DNS_WRITER_PTRS 96  /* remembered name offsets for compression */

enum dns_section { DNS_SEC_QUESTION = 0, DNS_SEC_ANSWER, DNS_SEC_AUTHORITY,
	DNS_SEC_ADDITIONAL };

struct dns_writer {
	uint8_t *buf;
	size_t cap;          /* bytes usable: min(buffer size, size limit) */
	size_t len;          /* bytes written */
	uint16_t count[4];   /* records per section */
	enum dns_section section;
	unsigned nptrs;
	uint16_t ptrs[DNS_WRITER_PTRS]; /* offsets of names (and their suffixes) written */
	uint8_t plabels[DNS_WRITER_PTRS]; /* labels from each of those offsets to the root */
};

/* A saved position to roll back to. */
struct dns_writer_mark {
	size_t len;
	uint16_t count[4];
	unsigned nptrs;
};

/* Start a message in buf; cap is the most it may grow to. Reserves the header. */
void dns_writer_init(struct dns_writer *w, uint8_t *buf, size_t cap);
/* Write the question (name as given, case kept). Must precede any record. */
int dns_writer_question(struct dns_writer *w, const uint8_t *qname, uint16_t qtype,
	uint16_t qclass);
/* Move to a later section (sections only go forward). */
void dns_writer_section(struct dns_writer *w, enum dns_section s);
/*
 * Append one record. rdata is uncompressed wire form; names inside it are
 * compressed when the type allows. DNS_E_SPACE leaves the writer unchanged.
 */
int dns_writer_rr(struct dns_writer *w, const uint8_t *owner, uint16_t type,
	uint16_t rclass, uint32_t ttl, const uint8_t *rdata, uint16_t rdlen);
/*
 * Append an OPT record: payload size, extended rcode (upper 8 bits), DO flag and
 * optional pre-encoded options (code, length, body...). Goes in the additional
 * section.
 */
int dns_writer_opt(struct dns_writer *w, uint16_t udp_size, uint8_t ext_rcode,
	uint16_t flags, const uint8_t *options, uint16_t optlen);
/* Bytes still free. */
static inline size_t dns_writer_room(const struct dns_writer *w) { return w->cap - w->len; }
/* Lower the size limit (e.g. to the client's UDP size); never below what's written. */
void dns_writer_limit(struct dns_writer *w, size_t cap);

void dns_writer_mark(const struct dns_writer *w, struct dns_writer_mark *m);
void dns_writer_rollback(struct dns_writer *w, const struct dns_writer_mark *m);

/* Write the header (id, flags) with the section counts; returns the message length. */
size_t dns_writer_finish(struct dns_writer *w, uint16_t id, uint16_t flags);

#endif
