/* dns_err.c -- error text and the always-on invariant check. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dns_err.h"

static const char *const texts[] = {
	[DNS_E_SHORT - DNS_E_BASE] = "input too short",
	[DNS_E_FORMAT - DNS_E_BASE] = "malformed message",
	[DNS_E_LABEL - DNS_E_BASE] = "bad label (longer than 63 octets or reserved type)",
	[DNS_E_NAMELEN - DNS_E_BASE] = "name longer than 255 octets",
	[DNS_E_POINTER - DNS_E_BASE] = "compression pointer does not point backwards",
	[DNS_E_SPACE - DNS_E_BASE] = "no room in output buffer",
	[DNS_E_SYNTAX - DNS_E_BASE] = "syntax error",
	[DNS_E_CONFIG - DNS_E_BASE] = "bad configuration",
	[DNS_E_ZONE - DNS_E_BASE] = "zone rejected",
	[DNS_E_NOTFOUND - DNS_E_BASE] = "not found",
	[DNS_E_EXISTS - DNS_E_BASE] = "already exists",
	[DNS_E_OPT - DNS_E_BASE] = "malformed EDNS OPT record",
	[DNS_E_UNSUPPORTED - DNS_E_BASE] = "not supported",
	[DNS_E_TRAILING - DNS_E_BASE] = "trailing data after the last record",
};

const char *dns_strerror(int err)
{
	if (err == 0)
		return "success";
	if (err > DNS_E_BASE && err < DNS_E_LAST && texts[err - DNS_E_BASE])
		return texts[err - DNS_E_BASE];
	if (err < 0 && err > -4096)
		return strerror(-err);
	return "unknown error";
}

void dns_require_fail(const char *what, const char *file, int line)
{
	fprintf(stderr, "%s:%d: invariant failed: %s\n", file, line, what);
	abort();
}
