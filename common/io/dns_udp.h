/*
 * dns_udp.h -- send one DNS message over UDP and wait for its reply (NOTIFY, SOA checks).
 *
 * dns_udp_send_once() sends from a fresh socket on an ephemeral port, connected to
 * the destination so the kernel drops datagrams from anyone else, and waits for
 * one reply whose ID (the first two octets, RFC 1035 4.1.1) matches the query's;
 * other datagrams are ignored. The callback is called exactly once: with the
 * reply, on timeout, on error, or when cancelled. Checking the rest of the reply
 * (QR, opcode, question) is the caller's job.
 */
#ifndef CAIRN_DNS_UDP_H
#define CAIRN_DNS_UDP_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <uv.h>

/* One exchange in flight (opaque). */
struct dns_udp_once;

/*
 * The exchange ended. status is 0 with reply/len (valid only during the call),
 * -ETIMEDOUT, -ECANCELED, or a negative errno from the socket (e.g. -ECONNREFUSED
 * when the destination port is closed).
 */
typedef void (*dns_udp_once_cb)(void *ctx, int status, const uint8_t *reply, size_t len);

/*
 * Send msg (copied; at least 2 octets) to addr and wait up to timeout_ms for the
 * reply on loop. *out (may be NULL) can be given to dns_udp_once_cancel() until
 * the callback runs. Returns 0, or a negative errno and then never calls cb.
 */
int dns_udp_send_once(uv_loop_t *loop, const struct sockaddr *addr, const uint8_t *msg, size_t len,
		      unsigned timeout_ms, dns_udp_once_cb cb, void *ctx, struct dns_udp_once **out);
/* End the exchange now: the callback runs with -ECANCELED before this returns. */
void dns_udp_once_cancel(struct dns_udp_once *q);

#endif
