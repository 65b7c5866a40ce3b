/*
 * What the DP-401 parser tests share (test_dp401.c, test_dp401_rules.c):
 * the real captures from DP401.md (0xDD is the Windows-1254 letter the
 * capture shows as `?`) and a parser that collects what it finds.
 */
#ifndef CT_DP401_SUPPORT_H
#define CT_DP401_SUPPORT_H

/* Each test file of the group uses some of these. */
#pragma GCC diagnostic ignored "-Wunused-function"
#pragma GCC diagnostic ignored "-Wunused-variable"

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

/* ---- terminators ---- */

/* ---- fragmentation and gluing ---- */

/* ---- garbage ---- */

/* ---- validation ---- */

/* ---- time zones ---- */

static int64_t
berlin(int y, int mo, int d, int h, int mi)
{
	int64_t t;

	ck_assert_int_eq(dp401_local_to_utc(y, mo, d, h, mi, 0, &t), 0);
	return t;
}

/* ---- buffer cap ---- */

/* ---- P" confirmation ---- */

static void
two_records(const char *a, const char *b)
{
	feed_line(a, "\r\n");
	feed_line(b, "\r\n");
	ck_assert_int_eq(got.records, 2);
}

/* ---- the formatter the simulator uses ---- */

#endif
