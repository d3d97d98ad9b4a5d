/*
 * authd_config.h -- the configuration of cairn-auth: every option (a long flag
 * and the same line in a config file, dns_config.h), parsed into struct
 * authd_config. Read by the server, replication and steering alike.
 */
#ifndef CAIRN_AUTHD_CONFIG_H
#define CAIRN_AUTHD_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "dns_config_io.h"
#include "dns_name.h"

/* One `--zone ORIGIN=FILE` with the replication settings that name it. */
struct authd_zone_conf {
	uint8_t origin[DNS_NAME_MAX];    /* canonical wire name */
	char origin_text[DNS_NAME_TEXT_MAX]; /* presentation form, for logs */
	const char *file;                /* master file; for a secondary, its kept copy */
	bool has_primary;                /* `--primary ORIGIN=ADDR@PORT`: this is a secondary */
	struct sockaddr_storage primary; /* where to fetch it from (AXFR) */
	struct sockaddr_storage notify[8]; /* `--notify ORIGIN=ADDR@PORT`: secondaries to NOTIFY */
	unsigned n_notify;               /* entries of notify in use */
};

/* The parsed configuration of cairn-auth. */
struct authd_config {
	struct dns_config_vec listen;    /* struct sockaddr_storage: `listen ADDR@PORT` */
	struct authd_zone_conf *zones;   /* every `zone` line, in order */
	unsigned n_zones;                /* entries of zones */
	struct dns_config_vec allow_transfer; /* struct dns_cidr: who may AXFR (default none) */
	unsigned threads;                /* worker threads (default 1) */
	bool has_metrics;                /* `metrics ADDR@PORT` given */
	struct sockaddr_storage metrics; /* where the Prometheus endpoint listens */
	unsigned tcp_idle_ms;            /* TCP idle timeout (RFC 7766 6.2.3) */
	unsigned tcp_max_clients;        /* concurrent TCP connections per listener */
	const char *log_level;           /* err | warn | info | debug */
	const char *map_file;            /* `map FILE`: the CDN steering map (NULL: none) */
	bool explain;                    /* `--explain NAME CLIENT[/PREFIX]` (CLI only) */
	struct dns_config_vec explain_allow; /* struct dns_cidr: who may ask CH TXT explanations */
	unsigned map_check_s;            /* poll the map and GeoIP files every N s (0: never) */
	/* raw option values, turned into zones[] after parsing */
	struct dns_config_vec zone_lines;    /* const char *: "ORIGIN=FILE" */
	struct dns_config_vec primary_lines; /* const char *: "ORIGIN=ADDR@PORT" */
	struct dns_config_vec notify_lines;  /* const char *: "ORIGIN=ADDR@PORT" */
};

/* Register the options of cairn-auth in a parser writing into cfg. */
int authd_config_init(struct dns_config *parser, struct authd_config *cfg, bool *check_zone);
/* Turn the raw zone/primary/notify lines into cfg->zones. 0 or DNS_E_CONFIG (message in err). */
int authd_config_finish(struct dns_config *parser, struct authd_config *cfg, char *err, size_t errlen);
/* Free what parsing and authd_config_finish() allocated. */
void authd_config_deinit(struct authd_config *cfg);

#endif
