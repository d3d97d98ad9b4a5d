/*
 * rsv_iter_trace.c -- the iterator's words for people: state names for logs and
 * the --trace lines (one per step, with the time since the request began).
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "rsv_iter_impl.h"

static const char *state_names[] = {
	[RSV_IT_INIT] = "INIT", [RSV_IT_FIND_CUT] = "FIND_CUT", [RSV_IT_FIND_ADDR] = "FIND_ADDR",
	[RSV_IT_SEND] = "SEND", [RSV_IT_WAIT] = "WAIT", [RSV_IT_RESPONSE] = "RESPONSE",
	[RSV_IT_FRAME_DONE] = "FRAME_DONE", [RSV_IT_FINISHED] = "FINISHED",
};

const char *rsv_state_name(enum rsv_iter_state state)
{
	if ((unsigned)state < sizeof(state_names) / sizeof(state_names[0]))
		return state_names[state];
	return "?";
}

void rsv_tracef(struct rsv_req *req, const char *fmt, ...)
{
	if (!req->ctx->trace)
		return;
	char line[512];
	int n = snprintf(line, sizeof(line), "[%5llu ms] %*s", (unsigned long long)(req->now - req->start),
		(int)(2 * (req->depth ? req->depth - 1 : 0)), "");
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
	va_end(ap);
	req->ctx->trace(req->ctx->trace_arg, line);
}

const char *rsv_nstr(const uint8_t *name, char *buf)
{
	if (dns_name_to_str(name, buf, DNS_NAME_TEXT_MAX) < 0)
		strcpy(buf, "?");
	return buf;
}
