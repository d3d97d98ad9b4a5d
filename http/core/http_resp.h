/*
 * http_resp.h -- writing a response head (status line and header fields).
 *
 * A struct http_head writes into a caller's buffer; running out of room is
 * remembered and reported once at http_head_end(), so a handler can add its
 * fields without checking each one. Pure.
 */
#ifndef CAIRN_HTTP_RESP_H
#define CAIRN_HTTP_RESP_H

#include <stdbool.h>
#include <stddef.h>

/* A response head being written. */
struct http_head {
	char *buf;      /* the caller's buffer */
	size_t cap;     /* its size */
	size_t len;     /* bytes written */
	bool overflow;  /* something did not fit */
};

/* The reason phrase of a status (RFC 9110 15), "Unknown" for others. */
const char *http_status_reason(int status);
/* Start a head in buf: "HTTP/1.1 <status> <reason>\r\n". */
void http_head_init(struct http_head *h, char *buf, size_t cap, int status);
/* Add "name: value\r\n". */
void http_head_add(struct http_head *h, const char *name, const char *value);
/* Add "name: " then printf-formatted text and "\r\n". */
void http_head_addf(struct http_head *h, const char *name, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* End the head with the empty line. Returns its length, or DNS_E_SPACE. */
int http_head_end(struct http_head *h);

#endif
