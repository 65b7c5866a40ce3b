/*
 * The clocks, one of each for every process and tool: the wall clock for
 * stamps the cloud and the operator read (Unix ms, UTC), the monotonic one
 * for intervals, deadlines and measurements (it cannot be stepped), and a
 * libevent timer armed in milliseconds.
 */
#ifndef CT_CLOCK_H
#define CT_CLOCK_H

#include <stdint.h>

struct event;

int64_t ct_now_ms(void);          /* wall clock, Unix ms */
int64_t ct_now_ms_mono(void);     /* monotonic ms: intervals and timeouts */
int64_t ct_now_ns_mono(void);     /* monotonic ns: measurements */
/* libevent's timers take a timeval: ev fires ms (>= 0) from now, by the
 * monotonic clock libevent keeps. event_add's result. */
int ct_timer_add_ms(struct event *ev, int64_t ms);

#endif
