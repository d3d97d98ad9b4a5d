/*
 * answer_fixture.h -- what the answer engine's tests (test_answer*.c) share:
 * the zone sets they ask, queries built with dns_writer, the last answer
 * parsed with ldns_wire2pkt, and its sections as presentation text.
 *
 * Zones: tests/fixtures/unit-auth/example.zone and other.zone (the same files
 * the behaviour was checked against with NSD 4.6.1), a child sub.example. and
 * edge.test. (size and length limits), built from text by answer_setup().
 * Include after <cmocka.h>.
 */
#ifndef CAIRN_TEST_ANSWER_FIXTURE_H
#define CAIRN_TEST_ANSWER_FIXTURE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <ldns/ldns.h>

#include "auth_answer.h"
#include "auth_zone.h"

extern struct auth_zoneset *both;    /* example. + other.test. */
extern struct auth_zoneset *alone;   /* example. only */
extern struct auth_zoneset *family;  /* example. + its child sub.example. */
extern struct auth_zoneset *edgeset; /* edge.test.: size and length limits */

/* Group setup: loads the zones and builds the four sets above. */
int answer_setup(void **state);

/* Group teardown: drops the four sets. */
int answer_teardown(void **state);

/* Per-test teardown: frees the last parsed answer. */
int answer_cleanup(void **state);

/* A test of the group, with answer_cleanup() after it. */
#define ANSWER_TEST(f) cmocka_unit_test_teardown(f, answer_cleanup)

/* The wire form of the name s, in one of four rotating static buffers. */
const uint8_t *wname(const char *s);

/* ---- building queries ------------------------------------------------------- */

/* How a query is built; all zero is a plain UDP query of class IN, no EDNS. */
struct qopt {
	int edns;          /* EDNS payload size, 0 = no OPT */
	uint8_t version;   /* EDNS version */
	uint16_t eflags;   /* EDNS flags (DO) */
	uint16_t flags;    /* header flags (RD, CD, opcode...) */
	uint16_t qclass;   /* 0 = IN */
	bool tcp;          /* asked over TCP (the client's transport) */
};

/* A query for name/type with ID 0xbeef into buf; o may be NULL. Its length. */
size_t mkquery(uint8_t *buf, size_t cap, const char *name, uint16_t type,
	const struct qopt *o);

/* ---- asking ------------------------------------------------------------------ */

/* The last answer. */
struct resp {
	uint8_t buf[65535];            /* its wire form */
	size_t len;                    /* its length, 0 when dropped */
	struct auth_answer_info info;  /* what the engine reported */
	ldns_pkt *p;                   /* parsed, NULL when dropped */
};

/* The last answer of ask_raw(), ask_in() or ask(); freed by answer_cleanup(). */
extern struct resp R;

/* Answer the raw query q from 127.0.0.1 over UDP or TCP into R; an answer
 * must parse, echo the ID and have QR set. */
void ask_raw(const struct auth_zoneset *s, const uint8_t *q, size_t qlen, bool tcp);

/* Answer a query built by mkquery() from set s; there must be an answer. */
void ask_in(const struct auth_zoneset *s, const char *name, uint16_t type,
	const struct qopt *o);

/* Answer a plain query from the set both. */
void ask(const char *name, uint16_t type);

/* A section as text: "owner ttl class type rdata" per record, joined by " | ",
 * tabs as spaces, lower-cased if lower. A static buffer. */
const char *sec(ldns_pkt_section which, bool lower);

#define ANSWER() sec(LDNS_SECTION_ANSWER, true)
#define AUTHORITY() sec(LDNS_SECTION_AUTHORITY, true)
#define ADDITIONAL() sec(LDNS_SECTION_ADDITIONAL, true)

/* example.'s NS RRset, the addresses of its servers, and its negative SOA. */
static const char NS_AUTH[] =
	"example. 3600 in ns ns1.example. | example. 3600 in ns ns2.example.";
static const char NS_ADDL[] =
	"ns1.example. 3600 in a 192.0.2.53 | ns2.example. 3600 in a 192.0.2.54 | "
	"ns2.example. 3600 in aaaa 2001:db8::54";
static const char SOA_NEG[] =
	"example. 300 in soa ns1.example. hostmaster.example. 2026112701 7200 3600 1209600 300";

/* R has this RCODE, AA and TC (in the packet and in R.info) and one question. */
void expect(ldns_pkt_rcode rcode, bool aa, bool tc);

#endif
