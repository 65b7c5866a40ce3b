/*
 * DP-401 parser: the real captures from DP401.md and every framing rule the
 * first edge got wrong. Fixtures are the captured bytes (0xDD is the
 * Windows-1254 `İ` the capture shows as `?`).
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dp401/dp401.h"

#define OP48 "KAAN                                            "

static const char cap1[] =
    "00001,06:25:17,30.01.2026,BONF\xDDLE         ,000000000004,0000," OP48
    ",0000000027,0000000013,0000000014,1,0,1,1,N,KORKUT KAAN BALTA";
static const char cap2[] =
    "00001,06:00:27,30.01.2026,BONF\xDDLE         ,000000000004,0000," OP48
    ",0000072091,0000062415,0000009676,2,0,2,1,N,KORKUT KAAN BALTA";
static const char cap3[] =
    "00001,01:44:22,30.01.2026,KIYMA           ,000000000001,0000," OP48
    ",0038319201,0000000000,0038319201,0,0,0,1,N,KORKUT KAAN BALTA";
/* The same weighing without flags and company. */
static const char rec10[] =
    "00001,06:00:27,30.01.2026,BONF\xDDLE         ,000000000004,0000," OP48
    ",0000072091,0000062415,0000009676";

#define MAX_ITEMS 64

struct got {
	int n;
	enum dp401_kind kind[MAX_ITEMS];
	struct ct_event ev[MAX_ITEMS];
	char id[MAX_ITEMS][DP401_SCALE_ID_LEN + 1];
	char reason[MAX_ITEMS][DP401_REASON_MAX];
	bool overflow[MAX_ITEMS];
	int records;
};

static struct got got;
static struct dp401_parser parser;

static void
collect(void *arg, const struct dp401_item *it)
{
	struct got *g = arg;

	if (it->kind == DP401_RECORD)
		g->records++;
	if (g->n >= MAX_ITEMS)
		return;
	g->kind[g->n] = it->kind;
	if (it->ev != NULL)
		g->ev[g->n] = *it->ev;
	memcpy(g->id[g->n], it->scale_id, sizeof(g->id[0]));
	if (it->reason != NULL)
		snprintf(g->reason[g->n], DP401_REASON_MAX, "%s", it->reason);
	g->overflow[g->n] = it->overflow;
	g->n++;
}

static void
setup(void)
{
	memset(&got, 0, sizeof(got));
	ck_assert_int_eq(dp401_set_timezone("Europe/Istanbul"), 0);
	dp401_init(&parser, 1, collect, &got);
}

static void
feed_str(const char *s)
{
	dp401_feed(&parser, s, strlen(s));
}

static void
feed_line(const char *rec, const char *eol)
{
	feed_str(rec);
	feed_str(eol);
}

static const struct ct_event *
only_record(void)
{
	ck_assert_int_eq(got.n, 1);
	ck_assert_int_eq(got.kind[0], DP401_RECORD);
	return &got.ev[0];
}

static void
iso(int64_t sec, char out[CT_ISO_MAX])
{
	ct_iso_from_sec(sec, out);
}

/* ---- real captures ---- */

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

/* ---- terminators ---- */

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

/* ---- fragmentation and gluing ---- */

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
	size_t len = (size_t)snprintf(buf, sizeof(buf), "SCALE-07HB%s\r\nKONTROLLU AKTAR OK?", cap2);

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

/* ---- garbage ---- */

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

/* ---- validation ---- */

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

/* ---- time zones ---- */

static int64_t
berlin(int y, int mo, int d, int h, int mi)
{
	int64_t t;

	ck_assert_int_eq(dp401_local_to_utc(y, mo, d, h, mi, 0, &t), 0);
	return t;
}

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

/* ---- buffer cap ---- */

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

/* ---- P" confirmation ---- */

static void
two_records(const char *a, const char *b)
{
	feed_line(a, "\r\n");
	feed_line(b, "\r\n");
	ck_assert_int_eq(got.records, 2);
}

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

/* ---- the formatter the simulator uses ---- */

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
