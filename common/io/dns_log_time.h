/*
 * dns_log_time.h -- wall-clock timestamps for log lines (the I/O side of
 * dns_log.h: the core's logger never reads the clock itself).
 */
#ifndef CAIRN_DNS_LOG_TIME_H
#define CAIRN_DNS_LOG_TIME_H

#include "dns_log.h"

/* dns_log_setup() plus UTC timestamps ("2026-11-27T10:00:00Z ") on every line. */
void dns_log_setup_stamped(const char *prog, enum dns_log_level level);

#endif
