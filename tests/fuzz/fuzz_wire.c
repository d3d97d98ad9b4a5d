/*
 * fuzz_wire.c -- libFuzzer target for the common wire parser: query parsing
 * (header, question, compression pointers, OPT/ECS/cookies), then re-encoding
 * what was parsed with the writer, which must never fail on a parsed query.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "dns_cursor.h"
#include "dns_err.h"
#include "dns_name.h"
#include "dns_pkt.h"
#include "dns_writer.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dns_query q;
	int err;
	enum dns_query_verdict v = dns_query_parse(data, size, &q, &err);

	if (v == DNS_QUERY_OK || (v != DNS_QUERY_DROP && q.qname_len > 0)) {
		/* A parsed name is a valid name: every helper must accept it. */
		require(dns_name_check(q.qname, q.qname_len) == 0);
		require(dns_name_len(q.qname) == q.qname_len);
		char text[DNS_NAME_TEXT_MAX];
		uint8_t back[DNS_NAME_MAX], low[DNS_NAME_MAX];
		size_t blen;
		require(dns_name_to_str(q.qname, text, sizeof(text)) > 0);
		require(dns_name_from_str(text, NULL, back, &blen) == 0);
		require(dns_name_eq(back, q.qname) && blen == q.qname_len);
		dns_name_lower(low, q.qname);
		require(dns_name_cmp(low, q.qname) == 0);

		uint8_t out[DNS_MSG_MAX];
		struct dns_writer w;
		dns_writer_init(&w, out, sizeof(out));
		require(dns_writer_question(&w, q.qname, q.qtype, q.qclass) == 0);
		dns_writer_section(&w, DNS_SEC_ANSWER);
		require(dns_writer_rr(&w, q.qname, DNS_T_CNAME, DNS_CLASS_IN, 0, low,
			(uint16_t)q.qname_len) == 0);
		if (v == DNS_QUERY_OK && q.has_opt && q.edns.has_ecs) {
			uint8_t opt[64];
			opt[0] = 0, opt[1] = DNS_OPT_ECS;
			int n = dns_ecs_write(&q.edns.ecs, opt + 4, sizeof(opt) - 4);
			require(n > 0);
			opt[2] = 0, opt[3] = (uint8_t)n;
			require(dns_writer_opt(&w, 1232, 0, 0, opt, (uint16_t)(n + 4)) == 0);
		}
		size_t len = dns_writer_finish(&w, q.hdr.id, DNS_FLAG_QR);

		/* What we wrote must parse back as a response with the same name. */
		struct dns_cursor c;
		uint8_t name[DNS_NAME_MAX];
		dns_cursor_init(&c, out, len);
		c.pos = DNS_HEADER_LEN;
		require(dns_cursor_name(&c, name, NULL) == 0 && dns_name_eq(name, q.qname));
		require(dns_cursor_skip(&c, 4) == 0);
		require(dns_cursor_name(&c, name, NULL) == 0 && dns_name_eq(name, q.qname));
	}
	return 0;
}
