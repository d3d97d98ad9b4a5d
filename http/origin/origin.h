/*
 * origin.h -- cairn-origin: a static-file HTTP/1.1 origin server.
 *
 * The program's pieces: its options (origin_config.c), the request handler
 * that maps a URL path onto a file below the root and answers GET/HEAD with
 * validators, conditionals and ranges (origin_serve.c), and main
 * (origin_main.c). Private to cairn-origin.
 */
#ifndef CAIRN_ORIGIN_H
#define CAIRN_ORIGIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dns_config_io.h"
#include "http_server.h"

/* Default port when --listen names none. */
#define ORIGIN_PORT 8080

/* One cache-control rule: paths starting with prefix get value. */
struct origin_cc_rule {
	const char *prefix;  /* URL path prefix, e.g. "/static/" (decoded, normalised form) */
	size_t prefix_len;   /* bytes in prefix */
	const char *value;   /* Cache-Control field value, e.g. "max-age=3600" */
};

/* The options of cairn-origin (flags and config-file lines). */
struct origin_config {
	struct dns_config_vec listen;        /* ADDR@PORT to serve on (repeatable) */
	const char *root;                    /* directory served */
	const char *index;                   /* file served for a directory ("index.html") */
	unsigned idle_timeout_ms;            /* keep-alive idle time */
	unsigned header_timeout_ms;          /* time to send a request head */
	unsigned max_conns;                  /* open connections */
	uint64_t max_body;                   /* request body bytes accepted (413 beyond) */
	uint64_t max_uri;                    /* request-target bytes (414 beyond) */
	uint64_t max_header_size;            /* header field bytes (431 beyond) */
	unsigned max_headers;                /* header fields (431 beyond) */
	const char *log_level;               /* err, warn, info, debug */
	/* derived by origin_config_finish() */
	char *real_root;                     /* realpath of root, no trailing '/' (except "/") */
	size_t real_root_len;                /* its length */
	struct origin_cc_rule *cc;           /* cache-control rules (sorted longest prefix first by finish) */
	size_t ncc;                          /* number of rules */
};

/* Declare the options into parser (storing into cfg). Returns 0 or -ENOMEM. */
int origin_config_init(struct dns_config *parser, struct origin_config *cfg);
/* Check and derive after parsing; err gets "option x: reason". 0 or DNS_E_CONFIG/-errno. */
int origin_config_finish(struct origin_config *cfg, char *err, size_t errlen);
/* Free what origin_config_finish() made. */
void origin_config_deinit(struct origin_config *cfg);
/* The Cache-Control value for a normalised path (longest prefix), or NULL. */
const char *origin_cache_control(const struct origin_config *cfg, const char *path);

/* The http_server request callback; ctx is the struct origin_config. */
void origin_serve(void *ctx, struct http_exchange *ex);

#endif
