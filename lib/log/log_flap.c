/* Rate-limited logging of a toggling condition; see log_flap.h. */
#include "log/log_flap.h"

#include <stdarg.h>
#include <stdio.h>

static void
say(enum log_level lvl, const char *msg)
{
	switch (lvl) {
	case LOG_LVL_ERR:   log_err("%s", msg); break;
	case LOG_LVL_WARN:  log_warn("%s", msg); break;
	case LOG_LVL_INFO:  log_info("%s", msg); break;
	case LOG_LVL_DEBUG: log_debug("%s", msg); break;
	}
}

/* A line was written: a new counting window starts now. */
static void
new_window(struct log_flap *f, int64_t now_ms)
{
	f->logged = true;
	f->last_line_ms = now_ms;
	f->changes = 0;
	f->on_ms = 0;
	f->on_since_ms = now_ms;
}

void
log_flap_tick(struct log_flap *f, int64_t now_ms)
{
	char msg[512];
	int64_t span, on_ms;

	if (!f->logged || f->changes == 0 || now_ms - f->last_line_ms < f->interval_ms)
		return;
	span = now_ms - f->last_line_ms;
	on_ms = f->on_ms + (f->on ? now_ms - f->on_since_ms : 0);
	snprintf(msg, sizeof(msg), "%lu changes in the last %.1f s (%s for %.1f s of it); now: %s",
	    f->changes, (double)span / 1000, f->on_text, (double)on_ms / 1000,
	    f->on ? f->on_text : f->off_text);
	/* A flapping condition is worth the louder of the two levels. */
	say(f->on_level < f->off_level ? f->on_level : f->off_level, msg);
	new_window(f, now_ms);
}

bool
log_flap_set(struct log_flap *f, bool on, int64_t now_ms, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	if (on == f->on)
		return false;
	/* A summary that is due goes first, so lines stay in time order. */
	log_flap_tick(f, now_ms);
	if (f->on)
		f->on_ms += now_ms - f->on_since_ms;
	else
		f->on_since_ms = now_ms;
	f->on = on;
	if (f->logged && now_ms - f->last_line_ms < f->interval_ms) {
		f->changes++;
		return false;
	}
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	say(on ? f->on_level : f->off_level, msg);
	new_window(f, now_ms);
	return true;
}
