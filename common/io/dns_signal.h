/*
 * dns_signal.h -- the signals every cairn program watches: SIGTERM and SIGINT
 * stop it, SIGHUP (for the programs that reload) reloads it.
 */
#ifndef CAIRN_DNS_SIGNAL_H
#define CAIRN_DNS_SIGNAL_H

#include <stdbool.h>
#include <uv.h>

struct dns_signals;

/* Called with the signal number (SIGTERM, SIGINT or SIGHUP); may be called again. */
typedef void (*dns_signal_cb)(struct dns_signals *sigs, int signum);

/* The watched signals; the handles stay open until closed or the loop is closed. */
struct dns_signals {
	uv_signal_t term;  /* SIGTERM */
	uv_signal_t intr;  /* SIGINT */
	uv_signal_t hup;   /* SIGHUP, when watched */
	bool has_hup;      /* hup is initialised */
	dns_signal_cb cb;  /* what any of them does */
	void *data;        /* for cb's use */
};

/*
 * Watch SIGTERM and SIGINT (and SIGHUP if with_hup) on loop: each calls
 * cb(sigs, signum), with data in sigs->data. Returns 0 or a negative libuv error
 * (nothing is watched then; handles already initialised close with the loop).
 */
int dns_signals_start(struct dns_signals *sigs, uv_loop_t *loop, bool with_hup,
	dns_signal_cb cb, void *data);

/* Close the handles (when the program stops, so the loop can run dry). */
void dns_signals_close(struct dns_signals *sigs);

#endif
