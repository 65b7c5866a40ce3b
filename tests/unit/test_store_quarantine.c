/*
 * Quarantined lines in lib/store and the event codec version they ride in:
 * kept apart from events (never pending, never sent), once per id,
 * listed newest first in chunks, counted, pruned by retention, refused when
 * the store is full; events of the version-1 codec still decode.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "event/event_codec.h"
#include "store/store.h"

#define T0 1785000000000LL
#define DAY (24 * 3600 * 1000LL)

static char dir[256];
static struct store *st;

static struct store *
open_store(uint64_t map_size)
{
	struct store_opts o = { .map_size = map_size, .site_id = "SITE01" };
	struct store *s = NULL;
	char err[512];

	ck_assert_msg(store_open(&s, dir, &o, err, sizeof(err)) == STORE_OK, "store_open: %s", err);
	return s;
}

static void
setup(void)
{
	snprintf(dir, sizeof(dir), "/tmp/test_storeq.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	st = open_store(0);
}

static void
teardown(void)
{
	char cmd[300];

	store_close(st);
	st = NULL;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "cleanup of %s failed\n", dir);
}

static struct ct_event
mkline(const char *raw, int64_t at_ms)
{
	struct ct_event ev;

	memset(&ev, 0, sizeof(ev));
	ev.kind = CT_EV_QUARANTINED;
	ck_assert_int_eq(ct_uuid_new(ev.local_id), 0);
	snprintf(ev.device_id, sizeof(ev.device_id), "SCALE-01");
	snprintf(ev.source_ip, sizeof(ev.source_ip), "10.0.0.7");
	ev.received_at_ms = at_ms;
	ev.raw_len = (uint16_t)strlen(raw);
	memcpy(ev.raw, raw, ev.raw_len);
	ev.line_len = ev.raw_len;
	snprintf(ev.reason, sizeof(ev.reason), "4 fields, a record has at least 10");
	return ev;
}

static int
put(const struct ct_event *ev, int64_t now, bool *dup)
{
	int e;

	ck_assert_int_eq(store_begin(st, now), STORE_OK);
	e = store_put_quarantine(st, ev, dup);
	ck_assert_int_eq(store_commit(st), STORE_OK);
	return e;
}

struct seen {
	int  n;
	char raw[16][64];
};

static int
collect(const struct ct_event *ev, const struct store_sync *sy, void *arg)
{
	struct seen *s = arg;

	ck_assert_ptr_null(sy);
	ck_assert_int_eq(ev->kind, CT_EV_QUARANTINED);
	if (s->n < 16)
		snprintf(s->raw[s->n], sizeof(s->raw[0]), "%.*s", (int)ev->raw_len, ev->raw);
	s->n++;
	return 0;
}

START_TEST(test_kept_apart_from_events)
{
	struct ct_event ev = mkline("00001,not,a,record", T0);
	struct store_stats sx;
	struct seen s = { 0 };
	struct store_qpos pos = { 0 };
	bool dup;

	ck_assert_int_eq(put(&ev, T0, &dup), STORE_OK);
	ck_assert(!dup);
	ck_assert_int_eq(store_stats_get(st, &sx), STORE_OK);
	ck_assert_uint_eq(sx.quarantined, 1);
	ck_assert_uint_eq(sx.events, 0);
	ck_assert_uint_eq(sx.pending, 0);
	ck_assert_int_eq(store_quarantine_iter(st, &pos, 0, collect, &s), STORE_OK);
	ck_assert_int_eq(s.n, 1);
	ck_assert_str_eq(s.raw[0], "00001,not,a,record");
}
END_TEST

/* ingest resends what store did not confirm: the same line is kept once */
START_TEST(test_resend_kept_once)
{
	struct ct_event ev = mkline("7,", T0);
	struct store_stats sx;
	bool dup;

	ck_assert_int_eq(put(&ev, T0, &dup), STORE_OK);
	ck_assert_int_eq(put(&ev, T0 + 5000, &dup), STORE_OK);
	ck_assert(dup);
	ck_assert_int_eq(store_stats_get(st, &sx), STORE_OK);
	ck_assert_uint_eq(sx.quarantined, 1);
}
END_TEST

START_TEST(test_listed_newest_first_in_chunks)
{
	struct store_qpos pos = { 0 };
	struct seen s = { 0 };
	bool dup;

	for (int i = 0; i < 7; i++) {
		char raw[16];
		snprintf(raw, sizeof(raw), "%d,line", i);
		struct ct_event ev = mkline(raw, T0 + i);
		ck_assert_int_eq(put(&ev, T0 + i, &dup), STORE_OK);
	}
	ck_assert_int_eq(store_quarantine_iter(st, &pos, 3, collect, &s), STORE_OK);
	ck_assert_int_eq(s.n, 3);
	ck_assert_int_eq(store_quarantine_iter(st, &pos, 3, collect, &s), STORE_OK);
	ck_assert_int_eq(store_quarantine_iter(st, &pos, 3, collect, &s), STORE_OK);
	ck_assert_int_eq(s.n, 7);
	for (int i = 0; i < 7; i++) {
		char want[16];
		snprintf(want, sizeof(want), "%d,line", 6 - i);
		ck_assert_str_eq(s.raw[i], want);
	}
}
END_TEST

START_TEST(test_pruned_by_retention)
{
	struct ct_event old = mkline("1,old", T0), young = mkline("2,young", T0 + 20 * DAY);
	struct store_stats sx;
	unsigned n;
	bool dup, more;

	ck_assert_int_eq(put(&old, T0, &dup), STORE_OK);
	ck_assert_int_eq(put(&young, T0 + 20 * DAY, &dup), STORE_OK);
	ck_assert_int_eq(store_begin(st, T0 + 31 * DAY), STORE_OK);
	ck_assert_int_eq(store_quarantine_prune(st, 30 * DAY, 100, &n, &more), STORE_OK);
	ck_assert_int_eq(store_commit(st), STORE_OK);
	ck_assert_uint_eq(n, 1);
	ck_assert(!more);
	ck_assert_int_eq(store_stats_get(st, &sx), STORE_OK);
	ck_assert_uint_eq(sx.quarantined, 1);
}
END_TEST

/* In a full store a line is refused like an event: no OK for it, the
 * scale keeps it; the transaction goes on for what frees space. */
START_TEST(test_refused_when_full)
{
	char raw[400];
	bool dup;
	int e = STORE_OK, i;

	store_close(st);
	st = open_store(256 * 1024);
	memset(raw, 'x', sizeof(raw) - 1);
	raw[sizeof(raw) - 1] = '\0';
	for (i = 0; i < 5000 && e == STORE_OK; i++) {
		struct ct_event ev = mkline(raw, T0 + i);
		e = put(&ev, T0 + i, &dup);
	}
	ck_assert_int_eq(e, STORE_FULL);
	ck_assert(store_is_full(st));
	ck_assert_int_lt(i, 5000);
}
END_TEST

/* A store written before: version-1 records decode as weighings with a
 * valid time. */
START_TEST(test_codec_v1_still_decodes)
{
	struct ct_event ev, back;
	uint8_t buf[CT_EVENT_ENC_MAX];
	size_t n;

	memset(&ev, 0, sizeof(ev));
	ev.kind = CT_EV_QUARANTINED;
	ev.edge_flags = CT_EVF_SCALE_TS_INVALID;
	snprintf(ev.device_id, sizeof(ev.device_id), "SCALE-01");
	snprintf(ev.reason, sizeof(ev.reason), "r");
	ev.line_len = 9;
	n = event_encode(&ev, buf, sizeof(buf));
	ck_assert_uint_gt(n, 0);
	ck_assert_int_eq(buf[0], CT_EVENT_CODEC_V2);
	ck_assert_int_eq(event_decode(buf, n, &back), 0);
	ck_assert_int_eq(back.kind, CT_EV_QUARANTINED);
	ck_assert_int_eq(back.edge_flags, CT_EVF_SCALE_TS_INVALID);
	ck_assert_uint_eq(back.line_len, 9);
	/* the version-2 tail is 1+1+2+2+(2+1)+4 bytes; without it, as version 1 */
	buf[0] = CT_EVENT_CODEC_V1;
	ck_assert_int_eq(event_decode(buf, n - 13, &back), 0);
	ck_assert_int_eq(back.kind, CT_EV_WEIGHING);
	ck_assert_int_eq(back.edge_flags, 0);
	ck_assert_str_eq(back.device_id, "SCALE-01");
	/* and a version-2 record with an unknown kind is refused */
	ev.kind = 9;
	n = event_encode(&ev, buf, sizeof(buf));
	ck_assert_int_eq(event_decode(buf, n, &back), -1);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("store_quarantine");
	TCase *tc = tcase_create("quarantine");
	SRunner *sr;
	int failed;

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_kept_apart_from_events);
	tcase_add_test(tc, test_resend_kept_once);
	tcase_add_test(tc, test_listed_newest_first_in_chunks);
	tcase_add_test(tc, test_pruned_by_retention);
	tcase_add_test(tc, test_refused_when_full);
	tcase_add_test(tc, test_codec_v1_still_decodes);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
