/*
 * test_msg.h -- HTTP messages for the http/core unit tests: header fields
 * from a NULL-terminated "Name", "value", ... list and requests built on them.
 */
#ifndef CAIRN_TEST_MSG_H
#define CAIRN_TEST_MSG_H

#include <string.h>

#include "http_parse.h"

/* Fields from "Name", "value", ... NULL; at most 16. */
struct fields {
	struct http_header h[16]; /* the fields */
	unsigned n;                /* how many */
};

static inline void fields_set(struct fields *f, const char *const *kv)
{
	f->n = 0;
	for (; kv && kv[2 * f->n]; f->n++) {
		f->h[f->n].name = kv[2 * f->n];
		f->h[f->n].name_len = strlen(kv[2 * f->n]);
		f->h[f->n].value = kv[2 * f->n + 1];
		f->h[f->n].value_len = strlen(kv[2 * f->n + 1]);
	}
}

/* A request (GET or HEAD of /x) with fields kv, and its storage. */
struct req {
	struct fields f;         /* its fields */
	struct http_request r;   /* the request */
};

static inline struct http_request *req_make(struct req *q, enum http_method m, const char *const *kv)
{
	memset(q, 0, sizeof(*q));
	fields_set(&q->f, kv);
	q->r.method = m;
	q->r.method_name = m == HTTP_METHOD_HEAD ? "HEAD" : "GET";
	q->r.target = "/x";
	q->r.version_major = 1;
	q->r.version_minor = 1;
	q->r.headers = q->f.h;
	q->r.n_headers = q->f.n;
	return &q->r;
}

#endif
