/*
 * The OK rule of one connection: an OK only once every record before the
 * request is stored, whatever order the confirmations come in.
 */
#include <check.h>
#include <stdlib.h>

#include "dp401/dp401_ack.h"

static struct dp401_ack a;

static void
setup(void)
{
	dp401_ack_init(&a);
}

/* What the observer heard: (asked, count) per answered group. */
static int64_t heard_asked[8];
static uint32_t heard_count[8];
static int nheard;

static void
heard(void *arg, int64_t asked, uint32_t count)
{
	(void)arg;
	if (nheard < 8) {
		heard_asked[nheard] = asked;
		heard_count[nheard] = count;
	}
	nheard++;
}

START_TEST(test_observer_hears_each_answered_group_with_its_first_time)
{
	uint64_t r1, r2;

	nheard = 0;
	a.answered = heard;
	r1 = dp401_ack_record(&a);
	ck_assert_uint_eq(dp401_ack_request(&a, 100), 0);
	ck_assert_uint_eq(dp401_ack_request(&a, 150), 0);      /* same group: no record between */
	r2 = dp401_ack_record(&a);
	ck_assert_uint_eq(dp401_ack_request(&a, 200), 0);
	ck_assert_int_eq(nheard, 0);
	ck_assert_uint_eq(dp401_ack_stored(&a, r1), 2);
	ck_assert_int_eq(nheard, 1);
	ck_assert_int_eq(heard_asked[0], 100);
	ck_assert_uint_eq(heard_count[0], 2);
	ck_assert_uint_eq(dp401_ack_stored(&a, r2), 1);
	ck_assert_int_eq(nheard, 2);
	ck_assert_int_eq(heard_asked[1], 200);
	ck_assert_uint_eq(heard_count[1], 1);
	/* nothing outstanding: answered at once, and heard */
	ck_assert_uint_eq(dp401_ack_request(&a, 300), 1);
	ck_assert_int_eq(nheard, 3);
	ck_assert_int_eq(heard_asked[2], 300);
}
END_TEST

START_TEST(test_request_with_nothing_outstanding_answered_at_once)
{
	ck_assert_uint_eq(dp401_ack_request(&a, 0), 1);
	ck_assert_uint_eq(dp401_ack_waiting(&a), 0);
}
END_TEST

START_TEST(test_request_waits_for_its_record)
{
	uint64_t r = dp401_ack_record(&a);

	ck_assert_uint_eq(dp401_ack_request(&a, 0), 0);
	ck_assert_uint_eq(dp401_ack_waiting(&a), 1);
	ck_assert_uint_eq(dp401_ack_stored(&a, r), 1);
	ck_assert_uint_eq(dp401_ack_waiting(&a), 0);
}
END_TEST

START_TEST(test_out_of_order_confirmations)
{
	uint64_t r1 = dp401_ack_record(&a), r2 = dp401_ack_record(&a);

	ck_assert_uint_eq(dp401_ack_request(&a, 0), 0);
	ck_assert_uint_eq(dp401_ack_stored(&a, r2), 0);
	ck_assert_uint_eq(dp401_ack_stored(&a, r1), 1);
}
END_TEST

START_TEST(test_later_request_not_answered_before_earlier_records)
{
	uint64_t r1 = dp401_ack_record(&a);
	ck_assert_uint_eq(dp401_ack_request(&a, 0), 0);
	uint64_t r2 = dp401_ack_record(&a);
	ck_assert_uint_eq(dp401_ack_request(&a, 0), 0);

	ck_assert_uint_eq(dp401_ack_stored(&a, r2), 0);
	ck_assert_uint_eq(dp401_ack_stored(&a, r1), 2);
}
END_TEST

START_TEST(test_earlier_request_answered_first)
{
	uint64_t r1 = dp401_ack_record(&a);
	ck_assert_uint_eq(dp401_ack_request(&a, 0), 0);
	uint64_t r2 = dp401_ack_record(&a);
	ck_assert_uint_eq(dp401_ack_request(&a, 0), 0);

	ck_assert_uint_eq(dp401_ack_stored(&a, r1), 1);
	ck_assert_uint_eq(dp401_ack_stored(&a, r2), 1);
}
END_TEST

START_TEST(test_repeated_requests_each_get_an_ok)
{
	uint64_t r = dp401_ack_record(&a);

	ck_assert_uint_eq(dp401_ack_request(&a, 0), 0);
	ck_assert_uint_eq(dp401_ack_request(&a, 0), 0);
	ck_assert_uint_eq(dp401_ack_request(&a, 0), 0);
	ck_assert_uint_eq(dp401_ack_waiting(&a), 3);
	ck_assert_uint_eq(dp401_ack_stored(&a, r), 3);
}
END_TEST

START_TEST(test_full_table_never_answers_early)
{
	uint64_t no[40];

	/* 40 groups (more than the table holds), nothing stored yet. */
	for (int i = 0; i < 40; i++) {
		no[i] = dp401_ack_record(&a);
		ck_assert_uint_eq(dp401_ack_request(&a, 0), 0);
	}
	ck_assert_uint_eq(dp401_ack_waiting(&a), 40);
	/* Store all but the last: the last request must still wait. */
	unsigned oks = 0;
	for (int i = 0; i < 39; i++)
		oks += dp401_ack_stored(&a, no[i]);
	ck_assert_uint_lt(oks, 40);
	ck_assert_uint_eq(oks + dp401_ack_stored(&a, no[39]), 40);
	ck_assert_uint_eq(dp401_ack_waiting(&a), 0);
}
END_TEST

START_TEST(test_unknown_record_numbers_ignored)
{
	uint64_t r = dp401_ack_record(&a);

	ck_assert_uint_eq(dp401_ack_request(&a, 0), 0);
	ck_assert_uint_eq(dp401_ack_stored(&a, 0), 0);
	ck_assert_uint_eq(dp401_ack_stored(&a, r + 1), 0);
	ck_assert_uint_eq(dp401_ack_waiting(&a), 1);
	ck_assert_uint_eq(dp401_ack_stored(&a, r), 1);
}
END_TEST

START_TEST(test_records_after_request_do_not_delay_it)
{
	uint64_t r1 = dp401_ack_record(&a);

	ck_assert_uint_eq(dp401_ack_request(&a, 0), 0);
	(void)dp401_ack_record(&a);
	(void)dp401_ack_record(&a);
	ck_assert_uint_eq(dp401_ack_stored(&a, r1), 1);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("dp401_ack");
	TCase *tc = tcase_create("ack");
	SRunner *sr;
	int failed;

	tcase_add_checked_fixture(tc, setup, NULL);
	tcase_add_test(tc, test_request_with_nothing_outstanding_answered_at_once);
	tcase_add_test(tc, test_observer_hears_each_answered_group_with_its_first_time);
	tcase_add_test(tc, test_request_waits_for_its_record);
	tcase_add_test(tc, test_out_of_order_confirmations);
	tcase_add_test(tc, test_later_request_not_answered_before_earlier_records);
	tcase_add_test(tc, test_earlier_request_answered_first);
	tcase_add_test(tc, test_repeated_requests_each_get_an_ok);
	tcase_add_test(tc, test_full_table_never_answers_early);
	tcase_add_test(tc, test_unknown_record_numbers_ignored);
	tcase_add_test(tc, test_records_after_request_do_not_delay_it);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
