/*
 * fuzz_config.c -- libFuzzer target for the config-file reader: option lines
 * of every type (string, number, size, address, prefix, repeatable) parsed
 * from arbitrary text; errors must carry a message, successes sane values.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "dns_config.h"
#include "dns_err.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dns_config_vec listen = {0}, allow = {0}, names = {0};
	const char *level = NULL;
	unsigned threads = 0;
	uint64_t cache = 0;
	bool flag = false;
	struct dns_opt opts[] = {
		{.name = "listen", .type = DNS_OPT_ADDR, .flags = DNS_OPT_REPEAT, .target = &listen,
		 .default_port = 53},
		{.name = "allow", .type = DNS_OPT_CIDR, .flags = DNS_OPT_REPEAT, .target = &allow},
		{.name = "zone", .type = DNS_OPT_STRING, .flags = DNS_OPT_REPEAT, .target = &names},
		{.name = "log-level", .type = DNS_OPT_STRING, .target = &level},
		{.name = "threads", .type = DNS_OPT_UINT, .target = &threads, .min = 1, .max = 256},
		{.name = "cache-size", .type = DNS_OPT_SIZE, .target = &cache},
		{.name = "verbose", .type = DNS_OPT_FLAG, .target = &flag},
		{0},
	};
	struct dns_config cfg;

	if (dns_config_init(&cfg, opts, NULL) < 0)
		return 0;
	int r = dns_config_parse_text(&cfg, "fuzz.conf", (const char *)data, size);
	if (r == DNS_E_CONFIG)
		require(strncmp(cfg.err, "fuzz.conf:", 10) == 0);
	else if (r == 0)
		require(threads == 0 || (threads >= 1 && threads <= 256));
	dns_config_deinit(&cfg);
	return 0;
}
