/*
 * replay.h -- scripted upstream answers and a fake clock for the iterator.
 *
 * A scenario file (tests/fixtures/replay/NAME.rpl) is plain text, one command a
 * line, ';' starts a comment:
 *
 *   HINT name addr                     a root hint (repeatable; port via addr@port)
 *   CONFIG key value                   qname_min|use_0x20 on|off, max_upstream,
 *                                      max_ns_lookups, max_referrals, max_cname,
 *                                      budget_ms, explore (permille), tie_random|ipv6 on|off
 *   QUERY name type [noedns]           a client query; starts a request at the current time
 *   STEP n QUERY_EXPECT addr type name [tcp] [noedns] [nocase]
 *                                      the iterator must send this next (name compared
 *                                      without case; nocase: sent all lower-case)
 *   STEP n REPLY [from addr] [badid] [lowercase] [noopt] [drop]
 *     FLAGS AA TC                      then the reply's body, up to END:
 *     RCODE NXDOMAIN                   header flags, rcode, and records in zone-file
 *     ANSWER | AUTHORITY | ADDITIONAL  syntax under section markers. The reply echoes
 *     <records>                        the query's ID and question (case kept) unless
 *   END                                badid/lowercase; "drop": it must be rejected
 *   STEP n TIMEOUT                     the query in flight times out (clock advances)
 *   STEP n TIME_PASSES ms              the fake clock advances
 *   STEP n CHECK_TIME ms               ms elapsed since the QUERY
 *   STEP n CHECK_TIMEOUT ms            the timeout the iterator set for the last query
 *   CHECK_ANSWER                       the request must be done, with this answer
 *     RCODE X / sections / records     (records compared with their TTLs, any order)
 *   END
 *   CHECK_TRUNCATED cap                the answer written in cap bytes has TC set and fits
 *   CHECK_STATS key n                  upstream|timeouts|forged|case_drop|scrubbed|cache_hits
 *   CHECK_CACHE name type present|absent
 *   CHECK_TRACE text                   the iterator's trace (what --trace prints) has text
 *
 * The runner drives rsv_req_produce()/rsv_req_consume() and fails on the first
 * difference, with the file, the line and the iterator's trace.
 */
#ifndef CAIRN_TEST_REPLAY_H
#define CAIRN_TEST_REPLAY_H

#include <stddef.h>

/* Run one scenario; 0 if it passed, else -1 with a message in err. */
int replay_run_file(const char *path, char *err, size_t errlen);

#endif
