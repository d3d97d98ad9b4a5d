/*
 * dns_log.h -- logging to stderr.
 *
 * One line per message: "2026-11-27T10:00:00Z cairn-auth[pid] level: text".
 * The level threshold and the program name are process-wide settings made once
 * at start-up; logging itself is thread-safe (one write(2) per line).
 */
#ifndef CAIRN_DNS_LOG_H
#define CAIRN_DNS_LOG_H

enum dns_log_level { DNS_LOG_ERR = 0, DNS_LOG_WARN, DNS_LOG_INFO, DNS_LOG_DEBUG };

/* Set the program name shown in each line and the most verbose level printed. */
void dns_log_setup(const char *prog, enum dns_log_level level);
/* Parse "err", "warn", "info", "debug"; -1 if unknown. */
int dns_log_level_from_str(const char *s);
void dns_log(enum dns_log_level level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#define log_err(...) dns_log(DNS_LOG_ERR, __VA_ARGS__)
#define log_warn(...) dns_log(DNS_LOG_WARN, __VA_ARGS__)
#define log_info(...) dns_log(DNS_LOG_INFO, __VA_ARGS__)
#define log_debug(...) dns_log(DNS_LOG_DEBUG, __VA_ARGS__)

#endif
