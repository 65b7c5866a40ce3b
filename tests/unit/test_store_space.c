/*
 * The store's space and durability: retention never touches pending
 * events, pruning is bounded, a full map refuses events and recovers, the
 * state quota, schema versions, reopening, and readers beside the writer.
 */
#include "store_support.h"

START_TEST(test_retention_never_removes_pending)
{
	struct ct_event old_acked = mkev("SCALE-01", 1, T0), old_pending = mkev("SCALE-01", 2, T0);
	struct ct_event old_rejected = mkev("SCALE-01", 3, T0),
	    young = mkev("SCALE-01", 4, T0 + 60 * MIN);
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
	ck_assert_msg(with_state >= without_state * 97 / 100,
	    "%u events with the state, %u without",
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
	tcase_add_test(tc, test_state_quota_refuses_plu_and_keeps_event_space);
	tcase_add_test(tc, test_state_quota_bounds_sessions_and_devices);
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
