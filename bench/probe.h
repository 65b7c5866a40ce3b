/*
 * bench_probe's insides, shared by its files: the probe's state, and what
 * probe_store.c does for bench_probe.c (watching the store for the records
 * the probe sent, the stage stamps, the samples). bench/README.md says what
 * is measured.
 */
#ifndef CT_BENCH_PROBE_H
#define CT_BENCH_PROBE_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>

#include "event/event.h"
#include "store/store.h"
#include "util/trace.h"

#define MAX_SCALES 100
#define MAX_OUT    4096     /* records sent, not yet acked; beyond: skipped */
/* LMDB makes a commit visible to new readers (the txnid in lock.mdb) a
 * moment after its meta page write, which is what inotify reports: a read
 * right on the event can still see the old snapshot, and no later event
 * may come for milliseconds. So after each event the store is looked at
 * again QUICK_CHECKS times, QUICK_NS apart. */
#define QUICK_NS     50000
#define QUICK_CHECKS 3

struct rec {
	int      scale;
	char     barcode[CT_BARCODE_MAX];
	int64_t  t0, stored, acked, ok;   /* ns, monotonic; 0 = not yet */
	uint64_t seq;
	bool     counted;                 /* sent after the warm-up */
};

struct probe {
	struct sockaddr_in addr;
	int      nscales, first_id;
	double   rate, duration, warmup, timeout;
	bool     once, controlled;
	const char *data_dir;
	int      fd[MAX_SCALES];
	int      ok_match[MAX_SCALES];    /* bytes of "OK\n" matched so far */
	struct store *st;
	int      ino;
	struct rec out[MAX_OUT];
	int      nout;
	uint64_t hi_seq;                  /* newest seq already scanned */
	long     rec_no;                  /* record number, unique per run */
	double  *lat_stored, *lat_acked, *lat_ok;  /* us */
	size_t   nlat, caplat;
	uint64_t sent, skipped, fallback, errors, unexpected;
	int      quick;                   /* re-checks due soon after a write was seen */
};

/* "SCALE-nn" of the probe's scale i. */
void probe_dev_name(const struct probe *p, int i, char out[16]);
/* A stamp for bench_stages (a counted record, with CARNITRACKD_TRACE). */
void probe_stamp(const struct probe *p, const struct rec *r, int64_t ns, enum ct_stage st);
/* A finished record's latencies into the samples. */
void probe_record_sample(struct probe *p, const struct rec *r);
/* Opens the store read-only (waiting for it until the deadline) and the
 * inotify watch on data.mdb (p->ino, -1 without). */
int  probe_open_store(struct probe *p, int64_t deadline);
/* Looks at the store once; returns how many records completed. */
int  probe_check_store(struct probe *p);

#endif
