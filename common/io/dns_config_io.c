/* dns_config_io.c -- config files from disk, --help and --version on stdout (dns_config_io.h). */
#include "dns_config_io.h"

#include <stdio.h>
#include <stdlib.h>

#include "dns_file.h"

static int read_file(void *ctx, const char *path, size_t max, const struct dns_mm *mm, char **text,
		     size_t *len)
{
	(void)ctx;
	return dns_file_read(path, max, mm, text, len);
}

void dns_config_use_files(struct dns_config *cfg)
{
	cfg->read = read_file;
	cfg->read_ctx = NULL;
}

int dns_config_init_files(struct dns_config *cfg, const struct dns_opt *opts, const struct dns_mm *mm)
{
	int rc = dns_config_init(cfg, opts, mm);
	if (rc == 0)
		dns_config_use_files(cfg);
	return rc;
}

bool dns_config_print_action(const struct dns_config *cfg, const char *usage, const char *version)
{
	if (cfg->action == DNS_CONFIG_HELP) {
		size_t n = dns_config_help(cfg, usage, NULL, 0) + 1;
		char *text = malloc(n);
		if (text) {
			dns_config_help(cfg, usage, text, n);
			fputs(text, stdout);
			free(text);
		}
		return true;
	}
	if (cfg->action == DNS_CONFIG_VERSION) {
		printf("%s %s\n", cfg->prog ? cfg->prog : "cairn", version);
		return true;
	}
	return false;
}
