/*
 * dns_listen_server.c -- a DNS server's listeners on worker threads: one libuv
 * loop per thread, a UDP and a TCP listener per address in each (SO_REUSEPORT
 * spreads the clients), the first worker's ephemeral ports reused by the others,
 * and a stop that closes every handle and joins every thread.
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "dns_config.h"
#include "dns_err.h"
#include "dns_listen_impl.h"
#include "dns_log.h"

struct worker {
	struct dns_listen_server *srv;
	unsigned index;
	uv_loop_t loop;
	uv_async_t stop;
	uv_thread_t thread;
	struct dns_listener **listeners; /* 2 per address: UDP, TCP */
	size_t nlisteners;
	bool loop_ok;                    /* uv_loop_init succeeded */
	bool started;                    /* thread running */
	int close_rc;                    /* uv_loop_close() result */
};

struct dns_listen_server {
	struct dns_listen_server_config cfg;
	struct sockaddr_storage *addrs;  /* as bound */
	struct worker *workers;
	unsigned nworkers;
};

static void worker_close_handles(struct worker *w)
{
	for (size_t i = 0; i < w->nlisteners; i++)
		dns_listener_close(w->listeners[i]);
	if (!uv_is_closing((uv_handle_t *)&w->stop))
		uv_close((uv_handle_t *)&w->stop, NULL);
}

static void walk_log_cb(uv_handle_t *h, void *arg)
{
	log_err("listener loop %u: handle of type %s still open", *(unsigned *)arg, uv_handle_type_name(h->type));
}

/* Run the loop until every handle is closed, then close the loop. */
static void worker_finish(struct worker *w)
{
	uv_run(&w->loop, UV_RUN_DEFAULT);
	w->close_rc = uv_loop_close(&w->loop);
	if (w->close_rc != 0)
		uv_walk(&w->loop, walk_log_cb, &w->index);
}

static void worker_stop_cb(uv_async_t *a)
{
	struct worker *w = a->data;
	if (w->srv->cfg.thread_stop != NULL)
		w->srv->cfg.thread_stop(w->srv->cfg.opts.ctx, w->index, &w->loop);
	worker_close_handles(w);
}

static void worker_main(void *arg)
{
	struct worker *w = arg;
	if (w->srv->cfg.thread_start != NULL)
		w->srv->cfg.thread_start(w->srv->cfg.opts.ctx, w->index, &w->loop);
	worker_finish(w);
}

/* Only once no worker thread runs: drops the server's references to the listeners. */
static void server_free(struct dns_listen_server *srv)
{
	if (srv->workers != NULL) {
		for (unsigned i = 0; i < srv->cfg.threads; i++) {
			struct worker *w = &srv->workers[i];
			for (size_t k = 0; k < w->nlisteners; k++)
				listen_unref(w->listeners[k]);
			free(w->listeners);
		}
	}
	free(srv->workers);
	free(srv->addrs);
	free(srv);
}

static void port_set(struct sockaddr_storage *ss, uint16_t port_net)
{
	if (ss->ss_family == AF_INET)
		((struct sockaddr_in *)ss)->sin_port = port_net;
	else
		((struct sockaddr_in6 *)ss)->sin6_port = port_net;
}

static uint16_t port_get(const struct sockaddr_storage *ss)
{
	return ss->ss_family == AF_INET ? ((const struct sockaddr_in *)ss)->sin_port
					: ((const struct sockaddr_in6 *)ss)->sin6_port;
}

/* Worker i's loop, stop signal and listeners (UDP and TCP on every address). */
static int worker_setup(struct dns_listen_server *srv, struct worker *w, unsigned i)
{
	int rc;
	w->srv = srv;
	w->index = i;
	w->listeners = calloc(srv->cfg.naddrs * 2, sizeof(*w->listeners));
	if (w->listeners == NULL)
		return -ENOMEM;
	rc = uv_loop_init(&w->loop);
	if (rc < 0)
		return rc;
	w->loop_ok = true;
	rc = uv_async_init(&w->loop, &w->stop, worker_stop_cb);
	if (rc < 0)
		return rc;
	w->stop.data = w;
	for (size_t a = 0; a < srv->cfg.naddrs; a++) {
		for (int t = DNS_TRANSPORT_UDP; t <= DNS_TRANSPORT_TCP; t++) {
			struct sockaddr_storage *ss = &srv->addrs[a];
			struct dns_listener *l;
			char abuf[80];
			rc = dns_listener_start(&l, &w->loop, (struct sockaddr *)ss, (enum dns_transport)t,
						&srv->cfg.opts, i);
			if (rc < 0) {
				log_err("cannot listen on %s/%s: %s", dns_addr_format((struct sockaddr *)ss, abuf, sizeof(abuf)),
					t == DNS_TRANSPORT_UDP ? "udp" : "tcp", uv_strerror(rc));
				return rc;
			}
			/* the server keeps a reference so stats stay readable until it is freed */
			l->refs++;
			w->listeners[w->nlisteners++] = l;
			if (port_get(ss) == 0) {
				/* port 0: every other socket of this address takes the port the kernel chose */
				struct sockaddr_storage bound;
				dns_listener_addr(l, &bound);
				port_set(ss, port_get(&bound));
			}
		}
	}
	return 0;
}

/* A worker failed to set up, before any thread ran: close and free everything. */
static void setup_undo(struct dns_listen_server *srv)
{
	for (unsigned i = 0; i < srv->nworkers; i++) {
		struct worker *w = &srv->workers[i];
		if (!w->loop_ok)
			continue;
		if (w->stop.data != NULL)
			worker_close_handles(w);
		else
			for (size_t k = 0; k < w->nlisteners; k++)
				dns_listener_close(w->listeners[k]);
		worker_finish(w);
	}
	server_free(srv);
}

/* Start every worker's thread; on failure stop those that run and free the server. */
static int threads_start(struct dns_listen_server *srv)
{
	unsigned n = srv->nworkers;
	for (unsigned i = 0; i < n; i++) {
		struct worker *w = &srv->workers[i];
		int rc = uv_thread_create(&w->thread, worker_main, w);
		if (rc < 0) {
			/* stop what runs and tear down the rest here */
			for (unsigned k = i; k < n; k++) {
				worker_close_handles(&srv->workers[k]);
				worker_finish(&srv->workers[k]);
			}
			srv->nworkers = i;
			dns_listen_server_stop(srv);
			return rc;
		}
		w->started = true;
	}
	return 0;
}

int dns_listen_server_start(struct dns_listen_server **out, const struct dns_listen_server_config *cfg)
{
	struct dns_listen_server *srv;
	unsigned n = cfg->threads ? cfg->threads : 1;
	int rc = 0;

	if (cfg->naddrs == 0 || cfg->opts.query_cb == NULL)
		return -EINVAL;
	srv = calloc(1, sizeof(*srv));
	if (srv == NULL)
		return -ENOMEM;
	srv->cfg = *cfg;
	srv->cfg.threads = n;
	if (n > 1)
		srv->cfg.opts.reuseport = true;
	srv->addrs = calloc(cfg->naddrs, sizeof(*srv->addrs));
	srv->workers = calloc(n, sizeof(*srv->workers));
	srv->nworkers = n;
	if (srv->addrs == NULL || srv->workers == NULL) {
		server_free(srv);
		return -ENOMEM;
	}
	memcpy(srv->addrs, cfg->addrs, cfg->naddrs * sizeof(*srv->addrs));
	srv->cfg.addrs = srv->addrs;

	for (unsigned i = 0; i < n && rc == 0; i++)
		rc = worker_setup(srv, &srv->workers[i], i);
	if (rc < 0) {
		setup_undo(srv);
		return rc;
	}
	if ((rc = threads_start(srv)) < 0)
		return rc;
	for (size_t i = 0; i < srv->cfg.naddrs; i++) {
		struct sockaddr_storage a;
		char text[80];
		dns_listen_server_addr(srv, i, &a);
		log_info("listening on %s (udp, tcp)", dns_addr_format((struct sockaddr *)&a, text,
			sizeof(text)));
	}
	*out = srv;
	return 0;
}

int dns_listen_server_stop(struct dns_listen_server *srv)
{
	int rc = 0;
	if (srv == NULL)
		return 0;
	for (unsigned i = 0; i < srv->nworkers; i++)
		if (srv->workers[i].started)
			uv_async_send(&srv->workers[i].stop);
	for (unsigned i = 0; i < srv->nworkers; i++) {
		struct worker *w = &srv->workers[i];
		if (!w->started)
			continue;
		uv_thread_join(&w->thread);
		if (w->close_rc != 0)
			rc = -EBUSY;
	}
	server_free(srv);
	return rc;
}

void dns_listen_server_addr(const struct dns_listen_server *srv, size_t i, struct sockaddr_storage *out)
{
	*out = srv->addrs[i];
}

void dns_listen_server_stats(const struct dns_listen_server *srv, struct dns_listener_stats *out)
{
	memset(out, 0, sizeof(*out));
	for (unsigned i = 0; i < srv->nworkers; i++) {
		const struct worker *w = &srv->workers[i];
		for (size_t k = 0; k < w->nlisteners; k++) {
			struct dns_listener_stats s;
			dns_listener_stats(w->listeners[k], &s);
			out->queries += s.queries;
			out->replies += s.replies;
			out->send_errors += s.send_errors;
			out->dropped += s.dropped;
			out->tcp_accepted += s.tcp_accepted;
			out->tcp_refused += s.tcp_refused;
			out->tcp_timeouts += s.tcp_timeouts;
			out->tcp_conns += s.tcp_conns;
			out->tcp_pauses += s.tcp_pauses;
		}
	}
}
