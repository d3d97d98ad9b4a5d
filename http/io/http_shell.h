/*
 * http_shell.h -- what cairn-origin and cairn-edge share around their HTTP
 * server: option-table entries and their checks, watching SIGTERM/SIGINT,
 * starting and ending the loop, and main() itself. Each program keeps only
 * what differs (its own options, its state, what a signal does).
 */
#ifndef CAIRN_HTTP_SHELL_H
#define CAIRN_HTTP_SHELL_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "dns_config_io.h"
#include "dns_signal.h"
#include "http_server.h"

/* The --listen entry: repeatable ADDR@PORT, port default_port when none is given. */
struct dns_opt http_shell_opt_listen(struct dns_config_vec *target, uint16_t default_port);

/* A milliseconds entry (metavar MS) named name, in [min, max]. */
struct dns_opt http_shell_opt_ms(const char *name, const char *help, unsigned *target,
	unsigned min, unsigned max);

/* The --header-timeout entry: 408 to a request head not complete in time (default 10000 ms). */
struct dns_opt http_shell_opt_header_timeout(unsigned *target);

/* The --log-level entry (err, warn, info, debug). */
struct dns_opt http_shell_opt_log_level(const char **target);

/*
 * Check the options every HTTP program has: a known log level and 1 to
 * HTTP_SERVER_MAX_LISTEN listen addresses. Returns 0, or DNS_E_CONFIG with
 * the reason in err.
 */
int http_shell_config_check(const char *log_level, const struct dns_config_vec *listen,
	char *err, size_t errlen);

/*
 * Start srv on loop with sc and, if that worked, watch SIGTERM/SIGINT with
 * sigs (cb gets data in sigs->data; dns_signals_close() them when stopping).
 * Returns 0 or the negative error of http_server_start() (which has logged
 * it; no signals are watched then).
 */
int http_shell_start(uv_loop_t *loop, struct http_server *srv, const struct http_server_config *sc,
	struct dns_signals *sigs, dns_signal_cb cb, void *data);

/*
 * Run loop (only if started) until it runs dry, then close whatever is left
 * and the loop itself. Returns the exit code: 0, or 1 if not started or the
 * loop did not close cleanly (logged).
 */
int http_shell_run(uv_loop_t *loop, bool started);

/* One HTTP program: its name, usage line and the handling of its config. */
struct http_shell_prog {
	const char *name;  /* "cairn-edge": in messages and the log */
	const char *usage; /* the usage line of --help, after the name */
	/* Fill the parser with the options, their targets in cfg; < 0 on failure. */
	int (*config_init)(struct dns_config *parser, void *cfg);
	/* Check the parsed options; < 0 with the reason in err. */
	int (*config_finish)(void *cfg, char *err, size_t errlen);
	/* Free what config_init and parsing allocated in cfg. */
	void (*config_deinit)(void *cfg);
	/* The --log-level value in cfg. */
	const char *(*log_level)(const void *cfg);
	/* Serve until stopped; returns the exit code. */
	int (*run)(void *cfg);
};

/*
 * main() of an HTTP program: parse argv into cfg, answer --help/--version,
 * refuse arguments, check, set up logging and run. Returns the exit code.
 */
int http_shell_main(const struct http_shell_prog *prog, void *cfg, int argc, char **argv);

/*
 * Define main() of an HTTP program whose config is struct P (P_init, P_finish,
 * P_deinit, member log_level), named NAME, with USAGE and RUN (int (*)(void *)):
 * the typed adapters to struct http_shell_prog, then http_shell_main().
 */
#define HTTP_SHELL_MAIN(P, NAME, USAGE, RUN) \
	static int shell_config_init(struct dns_config *parser, void *cfg) \
	{ \
		return P##_init(parser, cfg); \
	} \
	static int shell_config_finish(void *cfg, char *err, size_t errlen) \
	{ \
		return P##_finish(cfg, err, errlen); \
	} \
	static void shell_config_deinit(void *cfg) \
	{ \
		P##_deinit(cfg); \
	} \
	static const char *shell_config_log_level(const void *cfg) \
	{ \
		return ((const struct P *)cfg)->log_level; \
	} \
	int main(int argc, char **argv) \
	{ \
		static const struct http_shell_prog prog = { \
			.name = NAME, .usage = USAGE, .config_init = shell_config_init, \
			.config_finish = shell_config_finish, .config_deinit = shell_config_deinit, \
			.log_level = shell_config_log_level, .run = RUN, \
		}; \
		struct P cfg; \
		return http_shell_main(&prog, &cfg, argc, argv); \
	}

#endif
