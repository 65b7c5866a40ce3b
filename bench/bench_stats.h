/*
 * Sorting and percentiles for the benchmark programs: every figure is a
 * nearest-rank percentile of samples sorted ascending, so each tool reports
 * the same p50 for the same samples.
 */
#ifndef CT_BENCH_STATS_H
#define CT_BENCH_STATS_H

#include <stddef.h>

/* qsort comparator for doubles, ascending. */
static inline int
bench_cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* The p-quantile (0 < p <= 1) of n sorted samples: nearest rank, ceil(p n)
 * (without libm); -1 when there are none. */
static inline double
bench_pct(const double *s, size_t n, double p)
{
	double x = p * (double)n;
	size_t i = (size_t)x;

	if (n == 0)
		return -1;
	if ((double)i < x)
		i++;
	return s[i == 0 ? 0 : i - 1];
}

#endif
