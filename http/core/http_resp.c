/* http_resp.c -- response heads. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "dns_err.h"
#include "http_resp.h"

const char *http_status_reason(int status)
{
	switch (status) {
	case 200: return "OK";
	case 204: return "No Content";
	case 206: return "Partial Content";
	case 301: return "Moved Permanently";
	case 302: return "Found";
	case 304: return "Not Modified";
	case 400: return "Bad Request";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 408: return "Request Timeout";
	case 412: return "Precondition Failed";
	case 413: return "Content Too Large";
	case 414: return "URI Too Long";
	case 416: return "Range Not Satisfiable";
	case 431: return "Request Header Fields Too Large";
	case 500: return "Internal Server Error";
	case 501: return "Not Implemented";
	case 502: return "Bad Gateway";
	case 503: return "Service Unavailable";
	case 504: return "Gateway Timeout";
	case 505: return "HTTP Version Not Supported";
	default: return "Unknown";
	}
}

static void put(struct http_head *h, const char *s, size_t n)
{
	if (h->overflow || h->len + n > h->cap) {
		h->overflow = true;
		return;
	}
	memcpy(h->buf + h->len, s, n);
	h->len += n;
}

void http_head_init(struct http_head *h, char *buf, size_t cap, int status)
{
	char line[80];
	h->buf = buf;
	h->cap = cap;
	h->len = 0;
	h->overflow = false;
	int n = snprintf(line, sizeof(line), "HTTP/1.1 %03d %s\r\n", status, http_status_reason(status));
	put(h, line, (size_t)n);
}

void http_head_add(struct http_head *h, const char *name, const char *value)
{
	put(h, name, strlen(name));
	put(h, ": ", 2);
	put(h, value, strlen(value));
	put(h, "\r\n", 2);
}

void http_head_addf(struct http_head *h, const char *name, const char *fmt, ...)
{
	va_list ap;
	put(h, name, strlen(name));
	put(h, ": ", 2);
	if (!h->overflow) {
		va_start(ap, fmt);
		int n = vsnprintf(h->buf + h->len, h->cap - h->len, fmt, ap);
		va_end(ap);
		if (n < 0 || (size_t)n >= h->cap - h->len)
			h->overflow = true;
		else
			h->len += (size_t)n;
	}
	put(h, "\r\n", 2);
}

int http_head_end(struct http_head *h)
{
	put(h, "\r\n", 2);
	return h->overflow ? DNS_E_SPACE : (int)h->len;
}
