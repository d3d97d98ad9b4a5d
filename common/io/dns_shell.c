/* dns_shell.c -- the skeleton of the DNS servers (dns_shell.h). */
#include "dns_shell.h"

#include <errno.h>
#include <signal.h>
#include <string.h>

#include "dns_err.h"
#include "dns_log.h"
#include "dns_loop.h"

int dns_shell_init(struct dns_shell *sh)
{
	memset(sh, 0, sizeof(*sh));
	int rc = uv_loop_init(&sh->loop);
	if (rc < 0)
		return rc;
	sh->loop_ready = true;
	return 0;
}

static void on_signal(struct dns_signals *sigs, int signum)
{
	struct dns_shell *sh = sigs->data;
	if (signum == SIGHUP) {
		if (sh->reload != NULL)
			sh->reload(sh->ctx);
		return;
	}
	log_info("signal %d: shutting down", signum);
	uv_stop(&sh->loop);
}

int dns_shell_start(struct dns_shell *sh, const struct dns_shell_config *cfg)
{
	int rc = dns_listen_server_start(&sh->listen, &cfg->listen);
	if (rc < 0) {
		log_err("cannot start: %s", dns_strerror(rc));
		return rc;
	}
	sh->reload = cfg->reload;
	sh->ctx = cfg->ctx;
	rc = dns_signals_start(&sh->sigs, &sh->loop, cfg->reload != NULL, on_signal, sh);
	if (rc < 0) {
		log_err("cannot watch signals: %s", dns_strerror(rc));
		return rc;
	}
	sh->sigs_ready = true;
	return 0;
}

int dns_shell_run(struct dns_shell *sh)
{
	return uv_run(&sh->loop, UV_RUN_DEFAULT);
}

int dns_shell_stop(struct dns_shell *sh)
{
	int rc = 0;
	if (sh->listen != NULL && dns_listen_server_stop(sh->listen) < 0)
		rc = -EBUSY;
	sh->listen = NULL;
	return rc;
}

int dns_shell_deinit(struct dns_shell *sh)
{
	int rc = dns_shell_stop(sh);
	if (sh->sigs_ready)
		dns_signals_close(&sh->sigs);
	sh->sigs_ready = false;
	if (sh->loop_ready && dns_loop_close_all(&sh->loop) < 0)
		rc = -EBUSY;
	sh->loop_ready = false;
	return rc;
}
