/* edge_config.c -- the options of cairn-edge (flags = config-file lines). */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dns_err.h"
#include "dns_log.h"
#include "edge.h"
#include "http_shell.h"

/* One --origin HOST=ADDR@PORT, checked as it is read so errors name the file and line. */
static int add_origin(void *ctx, const char *line, char *err, size_t errlen)
{
	struct edge_config *cfg = ctx;
	const char *eq = strchr(line, '=');
	struct edge_origin_conf *o;
	size_t hl;

	if (!eq || eq == line || !eq[1]) {
		snprintf(err, errlen, "'%s' is not HOST=ADDR@PORT", line);
		return DNS_E_CONFIG;
	}
	hl = (size_t)(eq - line);
	if (hl > 253) {
		snprintf(err, errlen, "host name too long in '%s'", line);
		return DNS_E_CONFIG;
	}
	/* A host name as clients send it in Host (RFC 9110 7.2): letters, digits, '-', '.', '_'. */
	for (size_t i = 0; i < hl; i++) {
		unsigned char ch = (unsigned char)line[i];
		if (!isalnum(ch) && ch != '-' && ch != '.' && ch != '_') {
			snprintf(err, errlen, "'%.*s' is not a host name (no port, no path)", (int)hl, line);
			return DNS_E_CONFIG;
		}
	}
	if (cfg->norigins >= EDGE_MAX_ORIGINS) {
		snprintf(err, errlen, "more than %d origins", EDGE_MAX_ORIGINS);
		return DNS_E_CONFIG;
	}
	for (size_t i = 0; i < cfg->norigins; i++)
		if (strlen(cfg->origins[i].host) == hl && strncasecmp(cfg->origins[i].host, line, hl) == 0) {
			snprintf(err, errlen, "origin '%.*s' given twice", (int)hl, line);
			return DNS_E_CONFIG;
		}
	o = &cfg->origins[cfg->norigins];
	if (dns_addr_parse(eq + 1, EDGE_ORIGIN_PORT, &o->addr) < 0) {
		snprintf(err, errlen, "'%s' is not an address (ADDR@PORT)", eq + 1);
		return DNS_E_CONFIG;
	}
	o->host = malloc(hl + 1);
	if (!o->host)
		return -ENOMEM;
	for (size_t i = 0; i < hl; i++)
		o->host[i] = (char)tolower((unsigned char)line[i]);
	o->host[hl] = '\0';
	cfg->norigins++;
	return 0;
}

int edge_config_init(struct dns_config *parser, struct edge_config *cfg)
{
	static struct dns_opt opts[24];
	int i = 0;

	memset(cfg, 0, sizeof(*cfg));
	cfg->cache_size = 256ULL << 20;
	cfg->connect_timeout_ms = 2000;
	cfg->origin_timeout_ms = 10000;
	cfg->idle_timeout_ms = 30000;
	cfg->header_timeout_ms = 10000;
	cfg->send_timeout_ms = 60000;
	cfg->max_conns = 10000;
	cfg->pool_size = 32;
	cfg->pool_idle_ms = 15000;
	cfg->heuristic_max = 86400;
	cfg->max_body = 1 << 20;
	cfg->log_level = "info";
	memset(opts, 0, sizeof(opts));
	opts[i++] = http_shell_opt_listen(&cfg->listen, EDGE_PORT);
	opts[i++] = (struct dns_opt){.name = "origin", .type = DNS_OPT_CALLBACK, .flags = DNS_OPT_REPEAT,
		.metavar = "HOST=ADDR@PORT",
		.help = "origin for Host HOST (and for /HOST/path), at ADDR@PORT (port 80 by default)",
		.cb = add_origin, .cb_ctx = cfg};
	opts[i++] = (struct dns_opt){.name = "cache-size", .type = DNS_OPT_SIZE,
		.help = "memory for cached objects, least recently used evicted (default 256M)",
		.target = &cfg->cache_size, .min = 64 << 10, .max = 1ULL << 40};
	opts[i++] = (struct dns_opt){.name = "max-object", .type = DNS_OPT_SIZE,
		.help = "largest object cached; larger ones are streamed through (default cache-size/8)",
		.target = &cfg->max_object, .min = 0, .max = 1ULL << 40};
	opts[i++] = (struct dns_opt){.name = "purge-allow", .type = DNS_OPT_CIDR, .flags = DNS_OPT_REPEAT,
		.help = "clients allowed to PURGE (default 127.0.0.0/8 and ::1)", .target = &cfg->purge_allow};
	opts[i++] = http_shell_opt_ms("connect-timeout",
		"time to connect to an origin, 502 beyond (default 2000)",
		&cfg->connect_timeout_ms, 1, 600000);
	opts[i++] = http_shell_opt_ms("origin-timeout",
		"time an origin may stay silent while a response is due, 504 beyond (default 10000)",
		&cfg->origin_timeout_ms, 1, 3600000);
	opts[i++] = http_shell_opt_ms("idle-timeout",
		"close client keep-alive connections idle for MS milliseconds (default 30000)",
		&cfg->idle_timeout_ms, 1, 3600000);
	opts[i++] = http_shell_opt_header_timeout(&cfg->header_timeout_ms);
	opts[i++] = http_shell_opt_ms("send-timeout",
		"close a client that reads nothing of its response for MS milliseconds (default 60000)",
		&cfg->send_timeout_ms, 1, 3600000);
	opts[i++] = (struct dns_opt){.name = "max-connections", .type = DNS_OPT_UINT,
		.help = "open client connections; more are answered 503 (default 10000)",
		.target = &cfg->max_conns, .min = 1, .max = 1000000};
	opts[i++] = (struct dns_opt){.name = "pool-size", .type = DNS_OPT_UINT,
		.help = "idle keep-alive connections kept per origin (default 32)",
		.target = &cfg->pool_size, .min = 0, .max = 100000};
	opts[i++] = http_shell_opt_ms("pool-idle",
		"close idle origin connections after MS milliseconds (default 15000)",
		&cfg->pool_idle_ms, 1, 3600000);
	opts[i++] = http_shell_opt_ms("drain-delay",
		"after SIGTERM, answer /health 503 for MS ms before closing the listeners (default 0)",
		&cfg->drain_delay_ms, 0, 3600000);
	opts[i++] = (struct dns_opt){.name = "heuristic-max", .type = DNS_OPT_UINT, .metavar = "SECS",
		.help = "cap of the heuristic freshness (10% of the Last-Modified age) (default 86400)",
		.target = &cfg->heuristic_max, .min = 1, .max = 31536000};
	opts[i++] = (struct dns_opt){.name = "max-body", .type = DNS_OPT_SIZE,
		.help = "largest request body forwarded, 413 beyond (default 1M)",
		.target = &cfg->max_body, .min = 0, .max = 1ULL << 30};
	opts[i++] = http_shell_opt_log_level(&cfg->log_level);
	opts[i] = (struct dns_opt){0};
	return dns_config_init_files(parser, opts, NULL);
}

int edge_config_finish(struct edge_config *cfg, char *err, size_t errlen)
{
	int r = http_shell_config_check(cfg->log_level, &cfg->listen, err, errlen);

	if (r < 0)
		return r;
	if (cfg->norigins == 0) {
		snprintf(err, errlen, "option origin: no origin (--origin HOST=ADDR@PORT)");
		return DNS_E_CONFIG;
	}
	if (!cfg->max_object)
		cfg->max_object = cfg->cache_size / 8;
	if (cfg->max_object > cfg->cache_size) {
		snprintf(err, errlen, "option max-object: larger than cache-size");
		return DNS_E_CONFIG;
	}
	dns_cidr_parse("127.0.0.0/8", &cfg->default_allow[0]);
	dns_cidr_parse("::1", &cfg->default_allow[1]);
	return 0;
}

void edge_config_deinit(struct edge_config *cfg)
{
	for (size_t i = 0; i < cfg->norigins; i++)
		free(cfg->origins[i].host);
	cfg->norigins = 0;
}

bool edge_config_purge_allowed(const struct edge_config *cfg, const struct sockaddr *sa)
{
	if (cfg->purge_allow.n == 0)
		return dns_cidr_match(&cfg->default_allow[0], sa) || dns_cidr_match(&cfg->default_allow[1], sa);
	for (size_t i = 0; i < cfg->purge_allow.n; i++)
		if (dns_cidr_match(&DNS_CONFIG_VEC_AT(&cfg->purge_allow, struct dns_cidr, i), sa))
			return true;
	return false;
}
