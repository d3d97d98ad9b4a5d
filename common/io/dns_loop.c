/* dns_loop.c -- closing a loop and whatever is left on it. */
#include "dns_loop.h"

static void close_walk(uv_handle_t *h, void *arg)
{
	(void)arg;
	if (!uv_is_closing(h))
		uv_close(h, NULL);
}

int dns_loop_close_all(uv_loop_t *loop)
{
	uv_walk(loop, close_walk, NULL);
	uv_run(loop, UV_RUN_DEFAULT);
	return uv_loop_close(loop);
}
