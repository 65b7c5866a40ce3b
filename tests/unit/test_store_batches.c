/*
 * Offline batches in the store: one per scale and outage with exact
 * counts, closed when the link is back, done when reported and acked, and
 * their times held to the monotonic clock across wall clock steps.
 */
#include "store_support.h"

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
			ck_assert_int_eq(t.b[i].total_weight_g,
			    1000 + 1001 + 1002 + 1003 + 1004 + 7);
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

/* REST reports a batch once its last event is answered (issue 13): the
 * store says when that happened, and only for a closed, unreported batch. */
START_TEST(test_last_answer_of_a_closed_batch_is_told)
{
	struct ct_event a = mkev("SCALE-01", 1, T0), b = mkev("SCALE-01", 2, T0);
	unsigned n;

	put1(&a, false, T0);
	put1(&b, false, T0);
	ack(&a, T0);                          /* still open: nothing to tell */
	ck_assert(!store_take_batch_answered(st));
	ck_assert_int_eq(store_begin(st, T0), STORE_OK);
	ck_assert_int_eq(store_close_open_batches(st, NULL, NULL, &n), STORE_OK);
	ck_assert_int_eq(store_commit(st), STORE_OK);
	ck_assert_int_eq(store_begin(st, T0), STORE_OK);
	ck_assert_int_eq(store_reject(st, b.local_id, "bad PLU"), STORE_OK);
	ck_assert(store_take_batch_answered(st));
	ck_assert(!store_take_batch_answered(st));      /* once */
	ck_assert_int_eq(store_commit(st), STORE_OK);
}
END_TEST

START_TEST(test_answers_of_a_reported_batch_are_not_told)
{
	struct ct_event a = mkev("SCALE-01", 1, T0);
	unsigned n;

	put1(&a, false, T0);
	ck_assert_int_eq(store_begin(st, T0), STORE_OK);
	ck_assert_int_eq(store_close_open_batches(st, NULL, NULL, &n), STORE_OK);
	ck_assert_int_eq(store_batch_reported(st, a.offline_batch_id,
	    CT_BATCH_START_SENT | CT_BATCH_END_SENT), STORE_OK);
	ck_assert_int_eq(store_commit(st), STORE_OK);
	ack(&a, T0);
	ck_assert(!store_take_batch_answered(st));
}
END_TEST

/* The ACK's eventIds: a batch's events read back in bounded slices, oldest
 * first, skipping the other scales' events between them. */
START_TEST(test_batch_events_read_in_slices)
{
	uint8_t want[30][CT_UUID_LEN], got[8][CT_UUID_LEN];
	struct ct_event a, o;
	struct store_batch b;
	uint64_t pos = 0;
	unsigned n, k = 0, calls = 0;
	bool done = false;

	for (int i = 0; i < 30; i++) {
		a = mkev("SCALE-01", i + 1, T0);
		put1(&a, false, T0);
		memcpy(want[i], a.local_id, CT_UUID_LEN);
		o = mkev("SCALE-02", i + 1, T0);      /* another batch between */
		put1(&o, false, T0);
	}
	ck_assert_int_eq(store_batch_get(st, a.offline_batch_id, &b), STORE_OK);
	ck_assert_uint_gt(b.first_seq, 0);
	ck_assert_uint_eq(b.last_seq, a.seq);
	while (!done) {
		ck_assert_int_eq(store_batch_events(st, a.offline_batch_id, &pos, 8, got, &n,
		    &done), STORE_OK);
		ck_assert_uint_le(n, 8);
		for (unsigned i = 0; i < n; i++, k++)
			ck_assert_mem_eq(got[i], want[k], CT_UUID_LEN);
		ck_assert_uint_lt(++calls, 10);
	}
	ck_assert_uint_eq(k, 30);
	ck_assert_int_eq(store_batch_events(st, o.local_id, &pos, 8, got, &n, &done),
	    STORE_NOTFOUND);
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

static Suite *
store_suite(void)
{
	Suite *s = suite_create("store");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_batch_times_follow_the_monotonic_clock_across_steps);
	tcase_add_test(tc, test_batch_without_monotonic_stamp_keeps_its_order);
	tcase_add_test(tc, test_offline_event_goes_to_scale_batch_not_session);
	tcase_add_test(tc, test_two_scales_offline_get_two_batches_with_exact_counts);
	tcase_add_test(tc, test_link_up_closes_open_batches_and_next_outage_opens_new);
	tcase_add_test(tc, test_batch_done_when_end_reported_and_all_acked);
	tcase_add_test(tc, test_last_answer_of_a_closed_batch_is_told);
	tcase_add_test(tc, test_answers_of_a_reported_batch_are_not_told);
	tcase_add_test(tc, test_batch_events_read_in_slices);
	tcase_add_test(tc, test_link_state_survives_reopen);
	tcase_add_test(tc, test_batch_reported_for_unknown_batch_is_notfound);
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
