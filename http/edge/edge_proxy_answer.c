/*
 * edge_proxy_answer.c -- the answers of cairn-edge: from a stored response
 * (Age, X-Cache, the client's own If-None-Match / If-Modified-Since evaluated
 * against it, RFC 9110 13.2.2: 304 from the cache; a single Range cut from
 * it, RFC 9110 14.2), from a fetched response that was not stored, and the
 * edge's own (errors, PURGE, /health). Hop-by-hop fields are never passed on
 * (RFC 9110 7.6.1).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "dns_err.h"
#include "http_cond.h"
#include "http_date.h"
#include "http_range.h"
#include "edge_proxy_impl.h"

/* Start a response head: status line and the connection's fate. */
void edge_head_begin(struct http_exchange *ex, struct sbuf *b, int status)
{
	const struct http_request *r = http_exchange_request(ex);
	char line[64];
	int n = snprintf(line, sizeof(line), "HTTP/1.1 %d %s\r\n", status, http_status_reason(status));
	sb_add(b, line, (size_t)n);
	if (!http_exchange_keep_alive(ex)) {
		http_exchange_close(ex);
		sb_field(b, "Connection", "close");
	} else if (r->version_minor == 0) {
		sb_field(b, "Connection", "keep-alive");
	}
}

/*
 * End the head built in b and send it, with body (may be NULL) in the same
 * write; status is remembered for the log. cb as for http_exchange_send().
 */
int edge_head_send_body(struct http_exchange *ex, struct sbuf *b, int status, const void *body,
	size_t len, http_write_cb cb, void *arg)
{
	struct http_head h;
	/* Room for the empty line http_head_end() appends. */
	sb_add(b, "\r\n", 2);
	if (b->err)
		return DNS_E_SPACE;
	h.buf = b->p;
	h.cap = b->len;
	h.len = b->len - 2;
	h.overflow = false;
	return http_exchange_send_head_body(ex, &h, status, body, len, cb, arg);
}

int edge_head_send(struct http_exchange *ex, struct sbuf *b, int status)
{
	return edge_head_send_body(ex, b, status, NULL, 0, NULL, NULL);
}

/* Does r carry a precondition (RFC 9110 13.1)? */
static bool has_conditional(const struct http_request *r)
{
	for (unsigned i = 0; i < r->n_headers; i++)
		if ((r->headers[i].name[0] == 'i' || r->headers[i].name[0] == 'I') &&
			(r->headers[i].name[1] == 'f' || r->headers[i].name[1] == 'F') &&
			r->headers[i].name[2] == '-')
			return true;
	return false;
}

void edge_count(struct edge *edge, const char *xcache)
{
	if (strcmp(xcache, "HIT") == 0)
		edge->stats.hits++;
	else if (strcmp(xcache, "MISS") == 0)
		edge->stats.misses++;
	else if (strcmp(xcache, "REVALIDATED") == 0)
		edge->stats.revalidated++;
	else if (strcmp(xcache, "STALE") == 0)
		edge->stats.stale++;
}

/* An answer the edge makes itself, with X-Cache: xcache. */
static void reply_local_va(struct http_exchange *ex, int status, const char *xcache, const char *extra,
	const char *fmt, va_list ap)
{
	char body[512], hdrs[256];
	int n = vsnprintf(body, sizeof(body), fmt, ap);
	if (n < 0)
		n = 0;
	if ((size_t)n >= sizeof(body))
		n = sizeof(body) - 1;
	snprintf(hdrs, sizeof(hdrs), "X-Cache: %s\r\n%s", xcache, extra ? extra : "");
	http_exchange_set_log_note(ex, xcache);
	http_exchange_reply(ex, status, hdrs, "text/plain; charset=utf-8", body, (size_t)n);
}

/* An answer the edge makes itself (errors, PURGE, /health): X-Cache: MISS. */
void edge_reply_local(struct http_exchange *ex, int status, const char *extra, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	reply_local_va(ex, status, "MISS", extra, fmt, ap);
	va_end(ap);
}

/* The same about a stored response (412, 416): its X-Cache. */
static void reply_cached(struct http_exchange *ex, int status, const char *xcache, const char *extra,
	const char *fmt, ...) __attribute__((format(printf, 5, 6)));
static void reply_cached(struct http_exchange *ex, int status, const char *xcache, const char *extra,
	const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	reply_local_va(ex, status, xcache, extra, fmt, ap);
	va_end(ap);
}

static void on_entry_sent(struct http_exchange *ex, int status, void *arg)
{
	struct http_cache_entry *e = arg;
	struct edge *edge = http_exchange_ctx(ex);
	(void)status;
	http_cache_entry_unref(&edge->cache, e);
}

/* Fields a 304 carries from the stored response (RFC 9110 15.4.5). */
static bool field_for_304(const char *name)
{
	static const char *const keep[] = {"cache-control", "content-location", "date", "etag",
		"expires", "last-modified", "vary", NULL};
	for (unsigned i = 0; keep[i]; i++)
		if (strcasecmp(name, keep[i]) == 0)
			return true;
	return false;
}

/* Answer ex from a stored response, with Age and X-Cache: xcache; ends the exchange. */
void edge_serve_entry(struct edge *edge, struct http_exchange *ex, struct http_cache_entry *e,
	const char *xcache)
{
	const struct http_request *r = http_exchange_request(ex);
	int64_t now = wall_now();
	char stack[SBUF_STACK];
	struct sbuf b = SBUF_INIT(stack);
	int status = (int)e->status;
	bool has_date = http_headers_find(e->headers, e->n_headers, "date") != NULL;

	uint64_t first = 0, last = e->body_len ? e->body_len - 1 : 0;
	const struct http_header *range = NULL;

	edge_count(edge, xcache);
	if ((r->method == HTTP_METHOD_GET || r->method == HTTP_METHOD_HEAD) && status == 200 &&
		has_conditional(r)) {
		/* The client's own conditionals, against the stored validators (RFC 9110 13.2.2). */
		struct http_validators v = {.etag = e->etag};
		if (e->last_modified &&
			http_date_parse(e->last_modified, strlen(e->last_modified), &v.mtime) == 0)
			v.has_mtime = true;
		int c = http_cond_eval(r, &v);
		if (c == 412) {
			reply_cached(ex, 412, xcache, NULL, "412 Precondition Failed\n");
			return;
		}
		if (c == 304)
			status = 304;
		else if ((range = http_request_header(r, "range")) && !http_if_range_ok(r, &v))
			range = NULL; /* If-Range names another representation: the whole of it */
	} else if (status == 200) {
		range = http_request_header(r, "range");
	}
	if (range && status == 200 && r->method == HTTP_METHOD_GET) {
		/* A single range of the stored body (RFC 9110 14.2); several: the whole body. */
		switch (http_range_eval(range->value, e->body_len, &first, &last)) {
		case HTTP_RANGE_PARTIAL:
			status = 206;
			break;
		case HTTP_RANGE_UNSATISFIABLE: {
			char cr[64];
			snprintf(cr, sizeof(cr), "Content-Range: bytes */%zu\r\n", e->body_len);
			reply_cached(ex, 416, xcache, cr, "416 Range Not Satisfiable\n");
			return;
		}
		case HTTP_RANGE_NONE:
			break;
		}
	}
	http_exchange_set_log_note(ex, xcache);
	edge_head_begin(ex, &b, status);
	for (unsigned i = 0; i < e->n_headers; i++)
		if (status != 304 || field_for_304(e->headers[i].name))
			sb_field(&b, e->headers[i].name, e->headers[i].value);
	if (!has_date)
		sb_field(&b, "Date", http_exchange_date(ex));
	sb_fieldf(&b, "Age", "%lld", (long long)http_cache_age(e, now));
	sb_field(&b, "X-Cache", xcache);
	size_t len = status == 206 ? (size_t)(last - first + 1) : e->body_len;
	if (status == 206)
		sb_fieldf(&b, "Content-Range", "bytes %llu-%llu/%zu", (unsigned long long)first,
			(unsigned long long)last, e->body_len);
	if (status != 304 && status != 204)
		sb_fieldf(&b, "Content-Length", "%zu", len);
	if (status != 304 && status != 204 && r->method != HTTP_METHOD_HEAD && len) {
		/* Zero copy, head and body in one write: the entry stays alive until written. */
		http_cache_entry_ref(e);
		if (edge_head_send_body(ex, &b, status, e->body + (status == 206 ? first : 0), len,
			    on_entry_sent, e) < 0)
			http_cache_entry_unref(&edge->cache, e);
	} else {
		edge_head_send(ex, &b, status);
	}
	sb_free(&b);
	http_exchange_end(ex);
}

/* Answer ex with the response buffered in f (stored or not), as a MISS. */
void edge_serve_buffered(struct edge *edge, struct http_exchange *ex, struct edge_fetch *f)
{
	const struct http_request *r = http_exchange_request(ex);
	const struct http_response *resp = f->resp;
	char stack[SBUF_STACK];
	struct sbuf b = SBUF_INIT(stack);
	int status = (int)resp->status;
	bool body = status != 304 && status != 204;

	http_exchange_set_log_note(ex, "MISS");
	edge_count(edge, "MISS");
	edge_head_begin(ex, &b, status);
	for (unsigned i = 0; i < resp->n_headers; i++) {
		const struct http_header *h = &resp->headers[i];
		if (http_header_is_hop(resp->headers, resp->n_headers, h->name, h->name_len) ||
			strcasecmp(h->name, "content-length") == 0)
			continue;
		sb_field(&b, h->name, h->value);
	}
	sb_field(&b, "X-Cache", "MISS");
	if (body)
		sb_fieldf(&b, "Content-Length", "%zu", f->blen);
	if (body && r->method != HTTP_METHOD_HEAD && f->blen)
		edge_head_send_body(ex, &b, status, f->body, f->blen, NULL, NULL);
	else
		edge_head_send(ex, &b, status);
	sb_free(&b);
	http_exchange_end(ex);
}
