/*
 * The LMDB store, its core: records round-trip, sequences, duplicates by
 * localEventId, acks and rejections, iteration, transactions, identity and
 * the device registry. (Sessions, batches and space: test_store_*.c.)
 */
#include "store_support.h"

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

START_TEST(test_bad_plu_code_and_missing_identity)
{
	struct store_identity id;
	char json[8];

	ck_assert_int_eq(store_identity_get(st, &id), STORE_NOTFOUND);
	ck_assert_int_eq(store_begin(st, T0), STORE_OK);
	ck_assert_int_eq(store_plu_put(st, "", "{}"), STORE_INVAL);
	ck_assert_int_eq(store_plu_put(st, "00002", "{\"name\":\"a long product name\"}"),
	    STORE_OK);
	ck_assert_int_eq(store_commit(st), STORE_OK);
	/* a buffer too small is an error, never a truncation */
	ck_assert_int_eq(store_plu_get(st, "00002", json, sizeof(json)), STORE_INVAL);
	ck_assert_int_eq(store_plu_get(st, "00003", json, sizeof(json)), STORE_NOTFOUND);
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
	tcase_add_test(tc, test_sequences_are_consecutive);
	tcase_add_test(tc, test_repeated_local_id_is_confirmed_without_second_copy);
	tcase_add_test(tc, test_repeated_local_id_in_one_txn_is_one_copy);
	tcase_add_test(tc, test_ack_marks_synced_and_leaves_pending);
	tcase_add_test(tc, test_ack_of_unknown_id_is_notfound);
	tcase_add_test(tc, test_rejected_is_final);
	tcase_add_test(tc, test_pending_iter_in_order_from_seq);
	tcase_add_test(tc, test_events_iter_newest_first_with_limit);
	tcase_add_test(tc, test_device_registry_follows_frames);
	tcase_add_test(tc, test_aborted_txn_leaves_nothing_and_reuses_seq);
	tcase_add_test(tc, test_ops_without_txn_are_state_errors);
	tcase_add_test(tc, test_bad_plu_code_and_missing_identity);
	tcase_add_test(tc, test_identity_source_kept_and_cleared);
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
