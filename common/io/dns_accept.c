/* dns_accept.c -- refusing a connection over the limit (dns_accept.h). */
#include "dns_accept.h"

#include <errno.h>
#include <stdlib.h>

static void refused_close_cb(uv_handle_t *h)
{
	free(h);
}

int dns_accept_refuse(uv_loop_t *loop, uv_stream_t *server)
{
	uv_tcp_t *t = malloc(sizeof(*t));
	if (t == NULL)
		return -ENOMEM;
	int rc = uv_tcp_init(loop, t);
	if (rc < 0) {
		free(t);
		return rc;
	}
	rc = uv_accept(server, (uv_stream_t *)t);
	uv_close((uv_handle_t *)t, refused_close_cb);
	return rc;
}
