/* http_parse.c -- request parsing glue over llhttp (see http_parse.h). */
#include <errno.h>
#include <string.h>
#include <strings.h>

#include "dns_err.h"
#include "http_parse.h"
#include "llhttp.h"

/* Where the header-field callbacks are within one field line. */
enum hdr_state {
	HDR_NONE = 0,   /* no field started yet (still in the request line) */
	HDR_NAME,       /* reading a field name */
	HDR_VALUE,      /* name complete, reading its value */
	HDR_VALUE_DONE, /* value complete; only a new name may follow */
};

struct http_parser_impl {
	llhttp_t ll;
	struct http_parser *pub;
	const struct dns_mm *mm;
	struct http_limits lim;
	char *buf;                 /* target, names and values, NUL-terminated */
	size_t cap, len;
	size_t uri_len;            /* request-target bytes so far */
	size_t head_bytes;         /* header field bytes so far */
	struct http_header *hdrs;  /* lim.max_headers entries */
	unsigned n;
	enum hdr_state hstate;
	size_t name_off, value_off;
	char version[8];           /* "1.1" as sent, for telling 505 from 400 */
	size_t version_len;
	uint8_t *body;
	size_t body_len, body_cap;
	int status;                /* status chosen by a callback, 0 if none */
	const char *reason;
	const char *base;          /* start of the bytes being fed */
	char prev_last;            /* last byte of the previous feed */
	bool paused;               /* a request is complete and not yet released */
	bool failed;
	bool response;             /* parsing responses, not requests */
	enum http_method expect;   /* response parsers: method of the request answered */
	http_body_cb body_cb;      /* stream the body here instead of keeping it */
	void *body_arg;
};

static int fail(struct http_parser_impl *in, int status, const char *reason)
{
	/* Whatever is wrong with an upstream response, a gateway answers 502 (RFC 9110 15.6.3). */
	if (in->response)
		status = 502;
	if (!in->status) {
		in->status = status;
		in->reason = reason;
	}
	return HPE_USER;
}

static struct http_parser_impl *impl_of(llhttp_t *ll)
{
	return (struct http_parser_impl *)ll->data;
}

/* Append bytes to the string store; the limits were checked by the caller. */
static int store(struct http_parser_impl *in, const char *at, size_t n)
{
	if (in->len + n + 1 > in->cap)
		return DNS_E_SPACE; /* cannot happen: cap covers every limit */
	memcpy(in->buf + in->len, at, n);
	in->len += n;
	return 0;
}

static int store_nul(struct http_parser_impl *in)
{
	if (in->len + 1 > in->cap)
		return DNS_E_SPACE;
	in->buf[in->len++] = '\0';
	return 0;
}

static int on_message_begin(llhttp_t *ll)
{
	struct http_parser_impl *in = impl_of(ll);
	in->pub->in_request = true;
	return 0;
}

static int on_url(llhttp_t *ll, const char *at, size_t n)
{
	struct http_parser_impl *in = impl_of(ll);
	if (in->uri_len + n > in->lim.max_uri)
		return fail(in, 414, "request-target too long");
	in->uri_len += n;
	return store(in, at, n) < 0 ? fail(in, 400, "internal store") : 0;
}

static int on_url_complete(llhttp_t *ll)
{
	struct http_parser_impl *in = impl_of(ll);
	if (store_nul(in) < 0)
		return fail(in, 400, "internal store");
	return 0;
}

static int on_version(llhttp_t *ll, const char *at, size_t n)
{
	struct http_parser_impl *in = impl_of(ll);
	size_t k = n;
	if (k > sizeof(in->version) - 1 - in->version_len)
		k = sizeof(in->version) - 1 - in->version_len;
	memcpy(in->version + in->version_len, at, k);
	in->version_len += k;
	in->version[in->version_len] = '\0';
	return 0;
}

static int on_version_complete(llhttp_t *ll)
{
	struct http_parser_impl *in = impl_of(ll);
	/* RFC 9110 15.6.6: a major version we do not speak gets 505. */
	if (llhttp_get_http_major(ll) != 1)
		return fail(in, 505, "HTTP version not supported");
	return 0;
}

static bool is_tchar(unsigned char c)
{
	/* RFC 9110 5.6.2 token characters. */
	if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))
		return true;
	return c && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

static int on_header_field(llhttp_t *ll, const char *at, size_t n)
{
	struct http_parser_impl *in = impl_of(ll);
	if (in->hstate != HDR_NAME) {
		if (in->n >= in->lim.max_headers)
			return fail(in, 431, "too many header fields");
		in->hstate = HDR_NAME;
		in->name_off = in->len;
	}
	if (in->head_bytes + n > in->lim.max_head)
		return fail(in, 431, "header fields too large");
	for (size_t i = 0; i < n; i++)
		if (!is_tchar((unsigned char)at[i]))
			return fail(in, 400, "invalid character in a field name");
	in->head_bytes += n;
	return store(in, at, n) < 0 ? fail(in, 400, "internal store") : 0;
}

static int on_header_field_complete(llhttp_t *ll)
{
	struct http_parser_impl *in = impl_of(ll);
	if (in->hstate != HDR_NAME || in->len == in->name_off)
		return fail(in, 400, "empty field name");
	if (store_nul(in) < 0)
		return fail(in, 400, "internal store");
	in->hstate = HDR_VALUE;
	in->value_off = in->len;
	return 0;
}

static int on_header_value(llhttp_t *ll, const char *at, size_t n)
{
	struct http_parser_impl *in = impl_of(ll);
	/*
	 * llhttp 8 accepts obs-fold: the continuation line comes as one more
	 * span of the same value, starting right after the line's LF (a value
	 * proper starts after the colon). RFC 9112 5.2 lets a server reject such
	 * a message with 400, which keeps every reader of it in agreement.
	 */
	if (n == 0)
		return 0; /* llhttp reports an empty value as an empty span, after the line */
	char before = at > in->base ? at[-1] : in->prev_last;
	if (in->hstate != HDR_VALUE || before == '\n')
		return fail(in, 400, "obsolete line folding in a header field");
	if (in->head_bytes + n > in->lim.max_head)
		return fail(in, 431, "header fields too large");
	in->head_bytes += n;
	return store(in, at, n) < 0 ? fail(in, 400, "internal store") : 0;
}

static int on_header_value_complete(llhttp_t *ll)
{
	struct http_parser_impl *in = impl_of(ll);
	if (in->hstate == HDR_NAME) {
		/* A field with an empty value: the name was never completed. */
		if (on_header_field_complete(ll) != 0)
			return HPE_USER;
	}
	if (in->hstate != HDR_VALUE)
		return fail(in, 400, "obsolete line folding in a header field");
	size_t start = in->value_off;
	/* RFC 9110 5.5: leading and trailing whitespace is not part of the value. */
	while (start < in->len && (in->buf[start] == ' ' || in->buf[start] == '\t'))
		start++;
	while (in->len > start && (in->buf[in->len - 1] == ' ' || in->buf[in->len - 1] == '\t'))
		in->len--;
	if (store_nul(in) < 0)
		return fail(in, 400, "internal store");
	struct http_header *h = &in->hdrs[in->n++];
	h->name = in->buf + in->name_off;
	h->name_len = strlen(h->name);
	h->value = in->buf + start;
	h->value_len = in->len - 1 - start;
	in->hstate = HDR_VALUE_DONE;
	return 0;
}

enum http_method http_method_from_name(const char *name)
{
	static const struct {
		const char *name;
		enum http_method m;
	} tab[] = {
		{"GET", HTTP_METHOD_GET}, {"HEAD", HTTP_METHOD_HEAD}, {"POST", HTTP_METHOD_POST},
		{"PUT", HTTP_METHOD_PUT}, {"DELETE", HTTP_METHOD_DELETE},
		{"OPTIONS", HTTP_METHOD_OPTIONS}, {"PURGE", HTTP_METHOD_PURGE},
	};
	for (size_t i = 0; i < sizeof(tab) / sizeof(tab[0]); i++)
		if (strcmp(name, tab[i].name) == 0)
			return tab[i].m;
	return HTTP_METHOD_OTHER;
}

static int response_headers_complete(struct http_parser_impl *in)
{
	llhttp_t *ll = &in->ll;
	struct http_response *r = &in->pub->resp;
	unsigned code = (unsigned)llhttp_get_status_code(ll);

	if (llhttp_get_http_major(ll) != 1) {
		fail(in, 502, "response HTTP version not 1.x");
		return -1;
	}
	if (code < 100 || code > 599) {
		fail(in, 502, "response status out of range");
		return -1;
	}
	r->status = code;
	r->version_major = 1;
	r->version_minor = llhttp_get_http_minor(ll);
	r->headers = in->hdrs;
	r->n_headers = in->n;
	r->chunked = (ll->flags & F_CHUNKED) != 0;
	if (!in->body_cb && (ll->flags & F_CONTENT_LENGTH) && ll->content_length > in->lim.max_body &&
		in->expect != HTTP_METHOD_HEAD && code != 204 && code != 304 && code >= 200) {
		fail(in, 502, "response body too large");
		return -1;
	}
	in->pub->head_done = true;
	/* RFC 9112 6.3: no body after HEAD, 1xx, 204 or 304, whatever Content-Length says. */
	if (in->expect == HTTP_METHOD_HEAD || code < 200 || code == 204 || code == 304)
		return 1;
	return 0;
}

static int on_headers_complete(llhttp_t *ll)
{
	struct http_parser_impl *in = impl_of(ll);
	struct http_request *r = &in->pub->req;

	if (in->response)
		return response_headers_complete(in);
	unsigned hosts = 0;
	bool te = false;

	if (llhttp_get_http_major(ll) != 1) {
		fail(in, 505, "HTTP version not supported");
		return -1;
	}
	r->headers = in->hdrs;
	r->n_headers = in->n;
	r->method_name = llhttp_method_name((llhttp_method_t)llhttp_get_method(ll));
	r->method = http_method_from_name(r->method_name);
	r->target = in->buf;
	r->target_len = in->uri_len;
	r->version_major = llhttp_get_http_major(ll);
	r->version_minor = llhttp_get_http_minor(ll);
	for (unsigned i = 0; i < in->n; i++) {
		if (strcasecmp(in->hdrs[i].name, "host") == 0)
			hosts++;
		else if (strcasecmp(in->hdrs[i].name, "transfer-encoding") == 0)
			te = true;
	}
	/* RFC 9112 3.2: exactly one Host in 1.1; more than one is always wrong. */
	if (hosts > 1 || (hosts == 0 && r->version_minor >= 1)) {
		fail(in, 400, hosts ? "more than one Host field" : "no Host field");
		return -1;
	}
	/* RFC 9112 6.1: Transfer-Encoding in a 1.0 message is faulty framing. */
	if (te && r->version_minor == 0) {
		fail(in, 400, "Transfer-Encoding in an HTTP/1.0 request");
		return -1;
	}
	r->chunked = (ll->flags & F_CHUNKED) != 0;
	const struct http_header *expect = http_request_header(r, "expect");
	r->expect_continue = expect && r->version_minor >= 1 && strcasecmp(expect->value, "100-continue") == 0;
	if ((ll->flags & F_CONTENT_LENGTH) && ll->content_length > in->lim.max_body) {
		fail(in, 413, "request body too large");
		return -1;
	}
	in->pub->head_done = true;
	return 0;
}

static int on_body(llhttp_t *ll, const char *at, size_t n)
{
	struct http_parser_impl *in = impl_of(ll);
	if (in->body_cb) {
		if (in->body_cb(in->body_arg, (const uint8_t *)at, n) < 0)
			return fail(in, 500, "body consumer failed");
		return 0;
	}
	if (in->body_len + n > in->lim.max_body)
		return fail(in, 413, "body too large");
	if (in->body_len + n > in->body_cap) {
		size_t cap = in->body_cap ? in->body_cap : 1024;
		while (cap < in->body_len + n)
			cap *= 2;
		uint8_t *nb = mm_alloc(in->mm, cap);
		if (!nb)
			return fail(in, 413, "out of memory for the body");
		if (in->body_len)
			memcpy(nb, in->body, in->body_len);
		mm_free(in->mm, in->body);
		in->body = nb;
		in->body_cap = cap;
	}
	memcpy(in->body + in->body_len, at, n);
	in->body_len += n;
	return 0;
}

static void reset_request(struct http_parser_impl *in);

static int on_message_complete(llhttp_t *ll)
{
	struct http_parser_impl *in = impl_of(ll);
	struct http_request *r = &in->pub->req;

	if (in->response) {
		struct http_response *rs = &in->pub->resp;
		if (rs->status < 200 && rs->status != 101) {
			/* An interim answer (100 Continue, 103): the final one follows. */
			reset_request(in);
			return 0;
		}
		rs->keep_alive = llhttp_should_keep_alive(ll) != 0 && rs->status != 101;
		rs->body = in->body_len ? in->body : NULL;
		rs->body_len = in->body_len;
		in->paused = true;
		return HPE_PAUSED;
	}
	r->keep_alive = llhttp_should_keep_alive(ll) != 0;
	/* A CONNECT or Upgrade request ends what we can read on this connection. */
	if (ll->upgrade)
		r->keep_alive = false;
	r->body = in->body_len ? in->body : NULL;
	r->body_len = in->body_len;
	in->paused = true;
	return HPE_PAUSED;
}

static const llhttp_settings_t settings = {
	.on_message_begin = on_message_begin,
	.on_url = on_url,
	.on_url_complete = on_url_complete,
	.on_version = on_version,
	.on_version_complete = on_version_complete,
	.on_header_field = on_header_field,
	.on_header_field_complete = on_header_field_complete,
	.on_header_value = on_header_value,
	.on_header_value_complete = on_header_value_complete,
	.on_headers_complete = on_headers_complete,
	.on_body = on_body,
	.on_message_complete = on_message_complete,
};

static void reset_request(struct http_parser_impl *in)
{
	struct http_parser *p = in->pub;
	in->len = 0;
	in->uri_len = 0;
	in->head_bytes = 0;
	in->n = 0;
	in->hstate = HDR_NONE;
	in->version_len = 0;
	in->version[0] = '\0';
	in->body_len = 0;
	in->paused = false;
	memset(&p->req, 0, sizeof(p->req));
	memset(&p->resp, 0, sizeof(p->resp));
	p->in_request = false;
	p->head_done = false;
}

static int parser_init(struct http_parser *p, const struct http_limits *limits, const struct dns_mm *mm,
	bool response)
{
	struct http_parser_impl *in;

	memset(p, 0, sizeof(*p));
	if (!mm)
		mm = dns_mm_std();
	in = mm_calloc(mm, 1, sizeof(*in));
	if (!in)
		return -ENOMEM;
	in->mm = mm;
	in->pub = p;
	if (limits)
		in->lim = *limits;
	if (!in->lim.max_uri)
		in->lim.max_uri = HTTP_DEFAULT_MAX_URI;
	if (!in->lim.max_head)
		in->lim.max_head = HTTP_DEFAULT_MAX_HEAD;
	if (!in->lim.max_headers)
		in->lim.max_headers = HTTP_DEFAULT_MAX_HEADERS;
	if (in->lim.no_body)
		in->lim.max_body = 0;
	else if (!in->lim.max_body)
		in->lim.max_body = HTTP_DEFAULT_MAX_BODY;
	/* Room for the target and every name and value, each with its NUL. */
	in->cap = in->lim.max_uri + 1 + in->lim.max_head + 2 * (size_t)in->lim.max_headers + 16;
	in->buf = mm_alloc(mm, in->cap);
	in->hdrs = mm_calloc(mm, in->lim.max_headers, sizeof(*in->hdrs));
	if (!in->buf || !in->hdrs) {
		mm_free(mm, in->buf);
		mm_free(mm, in->hdrs);
		mm_free(mm, in);
		return -ENOMEM;
	}
	in->response = response;
	llhttp_init(&in->ll, response ? HTTP_RESPONSE : HTTP_REQUEST, &settings);
	in->ll.data = in;
	p->impl = in;
	reset_request(in);
	return 0;
}

int http_parser_init(struct http_parser *p, const struct http_limits *limits, const struct dns_mm *mm)
{
	return parser_init(p, limits, mm, false);
}

int http_parser_init_response(struct http_parser *p, const struct http_limits *limits,
	const struct dns_mm *mm)
{
	return parser_init(p, limits, mm, true);
}

void http_parser_expect(struct http_parser *p, enum http_method method)
{
	p->impl->expect = method;
}

void http_parser_set_body_cb(struct http_parser *p, http_body_cb cb, void *arg)
{
	p->impl->body_cb = cb;
	p->impl->body_arg = arg;
}

void http_parser_deinit(struct http_parser *p)
{
	struct http_parser_impl *in = p->impl;
	if (!in)
		return;
	mm_free(in->mm, in->buf);
	mm_free(in->mm, in->hdrs);
	mm_free(in->mm, in->body);
	mm_free(in->mm, in);
	p->impl = NULL;
}

/* "D.D" with a major other than 1 is a version we do not support; the rest is garbage. */
static int version_status(const struct http_parser_impl *in)
{
	const char *v = in->version;
	if (in->version_len == 3 && v[0] >= '0' && v[0] <= '9' && v[1] == '.' && v[2] >= '0' && v[2] <= '9')
		return 505;
	return 400;
}

static int set_error(struct http_parser_impl *in, llhttp_errno_t e)
{
	struct http_parser *p = in->pub;
	in->failed = true;
	if (in->status) {
		p->status = in->status;
		p->reason = in->reason;
	} else if (in->response) {
		p->status = 502;
		p->reason = llhttp_get_error_reason(&in->ll);
		if (!p->reason)
			p->reason = llhttp_errno_name(e);
	} else if (e == HPE_INVALID_VERSION) {
		p->status = version_status(in);
		p->reason = p->status == 505 ? "HTTP version not supported" : "invalid HTTP version";
	} else {
		p->status = 400;
		p->reason = llhttp_get_error_reason(&in->ll);
		if (!p->reason)
			p->reason = llhttp_errno_name(e);
	}
	return DNS_E_FORMAT;
}

int http_parser_feed(struct http_parser *p, const uint8_t *data, size_t len, size_t *used)
{
	struct http_parser_impl *in = p->impl;
	llhttp_errno_t e;

	*used = 0;
	if (in->failed)
		return DNS_E_FORMAT;
	if (in->paused)
		return -EBUSY;
	if (len == 0)
		return 0;
	in->base = (const char *)data;
	e = llhttp_execute(&in->ll, (const char *)data, len);
	in->prev_last = (char)data[len - 1];
	if (e == HPE_OK) {
		*used = len;
		return 0;
	}
	if ((e == HPE_PAUSED || e == HPE_PAUSED_UPGRADE) && in->paused) {
		const char *pos = llhttp_get_error_pos(&in->ll);
		*used = pos ? (size_t)(pos - (const char *)data) : len;
		if (*used > 0)
			in->prev_last = (char)data[*used - 1];
		return 1;
	}
	return set_error(in, e);
}

void http_parser_next(struct http_parser *p)
{
	struct http_parser_impl *in = p->impl;
	if (!in->paused)
		return;
	reset_request(in);
	llhttp_resume(&in->ll);
}

int http_parser_eof(struct http_parser *p)
{
	struct http_parser_impl *in = p->impl;
	if (in->failed)
		return DNS_E_FORMAT;
	if (in->response && p->in_request && !in->paused && llhttp_message_needs_eof(&in->ll)) {
		/* A body delimited by the end of the connection (RFC 9112 6.3, rule 8). */
		llhttp_errno_t e = llhttp_finish(&in->ll);
		if (in->paused)
			return 1;
		if (e != HPE_OK)
			return set_error(in, e);
	}
	if (p->in_request && !in->paused) {
		in->failed = true;
		p->status = in->response ? 502 : 400;
		p->reason = "connection closed in the middle of a message";
		return DNS_E_FORMAT;
	}
	return 0;
}

const struct http_header *http_request_header(const struct http_request *r, const char *name)
{
	for (unsigned i = 0; i < r->n_headers; i++)
		if (strcasecmp(r->headers[i].name, name) == 0)
			return &r->headers[i];
	return NULL;
}

bool http_list_has_token(const char *value, const char *token)
{
	size_t tl = strlen(token);
	const char *s = value;
	while (*s) {
		while (*s == ' ' || *s == '\t' || *s == ',')
			s++;
		const char *e = s;
		while (*e && *e != ',')
			e++;
		const char *t = e;
		while (t > s && (t[-1] == ' ' || t[-1] == '\t'))
			t--;
		if ((size_t)(t - s) == tl && strncasecmp(s, token, tl) == 0)
			return true;
		s = e;
	}
	return false;
}
