/* authd_config.c -- the options of cairn-auth (flags = config-file lines). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "authd_config.h"
#include "dns_err.h"
#include "dns_log.h"

#define AUTHD_PORT 53

int authd_config_init(struct dns_config *parser, struct authd_config *cfg, bool *check_zone)
{
	static struct dns_opt opts[24];
	int i = 0;

	memset(cfg, 0, sizeof(*cfg));
	cfg->threads = 1;
	cfg->tcp_idle_ms = 10000;
	cfg->tcp_max_clients = 1000;
	cfg->log_level = "info";
	cfg->map_check_s = 2;
	memset(opts, 0, sizeof(opts));
	opts[i++] = (struct dns_opt){.name = "listen", .type = DNS_OPT_ADDR, .flags = DNS_OPT_REPEAT,
		.help = "address to answer on (UDP and TCP), port 53 by default",
		.target = &cfg->listen, .default_port = AUTHD_PORT};
	opts[i++] = (struct dns_opt){.name = "zone", .type = DNS_OPT_STRING, .flags = DNS_OPT_REPEAT,
		.metavar = "ORIGIN=FILE", .help = "serve the zone ORIGIN from master file FILE",
		.target = &cfg->zone_lines};
	opts[i++] = (struct dns_opt){.name = "primary", .type = DNS_OPT_STRING, .flags = DNS_OPT_REPEAT,
		.metavar = "ORIGIN=ADDR@PORT",
		.help = "make ORIGIN a secondary zone fetched by AXFR from ADDR@PORT (its FILE keeps the last good copy)",
		.target = &cfg->primary_lines};
	opts[i++] = (struct dns_opt){.name = "notify", .type = DNS_OPT_STRING, .flags = DNS_OPT_REPEAT,
		.metavar = "ORIGIN=ADDR@PORT", .help = "send NOTIFY to this secondary when ORIGIN changes",
		.target = &cfg->notify_lines};
	opts[i++] = (struct dns_opt){.name = "allow-transfer", .type = DNS_OPT_CIDR, .flags = DNS_OPT_REPEAT,
		.help = "clients allowed to AXFR any zone (default: nobody)",
		.target = &cfg->allow_transfer};
	opts[i++] = (struct dns_opt){.name = "threads", .type = DNS_OPT_UINT,
		.help = "worker threads sharing the listen addresses with SO_REUSEPORT (default 1)",
		.target = &cfg->threads, .min = 1, .max = 256};
	opts[i++] = (struct dns_opt){.name = "metrics", .type = DNS_OPT_ADDR,
		.help = "serve Prometheus metrics at http://ADDR@PORT/metrics", .target = &cfg->metrics,
		.default_port = 9153};
	opts[i++] = (struct dns_opt){.name = "tcp-idle-timeout", .type = DNS_OPT_UINT, .metavar = "MS",
		.help = "close idle TCP connections after MS milliseconds (default 10000)",
		.target = &cfg->tcp_idle_ms, .min = 1, .max = 3600000};
	opts[i++] = (struct dns_opt){.name = "tcp-max-clients", .type = DNS_OPT_UINT,
		.help = "open TCP connections per listener and thread (default 1000)",
		.target = &cfg->tcp_max_clients, .min = 1, .max = 1000000};
	opts[i++] = (struct dns_opt){.name = "log-level", .type = DNS_OPT_STRING, .metavar = "LEVEL",
		.help = "err, warn, info or debug (default info)", .target = &cfg->log_level};
	opts[i++] = (struct dns_opt){.name = "map", .type = DNS_OPT_STRING, .metavar = "FILE",
		.help = "steer the names of this CDN map (JSON, docs/map-format.md) to the nearest healthy replicas",
		.target = &cfg->map_file};
	opts[i++] = (struct dns_opt){.name = "explain-allow", .type = DNS_OPT_CIDR, .flags = DNS_OPT_REPEAT,
		.help = "clients allowed to ask for steering explanations with CH TXT (default 127.0.0.0/8 and ::1)",
		.target = &cfg->explain_allow};
	opts[i++] = (struct dns_opt){.name = "map-check-interval", .type = DNS_OPT_UINT, .metavar = "SECONDS",
		.help = "check the map and GeoIP files for changes every SECONDS and reload (default 2, 0: only on SIGHUP)",
		.target = &cfg->map_check_s, .min = 0, .max = 86400};
	opts[i++] = (struct dns_opt){.name = "explain", .type = DNS_OPT_FLAG, .flags = DNS_OPT_CLI_ONLY,
		.help = "print how the map steers the NAME CLIENT[/PREFIX] given as arguments (a prefix: as ECS) and exit",
		.target = &cfg->explain};
	opts[i++] = (struct dns_opt){.name = "check-zone", .type = DNS_OPT_FLAG, .flags = DNS_OPT_CLI_ONLY,
		.help = "check the zone file given as ORIGIN FILE arguments and exit (0 if good)",
		.target = check_zone};
	opts[i] = (struct dns_opt){0};
	return dns_config_init_files(parser, opts, NULL);
}

/* Split "ORIGIN=VALUE" into a canonical origin and the value. */
static int split_origin(const char *line, uint8_t *origin, char *text, size_t textlen,
	const char **value)
{
	const char *eq = strchr(line, '=');
	char name[DNS_NAME_TEXT_MAX];
	if (!eq || eq == line || !eq[1] || (size_t)(eq - line) >= sizeof(name))
		return DNS_E_SYNTAX;
	memcpy(name, line, (size_t)(eq - line));
	name[eq - line] = '\0';
	if (dns_name_from_str(name, NULL, origin, NULL) < 0)
		return DNS_E_SYNTAX;
	dns_name_lower(origin, origin);
	dns_name_to_str(origin, text, textlen);
	*value = eq + 1;
	return 0;
}

static struct authd_zone_conf *zone_conf(struct authd_config *cfg, const uint8_t *origin)
{
	for (unsigned i = 0; i < cfg->n_zones; i++)
		if (dns_name_eq(cfg->zones[i].origin, origin))
			return &cfg->zones[i];
	return NULL;
}

int authd_config_finish(struct dns_config *parser, struct authd_config *cfg, char *err, size_t errlen)
{
	uint8_t origin[DNS_NAME_MAX];
	char text[DNS_NAME_TEXT_MAX];
	const char *value;
	(void)parser;

	if (cfg->metrics.ss_family != 0)
		cfg->has_metrics = true;
	if (dns_log_level_from_str(cfg->log_level) < 0) {
		snprintf(err, errlen, "option --log-level: unknown level '%s'", cfg->log_level);
		return DNS_E_CONFIG;
	}
	cfg->zones = calloc(cfg->zone_lines.n ? cfg->zone_lines.n : 1, sizeof(*cfg->zones));
	if (!cfg->zones)
		return -ENOMEM;
	for (size_t i = 0; i < cfg->zone_lines.n; i++) {
		const char *line = DNS_CONFIG_VEC_AT(&cfg->zone_lines, const char *, i);
		if (split_origin(line, origin, text, sizeof(text), &value) < 0) {
			snprintf(err, errlen, "option zone: '%s' is not ORIGIN=FILE", line);
			return DNS_E_CONFIG;
		}
		if (zone_conf(cfg, origin)) {
			snprintf(err, errlen, "option zone: zone %s given twice", text);
			return DNS_E_CONFIG;
		}
		struct authd_zone_conf *z = &cfg->zones[cfg->n_zones++];
		memcpy(z->origin, origin, dns_name_len(origin));
		snprintf(z->origin_text, sizeof(z->origin_text), "%s", text);
		z->file = value;
	}
	for (size_t i = 0; i < cfg->primary_lines.n; i++) {
		const char *line = DNS_CONFIG_VEC_AT(&cfg->primary_lines, const char *, i);
		struct authd_zone_conf *z;
		if (split_origin(line, origin, text, sizeof(text), &value) < 0) {
			snprintf(err, errlen, "option primary: '%s' is not ORIGIN=ADDR@PORT", line);
			return DNS_E_CONFIG;
		}
		if (!(z = zone_conf(cfg, origin))) {
			snprintf(err, errlen, "option primary: %s is not a configured zone (add zone %s=FILE)",
				text, text);
			return DNS_E_CONFIG;
		}
		if (dns_addr_parse(value, AUTHD_PORT, &z->primary) < 0) {
			snprintf(err, errlen, "option primary: bad address '%s'", value);
			return DNS_E_CONFIG;
		}
		z->has_primary = true;
	}
	for (size_t i = 0; i < cfg->notify_lines.n; i++) {
		const char *line = DNS_CONFIG_VEC_AT(&cfg->notify_lines, const char *, i);
		struct authd_zone_conf *z;
		if (split_origin(line, origin, text, sizeof(text), &value) < 0) {
			snprintf(err, errlen, "option notify: '%s' is not ORIGIN=ADDR@PORT", line);
			return DNS_E_CONFIG;
		}
		if (!(z = zone_conf(cfg, origin))) {
			snprintf(err, errlen, "option notify: %s is not a configured zone", text);
			return DNS_E_CONFIG;
		}
		if (z->n_notify == sizeof(z->notify) / sizeof(z->notify[0])) {
			snprintf(err, errlen, "option notify: more than %zu secondaries for %s",
				sizeof(z->notify) / sizeof(z->notify[0]), text);
			return DNS_E_CONFIG;
		}
		if (dns_addr_parse(value, AUTHD_PORT, &z->notify[z->n_notify]) < 0) {
			snprintf(err, errlen, "option notify: bad address '%s'", value);
			return DNS_E_CONFIG;
		}
		z->n_notify++;
	}
	if (cfg->listen.n == 0 && !cfg->explain) { /* --explain answers nobody */
		snprintf(err, errlen, "no listen address: give --listen ADDR@PORT");
		return DNS_E_CONFIG;
	}
	if (cfg->n_zones == 0) {
		snprintf(err, errlen, "no zone: give --zone ORIGIN=FILE");
		return DNS_E_CONFIG;
	}
	return 0;
}

void authd_config_deinit(struct authd_config *cfg)
{
	free(cfg->zones);
	cfg->zones = NULL;
	cfg->n_zones = 0;
}
