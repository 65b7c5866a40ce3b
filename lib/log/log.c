/* The log lines of every process (log.h): role, level, one line each; and fatalx. */
#include "log/log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

static char role[32] = "carnitrackd";
static bool use_stderr = true;
static bool to_journal;      /* stderr is the journal: it adds time and pid */
static enum log_level cur_level = LOG_LVL_INFO;

static const char *lvl_name[] = { "error", "warn", "info", "debug" };
static const int lvl_prio[] = { LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG };

void
log_init(const char *r, bool to_stderr, enum log_level level)
{
	snprintf(role, sizeof(role), "%s", r);
	use_stderr = to_stderr;
	to_journal = getenv("JOURNAL_STREAM") != NULL;
	cur_level = level;
	if (!use_stderr)
		openlog("carnitrackd", LOG_PID | LOG_NDELAY, LOG_DAEMON);
}

void
log_set_level(enum log_level level)
{
	cur_level = level;
}

int
log_level_parse(const char *s, enum log_level *out)
{
	for (size_t i = 0; i < sizeof(lvl_name) / sizeof(lvl_name[0]); i++)
		if (strcmp(s, lvl_name[i]) == 0) {
			*out = (enum log_level)i;
			return 0;
		}
	if (strcmp(s, "warning") == 0) {
		*out = LOG_LVL_WARN;
		return 0;
	}
	return -1;
}

static void
vlog(enum log_level lvl, const char *fmt, va_list ap, const char *suffix)
{
	char msg[1024];
	int saved = errno;

	if (lvl > cur_level)
		return;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	/* Outside bytes end up in messages: keep each log line a single line. */
	for (char *p = msg; *p; p++)
		if ((unsigned char)*p < 0x20 && *p != '\t')
			*p = '?';
	if (use_stderr && to_journal) {
		fprintf(stderr, "<%d>%s: %s: %s%s%s\n", lvl_prio[lvl], role, lvl_name[lvl], msg,
		    suffix ? ": " : "", suffix ? suffix : "");
	} else if (use_stderr) {
		struct timespec ts;
		struct tm tm;
		char tbuf[32];

		clock_gettime(CLOCK_REALTIME, &ts);
		gmtime_r(&ts.tv_sec, &tm);
		strftime(tbuf, sizeof(tbuf), "%H:%M:%S", &tm);
		fprintf(stderr, "%s.%03ld carnitrackd[%d]: %s: %s: %s%s%s\n", tbuf,
		    ts.tv_nsec / 1000000, (int)getpid(), role, lvl_name[lvl], msg,
		    suffix ? ": " : "", suffix ? suffix : "");
	} else {
		syslog(lvl_prio[lvl], "%s: %s: %s%s%s", role, lvl_name[lvl], msg,
		    suffix ? ": " : "", suffix ? suffix : "");
	}
	errno = saved;
}

#define DEF_LOG(fn, lvl) \
void fn(const char *fmt, ...) \
{ \
	va_list ap; \
	va_start(ap, fmt); \
	vlog(lvl, fmt, ap, NULL); \
	va_end(ap); \
}
DEF_LOG(log_err, LOG_LVL_ERR)
DEF_LOG(log_warn, LOG_LVL_WARN)
DEF_LOG(log_info, LOG_LVL_INFO)
DEF_LOG(log_debug, LOG_LVL_DEBUG)

void
log_errno(const char *fmt, ...)
{
	va_list ap;
	const char *e = strerror(errno);

	va_start(ap, fmt);
	vlog(LOG_LVL_ERR, fmt, ap, e);
	va_end(ap);
}

void
fatalx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(LOG_LVL_ERR, fmt, ap, "exiting (a bug: this cannot happen)");
	va_end(ap);
	exit(1);
}
