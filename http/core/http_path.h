/*
 * http_path.h -- from a request-target to a safe, normalised path.
 *
 * The origin maps a URL path onto files below a root directory, so the path
 * must never name anything outside it. Normalisation here is the lexical half
 * of that guarantee (the file system half, symlinks, is the server's):
 *   - only origin-form targets ("/a/b?q", RFC 9112 3.2.1) are taken here; the
 *     caller strips an absolute-form's "http://authority" first
 *     (http_target_path());
 *   - the path is percent-decoded (RFC 3986 2.1) once; a malformed escape, a
 *     NUL, any other control byte or a backslash (an escape on some systems)
 *     rejects it, decoded or not;
 *   - "." segments and empty segments ("//") are dropped; a ".." segment,
 *     written plainly or encoded (%2e%2e, .%2E ...), rejects the path rather
 *     than being resolved, so no request reaches above the root or means two
 *     different things to two readers.
 * The result starts with '/', keeps a trailing '/' if the target had one, and
 * holds no "..", "." or empty segment. Pure.
 */
#ifndef CAIRN_HTTP_PATH_H
#define CAIRN_HTTP_PATH_H

#include <stddef.h>

/*
 * Normalise the path part of an origin-form target (up to '?'; the query is
 * not decoded) into out. Returns the length written (out NUL-terminated), or
 * DNS_E_SYNTAX for a rejected path, DNS_E_SPACE when out is too small.
 * *query (if not NULL) is set to the '?' in target or to NULL.
 */
int http_path_normalize(const char *target, size_t len, char *out, size_t size, const char **query);

/*
 * The origin-form part of a request-target: the target itself when it starts
 * with '/'; for an absolute-form "http://host[:port]/path" (RFC 9112 3.2.2)
 * the "/path" part (or "/" when empty), with *authority and *alen set to
 * "host[:port]" (else NULL and 0). NULL for any other form ('*',
 * authority-form, other schemes).
 */
const char *http_target_path(const char *target, const char **authority, size_t *alen);

#endif
