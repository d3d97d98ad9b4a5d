/*
 * fuzz_zone.c -- libFuzzer target for the zone file loader (ldns parsing plus
 * our directives and load checks). Inputs are zone text for origin fuzz.test.;
 * a zone that loads must then iterate cleanly in AXFR order.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "auth_zone.h"
#include "dns_err.h"
#include "dns_mem.h"
#include "dns_name.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint8_t origin[] = "\4fuzz\4test";
	char *text, err[2048];
	struct auth_zone *z = NULL;

	if (size > 64 * 1024)
		return 0;
	text = malloc(size + 1);
	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	/* $INCLUDE (any case) only meets "cannot read": text in memory has no
	 * reader (auth_zone_load_string). Not what is fuzzed. */
	if (strcasestr(text, "$include")) {
		free(text);
		return 0;
	}
	err[0] = '\0';
	int r = auth_zone_load_string(dns_mm_std(), origin, text, "fuzz.zone", &z, err, sizeof(err));
	if (r == 0) {
		struct auth_zone_iter it;
		struct auth_rr_view rr;
		size_t n = 0;
		auth_zone_iter_init(&it, z);
		while (auth_zone_iter_next(&it, &rr)) {
			require(dns_name_is_sub(rr.owner, origin));
			n++;
		}
		require(n == auth_zone_rr_count(z) + 1); /* the SOA comes twice */
		auth_zone_unref(z);
	} else {
		require(r < 0 && z == NULL);
	}
	free(text);
	return 0;
}
