/*
 * dns_log.h -- logging to stderr.
 *
 * One line per message: "2026-11-27T10:00:00Z cairn-auth[pid] level: text" (the
 * timestamp only when a stamp function is installed).
 * The level threshold and the program name are process-wide settings made once
 * at start-up; logging itself is thread-safe (one write(2) per line).
 */
#ifndef CAIRN_DNS_LOG_H
#define CAIRN_DNS_LOG_H

#include <stddef.h>

enum dns_log_level { DNS_LOG_ERR = 0, DNS_LOG_WARN, DNS_LOG_INFO, DNS_LOG_DEBUG };

/* Set the program name shown in each line and the most verbose level printed. */
void dns_log_setup(const char *prog, enum dns_log_level level);
/*
 * Optional line prefix (a timestamp): writes at most size bytes into buf and
 * returns the length. The programs install one from common/io (dns_log_time.h);
 * cores and unit tests log without, so the core never reads the clock.
 */
typedef size_t (*dns_log_stamp_fn)(char *buf, size_t size);
void dns_log_set_stamp(dns_log_stamp_fn fn);
/* Parse "err", "warn", "info", "debug" into a level; DNS_E_NOTFOUND if unknown. */
int dns_log_level_from_str(const char *s);
void dns_log(enum dns_log_level level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Would a message of this level be printed? (Skip building costly log lines.) */
int dns_log_enabled(enum dns_log_level level);

#define log_err(...) dns_log(DNS_LOG_ERR, __VA_ARGS__)
#define log_warn(...) dns_log(DNS_LOG_WARN, __VA_ARGS__)
#define log_info(...) dns_log(DNS_LOG_INFO, __VA_ARGS__)
#define log_debug(...) dns_log(DNS_LOG_DEBUG, __VA_ARGS__)

#endif
