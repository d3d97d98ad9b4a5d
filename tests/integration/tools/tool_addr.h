/*
 * tool_addr.h -- ADDR PORT on the command line of the integration test tools
 * (cairn-udpsend, cairn-httppipe) as a socket address. Header-only: each tool
 * is one file and links nothing of cairn.
 */
#ifndef CAIRN_TOOL_ADDR_H
#define CAIRN_TOOL_ADDR_H

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

/* addr (IPv4 or IPv6 text) and port (decimal text) as *ss, its length in *sl.
 * Returns 0, or -EINVAL when addr is neither. */
static inline int tool_addr_parse(const char *addr, const char *port, struct sockaddr_storage *ss,
				  socklen_t *sl)
{
	struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET, addr, &s4->sin_addr) == 1) {
		s4->sin_family = AF_INET;
		s4->sin_port = htons((uint16_t)atoi(port));
		*sl = sizeof(*s4);
	} else if (inet_pton(AF_INET6, addr, &s6->sin6_addr) == 1) {
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((uint16_t)atoi(port));
		*sl = sizeof(*s6);
	} else {
		return -EINVAL;
	}
	return 0;
}

#endif
