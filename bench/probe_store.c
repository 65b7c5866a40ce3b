/*
 * bench_probe's view of the store (probe.h): the records it sent, found in
 * the events database by scale and barcode, and their sync state; with the
 * stamps and samples that follow.
 */
#include "probe.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/inotify.h>
#include <unistd.h>

static const uint8_t zero_id[16];

void
probe_dev_name(const struct probe *p, int i, char out[16])
{
	snprintf(out, 16, "SCALE-%02d", (p->first_id + i) % 100);
}

/* A stamp for bench_stages: the probe knows records by scale and barcode. */
void
probe_stamp(const struct probe *p, const struct rec *r, int64_t ns, enum ct_stage st)
{
	char dev[16];

	if (!ct_trace_on() || !r->counted)
		return;
	probe_dev_name(p, r->scale, dev);
	ct_trace_at(ns, st, zero_id, dev, r->barcode);
}

struct scan {
	struct probe *p;
	uint64_t newest;
	int64_t  now;
};

static int
scan_cb(const struct ct_event *ev, const struct store_sync *sy, void *arg)
{
	struct scan *s = arg;
	struct probe *p = s->p;

	if (ev->seq <= p->hi_seq)
		return 1;
	if (s->newest == 0)
		s->newest = ev->seq;
	for (int j = 0; j < p->nout; j++) {
		struct rec *r = &p->out[j];
		char dev[16];
		if (r->seq != 0 || strcmp(r->barcode, ev->barcode) != 0)
			continue;
		snprintf(dev, sizeof(dev), "SCALE-%02d", (p->first_id + r->scale) % 100);
		if (strcmp(dev, ev->device_id) != 0)
			continue;
		r->seq = ev->seq;
		r->stored = s->now;
		probe_stamp(p, r, s->now, CT_ST_PROBE_COMMITTED);
		if (sy->status != SYNC_PENDING) {
			r->acked = s->now;
			probe_stamp(p, r, s->now, CT_ST_PROBE_ACKED);
		}
		break;
	}
	return 0;
}

void
probe_record_sample(struct probe *p, const struct rec *r)
{
	if (!r->counted || p->nlat >= p->caplat)
		return;
	p->lat_stored[p->nlat] = (double)(r->stored - r->t0) / 1e3;
	p->lat_acked[p->nlat] = (double)(r->acked - r->t0) / 1e3;
	p->lat_ok[p->nlat] = (double)(r->ok - r->t0) / 1e3;
	p->nlat++;
}

int
probe_check_store(struct probe *p)
{
	struct scan s = { .p = p, .now = ct_now_ns_mono() };
	int done = 0, e;

	if (p->nout == 0)
		return 0;
	e = store_events_iter(p->st, 0, true, 0, scan_cb, &s);
	if (e != STORE_OK && e != STORE_NOTFOUND) {
		fprintf(stderr, "bench_probe: reading the store: %s\n", store_errmsg(p->st));
		p->errors++;
	}
	if (s.newest > p->hi_seq)
		p->hi_seq = s.newest;
	for (int j = 0; j < p->nout; j++) {
		struct rec *r = &p->out[j];
		if (r->seq != 0 && r->acked == 0) {
			struct ct_event ev;
			struct store_sync sy;
			if (store_event_get(p->st, r->seq, &ev, &sy) == STORE_OK &&
			    sy.status != SYNC_PENDING) {
				r->acked = s.now;
				probe_stamp(p, r, s.now, CT_ST_PROBE_ACKED);
			}
		}
		if (r->acked != 0) {
			probe_record_sample(p, r);
			p->out[j--] = p->out[--p->nout];
			done++;
		}
	}
	return done;
}

int
probe_open_store(struct probe *p, int64_t deadline)
{
	struct store_opts o = { .readonly = true };
	char err[512], path[4096];

	for (;;) {
		if (store_open(&p->st, p->data_dir, &o, err, sizeof(err)) == STORE_OK)
			break;
		if (ct_now_ns_mono() > deadline) {
			fprintf(stderr, "bench_probe: cannot open the store in %s: %s\n",
			    p->data_dir, err);
			return -1;
		}
		usleep(10000);
	}
	/* only what is written from now on can be ours */
	struct store_stats ss;
	if (store_stats_get(p->st, &ss) == STORE_OK)
		p->hi_seq = ss.last_seq;
	snprintf(path, sizeof(path), "%s/store/data.mdb", p->data_dir);
	if ((p->ino = inotify_init1(IN_NONBLOCK | IN_CLOEXEC)) < 0 ||
	    inotify_add_watch(p->ino, path, IN_MODIFY) < 0) {
		fprintf(stderr, "bench_probe: inotify on %s: %s (falling back to 1 ms polling)\n",
		    path, strerror(errno));
		if (p->ino >= 0)
			close(p->ino);
		p->ino = -1;
	}
	return 0;
}

