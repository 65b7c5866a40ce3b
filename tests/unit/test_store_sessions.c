/*
 * The store tags events with the session of their scale: started, paused,
 * resumed, ended, found by id, expired after idleness.
 */
#include "store_support.h"

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
	struct ct_event a = mkev("SCALE-01", 1, T0 + 4 * MIN),
	    b = mkev("SCALE-01", 2, T0 + 8 * MIN);

	store_close(st);
	st = open_store(0, 5 * MIN);
	session(CT_SESS_STARTED, "SCALE-01", "sess-1", T0);
	a = stored(put1(&a, true, T0 + 4 * MIN), NULL);
	b = stored(put1(&b, true, T0 + 8 * MIN), NULL);
	ck_assert_str_eq(b.cloud_session_id, "sess-1");
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

static Suite *
store_suite(void)
{
	Suite *s = suite_create("store");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_online_without_session_is_untagged);
	tcase_add_test(tc, test_online_tags_the_scales_own_session);
	tcase_add_test(tc, test_new_session_replaces_current);
	tcase_add_test(tc, test_paused_session_does_not_tag_and_resume_does);
	tcase_add_test(tc, test_ended_session_stops_tagging_at_once);
	tcase_add_test(tc, test_late_end_of_old_session_keeps_new_one);
	tcase_add_test(tc, test_idle_session_expires_visibly);
	tcase_add_test(tc, test_tagging_counts_as_session_activity);
	tcase_add_test(tc, test_resumed_after_expiry_tags_again);
	tcase_add_test(tc, test_session_found_by_id_without_device);
	tcase_add_test(tc, test_session_by_unknown_id_is_notfound);
	tcase_add_test(tc, test_session_started_paused_does_not_tag);
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
