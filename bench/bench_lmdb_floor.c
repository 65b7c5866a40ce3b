/*
 * LMDB's own floor under a durable commit, measured where the store lives:
 * N write transactions that each put one 8-byte value into a one-key
 * database and commit with LMDB's default (synced) flags, so every commit
 * is LMDB's two ordered flushes (data pages fdatasync'd, then the meta page
 * written with O_DSYNC) and nothing of ours. No store commit of a record can
 * be cheaper than this; send -> record committed adds the record's pages
 * and the hops. Usage: bench_lmdb_floor DIR [N [GAP_US]]
 *   prints "lmdb_floor_us median=M min=A max=B n=N"
 * GAP_US waits that long between commits (the latency run's pace is one
 * every 4 ms: bench_fsync has the same option and says why it matters).
 */
#include <errno.h>
#include <lmdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "event/event.h"

#include "bench_stats.h"

static double
now_us(void)
{
	return (double)ct_now_ns_mono() / 1e3;
}

static int
lmdb_fail(const char *what, int rc)
{
	fprintf(stderr, "bench_lmdb_floor: %s: %s\n", what, mdb_strerror(rc));
	return 1;
}

/* one synced commit of one 8-byte value under key "k" */
static int
put_one(MDB_env *env, MDB_dbi dbi, long i)
{
	MDB_txn *txn;
	MDB_val k = { 1, (void *)"k" }, v = { sizeof(i), &i };
	int rc;

	if ((rc = mdb_txn_begin(env, NULL, 0, &txn)) != 0)
		return lmdb_fail("begin", rc);
	if ((rc = mdb_put(txn, dbi, &k, &v, 0)) != 0) {
		mdb_txn_abort(txn);
		return lmdb_fail("put", rc);
	}
	if ((rc = mdb_txn_commit(txn)) != 0)
		return lmdb_fail("commit", rc);
	return 0;
}

int
main(int argc, char **argv)
{
	char path[4096], file[4200];
	double *lat = NULL;
	long n = argc > 2 ? strtol(argv[2], NULL, 10) : 50;
	long gap_us = argc > 3 ? strtol(argv[3], NULL, 10) : 0;
	MDB_env *env = NULL;
	MDB_txn *txn;
	MDB_dbi dbi;
	int rc, ret = 1;

	if (argc < 2 || argc > 4 || n < 1 || n > 100000 || gap_us < 0 || gap_us > 1000000) {
		fprintf(stderr, "usage: bench_lmdb_floor DIR [N 1..100000 [GAP_US 0..1000000]]\n");
		return 2;
	}
	if (snprintf(path, sizeof(path), "%s/bench_lmdb_floor.%ld", argv[1], (long)getpid()) >=
	    (int)sizeof(path)) {
		fprintf(stderr, "bench_lmdb_floor: directory name too long\n");
		return 2;
	}
	if (mkdir(path, 0700) != 0) {
		fprintf(stderr, "bench_lmdb_floor: %s: %s\n", path, strerror(errno));
		return 1;
	}
	if ((lat = calloc((size_t)n, sizeof(*lat))) == NULL) {
		fprintf(stderr, "bench_lmdb_floor: out of memory\n");
		goto out;
	}
	if ((rc = mdb_env_create(&env)) != 0) {
		lmdb_fail("create", rc);
		env = NULL;
		goto out;
	}
	if ((rc = mdb_env_set_mapsize(env, 16u << 20)) != 0 ||
	    (rc = mdb_env_set_maxdbs(env, 2)) != 0 ||
	    (rc = mdb_env_open(env, path, MDB_NOTLS, 0600)) != 0) {
		lmdb_fail(path, rc);
		goto out;
	}
	/* a named database, as the store's are: the main DB is dirtied too */
	if ((rc = mdb_txn_begin(env, NULL, 0, &txn)) != 0) {
		lmdb_fail("begin", rc);
		goto out;
	}
	if ((rc = mdb_dbi_open(txn, "floor", MDB_CREATE, &dbi)) != 0 ||
	    (rc = mdb_txn_commit(txn)) != 0) {
		lmdb_fail("open database", rc);
		goto out;
	}
	/* a few commits first, so the free list is in its steady state */
	for (long i = 0; i < 8; i++)
		if (put_one(env, dbi, i) != 0)
			goto out;
	for (long i = 0; i < n; i++) {
		double t0 = now_us();

		if (put_one(env, dbi, i) != 0)
			goto out;
		lat[i] = now_us() - t0;
		if (gap_us > 0) {
			struct timespec ts = { gap_us / 1000000, (gap_us % 1000000) * 1000 };
			while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
				;
		}
	}
	qsort(lat, (size_t)n, sizeof(*lat), bench_cmp_double);
	printf("lmdb_floor_us median=%.0f min=%.0f max=%.0f n=%ld\n",
	    bench_pct(lat, (size_t)n, 0.5), lat[0], lat[n - 1], n);
	ret = 0;
out:
	if (env != NULL)
		mdb_env_close(env);
	free(lat);
	/* the scratch environment goes whatever happened */
	snprintf(file, sizeof(file), "%s/data.mdb", path);
	unlink(file);
	snprintf(file, sizeof(file), "%s/lock.mdb", path);
	unlink(file);
	rmdir(path);
	return ret;
}
