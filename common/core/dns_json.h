/*
 * dns_json.h -- what the JSON readers of cairn share: cairn-auth's steering
 * map loader (authoritative/core/geo_map*.c) and cairn-mapc's networks reader
 * (mapc/core/mapc_json.c). A library of its own (cairn_common_json) so that
 * only the programs reading JSON link jansson.
 *
 * Both report errors the same way, "FILE: PATH: reason", where PATH is the
 * JSON path of the offending value (names["www.cdn.test"].ttl,
 * datacenters[2].replicas[0].address), reject unknown keys (a typo must not
 * pass silently) and read network prefixes with the same rules.
 */
#ifndef CAIRN_DNS_JSON_H
#define CAIRN_DNS_JSON_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

/* Where a reader puts its one error message. */
struct dns_json_err {
	const char *file; /* names the input in messages */
	char *err;        /* message buffer (may be NULL) */
	size_t errlen;    /* its size */
};

/*
 * Write "FILE: PATH: reason" (or "FILE: reason" for an empty or NULL path)
 * into e->err and return code.
 */
int dns_json_fail(const struct dns_json_err *e, int code, const char *path,
	const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* The same with a va_list, for readers' own printf-like wrappers. */
int dns_json_vfail(const struct dns_json_err *e, int code, const char *path,
	const char *fmt, va_list ap);

/* "an object", "a string", ... for messages about a value of the wrong type. */
const char *dns_json_kind(const json_t *v);

/*
 * Every key of obj must be one of allowed (NULL-terminated); else
 * DNS_E_CONFIG with `unknown key "KEY"` (the key shown with control
 * characters and quotes as '?', at most 100 bytes).
 */
int dns_json_check_keys(const struct dns_json_err *e, const json_t *obj,
	const char *path, const char *const *allowed);

/*
 * Operator text for a message: at most 100 bytes of s into out (cap bytes),
 * control characters and quotes as '?', so a message stays one clean line.
 */
void dns_json_show(char *out, size_t cap, const char *s);

/*
 * A datacenter name: 1..max characters of [A-Za-z0-9_.-] (they appear in
 * metrics labels and explanations unquoted).
 */
bool dns_json_dc_name_ok(const char *s, size_t max);

/*
 * Parse "ADDR/LEN" or "ADDR" (a host route) as an IPv4 or IPv6 network:
 * *family 4 or 6, addr (16 bytes, 4 used for IPv4), *len within the family.
 * Host bits set are refused ("host bits are set (the network is N/L)"):
 * they are almost always a typo of the network meant. Errors DNS_E_CONFIG
 * with the path.
 */
int dns_json_prefix(const struct dns_json_err *e, const char *text, const char *path,
	uint8_t *family, uint8_t addr[16], unsigned *len);

#endif
