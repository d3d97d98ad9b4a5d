/* main.c -- cairn-resolver: recursive caching DNS resolver. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dns_err.h"
#include "dns_log.h"
#include "dns_log_time.h"
#include "rsvd.h"

static const char usage[] =
	"--listen ADDR@PORT ... [--root-hints FILE] [--allow CIDR ...] [--deny CIDR ...] [options]\n"
	"       cairn-resolver --trace NAME [TYPE] [--root-hints FILE]";

int main(int argc, char **argv)
{
	struct dns_config parser;
	struct rsvd_config cfg;
	struct rsvd_server server;
	char err[512];
	int rc = 1, r;

	if (rsvd_config_init(&parser, &cfg) < 0) {
		fprintf(stderr, "cairn-resolver: out of memory\n");
		return 1;
	}
	parser.prog = "cairn-resolver";
	if (dns_config_parse_argv(&parser, argc, argv) < 0) {
		fprintf(stderr, "cairn-resolver: %s\n", parser.err);
		goto out;
	}
	if (dns_config_print_action(&parser, usage, CAIRN_VERSION)) {
		rc = 0;
		goto out;
	}
	if (parser.nargs > (cfg.trace ? 1u : 0u)) {
		fprintf(stderr, "cairn-resolver: unexpected argument '%s'\n",
			parser.args[cfg.trace ? 1 : 0]);
		goto out;
	}
	err[0] = '\0';
	if ((r = rsvd_config_finish(&cfg, err, sizeof(err))) < 0) {
		fprintf(stderr, "cairn-resolver: %s\n", err[0] ? err : dns_strerror(r));
		goto out;
	}
	dns_log_setup_stamped("cairn-resolver", (enum dns_log_level)dns_log_level_from_str(cfg.log_level));
	if (cfg.trace) {
		rc = rsvd_trace_run(&cfg, cfg.trace, parser.nargs ? parser.args[0] : NULL);
		goto out;
	}
	if (rsvd_server_init(&server, &cfg) == 0) {
		rsvd_server_run(&server);
		rc = 0;
	}
	if (rsvd_server_deinit(&server) < 0) {
		log_err("shutdown: a loop did not close cleanly");
		rc = 1;
	}
out:
	dns_config_deinit(&parser);
	return rc;
}
