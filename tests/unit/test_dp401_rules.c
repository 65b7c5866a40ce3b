/*
 * DP-401 parser, the rules of a record: dates and times kept but flagged
 * when impossible, field checks, prefixes and code page, weight units, the
 * site's time zone, a bounded line buffer, and which P" copy confirms.
 */
#include "dp401_support.h"

/* A scale with a bad clock still weighed real meat: a record, flagged,
 * with the scale's text kept and no scale time (the edge gives it its own). */
START_TEST(test_feb_31_kept_flagged)
{
	char buf[256];

	snprintf(buf, sizeof(buf), "%s", cap2);
	memcpy(buf + 15, "31.02.2026", 10);
	feed_line(buf, "\r\n");
	const struct ct_event *ev = only_record();
	ck_assert(ev->edge_flags & CT_EVF_SCALE_TS_INVALID);
	ck_assert_str_eq(ev->scale_date_raw, "31.02.2026");
	ck_assert_str_eq(ev->scale_time_raw, "06:00:27");
	ck_assert_int_eq(ev->scale_ts, 0);
	ck_assert_int_eq(ev->net_raw, 9676);
	ck_assert_int_eq(parser.cnt.rejected_lines, 0);
	ck_assert_int_eq(parser.cnt.invalid_times, 1);
	ck_assert_int_eq(parser.cnt.records, 1);
}
END_TEST

START_TEST(test_feb_29_leap_year_accepted)
{
	char buf[256];

	snprintf(buf, sizeof(buf), "%s", cap2);
	memcpy(buf + 15, "29.02.2028", 10);
	feed_line(buf, "\r\n");
	only_record();
}
END_TEST

START_TEST(test_hour_24_kept_flagged)
{
	char buf[256];

	snprintf(buf, sizeof(buf), "%s", cap2);
	memcpy(buf + 6, "24:00:00", 8);
	feed_line(buf, "\r\n");
	const struct ct_event *ev = only_record();
	ck_assert(ev->edge_flags & CT_EVF_SCALE_TS_INVALID);
	ck_assert_str_eq(ev->scale_time_raw, "24:00:00");
	ck_assert_str_eq(ev->scale_date_raw, "30.01.2026");
}
END_TEST

/* A time field of the wrong shape is the same: flagged, its text kept
 * (printable, cut to fit). */
START_TEST(test_malformed_time_kept_flagged)
{
	feed_line("00001,6:0:27,30.1.26,KIYMA           ,000000000001,0000," OP48
	    ",0000072091,0000062415,0000009676", "\r\n");
	const struct ct_event *ev = only_record();
	ck_assert(ev->edge_flags & CT_EVF_SCALE_TS_INVALID);
	ck_assert_str_eq(ev->scale_time_raw, "6:0:27");
	ck_assert_str_eq(ev->scale_date_raw, "30.1.26");
}
END_TEST

START_TEST(test_valid_time_not_flagged)
{
	feed_line(cap2, "\r\n");
	const struct ct_event *ev = only_record();
	ck_assert_int_eq(ev->edge_flags, 0);
	ck_assert_str_eq(ev->scale_time_raw, "");
}
END_TEST

START_TEST(test_four_digit_plu_rejected)
{
	feed_line(cap2 + 1, "\r\n");
	ck_assert_int_eq(got.n, 1);
	ck_assert_int_eq(got.kind[0], DP401_REJECTED);
	ck_assert_ptr_nonnull(strstr(got.reason[0], "PLU \"0001\""));
}
END_TEST

START_TEST(test_non_integer_weight_rejected)
{
	char buf[256];

	snprintf(buf, sizeof(buf), "%s", cap2);
	buf[130] = 'x';   /* inside the tare field */
	feed_line(buf, "\r\n");
	ck_assert_int_eq(got.kind[0], DP401_REJECTED);
	ck_assert_ptr_nonnull(strstr(got.reason[0], "tare"));
}
END_TEST

START_TEST(test_record_longer_than_raw_max_rejected)
{
	char buf[1024];

	snprintf(buf, sizeof(buf), "%s%0600d", cap2, 0);
	feed_line(buf, "\r\n");
	ck_assert_int_eq(got.n, 1);
	ck_assert_int_eq(got.kind[0], DP401_REJECTED);
	ck_assert_ptr_nonnull(strstr(got.reason[0], "longer than 512"));
}
END_TEST

START_TEST(test_pquote_and_p_prefixes_recognised)
{
	char buf[512];

	snprintf(buf, sizeof(buf), "P\"%s\r\nP%s\r\n", cap2, cap2);
	feed_str(buf);
	ck_assert_int_eq(got.records, 2);
	ck_assert_str_eq(got.ev[0].plu, "00001");
	ck_assert_int_eq(got.ev[0].plu_prefix, CT_PLU_PQUOTE);
	ck_assert_int_eq(got.ev[1].plu_prefix, CT_PLU_P);
}
END_TEST

START_TEST(test_turkish_letters_decoded)
{
	char buf[256];

	snprintf(buf, sizeof(buf),
	    "00002,06:00:27,30.01.2026,%-16s,000000000001,0000,%-48s,"
	    "0000000100,0000000000,0000000100,0,0,0,1,N,%s\r\n",
	    "\xC7\xD0\xDD\xD6\xDE\xDC", "\xE7\xF0\xFD\xF6\xFE\xFC", "A\x81Z");
	feed_str(buf);
	const struct ct_event *ev = only_record();
	ck_assert_str_eq(ev->product, "ÇĞİÖŞÜ");
	ck_assert_str_eq(ev->operator_name, "çğıöşü");
	ck_assert_str_eq(ev->company, "A\xEF\xBF\xBDZ");   /* 0x81 is undefined */
}
END_TEST

START_TEST(test_weight_unit_100_grams)
{
	dp401_set_unit(&parser, 100);
	feed_line(cap1, "\r\n");
	const struct ct_event *ev = only_record();
	ck_assert_int_eq(ev->net_raw, 14);
	ck_assert_int_eq(ev->net_g, 1400);
	ck_assert_int_eq(ev->gross_g, 2700);
	ck_assert_int_eq(ev->tare_g, 1300);
}
END_TEST

START_TEST(test_dst_boundary_berlin)
{
	char s[CT_ISO_MAX];

	ck_assert_int_eq(dp401_set_timezone("Europe/Berlin"), 0);
	iso(berlin(2026, 3, 29, 1, 30), s);
	ck_assert_str_eq(s, "2026-03-29T00:30:00Z");   /* CET, +01:00 */
	iso(berlin(2026, 3, 29, 3, 30), s);
	ck_assert_str_eq(s, "2026-03-29T01:30:00Z");   /* CEST, +02:00 */
	iso(berlin(2026, 10, 24, 12, 0), s);
	ck_assert_str_eq(s, "2026-10-24T10:00:00Z");
	iso(berlin(2026, 10, 26, 12, 0), s);
	ck_assert_str_eq(s, "2026-10-26T11:00:00Z");
}
END_TEST

START_TEST(test_record_time_uses_configured_zone)
{
	char s[CT_ISO_MAX];

	ck_assert_int_eq(dp401_set_timezone("Europe/Berlin"), 0);
	feed_line(cap2, "\r\n");
	iso(only_record()->scale_ts, s);
	ck_assert_str_eq(s, "2026-01-30T05:00:27Z");
}
END_TEST

START_TEST(test_unknown_timezone_refused)
{
	ck_assert_int_eq(dp401_set_timezone("Mars/Olympus"), -1);
	ck_assert_int_eq(dp401_set_timezone("../etc/passwd"), -1);
	ck_assert_int_eq(dp401_set_timezone(""), -1);
}
END_TEST

START_TEST(test_overflow_costs_only_the_bad_line)
{
	static char big[5000];

	memset(big, '7', sizeof(big));
	memcpy(big, "00001,", 6);
	dp401_feed(&parser, big, sizeof(big));
	ck_assert_int_eq(parser.cnt.overflow_lines, 1);
	ck_assert_int_eq(got.kind[0], DP401_REJECTED);
	ck_assert(got.overflow[0]);
	dp401_feed(&parser, big, sizeof(big));   /* still the same line */
	ck_assert_int_eq(parser.cnt.overflow_lines, 1);
	feed_str("\r\n");
	feed_line(cap2, "\r\n");
	ck_assert_int_eq(got.n, 2);
	ck_assert_int_eq(got.kind[1], DP401_RECORD);
	ck_assert_int_eq(got.ev[1].net_raw, 9676);
	ck_assert_int_eq(parser.cnt.rejected_lines, 0);
}
END_TEST

START_TEST(test_unterminated_record_parsed_at_finish)
{
	feed_str(cap2);
	ck_assert_int_eq(got.n, 0);
	dp401_finish(&parser);
	only_record();
	ck_assert_uint_eq(dp401_pending(&parser), 0);
}
END_TEST

START_TEST(test_pquote_copy_is_confirmation)
{
	char b[256];

	snprintf(b, sizeof(b), "P\"%s", cap2);
	memcpy(b + 2 + 12, "29", 2);   /* two seconds later */
	two_records(cap2, b);
	ck_assert(dp401_is_confirmation(&got.ev[0], &got.ev[1], DP401_CONFIRM_SKEW_S));
}
END_TEST

START_TEST(test_equal_plain_records_are_not_confirmation)
{
	two_records(cap2, cap2);
	ck_assert(!dp401_is_confirmation(&got.ev[0], &got.ev[1], DP401_CONFIRM_SKEW_S));
}
END_TEST

START_TEST(test_pquote_with_other_weight_is_not_confirmation)
{
	char b[256];

	snprintf(b, sizeof(b), "P\"%s", cap1);
	two_records(cap2, b);
	ck_assert(!dp401_is_confirmation(&got.ev[0], &got.ev[1], DP401_CONFIRM_SKEW_S));
}
END_TEST

START_TEST(test_pquote_much_later_is_not_confirmation)
{
	char b[256];

	snprintf(b, sizeof(b), "P\"%s", cap2);
	memcpy(b + 2 + 9, "05", 2);   /* five minutes later */
	two_records(cap2, b);
	ck_assert(!dp401_is_confirmation(&got.ev[0], &got.ev[1], DP401_CONFIRM_SKEW_S));
	ck_assert(!dp401_is_confirmation(NULL, &got.ev[1], DP401_CONFIRM_SKEW_S));
}
END_TEST

static Suite *
dp401_suite(void)
{
	Suite *s = suite_create("dp401");
	TCase *tc;

#define ADD(name, fn) do { tc = tcase_create(name); tcase_add_checked_fixture(tc, setup, NULL); \
	fn; suite_add_tcase(s, tc); } while (0)
	ADD("validation",
	    tcase_add_test(tc, test_feb_31_kept_flagged);
	    tcase_add_test(tc, test_feb_29_leap_year_accepted);
	    tcase_add_test(tc, test_hour_24_kept_flagged);
	    tcase_add_test(tc, test_malformed_time_kept_flagged);
	    tcase_add_test(tc, test_valid_time_not_flagged);
	    tcase_add_test(tc, test_four_digit_plu_rejected);
	    tcase_add_test(tc, test_non_integer_weight_rejected);
	    tcase_add_test(tc, test_record_longer_than_raw_max_rejected);
	    tcase_add_test(tc, test_pquote_and_p_prefixes_recognised);
	    tcase_add_test(tc, test_turkish_letters_decoded);
	    tcase_add_test(tc, test_weight_unit_100_grams));
	ADD("timezone",
	    tcase_add_test(tc, test_dst_boundary_berlin);
	    tcase_add_test(tc, test_record_time_uses_configured_zone);
	    tcase_add_test(tc, test_unknown_timezone_refused));
	ADD("buffer",
	    tcase_add_test(tc, test_overflow_costs_only_the_bad_line);
	    tcase_add_test(tc, test_unterminated_record_parsed_at_finish));
	ADD("confirmation",
	    tcase_add_test(tc, test_pquote_copy_is_confirmation);
	    tcase_add_test(tc, test_equal_plain_records_are_not_confirmation);
	    tcase_add_test(tc, test_pquote_with_other_weight_is_not_confirmation);
	    tcase_add_test(tc, test_pquote_much_later_is_not_confirmation));
#undef ADD
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(dp401_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
