/*
 * http_parse.h -- HTTP/1.1 request parsing: cairn's glue over llhttp.
 *
 * A struct http_parser is fed the bytes of one connection as they arrive, in
 * pieces of any size. When a whole request (request line, header fields and
 * body) has been read, http_parser_feed() stops and says how many bytes it used;
 * the request is then available in parser->req until http_parser_next(), and the
 * bytes after it (the next pipelined request) are fed again after that call. So
 * a server answers pipelined requests strictly in order (RFC 9112 9.3.2) simply
 * by not calling http_parser_next() before the current answer is complete.
 *
 * Everything is bounded (struct http_limits): the request-target (414), the
 * number and total size of header fields (431), the body (413). A request that
 * cannot be read safely stops the connection with the status to send back
 * (400, 413, 414, 431, 505) in parser->status; llhttp is used in its strict mode
 * and this glue adds what llhttp 8 lets through, so that no two parsers can
 * disagree on where a request ends (request smuggling, RFC 9112 11.2):
 *   - Content-Length together with Transfer-Encoding, or two Content-Length
 *     fields (even equal ones), or a Transfer-Encoding whose last coding is not
 *     chunked: 400 (llhttp, RFC 9112 6.1, 6.3);
 *   - Transfer-Encoding in an HTTP/1.0 request: 400 (RFC 9112 6.1);
 *   - obs-fold (a header line continued on the next line starting with a space
 *     or tab): 400 (RFC 9112 5.2 allows rejecting it);
 *   - whitespace between a field name and its colon, or any other byte that
 *     is not a token in a field name: 400 (RFC 9112 5.1);
 *   - an HTTP/1.1 request without exactly one Host field: 400 (RFC 9112 3.2);
 *   - a bare LF or CR as a line end: 400 (llhttp strict).
 * An HTTP version other than 1.x gives 505 (RFC 9110 15.6.6).
 *
 * The same parser reads responses (http_parser_init_response()) for a client
 * such as cairn-edge fetching from an origin: status, fields and body framed
 * by Content-Length, chunked coding or the end of the connection
 * (http_parser_eof() completes those); a response to HEAD and any 1xx, 204 or
 * 304 has no body whatever its Content-Length says (RFC 9112 6.3); interim
 * 1xx responses (100 Continue) are skipped. Any malformed response gives
 * status 502. Bodies are kept up to max_body, or streamed to a callback
 * without a limit (http_parser_set_body_cb()).
 *
 * Glossary: "head" = request line plus header fields up to the empty line;
 * "pipelining" = a client sending several requests without waiting for the
 * answers (RFC 9112 9.3.2).
 *
 * Pure: no I/O; memory through the struct dns_mm given at init.
 */
#ifndef CAIRN_HTTP_PARSE_H
#define CAIRN_HTTP_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dns_mem.h"

/* Request methods the programs tell apart; the rest are HTTP_METHOD_OTHER. */
enum http_method {
	HTTP_METHOD_OTHER = 0, /* any other method llhttp knows (name in method_name) */
	HTTP_METHOD_GET,       /* RFC 9110 9.3.1 */
	HTTP_METHOD_HEAD,      /* RFC 9110 9.3.2 */
	HTTP_METHOD_POST,      /* RFC 9110 9.3.3 */
	HTTP_METHOD_PUT,       /* RFC 9110 9.3.4 */
	HTTP_METHOD_DELETE,    /* RFC 9110 9.3.5 */
	HTTP_METHOD_OPTIONS,   /* RFC 9110 9.3.7 */
	HTTP_METHOD_PURGE,     /* cache purge (Squid/Varnish convention), used by cairn-edge */
};

/* Limits on one request; zero fields take the defaults below. */
struct http_limits {
	size_t max_uri;        /* request-target bytes; longer gives 414 */
	size_t max_head;       /* bytes of all header field names and values; more gives 431 */
	unsigned max_headers;  /* number of header fields; more gives 431 */
	uint64_t max_body;     /* body bytes; more gives 413 (0 takes the default, see no_body) */
	bool no_body;          /* refuse any request body (413): max_body is taken as 0 */
};

#define HTTP_DEFAULT_MAX_URI 8192
#define HTTP_DEFAULT_MAX_HEAD 16384
#define HTTP_DEFAULT_MAX_HEADERS 100
#define HTTP_DEFAULT_MAX_BODY (1024 * 1024)

/* One header field; name and value are NUL-terminated, value without surrounding OWS. */
struct http_header {
	const char *name;  /* field name as sent (compare case-insensitively) */
	size_t name_len;   /* bytes in name */
	const char *value; /* field value, leading and trailing spaces/tabs removed */
	size_t value_len;  /* bytes in value */
};

/* A parsed request; the strings live in the parser until http_parser_next(). */
struct http_request {
	enum http_method method;     /* the method, or HTTP_METHOD_OTHER */
	const char *method_name;     /* the method as text ("GET") */
	const char *target;          /* request-target as sent, NUL-terminated (RFC 9112 3.2) */
	size_t target_len;           /* bytes in target */
	unsigned version_major;      /* 1 */
	unsigned version_minor;      /* 0 or 1 */
	const struct http_header *headers; /* n_headers fields in the order received */
	unsigned n_headers;          /* number of header fields */
	bool keep_alive;             /* the connection may carry another request after this one */
	bool chunked;                /* the body came with Transfer-Encoding: chunked */
	bool expect_continue;        /* Expect: 100-continue: the client waits for a 100 before its body (RFC 9110 10.1.1) */
	const uint8_t *body;         /* body bytes (NULL when none) */
	size_t body_len;             /* bytes in body */
};

/* A parsed response (response parsers only); strings live until http_parser_next(). */
struct http_response {
	unsigned status;             /* status code, 200..599 (1xx are skipped) */
	unsigned version_major;      /* 1 */
	unsigned version_minor;      /* 0 or 1 */
	const struct http_header *headers; /* n_headers fields in the order received */
	unsigned n_headers;          /* number of header fields */
	bool keep_alive;             /* the connection may carry another exchange */
	bool chunked;                /* the body came chunked */
	const uint8_t *body;         /* body bytes kept (NULL when none or streamed) */
	size_t body_len;             /* bytes in body */
};

/*
 * Body bytes as they arrive, when a body callback is set: data is valid only
 * during the call. Return 0, or a negative value to stop parsing (the feed
 * then fails with status 500 for a request parser, 502 for a response one).
 */
typedef int (*http_body_cb)(void *arg, const uint8_t *data, size_t len);

struct http_parser_impl;

/* Incremental parser for the requests of one connection. */
struct http_parser {
	struct http_request req;   /* the complete request after a feed returned 1 */
	struct http_response resp; /* response parsers: the complete response after a feed returned 1 */
	int status;                /* after an error: the HTTP status to answer (400, 413, 414, 431, 505) */
	const char *reason;        /* after an error: what was wrong, for logs */
	bool in_request;           /* some bytes of a message have been read (for timeouts, EOF) */
	bool head_done;            /* the head of the current message has been read (req's/resp's
	                              method, target, version and fields are set from then on) */
	/* private */
	struct http_parser_impl *impl;
};

/*
 * Set up a parser for one connection with the given limits (NULL: defaults)
 * and allocator (NULL: malloc). Returns 0 or -ENOMEM.
 */
int http_parser_init(struct http_parser *p, const struct http_limits *limits, const struct dns_mm *mm);
/*
 * Set up a parser for the responses read on one client connection (limits:
 * max_head and max_headers apply; max_body unless a body callback is set).
 * Returns 0 or -ENOMEM.
 */
int http_parser_init_response(struct http_parser *p, const struct http_limits *limits,
	const struct dns_mm *mm);
/*
 * Response parsers: the method of the request the next response answers;
 * HEAD means the response has no body (RFC 9112 6.3). Call before feeding it.
 */
void http_parser_expect(struct http_parser *p, enum http_method method);
/* Hand body bytes to cb instead of keeping them (NULL: keep them, up to max_body). */
void http_parser_set_body_cb(struct http_parser *p, http_body_cb cb, void *arg);
/* Free what the parser holds. */
void http_parser_deinit(struct http_parser *p);

/*
 * Feed len bytes. Returns 0 when all were consumed and the request is not
 * complete yet; 1 when a request is complete (p->req), *used telling how many
 * of the bytes it took -- the caller keeps the rest and feeds them after
 * http_parser_next(); or DNS_E_FORMAT when the bytes cannot be a valid request,
 * with p->status and p->reason set (the connection must then be closed after
 * answering p->status). Response parsers return the same, with p->resp, and
 * status 502 on errors. After 1, feeding again before http_parser_next()
 * returns -EBUSY; after an error every feed fails again.
 */
int http_parser_feed(struct http_parser *p, const uint8_t *data, size_t len, size_t *used);
/* Drop the current request and get ready for the next one on the connection. */
void http_parser_next(struct http_parser *p);
/*
 * The peer closed its side: returns 0 if that happened between messages, 1
 * when it completes a response whose body runs to the end of the connection
 * (p->resp then holds it), DNS_E_FORMAT (status 400, or 502 for responses) if
 * a message was cut short.
 */
int http_parser_eof(struct http_parser *p);

/* Case-insensitive lookup of the first field named name; NULL if absent. */
const struct http_header *http_request_header(const struct http_request *r, const char *name);
/*
 * Does a comma-separated field value (e.g. Connection, RFC 9110 5.6.1) list
 * token (case-insensitive)?
 */
bool http_list_has_token(const char *value, const char *token);
/* The method as an enum from its name (exact, case-sensitive: RFC 9110 9.1). */
enum http_method http_method_from_name(const char *name);

#endif
