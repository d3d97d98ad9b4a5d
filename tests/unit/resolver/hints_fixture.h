/*
 * hints_fixture.h -- a root hints file for the tests of the parser (test_select.c)
 * and of the file loader (test_rsvd_config.c): two root servers, one with an IPv6
 * address too, and a record of another name that must be left out (3 hints).
 */
#ifndef CAIRN_TEST_HINTS_FIXTURE_H
#define CAIRN_TEST_HINTS_FIXTURE_H

#define HINTS_FIXTURE \
	"; test hints\n" \
	".                        3600000      NS    A.ROOT.TEST.\n" \
	"A.ROOT.TEST.             3600000      A     127.53.0.1\n" \
	"A.ROOT.TEST.             3600000      AAAA  ::1\n" \
	".                        3600000      NS    B.ROOT.TEST.\n" \
	"B.ROOT.TEST.             3600000      A     127.53.0.2\n" \
	"unrelated.test.          3600000      A     192.0.2.9\n"

#endif
