/*
 * edge_proxy_stream.c -- a response cairn-edge passes through to one client
 * as it comes instead of storing it (no-store, private, too large for
 * max-object, not a GET).
 *
 * The queue towards the client is bounded: the origin connection stops being
 * read while more than STREAM_HIGH bytes wait for the client, and is read
 * again below STREAM_LOW. Bodies without a length go to HTTP/1.1 clients
 * chunked and to HTTP/1.0 clients until the connection closes. A fetch for
 * the cache went without the client's Range; when its response is streamed
 * instead, the range is cut from the stream (RFC 9110 14.2).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "dns_err.h"
#include "http_cond.h"
#include "http_date.h"
#include "http_range.h"
#include "edge_proxy_impl.h"

/* Streaming: stop reading the origin above this many queued bytes, resume below the low mark. */
#define STREAM_HIGH (1024 * 1024)
#define STREAM_LOW (256 * 1024)

static void on_chunk_sent(struct http_exchange *ex, int status, void *arg);

/* Bytes on their way to the leader. */
struct out_chunk {
	struct edge_fetch *f;  /* whose */
	size_t len;            /* bytes in data (with the chunk framing) */
	uint8_t data[];        /* the bytes */
};

void edge_stream_abort(struct edge_fetch *f)
{
	if (f->leader_done)
		return;
	f->leader_done = true;
	http_exchange_close(f->leader);
	http_exchange_end(f->leader);
}

/* Stream mode: send body bytes to the leader. Returns 0, or -ENOMEM / the send's error. */
int edge_stream_send(struct edge_fetch *f, const uint8_t *data, size_t len)
{
	struct out_chunk *oc;
	size_t n = 0;
	int rc;
	if (f->ranged) {
		/* Cut the stream to the range: [off, off + len) against [first, last]. */
		uint64_t off = f->offset, s0 = off > f->r_first ? off : f->r_first;
		uint64_t s1 = off + len - 1 < f->r_last ? off + len - 1 : f->r_last;
		f->offset += len;
		if (len == 0 || s0 > s1 || s1 < off)
			return 0;
		data += s0 - off;
		len = (size_t)(s1 - s0 + 1);
	}
	if (f->head_only || len == 0 || f->leader_done)
		return 0;
	oc = malloc(sizeof(*oc) + len + (f->chunked_out ? 32 : 0));
	if (!oc)
		return -ENOMEM;
	if (f->chunked_out)
		n = (size_t)sprintf((char *)oc->data, "%zx\r\n", len);
	memcpy(oc->data + n, data, len);
	n += len;
	if (f->chunked_out) {
		memcpy(oc->data + n, "\r\n", 2);
		n += 2;
	}
	oc->f = f;
	oc->len = n;
	if ((rc = http_exchange_send(f->leader, oc->data, n, on_chunk_sent, oc)) < 0) {
		free(oc);
		return rc;
	}
	f->pending++;
	f->queued += n;
	if (f->queued > STREAM_HIGH)
		edge_up_pause(&f->up);
	return 0;
}

static void on_chunk_sent(struct http_exchange *ex, int status, void *arg)
{
	struct out_chunk *oc = arg;
	struct edge_fetch *f = oc->f;
	(void)ex;
	f->pending--;
	f->queued -= oc->len;
	free(oc);
	if (status < 0) {
		/* The client went away: stop fetching for it. */
		edge_stream_abort(f);
		if (!f->up_done) {
			edge_up_abort(&f->up);
			f->up_done = true;
		}
	} else if (f->up.paused && f->queued < STREAM_LOW) {
		edge_up_resume(&f->up);
	}
	edge_fetch_maybe_free(f);
}

/* Stream mode: the response head to the leader. */
static int stream_head(struct edge_fetch *f)
{
	const struct http_response *resp = f->resp;
	struct http_exchange *ex = f->leader;
	const struct http_request *r = http_exchange_request(ex);
	char stack[SBUF_STACK];
	struct sbuf b = SBUF_INIT(stack);
	int status = (int)resp->status, rc;
	bool has_body = status != 304 && status != 204 && f->up.method != HTTP_METHOD_HEAD;
	bool has_len = !resp->chunked && http_headers_find(resp->headers, resp->n_headers, "content-length");

	const struct http_header *cl = has_len ?
		http_headers_find(resp->headers, resp->n_headers, "content-length") : NULL;
	const struct http_header *range = http_request_header(r, "range");
	char cr[96] = "";

	f->head_only = r->method == HTTP_METHOD_HEAD;
	/*
	 * A fetch for the cache went without the client's Range; when the whole
	 * response is streamed instead of stored, the range is cut from it here
	 * (RFC 9110 14.2), if the representation is the one If-Range names.
	 */
	if (f->cacheable && range && cl && status == 200 && r->method == HTTP_METHOD_GET) {
		const struct http_header *et = http_headers_find(resp->headers, resp->n_headers, "etag");
		const struct http_header *lm = http_headers_find(resp->headers, resp->n_headers, "last-modified");
		struct http_validators v = {.etag = et ? et->value : NULL};
		uint64_t size = strtoull(cl->value, NULL, 10), first, last;
		if (lm && http_date_parse(lm->value, lm->value_len, &v.mtime) == 0)
			v.has_mtime = true;
		if (http_if_range_ok(r, &v)) {
			switch (http_range_eval(range->value, size, &first, &last)) {
			case HTTP_RANGE_PARTIAL:
				status = 206;
				f->ranged = true;
				f->r_first = first;
				f->r_last = last;
				snprintf(cr, sizeof(cr), "bytes %llu-%llu/%llu", (unsigned long long)first,
					(unsigned long long)last, (unsigned long long)size);
				break;
			case HTTP_RANGE_UNSATISFIABLE:
				status = 416;
				f->head_only = true; /* nothing of the body goes out */
				snprintf(cr, sizeof(cr), "bytes */%llu", (unsigned long long)size);
				break;
			case HTTP_RANGE_NONE:
				break;
			}
		}
	}
	if (has_body && !has_len && !f->head_only) {
		if (r->version_minor >= 1)
			f->chunked_out = true;
		else
			http_exchange_close(ex); /* HTTP/1.0: the end of the connection ends the body */
	}
	http_exchange_set_log_note(ex, "MISS");
	edge_count(f->edge, "MISS");
	edge_head_begin(ex, &b, status);
	for (unsigned i = 0; i < resp->n_headers; i++) {
		const struct http_header *h = &resp->headers[i];
		if (http_header_is_hop(resp->headers, resp->n_headers, h->name, h->name_len))
			continue;
		if (strcasecmp(h->name, "content-length") == 0 && (!has_len || cr[0]))
			continue;
		sb_field(&b, h->name, h->value);
	}
	if (cr[0]) {
		sb_field(&b, "Content-Range", cr);
		sb_fieldf(&b, "Content-Length", "%llu", status == 206 ?
			(unsigned long long)(f->r_last - f->r_first + 1) : 0ULL);
	}
	if (f->chunked_out)
		sb_field(&b, "Transfer-Encoding", "chunked");
	sb_field(&b, "X-Cache", "MISS");
	rc = edge_head_send(ex, &b, status);
	sb_free(&b);
	return rc;
}

/*
 * Switch f to streaming to its first waiter; the others fetch on their own.
 * Returns 0, or negative when the fetch was given up (nobody to stream to:
 * -ECANCELED; the leader could not be sent to: that error).
 */
int edge_stream_start(struct edge_fetch *f)
{
	struct waiter *w = edge_fetch_take_waiters(f);
	int rc;
	edge_fetch_unlist(f);
	f->mode = HTTP_EDGE_BODY_STREAM;
	f->served = true;
	if (!w) {
		/* Nobody to stream to (a background revalidation): stop here. */
		edge_up_abort(&f->up);
		f->up_done = true;
		return -ECANCELED;
	}
	f->leader = w->ex;
	struct waiter *rest = w->next;
	edge_waiter_free(w);
	edge_waiters_restart(f->edge, rest);
	if ((rc = stream_head(f)) < 0 || (rc = edge_stream_send(f, f->body, f->blen)) < 0) {
		edge_stream_abort(f);
		edge_up_abort(&f->up);
		f->up_done = true;
		return rc;
	}
	free(f->body);
	f->body = NULL;
	f->blen = f->bcap = 0;
	return 0;
}

/* A streamed exchange is over: end the leader's answer, invalidate after an unsafe method. */
void edge_stream_done(struct edge *edge, struct edge_fetch *f, int err,
	const struct http_response *resp)
{
	if (!f->leader_done) {
		if (err < 0) {
			edge_stream_abort(f); /* cut short: the client sees the connection close */
		} else {
			if (f->chunked_out)
				http_exchange_send(f->leader, "0\r\n\r\n", 5, NULL, NULL);
			f->leader_done = true;
			http_exchange_end(f->leader);
		}
	}
	if (err == 0 && f->unsafe && resp->status < 400)
		http_cache_invalidate(&edge->cache, f->key);
}
