/*
 * authd_geo_explain.c -- `cairn-auth --explain NAME CLIENT[/PREFIX]`
 * (authd_geo.h): the zones and the map loaded as a start would load them,
 * then geo_explain() printed for A and AAAA with every replica up. Nothing
 * of the running steering state (authd_geo.c) is involved.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "authd_geo.h"
#include "authd_geo_load.h"
#include "authd_config.h"
#include "authd_zonefile.h"
#include "dns_err.h"
#include "dns_name.h"
#include "dns_pkt.h"
#include "dns_rand.h"

static int parse_client(const char *text, struct geo_client *gc)
{
	char buf[INET6_ADDRSTRLEN + 8];
	const char *slash = strchr(text, '/');
	size_t alen = slash ? (size_t)(slash - text) : strlen(text);
	unsigned long prefix = 0;

	memset(gc, 0, sizeof(*gc));
	if (alen == 0 || alen >= sizeof(buf))
		return DNS_E_SYNTAX;
	memcpy(buf, text, alen);
	buf[alen] = '\0';
	if (inet_pton(AF_INET, buf, gc->addr) == 1)
		gc->family = 4;
	else if (inet_pton(AF_INET6, buf, gc->addr) == 1)
		gc->family = 6;
	else
		return DNS_E_SYNTAX;
	unsigned max = gc->family == 4 ? 32 : 128;
	if (slash) {
		char *end;
		errno = 0;
		prefix = strtoul(slash + 1, &end, 10);
		if (!slash[1] || *end || errno || prefix > max)
			return DNS_E_SYNTAX;
		/* an ECS address carries no bits past its prefix (RFC 7871 6) */
		for (unsigned bit = (unsigned)prefix; bit < max; bit++)
			gc->addr[bit / 8] &= (uint8_t)~(0x80u >> (bit % 8));
		gc->prefix = (uint8_t)prefix;
		gc->from = GEO_FROM_ECS;
	} else {
		gc->prefix = (uint8_t)max;
		gc->from = GEO_FROM_SOURCE;
	}
	return 0;
}

/*
 * The zones of cfg as a start loads them (a secondary without its copy yet
 * is not served). 0; -ENOMEM; DNS_E_ZONE once the reason is on stderr.
 */
static int load_zones(const struct authd_config *cfg, struct auth_zoneset **out)
{
	struct auth_zoneset_builder *b = NULL;
	char err[4096];
	int r;

	if (auth_zoneset_builder_new(dns_mm_std(), &b) < 0)
		return -ENOMEM;
	for (unsigned i = 0; i < cfg->n_zones; i++) {
		struct auth_zone *z = NULL;
		err[0] = '\0';
		r = authd_zonefile_load(dns_mm_std(), cfg->zones[i].origin, cfg->zones[i].file, &z,
			err, sizeof(err));
		if (r < 0) {
			if (cfg->zones[i].has_primary)
				continue; /* a secondary without its copy yet: not served */
			fprintf(stderr, "%s%s", err[0] ? err : dns_strerror(r),
				err[0] && err[strlen(err) - 1] == '\n' ? "" : "\n");
			auth_zoneset_builder_free(b);
			return DNS_E_ZONE;
		}
		r = auth_zoneset_builder_add(b, z);
		auth_zone_unref(z);
		if (r < 0) {
			auth_zoneset_builder_free(b);
			return -ENOMEM;
		}
	}
	if (auth_zoneset_builder_finish(b, out) < 0)
		return -ENOMEM;
	return 0;
}

/* One explanation, as the client would get it with every replica up. */
static void print_explain(const struct geo_map *m, const struct geo_name *n, uint16_t qtype,
	const char *name, const char *client, const struct geo_client *gc)
{
	/* nothing has been checked yet: every replica is up */
	struct geo_health_view all_up = {.up = NULL};
	char text[8192];

	geo_explain(m, n, qtype, gc, all_up, dns_rand_rng(), text, sizeof(text));
	printf("%s%s %s, asked by %s (%s):\n%s", qtype == DNS_T_A ? "" : "\n", name,
		qtype == DNS_T_A ? "A" : "AAAA", client,
		gc->from == GEO_FROM_ECS ? "ECS" : "source address", text);
	if (text[0] && text[strlen(text) - 1] != '\n')
		printf("\n");
}

int authd_geo_explain_main(const struct authd_config *cfg, const char *name, const char *client)
{
	struct auth_zoneset *set = NULL;
	struct geo_map *map = NULL;
	struct geo_client gc;
	uint8_t owner[DNS_NAME_MAX];
	char err[4096];
	int rc = 1, r;

	if (!cfg->map_file) {
		fprintf(stderr, "cairn-auth: --explain needs --map FILE\n");
		return 1;
	}
	if (dns_name_from_str(name, NULL, owner, NULL) < 0) {
		fprintf(stderr, "cairn-auth: --explain: '%s' is not a domain name\n", name);
		return 1;
	}
	dns_name_lower(owner, owner);
	if (parse_client(client, &gc) < 0) {
		fprintf(stderr, "cairn-auth: --explain: '%s' is not ADDRESS or ADDRESS/PREFIX\n", client);
		return 1;
	}
	if ((r = load_zones(cfg, &set)) == -ENOMEM) {
		fprintf(stderr, "cairn-auth: out of memory\n");
		return 1;
	}
	if (r < 0)
		return 1;
	r = authd_geo_load(dns_mm_std(), cfg->map_file, set, &map, NULL, 0, err, sizeof(err));
	if (r == -ENOMEM && !err[0])
		fprintf(stderr, "cairn-auth: out of memory\n");
	else if (r < 0)
		fprintf(stderr, "%s\n", err);
	if (r < 0)
		goto out;
	const struct geo_name *n = geo_map_find(map, owner, dns_name_len(owner));
	if (!n) {
		fprintf(stderr, "cairn-auth: --explain: %s is not a steered name of %s\n", name,
			cfg->map_file);
		goto out;
	}
	print_explain(map, n, DNS_T_A, name, client, &gc);
	print_explain(map, n, DNS_T_AAAA, name, client, &gc);
	rc = 0;
out:
	geo_map_free(map);
	auth_zoneset_unref(set);
	return rc;
}
