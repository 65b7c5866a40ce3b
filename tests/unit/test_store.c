/*
 * lib/store on a temporary environment: tagging, batches, dedupe, sync
 * state, retention, capacity, schema versions, reopen.
 */
#include <check.h>
#include <lmdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "event/event_codec.h"
#include "store/store.h"

#define T0 1785000000000LL       /* a fixed "now", ms */
#define MIN (60 * 1000LL)

static char dir[256];
static struct store *st;

static void
rm_tree(void)
{
	char cmd[300];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "cleanup of %s failed\n", dir);
}

static struct store *
open_store(uint64_t map_size, int64_t expiry_ms)
{
	struct store_opts o = { .map_size = map_size, .session_expiry_ms = expiry_ms,
	    .site_id = "SITE01" };
	struct store *s = NULL;
	char err[512];
	int e = store_open(&s, dir, &o, err, sizeof(err));

	ck_assert_msg(e == STORE_OK, "store_open: %s", err);
	return s;
}

static void
setup(void)
{
	snprintf(dir, sizeof(dir), "/tmp/test_store.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	st = open_store(0, 0);
}

static void
teardown(void)
{
	store_close(st);
	st = NULL;
	rm_tree();
}

static struct ct_event
mkev(const char *dev, int64_t net_g, int64_t at_ms)
{
	struct ct_event ev;
	static const char raw[] = "00001 KIYMA 1.500";

	memset(&ev, 0, sizeof(ev));
	ck_assert_int_eq(ct_uuid_new(ev.local_id), 0);
	snprintf(ev.device_id, sizeof(ev.device_id), "%s", dev);
	snprintf(ev.source_ip, sizeof(ev.source_ip), "10.0.0.7");
	ev.received_at_ms = at_ms;
	ev.scale_ts = at_ms / 1000;
	snprintf(ev.plu, sizeof(ev.plu), "00001");
	snprintf(ev.product, sizeof(ev.product), "KIYMA");
	snprintf(ev.operator_name, sizeof(ev.operator_name), "Ayşe");
	ev.gross_g = net_g + 100;
	ev.tare_g = 100;
	ev.net_g = net_g;
	ev.net_raw = net_g;
	ev.raw_len = sizeof(raw) - 1;
	memcpy(ev.raw, raw, ev.raw_len);
	return ev;
}

/* One event in its own transaction; returns its seq. */
static uint64_t
put1(struct ct_event *ev, bool online, int64_t now)
{
	bool dup;

	ck_assert_int_eq(store_begin(st, now), STORE_OK);
	ck_assert_msg(store_put_event(st, ev, online, &dup) == STORE_OK, "%s", store_errmsg(st));
	ck_assert_int_eq(store_commit(st), STORE_OK);
	return ev->seq;
}

static void
session(enum ct_session_change kind, const char *dev, const char *sid, int64_t now)
{
	struct store_session_msg m;

	memset(&m, 0, sizeof(m));
	m.kind = kind;
	snprintf(m.device_id, sizeof(m.device_id), "%s", dev);
	snprintf(m.cloud_session_id, sizeof(m.cloud_session_id), "%s", sid);
	snprintf(m.animal_tag, sizeof(m.animal_tag), "A-123");
	ck_assert_int_eq(store_begin(st, now), STORE_OK);
	store_session_apply(st, &m);
	ck_assert_int_eq(store_commit(st), STORE_OK);
}

static void
ack(const struct ct_event *ev, int64_t now)
{
	ck_assert_int_eq(store_begin(st, now), STORE_OK);
	ck_assert_int_eq(store_ack(st, ev->local_id, CT_ACK_ACCEPTED, "cloud-1"), STORE_OK);
	ck_assert_int_eq(store_commit(st), STORE_OK);
}

static struct ct_event
stored(uint64_t seq, struct store_sync *sy)
{
	struct ct_event ev;

	ck_assert_int_eq(store_event_get(st, seq, &ev, sy), STORE_OK);
	return ev;
}

START_TEST(test_event_record_round_trip)
{
	struct ct_event ev = mkev("SCALE-01", 1500, T0), got;
	struct store_sync sy;

	session(CT_SESS_STARTED, "SCALE-01", "sess-1", T0);
	put1(&ev, true, T0);
	ck_assert_int_eq(store_event_get_by_id(st, ev.local_id, &got, &sy), STORE_OK);
	ck_assert_mem_eq(got.local_id, ev.local_id, CT_UUID_LEN);
	ck_assert_str_eq(got.device_id, "SCALE-01");
	ck_assert_str_eq(got.operator_name, "Ayşe");
	ck_assert_int_eq(got.net_g, 1500);
	ck_assert_int_eq(got.gross_g, 1600);
	ck_assert_int_eq(got.raw_len, ev.raw_len);
	ck_assert_mem_eq(got.raw, ev.raw, ev.raw_len);
	ck_assert_uint_eq(got.seq, ev.seq);
	ck_assert_str_eq(got.cloud_session_id, "sess-1");
	ck_assert(!got.offline);
	ck_assert_int_eq(sy.status, SYNC_PENDING);
}
END_TEST

START_TEST(test_sequences_are_consecutive)
{
	struct ct_event a = mkev("SCALE-01", 1, T0), b = mkev("SCALE-01", 2, T0);
	bool dup;

	ck_assert_int_eq(store_begin(st, T0), STORE_OK);
	ck_assert_int_eq(store_put_event(st, &a, true, &dup), STORE_OK);
	ck_assert_int_eq(store_put_event(st, &b, true, &dup), STORE_OK);
	ck_assert_int_eq(store_commit(st), STORE_OK);
	ck_assert_uint_eq(a.seq, 1);
	ck_assert_uint_eq(b.seq, 2);
}
END_TEST

START_TEST(test_online_without_session_is_untagged)
{
	struct ct_event ev = mkev("SCALE-01", 1500, T0);

	ev = stored(put1(&ev, true, T0), NULL);
	ck_assert_str_eq(ev.cloud_session_id, "");
	ck_assert(!ev.offline);
	ck_assert(ct_uuid_is_nil(ev.offline_batch_id));
}
END_TEST

START_TEST(test_online_tags_the_scales_own_session)
{
	struct ct_event a = mkev("SCALE-01", 1500, T0), b = mkev("SCALE-02", 700, T0);

	session(CT_SESS_STARTED, "SCALE-01", "sess-1", T0);
	a = stored(put1(&a, true, T0), NULL);
	b = stored(put1(&b, true, T0), NULL);
	ck_assert_str_eq(a.cloud_session_id, "sess-1");
	ck_assert_str_eq(b.cloud_session_id, "");
}
END_TEST

START_TEST(test_new_session_replaces_current)
{
	struct ct_event ev = mkev("SCALE-01", 1500, T0);

	session(CT_SESS_STARTED, "SCALE-01", "sess-1", T0);
	session(CT_SESS_STARTED, "SCALE-01", "sess-2", T0);
	ev = stored(put1(&ev, true, T0), NULL);
	ck_assert_str_eq(ev.cloud_session_id, "sess-2");
}
END_TEST

START_TEST(test_paused_session_does_not_tag_and_resume_does)
{
	struct ct_event a = mkev("SCALE-01", 1, T0), b = mkev("SCALE-01", 2, T0);
	struct store_session s;

	session(CT_SESS_STARTED, "SCALE-01", "sess-1", T0);
	session(CT_SESS_PAUSED, "SCALE-01", "sess-1", T0);
	ck_assert_int_eq(store_session_get(st, "SCALE-01", &s), STORE_OK);
	ck_assert_int_eq(s.status, SESS_PAUSED);
	a = stored(put1(&a, true, T0), NULL);
	ck_assert_str_eq(a.cloud_session_id, "");
	session(CT_SESS_RESUMED, "SCALE-01", "sess-1", T0);
	b = stored(put1(&b, true, T0), NULL);
	ck_assert_str_eq(b.cloud_session_id, "sess-1");
}
END_TEST

START_TEST(test_ended_session_stops_tagging_at_once)
{
	struct ct_event a = mkev("SCALE-01", 1, T0), b = mkev("SCALE-01", 2, T0);
	struct store_session s;

	session(CT_SESS_STARTED, "SCALE-01", "sess-1", T0);
	a = stored(put1(&a, true, T0), NULL);
	session(CT_SESS_ENDED, "SCALE-01", "sess-1", T0);
	b = stored(put1(&b, true, T0), NULL);
	ck_assert_str_eq(a.cloud_session_id, "sess-1");
	ck_assert_str_eq(b.cloud_session_id, "");
	ck_assert_int_eq(store_session_get(st, "SCALE-01", &s), STORE_OK);
	ck_assert_int_eq(s.status, SESS_ENDED);
	/* an old event of the ended session is still acknowledged normally */
	ack(&a, T0);
}
END_TEST

START_TEST(test_late_end_of_old_session_keeps_new_one)
{
	struct ct_event ev = mkev("SCALE-01", 1, T0);
	struct store_session_msg m = { .kind = CT_SESS_ENDED };

	session(CT_SESS_STARTED, "SCALE-01", "sess-1", T0);
	session(CT_SESS_STARTED, "SCALE-01", "sess-2", T0);
	snprintf(m.device_id, sizeof(m.device_id), "SCALE-01");
	snprintf(m.cloud_session_id, sizeof(m.cloud_session_id), "sess-1");
	ck_assert_int_eq(store_begin(st, T0), STORE_OK);
	ck_assert_int_eq(store_session_apply(st, &m), STORE_NOTFOUND);
	ck_assert_int_eq(store_commit(st), STORE_OK);
	ev = stored(put1(&ev, true, T0), NULL);
	ck_assert_str_eq(ev.cloud_session_id, "sess-2");
}
END_TEST

/* Clouds that name only the session in pause/resume/end (issue 12). */
START_TEST(test_session_found_by_id_without_device)
{
	struct ct_event ev = mkev("SCALE-02", 1, T0);
	struct store_session s;

	session(CT_SESS_STARTED, "SCALE-01", "sess-1", T0);
	session(CT_SESS_STARTED, "SCALE-02", "sess-2", T0);
	session(CT_SESS_PAUSED, "", "sess-2", T0);
	ck_assert_int_eq(store_session_get(st, "SCALE-02", &s), STORE_OK);
	ck_assert_int_eq(s.status, SESS_PAUSED);
	ck_assert_int_eq(store_session_get(st, "SCALE-01", &s), STORE_OK);
	ck_assert_int_eq(s.status, SESS_ACTIVE);
	ev = stored(put1(&ev, true, T0), NULL);
	ck_assert_str_eq(ev.cloud_session_id, "");           /* paused: no tag */
	session(CT_SESS_RESUMED, "", "sess-2", T0);
	ev = mkev("SCALE-02", 2, T0);
	ev = stored(put1(&ev, true, T0), NULL);
	ck_assert_str_eq(ev.cloud_session_id, "sess-2");
	session(CT_SESS_ENDED, "", "sess-2", T0);
	ck_assert_int_eq(store_session_get(st, "SCALE-02", &s), STORE_OK);
	ck_assert_int_eq(s.status, SESS_ENDED);
}
END_TEST

START_TEST(test_session_by_unknown_id_is_notfound)
{
	struct store_session_msg m = { .kind = CT_SESS_ENDED };

	session(CT_SESS_STARTED, "SCALE-01", "sess-1", T0);
	snprintf(m.cloud_session_id, sizeof(m.cloud_session_id), "sess-9");
	ck_assert_int_eq(store_begin(st, T0), STORE_OK);
	ck_assert_int_eq(store_session_apply(st, &m), STORE_NOTFOUND);
	ck_assert_int_eq(store_commit(st), STORE_OK);
	/* an ended session is not found by its id either: it is not current */
	session(CT_SESS_ENDED, "SCALE-01", "sess-1", T0);
	snprintf(m.cloud_session_id, sizeof(m.cloud_session_id), "sess-1");
	m.kind = CT_SESS_RESUMED;
	ck_assert_int_eq(store_begin(st, T0), STORE_OK);
	ck_assert_int_eq(store_session_apply(st, &m), STORE_NOTFOUND);
	ck_assert_int_eq(store_commit(st), STORE_OK);
}
END_TEST

START_TEST(test_session_started_paused_does_not_tag)
{
	struct ct_event ev = mkev("SCALE-01", 1, T0);
	struct store_session_msg m = { .kind = CT_SESS_STARTED, .start_status = SESS_PAUSED };

	snprintf(m.device_id, sizeof(m.device_id), "SCALE-01");
	snprintf(m.cloud_session_id, sizeof(m.cloud_session_id), "sess-p");
	ck_assert_int_eq(store_begin(st, T0), STORE_OK);
	ck_assert_int_eq(store_session_apply(st, &m), STORE_OK);
	ck_assert_int_eq(store_commit(st), STORE_OK);
	ev = stored(put1(&ev, true, T0), NULL);
	ck_assert_str_eq(ev.cloud_session_id, "");
	session(CT_SESS_RESUMED, "SCALE-01", "sess-p", T0);
	ev = mkev("SCALE-01", 2, T0);
	ev = stored(put1(&ev, true, T0), NULL);
	ck_assert_str_eq(ev.cloud_session_id, "sess-p");
}
END_TEST

START_TEST(test_identity_source_kept_and_cleared)
{
	struct store_identity id;

	ck_assert_int_eq(store_begin(st, T0), STORE_OK);
	ck_assert_int_eq(store_identity_put(st, "edge-1", "SITE01", "Ankara"), STORE_OK);
	ck_assert_int_eq(store_identity_source_put(st, "config_update"), STORE_OK);
	ck_assert_int_eq(store_commit(st), STORE_OK);
	ck_assert_int_eq(store_identity_get(st, &id), STORE_OK);
	ck_assert_str_eq(id.source, "config_update");
	/* a reset: nothing left but the word of who cleared it */
	ck_assert_int_eq(store_begin(st, T0), STORE_OK);
	ck_assert_int_eq(store_identity_put(st, "", "", ""), STORE_OK);
	ck_assert_int_eq(store_identity_source_put(st, "reset by carnitrackctl"), STORE_OK);
	ck_assert_int_eq(store_commit(st), STORE_OK);
	ck_assert_int_eq(store_identity_get(st, &id), STORE_NOTFOUND);
	ck_assert_str_eq(id.edge_id, "");
	ck_assert_str_eq(id.source, "reset by carnitrackctl");
}
END_TEST

START_TEST(test_idle_session_expires_visibly)
{
	struct ct_event ev = mkev("SCALE-01", 1, T0 + 10 * MIN);
	struct store_session s;
	unsigned n;

	store_close(st);
	st = open_store(0, 5 * MIN);
	session(CT_SESS_STARTED, "SCALE-01", "sess-1", T0);
	ck_assert_int_eq(store_begin(st, T0 + 10 * MIN), STORE_OK);
	ck_assert_int_eq(store_sessions_expire(st, &n), STORE_OK);
	ck_assert_int_eq(store_commit(st), STORE_OK);
	ck_assert_uint_eq(n, 1);
	ck_assert_int_eq(store_session_get(st, "SCALE-01", &s), STORE_OK);
	ck_assert_str_eq(store_session_status_name(s.status), "expired");
	ev = stored(put1(&ev, true, T0 + 10 * MIN), NULL);
	ck_assert_str_eq(ev.cloud_session_id, "");
}
END_TEST

START_TEST(test_tagging_counts_as_session_activity)
{
	struct ct_event a = mkev("SCALE-01", 1, T0 + 4 * MIN), b = mkev("SCALE-01", 2, T0 + 8 * MIN);

	store_close(st);
	st = open_store(0, 5 * MIN);
	session(CT_SESS_STARTED, "SCALE-01", "sess-1", T0);
	a = stored(put1(&a, true, T0 + 4 * MIN), NULL);
	b = stored(put1(&b, true, T0 + 8 * MIN), NULL);
	ck_assert_str_eq(b.cloud_session_id, "sess-1");
}
END_TEST

START_TEST(test_offline_event_goes_to_scale_batch_not_session)
{
	struct ct_event ev = mkev("SCALE-01", 1500, T0);
	struct store_batch b;

	session(CT_SESS_STARTED, "SCALE-01", "sess-1", T0);
	ev = stored(put1(&ev, false, T0), NULL);
	ck_assert(ev.offline);
	ck_assert_str_eq(ev.cloud_session_id, "");
	ck_assert(!ct_uuid_is_nil(ev.offline_batch_id));
	ck_assert_int_eq(store_batch_get(st, ev.offline_batch_id, &b), STORE_OK);
	ck_assert_str_eq(b.device_id, "SCALE-01");
	ck_assert_int_eq(b.started_at_ms, T0);
	ck_assert_int_eq(b.state, BATCH_OPEN);
}
END_TEST

struct batch_tally { int n; struct store_batch b[8]; };

static int
collect_batch(const struct store_batch *b, void *arg)
{
	struct batch_tally *t = arg;

	if (t->n < 8)
		t->b[t->n++] = *b;
	return 0;
}

START_TEST(test_two_scales_offline_get_two_batches_with_exact_counts)
{
	struct batch_tally t = { 0 };
	struct ct_event ev;
	bool dup;
	int i;

	ck_assert_int_eq(store_begin(st, T0), STORE_OK);
	for (i = 0; i < 5; i++) {
		ev = mkev("SCALE-01", 1000 + i, T0);
		ck_assert_int_eq(store_put_event(st, &ev, false, &dup), STORE_OK);
	}
	for (i = 0; i < 3; i++) {
		ev = mkev("SCALE-02", 200, T0);
		ck_assert_int_eq(store_put_event(st, &ev, false, &dup), STORE_OK);
	}
	ck_assert_int_eq(store_commit(st), STORE_OK);
	ev = mkev("SCALE-01", 7, T0);
	put1(&ev, false, T0);       /* a later txn joins the same open batch */

	ck_assert_int_eq(store_batches_iter(st, collect_batch, &t), STORE_OK);
	ck_assert_int_eq(t.n, 2);
	for (i = 0; i < 2; i++) {
		if (strcmp(t.b[i].device_id, "SCALE-01") == 0) {
			ck_assert_uint_eq(t.b[i].event_count, 6);
			ck_assert_int_eq(t.b[i].total_weight_g, 1000 + 1001 + 1002 + 1003 + 1004 + 7);
		} else {
			ck_assert_str_eq(t.b[i].device_id, "SCALE-02");
			ck_assert_uint_eq(t.b[i].event_count, 3);
			ck_assert_int_eq(t.b[i].total_weight_g, 600);
		}
	}
}
END_TEST

START_TEST(test_link_up_closes_open_batches_and_next_outage_opens_new)
{
	struct batch_tally t = { 0 }, all = { 0 };
	struct ct_event a = mkev("SCALE-01", 1, T0), b = mkev("SCALE-02", 2, T0);
	struct ct_event c = mkev("SCALE-01", 3, T0 + MIN);
	unsigned n;

	put1(&a, false, T0);
	put1(&b, false, T0);
	ck_assert_int_eq(store_begin(st, T0 + MIN), STORE_OK);
	ck_assert_int_eq(store_close_open_batches(st, collect_batch, &t, &n), STORE_OK);
	ck_assert_int_eq(store_commit(st), STORE_OK);
	ck_assert_uint_eq(n, 2);
	ck_assert_int_eq(t.n, 2);
	ck_assert_int_eq(t.b[0].state, BATCH_CLOSED);
	ck_assert_int_eq(t.b[0].ended_at_ms, T0 + MIN);

	put1(&c, false, T0 + MIN);
	ck_assert_mem_ne(c.offline_batch_id, a.offline_batch_id, CT_UUID_LEN);
	ck_assert_int_eq(store_batches_iter(st, collect_batch, &all), STORE_OK);
	ck_assert_int_eq(all.n, 3);
}
END_TEST

START_TEST(test_batch_done_when_end_reported_and_all_acked)
{
	struct ct_event a = mkev("SCALE-01", 1, T0), b = mkev("SCALE-01", 2, T0);
	struct store_batch bt;
	unsigned n;

	put1(&a, false, T0);
	put1(&b, false, T0);
	ck_assert_int_eq(store_begin(st, T0), STORE_OK);
	ck_assert_int_eq(store_close_open_batches(st, NULL, NULL, &n), STORE_OK);
	ck_assert_int_eq(store_batch_reported(st, a.offline_batch_id,
	    CT_BATCH_START_SENT | CT_BATCH_END_SENT), STORE_OK);
	ck_assert_int_eq(store_commit(st), STORE_OK);
	ack(&a, T0);
	ck_assert_int_eq(store_batch_get(st, a.offline_batch_id, &bt), STORE_OK);
	ck_assert_int_eq(bt.state, BATCH_CLOSED);
	ck_assert_uint_eq(bt.unacked, 1);
	ack(&b, T0 + 1);
	ck_assert_int_eq(store_batch_get(st, a.offline_batch_id, &bt), STORE_OK);
	ck_assert_int_eq(bt.state, BATCH_DONE);
	ck_assert_int_eq(bt.done_at_ms, T0 + 1);
	ck_assert_uint_eq(bt.event_count, 2);
}
END_TEST

START_TEST(test_repeated_local_id_is_confirmed_without_second_copy)
{
	struct ct_event a = mkev("SCALE-01", 1500, T0), again;
	struct store_stats s;
	bool dup;

	put1(&a, false, T0);
	again = a;
	again.seq = 0;
	ck_assert_int_eq(store_begin(st, T0), STORE_OK);
	ck_assert_int_eq(store_put_event(st, &again, false, &dup), STORE_OK);
	ck_assert(dup);
	ck_assert_int_eq(store_commit(st), STORE_OK);
	ck_assert_uint_eq(again.seq, a.seq);
	ck_assert_int_eq(store_stats_get(st, &s), STORE_OK);
	ck_assert_uint_eq(s.events, 1);
	ck_assert_uint_eq(s.pending, 1);
	{
		struct store_batch b;
		ck_assert_int_eq(store_batch_get(st, a.offline_batch_id, &b), STORE_OK);
		ck_assert_uint_eq(b.event_count, 1);
	}
}
END_TEST

START_TEST(test_repeated_local_id_in_one_txn_is_one_copy)
{
	struct ct_event a = mkev("SCALE-01", 1500, T0), b;
	struct store_stats s;
	bool dup;

	b = a;
	ck_assert_int_eq(store_begin(st, T0), STORE_OK);
	ck_assert_int_eq(store_put_event(st, &a, true, &dup), STORE_OK);
	ck_assert(!dup);
	ck_assert_int_eq(store_put_event(st, &b, true, &dup), STORE_OK);
	ck_assert(dup);
	ck_assert_int_eq(store_commit(st), STORE_OK);
	ck_assert_uint_eq(a.seq, b.seq);
	ck_assert_int_eq(store_stats_get(st, &s), STORE_OK);
	ck_assert_uint_eq(s.events, 1);
}
END_TEST

static int
count_ev(const struct ct_event *ev, const struct store_sync *sy, void *arg)
{
	(*(int *)arg)++;
	return 0;
}

START_TEST(test_ack_marks_synced_and_leaves_pending)
{
	struct ct_event a = mkev("SCALE-01", 1, T0), b = mkev("SCALE-01", 2, T0);
	struct store_sync sy;
	int n = 0;

	put1(&a, true, T0);
	put1(&b, true, T0);
	ck_assert_int_eq(store_begin(st, T0), STORE_OK);
	ck_assert_int_eq(store_ack(st, a.local_id, CT_ACK_DUPLICATE, "cev-9"), STORE_OK);
	ck_assert_int_eq(store_commit(st), STORE_OK);
	stored(a.seq, &sy);
	ck_assert_int_eq(sy.status, SYNC_DUPLICATE);
	ck_assert_str_eq(sy.cloud_event_id, "cev-9");
	ck_assert_int_eq(store_pending_iter(st, 0, 0, count_ev, &n), STORE_OK);
	ck_assert_int_eq(n, 1);
}
END_TEST

START_TEST(test_ack_of_unknown_id_is_notfound)
{
	uint8_t id[CT_UUID_LEN];

	ct_uuid_new(id);
	ck_assert_int_eq(store_begin(st, T0), STORE_OK);
	ck_assert_int_eq(store_ack(st, id, CT_ACK_ACCEPTED, "x"), STORE_NOTFOUND);
	ck_assert_int_eq(store_commit(st), STORE_OK);
}
END_TEST

START_TEST(test_rejected_is_final)
{
	struct ct_event a = mkev("SCALE-01", 1, T0);
	struct store_sync sy;
	int n = 0;

	put1(&a, true, T0);
	ck_assert_int_eq(store_begin(st, T0), STORE_OK);
	ck_assert_int_eq(store_reject(st, a.local_id, "Invalid PLU code"), STORE_OK);
	ck_assert_int_eq(store_commit(st), STORE_OK);
	ack(&a, T0);               /* a late ack does not undo the rejection */
	stored(a.seq, &sy);
	ck_assert_int_eq(sy.status, SYNC_REJECTED);
	ck_assert_str_eq(sy.reason, "Invalid PLU code");
	ck_assert_uint_eq(sy.attempts, 2);
	ck_assert_int_eq(store_pending_iter(st, 0, 0, count_ev, &n), STORE_OK);
	ck_assert_int_eq(n, 0);
}
END_TEST

struct seq_list { uint64_t s[16]; int n; };

static int
collect_seq(const struct ct_event *e, const struct store_sync *sy, void *arg)
{
	struct seq_list *l = arg;

	if (l->n < 16)
		l->s[l->n++] = e->seq;
	return 0;
}

START_TEST(test_pending_iter_in_order_from_seq)
{
	struct ct_event ev[5];
	struct seq_list l = { .n = 0 };
	int i;

	for (i = 0; i < 5; i++) {
		ev[i] = mkev("SCALE-01", i, T0);
		put1(&ev[i], true, T0);
	}
	ack(&ev[2], T0);
	ck_assert_int_eq(store_pending_iter(st, ev[1].seq, 0, collect_seq, &l), STORE_OK);
	ck_assert_int_eq(l.n, 3);
	ck_assert_uint_eq(l.s[0], ev[1].seq);
	ck_assert_uint_eq(l.s[1], ev[3].seq);
	ck_assert_uint_eq(l.s[2], ev[4].seq);
}
END_TEST

START_TEST(test_events_iter_newest_first_with_limit)
{
	struct ct_event ev[5];
	struct seq_list l = { .n = 0 };
	int i;

	for (i = 0; i < 5; i++) {
		ev[i] = mkev("SCALE-01", i, T0);
		put1(&ev[i], true, T0);
	}
	ck_assert_int_eq(store_events_iter(st, 0, true, 2, collect_seq, &l), STORE_OK);
	ck_assert_int_eq(l.n, 2);
	ck_assert_uint_eq(l.s[0], ev[4].seq);
	ck_assert_uint_eq(l.s[1], ev[3].seq);
}
END_TEST

START_TEST(test_retention_never_removes_pending)
{
	struct ct_event old_acked = mkev("SCALE-01", 1, T0), old_pending = mkev("SCALE-01", 2, T0);
	struct ct_event old_rejected = mkev("SCALE-01", 3, T0), young = mkev("SCALE-01", 4, T0 + 60 * MIN);
	struct ct_event tmp;
	unsigned n;
	bool more;

	put1(&old_acked, true, T0);
	put1(&old_pending, true, T0);
	put1(&old_rejected, true, T0);
	put1(&young, true, T0 + 60 * MIN);
	ack(&old_acked, T0);
	ack(&young, T0 + 60 * MIN);
	ck_assert_int_eq(store_begin(st, T0), STORE_OK);
	ck_assert_int_eq(store_reject(st, old_rejected.local_id, "bad"), STORE_OK);
	ck_assert_int_eq(store_commit(st), STORE_OK);

	ck_assert_int_eq(store_begin(st, T0 + 90 * MIN), STORE_OK);
	ck_assert_int_eq(store_prune(st, 60 * MIN, 100, &n, &more), STORE_OK);
	ck_assert_int_eq(store_commit(st), STORE_OK);
	ck_assert_uint_eq(n, 2);
	ck_assert_int_eq(store_event_get(st, old_acked.seq, &tmp, NULL), STORE_NOTFOUND);
	ck_assert_int_eq(store_event_get(st, old_rejected.seq, &tmp, NULL), STORE_NOTFOUND);
	ck_assert_int_eq(store_event_get(st, old_pending.seq, &tmp, NULL), STORE_OK);
	ck_assert_int_eq(store_event_get(st, young.seq, &tmp, NULL), STORE_OK);

	/* acked later, the old event goes on the next prune */
	ack(&old_pending, T0 + 91 * MIN);
	ck_assert_int_eq(store_begin(st, T0 + 92 * MIN), STORE_OK);
	ck_assert_int_eq(store_prune(st, 60 * MIN, 100, &n, &more), STORE_OK);
	ck_assert_int_eq(store_commit(st), STORE_OK);
	ck_assert_uint_eq(n, 1);
	ck_assert_int_eq(store_event_get(st, old_pending.seq, &tmp, NULL), STORE_NOTFOUND);
}
END_TEST

START_TEST(test_prune_is_bounded_per_call)
{
	struct ct_event ev;
	unsigned n, total = 0;
	bool dup, more;
	int i, calls = 0;

	ck_assert_int_eq(store_begin(st, T0), STORE_OK);
	for (i = 0; i < 50; i++) {
		ev = mkev("SCALE-01", i, T0);
		ck_assert_int_eq(store_put_event(st, &ev, true, &dup), STORE_OK);
		ck_assert_int_eq(store_ack(st, ev.local_id, CT_ACK_ACCEPTED, "c"), STORE_OK);
	}
	ck_assert_int_eq(store_commit(st), STORE_OK);
	do {
		ck_assert_int_eq(store_begin(st, T0 + MIN), STORE_OK);
		ck_assert_int_eq(store_prune(st, 1, 8, &n, &more), STORE_OK);
		ck_assert_int_eq(store_commit(st), STORE_OK);
		ck_assert_uint_le(n, 8);
		total += n;
		calls++;
	} while (more && calls < 100);
	ck_assert_uint_eq(total, 50);
	ck_assert_int_ge(calls, 7);
}
END_TEST

START_TEST(test_done_batches_are_pruned_after_retention)
{
	struct ct_event a = mkev("SCALE-01", 1, T0);
	struct store_batch b;
	unsigned n;
	bool more;

	put1(&a, false, T0);
	ck_assert_int_eq(store_begin(st, T0), STORE_OK);
	ck_assert_int_eq(store_close_open_batches(st, NULL, NULL, &n), STORE_OK);
	ck_assert_int_eq(store_batch_reported(st, a.offline_batch_id, CT_BATCH_END_SENT), STORE_OK);
	ck_assert_int_eq(store_commit(st), STORE_OK);
	ack(&a, T0);
	ck_assert_int_eq(store_begin(st, T0 + 2 * MIN), STORE_OK);
	ck_assert_int_eq(store_prune(st, MIN, 100, &n, &more), STORE_OK);
	ck_assert_int_eq(store_commit(st), STORE_OK);
	ck_assert_int_eq(store_batch_get(st, a.offline_batch_id, &b), STORE_NOTFOUND);
}
END_TEST

START_TEST(test_full_map_refuses_cleanly_and_recovers_after_acks_and_prune)
{
	struct ct_event ev, kept[2048];
	struct store_stats s;
	unsigned n, nkept = 0;
	bool dup, more;
	int e = STORE_OK, i;

	store_close(st);
	rm_tree();
	snprintf(dir, sizeof(dir), "/tmp/test_store.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	st = open_store(256 * 1024, 0);
	/* fill in transactions of 10 until the store refuses */
	while (e == STORE_OK && nkept < 2000) {
		ck_assert_int_eq(store_begin(st, T0), STORE_OK);
		for (i = 0; i < 10; i++) {
			ev = mkev("SCALE-01", 100, T0);
			e = store_put_event(st, &ev, true, &dup);
			if (e != STORE_OK)
				break;
			kept[nkept++] = ev;
		}
		ck_assert_msg(e == STORE_OK || e == STORE_FULL, "%s", store_errmsg(st));
		ck_assert_int_eq(store_commit(st), STORE_OK);   /* what was accepted commits */
	}
	ck_assert_int_eq(e, STORE_FULL);
	ck_assert(store_is_full(st));
	ck_assert_uint_gt(nkept, 50);

	/* still full in a new txn; acks in that txn still commit */
	ck_assert_int_eq(store_begin(st, T0), STORE_OK);
	ev = mkev("SCALE-01", 100, T0);
	ck_assert_int_eq(store_put_event(st, &ev, true, &dup), STORE_FULL);
	for (i = 0; i < (int)nkept; i++)
		ck_assert_int_eq(store_ack(st, kept[i].local_id, CT_ACK_ACCEPTED, "c"), STORE_OK);
	ck_assert_int_eq(store_commit(st), STORE_OK);

	/* everything stored is intact */
	for (i = 0; i < (int)nkept; i++) {
		struct ct_event got;
		ck_assert_int_eq(store_event_get(st, kept[i].seq, &got, NULL), STORE_OK);
		ck_assert_mem_eq(got.local_id, kept[i].local_id, CT_UUID_LEN);
	}
	do {
		e = store_begin(st, T0 + MIN);
		ck_assert_msg(e == STORE_OK, "%s", store_errmsg(st));
		ck_assert_int_eq(store_prune(st, 1, 64, &n, &more), STORE_OK);
		ck_assert_int_eq(store_commit(st), STORE_OK);
	} while (more);

	ck_assert_int_eq(store_begin(st, T0 + MIN), STORE_OK);
	ck_assert(!store_is_full(st));
	ev = mkev("SCALE-01", 100, T0 + MIN);
	ck_assert_int_eq(store_put_event(st, &ev, true, &dup), STORE_OK);
	ck_assert_int_eq(store_commit(st), STORE_OK);
	ck_assert_int_eq(store_stats_get(st, &s), STORE_OK);
	ck_assert_uint_eq(s.pending, 1);
	ck_assert(s.map_use_pct < 90.0);
}
END_TEST

static void
set_schema(uint64_t ver)
{
	MDB_env *env;
	MDB_txn *txn;
	MDB_dbi dbi;
	char path[300];
	uint8_t b[8];
	MDB_val k = { 6, (void *)"schema" }, v = { 8, b };

	for (int i = 7; i >= 0; i--, ver >>= 8)
		b[i] = (uint8_t)ver;
	snprintf(path, sizeof(path), "%s/store", dir);
	ck_assert_int_eq(mdb_env_create(&env), 0);
	mdb_env_set_maxdbs(env, 16);
	ck_assert_int_eq(mdb_env_open(env, path, 0, 0640), 0);
	ck_assert_int_eq(mdb_txn_begin(env, NULL, 0, &txn), 0);
	ck_assert_int_eq(mdb_dbi_open(txn, "meta", 0, &dbi), 0);
	ck_assert_int_eq(mdb_put(txn, dbi, &k, &v, 0), 0);
	ck_assert_int_eq(mdb_txn_commit(txn), 0);
	mdb_env_close(env);
}

START_TEST(test_newer_schema_is_refused_naming_both_versions)
{
	struct store *s2 = NULL;
	char err[512];

	store_close(st);
	st = NULL;
	set_schema(7);
	ck_assert_int_eq(store_open(&s2, dir, NULL, err, sizeof(err)), STORE_VERSION);
	ck_assert_ptr_null(s2);
	char want[32];

	snprintf(want, sizeof(want), "version %d", STORE_SCHEMA_VERSION);
	ck_assert_ptr_nonnull(strstr(err, "version 7"));
	ck_assert_ptr_nonnull(strstr(err, want));
}
END_TEST

START_TEST(test_older_schema_is_migrated)
{
	struct ct_event ev = mkev("SCALE-01", 1, T0);
	struct store_opts ro = { .readonly = true };
	struct store *r = NULL;
	char err[512];

	put1(&ev, true, T0);
	store_close(st);
	set_schema(0);
	ck_assert_int_eq(store_open(&r, dir, &ro, err, sizeof(err)), STORE_VERSION);
	st = open_store(0, 0);
	ck_assert_int_eq(store_event_get(st, ev.seq, &ev, NULL), STORE_OK);
	ck_assert_int_eq(store_open(&r, dir, &ro, err, sizeof(err)), STORE_OK);
	store_close(r);
}
END_TEST

START_TEST(test_everything_survives_reopen)
{
	struct ct_event a = mkev("SCALE-01", 5, T0), b = mkev("SCALE-02", 6, T0), c;
	struct store_session s;
	struct store_identity id;
	struct store_batch bt;
	char json[64];

	session(CT_SESS_STARTED, "SCALE-01", "sess-1", T0);
	put1(&a, true, T0);
	put1(&b, false, T0);
	ck_assert_int_eq(store_begin(st, T0), STORE_OK);
	ck_assert_int_eq(store_identity_put(st, "edge-1", "SITE01", "Ankara"), STORE_OK);
	ck_assert_int_eq(store_plu_put(st, "00001", "{\"name\":\"KIYMA\"}"), STORE_OK);
	ck_assert_int_eq(store_commit(st), STORE_OK);
	store_close(st);

	st = open_store(0, 0);
	ck_assert_int_eq(store_session_get(st, "SCALE-01", &s), STORE_OK);
	ck_assert_str_eq(s.cloud_session_id, "sess-1");
	ck_assert_int_eq(store_identity_get(st, &id), STORE_OK);
	ck_assert_str_eq(id.edge_id, "edge-1");
	ck_assert_str_eq(id.site_name, "Ankara");
	ck_assert_int_eq(store_plu_get(st, "00001", json, sizeof(json)), STORE_OK);
	ck_assert_str_eq(json, "{\"name\":\"KIYMA\"}");
	ck_assert_int_eq(store_batch_get(st, b.offline_batch_id, &bt), STORE_OK);
	ck_assert_uint_eq(bt.event_count, 1);
	/* numbering continues, the open batch stays open for that scale */
	c = mkev("SCALE-02", 7, T0);
	put1(&c, false, T0);
	ck_assert_uint_eq(c.seq, b.seq + 1);
	ck_assert_mem_eq(c.offline_batch_id, b.offline_batch_id, CT_UUID_LEN);
}
END_TEST

START_TEST(test_sequence_not_reused_after_pruning_everything)
{
	struct ct_event a = mkev("SCALE-01", 5, T0), b = mkev("SCALE-01", 6, T0 + MIN);
	unsigned n;
	bool more;

	put1(&a, true, T0);
	ack(&a, T0);
	ck_assert_int_eq(store_begin(st, T0 + MIN), STORE_OK);
	ck_assert_int_eq(store_prune(st, 1, 10, &n, &more), STORE_OK);
	ck_assert_int_eq(store_commit(st), STORE_OK);
	ck_assert_uint_eq(n, 1);
	store_close(st);
	st = open_store(0, 0);
	put1(&b, true, T0 + MIN);
	ck_assert_uint_eq(b.seq, a.seq + 1);
}
END_TEST

START_TEST(test_reader_works_while_writer_is_open)
{
	struct ct_event a = mkev("SCALE-01", 5, T0), got;
	struct store_opts ro = { .readonly = true };
	struct store *r = NULL;
	struct store_stats s;
	char err[512];
	bool dup;

	put1(&a, true, T0);
	ck_assert_int_eq(store_open(&r, dir, &ro, err, sizeof(err)), STORE_OK);
	/* the writer holds an open write txn while the reader reads */
	ck_assert_int_eq(store_begin(st, T0), STORE_OK);
	got = mkev("SCALE-01", 6, T0);
	ck_assert_int_eq(store_put_event(st, &got, true, &dup), STORE_OK);
	ck_assert_int_eq(store_event_get(r, a.seq, &got, NULL), STORE_OK);
	ck_assert_int_eq(store_stats_get(r, &s), STORE_OK);
	ck_assert_uint_eq(s.pending, 1);
	ck_assert_int_eq(store_commit(st), STORE_OK);
	ck_assert_int_eq(store_stats_get(r, &s), STORE_OK);
	ck_assert_uint_eq(s.pending, 2);
	ck_assert_int_eq(store_begin(r, T0), STORE_STATE);
	store_close(r);
}
END_TEST

START_TEST(test_reader_of_missing_store_says_so)
{
	struct store_opts ro = { .readonly = true };
	struct store *r = NULL;
	char err[512], missing[300];

	snprintf(missing, sizeof(missing), "%s/nowhere", dir);
	ck_assert_int_eq(store_open(&r, missing, &ro, err, sizeof(err)), STORE_NOTFOUND);
	ck_assert_ptr_nonnull(strstr(err, "not created"));
}
END_TEST

START_TEST(test_device_registry_follows_frames)
{
	struct store_device_msg m = { .kind = CT_DEV_CONNECTED, .at_ms = T0 };
	struct store_device d;
	struct ct_event ev = mkev("SCALE-07", 5, T0);

	snprintf(m.device_id, sizeof(m.device_id), "SCALE-07");
	snprintf(m.source_ip, sizeof(m.source_ip), "10.0.0.7");
	ck_assert_int_eq(store_begin(st, T0), STORE_OK);
	ck_assert_int_eq(store_device_apply(st, &m), STORE_OK);
	m.kind = CT_DEV_HEARTBEAT;
	m.heartbeats = 3;
	m.at_ms = T0 + 1000;
	ck_assert_int_eq(store_device_apply(st, &m), STORE_OK);
	ck_assert_int_eq(store_commit(st), STORE_OK);
	put1(&ev, true, T0 + 2000);
	ck_assert_int_eq(store_device_get(st, "SCALE-07", &d), STORE_OK);
	ck_assert_str_eq(d.global_device_id, "SITE01-SCALE-07");
	ck_assert_str_eq(d.source_ip, "10.0.0.7");
	ck_assert_int_eq(d.status, DEV_CONNECTED);
	ck_assert_uint_eq(d.heartbeats, 3);
	ck_assert_uint_eq(d.connects, 1);
	ck_assert_uint_eq(d.events, 1);

	m.kind = CT_DEV_DISCONNECTED;
	snprintf(m.reason, sizeof(m.reason), "timeout");
	ck_assert_int_eq(store_begin(st, T0), STORE_OK);
	ck_assert_int_eq(store_device_apply(st, &m), STORE_OK);
	ck_assert_int_eq(store_commit(st), STORE_OK);
	ck_assert_int_eq(store_device_get(st, "SCALE-07", &d), STORE_OK);
	ck_assert_str_eq(store_dev_status_name(d.status), "disconnected");
	ck_assert_str_eq(d.reason, "timeout");
}
END_TEST

START_TEST(test_aborted_txn_leaves_nothing_and_reuses_seq)
{
	struct ct_event a = mkev("SCALE-01", 5, T0), b = mkev("SCALE-01", 6, T0), tmp;
	bool dup;

	ck_assert_int_eq(store_begin(st, T0), STORE_OK);
	ck_assert_int_eq(store_put_event(st, &a, false, &dup), STORE_OK);
	store_abort(st);
	ck_assert_int_eq(store_event_get(st, a.seq, &tmp, NULL), STORE_NOTFOUND);
	put1(&b, false, T0);
	ck_assert_uint_eq(b.seq, a.seq);
}
END_TEST

START_TEST(test_ops_without_txn_are_state_errors)
{
	struct ct_event a = mkev("SCALE-01", 5, T0);
	bool dup;

	ck_assert_int_eq(store_put_event(st, &a, true, &dup), STORE_STATE);
	ck_assert_int_eq(store_commit(st), STORE_STATE);
	ck_assert_int_eq(store_begin(st, T0), STORE_OK);
	ck_assert_int_eq(store_begin(st, T0), STORE_STATE);
	store_abort(st);
}
END_TEST


START_TEST(test_link_state_survives_reopen)
{
	bool up = false;

	ck_assert_int_eq(store_link_get(st, &up), STORE_OK);
	ck_assert(up);                       /* never told: up */
	ck_assert_int_eq(store_begin(st, T0), STORE_OK);
	ck_assert_int_eq(store_link_put(st, false), STORE_OK);
	ck_assert_int_eq(store_commit(st), STORE_OK);
	store_close(st);
	st = open_store(0, 0);
	ck_assert_int_eq(store_link_get(st, &up), STORE_OK);
	ck_assert(!up);
}
END_TEST

START_TEST(test_batch_reported_for_unknown_batch_is_notfound)
{
	uint8_t id[CT_UUID_LEN];

	ct_uuid_new(id);
	ck_assert_int_eq(store_begin(st, T0), STORE_OK);
	ck_assert_int_eq(store_batch_reported(st, id, CT_BATCH_END_SENT), STORE_NOTFOUND);
	ck_assert_int_eq(store_commit(st), STORE_OK);
}
END_TEST

START_TEST(test_resumed_after_expiry_tags_again)
{
	struct ct_event ev = mkev("SCALE-01", 1, T0 + 10 * MIN);
	unsigned n;

	store_close(st);
	st = open_store(0, 5 * MIN);
	session(CT_SESS_STARTED, "SCALE-01", "sess-1", T0);
	ck_assert_int_eq(store_begin(st, T0 + 10 * MIN), STORE_OK);
	ck_assert_int_eq(store_sessions_expire(st, &n), STORE_OK);
	ck_assert_int_eq(store_commit(st), STORE_OK);
	session(CT_SESS_RESUMED, "SCALE-01", "sess-1", T0 + 10 * MIN);
	ev = stored(put1(&ev, true, T0 + 10 * MIN), NULL);
	ck_assert_str_eq(ev.cloud_session_id, "sess-1");
}
END_TEST

START_TEST(test_bad_plu_code_and_missing_identity)
{
	struct store_identity id;
	char json[8];

	ck_assert_int_eq(store_identity_get(st, &id), STORE_NOTFOUND);
	ck_assert_int_eq(store_begin(st, T0), STORE_OK);
	ck_assert_int_eq(store_plu_put(st, "", "{}"), STORE_INVAL);
	ck_assert_int_eq(store_plu_put(st, "00002", "{\"name\":\"a long product name\"}"), STORE_OK);
	ck_assert_int_eq(store_commit(st), STORE_OK);
	/* a buffer too small is an error, never a truncation */
	ck_assert_int_eq(store_plu_get(st, "00002", json, sizeof(json)), STORE_INVAL);
	ck_assert_int_eq(store_plu_get(st, "00003", json, sizeof(json)), STORE_NOTFOUND);
}
END_TEST

START_TEST(test_reader_sees_store_full)
{
	struct store_opts ro = { .readonly = true };
	struct store *r = NULL;
	struct store_stats s;
	struct ct_event ev;
	char err[512];
	bool dup;
	int e = STORE_OK;

	store_close(st);
	rm_tree();
	snprintf(dir, sizeof(dir), "/tmp/test_store.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	st = open_store(256 * 1024, 0);
	while (e == STORE_OK) {
		ck_assert_int_eq(store_begin(st, T0), STORE_OK);
		ev = mkev("SCALE-01", 100, T0);
		e = store_put_event(st, &ev, true, &dup);
		ck_assert_int_eq(store_commit(st), STORE_OK);
	}
	ck_assert_int_eq(e, STORE_FULL);
	ck_assert_int_eq(store_open(&r, dir, &ro, err, sizeof(err)), STORE_OK);
	ck_assert_int_eq(store_stats_get(r, &s), STORE_OK);
	ck_assert_msg(s.full, "reader: map use %.1f%% not full", s.map_use_pct);
	store_close(r);
}
END_TEST

/* ---- offline batches and a stepped wall clock (issue 18 item 3) ---- */

static int64_t mono_now;
static int64_t fake_mono(void) { return mono_now; }

static void
mono_store(void)
{
	struct store_opts o = { .site_id = "SITE01", .mono_ms = fake_mono };
	char err[512];

	store_close(st);
	st = NULL;
	ck_assert_msg(store_open(&st, dir, &o, err, sizeof(err)) == STORE_OK, "%s", err);
}

/* One offline event of SCALE-01 at wall time `wall`; its batch. */
static void
offline_event(int64_t wall, struct store_batch *b)
{
	struct ct_event ev = mkev("SCALE-01", 100, wall);

	ev = stored(put1(&ev, false, wall), NULL);
	ck_assert_int_eq(store_batch_get(st, ev.offline_batch_id, b), STORE_OK);
}

static void
link_back(int64_t wall, struct store_batch *b)
{
	ck_assert_int_eq(store_begin(st, wall), STORE_OK);
	ck_assert_int_eq(store_close_open_batches(st, NULL, NULL, NULL), STORE_OK);
	ck_assert_int_eq(store_commit(st), STORE_OK);
	ck_assert_int_eq(store_batch_get(st, b->id, b), STORE_OK);
}

START_TEST(test_batch_times_follow_the_monotonic_clock_across_steps)
{
	struct store_batch b1, b2, b3;

	mono_store();
	/* outage 1: 10 minutes pass, the wall clock is stepped back an hour */
	mono_now = 5000000;
	offline_event(T0, &b1);
	ck_assert_int_eq(b1.started_mono_ms, 5000000);
	mono_now += 10 * MIN;
	link_back(T0 + 10 * MIN - 60 * MIN, &b1);
	ck_assert_int_eq(b1.started_at_ms, T0);
	ck_assert_int_eq(b1.ended_at_ms, T0 + 10 * MIN);
	ck_assert_uint_eq(b1.clock, STORE_BATCH_CLOCK_END);

	/* outage 2, five minutes later, the clock still an hour behind: the new
	 * batch starts after the last one ended, where the monotonic clock says */
	mono_now += 5 * MIN;
	offline_event(T0 + 15 * MIN - 60 * MIN, &b2);
	ck_assert_int_eq(b2.started_at_ms, T0 + 15 * MIN);
	ck_assert_uint_eq(b2.clock, STORE_BATCH_CLOCK_START);
	/* and the clock is stepped forward two hours before the link is back */
	mono_now += 3 * MIN;
	link_back(T0 + 18 * MIN + 120 * MIN, &b2);
	ck_assert_int_eq(b2.ended_at_ms, T0 + 18 * MIN);
	ck_assert_uint_eq(b2.clock, STORE_BATCH_CLOCK_START | STORE_BATCH_CLOCK_END);
	ck_assert_int_ge(b2.started_at_ms, b1.ended_at_ms);

	/* outage 3 with a clock that agrees (within slewing): left as it is */
	mono_now += 60 * MIN;
	offline_event(T0 + 80 * MIN + 120 * MIN, &b3);
	mono_now += 100 * MIN;
	link_back(T0 + 180 * MIN + 120 * MIN + 30000, &b3);
	ck_assert_int_eq(b3.started_at_ms, T0 + 200 * MIN);
	ck_assert_int_eq(b3.ended_at_ms, T0 + 300 * MIN + 30000);
	ck_assert_uint_eq(b3.clock, 0);
}
END_TEST

/* Without a monotonic stamp to compare with (a batch opened before a
 * reboot, or by an older version), only the order is kept. */
START_TEST(test_batch_without_monotonic_stamp_keeps_its_order)
{
	struct store_batch b;

	mono_store();
	mono_now = 0;               /* no monotonic clock at the start */
	offline_event(T0, &b);
	mono_now = 7000;
	link_back(T0 - 60 * MIN, &b);
	ck_assert_int_eq(b.ended_at_ms, T0);
	ck_assert_uint_eq(b.clock, STORE_BATCH_CLOCK_END);
}
END_TEST

/* ---- the cloud-driven state's quota (issue 18 item 2) ---- */

static void
fresh_store(uint64_t map_size)
{
	store_close(st);
	rm_tree();
	snprintf(dir, sizeof(dir), "/tmp/test_store.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	st = open_store(map_size, 0);
}

/* Events that fit until the store refuses, one txn of 10 at a time. */
static unsigned
fill_events(void)
{
	struct ct_event ev;
	unsigned n = 0;
	bool dup;
	int e = STORE_OK;

	while (e == STORE_OK) {
		ck_assert_int_eq(store_begin(st, T0), STORE_OK);
		for (int i = 0; i < 10 && e == STORE_OK; i++) {
			ev = mkev("SCALE-01", 100, T0);
			if ((e = store_put_event(st, &ev, true, &dup)) == STORE_OK)
				n++;
		}
		ck_assert_msg(e == STORE_OK || e == STORE_FULL, "%s", store_errmsg(st));
		ck_assert_int_eq(store_commit(st), STORE_OK);
	}
	return n;
}

static char big_plu[STORE_PLU_MAX + 2];

START_TEST(test_state_quota_refuses_plu_and_keeps_event_space)
{
	struct store_stats s;
	struct store_session cur;
	char code[16];
	unsigned nplu = 0, with_state, without_state;
	int e = STORE_OK;

	memset(big_plu, 'x', STORE_PLU_MAX);
	big_plu[0] = '{';
	big_plu[STORE_PLU_MAX - 1] = '}';
	big_plu[STORE_PLU_MAX] = '\0';
	fresh_store(2 * 1024 * 1024);
	/* PLU rows as big as allowed until the quota refuses them */
	while (e == STORE_OK && nplu < 10000) {
		ck_assert_int_eq(store_begin(st, T0), STORE_OK);
		snprintf(code, sizeof(code), "%08u", nplu);
		if ((e = store_plu_put(st, code, big_plu)) == STORE_OK)
			nplu++;
		ck_assert_int_eq(store_commit(st), STORE_OK);
	}
	ck_assert_msg(e == STORE_QUOTA, "%s", store_errmsg(st));
	ck_assert_ptr_nonnull(strstr(store_errmsg(st), "cloud-driven state is at its quota"));
	ck_assert_uint_gt(nplu, 3);
	ck_assert_int_eq(store_stats_get(st, &s), STORE_OK);
	ck_assert_uint_eq(s.state_quota_bytes, 2 * 1024 * 1024 / 20 / 4096 * 4096);
	ck_assert_uint_le(s.state_bytes, s.state_quota_bytes * 3 / 5);
	/* a row one byte over the limit is refused whatever the room */
	ck_assert_int_eq(store_begin(st, T0), STORE_OK);
	big_plu[STORE_PLU_MAX] = 'x';
	big_plu[STORE_PLU_MAX + 1] = '\0';
	ck_assert_int_eq(store_plu_put(st, "X", big_plu), STORE_INVAL);
	big_plu[STORE_PLU_MAX] = '\0';
	/* rewriting a PLU no larger than before passes at the quota */
	ck_assert_int_eq(store_plu_put(st, "00000000", "{\"price\":2}"), STORE_OK);
	ck_assert_int_eq(store_commit(st), STORE_OK);
	/* the PLU flood left room for the scales' sessions */
	session(CT_SESS_STARTED, "SCALE-01", "S-1", T0);
	ck_assert_int_eq(store_session_get(st, "SCALE-01", &cur), STORE_OK);
	ck_assert_str_eq(cur.cloud_session_id, "S-1");

	/* events get as much room as in a store without any state */
	with_state = fill_events();
	fresh_store(2 * 1024 * 1024);
	without_state = fill_events();
	ck_assert_msg(with_state >= without_state * 97 / 100, "%u events with the state, %u without",
	    with_state, without_state);
}
END_TEST

/* Sessions and devices count too, up to the whole share. */
START_TEST(test_state_quota_bounds_sessions_and_devices)
{
	struct store_device_msg dm;
	struct store_session_msg sm;
	struct store_stats s;
	unsigned n = 0;
	int e = STORE_OK;

	fresh_store(1024 * 1024);
	memset(&dm, 0, sizeof(dm));
	memset(&sm, 0, sizeof(sm));
	dm.kind = CT_DEV_CONNECTED;
	sm.kind = CT_SESS_STARTED;
	memset(sm.animal_id, 'a', sizeof(sm.animal_id) - 1);
	memset(sm.reason, 'r', sizeof(sm.reason) - 1);
	while (e == STORE_OK && n < 100000) {
		ck_assert_int_eq(store_begin(st, T0), STORE_OK);
		snprintf(dm.device_id, sizeof(dm.device_id), "DEV-%06u", n);
		snprintf(sm.device_id, sizeof(sm.device_id), "DEV-%06u", n);
		snprintf(sm.cloud_session_id, sizeof(sm.cloud_session_id), "S-%u", n);
		if ((e = store_device_apply(st, &dm)) == STORE_OK &&
		    (e = store_session_apply(st, &sm)) == STORE_OK)
			n++;
		ck_assert_int_eq(store_commit(st), STORE_OK);
	}
	ck_assert_msg(e == STORE_QUOTA, "%s", store_errmsg(st));
	ck_assert_int_eq(store_stats_get(st, &s), STORE_OK);
	ck_assert_uint_le(s.state_bytes, s.state_quota_bytes);
	ck_assert_uint_gt(s.state_bytes, s.state_quota_bytes / 2);
	/* a known device's events still update its row and go in */
	struct ct_event ev = mkev("DEV-000001", 100, T0);
	put1(&ev, true, T0);
}
END_TEST

static Suite *
store_suite(void)
{
	Suite *s = suite_create("store");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_event_record_round_trip);
	tcase_add_test(tc, test_state_quota_refuses_plu_and_keeps_event_space);
	tcase_add_test(tc, test_batch_times_follow_the_monotonic_clock_across_steps);
	tcase_add_test(tc, test_batch_without_monotonic_stamp_keeps_its_order);
	tcase_add_test(tc, test_state_quota_bounds_sessions_and_devices);
	tcase_add_test(tc, test_sequences_are_consecutive);
	tcase_add_test(tc, test_online_without_session_is_untagged);
	tcase_add_test(tc, test_online_tags_the_scales_own_session);
	tcase_add_test(tc, test_new_session_replaces_current);
	tcase_add_test(tc, test_paused_session_does_not_tag_and_resume_does);
	tcase_add_test(tc, test_ended_session_stops_tagging_at_once);
	tcase_add_test(tc, test_late_end_of_old_session_keeps_new_one);
	tcase_add_test(tc, test_idle_session_expires_visibly);
	tcase_add_test(tc, test_tagging_counts_as_session_activity);
	tcase_add_test(tc, test_offline_event_goes_to_scale_batch_not_session);
	tcase_add_test(tc, test_two_scales_offline_get_two_batches_with_exact_counts);
	tcase_add_test(tc, test_link_up_closes_open_batches_and_next_outage_opens_new);
	tcase_add_test(tc, test_batch_done_when_end_reported_and_all_acked);
	tcase_add_test(tc, test_repeated_local_id_is_confirmed_without_second_copy);
	tcase_add_test(tc, test_repeated_local_id_in_one_txn_is_one_copy);
	tcase_add_test(tc, test_ack_marks_synced_and_leaves_pending);
	tcase_add_test(tc, test_ack_of_unknown_id_is_notfound);
	tcase_add_test(tc, test_rejected_is_final);
	tcase_add_test(tc, test_pending_iter_in_order_from_seq);
	tcase_add_test(tc, test_events_iter_newest_first_with_limit);
	tcase_add_test(tc, test_retention_never_removes_pending);
	tcase_add_test(tc, test_prune_is_bounded_per_call);
	tcase_add_test(tc, test_done_batches_are_pruned_after_retention);
	tcase_add_test(tc, test_full_map_refuses_cleanly_and_recovers_after_acks_and_prune);
	tcase_add_test(tc, test_newer_schema_is_refused_naming_both_versions);
	tcase_add_test(tc, test_older_schema_is_migrated);
	tcase_add_test(tc, test_everything_survives_reopen);
	tcase_add_test(tc, test_sequence_not_reused_after_pruning_everything);
	tcase_add_test(tc, test_reader_works_while_writer_is_open);
	tcase_add_test(tc, test_reader_of_missing_store_says_so);
	tcase_add_test(tc, test_device_registry_follows_frames);
	tcase_add_test(tc, test_aborted_txn_leaves_nothing_and_reuses_seq);
	tcase_add_test(tc, test_ops_without_txn_are_state_errors);
	tcase_add_test(tc, test_link_state_survives_reopen);
	tcase_add_test(tc, test_batch_reported_for_unknown_batch_is_notfound);
	tcase_add_test(tc, test_resumed_after_expiry_tags_again);
	tcase_add_test(tc, test_bad_plu_code_and_missing_identity);
	tcase_add_test(tc, test_session_found_by_id_without_device);
	tcase_add_test(tc, test_session_by_unknown_id_is_notfound);
	tcase_add_test(tc, test_session_started_paused_does_not_tag);
	tcase_add_test(tc, test_identity_source_kept_and_cleared);
	tcase_add_test(tc, test_reader_sees_store_full);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(store_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
