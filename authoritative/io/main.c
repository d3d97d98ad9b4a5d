/* main.c -- cairn-auth: authoritative DNS server. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth_zone.h"
#include "authd_geo.h"
#include "authd_server_impl.h"
#include "dns_err.h"
#include "dns_log.h"
#include "dns_log_time.h"

static const char usage[] =
	"--listen ADDR@PORT ... --zone ORIGIN=FILE ... [options]\n"
	"       cairn-auth --check-zone ORIGIN FILE\n"
	"       cairn-auth --explain NAME CLIENT[/PREFIX] --zone ORIGIN=FILE ... --map FILE";

static int check_zone(struct dns_config *parser)
{
	char msg[8192];
	if (parser->nargs != 2) {
		fprintf(stderr, "cairn-auth: --check-zone needs ORIGIN FILE\n");
		return 1;
	}
	msg[0] = '\0';
	int r = auth_zone_check_file(parser->args[0], parser->args[1], authd_zonefile_reader(),
		msg, sizeof(msg));
	if (r == 0) {
		printf("%s\n", msg);
		return 0;
	}
	if (msg[0])
		fprintf(stderr, "%s%s", msg, msg[strlen(msg) - 1] == '\n' ? "" : "\n");
	else
		fprintf(stderr, "%s: %s\n", parser->args[1], dns_strerror(r));
	return 1;
}

int main(int argc, char **argv)
{
	struct dns_config parser;
	struct authd_config cfg;
	struct authd_server server;
	bool check = false;
	char err[512];
	int rc = 1, r;

	if (authd_config_init(&parser, &cfg, &check) < 0) {
		fprintf(stderr, "cairn-auth: out of memory\n");
		return 1;
	}
	parser.prog = "cairn-auth";
	if (dns_config_parse_argv(&parser, argc, argv) < 0) {
		fprintf(stderr, "cairn-auth: %s\n", parser.err);
		goto out;
	}
	if (dns_config_print_action(&parser, usage, CAIRN_VERSION)) {
		rc = 0;
		goto out;
	}
	if (check) {
		rc = check_zone(&parser);
		goto out;
	}
	if (cfg.explain) {
		if (parser.nargs != 2) {
			fprintf(stderr, "cairn-auth: --explain needs NAME CLIENT[/PREFIX]\n");
			goto out;
		}
		err[0] = '\0';
		if ((r = authd_config_finish(&parser, &cfg, err, sizeof(err))) < 0) {
			fprintf(stderr, "cairn-auth: %s\n", err[0] ? err : dns_strerror(r));
			goto out;
		}
		dns_log_setup("cairn-auth", DNS_LOG_WARN);
		rc = authd_geo_explain_main(&cfg, parser.args[0], parser.args[1]);
		goto out;
	}
	if (parser.nargs > 0) {
		fprintf(stderr, "cairn-auth: unexpected argument '%s'\n", parser.args[0]);
		goto out;
	}
	err[0] = '\0';
	if ((r = authd_config_finish(&parser, &cfg, err, sizeof(err))) < 0) {
		fprintf(stderr, "cairn-auth: %s\n", err[0] ? err : dns_strerror(r));
		goto out;
	}
	dns_log_setup_stamped("cairn-auth", (enum dns_log_level)dns_log_level_from_str(cfg.log_level));
	if (authd_server_init(&server, &cfg) == 0) {
		authd_server_run(&server);
		rc = 0;
	}
	if (authd_server_deinit(&server) < 0) {
		log_err("shutdown: a loop did not close cleanly");
		rc = 1;
	}
out:
	authd_config_deinit(&cfg);
	dns_config_deinit(&parser);
	return rc;
}
