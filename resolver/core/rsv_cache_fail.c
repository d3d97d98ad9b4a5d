/*
 * rsv_cache_fail.c -- the failure cache (RFC 9520): questions and servers that
 * failed, held down for a time that doubles on each repeat, so repeats fail at
 * once instead of hammering the servers again.
 */
#include <errno.h>
#include <string.h>

#include "dns_err.h"
#include "rsv_cache_impl.h"

#define SRV_ADDR_MAX 32 /* bytes of a server address key (rsv_cache.h) */
#define FAIL_SHIFT_MAX 20 /* doublings of the hold-down remembered (it is capped anyway) */

static int fail_mark(struct rsv_cache *c, const uint8_t *key, size_t klen, uint8_t kind,
	uint64_t now, uint64_t *until)
{
	uint64_t h = hash_key(c, key, klen);
	struct shard *s = shard_of(c, h);
	int rc = 0;
	pthread_mutex_lock(&s->lock);
	struct entry *e = shard_find_live(c, s, h, key, klen, now);
	if (!e) {
		size_t charge = sizeof(*e) + klen + ENTRY_OVERHEAD;
		if (charge > s->max_bytes || !(e = mm_alloc(c->mm, sizeof(*e) + klen))) {
			rc = charge > s->max_bytes ? DNS_E_SPACE : -ENOMEM;
			goto out;
		}
		memset(e, 0, sizeof(*e));
		rsv_entry_key_set(e, key, klen, kind, h, now);
		e->charge = (uint32_t)charge;
		e->v.fail_until = now + c->o.fail_min_ms;
		e->fail_count = 1;
		e->expire = e->v.fail_until + c->o.fail_max_ms;
		rsv_entry_link(c, s, e, NULL, now);
	} else if (now >= e->v.fail_until) {
		/*
		 * A repeat after the hold-down ended: back off further. Failures reported
		 * while still held down (queries that were already in flight) do not
		 * count, or one outage would jump straight to the cap.
		 */
		if (e->fail_count < FAIL_SHIFT_MAX)
			e->fail_count++;
		uint64_t d = (uint64_t)c->o.fail_min_ms << (e->fail_count - 1);
		if (d > c->o.fail_max_ms)
			d = c->o.fail_max_ms;
		e->v.fail_until = now + d;
		e->expire = e->v.fail_until + c->o.fail_max_ms;
		rsv_lru_touch(s, e);
	}
	if (until)
		*until = e->v.fail_until;
out:
	pthread_mutex_unlock(&s->lock);
	return rc;
}

static int fail_check(struct rsv_cache *c, const uint8_t *key, size_t klen, uint64_t now)
{
	uint64_t h = hash_key(c, key, klen);
	struct shard *s = shard_of(c, h);
	int rc = DNS_E_NOTFOUND;
	pthread_mutex_lock(&s->lock);
	struct entry *e = shard_find_live(c, s, h, key, klen, now);
	if (e && now < e->v.fail_until) {
		s->st.fail_hits++;
		rc = 0;
	}
	pthread_mutex_unlock(&s->lock);
	return rc;
}

int rsv_cache_fail_mark(struct rsv_cache *c, const uint8_t *name, uint16_t type,
	uint16_t rclass, uint64_t now, uint64_t *until)
{
	uint8_t key[KEY_MAX];
	size_t klen = key_name(key, E_FAIL, name, type, rclass);
	return fail_mark(c, key, klen, E_FAIL, now, until);
}

int rsv_cache_fail_check(struct rsv_cache *c, const uint8_t *name, uint16_t type,
	uint16_t rclass, uint64_t now)
{
	uint8_t key[KEY_MAX];
	size_t klen = key_name(key, E_FAIL, name, type, rclass);
	return fail_check(c, key, klen, now);
}

void rsv_cache_fail_clear(struct rsv_cache *c, const uint8_t *name, uint16_t type,
	uint16_t rclass)
{
	uint8_t key[KEY_MAX];
	rsv_cache_key_remove(c, key, key_name(key, E_FAIL, name, type, rclass));
}

static int srv_key(uint8_t *key, const void *addr, size_t len)
{
	if (len > SRV_ADDR_MAX)
		return -EINVAL;
	key[0] = E_SRVFAIL;
	memcpy(key + 1, addr, len);
	return (int)len + 1;
}

int rsv_cache_server_fail_mark(struct rsv_cache *c, const void *addr, size_t len,
	uint64_t now, uint64_t *until)
{
	uint8_t key[1 + SRV_ADDR_MAX];
	int klen = srv_key(key, addr, len);
	return klen < 0 ? klen : fail_mark(c, key, (size_t)klen, E_SRVFAIL, now, until);
}

int rsv_cache_server_fail_check(struct rsv_cache *c, const void *addr, size_t len,
	uint64_t now)
{
	uint8_t key[1 + SRV_ADDR_MAX];
	int klen = srv_key(key, addr, len);
	return klen < 0 ? klen : fail_check(c, key, (size_t)klen, now);
}
