/*
 * http_range.h -- the Range request header (RFC 9110 14.2) for one byte range.
 *
 * Only single ranges are served as 206; a request naming several ranges gets
 * the whole representation (200), which RFC 9110 14.2 allows ("a server MAY
 * ignore the Range header field"), as does any Range it cannot parse or whose
 * unit is not "bytes". Pure.
 */
#ifndef CAIRN_HTTP_RANGE_H
#define CAIRN_HTTP_RANGE_H

#include <stdint.h>

/* What to answer a GET with a Range field. */
enum http_range_result {
	HTTP_RANGE_NONE = 0,        /* ignore the field: 200 with the whole representation */
	HTTP_RANGE_PARTIAL,         /* 206 with bytes [*first, *last] (RFC 9110 15.3.7) */
	HTTP_RANGE_UNSATISFIABLE,   /* 416 with Content-Range: bytes * / size (RFC 9110 15.5.17) */
};

/*
 * Evaluate the Range field value against a representation of size bytes
 * (RFC 9110 14.1.2): "first-last" (last clamped to size-1), "first-" (to the
 * end), "-n" (the last n bytes). A first at or past the end, or a suffix of
 * zero bytes or on an empty representation, is unsatisfiable; first > last
 * makes the field invalid (ignored). On HTTP_RANGE_PARTIAL sets *first and
 * *last (inclusive).
 */
enum http_range_result http_range_eval(const char *value, uint64_t size, uint64_t *first,
	uint64_t *last);

#endif
