/*
 * rsv_select.c -- per-server RTT, backoff and hold-down; server choice.
 */
#include "rsv_select.h"

#include <arpa/inet.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dns_err.h"
#include "dns_hash.h"

struct slot {
	bool used;
	struct rsv_addr addr;
	uint32_t srtt, rttvar, rto;
	bool measured;
	uint16_t timeouts;
	uint64_t held_until;
	uint8_t quirks;
	uint64_t touched;  /* last time it was created or updated (ms): LRU in its set */
};

/* Slots per set: a server shares its set with WAYS-1 others before one is
 * forgotten, so two busy servers that hash alike keep their RTTs. */
#define WAYS 4

struct rsv_select {
	const struct dns_mm *mm;
	struct rsv_select_opts opts;
	pthread_mutex_t lock;
	struct slot *slots;  /* nsets * WAYS */
	size_t nsets;
};

bool rsv_addr_eq(const struct rsv_addr *a, const struct rsv_addr *b)
{
	if (a->family != b->family || a->port != b->port)
		return false;
	return memcmp(a->ip, b->ip, a->family == 4 ? 4 : 16) == 0;
}

int rsv_addr_parse(const char *text, struct rsv_addr *out)
{
	char buf[80];
	const char *host = text;
	unsigned long port = 53;
	memset(out, 0, sizeof(*out));
	if (strlen(text) >= sizeof(buf))
		return DNS_E_SYNTAX;
	strcpy(buf, text);
	if (buf[0] == '[') {
		char *end = strchr(buf, ']');
		if (!end)
			return DNS_E_SYNTAX;
		*end = '\0';
		host = buf + 1;
		if (end[1] == ':')
			port = strtoul(end + 2, NULL, 10);
		else if (end[1] != '\0')
			return DNS_E_SYNTAX;
	} else {
		char *at = strchr(buf, '@');
		if (at) {
			*at = '\0';
			port = strtoul(at + 1, NULL, 10);
		}
		host = buf;
	}
	if (port == 0 || port > 65535)
		return DNS_E_SYNTAX;
	out->port = (uint16_t)port;
	if (inet_pton(AF_INET, host, out->ip) == 1) {
		out->family = 4;
		return 0;
	}
	if (inet_pton(AF_INET6, host, out->ip) == 1) {
		out->family = 6;
		return 0;
	}
	return DNS_E_SYNTAX;
}

const char *rsv_addr_str(const struct rsv_addr *a, char *buf, size_t size)
{
	char ip[INET6_ADDRSTRLEN];
	if (!inet_ntop(a->family == 4 ? AF_INET : AF_INET6, a->ip, ip, sizeof(ip)))
		strcpy(ip, "?");
	if (a->port == 53)
		snprintf(buf, size, "%s", ip);
	else if (a->family == 4)
		snprintf(buf, size, "%s@%u", ip, a->port);
	else
		snprintf(buf, size, "[%s]:%u", ip, a->port);
	return buf;
}

void rsv_select_opts_default(struct rsv_select_opts *o)
{
	o->rto_init = 400;
	o->rto_min = 50;
	o->rto_max = 10000;
	o->hold_after = 3;
	o->hold_ms = 15000;
	o->explore_permille = 30;
	o->tie_random = true;
	o->slots = 4096;
}

int rsv_select_new(const struct dns_mm *mm, const struct rsv_select_opts *opts,
	struct rsv_select **out)
{
	if (opts->slots == 0 || opts->rto_init == 0 || opts->rto_max < opts->rto_min)
		return -EINVAL;
	struct rsv_select *s = mm_calloc(mm, 1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->nsets = (opts->slots + WAYS - 1) / WAYS;
	s->slots = mm_calloc(mm, s->nsets * WAYS, sizeof(*s->slots));
	if (!s->slots) {
		mm_free(mm, s);
		return -ENOMEM;
	}
	s->mm = mm;
	s->opts = *opts;
	pthread_mutex_init(&s->lock, NULL);
	*out = s;
	return 0;
}

void rsv_select_free(struct rsv_select *s)
{
	if (!s)
		return;
	pthread_mutex_destroy(&s->lock);
	mm_free(s->mm, s->slots);
	mm_free(s->mm, s);
}

const struct rsv_select_opts *rsv_select_opts(const struct rsv_select *s)
{
	return &s->opts;
}

/* FNV-1a over the address: the table is not keyed by client-chosen data
 * (server addresses come from referrals), collisions only cost a re-measure. */
static size_t slot_index(const struct rsv_select *s, const struct rsv_addr *a)
{
	uint8_t port[2] = { (uint8_t)(a->port & 0xff), (uint8_t)(a->port >> 8) };
	uint32_t h = dns_fnv32(DNS_FNV32_INIT, a->ip, a->family == 4 ? 4 : 16);
	h = dns_fnv32(h, port, sizeof(port));
	return (h % s->nsets) * WAYS;
}

/*
 * The slot of addr, or NULL. With create, a missing server takes a free slot
 * of its set, else the one updated longest ago (now stamps it). Lock held.
 */
static struct slot *slot_get(struct rsv_select *s, const struct rsv_addr *a, bool create,
	uint64_t now)
{
	struct slot *set = &s->slots[slot_index(s, a)];
	struct slot *victim = NULL;
	for (unsigned i = 0; i < WAYS; i++) {
		struct slot *sl = &set[i];
		if (sl->used && rsv_addr_eq(&sl->addr, a)) {
			if (create)
				sl->touched = now;
			return sl;
		}
		if (!victim || (victim->used && (!sl->used || sl->touched < victim->touched)))
			victim = sl;
	}
	if (!create)
		return NULL;
	memset(victim, 0, sizeof(*victim));
	victim->used = true;
	victim->addr = *a;
	victim->rto = s->opts.rto_init;
	victim->touched = now;
	return victim;
}

static void fill_info(const struct rsv_select *s, const struct slot *sl, uint64_t now,
	struct rsv_srv_info *out)
{
	memset(out, 0, sizeof(*out));
	if (!sl) {
		out->rto = s->opts.rto_init;
		return;
	}
	out->known = true;
	out->srtt = sl->srtt;
	out->rttvar = sl->rttvar;
	out->rto = sl->rto;
	out->timeouts = sl->timeouts;
	out->held_until = sl->held_until > now ? sl->held_until : 0;
	out->no_edns = sl->quirks & RSV_QUIRK_NO_EDNS;
	out->no_0x20 = sl->quirks & RSV_QUIRK_NO_0X20;
}

void rsv_select_get(struct rsv_select *s, const struct rsv_addr *addr, uint64_t now,
	struct rsv_srv_info *out)
{
	pthread_mutex_lock(&s->lock);
	fill_info(s, slot_get(s, addr, false, now), now, out);
	pthread_mutex_unlock(&s->lock);
}

int rsv_select_choose(struct rsv_select *s, const struct rsv_addr *cand, size_t n,
	const bool *skip, const struct dns_rng *rng, uint64_t now)
{
	int best = -1, best_held = -1;
	uint32_t best_rto = 0;
	uint64_t best_release = 0;
	unsigned ties = 0, live = 0;
	pthread_mutex_lock(&s->lock);
	for (size_t i = 0; i < n; i++) {
		if (skip && skip[i])
			continue;
		struct rsv_srv_info in;
		fill_info(s, slot_get(s, &cand[i], false, now), now, &in);
		if (in.held_until) {
			if (best_held < 0 || in.held_until < best_release) {
				best_held = (int)i;
				best_release = in.held_until;
			}
			continue;
		}
		live++;
		if (best < 0 || in.rto < best_rto) {
			best = (int)i;
			best_rto = in.rto;
			ties = 1;
		} else if (in.rto == best_rto && s->opts.tie_random) {
			/* reservoir sampling among equals: each tie equally likely */
			ties++;
			if (dns_rng_uniform(rng, ties) == 0)
				best = (int)i;
		}
	}
	pthread_mutex_unlock(&s->lock);
	if (best < 0)
		return best_held;
	if (live > 1 && s->opts.explore_permille &&
	    dns_rng_uniform(rng, 1000) < s->opts.explore_permille) {
		unsigned k = dns_rng_uniform(rng, live);
		pthread_mutex_lock(&s->lock);
		for (size_t i = 0; i < n; i++) {
			if (skip && skip[i])
				continue;
			struct rsv_srv_info in;
			fill_info(s, slot_get(s, &cand[i], false, now), now, &in);
			if (in.held_until)
				continue;
			if (k-- == 0) {
				best = (int)i;
				break;
			}
		}
		pthread_mutex_unlock(&s->lock);
	}
	return best;
}

uint32_t rsv_select_timeout_ms(struct rsv_select *s, const struct rsv_addr *addr, uint64_t now)
{
	struct rsv_srv_info in;
	rsv_select_get(s, addr, now, &in);
	return in.rto;
}

void rsv_select_rtt(struct rsv_select *s, const struct rsv_addr *addr, uint32_t rtt_ms, uint64_t now)
{
	pthread_mutex_lock(&s->lock);
	struct slot *sl = slot_get(s, addr, true, now);
	if (!sl->measured) {
		/* RFC 6298 2.2: first measurement */
		sl->srtt = rtt_ms;
		sl->rttvar = rtt_ms / 2;
		sl->measured = true;
	} else {
		/* RFC 6298 2.3 */
		uint32_t d = sl->srtt > rtt_ms ? sl->srtt - rtt_ms : rtt_ms - sl->srtt;
		sl->rttvar = (3 * sl->rttvar + d) / 4;
		sl->srtt = (7 * sl->srtt + rtt_ms) / 8;
	}
	uint64_t rto = (uint64_t)sl->srtt + 4 * (uint64_t)sl->rttvar;
	if (rto < s->opts.rto_min)
		rto = s->opts.rto_min;
	if (rto > s->opts.rto_max)
		rto = s->opts.rto_max;
	sl->rto = (uint32_t)rto;
	sl->timeouts = 0;
	sl->held_until = 0;
	pthread_mutex_unlock(&s->lock);
}

void rsv_select_timeout(struct rsv_select *s, const struct rsv_addr *addr, uint64_t now)
{
	pthread_mutex_lock(&s->lock);
	struct slot *sl = slot_get(s, addr, true, now);
	/* RFC 6298 5.5: back off by doubling */
	uint64_t rto = (uint64_t)sl->rto * 2;
	sl->rto = rto > s->opts.rto_max ? s->opts.rto_max : (uint32_t)rto;
	if (sl->timeouts < UINT16_MAX)
		sl->timeouts++;
	if (s->opts.hold_after && sl->timeouts >= s->opts.hold_after)
		sl->held_until = now + s->opts.hold_ms;
	pthread_mutex_unlock(&s->lock);
}

void rsv_select_set_quirk(struct rsv_select *s, const struct rsv_addr *addr, unsigned quirk, uint64_t now)
{
	pthread_mutex_lock(&s->lock);
	struct slot *sl = slot_get(s, addr, true, now);
	sl->quirks |= (uint8_t)quirk;
	pthread_mutex_unlock(&s->lock);
}
