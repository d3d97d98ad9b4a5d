/*
 * dns_shell.h -- the skeleton both DNS servers (cairn-auth, cairn-resolver) are
 * built on: a main loop for the program's own handles (signals, metrics, timers,
 * transfers, health checks), the listeners on their worker threads
 * (dns_listen.h), SIGTERM/SIGINT that stop it and SIGHUP that reloads it, and
 * the order of the stop: listeners and their threads first, then the program's
 * handles, then the loop.
 *
 *   dns_shell_init(&sh)                        the loop
 *   dns_shell_start(&sh, &cfg)                 listeners and signals
 *   dns_shell_run(&sh)                         until SIGTERM/SIGINT
 *   dns_shell_stop(&sh)                        listeners, worker threads joined
 *   ... the program closes its handles on sh.loop ...
 *   dns_shell_deinit(&sh)                      signals and the loop
 */
#ifndef CAIRN_DNS_SHELL_H
#define CAIRN_DNS_SHELL_H

#include <stdbool.h>
#include <uv.h>

#include "dns_listen.h"
#include "dns_signal.h"

/* SIGHUP: reload (called on the main loop). */
typedef void (*dns_shell_reload_cb)(void *ctx);

/* What dns_shell_start() starts. */
struct dns_shell_config {
	struct dns_listen_server_config listen; /* addresses, threads, the query callback */
	dns_shell_reload_cb reload;             /* SIGHUP; NULL: SIGHUP is not watched */
	void *ctx;                              /* first argument of reload */
};

/* Embed it in the program's server; every member is read-only for the program. */
struct dns_shell {
	uv_loop_t loop;                   /* the main loop */
	struct dns_listen_server *listen; /* the listeners, NULL until started and once stopped */
	struct dns_signals sigs;          /* SIGTERM, SIGINT (and SIGHUP) */
	bool loop_ready;                  /* loop initialised */
	bool sigs_ready;                  /* sigs started */
	dns_shell_reload_cb reload;       /* SIGHUP */
	void *ctx;                        /* its argument */
};

/* Initialise the main loop. Returns 0 or a negative libuv error. */
int dns_shell_init(struct dns_shell *sh);

/*
 * Start the listeners (logging "cannot start: REASON" when they fail) and watch
 * the signals. Returns 0 or a negative error; dns_shell_stop() and
 * dns_shell_deinit() still clean up after a failure.
 */
int dns_shell_start(struct dns_shell *sh, const struct dns_shell_config *cfg);

/* Run the main loop until a SIGTERM or SIGINT stops it. */
int dns_shell_run(struct dns_shell *sh);

/*
 * Stop the listeners and join their threads (queries in flight are dropped).
 * Returns 0, or -EBUSY when a worker loop did not close cleanly.
 */
int dns_shell_stop(struct dns_shell *sh);

/*
 * Close the signals and every handle left on the main loop, then the loop
 * itself (after the program closed its own handles). Returns 0, or -EBUSY when
 * the loop did not close.
 */
int dns_shell_deinit(struct dns_shell *sh);

#endif
