/* Fixed-bucket histogram and its JSON form; see hist.h. */
#include "metrics/hist.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

const double hist_latency_bounds[] = {
	0.00025, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10,
};
const unsigned hist_latency_nbounds = sizeof(hist_latency_bounds) / sizeof(hist_latency_bounds[0]);

int
hist_init(struct hist *h, const double *bounds, unsigned nbounds)
{
	memset(h, 0, sizeof(*h));
	if (nbounds > HIST_BUCKETS_MAX)
		return -1;
	for (unsigned i = 0; i < nbounds; i++)
		if (!isfinite(bounds[i]) || (i > 0 && bounds[i] <= bounds[i - 1]))
			return -1;
	memcpy(h->bounds, bounds, nbounds * sizeof(bounds[0]));
	h->nbounds = nbounds;
	return 0;
}

void
hist_observe(struct hist *h, double v)
{
	unsigned i = 0;

	/* NaN would poison the sum for ever; it is no measurement. */
	if (isnan(v))
		return;
	while (i < h->nbounds && v > h->bounds[i])
		i++;
	h->buckets[i]++;
	h->count++;
	h->sum += v;
}

json_t *
hist_to_json(const struct hist *h)
{
	json_t *b = json_array(), *n = json_array();

	if (b == NULL || n == NULL)
		goto fail;
	for (unsigned i = 0; i < h->nbounds; i++)
		if (json_array_append_new(b, json_real(h->bounds[i])) != 0)
			goto fail;
	for (unsigned i = 0; i <= h->nbounds; i++)
		if (json_array_append_new(n, json_integer((json_int_t)h->buckets[i])) != 0)
			goto fail;
	return json_pack("{s:o, s:o, s:f, s:I}", "bounds", b, "buckets", n,
	    "sum", isfinite(h->sum) ? h->sum : 0.0, "count", (json_int_t)h->count);
fail:
	json_decref(b);
	json_decref(n);
	return NULL;
}

int
hist_from_json(json_t *o, struct hist *h, char *err, size_t errlen)
{
	json_t *b = json_object_get(o, "bounds"), *n = json_object_get(o, "buckets"), *v;
	double bounds[HIST_BUCKETS_MAX];
	uint64_t total = 0;
	size_t i;

	memset(h, 0, sizeof(*h));
	if (!json_is_object(o) || !json_is_array(b) || !json_is_array(n) ||
	    !json_is_number(json_object_get(o, "sum")) ||
	    !json_is_integer(json_object_get(o, "count"))) {
		snprintf(err, errlen, "not a histogram (bounds, buckets, sum, count)");
		return -1;
	}
	if (json_array_size(b) > HIST_BUCKETS_MAX || json_array_size(n) != json_array_size(b) + 1) {
		snprintf(err, errlen, "%zu bounds (at most %d) and %zu buckets (want one more)",
		    json_array_size(b), HIST_BUCKETS_MAX, json_array_size(n));
		return -1;
	}
	json_array_foreach(b, i, v) {
		if (!json_is_number(v)) {
			snprintf(err, errlen, "bound %zu is not a number", i);
			return -1;
		}
		bounds[i] = json_number_value(v);
	}
	if (hist_init(h, bounds, (unsigned)json_array_size(b)) != 0) {
		snprintf(err, errlen, "bounds not ascending and finite");
		return -1;
	}
	json_array_foreach(n, i, v) {
		if (!json_is_integer(v) || json_integer_value(v) < 0) {
			snprintf(err, errlen, "bucket %zu is not a count", i);
			return -1;
		}
		h->buckets[i] = (uint64_t)json_integer_value(v);
		total += h->buckets[i];
	}
	h->count = (uint64_t)json_integer_value(json_object_get(o, "count"));
	h->sum = json_number_value(json_object_get(o, "sum"));
	if (total != h->count || json_integer_value(json_object_get(o, "count")) < 0 ||
	    !isfinite(h->sum)) {
		snprintf(err, errlen, "count %llu is not the sum of the buckets (%llu) or bad sum",
		    (unsigned long long)h->count, (unsigned long long)total);
		return -1;
	}
	return 0;
}
