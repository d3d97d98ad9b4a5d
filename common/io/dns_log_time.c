/* dns_log_time.c -- UTC timestamps for the logger. */
#include <time.h>

#include "dns_log_time.h"

static size_t utc_stamp(char *buf, size_t size)
{
	struct tm tm;
	time_t t = time(NULL);
	gmtime_r(&t, &tm);
	return strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ ", &tm);
}

void dns_log_setup_stamped(const char *prog, enum dns_log_level level)
{
	dns_log_setup(prog, level);
	dns_log_set_stamp(utc_stamp);
}
