/*
 * A condition that can toggle fast (ingest pausing and resuming its reads
 * under load flips about every 10 ms) must not flood the log. The first
 * change after a quiet interval is logged as it happens, with the caller's
 * own words; changes within interval_ms of the last line are only counted,
 * and log_flap_tick() writes one summary line for them, e.g.
 *   "812 changes in the last 5.0 s (no longer reading from scales for
 *    2.3 s of it); now: reading from scales again"
 * so the log says at most one line per interval however fast it flaps, and
 * the last word is always the current state.
 *
 * The clock is the caller's (monotonic ms), so tests drive it by hand.
 */
#ifndef CT_LOG_FLAP_H
#define CT_LOG_FLAP_H

#include <stdbool.h>
#include <stdint.h>

#include "log/log.h"

struct log_flap {
	/* set by the owner, e.g. with a designated initializer */
	const char    *on_text, *off_text;   /* the two states, for the summary */
	enum log_level on_level, off_level;  /* of a change to that state */
	int64_t        interval_ms;          /* at most one line per interval */
	/* state, zero at start (condition off, nothing logged yet) */
	bool           on;
	bool           logged;               /* a line was written at last_line_ms */
	int64_t        last_line_ms;
	unsigned long  changes;              /* counted since that line */
	int64_t        on_since_ms;          /* when it last turned on */
	int64_t        on_ms;                /* time on since that line */
};

/* The condition is now `on` at now_ms. No change: nothing. A change after a
 * quiet interval is logged with fmt at on_level/off_level and true
 * returned; a change within interval_ms of the last line is counted. */
bool log_flap_set(struct log_flap *f, bool on, int64_t now_ms, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* Writes the summary of counted changes once interval_ms has passed since
 * the last line. Call it from a periodic timer (every second or so). */
void log_flap_tick(struct log_flap *f, int64_t now_ms);

#endif
