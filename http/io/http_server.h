/*
 * http_server.h -- an HTTP/1.1 server on libuv: listeners, connections and
 * one exchange (request + response) at a time per connection.
 *
 * The server accepts TCP connections on its addresses, reads requests with
 * http_parse.h as bytes arrive, and hands each complete request to the
 * application's callback as a struct http_exchange. The application answers
 * -- at once or later from the same loop (cairn-edge waiting for an origin) --
 * by sending a head and then body bytes, and ends the exchange with
 * http_exchange_end(). Only then is the next request on the connection read
 * from what has been buffered, so pipelined requests are answered strictly in
 * order (RFC 9112 9.3.2) without buffering responses. Bodies are streamed:
 * http_exchange_send() takes a callback run when the bytes have been handed to
 * the kernel, so a big file goes out one chunk at a time.
 *
 * Connections (RFC 9112 9.3, 9.6):
 *   - persistent unless the request or the application says otherwise
 *     (Connection: close, HTTP/1.0 without keep-alive, an error, draining);
 *   - a timer per connection: idle_timeout_ms between requests (keep-alive),
 *     header_timeout_ms from the first byte of a request to the end of its
 *     head (answered 408, against slow-header attacks), and send_timeout_ms
 *     while response bytes wait for a client that does not read;
 *   - a bad request is answered with the parser's status (400, 413, 414, 431,
 *     505) and "Connection: close", then the connection is closed after the
 *     answer was sent and the client's remaining bytes were read for a moment
 *     (a lingering close, so an unread request does not turn into a TCP reset
 *     that destroys the answer: RFC 9112 9.6);
 *   - beyond max_conns connections, new ones are answered 503 and closed.
 *
 * Graceful stop (http_server_stop()): the listeners close at once, idle
 * connections close, and connections in the middle of a request finish it
 * (answered with Connection: close); the stop callback runs when the last
 * connection is gone.
 *
 * Access log: one line per exchange on stderr (log level info), close to the
 * common log format: `PEER - - [DATE] "METHOD TARGET HTTP/x.y" STATUS BYTES MS`,
 * followed by the application's note when it set one (" HIT").
 *
 * Threading: everything runs on the loop given to http_server_start().
 */
#ifndef CAIRN_HTTP_SERVER_H
#define CAIRN_HTTP_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <uv.h>

#include "http_parse.h"
#include "http_resp.h"

#define HTTP_SERVER_MAX_LISTEN 16

struct http_exchange;
struct http_server;
struct http_conn;

/*
 * A complete request arrived. The application answers through ex and must
 * end it with http_exchange_end(), now or later on the same loop.
 */
typedef void (*http_request_cb)(void *ctx, struct http_exchange *ex);
/*
 * Bytes passed to http_exchange_send() were written (status 0) or could not
 * be (negative libuv error: the client went away). The exchange must still be
 * ended.
 */
typedef void (*http_write_cb)(struct http_exchange *ex, int status, void *arg);
/* The server has stopped: listeners closed and every connection gone. */
typedef void (*http_server_stop_cb)(struct http_server *s, void *arg);

/* What a server does. Zero numeric fields take the defaults given. */
struct http_server_config {
	const struct sockaddr_storage *addrs; /* addresses to listen on */
	size_t naddrs;                        /* 1..HTTP_SERVER_MAX_LISTEN */
	struct http_limits limits;            /* per-request limits (http_parse.h) */
	unsigned idle_timeout_ms;             /* keep-alive idle time; default 30000 */
	unsigned header_timeout_ms;           /* time to send a request head; default 10000 */
	unsigned send_timeout_ms;             /* time a client may stall a response; default 60000 */
	unsigned max_conns;                   /* open connections; default 1000 */
	const char *server_name;              /* Server field value; default "cairn" */
	bool no_access_log;                   /* no log line per exchange (the metrics endpoint) */
	http_request_cb on_request;           /* the application */
	void *ctx;                            /* first argument of on_request */
};

/* A listening server (embed it; its storage must outlive the stop callback). */
struct http_server {
	uv_loop_t *loop;                        /* the loop it runs on */
	struct http_server_config cfg;          /* copy of the configuration */
	uv_tcp_t listeners[HTTP_SERVER_MAX_LISTEN]; /* one per address */
	size_t nlisteners;                      /* listeners opened */
	size_t nlisteners_open;                 /* listeners not yet closed */
	struct http_conn *conns;                /* open connections (list) */
	unsigned nconns;                        /* their number */
	bool stopping;                          /* http_server_stop() was called */
	http_server_stop_cb stop_cb;            /* called once everything is closed */
	void *stop_arg;                         /* its argument */
	char date[32];                          /* current IMF-fixdate, refreshed each second */
	int64_t date_sec;                       /* the second date[] shows */
	uint64_t requests;                      /* exchanges completed */
};

/*
 * Bind and listen on every address; requests go to cfg->on_request. Returns 0,
 * or a negative libuv error with nothing left open (and the address logged).
 */
int http_server_start(struct http_server *s, uv_loop_t *loop, const struct http_server_config *cfg);
/* Stop gracefully (see above); cb (may be NULL) runs when the last connection is gone. */
void http_server_stop(struct http_server *s, http_server_stop_cb cb, void *arg);

/* The request being answered. */
const struct http_request *http_exchange_request(const struct http_exchange *ex);
/* The client's address. */
const struct sockaddr *http_exchange_peer(const struct http_exchange *ex);
/* The client's address as "ADDR@PORT". */
const char *http_exchange_peer_text(const struct http_exchange *ex);
/*
 * May the connection carry another request after this one? false when the
 * client asked to close, the server is stopping, or the application called
 * http_exchange_close(). http_exchange_head_init() writes Connection: close then.
 */
bool http_exchange_keep_alive(const struct http_exchange *ex);
/*
 * A word appended to this exchange's access log line (cairn-edge: its X-Cache
 * value); note must stay valid until the exchange ends (a string literal).
 */
void http_exchange_set_log_note(struct http_exchange *ex, const char *note);
/* Close the connection after this exchange (call before sending the head). */
void http_exchange_close(struct http_exchange *ex);
/* The server's Date value for this second (IMF-fixdate). */
const char *http_exchange_date(const struct http_exchange *ex);
/* The loop the server runs on. */
uv_loop_t *http_exchange_loop(const struct http_exchange *ex);
/* The application's context (cfg.ctx). */
void *http_exchange_ctx(const struct http_exchange *ex);

/*
 * Start a response head in buf with the status line, Date, Server and, when
 * the connection will close, "Connection: close". The application adds its
 * fields with http_head_add() and sends it with http_exchange_send_head().
 */
void http_exchange_head_init(struct http_exchange *ex, struct http_head *h, char *buf, size_t cap,
	int status);
/*
 * End the head and send it (copied). status is remembered for the access log.
 * Returns 0 or a negative error (DNS_E_SPACE when the head overflowed, a libuv
 * error when the client is gone).
 */
int http_exchange_send_head(struct http_exchange *ex, struct http_head *h, int status);
/*
 * http_exchange_send_head() and http_exchange_send() of body in one write (one
 * system call for a small answer). Returns 0 (cb, if any, will run) or a
 * negative error (cb will not run).
 */
int http_exchange_send_head_body(struct http_exchange *ex, struct http_head *h, int status,
	const void *body, size_t len, http_write_cb cb, void *arg);
/*
 * Send body bytes, counted for the access log. With cb, data must stay valid
 * until cb runs; without, it is copied. Returns 0 (cb will run) or a negative
 * libuv error (cb will not run).
 */
int http_exchange_send(struct http_exchange *ex, const void *data, size_t len, http_write_cb cb,
	void *arg);
/*
 * A complete small response in one call: head with the given status, the
 * extra header lines (each "Name: value\r\n", may be NULL), Content-Type and
 * Content-Length for body, and body unless the request was HEAD; then ends
 * the exchange.
 */
void http_exchange_reply(struct http_exchange *ex, int status, const char *extra,
	const char *content_type, const void *body, size_t len);
/*
 * The response is complete (or abandoned: then the connection is closed).
 * Writes still queued are sent before the next request is looked at.
 */
void http_exchange_end(struct http_exchange *ex);

#endif
