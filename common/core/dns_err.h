/*
 * dns_err.h -- error codes shared by every cairn module.
 *
 * Functions return int: 0 on success, a negative errno (-ENOMEM, -EINVAL, ...) for
 * failures reported by the OS, or one of the negative codes below for the rest.
 * The project codes sit far below the errno range so the two never collide, and
 * dns_strerror() names both. A DNS RCODE is data in an answer, never an error return.
 */
#ifndef CAIRN_DNS_ERR_H
#define CAIRN_DNS_ERR_H

enum dns_err {
	DNS_OK = 0,
	DNS_E_BASE = -10000,
	DNS_E_SHORT,     /* input ended before the item being read */
	DNS_E_FORMAT,    /* malformed wire data */
	DNS_E_LABEL,     /* label longer than 63 octets or a reserved label type */
	DNS_E_NAMELEN,   /* name longer than 255 octets */
	DNS_E_POINTER,   /* compression pointer not pointing strictly backwards */
	DNS_E_SPACE,     /* output buffer too small */
	DNS_E_SYNTAX,    /* bad presentation-format text */
	DNS_E_CONFIG,    /* bad configuration */
	DNS_E_ZONE,      /* zone data rejected */
	DNS_E_NOTFOUND,  /* item not present */
	DNS_E_EXISTS,    /* item already present */
	DNS_E_OPT,       /* malformed EDNS OPT record or option */
	DNS_E_UNSUPPORTED, /* valid but not supported */
	DNS_E_TRAILING,  /* bytes left after the last record */
	DNS_E_LAST
};

/* Human-readable text for a negative errno or a dns_err code. Never NULL. */
const char *dns_strerror(int err);

/* Always-on invariant check: prints file:line and aborts when cond is false. */
#define require(cond) \
	((cond) ? (void)0 : dns_require_fail(#cond, __FILE__, __LINE__))
void dns_require_fail(const char *what, const char *file, int line)
	__attribute__((noreturn));

#endif
