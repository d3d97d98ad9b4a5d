/*
 * dns_accept.h -- refusing a connection over a server's limit, the one way every
 * cairn TCP server does it.
 */
#ifndef CAIRN_DNS_ACCEPT_H
#define CAIRN_DNS_ACCEPT_H

#include <uv.h>

/*
 * Take the next pending connection off server's queue and close it at once (RFC 7766
 * 6.2.2 for DNS; the same for HTTP): left in the queue it would be retried on every
 * loop turn and keep its backlog slot. Returns 0, or a negative error when there was
 * no memory for the handle or nothing to accept (the connection then waits).
 */
int dns_accept_refuse(uv_loop_t *loop, uv_stream_t *server);

#endif
