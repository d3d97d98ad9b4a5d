/*
 * authd_server.h -- the running cairn-auth: the serving zone set, query
 * dispatch, reload. Replication (authd_xfr.h) is handed what it needs of the
 * server as callbacks and knows nothing else of it.
 *
 * Threads: worker threads (one libuv loop each, SO_REUSEPORT listeners) answer
 * queries from the current zone set; the main thread's loop runs signals,
 * reloads, replication timers and the metrics endpoint. The zone set is an
 * immutable snapshot behind a mutex-protected pointer: a worker takes a
 * reference per batch of packets, the main thread swaps in a new set and drops
 * the old one; the last reference frees it.
 */
#ifndef CAIRN_AUTHD_SERVER_H
#define CAIRN_AUTHD_SERVER_H

#include "auth_zone.h"
#include "authd_config.h"

struct authd_server;

/* A reference to the zone set serving now; drop it with auth_zoneset_unref(). */
struct auth_zoneset *authd_server_zones(struct authd_server *s);

#endif
