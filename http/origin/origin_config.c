/* origin_config.c -- the options of cairn-origin (flags = config-file lines). */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "dns_err.h"
#include "dns_log.h"
#include "http_path.h"
#include "http_shell.h"
#include "origin.h"

/* One --cache-control PREFIX=VALUE, checked as it is read so errors name the file and line. */
static int add_cc_rule(void *ctx, const char *line, char *err, size_t errlen)
{
	struct origin_config *cfg = ctx;
	const char *eq = strchr(line, '=');
	struct origin_cc_rule *cc;
	char *prefix, *value;
	int n;

	if (!eq || eq == line || line[0] != '/' || !eq[1]) {
		snprintf(err, errlen, "'%s' is not /PREFIX=VALUE", line);
		return DNS_E_CONFIG;
	}
	for (const char *v = eq + 1; *v; v++)
		if ((unsigned char)*v < 0x20 || *v == 0x7f) {
			snprintf(err, errlen, "control character in '%s'", line);
			return DNS_E_CONFIG;
		}
	/* The prefix is kept in the normalised, decoded form paths are matched in. */
	prefix = malloc((size_t)(eq - line) + 2);
	value = strdup(eq + 1);
	cc = realloc(cfg->cc, (cfg->ncc + 1) * sizeof(*cc));
	if (!prefix || !value || !cc) {
		free(prefix);
		free(value);
		if (cc)
			cfg->cc = cc;
		return -ENOMEM;
	}
	cfg->cc = cc;
	n = http_path_normalize(line, (size_t)(eq - line), prefix, (size_t)(eq - line) + 2, NULL);
	if (n < 0) {
		free(prefix);
		free(value);
		snprintf(err, errlen, "bad path prefix in '%s'", line);
		return DNS_E_CONFIG;
	}
	cc[cfg->ncc].prefix = prefix;
	cc[cfg->ncc].prefix_len = (size_t)n;
	cc[cfg->ncc].value = value;
	cfg->ncc++;
	return 0;
}

int origin_config_init(struct dns_config *parser, struct origin_config *cfg)
{
	static struct dns_opt opts[16];
	int i = 0;

	memset(cfg, 0, sizeof(*cfg));
	cfg->index = "index.html";
	cfg->idle_timeout_ms = 30000;
	cfg->header_timeout_ms = 10000;
	cfg->max_conns = 1000;
	cfg->max_body = 65536;
	cfg->max_uri = 8192;
	cfg->max_header_size = 16384;
	cfg->max_headers = 100;
	cfg->log_level = "info";
	memset(opts, 0, sizeof(opts));
	opts[i++] = http_shell_opt_listen(&cfg->listen, ORIGIN_PORT);
	opts[i++] = (struct dns_opt){.name = "root", .type = DNS_OPT_STRING, .metavar = "DIR",
		.help = "directory to serve", .target = &cfg->root};
	opts[i++] = (struct dns_opt){.name = "cache-control", .type = DNS_OPT_CALLBACK,
		.flags = DNS_OPT_REPEAT, .metavar = "PREFIX=VALUE",
		.help = "Cache-Control VALUE for paths starting with PREFIX (longest prefix wins)",
		.cb = add_cc_rule, .cb_ctx = cfg};
	opts[i++] = (struct dns_opt){.name = "index", .type = DNS_OPT_STRING, .metavar = "NAME",
		.help = "file served for a directory path ending in / (default index.html)",
		.target = &cfg->index};
	opts[i++] = http_shell_opt_ms("idle-timeout",
		"close keep-alive connections idle for MS milliseconds (default 30000)",
		&cfg->idle_timeout_ms, 1, 3600000);
	opts[i++] = http_shell_opt_header_timeout(&cfg->header_timeout_ms);
	opts[i++] = (struct dns_opt){.name = "max-connections", .type = DNS_OPT_UINT,
		.help = "open connections; more are answered 503 (default 1000)",
		.target = &cfg->max_conns, .min = 1, .max = 1000000};
	opts[i++] = (struct dns_opt){.name = "max-body", .type = DNS_OPT_SIZE,
		.help = "largest request body accepted, 413 beyond (default 64K)",
		.target = &cfg->max_body, .min = 0, .max = 1ULL << 30};
	opts[i++] = (struct dns_opt){.name = "max-uri", .type = DNS_OPT_SIZE,
		.help = "longest request-target, 414 beyond (default 8K)",
		.target = &cfg->max_uri, .min = 16, .max = 1 << 20};
	opts[i++] = (struct dns_opt){.name = "max-header-size", .type = DNS_OPT_SIZE,
		.help = "bytes of all request header fields, 431 beyond (default 16K)",
		.target = &cfg->max_header_size, .min = 256, .max = 1 << 20};
	opts[i++] = (struct dns_opt){.name = "max-headers", .type = DNS_OPT_UINT,
		.help = "number of request header fields, 431 beyond (default 100)",
		.target = &cfg->max_headers, .min = 4, .max = 10000};
	opts[i++] = http_shell_opt_log_level(&cfg->log_level);
	opts[i] = (struct dns_opt){0};
	return dns_config_init_files(parser, opts, NULL);
}

static int cmp_rule(const void *a, const void *b)
{
	const struct origin_cc_rule *x = a, *y = b;
	return x->prefix_len < y->prefix_len ? 1 : x->prefix_len > y->prefix_len ? -1 : 0;
}

int origin_config_finish(struct origin_config *cfg, char *err, size_t errlen)
{
	struct stat st;
	int r = http_shell_config_check(cfg->log_level, &cfg->listen, err, errlen);

	if (r < 0)
		return r;
	if (!cfg->root) {
		snprintf(err, errlen, "option root: the directory to serve is required (--root DIR)");
		return DNS_E_CONFIG;
	}
	cfg->real_root = realpath(cfg->root, NULL);
	if (!cfg->real_root || stat(cfg->real_root, &st) < 0 || !S_ISDIR(st.st_mode)) {
		snprintf(err, errlen, "option root: '%s': %s", cfg->root,
			cfg->real_root ? "not a directory" : strerror(errno));
		return DNS_E_CONFIG;
	}
	cfg->real_root_len = strlen(cfg->real_root);
	if (!cfg->index[0] || strchr(cfg->index, '/') || strcmp(cfg->index, "..") == 0 ||
		strcmp(cfg->index, ".") == 0) {
		snprintf(err, errlen, "option index: '%s' is not a plain file name", cfg->index);
		return DNS_E_CONFIG;
	}
	if (cfg->ncc > 1)
		qsort(cfg->cc, cfg->ncc, sizeof(*cfg->cc), cmp_rule);
	return 0;
}

void origin_config_deinit(struct origin_config *cfg)
{
	for (size_t i = 0; i < cfg->ncc; i++) {
		free((char *)cfg->cc[i].prefix);
		free((char *)cfg->cc[i].value);
	}
	free(cfg->cc);
	free(cfg->real_root);
	cfg->cc = NULL;
	cfg->ncc = 0;
	cfg->real_root = NULL;
}

const char *origin_cache_control(const struct origin_config *cfg, const char *path)
{
	/* Sorted longest first, so the first match is the longest prefix. */
	for (size_t i = 0; i < cfg->ncc; i++)
		if (strncmp(path, cfg->cc[i].prefix, cfg->cc[i].prefix_len) == 0)
			return cfg->cc[i].value;
	return NULL;
}
