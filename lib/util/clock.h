/*
 * The clocks, one of each for every process and tool: the wall clock for
 * stamps the cloud and the operator read (Unix ms, UTC), the monotonic one
 * for intervals, deadlines and measurements (it cannot be stepped).
 */
#ifndef CT_CLOCK_H
#define CT_CLOCK_H

#include <stdint.h>

int64_t ct_now_ms(void);          /* wall clock, Unix ms */
int64_t ct_now_ms_mono(void);     /* monotonic ms: intervals and timeouts */
int64_t ct_now_ns_mono(void);     /* monotonic ns: measurements */

#endif
