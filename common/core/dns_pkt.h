/*
 * dns_pkt.h -- DNS message constants, the header, and query parsing.
 *
 * dns_query_parse() is the one entry point for incoming queries: it reads the
 * header, exactly one question, skips the answer and authority sections (a NOTIFY
 * may carry a SOA there), and reads the additional section looking for the OPT
 * record. It allocates nothing; all it keeps fits in struct dns_query.
 */
#ifndef CAIRN_DNS_PKT_H
#define CAIRN_DNS_PKT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dns_edns.h"
#include "dns_name.h"

#define DNS_HEADER_LEN 12
#define DNS_UDP_MIN 512      /* RFC 1035 4.2.1: UDP payload without EDNS */
#define DNS_MSG_MAX 65535    /* largest message (TCP framing limit) */

/* Header flag bits in the 16-bit flags word. */
#define DNS_FLAG_QR 0x8000
#define DNS_FLAG_AA 0x0400
#define DNS_FLAG_TC 0x0200
#define DNS_FLAG_RD 0x0100
#define DNS_FLAG_RA 0x0080
#define DNS_FLAG_AD 0x0020
#define DNS_FLAG_CD 0x0010
#define DNS_OPCODE(flags) (((flags) >> 11) & 0xf)
#define DNS_RCODE(flags) ((flags) & 0xf)

enum dns_opcode { DNS_OP_QUERY = 0, DNS_OP_IQUERY = 1, DNS_OP_STATUS = 2,
	DNS_OP_NOTIFY = 4, DNS_OP_UPDATE = 5 };

enum dns_rcode {
	DNS_RC_NOERROR = 0, DNS_RC_FORMERR = 1, DNS_RC_SERVFAIL = 2,
	DNS_RC_NXDOMAIN = 3, DNS_RC_NOTIMP = 4, DNS_RC_REFUSED = 5,
	DNS_RC_NOTAUTH = 9, DNS_RC_BADVERS = 16 /* extended: needs OPT */
};

enum dns_class { DNS_CLASS_IN = 1, DNS_CLASS_CH = 3, DNS_CLASS_NONE = 254,
	DNS_CLASS_ANY = 255 };

enum dns_type {
	DNS_T_A = 1, DNS_T_NS = 2, DNS_T_CNAME = 5, DNS_T_SOA = 6, DNS_T_PTR = 12,
	DNS_T_HINFO = 13, DNS_T_MX = 15, DNS_T_TXT = 16, DNS_T_RP = 17,
	DNS_T_AFSDB = 18, DNS_T_SIG = 24, DNS_T_KEY = 25, DNS_T_AAAA = 28,
	DNS_T_LOC = 29, DNS_T_NXT = 30, DNS_T_SRV = 33, DNS_T_NAPTR = 35,
	DNS_T_KX = 36, DNS_T_CERT = 37, DNS_T_DNAME = 39, DNS_T_OPT = 41,
	DNS_T_DS = 43, DNS_T_SSHFP = 44, DNS_T_RRSIG = 46, DNS_T_NSEC = 47,
	DNS_T_DNSKEY = 48, DNS_T_NSEC3 = 50, DNS_T_NSEC3PARAM = 51, DNS_T_TLSA = 52,
	DNS_T_CDS = 59, DNS_T_CDNSKEY = 60, DNS_T_SVCB = 64, DNS_T_HTTPS = 65,
	DNS_T_SPF = 99, DNS_T_TKEY = 249, DNS_T_TSIG = 250, DNS_T_IXFR = 251,
	DNS_T_AXFR = 252, DNS_T_MAILB = 253, DNS_T_MAILA = 254, DNS_T_ANY = 255,
	DNS_T_CAA = 257
};

/* The fixed 12-byte header, in host byte order. */
struct dns_header {
	uint16_t id;
	uint16_t flags;   /* QR, opcode, AA, TC, RD, RA, Z, AD, CD, RCODE */
	uint16_t qdcount;
	uint16_t ancount;
	uint16_t nscount;
	uint16_t arcount;
};

/* Read the header at the start of pkt; DNS_E_SHORT if len < 12. */
int dns_header_parse(const uint8_t *pkt, size_t len, struct dns_header *h);
/* Write h into out[0..12). */
void dns_header_write(uint8_t *out, const struct dns_header *h);

/* An incoming query as the servers need it. */
struct dns_query {
	struct dns_header hdr;
	uint8_t qname[DNS_NAME_MAX]; /* question name as received (case kept) */
	size_t qname_len;            /* wire length of qname */
	uint16_t qtype;
	uint16_t qclass;
	size_t question_end;         /* offset just after the question in the packet */
	bool has_opt;                /* an OPT record was present */
	struct dns_edns edns;        /* its contents, valid when has_opt */
};

/*
 * Outcome of dns_query_parse(), telling the server what to do with the packet:
 * answer it, answer FORMERR (with the header and, when it parsed, the question
 * echoed), or drop it silently (not worth a reply: too short for a header, or a
 * response rather than a query).
 */
enum dns_query_verdict {
	DNS_QUERY_OK = 0,      /* well formed: answer normally */
	DNS_QUERY_FORMERR,     /* malformed: answer FORMERR */
	DNS_QUERY_BADOPT,      /* OPT present but malformed (FORMERR, RFC 6891 6.1.1) */
	DNS_QUERY_DROP         /* drop without reply */
};

/*
 * Parse a query. Rules: QR clear; QDCOUNT exactly 1 (RFC 9619); names valid with
 * backward pointers; each RR in the other sections well formed; at most one OPT,
 * owned by the root and in the additional section (RFC 6891 6.1.1); nothing after
 * the last record. *err (may be NULL) gets the dns_err code behind a FORMERR.
 */
enum dns_query_verdict dns_query_parse(const uint8_t *pkt, size_t len,
	struct dns_query *q, int *err);

/* Mnemonic of a type ("A", "TYPE65280" for unknown); buf needs 16 bytes. */
const char *dns_type_name(uint16_t type, char *buf);
/* Type from its mnemonic or TYPEnnn, case-insensitive; DNS_E_NOTFOUND if unknown. */
int dns_type_from_str(const char *s);
/* Mnemonic of an rcode ("NOERROR", "RCODE23"); buf needs 16 bytes. */
const char *dns_rcode_name(unsigned rcode, char *buf);

#endif
