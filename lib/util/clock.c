/* The clocks of util/clock.h. */
#include "util/clock.h"

#include <time.h>

#include <event2/event.h>

int64_t
ct_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t
ct_now_ns_mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int64_t
ct_now_ms_mono(void)
{
	return ct_now_ns_mono() / 1000000;
}

int
ct_timer_add_ms(struct event *ev, int64_t ms)
{
	struct timeval tv = { (time_t)(ms / 1000), (suseconds_t)((ms % 1000) * 1000) };

	return event_add(ev, &tv);
}
