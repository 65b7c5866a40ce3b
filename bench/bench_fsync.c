/*
 * The storage's sync latency, measured where the store lives: N times
 * pwrite 4 KiB at offset 0 of a scratch file, then fdatasync. This is the
 * floor under every durable commit (LMDB syncs data then writes the meta
 * page with O_DSYNC), so it makes figures from an SD card, an eMMC and a
 * laptop SSD comparable.
 * Usage: bench_fsync DIR [N [GAP_US]]
 *   prints "fsync_us median=M min=A max=B n=N"
 * GAP_US waits that long between samples: a flush issued every few
 * milliseconds, as records arrive, meets an idle device and vCPU and costs
 * more than one issued back to back (on the benchmark VM 247 us against
 * 126 us at one every 4 ms), so the figures give both.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "event/event.h"

#include "bench_stats.h"

static double
now_us(void)
{
	return (double)ct_now_ns_mono() / 1e3;
}

int
main(int argc, char **argv)
{
	char path[4096], block[4096];
	double *lat;
	long n = argc > 2 ? strtol(argv[2], NULL, 10) : 50;
	long gap_us = argc > 3 ? strtol(argv[3], NULL, 10) : 0;
	int fd;

	if (argc < 2 || argc > 4 || n < 1 || n > 100000 || gap_us < 0 || gap_us > 1000000) {
		fprintf(stderr, "usage: bench_fsync DIR [N 1..100000 [GAP_US 0..1000000]]\n");
		return 2;
	}
	if (snprintf(path, sizeof(path), "%s/bench_fsync.%ld", argv[1], (long)getpid()) >=
	    (int)sizeof(path)) {
		fprintf(stderr, "bench_fsync: directory name too long\n");
		return 2;
	}
	if ((lat = calloc((size_t)n, sizeof(*lat))) == NULL) {
		fprintf(stderr, "bench_fsync: out of memory\n");
		return 1;
	}
	if ((fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600)) < 0) {
		fprintf(stderr, "bench_fsync: %s: %s\n", path, strerror(errno));
		return 1;
	}
	memset(block, 'x', sizeof(block));
	/* The first write allocates the block; measure overwrites, as LMDB's
	 * meta page and reused pages are. */
	if (pwrite(fd, block, sizeof(block), 0) != (ssize_t)sizeof(block) || fdatasync(fd) != 0) {
		fprintf(stderr, "bench_fsync: %s: %s\n", path, strerror(errno));
		goto fail;
	}
	for (long i = 0; i < n; i++) {
		double t0 = now_us();
		block[0] = (char)i;
		if (pwrite(fd, block, sizeof(block), 0) != (ssize_t)sizeof(block) ||
		    fdatasync(fd) != 0) {
			fprintf(stderr, "bench_fsync: %s: %s\n", path, strerror(errno));
			goto fail;
		}
		lat[i] = now_us() - t0;
		if (gap_us > 0) {
			struct timespec ts = { gap_us / 1000000, (gap_us % 1000000) * 1000 };
			while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
				;
		}
	}
	close(fd);
	unlink(path);
	qsort(lat, (size_t)n, sizeof(*lat), bench_cmp_double);
	printf("fsync_us median=%.0f min=%.0f max=%.0f n=%ld\n", lat[n / 2], lat[0], lat[n - 1], n);
	free(lat);
	return 0;
fail:
	close(fd);
	unlink(path);
	free(lat);
	return 1;
}
