/*
 * DP-401 parser, the stream: the real captures from DP401.md (and the
 * format that reproduces them), line terminators, fragmentation at every
 * byte, and garbage between packets. (Field rules, time zones, the buffer,
 * confirmations: test_dp401_rules.c.)
 */
#include "dp401_support.h"

START_TEST(test_capture_weights_and_fields)
{
	feed_line(cap2, "\r\n");
	const struct ct_event *ev = only_record();
	ck_assert_str_eq(ev->plu, "00001");
	ck_assert_int_eq(ev->plu_prefix, CT_PLU_PLAIN);
	ck_assert_int_eq(ev->gross_raw, 72091);
	ck_assert_int_eq(ev->tare_raw, 62415);
	ck_assert_int_eq(ev->net_raw, 9676);
	ck_assert_int_eq(ev->gross_g, 72091);
	ck_assert_int_eq(ev->net_g, 9676);
	ck_assert_str_eq(ev->barcode, "000000000004");
	ck_assert_str_eq(ev->code, "0000");
	ck_assert_str_eq(ev->operator_name, "KAAN");
	ck_assert_str_eq(ev->company, "KORKUT KAAN BALTA");
	ck_assert_str_eq(ev->flags, "2021N");
	ck_assert_int_eq(ev->raw_len, 170);
	ck_assert_mem_eq(ev->raw, cap2, 170);
	ck_assert_int_eq(parser.cnt.records, 1);
	ck_assert_int_eq(parser.cnt.garbage_bytes, 0);
}
END_TEST

START_TEST(test_capture_product_cp1254_to_utf8)
{
	feed_line(cap1, "\r\n");
	ck_assert_str_eq(only_record()->product, "BONF\xC4\xB0LE");   /* BONFİLE */
}
END_TEST

START_TEST(test_capture_small_weights)
{
	feed_line(cap1, "\r\n");
	const struct ct_event *ev = only_record();
	ck_assert_int_eq(ev->gross_raw, 27);
	ck_assert_int_eq(ev->tare_raw, 13);
	ck_assert_int_eq(ev->net_raw, 14);
	ck_assert_str_eq(ev->flags, "1011N");
}
END_TEST

START_TEST(test_capture_large_weight_zero_tare)
{
	feed_line(cap3, "\r\n");
	const struct ct_event *ev = only_record();
	ck_assert_str_eq(ev->product, "KIYMA");
	ck_assert_int_eq(ev->gross_raw, 38319201);
	ck_assert_int_eq(ev->tare_raw, 0);
	ck_assert_int_eq(ev->net_raw, 38319201);
}
END_TEST

START_TEST(test_capture_time_istanbul_to_utc)
{
	char s[CT_ISO_MAX];

	feed_line(cap2, "\r\n");
	iso(only_record()->scale_ts, s);
	ck_assert_str_eq(s, "2026-01-30T03:00:27Z");
}
END_TEST

START_TEST(test_ten_field_record_is_valid)
{
	feed_line(rec10, "\r\n");
	const struct ct_event *ev = only_record();
	ck_assert_int_eq(ev->net_raw, 9676);
	ck_assert_str_eq(ev->flags, "");
	ck_assert_str_eq(ev->company, "");
}
END_TEST

START_TEST(test_nine_fields_rejected)
{
	feed_line("00001,06:00:27,30.01.2026,X,1,0000,K,1,0", "\r\n");
	ck_assert_int_eq(got.n, 1);
	ck_assert_int_eq(got.kind[0], DP401_REJECTED);
	ck_assert_ptr_nonnull(strstr(got.reason[0], "9 fields"));
	ck_assert_int_eq(parser.cnt.rejected_lines, 1);
}
END_TEST

START_TEST(test_crlf_terminated)
{
	feed_line(cap2, "\r\n");
	only_record();
}
END_TEST

START_TEST(test_lf_terminated)
{
	feed_line(cap2, "\n");
	only_record();
}
END_TEST

START_TEST(test_lone_cr_terminated)
{
	feed_line(cap2, "\r");
	only_record();
}
END_TEST

START_TEST(test_mixed_terminators_three_records)
{
	feed_line(cap1, "\r");
	feed_line(cap2, "\n");
	feed_line(cap3, "\r\n");
	ck_assert_int_eq(got.n, 3);
	ck_assert_int_eq(got.records, 3);
	ck_assert_int_eq(got.ev[2].net_raw, 38319201);
	ck_assert_int_eq(parser.cnt.garbage_bytes, 0);
}
END_TEST

START_TEST(test_empty_lines_ignored)
{
	feed_str("\r\n\r\n\n\r\r");
	ck_assert_int_eq(got.n, 0);
	ck_assert_int_eq(parser.cnt.garbage_bytes, 0);
	ck_assert_int_eq(parser.cnt.rejected_lines, 0);
}
END_TEST

START_TEST(test_record_split_at_every_byte)
{
	char buf[256];
	size_t len = (size_t)snprintf(buf, sizeof(buf), "%s\r\n", cap2);

	for (size_t k = 0; k <= len; k++) {
		setup();
		dp401_feed(&parser, buf, k);
		ck_assert_int_eq(got.records, k >= len - 1);   /* the CR ends it */
		dp401_feed(&parser, buf + k, len - k);
		ck_assert_msg(got.n == 1 && got.kind[0] == DP401_RECORD, "split at %zu", k);
		ck_assert_int_eq(got.ev[0].net_raw, 9676);
		ck_assert_int_eq(parser.cnt.garbage_bytes, 0);
	}
}
END_TEST

START_TEST(test_record_fed_byte_by_byte)
{
	char buf[256];
	size_t len =
	    (size_t)snprintf(buf, sizeof(buf), "SCALE-07HB%s\r\nKONTROLLU AKTAR OK?", cap2);

	for (size_t i = 0; i < len; i++)
		dp401_feed(&parser, buf + i, 1);
	ck_assert_int_eq(got.n, 4);
	ck_assert_int_eq(got.kind[0], DP401_REGISTER);
	ck_assert_int_eq(got.kind[1], DP401_HEARTBEAT);
	ck_assert_int_eq(got.kind[2], DP401_RECORD);
	ck_assert_int_eq(got.kind[3], DP401_ACK_REQUEST);
}
END_TEST

START_TEST(test_three_packets_in_one_read)
{
	char buf[256];

	snprintf(buf, sizeof(buf), "SCALE-01HB%s\r\n", cap2);
	feed_str(buf);
	ck_assert_int_eq(got.n, 3);
	ck_assert_int_eq(got.kind[0], DP401_REGISTER);
	ck_assert_str_eq(got.id[0], "SCALE-01");
	ck_assert_int_eq(got.kind[1], DP401_HEARTBEAT);
	ck_assert_int_eq(got.kind[2], DP401_RECORD);
	ck_assert_int_eq(parser.cnt.garbage_bytes, 0);
}
END_TEST

START_TEST(test_registration_split_scale0_then_1)
{
	feed_str("SCALE-0");
	ck_assert_int_eq(got.n, 0);
	feed_str("1");
	ck_assert_int_eq(got.n, 1);
	ck_assert_int_eq(got.kind[0], DP401_REGISTER);
	ck_assert_str_eq(got.id[0], "SCALE-01");
	ck_assert_int_eq(parser.cnt.registrations, 1);
}
END_TEST

START_TEST(test_registration_as_its_own_line)
{
	feed_str("SCALE-07\r\nHB\r\n");
	ck_assert_int_eq(got.n, 2);
	ck_assert_str_eq(got.id[0], "SCALE-07");
	ck_assert_int_eq(got.kind[1], DP401_HEARTBEAT);
	ck_assert_int_eq(parser.cnt.garbage_bytes, 0);
}
END_TEST

START_TEST(test_ack_request_with_and_without_newline)
{
	char buf[512];

	snprintf(buf, sizeof(buf), "%s\r\nKONTROLLU AKTAR OK?\nP\"%s\r\nKONTROLLU AKTAR OK?",
	    cap2, cap2);
	feed_str(buf);
	ck_assert_int_eq(got.n, 4);
	ck_assert_int_eq(got.kind[1], DP401_ACK_REQUEST);
	ck_assert_int_eq(got.kind[2], DP401_RECORD);
	ck_assert_int_eq(got.ev[2].plu_prefix, CT_PLU_PQUOTE);
	ck_assert_int_eq(got.kind[3], DP401_ACK_REQUEST);
	ck_assert_int_eq(parser.cnt.ack_requests, 2);
	ck_assert_int_eq(parser.cnt.garbage_bytes, 0);
}
END_TEST

START_TEST(test_hb_after_stray_byte)
{
	feed_str("\x01HB");
	ck_assert_int_eq(got.n, 1);
	ck_assert_int_eq(got.kind[0], DP401_HEARTBEAT);
	ck_assert_int_eq(parser.cnt.garbage_bytes, 1);
}
END_TEST

/* A digit then HB may be a PLU with a heartbeat inside it ("0HB0001,"):
 * the next byte decides, and it is then a stray digit and a heartbeat. */
START_TEST(test_hb_after_stray_digit)
{
	feed_str("7HB");
	ck_assert_int_eq(got.n, 0);
	feed_str("x");
	ck_assert_int_eq(got.n, 1);
	ck_assert_int_eq(got.kind[0], DP401_HEARTBEAT);
	ck_assert_int_eq(parser.cnt.garbage_bytes, 2);
}
END_TEST

/* ... and a bridge that only sends heartbeats after the stray digit gets
 * them counted two periods late at most (stale after 2, closed after 3). */
START_TEST(test_hb_after_stray_digit_then_more_hbs)
{
	feed_str("7HB");
	feed_str("HB");
	ck_assert_int_eq(got.n, 0);
	feed_str("HB");
	ck_assert_int_eq(got.n, 3);
	for (int i = 0; i < 3; i++)
		ck_assert_int_eq(got.kind[i], DP401_HEARTBEAT);
	ck_assert_int_eq(parser.cnt.garbage_bytes, 1);
}
END_TEST

START_TEST(test_hb_after_stray_h)
{
	feed_str("HHB");
	ck_assert_int_eq(got.n, 1);
	ck_assert_int_eq(got.kind[0], DP401_HEARTBEAT);
	ck_assert_int_eq(parser.cnt.garbage_bytes, 1);
}
END_TEST

START_TEST(test_100k_garbage_counted_then_packets_parsed)
{
	static uint8_t junk[100 * 1024];

	/* Bytes that can start no packet: all counted, nothing emitted. */
	for (size_t i = 0; i < sizeof(junk); i++)
		junk[i] = (uint8_t)("xyz!#%&\x80\xfe"[i % 9]);
	dp401_feed(&parser, junk, sizeof(junk));
	ck_assert_int_eq(parser.cnt.garbage_bytes, sizeof(junk));
	ck_assert_int_eq(got.n, 0);
	ck_assert_uint_lt(dp401_pending(&parser), 32);
	feed_str("HB");
	feed_line(cap2, "\r\n");
	ck_assert_int_eq(got.n, 2);
	ck_assert_int_eq(got.kind[0], DP401_HEARTBEAT);
	ck_assert_int_eq(got.kind[1], DP401_RECORD);
}
END_TEST

START_TEST(test_100k_random_bytes_then_line_end_recovers)
{
	static uint8_t junk[100 * 1024];
	unsigned s = 12345;

	for (size_t i = 0; i < sizeof(junk); i++) {
		s = s * 1103515245u + 12345u;
		junk[i] = (uint8_t)(s >> 16);
	}
	dp401_feed(&parser, junk, sizeof(junk));
	ck_assert_uint_gt(parser.cnt.garbage_bytes, 50 * 1024);
	feed_str("\r\nHB");
	feed_line(cap2, "\r\n");
	int n = got.n;
	ck_assert_int_ge(n, 2);
	ck_assert_int_eq(got.kind[n - 2], DP401_HEARTBEAT);
	ck_assert_int_eq(got.kind[n - 1], DP401_RECORD);
	ck_assert_int_eq(got.ev[n - 1].net_raw, 9676);
}
END_TEST

START_TEST(test_scale_id_inside_operator_stays_in_record)
{
	char buf[256];

	snprintf(buf, sizeof(buf),
	    "00001,06:00:27,30.01.2026,KIYMA           ,000000000001,0000,%-48s,"
	    "0000072091,0000062415,0000009676,2,0,2,1,N,SCALE-12 ET LTD\r\n", "SCALE-12 KAAN");
	feed_str(buf);
	const struct ct_event *ev = only_record();
	ck_assert_str_eq(ev->operator_name, "SCALE-12 KAAN");
	ck_assert_str_eq(ev->company, "SCALE-12 ET LTD");
	ck_assert_int_eq(parser.cnt.registrations, 0);
}
END_TEST

START_TEST(test_non_record_line_is_garbage_not_rejected)
{
	feed_str("hello world\r\n");
	ck_assert_int_eq(got.n, 0);
	ck_assert_int_eq(parser.cnt.garbage_bytes, 11);
}
END_TEST

START_TEST(test_format_reproduces_capture)
{
	struct dp401_fmt f = {
		.plu = 1, .hh = 6, .mi = 0, .ss = 27, .dd = 30, .mo = 1, .yyyy = 2026,
		.product = "BONF\xDDLE", .barcode = "000000000004", .code = "0000",
		.operator_name = "KAAN", .gross = 72091, .tare = 62415, .net = 9676,
		.flags = "2021N", .company = "KORKUT KAAN BALTA",
	};
	char out[256];

	ck_assert_uint_eq(dp401_format_record(&f, out, sizeof(out)), 170);
	ck_assert_str_eq(out, cap2);
	f.flags = NULL;
	ck_assert_uint_eq(dp401_format_record(&f, out, sizeof(out)), strlen(rec10));
	ck_assert_str_eq(out, rec10);
	ck_assert_uint_eq(dp401_format_record(&f, out, 100), 0);
}
END_TEST

static Suite *
dp401_suite(void)
{
	Suite *s = suite_create("dp401");
	TCase *tc;

#define ADD(name, fn) do { tc = tcase_create(name); tcase_add_checked_fixture(tc, setup, NULL); \
	fn; suite_add_tcase(s, tc); } while (0)
	ADD("captures",
	    tcase_add_test(tc, test_capture_weights_and_fields);
	    tcase_add_test(tc, test_capture_product_cp1254_to_utf8);
	    tcase_add_test(tc, test_capture_small_weights);
	    tcase_add_test(tc, test_capture_large_weight_zero_tare);
	    tcase_add_test(tc, test_capture_time_istanbul_to_utc);
	    tcase_add_test(tc, test_ten_field_record_is_valid);
	    tcase_add_test(tc, test_nine_fields_rejected));
	ADD("terminators",
	    tcase_add_test(tc, test_crlf_terminated);
	    tcase_add_test(tc, test_lf_terminated);
	    tcase_add_test(tc, test_lone_cr_terminated);
	    tcase_add_test(tc, test_mixed_terminators_three_records);
	    tcase_add_test(tc, test_empty_lines_ignored));
	ADD("fragmentation",
	    tcase_add_test(tc, test_record_split_at_every_byte);
	    tcase_add_test(tc, test_record_fed_byte_by_byte);
	    tcase_add_test(tc, test_three_packets_in_one_read);
	    tcase_add_test(tc, test_registration_split_scale0_then_1);
	    tcase_add_test(tc, test_registration_as_its_own_line);
	    tcase_add_test(tc, test_ack_request_with_and_without_newline));
	ADD("garbage",
	    tcase_add_test(tc, test_hb_after_stray_byte);
	    tcase_add_test(tc, test_hb_after_stray_digit);
	    tcase_add_test(tc, test_hb_after_stray_digit_then_more_hbs);
	    tcase_add_test(tc, test_hb_after_stray_h);
	    tcase_add_test(tc, test_100k_garbage_counted_then_packets_parsed);
	    tcase_add_test(tc, test_100k_random_bytes_then_line_end_recovers);
	    tcase_add_test(tc, test_scale_id_inside_operator_stays_in_record);
	    tcase_add_test(tc, test_non_record_line_is_garbage_not_rejected));
	ADD("format", tcase_add_test(tc, test_format_reproduces_capture));
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
