/* http_server.c -- HTTP/1.1 listeners and connections on libuv (see http_server.h). */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dns_config.h"
#include "dns_err.h"
#include "dns_list.h"
#include "dns_log.h"
#include "http_date.h"
#include "http_server.h"

/* Unparsed request bytes kept per connection (pipelined requests wait here). */
#define CONN_RBUF 16384
/*
 * Answer bytes queued in user space beyond which the next pipelined request
 * waits: a client that sends requests and never reads answers must not make
 * us queue answers without bound.
 */
#define WRITE_BACKLOG (256 * 1024)
/* How long a closing connection keeps reading (and dropping) what the client still sends. */
#define LINGER_MS 2000

struct http_exchange {
	struct http_conn *conn;
	int status;          /* status sent, for the log */
	uint64_t bytes;      /* body bytes sent */
	uint64_t start_ms;   /* loop time the request was complete */
	bool head_sent;
	bool close;          /* close the connection after this exchange */
	const char *note;    /* appended to the access log line (http_exchange_set_log_note) */
};

/* Where a connection is in its life. */
enum conn_phase {
	CONN_OPEN = 0,  /* reading and answering requests */
	CONN_DRAIN,     /* no more requests: finish writing, shut down, linger */
	CONN_CLOSING,   /* handles being closed */
};

struct http_conn {
	uv_tcp_t tcp;
	uv_timer_t timer;
	uv_shutdown_t shut;
	struct http_server *srv;
	struct http_conn *next, *prev;
	struct http_parser parser;
	bool has_parser;
	struct http_exchange ex;
	struct sockaddr_storage peer;
	char peer_text[64];
	enum conn_phase phase;
	unsigned writes;      /* uv_write requests in flight */
	int handles;          /* handles not yet closed */
	bool busy;            /* an exchange is with the application */
	bool reading;
	bool eof;             /* the client shut down its side */
	bool in_process;      /* process() is on the stack */
	bool head_timer;      /* the header timer of the current request is armed */
	bool shut_started;
	bool linger;          /* shut down: waiting for the client's EOF */
	bool close_after;     /* close once the current exchange ends */
	bool continue_sent;   /* 100 Continue sent for the current request */
	size_t rlen;
	uint8_t rbuf[CONN_RBUF];
};

struct conn_write {
	uv_write_t req;
	struct http_conn *c;
	http_write_cb cb;
	void *arg;
	uint8_t data[];
};

static void conn_close(struct http_conn *c);
static void conn_finish(struct http_conn *c);
static void process(struct http_conn *c);
static void conn_arm(struct http_conn *c);
static void conn_read_start(struct http_conn *c);

static const char *server_date(struct http_server *s)
{
	int64_t now = (int64_t)time(NULL);
	if (now != s->date_sec) {
		if (http_date_format(now, s->date, sizeof(s->date)) < 0)
			snprintf(s->date, sizeof(s->date), "Thu, 01 Jan 1970 00:00:00 GMT");
		s->date_sec = now;
	}
	return s->date;
}

static void maybe_stopped(struct http_server *s)
{
	if (s->stopping && s->nconns == 0 && s->nlisteners_open == 0 && s->stop_cb) {
		http_server_stop_cb cb = s->stop_cb;
		s->stop_cb = NULL;
		cb(s, s->stop_arg);
	}
}

static void maybe_free(struct http_conn *c)
{
	struct http_server *s = c->srv;
	if (c->handles > 0 || c->busy)
		return;
	DNS_LIST_UNLINK(s->conns, c);
	s->nconns--;
	if (c->has_parser)
		http_parser_deinit(&c->parser);
	free(c);
	maybe_stopped(s);
}

static void on_handle_closed(uv_handle_t *h)
{
	struct http_conn *c = h->data;
	c->handles--;
	maybe_free(c);
}

/* Abortive close: pending writes are cancelled (their callbacks see an error). */
static void conn_close(struct http_conn *c)
{
	if (c->phase == CONN_CLOSING)
		return;
	c->phase = CONN_CLOSING;
	uv_timer_stop(&c->timer);
	uv_read_stop((uv_stream_t *)&c->tcp);
	uv_close((uv_handle_t *)&c->timer, on_handle_closed);
	uv_close((uv_handle_t *)&c->tcp, on_handle_closed);
}

static void on_write(uv_write_t *req, int status)
{
	struct conn_write *w = (struct conn_write *)req;
	struct http_conn *c = w->c;
	http_write_cb cb = w->cb;
	void *arg = w->arg;

	free(w);
	c->writes--;
	if (status < 0 && c->phase != CONN_CLOSING)
		conn_close(c);
	if (cb)
		cb(&c->ex, status, arg);
	if (c->phase == CONN_DRAIN && c->writes == 0)
		conn_finish(c);
	else if (c->phase == CONN_OPEN && !c->busy && c->rlen > 0)
		process(c); /* pipelined requests waiting for the backlog to drain */
	else if (c->phase != CONN_CLOSING)
		conn_arm(c);
}

/*
 * Queue head (always copied) then body (copied without cb; else referenced
 * until cb runs) in one write, so a small answer leaves in one system call.
 */
static int conn_write2(struct http_conn *c, const void *head, size_t hlen, const void *body,
	size_t blen, http_write_cb cb, void *arg)
{
	struct conn_write *w;
	uv_buf_t b[2];
	unsigned nb = 0;
	int r;

	if (c->phase == CONN_CLOSING)
		return UV_ECONNRESET;
	w = malloc(sizeof(*w) + hlen + (cb ? 0 : blen));
	if (!w)
		return UV_ENOMEM;
	w->c = c;
	w->cb = cb;
	w->arg = arg;
	if (hlen)
		memcpy(w->data, head, hlen);
	if (!cb && blen)
		memcpy(w->data + hlen, body, blen);
	if (hlen || (!cb && blen))
		b[nb++] = uv_buf_init((char *)w->data, (unsigned)(hlen + (cb ? 0 : blen)));
	if (cb && blen)
		b[nb++] = uv_buf_init((char *)body, (unsigned)blen);
	if (nb == 0)
		b[nb++] = uv_buf_init((char *)w->data, 0);
	r = uv_write(&w->req, (uv_stream_t *)&c->tcp, b, nb, on_write);
	if (r < 0) {
		free(w);
		return r;
	}
	c->writes++;
	conn_arm(c);
	return 0;
}

static int conn_write(struct http_conn *c, const void *data, size_t len, http_write_cb cb, void *arg)
{
	if (cb)
		return conn_write2(c, NULL, 0, data, len, cb, arg);
	return conn_write2(c, data, len, NULL, 0, NULL, NULL);
}

/* The request line for the log, with quotes and control bytes escaped. */
static void log_access(struct http_conn *c, const struct http_request *r, int status, uint64_t bytes)
{
	char when[64], line[600];
	struct tm tm;
	time_t now;
	size_t n = 0;

	if (c->srv->cfg.no_access_log || !dns_log_enabled(DNS_LOG_INFO))
		return; /* formatting the line costs more than answering a cached object */
	now = time(NULL);
	gmtime_r(&now, &tm);
	strftime(when, sizeof(when), "%d/%b/%Y:%H:%M:%S +0000", &tm);
	if (r && r->method_name && r->target) {
		n = (size_t)snprintf(line, sizeof(line), "%s ", r->method_name);
		for (const char *p = r->target; *p && n + 8 < sizeof(line); p++) {
			unsigned char ch = (unsigned char)*p;
			if (ch < 0x21 || ch >= 0x7f || ch == '"' || ch == '\\')
				n += (size_t)snprintf(line + n, sizeof(line) - n, "\\x%02x", ch);
			else
				line[n++] = (char)ch;
		}
		snprintf(line + n, sizeof(line) - n, " HTTP/%u.%u", r->version_major, r->version_minor);
	} else {
		snprintf(line, sizeof(line), "-");
	}
	log_info("%s - - [%s] \"%s\" %d %llu %llu%s%s", c->peer_text, when, line, status,
		(unsigned long long)bytes,
		(unsigned long long)(c->busy ? uv_now(c->srv->loop) - c->ex.start_ms : 0),
		c->busy && c->ex.note ? " " : "", c->busy && c->ex.note ? c->ex.note : "");
}

/* Answer a request we could not read (or a timeout), then close. */
static void reply_error(struct http_conn *c, int status, const char *why)
{
	char head[512], body[96];
	struct http_head h;
	int n = snprintf(body, sizeof(body), "%d %s\n", status, http_status_reason(status));

	log_debug("%s: %d (%s)", c->peer_text, status, why ? why : "");
	http_head_init(&h, head, sizeof(head), status);
	http_head_add(&h, "Date", server_date(c->srv));
	http_head_add(&h, "Server", c->srv->cfg.server_name);
	http_head_add(&h, "Content-Type", "text/plain; charset=utf-8");
	http_head_addf(&h, "Content-Length", "%d", n);
	http_head_add(&h, "Connection", "close");
	int hl = http_head_end(&h);
	log_access(c, c->parser.head_done ? &c->parser.req : NULL, status, (uint64_t)n);
	if (hl > 0 && conn_write(c, head, (size_t)hl, NULL, NULL) == 0)
		conn_write(c, body, (size_t)n, NULL, NULL);
	conn_finish(c);
}

static void on_linger_timeout(uv_timer_t *t)
{
	conn_close(t->data);
}

static void on_shutdown(uv_shutdown_t *req, int status)
{
	struct http_conn *c = req->data;
	if (c->phase == CONN_CLOSING)
		return;
	if (status < 0 || c->eof) {
		conn_close(c);
		return;
	}
	/* Lingering close: read and drop until the client closes too, for a while. */
	c->linger = true;
	uv_timer_start(&c->timer, on_linger_timeout, LINGER_MS, 0);
	conn_read_start(c);
}

/* No more requests on this connection: send what is queued, then shut down. */
static void conn_finish(struct http_conn *c)
{
	if (c->phase == CONN_CLOSING)
		return;
	c->phase = CONN_DRAIN;
	if (c->busy || c->writes > 0 || c->shut_started)
		return; /* on_write or http_exchange_end() comes back here */
	c->shut_started = true;
	c->shut.data = c;
	if (uv_shutdown(&c->shut, (uv_stream_t *)&c->tcp, on_shutdown) < 0)
		conn_close(c);
	else
		uv_timer_stop(&c->timer);
}

static void on_timer(uv_timer_t *t)
{
	struct http_conn *c = t->data;
	if (c->phase != CONN_OPEN) {
		conn_close(c);
		return;
	}
	if (!c->busy && c->has_parser && c->parser.in_request && !c->parser.head_done) {
		/* RFC 9110 15.5.9: the client took too long to send its request. */
		reply_error(c, 408, "request head timeout");
		return;
	}
	conn_close(c);
}

/* Set the connection's timer for what it is waiting for now. */
static void conn_arm(struct http_conn *c)
{
	const struct http_server_config *cfg = &c->srv->cfg;
	if (c->phase == CONN_CLOSING || c->linger)
		return;
	if (c->writes > 0) {
		uv_timer_start(&c->timer, on_timer, cfg->send_timeout_ms, 0);
		return;
	}
	if (c->phase == CONN_DRAIN || c->busy) {
		/* The application times its own work (an origin fetch, a file read). */
		uv_timer_stop(&c->timer);
		return;
	}
	if (c->parser.in_request && !c->parser.head_done) {
		/* Armed once at the first byte: slow headers cannot keep it alive. */
		if (!c->head_timer) {
			c->head_timer = true;
			uv_timer_start(&c->timer, on_timer, cfg->header_timeout_ms, 0);
		}
		return;
	}
	uv_timer_start(&c->timer, on_timer, cfg->idle_timeout_ms, 0);
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
	static char discard[4096];
	struct http_conn *c = h->data;
	(void)suggested;
	if (c->phase != CONN_OPEN) {
		*buf = uv_buf_init(discard, sizeof(discard));
		return;
	}
	*buf = uv_buf_init((char *)c->rbuf + c->rlen, (unsigned)(sizeof(c->rbuf) - c->rlen));
}

static void on_read(uv_stream_t *st, ssize_t nread, const uv_buf_t *buf)
{
	struct http_conn *c = st->data;
	(void)buf;
	if (nread == 0)
		return;
	if (nread < 0) {
		uv_read_stop(st);
		c->reading = false;
		if (nread != UV_EOF || c->phase == CONN_CLOSING) {
			conn_close(c);
			return;
		}
		c->eof = true;
		if (c->phase == CONN_DRAIN) {
			if (c->linger)
				conn_close(c);
			return;
		}
		process(c);
		return;
	}
	if (c->phase != CONN_OPEN)
		return; /* draining: the client's extra bytes are dropped */
	c->rlen += (size_t)nread;
	process(c);
}

static void conn_read_start(struct http_conn *c)
{
	if (c->reading || c->eof || c->phase == CONN_CLOSING)
		return;
	if (uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read) == 0)
		c->reading = true;
	else
		conn_close(c);
}

static void dispatch(struct http_conn *c)
{
	struct http_exchange *ex = &c->ex;
	memset(ex, 0, sizeof(*ex));
	ex->conn = c;
	ex->start_ms = uv_now(c->srv->loop);
	c->busy = true;
	c->head_timer = false;
	c->continue_sent = false;
	uv_timer_stop(&c->timer);
	c->srv->cfg.on_request(c->srv->cfg.ctx, ex);
}

/* Read the buffered bytes into requests, one exchange at a time. */
static void process(struct http_conn *c)
{
	if (c->in_process)
		return;
	c->in_process = true;
	while (!c->busy && c->phase == CONN_OPEN && c->rlen > 0 &&
		uv_stream_get_write_queue_size((uv_stream_t *)&c->tcp) < WRITE_BACKLOG) {
		size_t used = 0;
		int r = http_parser_feed(&c->parser, c->rbuf, c->rlen, &used);
		memmove(c->rbuf, c->rbuf + used, c->rlen - used);
		c->rlen -= used;
		if (r == 1) {
			dispatch(c);
			continue;
		}
		if (r < 0) {
			reply_error(c, c->parser.status ? c->parser.status : 400, c->parser.reason);
			break;
		}
		if (c->parser.head_done && c->parser.req.expect_continue && !c->continue_sent) {
			/* RFC 9110 10.1.1: the body is acceptable (its size was checked), ask for it. */
			static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";
			c->continue_sent = true;
			conn_write(c, cont, sizeof(cont) - 1, NULL, NULL);
		}
	}
	c->in_process = false;
	if (c->phase != CONN_OPEN)
		return;
	if (!c->busy && c->eof && c->rlen == 0) {
		/* Nothing more will come; a request cut short is just dropped. (With
		 * bytes left, the loop stopped for the write backlog: on_write resumes.) */
		conn_finish(c);
		return;
	}
	if (c->rlen == sizeof(c->rbuf)) {
		/* Full of pipelined requests: let TCP push back until we catch up. */
		uv_read_stop((uv_stream_t *)&c->tcp);
		c->reading = false;
	} else {
		conn_read_start(c);
	}
	conn_arm(c);
}

static void on_connection(uv_stream_t *ls, int status)
{
	struct http_server *s = ls->data;
	struct http_conn *c;
	int len = sizeof(struct sockaddr_storage);

	if (status < 0) {
		log_warn("accept: %s", uv_strerror(status));
		return;
	}
	c = calloc(1, sizeof(*c));
	if (!c)
		return;
	c->srv = s;
	uv_tcp_init(s->loop, &c->tcp);
	uv_timer_init(s->loop, &c->timer);
	c->tcp.data = c;
	c->timer.data = c;
	c->handles = 2;
	DNS_LIST_PUSH(s->conns, c);
	s->nconns++;
	if (uv_accept(ls, (uv_stream_t *)&c->tcp) < 0) {
		conn_close(c);
		return;
	}
	uv_tcp_nodelay(&c->tcp, 1);
	if (uv_tcp_getpeername(&c->tcp, (struct sockaddr *)&c->peer, &len) == 0)
		dns_addr_format((struct sockaddr *)&c->peer, c->peer_text, sizeof(c->peer_text));
	else
		snprintf(c->peer_text, sizeof(c->peer_text), "-");
	if (s->nconns > s->cfg.max_conns || s->stopping) {
		/* RFC 9110 15.6.4: overloaded; say so rather than drop silently. */
		reply_error(c, 503, "too many connections");
		return;
	}
	if (http_parser_init(&c->parser, &s->cfg.limits, NULL) < 0) {
		conn_close(c);
		return;
	}
	c->has_parser = true;
	conn_read_start(c);
	conn_arm(c);
}

int http_server_start(struct http_server *s, uv_loop_t *loop, const struct http_server_config *cfg)
{
	char text[64];
	int r;

	memset(s, 0, sizeof(*s));
	s->loop = loop;
	s->cfg = *cfg;
	if (!s->cfg.idle_timeout_ms)
		s->cfg.idle_timeout_ms = 30000;
	if (!s->cfg.header_timeout_ms)
		s->cfg.header_timeout_ms = 10000;
	if (!s->cfg.send_timeout_ms)
		s->cfg.send_timeout_ms = 60000;
	if (!s->cfg.max_conns)
		s->cfg.max_conns = 1000;
	if (!s->cfg.server_name)
		s->cfg.server_name = "cairn";
	s->date_sec = -1;
	if (cfg->naddrs == 0 || cfg->naddrs > HTTP_SERVER_MAX_LISTEN || !cfg->on_request)
		return UV_EINVAL;
	/* A write to a client that went away must fail with EPIPE, not kill us. */
	signal(SIGPIPE, SIG_IGN);
	for (size_t i = 0; i < cfg->naddrs; i++) {
		uv_tcp_t *l = &s->listeners[i];
		const struct sockaddr *sa = (const struct sockaddr *)&cfg->addrs[i];
		dns_addr_format(sa, text, sizeof(text));
		uv_tcp_init(loop, l);
		l->data = s;
		s->nlisteners++;
		s->nlisteners_open++;
		if ((r = uv_tcp_bind(l, sa, 0)) < 0 || (r = uv_listen((uv_stream_t *)l, 511, on_connection)) < 0) {
			log_err("listen on %s (tcp): %s", text, uv_strerror(r));
			s->stopping = true;
			for (size_t k = 0; k <= i; k++)
				uv_close((uv_handle_t *)&s->listeners[k], NULL);
			s->nlisteners_open = 0;
			return r;
		}
		log_info("listening on %s (http)", text);
	}
	return 0;
}

static void on_listener_closed(uv_handle_t *h)
{
	struct http_server *s = h->data;
	s->nlisteners_open--;
	maybe_stopped(s);
}

void http_server_stop(struct http_server *s, http_server_stop_cb cb, void *arg)
{
	struct http_conn *c, *next;
	if (s->stopping)
		return;
	s->stopping = true;
	s->stop_cb = cb;
	s->stop_arg = arg;
	for (size_t i = 0; i < s->nlisteners; i++)
		uv_close((uv_handle_t *)&s->listeners[i], on_listener_closed);
	for (c = s->conns; c; c = next) {
		next = c->next;
		if (c->phase != CONN_OPEN)
			continue;
		if (!c->busy && !(c->has_parser && c->parser.in_request) && c->rlen == 0 && c->writes == 0)
			conn_close(c); /* idle keep-alive connection: nothing in flight */
		else
			c->close_after = true;
	}
	maybe_stopped(s);
}

const struct http_request *http_exchange_request(const struct http_exchange *ex)
{
	return &ex->conn->parser.req;
}

const struct sockaddr *http_exchange_peer(const struct http_exchange *ex)
{
	return (const struct sockaddr *)&ex->conn->peer;
}

const char *http_exchange_peer_text(const struct http_exchange *ex)
{
	return ex->conn->peer_text;
}

bool http_exchange_keep_alive(const struct http_exchange *ex)
{
	const struct http_conn *c = ex->conn;
	return c->parser.req.keep_alive && !ex->close && !c->close_after && !c->srv->stopping &&
		c->phase == CONN_OPEN;
}

void http_exchange_set_log_note(struct http_exchange *ex, const char *note)
{
	ex->note = note;
}

void http_exchange_close(struct http_exchange *ex)
{
	ex->close = true;
}

const char *http_exchange_date(const struct http_exchange *ex)
{
	return server_date(ex->conn->srv);
}

uv_loop_t *http_exchange_loop(const struct http_exchange *ex)
{
	return ex->conn->srv->loop;
}

void *http_exchange_ctx(const struct http_exchange *ex)
{
	return ex->conn->srv->cfg.ctx;
}

void http_exchange_head_init(struct http_exchange *ex, struct http_head *h, char *buf, size_t cap,
	int status)
{
	struct http_conn *c = ex->conn;
	http_head_init(h, buf, cap, status);
	http_head_add(h, "Date", server_date(c->srv));
	http_head_add(h, "Server", c->srv->cfg.server_name);
	if (!http_exchange_keep_alive(ex)) {
		ex->close = true;
		http_head_add(h, "Connection", "close");
	} else if (c->parser.req.version_minor == 0) {
		/* An HTTP/1.0 client asked for keep-alive and gets it (RFC 9112 C.2.2). */
		http_head_add(h, "Connection", "keep-alive");
	}
}

int http_exchange_send_head(struct http_exchange *ex, struct http_head *h, int status)
{
	int n = http_head_end(h);
	if (n < 0)
		return n;
	ex->status = status;
	ex->head_sent = true;
	return conn_write(ex->conn, h->buf, (size_t)n, NULL, NULL);
}

int http_exchange_send_head_body(struct http_exchange *ex, struct http_head *h, int status,
	const void *body, size_t len, http_write_cb cb, void *arg)
{
	int n = http_head_end(h);
	int r;
	if (n < 0)
		return n;
	ex->status = status;
	ex->head_sent = true;
	r = conn_write2(ex->conn, h->buf, (size_t)n, body, len, cb, arg);
	if (r == 0)
		ex->bytes += len;
	return r;
}

int http_exchange_send(struct http_exchange *ex, const void *data, size_t len, http_write_cb cb,
	void *arg)
{
	int r = conn_write(ex->conn, data, len, cb, arg);
	if (r == 0)
		ex->bytes += len;
	return r;
}

void http_exchange_reply(struct http_exchange *ex, int status, const char *extra,
	const char *content_type, const void *body, size_t len)
{
	char buf[2048];
	struct http_head h;
	const struct http_request *r = http_exchange_request(ex);

	http_exchange_head_init(ex, &h, buf, sizeof(buf), status);
	if (extra) {
		/* Caller-formatted lines, already ending in CRLF. */
		size_t n = strlen(extra);
		if (h.len + n <= h.cap) {
			memcpy(h.buf + h.len, extra, n);
			h.len += n;
		} else {
			h.overflow = true;
		}
	}
	if (content_type)
		http_head_add(&h, "Content-Type", content_type);
	/* RFC 9110 8.6: no Content-Length on 304 (it would describe the selected representation). */
	if (status != 304 && status != 204)
		http_head_addf(&h, "Content-Length", "%zu", len);
	if (http_exchange_send_head(ex, &h, status) == 0 && len && r->method != HTTP_METHOD_HEAD &&
		status != 304 && status != 204)
		http_exchange_send(ex, body, len, NULL, NULL);
	http_exchange_end(ex);
}

void http_exchange_end(struct http_exchange *ex)
{
	struct http_conn *c = ex->conn;
	struct http_server *s = c->srv;

	if (!c->busy)
		return;
	log_access(c, &c->parser.req, ex->head_sent ? ex->status : 0, ex->bytes);
	c->busy = false;
	s->requests++;
	if (c->phase == CONN_CLOSING) {
		maybe_free(c);
		return;
	}
	bool close = !ex->head_sent || !http_exchange_keep_alive(ex) || ex->close;
	http_parser_next(&c->parser);
	if (close || c->phase != CONN_OPEN) {
		conn_finish(c);
		return;
	}
	if (!c->in_process)
		process(c);
}
