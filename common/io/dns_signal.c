/* dns_signal.c -- SIGTERM/SIGINT (and SIGHUP) for every program (see dns_signal.h). */
#include <signal.h>

#include "dns_signal.h"

static void on_signal(uv_signal_t *h, int signum)
{
	struct dns_signals *sigs = h->data;
	sigs->cb(sigs, signum);
}

static int watch(uv_loop_t *loop, uv_signal_t *h, struct dns_signals *sigs, int signum)
{
	int r = uv_signal_init(loop, h);

	if (r < 0)
		return r;
	h->data = sigs;
	return uv_signal_start(h, on_signal, signum);
}

int dns_signals_start(struct dns_signals *sigs, uv_loop_t *loop, bool with_hup,
	dns_signal_cb cb, void *data)
{
	int r;

	sigs->cb = cb;
	sigs->data = data;
	sigs->has_hup = with_hup;
	if (with_hup && (r = watch(loop, &sigs->hup, sigs, SIGHUP)) < 0)
		return r;
	if ((r = watch(loop, &sigs->term, sigs, SIGTERM)) < 0)
		return r;
	return watch(loop, &sigs->intr, sigs, SIGINT);
}

void dns_signals_close(struct dns_signals *sigs)
{
	uv_close((uv_handle_t *)&sigs->term, NULL);
	uv_close((uv_handle_t *)&sigs->intr, NULL);
	if (sigs->has_hup)
		uv_close((uv_handle_t *)&sigs->hup, NULL);
}
