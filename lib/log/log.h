/*
 * One log line per event, each with the process role and level:
 *   "ingest: warn: scale 10.0.0.7: line rejected: bad date 31.02.2026"
 * syslog (LOG_DAEMON) in the background, stderr in the foreground (-f).
 */
#ifndef CT_LOG_H
#define CT_LOG_H

#include <stdbool.h>

enum log_level { LOG_LVL_ERR = 0, LOG_LVL_WARN, LOG_LVL_INFO, LOG_LVL_DEBUG };

void log_init(const char *role, bool to_stderr, enum log_level level);
void log_set_level(enum log_level level);
int  log_level_parse(const char *s, enum log_level *out);

void log_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Like log_err with ": strerror(errno)" appended. */
void log_errno(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* A state the code says cannot happen (a bug): logged as an error ending in
 * "exiting (a bug: this cannot happen)", and the process exits with 1 at
 * once. A worker is restarted by the supervisor, which is the safe path;
 * the bug is loud in the log. */
void fatalx(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));

#endif
