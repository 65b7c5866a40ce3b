/*
 * DP-401 framing where the first parser OK'd and lost data (issue 15): a
 * bridge heartbeat inside a record, a record that lost its line end, an
 * over-long line swallowing the next record, a prompt glued to a record. Each
 * record must come out whole, and every record-shaped line must come out as a
 * record or as a line to quarantine, never as nothing.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dp401/dp401.h"

#define OP48 "KAAN                                            "
#define REC(plu, net, company) \
	plu ",06:00:27,30.01.2026,KIYMA           ,000000000001,0000," OP48 \
	",0000072091,0000062415," net ",2,0,2,1,N," company
#define REC10(plu, net) \
	plu ",06:00:27,30.01.2026,KIYMA           ,000000000001,0000," OP48 \
	",0000072091,0000062415," net

#define MAX_ITEMS 64

struct got {
	int n;
	enum dp401_kind kind[MAX_ITEMS];
	struct ct_event ev[MAX_ITEMS];
	char line[MAX_ITEMS][600];
	size_t line_len[MAX_ITEMS];
	bool overflow[MAX_ITEMS];
};

static struct got got;
static struct dp401_parser parser;

static void
collect(void *arg, const struct dp401_item *it)
{
	struct got *g = arg;
	size_t n = it->line_len < sizeof(g->line[0]) - 1 ? it->line_len : sizeof(g->line[0]) - 1;

	ck_assert_int_lt(g->n, MAX_ITEMS);
	g->kind[g->n] = it->kind;
	if (it->ev != NULL)
		g->ev[g->n] = *it->ev;
	if (it->line != NULL)
		memcpy(g->line[g->n], it->line, n);
	g->line[g->n][n] = '\0';
	g->line_len[g->n] = it->line_len;
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
feed(const char *s)
{
	dp401_feed(&parser, s, strlen(s));
}

/* Items of one kind, in order, by index into got. */
static int
nth(enum dp401_kind kind, int k)
{
	for (int i = 0; i < got.n; i++)
		if (got.kind[i] == kind && k-- == 0)
			return i;
	return -1;
}

static int
count(enum dp401_kind kind)
{
	int n = 0;

	for (int i = 0; i < got.n; i++)
		n += got.kind[i] == kind;
	return n;
}

/* ---- item 2: a heartbeat inside a record ---- */

/* The bridge's HB lands between two TCP segments of a record: at every
 * byte position of a real 170-byte record, the record comes out whole. */
START_TEST(test_hb_inside_record_at_every_position)
{
	static const char rec[] = REC("00001", "0000009676", "KORKUT KAAN BALTA");
	char buf[512];
	size_t n = strlen(rec);

	for (size_t cut = 0; cut <= n; cut++) {
		setup();
		/* a first record gives the company to compare with */
		feed(rec);
		feed("\r\n");
		memcpy(buf, rec, cut);
		memcpy(buf + cut, "HB", 2);
		memcpy(buf + cut + 2, rec + cut, n - cut);
		memcpy(buf + n + 2, "\r\nKONTROLLU AKTAR OK?", 22);
		dp401_feed(&parser, buf, cut);
		dp401_feed(&parser, buf + cut, n + 2 + 21 - cut);
		ck_assert_msg(count(DP401_RECORD) == 2, "HB at %zu: %d records", cut,
		    count(DP401_RECORD));
		int r = nth(DP401_RECORD, 1);
		ck_assert_msg(strcmp(got.line[r], rec) == 0, "HB at %zu: record %s", cut,
		    got.line[r]);
		ck_assert_str_eq(got.ev[r].company, "KORKUT KAAN BALTA");
		ck_assert_str_eq(got.ev[r].operator_name, "KAAN");
		ck_assert_int_eq(got.ev[r].net_raw, 9676);
		ck_assert_int_eq(count(DP401_HEARTBEAT), 1);
		ck_assert_int_eq(count(DP401_ACK_REQUEST), 1);
		ck_assert_int_eq(count(DP401_REJECTED), 0);
		ck_assert_int_eq(parser.cnt.garbage_bytes, 0);
	}
}
END_TEST

/* ... and inside the prompt and the registration too. */
START_TEST(test_hb_inside_tokens)
{
	feed("SCALE-0HB7KONTROLLU AKHBTAR OK?");
	ck_assert_int_eq(got.n, 4);
	ck_assert_int_eq(got.kind[0], DP401_REGISTER);
	ck_assert_int_eq(got.kind[1], DP401_HEARTBEAT);
	ck_assert_int_eq(got.kind[2], DP401_ACK_REQUEST);
	ck_assert_int_eq(got.kind[3], DP401_HEARTBEAT);
	ck_assert_int_eq(parser.cnt.garbage_bytes, 0);
}
END_TEST

/* Text that holds "HB" itself keeps it: the fixed width shows none was added. */
START_TEST(test_hb_in_names_kept)
{
	feed("00001,06:00:27,30.01.2026,SAHBAZ          ,000000000001,0000,"
	    "MAHBUBE                                         ,0000072091,0000062415,"
	    "0000009676,2,0,2,1,N,HB GIDA\r\n");
	ck_assert_int_eq(count(DP401_RECORD), 1);
	ck_assert_str_eq(got.ev[0].product, "SAHBAZ");
	ck_assert_str_eq(got.ev[0].operator_name, "MAHBUBE");
	ck_assert_str_eq(got.ev[0].company, "HB GIDA");
	ck_assert_int_eq(count(DP401_HEARTBEAT), 0);
}
END_TEST

/* An HB inside a name that has its own: the one added goes. */
START_TEST(test_hb_added_to_name_with_hb)
{
	char op[64], line[256];

	/* 48 wide, then the bridge's HB in the padding: 50 */
	snprintf(op, sizeof(op), "%-48s", "MAHBUBE");
	memmove(op + 32, op + 30, 19);
	memcpy(op + 30, "HB", 2);
	snprintf(line, sizeof(line), "00001,06:00:27,30.01.2026,KIYMA           ,000000000001,0000,"
	    "%s,0000072091,0000062415,0000009676,2,0,2,1,N,HB GIDA\r\n", op);
	ck_assert_int_eq(strlen(op), 50);
	feed(line);
	feed("00001,06:00:28,30.01.2026,KIYMA           ,000000000001,0000," OP48
	    ",0000072091,0000062415,0000009676,2,0,2,1,N,HB GHBIDA\r\n");
	ck_assert_int_eq(count(DP401_RECORD), 2);
	ck_assert_str_eq(got.ev[0].operator_name, "MAHBUBE");
	ck_assert_str_eq(got.ev[nth(DP401_RECORD, 1)].company, "HB GIDA");
	ck_assert_int_eq(count(DP401_HEARTBEAT), 2);
}
END_TEST

/* ---- item 3: a record without its line end ---- */

/* Record A without CRLF, then record B, then the prompt: two records. */
START_TEST(test_record_without_line_end_then_record)
{
	feed(REC("00001", "0000000014", "KORKUT KAAN BALTA"));
	feed(REC("00002", "0000009676", "KORKUT KAAN BALTA") "\r\nKONTROLLU AKTAR OK?");
	ck_assert_int_eq(count(DP401_RECORD), 2);
	ck_assert_str_eq(got.ev[0].plu, "00001");
	ck_assert_str_eq(got.ev[0].company, "KORKUT KAAN BALTA");
	ck_assert_int_eq(got.ev[0].net_raw, 14);
	ck_assert_str_eq(got.ev[1].plu, "00002");
	ck_assert_int_eq(got.ev[1].net_raw, 9676);
	ck_assert_int_eq(got.kind[2], DP401_ACK_REQUEST);
	ck_assert_int_eq(parser.cnt.split_lines, 1);
}
END_TEST

/* A company that ends in P ("KASAP") is not taken for a P prefix; a P"
 * copy glued on is. */
START_TEST(test_glued_records_keep_company_and_prefix)
{
	feed(REC("00001", "0000000014", "YILMAZ KASAP"));
	feed(REC("00002", "0000000015", "YILMAZ KASAP"));
	feed(REC("P\"00002", "0000000015", "YILMAZ KASAP") "\r\n");
	ck_assert_int_eq(count(DP401_RECORD), 3);
	ck_assert_str_eq(got.ev[0].company, "YILMAZ KASAP");
	ck_assert_str_eq(got.ev[1].company, "YILMAZ KASAP");
	ck_assert_int_eq(got.ev[1].plu_prefix, CT_PLU_PLAIN);
	ck_assert_int_eq(got.ev[2].plu_prefix, CT_PLU_PQUOTE);
	ck_assert_str_eq(got.ev[2].plu, "00002");
}
END_TEST

/* A 10-field record has no company: the next record's PLU glues onto its
 * net weight, and the head after it still ends it. */
START_TEST(test_ten_field_record_without_line_end)
{
	feed(REC10("00001", "0000009676") REC10("00002", "0000000014") "\r\n");
	ck_assert_int_eq(count(DP401_RECORD), 2);
	ck_assert_int_eq(got.ev[0].net_raw, 9676);
	ck_assert_str_eq(got.ev[1].plu, "00002");
	ck_assert_int_eq(got.ev[1].net_raw, 14);
}
END_TEST

/* A prompt right after a record that lost its line end: the record, then
 * the request, so the OK covers it. */
START_TEST(test_prompt_glued_to_record)
{
	feed(REC("00001", "0000009676", "KORKUT KAAN BALTA") "KONTROLLU AKTAR OK?");
	ck_assert_int_eq(got.n, 2);
	ck_assert_int_eq(got.kind[0], DP401_RECORD);
	ck_assert_str_eq(got.ev[0].company, "KORKUT KAAN BALTA");
	ck_assert_int_eq(got.kind[1], DP401_ACK_REQUEST);
}
END_TEST

/* A record head in a line that is not a record (a stray "5,") ends it: the
 * stray part is a line to quarantine, the record is whole. */
START_TEST(test_record_head_ends_stray_line)
{
	feed("5,x" REC("00001", "0000009676", "KORKUT KAAN BALTA") "\r\n");
	ck_assert_int_eq(got.n, 2);
	ck_assert_int_eq(got.kind[0], DP401_REJECTED);
	ck_assert_str_eq(got.line[0], "5,x");
	ck_assert_int_eq(got.kind[1], DP401_RECORD);
	ck_assert_int_eq(got.ev[1].net_raw, 9676);
}
END_TEST

/* ---- item 4: an over-long line swallows the next record ---- */

/* 5,006 record-like bytes without a line end, then at once a valid record,
 * then the prompt: the long line is cut (to quarantine), the record kept. */
START_TEST(test_overlong_line_then_record_at_once)
{
	static char big[5007];

	memset(big, 'Z', 5006);
	memcpy(big, "00001,06:00:27,30.01.2026,", 26);
	big[5006] = '\0';
	feed(big);
	feed(REC("00002", "0000009676", "KORKUT KAAN BALTA") "\r\nKONTROLLU AKTAR OK?");
	ck_assert_int_eq(got.n, 3);
	ck_assert_int_eq(got.kind[0], DP401_REJECTED);
	ck_assert(got.overflow[0]);
	ck_assert_int_eq(got.line_len[0], DP401_BUF_MAX);
	ck_assert_int_eq(got.kind[1], DP401_RECORD);
	ck_assert_int_eq(got.ev[1].net_raw, 9676);
	ck_assert_int_eq(got.kind[2], DP401_ACK_REQUEST);
	ck_assert_int_eq(parser.cnt.overflow_lines, 1);
	ck_assert_int_eq(parser.cnt.discarded_bytes, 5006 - DP401_BUF_MAX);
}
END_TEST

/* The same, fed a byte at a time: the same items. */
START_TEST(test_overlong_line_then_record_byte_by_byte)
{
	static char s[6000];
	size_t n;

	memset(s, '7', 5006);
	memcpy(s, "00001,", 6);
	n = 5006;
	n += (size_t)snprintf(s + n, sizeof(s) - n, "%s",
	    REC("00002", "0000009676", "X") "KONTROLLU AKTAR OK?");
	for (size_t i = 0; i < n; i++)
		dp401_feed(&parser, s + i, 1);
	ck_assert_int_eq(got.n, 3);
	ck_assert(got.overflow[0]);
	ck_assert_int_eq(got.kind[1], DP401_RECORD);
	ck_assert_str_eq(got.ev[1].company, "X");
	ck_assert_int_eq(got.kind[2], DP401_ACK_REQUEST);
}
END_TEST

/* A prompt inside the over-long line's rest still gets answered. */
START_TEST(test_overlong_line_then_prompt)
{
	static char big[5001];

	memset(big, 'A', 5000);
	memcpy(big, "00001,", 6);
	big[5000] = '\0';
	feed(big);
	feed("KONTROLLU AKTAR OK?");
	ck_assert_int_eq(got.n, 2);
	ck_assert_int_eq(got.kind[1], DP401_ACK_REQUEST);
}
END_TEST

/* ---- item 1: what is kept ---- */

/* Record-shaped lines that do not decode come out REJECTED with their bytes
 * (the caller quarantines them); bytes that are no line are garbage. */
START_TEST(test_bad_lines_come_out_with_bytes)
{
	feed("00001,not,a,record\r\n");
	feed("P\"123456,06:00:27,30.01.2026\r\n");
	feed("hello\r\n");
	ck_assert_int_eq(got.n, 2);
	ck_assert_int_eq(got.kind[0], DP401_REJECTED);
	ck_assert_str_eq(got.line[0], "00001,not,a,record");
	ck_assert_int_eq(got.kind[1], DP401_REJECTED);
	ck_assert_str_eq(got.line[1], "P\"123456,06:00:27,30.01.2026");
	ck_assert_int_eq(parser.cnt.garbage_bytes, 5);
}
END_TEST

/* The P" copy of a record with a bad clock is still its copy. */
START_TEST(test_confirmation_of_invalid_time)
{
	feed(REC("00001", "0000009676", "X") "\r\n");
	feed(REC("P\"00001", "0000009676", "X") "\r\n");
	ck_assert_int_eq(count(DP401_RECORD), 2);
	/* same valid time: copy */
	ck_assert(dp401_is_confirmation(&got.ev[0], &got.ev[1], DP401_CONFIRM_SKEW_S));
	setup();
	feed("00001,24:00:00,30.01.2026,KIYMA           ,000000000001,0000," OP48
	    ",0000072091,0000062415,0000009676\r\n");
	feed("P\"00001,24:00:02,30.01.2026,KIYMA           ,000000000001,0000," OP48
	    ",0000072091,0000062415,0000009676\r\n");
	feed("P\"00001,24:09:02,30.01.2026,KIYMA           ,000000000001,0000," OP48
	    ",0000072091,0000062415,0000009676\r\n");
	ck_assert_int_eq(count(DP401_RECORD), 3);
	ck_assert(dp401_is_confirmation(&got.ev[0], &got.ev[1], DP401_CONFIRM_SKEW_S));
	ck_assert(!dp401_is_confirmation(&got.ev[0], &got.ev[2], DP401_CONFIRM_SKEW_S));
	/* one valid, one not: no copy */
	feed(REC("P\"00001", "0000009676", "X") "\r\n");
	ck_assert(!dp401_is_confirmation(&got.ev[0], &got.ev[3], DP401_CONFIRM_SKEW_S));
}
END_TEST

static Suite *
kept_suite(void)
{
	Suite *s = suite_create("dp401_kept");
	TCase *tc;

#define ADD(name, ...) do { tc = tcase_create(name); tcase_add_checked_fixture(tc, setup, NULL); \
	__VA_ARGS__; suite_add_tcase(s, tc); } while (0)
	ADD("heartbeat inside",
	    tcase_add_test(tc, test_hb_inside_record_at_every_position);
	    tcase_add_test(tc, test_hb_inside_tokens);
	    tcase_add_test(tc, test_hb_in_names_kept);
	    tcase_add_test(tc, test_hb_added_to_name_with_hb));
	ADD("lost line end",
	    tcase_add_test(tc, test_record_without_line_end_then_record);
	    tcase_add_test(tc, test_glued_records_keep_company_and_prefix);
	    tcase_add_test(tc, test_ten_field_record_without_line_end);
	    tcase_add_test(tc, test_prompt_glued_to_record);
	    tcase_add_test(tc, test_record_head_ends_stray_line));
	ADD("over-long line",
	    tcase_add_test(tc, test_overlong_line_then_record_at_once);
	    tcase_add_test(tc, test_overlong_line_then_record_byte_by_byte);
	    tcase_add_test(tc, test_overlong_line_then_prompt));
	ADD("kept",
	    tcase_add_test(tc, test_bad_lines_come_out_with_bytes);
	    tcase_add_test(tc, test_confirmation_of_invalid_time));
#undef ADD
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(kept_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
