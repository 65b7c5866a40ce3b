/*
 * carnitrackctl sessions | batches | events [--invalid] | devices: read the LMDB store
 * directly, read-only (MDB_RDONLY: works while the daemon's store worker
 * writes), and print one table each, or with --json one JSON document
 * (ctl_json.c). Short read transactions; nothing here can change the store.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cloudmsg/cloudmsg.h"
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

/* Ends a listing: the JSON document is closed (with "error" when the store
 * failed part way), and a failed write to stdout is an error too. */
static int
done(struct store *st, struct ctl_out *o, int e, const char *what)
{
	char err[700];
	int rc = CTL_EXIT_OK;

	if (e != STORE_OK) {
		snprintf(err, sizeof(err), "%s: %s", what, store_errmsg(st));
		fprintf(stderr, "carnitrackctl: %s\n", err);
		rc = CTL_EXIT_DOWN;
	}
	if (o->json) {
		ctl_json_end(o, e != STORE_OK ? err : NULL);
		if (o->failed)
			rc = CTL_EXIT_DOWN;
	}
	store_close(st);
	if (fflush(stdout) != 0 || ferror(stdout)) {
		fprintf(stderr, "carnitrackctl: %s: writing the output failed\n", what);
		rc = CTL_EXIT_DOWN;
	}
	return rc;
}

/* The commands that take nothing but --json. */
static int
json_only_args(int argc, char **argv, struct ctl_out *o)
{
	memset(o, 0, sizeof(*o));
	for (int a = 1; a < argc; a++) {
		if (strcmp(argv[a], "--json") != 0) {
			fprintf(stderr, "usage: carnitrackctl %s [--json]\n", argv[0]);
			return -1;
		}
		o->json = true;
	}
	return 0;
}

/* ---- sessions ---- */

static json_t *
session_json(const struct store_session *s)
{
	return json_pack("{s:o, s:o, s:s, s:o, s:o, s:o, s:o, s:o, s:o, s:o}",
	    "device_id", cm_jstr(s->device_id),
	    "cloud_session_id", cm_jstr_or_null(s->cloud_session_id),
	    "status", store_session_status_name(s->status),
	    "animal_id", cm_jstr_or_null(s->animal_id),
	    "animal_tag", cm_jstr_or_null(s->animal_tag),
	    "animal_species", cm_jstr_or_null(s->animal_species),
	    "operator_id", cm_jstr_or_null(s->operator_id),
	    "reason", cm_jstr_or_null(s->reason),
	    "started_at", ctl_jtime_ms(s->started_at_ms),
	    "updated_at", ctl_jtime_ms(s->updated_at_ms));
}

static int
print_session(const struct store_session *s, void *arg)
{
	struct ctl_out *o = arg;
	char t[CT_ISO_MAX];

	if (o->json) {
		ctl_json_item(o, session_json(s));
		return 0;
	}
	fmt_time(s->updated_at_ms, t);
	printf("%-16s %-36s %-8s %-12s %-10s %-36s %s\n", s->device_id,
	    s->cloud_session_id[0] ? s->cloud_session_id : "-",
	    store_session_status_name(s->status), s->animal_tag[0] ? s->animal_tag : "-",
	    s->animal_species[0] ? s->animal_species : "-",
	    s->operator_id[0] ? s->operator_id : "-", t);
	o->n++;
	return 0;
}

int
ctl_cmd_sessions(const struct ct_conf *conf, int argc, char **argv)
{
	struct store *st;
	struct ctl_out o;
	int e;

	if (json_only_args(argc, argv, &o) != 0)
		return CTL_EXIT_USAGE;
	if ((st = open_ro(conf)) == NULL)
		return CTL_EXIT_DOWN;
	if (o.json)
		ctl_json_begin(&o, "sessions", NULL);
	else
		printf("%-16s %-36s %-8s %-12s %-10s %-36s %s\n", "DEVICE", "SESSION", "STATUS",
		    "ANIMAL TAG", "SPECIES", "OPERATOR", "UPDATED");
	e = store_sessions_iter(st, print_session, &o);
	if (e == STORE_OK && o.n == 0 && !o.json)
		printf("(no sessions)\n");
	return done(st, &o, e, "sessions");
}

/* ---- batches ---- */

static json_t *
batch_json(const struct store_batch *b)
{
	return json_pack("{s:o, s:o, s:s, s:I, s:I, s:I, s:o, s:o, s:o, s:b, s:b, s:b}",
	    "batch_id", ctl_juuid(b->id),
	    "device_id", cm_jstr(b->device_id),
	    "state", store_batch_state_name(b->state),
	    "event_count", (json_int_t)b->event_count,
	    "unacked", (json_int_t)b->unacked,
	    "total_weight_g", (json_int_t)b->total_weight_g,
	    "started_at", ctl_jtime_ms(b->started_at_ms),
	    "ended_at", ctl_jtime_ms(b->ended_at_ms),
	    "done_at", ctl_jtime_ms(b->done_at_ms),
	    "start_reported", (b->reported & CT_BATCH_START_SENT) != 0,
	    "end_reported", (b->reported & CT_BATCH_END_SENT) != 0,
	    "clock_adjusted", b->clock != 0);
}

static int
print_batch(const struct store_batch *b, void *arg)
{
	struct ctl_out *o = arg;
	char id[CT_UUID_STR], t0[CT_ISO_MAX], t1[CT_ISO_MAX];

	if (o->json) {
		ctl_json_item(o, batch_json(b));
		return 0;
	}
	ct_uuid_fmt(b->id, id);
	fmt_time(b->started_at_ms, t0);
	fmt_time(b->ended_at_ms, t1);
	printf("%-36s %-16s %-6s %7u %7u %12lld %-20s %-20s %s%s%s\n", id, b->device_id,
	    store_batch_state_name(b->state), b->event_count, b->unacked,
	    (long long)b->total_weight_g, t0, t1,
	    b->reported & CT_BATCH_START_SENT ? "start" : "-",
	    b->reported & CT_BATCH_END_SENT ? ",end" : "",
	    b->clock != 0 ? "  (clock adjusted)" : "");
	o->n++;
	return 0;
}

int
ctl_cmd_batches(const struct ct_conf *conf, int argc, char **argv)
{
	struct store *st;
	struct ctl_out o;
	int e;

	if (json_only_args(argc, argv, &o) != 0)
		return CTL_EXIT_USAGE;
	if ((st = open_ro(conf)) == NULL)
		return CTL_EXIT_DOWN;
	if (o.json)
		ctl_json_begin(&o, "batches", NULL);
	else
		printf("%-36s %-16s %-6s %7s %7s %12s %-20s %-20s %s\n", "BATCH", "DEVICE", "STATE",
		    "EVENTS", "UNACKED", "WEIGHT_G", "STARTED", "ENDED", "REPORTED");
	e = store_batches_iter(st, print_batch, &o);
	if (e == STORE_OK && o.n == 0 && !o.json)
		printf("(no batches)\n");
	return done(st, &o, e, "batches");
}

/* ---- events ---- */

/* Listing state: events go out in chunks, each its own short read txn, so
 * a slow terminal or pager never pins old pages of a running store. */
#define EVENTS_CHUNK 500
struct ev_list {
	struct ctl_out *out;
	int      n;           /* printed in this chunk */
	uint64_t last_seq;
};

static json_t *
event_json(const struct ct_event *ev, const struct store_sync *sy)
{
	char t[CT_ISO_MAX];
	json_t *o;

	ct_iso_from_sec(ev->scale_ts, t);
	o = json_pack("{s:I, s:o, s:o, s:o, s:o, s:s, s:o, s:o, s:o, s:o, s:o, s:I, s:I, s:I,"
	    " s:b, s:o, s:o, s:s, s:I, s:o, s:o, s:o}",
	    "seq", (json_int_t)ev->seq,
	    "local_event_id", ctl_juuid(ev->local_id),
	    "device_id", cm_jstr(ev->device_id),
	    "source_ip", cm_jstr_or_null(ev->source_ip),
	    "received_at", ctl_jtime_ms(ev->received_at_ms),
	    "scale_time", t,
	    "plu", cm_jstr_or_null(ev->plu),
	    "product", cm_jstr_or_null(ev->product),
	    "barcode", cm_jstr_or_null(ev->barcode),
	    "operator", cm_jstr_or_null(ev->operator_name),
	    "company", cm_jstr_or_null(ev->company),
	    "gross_g", (json_int_t)ev->gross_g,
	    "tare_g", (json_int_t)ev->tare_g,
	    "net_g", (json_int_t)ev->net_g,
	    "offline", ev->offline,
	    "cloud_session_id", cm_jstr_or_null(ev->cloud_session_id),
	    "offline_batch_id", ctl_juuid(ev->offline_batch_id),
	    "sync", store_sync_name(sy->status),
	    "sync_attempts", (json_int_t)sy->attempts,
	    "sync_updated_at", ctl_jtime_ms(sy->updated_at_ms),
	    "cloud_event_id", cm_jstr_or_null(sy->cloud_event_id),
	    "sync_reason", cm_jstr_or_null(sy->reason));
	/* the scale's clock was off: scale_time is the edge's receive time */
	if (o != NULL && (ev->edge_flags & CT_EVF_SCALE_TS_INVALID)) {
		char raw[2 * CT_TS_RAW_MAX + 2];

		snprintf(raw, sizeof(raw), "%s %s", ev->scale_time_raw, ev->scale_date_raw);
		json_object_set_new(o, "scale_time_invalid", json_true());
		json_object_set_new(o, "scale_time_raw", cm_jstr(raw));
	}
	return o;
}

static int
print_event(const struct ct_event *ev, const struct store_sync *sy, void *arg)
{
	struct ev_list *l = arg;
	char id[CT_UUID_STR], tag[CT_UUID_STR + 8], t[CT_ISO_MAX];

	l->n++;
	l->last_seq = ev->seq;
	if (l->out->json) {
		ctl_json_item(l->out, event_json(ev, sy));
		return 0;
	}
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
	printf("%10llu %-36s %-16s %-5s %9lld %-20s %-36s %s%s%s",
	    (unsigned long long)ev->seq, id, ev->device_id, ev->plu[0] ? ev->plu : "-",
	    (long long)ev->net_g, t, tag, store_sync_name(sy->status),
	    sy->status == SYNC_REJECTED ? ": " : "", sy->status == SYNC_REJECTED ? sy->reason : "");
	/* the time shown is the edge's: say what the scale said */
	if (ev->edge_flags & CT_EVF_SCALE_TS_INVALID)
		printf("  (invalid scale time \"%s %s\")", ev->scale_time_raw, ev->scale_date_raw);
	printf("\n");
	return 0;
}

/* Newest first (all events) or oldest first (the backlog, in sending order),
 * at most limit (0 = all). */
static int
list_events(struct store *st, struct ctl_out *out, bool pending, long limit, long *total)
{
	uint64_t from = 0;          /* reverse from 0 = from the newest */
	int e;

	*total = 0;
	for (;;) {
		struct ev_list l = { out, 0, 0 };
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

#define EVENTS_USAGE "usage: carnitrackctl events [--pending | --invalid] [--limit N] [--json]\n"

/* ---- events --invalid: quarantined lines ---- */

/* The kept bytes as one line: printable ASCII as is, the rest \xNN. */
static void
print_raw(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (p[i] >= 0x20 && p[i] < 0x7f && p[i] != '\\')
			putchar(p[i]);
		else
			printf("\\x%02x", p[i]);
	}
}

static json_t *
quarantined_json(const struct ct_event *ev)
{
	char raw[4 * CT_RAW_MAX + 1];
	size_t o = 0;

	/* the bytes as text: Windows-1254 is not UTF-8, so \xNN as printed */
	for (size_t i = 0; i < ev->raw_len && o + 5 < sizeof(raw); i++) {
		uint8_t c = ev->raw[i];
		if (c >= 0x20 && c < 0x7f && c != '\\')
			raw[o++] = (char)c;
		else
			o += (size_t)snprintf(raw + o, sizeof(raw) - o, "\\x%02x", c);
	}
	raw[o] = '\0';
	return json_pack("{s:o, s:o, s:o, s:o, s:I, s:o, s:s, s:b}",
	    "local_event_id", ctl_juuid(ev->local_id),
	    "device_id", cm_jstr(ev->device_id),
	    "source_ip", cm_jstr_or_null(ev->source_ip),
	    "received_at", ctl_jtime_ms(ev->received_at_ms),
	    "line_bytes", (json_int_t)ev->line_len,
	    "reason", cm_jstr(ev->reason),
	    "raw", raw,
	    "raw_cut", ev->raw_len < ev->line_len);
}

static int
print_quarantined(const struct ct_event *ev, const struct store_sync *sy, void *arg)
{
	struct ev_list *l = arg;
	char t[CT_ISO_MAX];

	(void)sy;
	l->n++;
	if (l->out->json) {
		ctl_json_item(l->out, quarantined_json(ev));
		return 0;
	}
	ct_iso_from_ms(ev->received_at_ms, t);
	printf("%-24s %-16s %-15s %6u  %s\n    ", t, ev->device_id,
	    ev->source_ip[0] ? ev->source_ip : "-", ev->line_len, ev->reason);
	print_raw(ev->raw, ev->raw_len);
	printf("%s\n", ev->raw_len < ev->line_len ? " ..." : "");
	return 0;
}

static int
list_quarantined(struct store *st, struct ctl_out *out, long limit, long *total)
{
	struct store_qpos pos;
	int e;

	memset(&pos, 0, sizeof(pos));
	*total = 0;
	for (;;) {
		struct ev_list l = { out, 0, 0 };
		unsigned want = EVENTS_CHUNK;

		if (limit > 0 && limit - *total < (long)want)
			want = (unsigned)(limit - *total);
		if (want == 0)
			return STORE_OK;
		if ((e = store_quarantine_iter(st, &pos, want, print_quarantined, &l)) != STORE_OK)
			return e;
		*total += l.n;
		if ((unsigned)l.n < want)
			return STORE_OK;
	}
}

int
ctl_cmd_events(const struct ct_conf *conf, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "pending", no_argument, NULL, 'p' },
		{ "invalid", no_argument, NULL, 'i' },
		{ "limit", required_argument, NULL, 'n' },
		{ "json", no_argument, NULL, 'j' },
		{ NULL, 0, NULL, 0 },
	};
	bool pending = false, invalid = false;
	long limit = 20, n = 0;
	char *end;
	struct store *st;
	struct ctl_out o;
	int ch, e;

	memset(&o, 0, sizeof(o));
	optind = 1;
	while ((ch = getopt_long(argc, argv, "pin:", longopts, NULL)) != -1) {
		switch (ch) {
		case 'p':
			pending = true;
			break;
		case 'i':
			invalid = true;
			break;
		case 'j':
			o.json = true;
			break;
		case 'n':
			limit = strtol(optarg, &end, 10);
			if (*optarg == '\0' || *end != '\0' || limit < 0 || limit > 1000000) {
				fprintf(stderr, "carnitrackctl: --limit wants 0..1000000 (0 = all),"
				    " not '%s'\n", optarg);
				return CTL_EXIT_USAGE;
			}
			break;
		default:
			fprintf(stderr, EVENTS_USAGE);
			return CTL_EXIT_USAGE;
		}
	}
	if (optind < argc || (pending && invalid)) {
		fprintf(stderr, EVENTS_USAGE);
		return CTL_EXIT_USAGE;
	}
	if ((st = open_ro(conf)) == NULL)
		return CTL_EXIT_DOWN;
	if (invalid) {
		if (o.json)
			ctl_json_begin(&o, "quarantined", json_pack("{s:I, s:s}", "limit",
			    (json_int_t)limit, "order", "newest_first"));
		else
			printf("%-24s %-16s %-15s %6s  %s\n", "RECEIVED", "DEVICE", "SOURCE_IP",
			    "BYTES", "REASON (then the bytes kept)");
		e = list_quarantined(st, &o, limit, &n);
		if (e == STORE_OK && n == 0 && !o.json)
			printf("(no quarantined lines)\n");
		return done(st, &o, e, "events --invalid");
	}
	if (o.json)
		ctl_json_begin(&o, "events", json_pack("{s:b, s:I, s:s}", "pending_only", pending,
		    "limit", (json_int_t)limit,
		    "order", pending ? "oldest_first" : "newest_first"));
	else
		printf("%10s %-36s %-16s %-5s %9s %-20s %-36s %s\n", "SEQ", "LOCAL_EVENT_ID",
		    "DEVICE", "PLU", "NET_G", "SCALE_TIME", "SESSION/BATCH", "SYNC");
	e = list_events(st, &o, pending, limit, &n);
	if (e == STORE_OK && n == 0 && !o.json)
		printf("(no %sevents)\n", pending ? "pending " : "");
	return done(st, &o, e, "events");
}

/* ---- devices ---- */

static json_t *
device_json(const struct store_device *d)
{
	return json_pack("{s:o, s:o, s:s, s:o, s:o, s:I, s:I, s:I, s:o, s:o, s:o, s:o, s:o}",
	    "device_id", cm_jstr(d->device_id),
	    "global_device_id", cm_jstr_or_null(d->global_device_id),
	    "status", store_dev_status_name(d->status),
	    "source_ip", cm_jstr_or_null(d->source_ip),
	    "device_type", cm_jstr_or_null(d->device_type),
	    "heartbeats", (json_int_t)d->heartbeats,
	    "connects", (json_int_t)d->connects,
	    "events", (json_int_t)d->events,
	    "first_seen", ctl_jtime_ms(d->first_seen_ms),
	    "last_seen", ctl_jtime_ms(d->last_seen_ms),
	    "connected_at", ctl_jtime_ms(d->connected_at_ms),
	    "disconnected_at", ctl_jtime_ms(d->disconnected_at_ms),
	    "reason", cm_jstr_or_null(d->reason));
}

static int
print_device(const struct store_device *d, void *arg)
{
	struct ctl_out *o = arg;
	char t[CT_ISO_MAX];

	if (o->json) {
		ctl_json_item(o, device_json(d));
		return 0;
	}
	fmt_time(d->last_seen_ms, t);
	printf("%-16s %-24s %-12s %-16s %10u %8u %10llu %-20s %s\n", d->device_id,
	    d->global_device_id, store_dev_status_name(d->status),
	    d->source_ip[0] ? d->source_ip : "-", d->heartbeats, d->connects,
	    (unsigned long long)d->events, t, d->reason[0] ? d->reason : "-");
	o->n++;
	return 0;
}

int
ctl_cmd_devices(const struct ct_conf *conf, int argc, char **argv)
{
	struct store *st;
	struct ctl_out o;
	int e;

	if (json_only_args(argc, argv, &o) != 0)
		return CTL_EXIT_USAGE;
	if ((st = open_ro(conf)) == NULL)
		return CTL_EXIT_DOWN;
	if (o.json)
		ctl_json_begin(&o, "devices", NULL);
	else
		printf("%-16s %-24s %-12s %-16s %10s %8s %10s %-20s %s\n", "DEVICE",
		    "GLOBAL_ID", "STATUS", "SOURCE_IP", "HEARTBEATS", "CONNECTS", "EVENTS",
		    "LAST_SEEN", "REASON");
	e = store_devices_iter(st, print_device, &o);
	if (e == STORE_OK && o.n == 0 && !o.json)
		printf("(no devices)\n");
	return done(st, &o, e, "devices");
}
