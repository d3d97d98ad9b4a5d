/* http_shell.c -- the shell parts cairn-origin and cairn-edge share (see http_shell.h). */
#include <stdio.h>

#include "dns_err.h"
#include "dns_log.h"
#include "dns_log_time.h"
#include "dns_loop.h"
#include "http_shell.h"

struct dns_opt http_shell_opt_listen(struct dns_config_vec *target, uint16_t default_port)
{
	return (struct dns_opt){.name = "listen", .type = DNS_OPT_ADDR, .flags = DNS_OPT_REPEAT,
		.help = "address to serve HTTP on (port 8080 by default)", .target = target,
		.default_port = default_port};
}

struct dns_opt http_shell_opt_ms(const char *name, const char *help, unsigned *target,
	unsigned min, unsigned max)
{
	return (struct dns_opt){.name = name, .type = DNS_OPT_UINT, .metavar = "MS", .help = help,
		.target = target, .min = min, .max = max};
}

struct dns_opt http_shell_opt_header_timeout(unsigned *target)
{
	return http_shell_opt_ms("header-timeout",
		"answer 408 to a request head not complete within MS milliseconds (default 10000)",
		target, 1, 3600000);
}

struct dns_opt http_shell_opt_log_level(const char **target)
{
	return (struct dns_opt){.name = "log-level", .type = DNS_OPT_STRING, .metavar = "LEVEL",
		.help = "err, warn, info (one access line per request) or debug (default info)",
		.target = target};
}

int http_shell_config_check(const char *log_level, const struct dns_config_vec *listen,
	char *err, size_t errlen)
{
	if (dns_log_level_from_str(log_level) < 0) {
		snprintf(err, errlen, "option log-level: unknown level '%s'", log_level);
		return DNS_E_CONFIG;
	}
	if (listen->n == 0) {
		snprintf(err, errlen, "option listen: no address to serve on (--listen ADDR@PORT)");
		return DNS_E_CONFIG;
	}
	if (listen->n > HTTP_SERVER_MAX_LISTEN) {
		snprintf(err, errlen, "option listen: more than %d addresses", HTTP_SERVER_MAX_LISTEN);
		return DNS_E_CONFIG;
	}
	return 0;
}

int http_shell_start(uv_loop_t *loop, struct http_server *srv, const struct http_server_config *sc,
	struct dns_signals *sigs, dns_signal_cb cb, void *data)
{
	int r = http_server_start(srv, loop, sc);

	if (r < 0)
		return r;
	return dns_signals_start(sigs, loop, false, cb, data);
}

int http_shell_run(uv_loop_t *loop, bool started)
{
	int rc = started ? 0 : 1;

	if (started)
		uv_run(loop, UV_RUN_DEFAULT);
	if (dns_loop_close_all(loop) < 0) {
		log_err("shutdown: the loop did not close cleanly");
		rc = 1;
	}
	return rc;
}

int http_shell_main(const struct http_shell_prog *prog, void *cfg, int argc, char **argv)
{
	struct dns_config parser;
	char err[512];
	int rc = 1, r;

	if (prog->config_init(&parser, cfg) < 0) {
		fprintf(stderr, "%s: out of memory\n", prog->name);
		return 1;
	}
	parser.prog = prog->name;
	if (dns_config_parse_argv(&parser, argc, argv) < 0) {
		fprintf(stderr, "%s: %s\n", prog->name, parser.err);
		goto out;
	}
	if (dns_config_print_action(&parser, prog->usage, CAIRN_VERSION)) {
		rc = 0;
		goto out;
	}
	if (parser.nargs > 0) {
		fprintf(stderr, "%s: unexpected argument '%s'\n", prog->name, parser.args[0]);
		goto out;
	}
	err[0] = '\0';
	if ((r = prog->config_finish(cfg, err, sizeof(err))) < 0) {
		fprintf(stderr, "%s: %s\n", prog->name, err[0] ? err : dns_strerror(r));
		goto out;
	}
	dns_log_setup_stamped(prog->name,
		(enum dns_log_level)dns_log_level_from_str(prog->log_level(cfg)));
	rc = prog->run(cfg);
out:
	prog->config_deinit(cfg);
	dns_config_deinit(&parser);
	return rc;
}
