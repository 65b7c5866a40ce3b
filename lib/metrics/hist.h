/*
 * A fixed-bucket histogram a worker can keep for the price of a few
 * counters: observing is a short scan of at most HIST_BUCKETS_MAX upper
 * bounds and one increment, nothing is allocated. Values are in the unit
 * the metric is named for (seconds for latencies, as Prometheus wants).
 *
 * A worker puts it in its status object with hist_to_json() and the metric
 * set reads it back with hist_from_json(), which validates everything (the
 * status crosses a process boundary):
 *   {"bounds":[0.001,0.002,...], "buckets":[n0,n1,...,n_inf], "sum":s, "count":c}
 * buckets are per bucket (not cumulative), the last one above every bound;
 * count is their sum.
 */
#ifndef CT_HIST_H
#define CT_HIST_H

#include <stdint.h>

#include <jansson.h>

#define HIST_BUCKETS_MAX 24

struct hist {
	double   bounds[HIST_BUCKETS_MAX];     /* ascending, finite */
	unsigned nbounds;
	uint64_t buckets[HIST_BUCKETS_MAX + 1];   /* [nbounds] = above the last bound */
	uint64_t count;
	double   sum;
};

/* Latency bounds in seconds, 250 us to 10 s: store commit, send -> OK. */
extern const double hist_latency_bounds[];
extern const unsigned hist_latency_nbounds;

/* -1 if the bounds are not ascending and finite or there are too many. */
int  hist_init(struct hist *h, const double *bounds, unsigned nbounds);
void hist_observe(struct hist *h, double v);
/* NULL on allocation failure. */
json_t *hist_to_json(const struct hist *h);
/* -1 with the reason in err if o is not a well-formed histogram. */
int  hist_from_json(json_t *o, struct hist *h, char *err, size_t errlen);

#endif
