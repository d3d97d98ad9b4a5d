/* dns_log.c -- one line per message on stderr. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "dns_err.h"
#include "dns_log.h"

static const char *log_prog = "cairn";
static enum dns_log_level log_level = DNS_LOG_INFO;
static const char *const level_names[] = {"error", "warning", "info", "debug"};
static dns_log_stamp_fn log_stamp;

void dns_log_set_stamp(dns_log_stamp_fn fn)
{
	log_stamp = fn;
}

void dns_log_setup(const char *prog, enum dns_log_level level)
{
	log_prog = prog;
	log_level = level;
}

int dns_log_level_from_str(const char *s)
{
	static const char *const accepted[] = {"err", "warn", "info", "debug"};
	for (int i = 0; i < 4; i++)
		if (strcasecmp(s, accepted[i]) == 0 || strcasecmp(s, level_names[i]) == 0)
			return i;
	return DNS_E_NOTFOUND;
}

int dns_log_enabled(enum dns_log_level level)
{
	return level <= log_level;
}

void dns_log(enum dns_log_level level, const char *fmt, ...)
{
	char line[2048];
	va_list ap;
	int n = 0;

	if (level > log_level)
		return;
	if (log_stamp)
		n = (int)log_stamp(line, 64);
	n += snprintf(line + n, sizeof(line) - (size_t)n, "%s[%d] %s: ", log_prog,
		(int)getpid(), level_names[level]);
	va_start(ap, fmt);
	if ((size_t)n < sizeof(line))
		n += vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
	va_end(ap);
	if ((size_t)n >= sizeof(line) - 1)
		n = (int)sizeof(line) - 2;
	line[n++] = '\n';
	/* One write per line so lines from threads never interleave. */
	ssize_t w = write(STDERR_FILENO, line, (size_t)n);
	(void)w;
}
