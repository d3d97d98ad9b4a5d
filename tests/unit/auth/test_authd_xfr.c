/*
 * test_authd_xfr.c -- the replication shell (authoritative/io/authd_xfr.c) on
 * one libuv loop, against a scripted primary and secondary on 127.56.0.1.
 *
 * The server it plugs into is a stub (this file's struct authd_xfr_host and
 * its three callbacks). The fake primary answers SOA queries
 * and AXFRs from whatever zone the test sets; the fake secondary counts
 * NOTIFYs and answers only the one the test chooses. Zones use SOA timers of
 * 1 s so refreshes and retries happen within the test. Everything is closed at
 * the end and uv_loop_close() must succeed.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "auth_xfr.h"
#include "auth_zone.h"
#include "authd_xfr.h"
#include "authd_zonefile.h"
#include "dns_config.h"
#include "dns_err.h"
#include "dns_listen.h"
#include "dns_log.h"
#include "dns_pkt.h"

#define HOST "127.56.0.1"

/* ---- the stub server ---- */

struct stub_server {
	uv_loop_t loop;
	struct authd_config cfg;
	struct auth_zoneset *set; /* serving set */
	unsigned replaced;        /* replace_zone() calls */
	unsigned expired;         /* expire_zone() calls */
};

static struct auth_zoneset *stub_zones(void *ctx)
{
	struct stub_server *s = ctx;
	return s->set ? auth_zoneset_ref(s->set) : NULL;
}

static int stub_replace_zone(void *ctx, struct auth_zone *z)
{
	struct stub_server *s = ctx;
	struct auth_zoneset_builder *b;
	struct auth_zoneset *set;
	assert_int_equal(auth_zoneset_builder_new(dns_mm_std(), &b), 0);
	assert_int_equal(auth_zoneset_builder_add(b, z), 0);
	for (size_t i = 0; s->set && i < auth_zoneset_count(s->set); i++) {
		struct auth_zone *o = auth_zoneset_at(s->set, i);
		if (!dns_name_eq(auth_zone_origin(o), auth_zone_origin(z)))
			assert_int_equal(auth_zoneset_builder_add(b, o), 0);
	}
	assert_int_equal(auth_zoneset_builder_finish(b, &set), 0);
	auth_zoneset_unref(s->set);
	s->set = set;
	s->replaced++;
	return 0;
}

static int stub_expire_zone(void *ctx, const uint8_t *origin)
{
	struct stub_server *s = ctx;
	(void)origin;
	s->expired++;
	return 0;
}

/* The callbacks authd_xfr is started with. */
static struct authd_xfr_host stub_host(struct stub_server *s)
{
	return (struct authd_xfr_host){.loop = &s->loop, .cfg = &s->cfg, .ctx = s,
		.zones = stub_zones, .replace_zone = stub_replace_zone,
		.expire_zone = stub_expire_zone};
}

/* ---- the fake peers ---- */

struct peers {
	struct auth_zone *zone;  /* what the primary serves (NULL: REFUSED) */
	bool bad_id;             /* AXFR answers carry a wrong ID */
	unsigned soa_queries;    /* SOA queries received */
	unsigned axfrs;          /* AXFR queries received */
	unsigned notifies;       /* NOTIFYs received by the secondary */
	unsigned notify_answer_at; /* answer the NOTIFY number n (1-based) */
	unsigned notify_answered;
	uint16_t notify_ids[8];
};

static struct peers P;

static void primary_cb(void *ctx, struct dns_listen_req *req, const uint8_t *pkt, size_t len)
{
	struct dns_query q;
	uint8_t *buf = dns_listen_req_buf(req);
	int n;
	(void)ctx;

	assert_non_null(buf);
	assert_int_equal(dns_query_parse(pkt, len, &q, NULL), DNS_QUERY_OK);
	if (q.qtype == DNS_T_SOA) {
		P.soa_queries++;
		n = P.zone ? auth_xfr_soa_only_write(buf, DNS_LISTEN_MSG_MAX, &q, P.zone) :
			auth_xfr_reply_write(buf, DNS_LISTEN_MSG_MAX, &q, DNS_RC_REFUSED);
		assert_true(n > 0);
		dns_listen_reply(req, buf, (size_t)n);
	} else if (q.qtype == DNS_T_AXFR) {
		struct auth_axfr_out o;
		P.axfrs++;
		assert_int_equal(dns_listen_req_transport(req), DNS_TRANSPORT_TCP);
		auth_axfr_out_init(&o, P.zone, &q);
		/* Small messages: the secondary must put several together. */
		while ((n = auth_axfr_out_next(&o, buf, 300)) > 0) {
			if (P.bad_id)
				buf[1] ^= 1;
			dns_listen_reply(req, buf, (size_t)n);
		}
		assert_int_equal(n, 0);
	}
	dns_listen_done(req);
}

static void secondary_cb(void *ctx, struct dns_listen_req *req, const uint8_t *pkt, size_t len)
{
	struct dns_query q;
	uint8_t buf[512];
	(void)ctx;

	assert_int_equal(dns_query_parse(pkt, len, &q, NULL), DNS_QUERY_OK);
	assert_int_equal(DNS_OPCODE(q.hdr.flags), DNS_OP_NOTIFY);
	if (P.notifies < 8)
		P.notify_ids[P.notifies] = q.hdr.id;
	P.notifies++;
	if (P.notifies == P.notify_answer_at) {
		int n = auth_xfr_reply_write(buf, sizeof(buf), &q, DNS_RC_NOERROR);
		dns_listen_reply(req, buf, (size_t)n);
		P.notify_answered++;
	}
	dns_listen_done(req);
}

static struct auth_zone *zone_expire(const char *origin, unsigned serial, unsigned expire)
{
	char text[4096];
	uint8_t o[DNS_NAME_MAX];
	struct auth_zone *z = NULL;
	char err[512];
	int n = snprintf(text, sizeof(text),
		"$ORIGIN %s\n$TTL 60\n@ SOA ns1 hostmaster %u 1 1 %u 30\n@ NS ns1\n"
		"ns1 A 192.0.2.1\nwww A 192.0.2.%u\ntxt TXT \"serial %u\"\n",
		origin, serial, expire, serial, serial);
	for (unsigned i = 0; i < 40; i++)
		n += snprintf(text + n, sizeof(text) - (size_t)n, "h%u MX 10 www\n", i);
	assert_int_equal(dns_name_from_str(origin, NULL, o, NULL), 0);
	if (auth_zone_load_string(dns_mm_std(), o, text, "test", &z, err, sizeof(err)) != 0)
		fail_msg("%s", err);
	return z;
}

static struct auth_zone *zone(const char *origin, unsigned serial)
{
	return zone_expire(origin, serial, 60);
}

/* ---- running the loop ---- */

static void guard_cb(uv_timer_t *t) { *(bool *)t->data = true; }

/* Run the loop until cond() holds; fail after ms milliseconds. */
static void run_until(uv_loop_t *loop, bool (*cond)(void *), void *arg, unsigned ms,
	const char *what)
{
	uv_timer_t guard;
	bool late = false;
	uv_timer_init(loop, &guard);
	guard.data = &late;
	uv_timer_start(&guard, guard_cb, ms, 0);
	while (!cond(arg) && !late)
		uv_run(loop, UV_RUN_ONCE);
	uv_close((uv_handle_t *)&guard, NULL);
	uv_run(loop, UV_RUN_NOWAIT);
	if (!cond(arg))
		fail_msg("timed out waiting for %s", what);
}

static struct stub_server S;

static uint32_t served_serial(const char *origin)
{
	uint8_t o[DNS_NAME_MAX];
	dns_name_from_str(origin, NULL, o, NULL);
	struct auth_zone *z = S.set ? auth_zoneset_get(S.set, o) : NULL;
	return z ? auth_zone_serial(z) : 0;
}

static bool serving_2(void *a) { (void)a; return served_serial("s.test.") == 2; }
static bool serving_1(void *a) { (void)a; return served_serial("s.test.") == 1; }
static bool axfrs_at_least(void *a) { return P.axfrs >= *(unsigned *)a; }
static bool soas_at_least(void *a) { return P.soa_queries >= *(unsigned *)a; }
static bool notify_answered(void *a) { (void)a; return P.notify_answered > 0; }

/* Start the fake primary: UDP and TCP on one port of HOST, written to paddr. */
static void primary_start(struct dns_listener **pu, struct dns_listener **pt,
	struct sockaddr_storage *paddr)
{
	struct dns_listen_opts po = { .query_cb = primary_cb };
	assert_int_equal(dns_addr_parse(HOST "@0", 0, paddr), 0);
	assert_int_equal(dns_listener_start(pu, &S.loop, (struct sockaddr *)paddr,
		DNS_TRANSPORT_UDP, &po, 0), 0);
	dns_listener_addr(*pu, paddr);
	assert_int_equal(dns_listener_start(pt, &S.loop, (struct sockaddr *)paddr,
		DNS_TRANSPORT_TCP, &po, 0), 0);
}

/* The stub server's `listen` address, HOST@53, in listen_addr: the shell
 * takes the source address of its queries to the peers from it. */
static void stub_listen_conf(struct sockaddr_storage *listen_addr)
{
	assert_int_equal(dns_addr_parse(HOST "@53", 0, listen_addr), 0);
	S.cfg.listen.items = listen_addr;
	S.cfg.listen.n = 1;
}

/* Steps 1 to 4 of test_secondary_and_notify once authd_xfr has started: the
 * first AXFR, REFRESH, a new serial, a broken transfer. path is the kept copy
 * of the secondary zone origin. */
static void secondary_steps(const uint8_t *origin, const char *path)
{
	run_until(&S.loop, serving_1, NULL, 15000, "serial 1 by AXFR");
	assert_int_equal(P.soa_queries, 0);
	assert_int_equal(P.axfrs, 1);
	assert_int_equal(S.replaced, 1);
	/* The kept copy is the zone. */
	struct auth_zone *kept = NULL;
	char err[512];
	assert_int_equal(authd_zonefile_load(dns_mm_std(), origin, path, &kept, err,
		sizeof(err)), 0);
	assert_int_equal(auth_zone_serial(kept), 1);
	assert_int_equal(auth_zone_rr_count(kept), auth_zone_rr_count(P.zone));
	auth_zone_unref(kept);

	/* 2. REFRESH (1 s): same serial, a SOA query and no transfer. */
	unsigned want = 1;
	run_until(&S.loop, soas_at_least, &want, 15000, "a SOA query after REFRESH");
	assert_int_equal(P.axfrs, 1);

	/* 3. A new serial at the primary: picked up on the next check. */
	auth_zone_unref(P.zone);
	P.zone = zone("s.test.", 2);
	run_until(&S.loop, serving_2, NULL, 15000, "serial 2 after REFRESH");
	assert_int_equal(P.axfrs, 2);

	/* 4. A broken transfer of serial 3 (wrong message IDs) is rejected:
	 * serial 2 stays, and RETRY brings another attempt. */
	auth_zone_unref(P.zone);
	P.zone = zone("s.test.", 3);
	P.bad_id = true;
	want = 4;
	run_until(&S.loop, axfrs_at_least, &want, 15000, "a second AXFR of the broken zone");
	assert_int_equal(served_serial("s.test."), 2);
	assert_int_equal(S.replaced, 2);
	assert_int_equal(authd_zonefile_load(dns_mm_std(), origin, path, &kept, err,
		sizeof(err)), 0);
	assert_int_equal(auth_zone_serial(kept), 2);
	auth_zone_unref(kept);
}

static void test_secondary_and_notify(void **state)
{
	struct dns_listener *pu, *pt, *su;
	struct sockaddr_storage paddr, saddr, listen_addr;
	struct dns_listen_opts so = { .query_cb = secondary_cb };
	struct authd_zone_conf zc[2];
	struct authd_xfr *x = NULL;
	char dir[] = "/tmp/test_authd_xfr.XXXXXX", path[256];
	(void)state;

	dns_log_setup("test_authd_xfr", DNS_LOG_WARN);
	memset(&S, 0, sizeof(S));
	memset(&P, 0, sizeof(P));
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/s.test.zone", dir);
	assert_int_equal(uv_loop_init(&S.loop), 0);

	/* The fake primary: UDP and TCP on one port; the fake secondary on another. */
	primary_start(&pu, &pt, &paddr);
	assert_int_equal(dns_addr_parse(HOST "@0", 0, &saddr), 0);
	assert_int_equal(dns_listener_start(&su, &S.loop, (struct sockaddr *)&saddr,
		DNS_TRANSPORT_UDP, &so, 0), 0);
	dns_listener_addr(su, &saddr);

	/* Zone 0: a secondary of s.test. from the fake primary, kept in path.
	 * Zone 1: p.test., which we are the primary of, NOTIFYing the secondary. */
	memset(zc, 0, sizeof(zc));
	dns_name_from_str("s.test.", NULL, zc[0].origin, NULL);
	strcpy(zc[0].origin_text, "s.test.");
	zc[0].file = path;
	zc[0].has_primary = true;
	zc[0].primary = paddr;
	dns_name_from_str("p.test.", NULL, zc[1].origin, NULL);
	strcpy(zc[1].origin_text, "p.test.");
	zc[1].notify[0] = saddr;
	zc[1].n_notify = 1;
	S.cfg.zones = zc;
	S.cfg.n_zones = 2;
	stub_listen_conf(&listen_addr);

	/* 1. No copy: the first thing is an AXFR (no SOA query). */
	P.zone = zone("s.test.", 1);
	struct authd_xfr_host host = stub_host(&S);
	assert_int_equal(authd_xfr_start(&host, &x), 0);
	secondary_steps(zc[0].origin, path);

	/* 5. NOTIFY out: unanswered, retried with the same ID, answered the 2nd time. */
	struct auth_zone *pz = zone("p.test.", 9);
	P.notify_answer_at = 2;
	authd_xfr_zone_changed(x, pz);
	run_until(&S.loop, notify_answered, NULL, 15000, "the NOTIFY answered");
	assert_int_equal(P.notifies, 2);
	assert_int_equal(P.notify_ids[0], P.notify_ids[1]);
	auth_zone_unref(pz);

	/* Close everything; the loop must end empty. */
	authd_xfr_close(x);
	dns_listener_close(pu);
	dns_listener_close(pt);
	dns_listener_close(su);
	uv_run(&S.loop, UV_RUN_DEFAULT);
	assert_int_equal(uv_loop_close(&S.loop), 0);
	auth_zone_unref(P.zone);
	auth_zoneset_unref(S.set);
	unlink(path);
	rmdir(dir);
}

static bool expired_once(void *a) { (void)a; return S.expired > 0; }

/* A kept copy at start-up is served and checked with a SOA query first; a
 * primary that refuses it leaves the copy in place -- until EXPIRE, when the
 * server is told to stop serving it (expire_s 0: not waited for). */
static void kept_copy_refused(unsigned expire_s)
{
	struct dns_listener *pu, *pt;
	struct sockaddr_storage paddr, listen_addr;
	struct authd_zone_conf zc;
	struct authd_xfr *x = NULL;
	struct auth_zoneset_builder *b;

	memset(&S, 0, sizeof(S));
	memset(&P, 0, sizeof(P));
	assert_int_equal(uv_loop_init(&S.loop), 0);
	primary_start(&pu, &pt, &paddr);

	memset(&zc, 0, sizeof(zc));
	dns_name_from_str("s.test.", NULL, zc.origin, NULL);
	strcpy(zc.origin_text, "s.test.");
	zc.file = NULL; /* nothing kept on disk in this test */
	zc.has_primary = true;
	zc.primary = paddr;
	S.cfg.zones = &zc;
	S.cfg.n_zones = 1;
	stub_listen_conf(&listen_addr);

	/* Serving serial 1 from "disk" already. */
	struct auth_zone *z1 = zone_expire("s.test.", 1, expire_s ? expire_s : 60);
	assert_int_equal(auth_zoneset_builder_new(dns_mm_std(), &b), 0);
	assert_int_equal(auth_zoneset_builder_add(b, z1), 0);
	assert_int_equal(auth_zoneset_builder_finish(b, &S.set), 0);
	auth_zone_unref(z1);

	P.zone = NULL; /* the primary REFUSES */
	struct authd_xfr_host host = stub_host(&S);
	assert_int_equal(authd_xfr_start(&host, &x), 0);
	unsigned want = 2;
	run_until(&S.loop, soas_at_least, &want, 15000, "a SOA query and its RETRY");
	assert_int_equal(P.axfrs, 0);
	assert_int_equal(S.replaced, 0);
	assert_int_equal(served_serial("s.test."), 1);
	if (expire_s) {
		run_until(&S.loop, expired_once, NULL, (expire_s + 10) * 1000, "EXPIRE");
		assert_int_equal(S.expired, 1);
		assert_int_equal(S.replaced, 0);
	} else {
		assert_int_equal(S.expired, 0);
	}

	authd_xfr_close(x);
	dns_listener_close(pu);
	dns_listener_close(pt);
	uv_run(&S.loop, UV_RUN_DEFAULT);
	assert_int_equal(uv_loop_close(&S.loop), 0);
	auth_zoneset_unref(S.set);
}

static void test_kept_copy_refused(void **state)
{
	(void)state;
	kept_copy_refused(0);
}

static void test_kept_copy_expires(void **state)
{
	(void)state;
	kept_copy_refused(3);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_secondary_and_notify),
		cmocka_unit_test(test_kept_copy_refused),
		cmocka_unit_test(test_kept_copy_expires),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
