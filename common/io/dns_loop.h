/*
 * dns_loop.h -- ending a libuv loop the way every cairn program does.
 */
#ifndef CAIRN_DNS_LOOP_H
#define CAIRN_DNS_LOOP_H

#include <uv.h>

/*
 * Close every handle still open on loop (without close callbacks: use it once
 * the owners have closed what needs one), run the loop until the closes are
 * done, and close it. Returns 0, or the negative error of uv_loop_close().
 */
int dns_loop_close_all(uv_loop_t *loop);

#endif
