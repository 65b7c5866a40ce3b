/*
 * carnitrackctl sessions | batches | events | devices: read the LMDB store
 * directly, read-only (MDB_RDONLY: works while the daemon's store worker
 * writes), and print one table each. Short read transactions; nothing here
 * can change the store.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"
#include "event/event.h"
#include "store/store.h"

static struct store *
open_ro(const struct ct_conf *conf)
{
	struct store_opts o = { .readonly = true };
	struct store *st = NULL;
	char err[600];

	if (store_open(&st, conf->data_dir, &o, err, sizeof(err)) != STORE_OK) {
		fprintf(stderr, "carnitrackctl: %s\n", err);
		return NULL;
	}
	return st;
}

static void
fmt_time(int64_t ms, char out[CT_ISO_MAX])
{
	if (ms <= 0)
		snprintf(out, CT_ISO_MAX, "-");
	else
		ct_iso_from_sec(ms / 1000, out);
}

static int
done(struct store *st, int e, const char *what)
{
	if (e != STORE_OK)
		fprintf(stderr, "carnitrackctl: %s: %s\n", what, store_errmsg(st));
	store_close(st);
	return e == STORE_OK ? CTL_EXIT_OK : CTL_EXIT_DOWN;
}

static int
no_args(int argc, char **argv)
{
	if (argc > 1) {
		fprintf(stderr, "carnitrackctl: %s takes no arguments\n", argv[0]);
		return -1;
	}
	return 0;
}

/* ---- sessions ---- */

static int
print_session(const struct store_session *s, void *arg)
{
	char t[CT_ISO_MAX];

	fmt_time(s->updated_at_ms, t);
	printf("%-16s %-36s %-8s %-12s %-10s %-36s %s\n", s->device_id,
	    s->cloud_session_id[0] ? s->cloud_session_id : "-",
	    store_session_status_name(s->status), s->animal_tag[0] ? s->animal_tag : "-",
	    s->animal_species[0] ? s->animal_species : "-",
	    s->operator_id[0] ? s->operator_id : "-", t);
	(*(int *)arg)++;
	return 0;
}

int
ctl_cmd_sessions(const struct ct_conf *conf, int argc, char **argv)
{
	struct store *st;
	int n = 0, e;

	if (no_args(argc, argv) != 0)
		return CTL_EXIT_USAGE;
	if ((st = open_ro(conf)) == NULL)
		return CTL_EXIT_DOWN;
	printf("%-16s %-36s %-8s %-12s %-10s %-36s %s\n", "DEVICE", "SESSION", "STATUS",
	    "ANIMAL TAG", "SPECIES", "OPERATOR", "UPDATED");
	e = store_sessions_iter(st, print_session, &n);
	if (e == STORE_OK && n == 0)
		printf("(no sessions)\n");
	return done(st, e, "sessions");
}

/* ---- batches ---- */

static int
print_batch(const struct store_batch *b, void *arg)
{
	char id[CT_UUID_STR], t0[CT_ISO_MAX], t1[CT_ISO_MAX];

	ct_uuid_fmt(b->id, id);
	fmt_time(b->started_at_ms, t0);
	fmt_time(b->ended_at_ms, t1);
	printf("%-36s %-16s %-6s %7u %7u %12lld %-20s %-20s %s%s\n", id, b->device_id,
	    store_batch_state_name(b->state), b->event_count, b->unacked,
	    (long long)b->total_weight_g, t0, t1,
	    b->reported & CT_BATCH_START_SENT ? "start" : "-",
	    b->reported & CT_BATCH_END_SENT ? ",end" : "");
	(*(int *)arg)++;
	return 0;
}

int
ctl_cmd_batches(const struct ct_conf *conf, int argc, char **argv)
{
	struct store *st;
	int n = 0, e;

	if (no_args(argc, argv) != 0)
		return CTL_EXIT_USAGE;
	if ((st = open_ro(conf)) == NULL)
		return CTL_EXIT_DOWN;
	printf("%-36s %-16s %-6s %7s %7s %12s %-20s %-20s %s\n", "BATCH", "DEVICE", "STATE",
	    "EVENTS", "UNACKED", "WEIGHT_G", "STARTED", "ENDED", "REPORTED");
	e = store_batches_iter(st, print_batch, &n);
	if (e == STORE_OK && n == 0)
		printf("(no batches)\n");
	return done(st, e, "batches");
}

/* ---- events ---- */

/* Listing state: events go out in chunks, each its own short read txn, so
 * a slow terminal or pager never pins old pages of a running store. */
#define EVENTS_CHUNK 500
struct ev_list {
	int      n;           /* printed in this chunk */
	uint64_t last_seq;
};

static int
print_event(const struct ct_event *ev, const struct store_sync *sy, void *arg)
{
	struct ev_list *l = arg;
	char id[CT_UUID_STR], tag[CT_UUID_STR + 8], t[CT_ISO_MAX];

	ct_uuid_fmt(ev->local_id, id);
	if (ev->offline) {
		char b[CT_UUID_STR];

		ct_uuid_fmt(ev->offline_batch_id, b);
		snprintf(tag, sizeof(tag), "batch:%.8s", b);
	} else if (ev->cloud_session_id[0])
		snprintf(tag, sizeof(tag), "%.36s", ev->cloud_session_id);
	else
		snprintf(tag, sizeof(tag), "-");
	ct_iso_from_sec(ev->scale_ts, t);
	printf("%10llu %-36s %-16s %-5s %9lld %-20s %-36s %s%s%s\n",
	    (unsigned long long)ev->seq, id, ev->device_id, ev->plu[0] ? ev->plu : "-",
	    (long long)ev->net_g, t, tag, store_sync_name(sy->status),
	    sy->status == SYNC_REJECTED ? ": " : "", sy->status == SYNC_REJECTED ? sy->reason : "");
	l->n++;
	l->last_seq = ev->seq;
	return 0;
}

/* Newest first (all events) or oldest first (the backlog, in sending order),
 * at most limit (0 = all). */
static int
list_events(struct store *st, bool pending, long limit, long *total)
{
	uint64_t from = 0;          /* reverse from 0 = from the newest */
	int e;

	*total = 0;
	for (;;) {
		struct ev_list l = { 0, 0 };
		unsigned want = EVENTS_CHUNK;

		if (limit > 0 && limit - *total < (long)want)
			want = (unsigned)(limit - *total);
		if (want == 0)
			return STORE_OK;
		if (pending)
			e = store_pending_iter(st, from, want, print_event, &l);
		else
			e = store_events_iter(st, from, true, want, print_event, &l);
		if (e != STORE_OK)
			return e;
		*total += l.n;
		if ((unsigned)l.n < want || (!pending && l.last_seq <= 1))
			return STORE_OK;
		from = pending ? l.last_seq + 1 : l.last_seq - 1;
	}
}

int
ctl_cmd_events(const struct ct_conf *conf, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "pending", no_argument, NULL, 'p' },
		{ "limit", required_argument, NULL, 'n' },
		{ NULL, 0, NULL, 0 },
	};
	bool pending = false;
	long limit = 20, n = 0;
	char *end;
	struct store *st;
	int ch, e;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "pn:", longopts, NULL)) != -1) {
		switch (ch) {
		case 'p':
			pending = true;
			break;
		case 'n':
			limit = strtol(optarg, &end, 10);
			if (*optarg == '\0' || *end != '\0' || limit < 0 || limit > 1000000) {
				fprintf(stderr, "carnitrackctl: --limit wants 0..1000000 (0 = all), not '%s'\n",
				    optarg);
				return CTL_EXIT_USAGE;
			}
			break;
		default:
			fprintf(stderr, "usage: carnitrackctl events [--pending] [--limit N]\n");
			return CTL_EXIT_USAGE;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "usage: carnitrackctl events [--pending] [--limit N]\n");
		return CTL_EXIT_USAGE;
	}
	if ((st = open_ro(conf)) == NULL)
		return CTL_EXIT_DOWN;
	printf("%10s %-36s %-16s %-5s %9s %-20s %-36s %s\n", "SEQ", "LOCAL_EVENT_ID", "DEVICE",
	    "PLU", "NET_G", "SCALE_TIME", "SESSION/BATCH", "SYNC");
	e = list_events(st, pending, limit, &n);
	if (e == STORE_OK && n == 0)
		printf("(no %sevents)\n", pending ? "pending " : "");
	return done(st, e, "events");
}

/* ---- devices ---- */

static int
print_device(const struct store_device *d, void *arg)
{
	char t[CT_ISO_MAX];

	fmt_time(d->last_seen_ms, t);
	printf("%-16s %-24s %-12s %-16s %10u %8u %10llu %-20s %s\n", d->device_id,
	    d->global_device_id, store_dev_status_name(d->status),
	    d->source_ip[0] ? d->source_ip : "-", d->heartbeats, d->connects,
	    (unsigned long long)d->events, t, d->reason[0] ? d->reason : "-");
	(*(int *)arg)++;
	return 0;
}

int
ctl_cmd_devices(const struct ct_conf *conf, int argc, char **argv)
{
	struct store *st;
	int n = 0, e;

	if (no_args(argc, argv) != 0)
		return CTL_EXIT_USAGE;
	if ((st = open_ro(conf)) == NULL)
		return CTL_EXIT_DOWN;
	printf("%-16s %-24s %-12s %-16s %10s %8s %10s %-20s %s\n", "DEVICE", "GLOBAL_ID", "STATUS",
	    "SOURCE_IP", "HEARTBEATS", "CONNECTS", "EVENTS", "LAST_SEEN", "REASON");
	e = store_devices_iter(st, print_device, &n);
	if (e == STORE_OK && n == 0)
		printf("(no devices)\n");
	return done(st, e, "devices");
}
