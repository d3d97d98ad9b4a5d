/*
 * dns_config_io.h -- the file and terminal side of the option reader
 * (common/core/dns_config.h): config files read from disk, and --help and
 * --version printed on stdout.
 */
#ifndef CAIRN_DNS_CONFIG_IO_H
#define CAIRN_DNS_CONFIG_IO_H

#include <stdbool.h>

#include "dns_config.h"

/*
 * dns_config_init() with config files (--config FILE, `config FILE` lines) read
 * from disk through dns_file_read(). Same returns as dns_config_init().
 */
int dns_config_init_files(struct dns_config *cfg, const struct dns_opt *opts, const struct dns_mm *mm);

/* Let an initialised cfg read config files from disk. */
void dns_config_use_files(struct dns_config *cfg);

/*
 * Carry out a --help or --version the command line asked for: print the help
 * text (with usage) or "prog version" to stdout. Returns true when it did, so
 * the program exits 0; false when cfg->action is DNS_CONFIG_RUN.
 */
bool dns_config_print_action(const struct dns_config *cfg, const char *usage, const char *version);

#endif
