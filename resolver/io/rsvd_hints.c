/*
 * rsvd_hints.c -- reading a root hints file (--root-hints FILE) for the core's
 * parser: the file is read here, rsv_hints_parse() works on the buffer.
 */
#include "dns_file.h"
#include "dns_mem.h"
#include "rsvd.h"

int rsvd_hints_load(struct rsv_hints *h, const char *path, uint16_t port, unsigned *line)
{
	const struct dns_mm *mm = dns_mm_std();
	char *text;
	size_t len;
	/* no size limit: the file is the operator's, read once at start-up */
	int ret = dns_file_read(path, 0, mm, &text, &len);
	if (ret < 0)
		return ret;
	ret = rsv_hints_parse(h, text, port, line);
	mm_free(mm, text);
	return ret;
}
