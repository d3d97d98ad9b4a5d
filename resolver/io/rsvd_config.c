/* rsvd_config.c -- the options of cairn-resolver (flags = config-file lines) and its access list. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "dns_err.h"
#include "dns_log.h"
#include "dns_rand.h"
#include "rsvd.h"

int rsvd_config_init(struct dns_config *parser, struct rsvd_config *cfg)
{
	static struct dns_opt opts[20];
	int i = 0;

	memset(cfg, 0, sizeof(*cfg));
	cfg->threads = 1;
	cfg->cache_size = 64ull << 20;
	cfg->min_ttl = 0;
	cfg->max_ttl = 86400;
	cfg->max_neg_ttl = 3600;
	cfg->upstream_port = RSVD_PORT;
	cfg->tcp_idle_ms = 10000;
	cfg->log_level = "info";
	memset(opts, 0, sizeof(opts));
	opts[i++] = (struct dns_opt){.name = "listen", .type = DNS_OPT_ADDR, .flags = DNS_OPT_REPEAT,
		.help = "address to answer clients on (UDP and TCP), port 53 by default",
		.target = &cfg->listen, .default_port = RSVD_PORT};
	opts[i++] = (struct dns_opt){.name = "root-hints", .type = DNS_OPT_STRING, .metavar = "FILE",
		.help = "root hints file (named.root form) replacing the built-in IANA hints",
		.target = &cfg->root_hints};
	opts[i++] = (struct dns_opt){.name = "upstream-port", .type = DNS_OPT_UINT, .metavar = "PORT",
		.help = "port the root hints file's servers (and so every server) are asked on (default 53)",
		.target = &cfg->upstream_port, .min = 1, .max = 65535};
	opts[i++] = (struct dns_opt){.name = "allow", .type = DNS_OPT_CIDR, .flags = DNS_OPT_REPEAT,
		.help = "serve clients in CIDR (besides loopback and private ranges, served by default)",
		.target = &cfg->allow};
	opts[i++] = (struct dns_opt){.name = "deny", .type = DNS_OPT_CIDR, .flags = DNS_OPT_REPEAT,
		.help = "answer REFUSED to clients in CIDR (the longest matching prefix wins)",
		.target = &cfg->deny};
	opts[i++] = (struct dns_opt){.name = "cache-size", .type = DNS_OPT_SIZE,
		.help = "memory bound of the cache (default 64M)", .target = &cfg->cache_size,
		.min = 64 * 1024, .max = 1ull << 40};
	opts[i++] = (struct dns_opt){.name = "min-ttl", .type = DNS_OPT_UINT, .metavar = "SECONDS",
		.help = "raise positive TTLs to at least this (default 0)", .target = &cfg->min_ttl,
		.max = 86400};
	opts[i++] = (struct dns_opt){.name = "max-ttl", .type = DNS_OPT_UINT, .metavar = "SECONDS",
		.help = "lower every TTL to at most this (default 86400)", .target = &cfg->max_ttl,
		.min = 1, .max = 604800};
	opts[i++] = (struct dns_opt){.name = "max-negative-ttl", .type = DNS_OPT_UINT,
		.metavar = "SECONDS", .help = "cap of NXDOMAIN/NODATA caching (default 3600)",
		.target = &cfg->max_neg_ttl, .max = 86400};
	opts[i++] = (struct dns_opt){.name = "threads", .type = DNS_OPT_UINT,
		.help = "worker threads sharing the listen addresses and one cache (default 1)",
		.target = &cfg->threads, .min = 1, .max = 256};
	opts[i++] = (struct dns_opt){.name = "metrics", .type = DNS_OPT_ADDR,
		.help = "serve Prometheus metrics at http://ADDR@PORT/metrics", .target = &cfg->metrics,
		.default_port = 9153};
	opts[i++] = (struct dns_opt){.name = "no-ipv6", .type = DNS_OPT_FLAG,
		.help = "never ask upstream servers over IPv6", .target = &cfg->no_ipv6};
	opts[i++] = (struct dns_opt){.name = "tcp-idle-timeout", .type = DNS_OPT_UINT, .metavar = "MS",
		.help = "close idle client TCP connections after MS milliseconds (default 10000)",
		.target = &cfg->tcp_idle_ms, .min = 1, .max = 3600000};
	opts[i++] = (struct dns_opt){.name = "log-level", .type = DNS_OPT_STRING, .metavar = "LEVEL",
		.help = "err, warn, info or debug (default info)", .target = &cfg->log_level};
	opts[i++] = (struct dns_opt){.name = "trace", .type = DNS_OPT_STRING, .flags = DNS_OPT_CLI_ONLY,
		.metavar = "NAME", .help = "resolve NAME [TYPE] once from an empty cache, print every step, exit",
		.target = &cfg->trace};
	opts[i] = (struct dns_opt){0};
	return dns_config_init_files(parser, opts, NULL);
}

int rsvd_config_finish(struct rsvd_config *cfg, char *err, size_t errlen)
{
	unsigned line = 0;
	int r;

	if (cfg->metrics.ss_family != 0)
		cfg->has_metrics = true;
	if (dns_log_level_from_str(cfg->log_level) < 0) {
		snprintf(err, errlen, "option --log-level: unknown level '%s'", cfg->log_level);
		return DNS_E_CONFIG;
	}
	if (cfg->min_ttl > cfg->max_ttl) {
		snprintf(err, errlen, "option --min-ttl: %u is above --max-ttl %u", cfg->min_ttl,
			cfg->max_ttl);
		return DNS_E_CONFIG;
	}
	if (cfg->root_hints) {
		r = rsvd_hints_load(&cfg->hints, cfg->root_hints, (uint16_t)cfg->upstream_port, &line);
		if (r < 0) {
			if (r == DNS_E_SYNTAX)
				snprintf(err, errlen, "%s:%u: not a root hints line", cfg->root_hints, line);
			else if (r == DNS_E_NOTFOUND)
				snprintf(err, errlen, "%s: no root server with an address", cfg->root_hints);
			else
				snprintf(err, errlen, "%s: %s", cfg->root_hints, dns_strerror(r));
			return DNS_E_CONFIG;
		}
	} else {
		rsv_hints_builtin(&cfg->hints);
	}
	if (!cfg->trace && cfg->listen.n == 0) {
		snprintf(err, errlen, "no listen address: give --listen ADDR@PORT");
		return DNS_E_CONFIG;
	}
	return 0;
}

/*
 * Served by default: loopback, RFC 1918 private networks, RFC 4193 unique local
 * addresses, link-local (RFC 3927, RFC 4291 2.5.6), so the resolver is never an
 * open resolver (RFC 5358).
 */
static const char *const acl_default[] = {
	"127.0.0.0/8", "::1/128", "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16",
	"169.254.0.0/16", "fc00::/7", "fe80::/10",
};

int rsvd_acl_build(struct rsvd_acl *acl, const struct rsvd_config *cfg)
{
	size_t nd = sizeof(acl_default) / sizeof(acl_default[0]);
	size_t n = nd + cfg->allow.n + cfg->deny.n;
	acl->rule = calloc(n, sizeof(*acl->rule));
	acl->n = 0;
	if (!acl->rule)
		return -ENOMEM;
	for (size_t i = 0; i < nd; i++) {
		struct rsvd_acl_rule *r = &acl->rule[acl->n];
		if (dns_cidr_parse(acl_default[i], &r->cidr) == 0) {
			r->allow = true;
			acl->n++;
		}
	}
	for (size_t i = 0; i < cfg->allow.n; i++) {
		acl->rule[acl->n].cidr = DNS_CONFIG_VEC_AT(&cfg->allow, struct dns_cidr, i);
		acl->rule[acl->n++].allow = true;
	}
	for (size_t i = 0; i < cfg->deny.n; i++) {
		acl->rule[acl->n].cidr = DNS_CONFIG_VEC_AT(&cfg->deny, struct dns_cidr, i);
		acl->rule[acl->n++].allow = false;
	}
	return 0;
}

void rsvd_acl_free(struct rsvd_acl *acl)
{
	free(acl->rule);
	acl->rule = NULL;
	acl->n = 0;
}

bool rsvd_acl_allows(const struct rsvd_acl *acl, const struct sockaddr *sa)
{
	int best = -1;
	bool allow = false;
	for (size_t i = 0; i < acl->n; i++) {
		const struct rsvd_acl_rule *r = &acl->rule[i];
		if (!dns_cidr_match(&r->cidr, sa))
			continue;
		/* longest prefix wins; on equal length a deny wins */
		if ((int)r->cidr.len > best || ((int)r->cidr.len == best && !r->allow)) {
			best = r->cidr.len;
			allow = r->allow;
		}
	}
	return allow;
}

void rsvd_config_cache_opts(const struct rsvd_config *cfg, struct rsv_cache_opts *o)
{
	rsv_cache_opts_default(o);
	o->max_bytes = (size_t)cfg->cache_size;
	o->min_ttl = cfg->min_ttl;
	o->max_ttl = cfg->max_ttl;
	o->max_neg_ttl = cfg->max_neg_ttl;
	/* SipHash key from getrandom, so clients cannot aim at one hash chain */
	dns_rand_bytes(o->hash_key, sizeof(o->hash_key));
}

/*
 * Can this host send IPv6 to the Internet? Connecting a UDP socket sends
 * nothing; it only looks up a route (2001:db8::/32 is the documentation prefix,
 * RFC 3849: any global route covers it). Without one, asking servers over IPv6
 * would only produce send errors and backoff.
 */
static bool ipv6_usable(void)
{
	struct sockaddr_in6 sa;
	bool ok = false;
	int fd = socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return false;
	memset(&sa, 0, sizeof(sa));
	sa.sin6_family = AF_INET6;
	sa.sin6_port = htons(53);
	sa.sin6_addr.s6_addr[0] = 0x20;
	sa.sin6_addr.s6_addr[1] = 0x01;
	sa.sin6_addr.s6_addr[2] = 0x0d;
	sa.sin6_addr.s6_addr[3] = 0xb8;
	sa.sin6_addr.s6_addr[15] = 1;
	ok = connect(fd, (const struct sockaddr *)&sa, sizeof(sa)) == 0;
	close(fd);
	return ok;
}

void rsvd_iter_opts(const struct rsvd_config *cfg, struct rsv_iter_opts *o)
{
	rsv_iter_opts_default(o);
	if (cfg->no_ipv6) {
		o->ipv6 = false;
	} else if (!ipv6_usable()) {
		log_info("no IPv6 route: asking servers over IPv4 only");
		o->ipv6 = false;
	}
}
