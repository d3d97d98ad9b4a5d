/*
 * fuzz_map.c -- libFuzzer target for the steering map loader (geo_map.h):
 * arbitrary bytes as map JSON, without GeoIP. A map that loads must answer
 * every steered name for a few clients taken from the input (A and AAAA,
 * ECS prefixes, some replicas down), explain the choice and carry its health
 * over to itself; an error must name the file.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dns_err.h"
#include "dns_rng.h"
#include "geo_map.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void exercise(struct geo_map *m, const uint8_t *data, size_t size)
{
	struct dns_rng rng;
	struct dns_rng_seeded st;
	unsigned nrep = geo_map_replicas(m);
	uint8_t *up = malloc(nrep ? nrep : 1), *up2 = malloc(nrep ? nrep : 1);
	char buf[4096];
	if (!up || !up2)
		goto out;
	dns_rng_seeded_init(&rng, &st, size);
	/* some replicas down, chosen by the input */
	for (unsigned i = 0; i < nrep; i++)
		up[i] = size ? (data[i % size] & 1) : 1;
	for (unsigned i = 0; i < geo_map_names(m) && i < 8; i++) {
		const struct geo_name *n = geo_map_name_at(m, i);
		if (geo_map_find(m, n->owner, n->owner_len) != n)
			abort();
		for (unsigned k = 0; k < 4; k++) {
			struct geo_client c;
			struct geo_answer a;
			struct geo_health_view h = {k & 1 ? up : NULL};
			memset(&c, 0, sizeof(c));
			c.family = k & 2 ? 6 : 4;
			for (unsigned b = 0; b < 16; b++)
				c.addr[b] = size ? data[(b * 7 + k) % size] : 0;
			c.prefix = (uint8_t)(size ? data[k % size] % (c.family == 4 ? 33 : 129) : 0);
			c.from = k & 1 ? GEO_FROM_ECS : GEO_FROM_SOURCE;
			uint16_t qt = k < 2 ? 1 : 28;
			if (geo_select(m, n, qt, &c, h, &rng, &a) != 0)
				abort();
			if (a.n > GEO_ANSWER_MAX || a.n > n->dcs * n->per_dc)
				abort();
			if (a.scope > (c.family == 4 ? 32 : 128))
				abort();
			size_t len = geo_explain(m, n, qt, &c, h, &rng, buf, sizeof(buf));
			if (len >= sizeof(buf) || strlen(buf) != len)
				abort();
		}
	}
	geo_map_carry_health(m, up, m, up2);
	for (unsigned i = 0; i < nrep; i++)
		if (up2[i] != up[i])
			abort();
out:
	free(up);
	free(up2);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct geo_map *m = NULL;
	char err[1024];
	if (size > 256 * 1024)
		return 0;
	err[0] = '\0';
	int rc = geo_map_load_with(dns_mm_std(), (const char *)data, size, "fuzz.json", NULL, &m, err,
		sizeof(err));
	if (rc == 0) {
		exercise(m, data, size);
		geo_map_free(m);
	} else if (m != NULL || strncmp(err, "fuzz.json", 9) != 0) {
		abort();
	}
	return 0;
}
