/*
 * Durable commit throughput of the store with group commit: events per
 * second when each write transaction carries 1, 10 or 100 events, every
 * commit synced (the store never uses MDB_NOSYNC). Also the commit latency:
 * mean, p50, p99 and worst. Usage: bench_commit [DIR] [SECONDS per size]
 * DIR defaults to a fresh directory under $TMPDIR (or /tmp); use a directory
 * on the real storage to measure it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "event/event.h"
#include "store/store.h"

#include "bench_stats.h"

#define MAX_SAMP (1u << 18)

static double
now_s(void)
{
	return (double)ct_now_ns_mono() / 1e9;
}

static void
mkev(struct ct_event *ev, unsigned i)
{
	static const char raw[] = "00001KIYMA           0001500000000000001500 27.11.2026 10:00:00";

	memset(ev, 0, sizeof(*ev));
	ct_uuid_new(ev->local_id);
	snprintf(ev->device_id, sizeof(ev->device_id), "SCALE-%02u", i % 50);
	snprintf(ev->source_ip, sizeof(ev->source_ip), "10.0.0.%u", i % 50 + 1);
	ev->received_at_ms = ct_now_ms();
	ev->scale_ts = ev->received_at_ms / 1000;
	snprintf(ev->plu, sizeof(ev->plu), "00001");
	snprintf(ev->product, sizeof(ev->product), "KIYMA");
	snprintf(ev->operator_name, sizeof(ev->operator_name), "OPERATOR 1");
	ev->net_g = 1500;
	ev->gross_g = 1500;
	ev->raw_len = sizeof(raw) - 1;
	memcpy(ev->raw, raw, ev->raw_len);
}

int
main(int argc, char **argv)
{
	static const unsigned sizes[] = { 1, 10, 100 };
	struct store_opts o = { .map_size = 1ull << 30 };
	char tmpl[512], err[512], cmd[600];
	const char *dir;
	double secs = argc > 2 ? atof(argv[2]) : 2.0;
	struct store *st;
	unsigned i = 0;
	double *ms = calloc(MAX_SAMP, sizeof(double));

	if (argc > 1)
		dir = argv[1];
	else {
		snprintf(tmpl, sizeof(tmpl), "%s/bench_commit.XXXXXX",
		    getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
		if ((dir = mkdtemp(tmpl)) == NULL) {
			perror("mkdtemp");
			return 1;
		}
	}
	if (ms == NULL) {
		fprintf(stderr, "bench_commit: out of memory\n");
		return 1;
	}
	if (store_open(&st, dir, &o, err, sizeof(err)) != STORE_OK) {
		fprintf(stderr, "bench_commit: %s\n", err);
		return 1;
	}
	printf("durable group commit, %s, %.1f s per size\n", dir, secs);
	printf("%10s %10s %10s %9s %9s %9s %9s\n", "events/txn", "events", "events/s",
	    "mean ms", "p50 ms", "p99 ms", "max ms");
	for (size_t s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
		double t0 = now_s(), t, sum = 0, max = 0;
		unsigned long n = 0, commits = 0;

		do {
			bool dup;

			if (store_begin(st, ct_now_ms()) != STORE_OK)
				goto fail;
			for (unsigned k = 0; k < sizes[s]; k++, i++) {
				struct ct_event ev;

				mkev(&ev, i);
				/* half the scales offline: batch updates are part of the cost */
				if (store_put_event(st, &ev, (i / 50) % 2 == 0, &dup) != STORE_OK)
					goto fail;
			}
			if (store_commit(st) != STORE_OK)
				goto fail;
			n += sizes[s];
			if (commits < MAX_SAMP)
				ms[commits] = store_last_commit_ms(st);
			commits++;
			sum += store_last_commit_ms(st);
			if (store_last_commit_ms(st) > max)
				max = store_last_commit_ms(st);
			t = now_s();
		} while (t - t0 < secs);
		size_t k = commits < MAX_SAMP ? commits : MAX_SAMP;
		qsort(ms, k, sizeof(double), bench_cmp_double);
		printf("%10u %10lu %10.0f %9.3f %9.3f %9.3f %9.3f\n", sizes[s], n,
		    (double)n / (t - t0), sum / (double)commits, bench_pct(ms, k, 0.5),
		    bench_pct(ms, k, 0.99), max);
	}
	store_close(st);
	free(ms);
	if (argc <= 1) {
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
		if (system(cmd) != 0)
			fprintf(stderr, "bench_commit: could not remove %s\n", dir);
	}
	return 0;
fail:
	fprintf(stderr, "bench_commit: %s\n", store_errmsg(st));
	store_close(st);
	free(ms);
	return 1;
}
