/*
 * Property test of the ingest path without sockets: the DP-401 framer, the
 * OK ledger (dp401_ack) and the P" copy rule, glued as the ingest worker
 * glues them, against a simulated scale, bridge and store.
 *
 * Each case is a random conversation: the scale sends valid records (16 or
 * 10 fields, some with an impossible date or time, some without their line
 * end), record-shaped lines that do not decode, over-long lines, tokens
 * (HB, SCALE-dd, prompts) and garbage; after each prompt's OK it may send
 * the P" copy of its last record. The bridge cuts the bytes at random TCP
 * boundaries and puts its own HB between segments. The store confirms in
 * random order and at random times.
 *
 * Properties:
 * - an OK is never sent while a record or line received before its prompt
 *   is unconfirmed, and every prompt gets its OK once all are confirmed;
 * - after the last OK every valid record sent is stored exactly once (its
 *   fields as sent; P" copies after an OK are not stored again), with the
 *   invalid-timestamp flag when its date/time was impossible;
 * - every record-shaped line that is not a valid record is quarantined.
 *
 * PROPERTY_CASES (default 10000) and PROPERTY_SEED change the run; a failure
 * names the case and the seed to reproduce it.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>

#define PROP_FAIL(caseno, seed, why) \
	ck_abort_msg("case %u (PROPERTY_SEED=%llu PROPERTY_CASES=1): %s", (caseno), \
	    (unsigned long long)(seed), (why))
#include "dp401_property.h"

START_TEST(test_ingest_property)
{
	const char *nc = getenv("PROPERTY_CASES"), *sd = getenv("PROPERTY_SEED");
	unsigned cases = nc != NULL ? (unsigned)strtoul(nc, NULL, 10) : 10000;
	uint64_t seed = sd != NULL ? strtoull(sd, NULL, 10) : 0x15c0ffee;
	unsigned records = 0;

	ck_assert_int_eq(dp401_set_timezone("Europe/Istanbul"), 0);
	for (unsigned i = 0; i < cases; i++) {
		run_case(i, seed + i);
		records += (unsigned)E.nst;
	}
	printf("%u cases, %u records and lines stored, seed %llu\n", cases, records,
	    (unsigned long long)seed);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("dp401_property");
	TCase *tc = tcase_create("ingest");
	SRunner *sr;
	int failed;

	tcase_set_timeout(tc, 240);
	tcase_add_test(tc, test_ingest_property);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
