/*
 * http_cond.h -- conditional requests (RFC 9110 13) and entity tags (8.8.3).
 *
 * Glossary: a "validator" is what a conditional compares against -- the
 * representation's entity tag (ETag) and its modification time
 * (Last-Modified). A strong ETag changes with every change of the bytes; a weak
 * one ("W/" prefix) only promises semantic equivalence. Pure.
 */
#ifndef CAIRN_HTTP_COND_H
#define CAIRN_HTTP_COND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "http_parse.h"

/* The validators of the selected representation. */
struct http_validators {
	const char *etag;  /* entity-tag with quotes ("\"abc\"" or "W/\"abc\""), NULL if none */
	bool has_mtime;    /* mtime is known */
	int64_t mtime;     /* Last-Modified, seconds since the epoch */
};

/* Bytes an ETag made by http_etag_make() may need, with the NUL. */
#define HTTP_ETAG_MAX 64

/*
 * A strong ETag for a file from its inode, size and modification time in
 * nanoseconds: "\"<ino>-<size>-<mtime_ns>\"" in hex. Any write changes the
 * size or the mtime, and a file replaced by rename gets a new inode, so two
 * different contents never share a tag on one filesystem (modulo mtime
 * granularity, which is ns on the filesystems we run on).
 */
int http_etag_make(char *buf, size_t size, uint64_t ino, uint64_t fsize, int64_t mtime_ns);

/*
 * Does the entity-tag list (If-Match / If-None-Match value) match etag?
 * "*" matches any. weak selects the weak comparison (RFC 9110 8.8.3.2): the
 * opaque tags are equal, whatever the W/ prefixes; the strong comparison also
 * needs both tags strong. A malformed list matches nothing.
 */
bool http_etag_list_match(const char *list, const char *etag, bool weak);

/*
 * Evaluate the preconditions of request r against the validators v in the
 * order of RFC 9110 13.2.2: If-Match (412 when false), else
 * If-Unmodified-Since (412); then If-None-Match (304 for GET/HEAD, else 412,
 * when it matches), else for GET/HEAD If-Modified-Since (304 when not
 * modified since). A date that does not parse is ignored (13.1.3, 13.1.4).
 * Returns 0 (go on and answer normally), 304 or 412.
 */
int http_cond_eval(const struct http_request *r, const struct http_validators *v);

/*
 * If-Range (RFC 9110 13.1.5): true when the Range field may be honoured --
 * there is no If-Range, or it names the current strong ETag, or it is exactly
 * the Last-Modified date. false: answer 200 with the whole representation.
 */
bool http_if_range_ok(const struct http_request *r, const struct http_validators *v);

#endif
