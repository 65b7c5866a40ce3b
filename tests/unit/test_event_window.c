/*
 * The cloud worker's window (lib/event/event_window.c): bounded at its
 * capacity, finds acks by localEventId, survives removals in any order
 * (backward-shift deletion keeps every other entry findable).
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "event/event_window.h"

static void
id_of(uint32_t n, uint8_t id[CT_UUID_LEN])
{
	/* Colliding first bytes on purpose for small n: long probe chains. */
	memset(id, 0, CT_UUID_LEN);
	id[0] = (uint8_t)(n % 3);
	memcpy(id + 8, &n, sizeof(n));
}

START_TEST(test_window_refuses_past_capacity)
{
	struct ev_window f;
	uint8_t id[CT_UUID_LEN];

	ck_assert_int_eq(evw_init(&f, 8), 0);
	for (uint32_t i = 0; i < 8; i++) {
		id_of(i, id);
		ck_assert_int_eq(evw_add(&f, id, i + 1, 0), 0);
	}
	id_of(99, id);
	ck_assert_int_eq(evw_add(&f, id, 100, 0), -1);
	ck_assert_uint_eq(f.n, 8);
	evw_free(&f);
}
END_TEST

START_TEST(test_window_refuses_same_id_twice)
{
	struct ev_window f;
	uint8_t id[CT_UUID_LEN];

	ck_assert_int_eq(evw_init(&f, 4), 0);
	id_of(1, id);
	ck_assert_int_eq(evw_add(&f, id, 1, 0), 0);
	ck_assert_int_eq(evw_add(&f, id, 2, 0), -1);
	ck_assert_uint_eq(f.n, 1);
	evw_free(&f);
}
END_TEST

START_TEST(test_window_remove_returns_seq)
{
	struct ev_window f;
	uint8_t id[CT_UUID_LEN];
	uint64_t seq = 0;

	ck_assert_int_eq(evw_init(&f, 4), 0);
	id_of(7, id);
	evw_add(&f, id, 42, 0);
	ck_assert(evw_remove(&f, id, &seq));
	ck_assert_uint_eq(seq, 42);
	ck_assert(!evw_remove(&f, id, &seq));
	ck_assert(!evw_has(&f, id));
	ck_assert_uint_eq(f.n, 0);
	evw_free(&f);
}
END_TEST

START_TEST(test_window_removals_in_any_order_keep_the_rest_findable)
{
	struct ev_window f;
	uint8_t id[CT_UUID_LEN];
	enum { N = 500 };

	ck_assert_int_eq(evw_init(&f, N), 0);
	for (int round = 0; round < 3; round++) {
		for (uint32_t i = 0; i < N; i++) {
			id_of(i, id);
			ck_assert_int_eq(evw_add(&f, id, i, 0), 0);
		}
		/* remove every third, then check all the others are there */
		for (uint32_t i = 0; i < N; i += 3) {
			id_of(i, id);
			ck_assert(evw_remove(&f, id, NULL));
		}
		for (uint32_t i = 0; i < N; i++) {
			id_of(i, id);
			ck_assert_msg(evw_has(&f, id) == (i % 3 != 0), "id %u", i);
		}
		for (uint32_t i = N; i-- > 0;) {
			id_of(i, id);
			if (i % 3 != 0)
				ck_assert(evw_remove(&f, id, NULL));
		}
		ck_assert_uint_eq(f.n, 0);
		ck_assert_uint_eq(f.nfree, N);
	}
	evw_free(&f);
}
END_TEST

START_TEST(test_window_clear_empties_and_reuses)
{
	struct ev_window f;
	uint8_t id[CT_UUID_LEN];

	ck_assert_int_eq(evw_init(&f, 16), 0);
	for (uint32_t i = 0; i < 16; i++) {
		id_of(i, id);
		evw_add(&f, id, i, 0);
	}
	evw_clear(&f);
	ck_assert_uint_eq(f.n, 0);
	id_of(3, id);
	ck_assert(!evw_has(&f, id));
	ck_assert_int_eq(evw_add(&f, id, 3, 0), 0);
	evw_free(&f);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("cloud window");
	TCase *tc = tcase_create("window");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, test_window_refuses_past_capacity);
	tcase_add_test(tc, test_window_refuses_same_id_twice);
	tcase_add_test(tc, test_window_remove_returns_seq);
	tcase_add_test(tc, test_window_removals_in_any_order_keep_the_rest_findable);
	tcase_add_test(tc, test_window_clear_empties_and_reuses);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
