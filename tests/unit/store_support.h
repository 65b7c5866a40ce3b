/*
 * What the store tests share (test_store.c, test_store_sessions.c,
 * test_store_batches.c, test_store_space.c): lib/store on a temporary
 * environment made for each test, events made to order, and the helpers
 * that read it back.
 */
#ifndef CT_STORE_SUPPORT_H
#define CT_STORE_SUPPORT_H

/* Each test file of the group uses some of these. */
#pragma GCC diagnostic ignored "-Wunused-function"
#pragma GCC diagnostic ignored "-Wunused-variable"

#include <check.h>
#include <lmdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "event/event_codec.h"
#include "store/store.h"

#define T0 1785000000000LL       /* a fixed "now", ms */
#define MIN (60 * 1000LL)

static char dir[256];
static struct store *st;

static void
rm_tree(void)
{
	char cmd[300];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "cleanup of %s failed\n", dir);
}

static struct store *
open_store(uint64_t map_size, int64_t expiry_ms)
{
	struct store_opts o = { .map_size = map_size, .session_expiry_ms = expiry_ms,
	    .site_id = "SITE01" };
	struct store *s = NULL;
	char err[512];
	int e = store_open(&s, dir, &o, err, sizeof(err));

	ck_assert_msg(e == STORE_OK, "store_open: %s", err);
	return s;
}

static void
setup(void)
{
	snprintf(dir, sizeof(dir), "/tmp/test_store.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	st = open_store(0, 0);
}

static void
teardown(void)
{
	store_close(st);
	st = NULL;
	rm_tree();
}

static struct ct_event
mkev(const char *dev, int64_t net_g, int64_t at_ms)
{
	struct ct_event ev;
	static const char raw[] = "00001 KIYMA 1.500";

	memset(&ev, 0, sizeof(ev));
	ck_assert_int_eq(ct_uuid_new(ev.local_id), 0);
	snprintf(ev.device_id, sizeof(ev.device_id), "%s", dev);
	snprintf(ev.source_ip, sizeof(ev.source_ip), "10.0.0.7");
	ev.received_at_ms = at_ms;
	ev.scale_ts = at_ms / 1000;
	snprintf(ev.plu, sizeof(ev.plu), "00001");
	snprintf(ev.product, sizeof(ev.product), "KIYMA");
	snprintf(ev.operator_name, sizeof(ev.operator_name), "Ayşe");
	ev.gross_g = net_g + 100;
	ev.tare_g = 100;
	ev.net_g = net_g;
	ev.net_raw = net_g;
	ev.raw_len = sizeof(raw) - 1;
	memcpy(ev.raw, raw, ev.raw_len);
	return ev;
}

/* One event in its own transaction; returns its seq. */
static uint64_t
put1(struct ct_event *ev, bool online, int64_t now)
{
	bool dup;

	ck_assert_int_eq(store_begin(st, now), STORE_OK);
	ck_assert_msg(store_put_event(st, ev, online, &dup) == STORE_OK, "%s", store_errmsg(st));
	ck_assert_int_eq(store_commit(st), STORE_OK);
	return ev->seq;
}

static void
session(enum ct_session_change kind, const char *dev, const char *sid, int64_t now)
{
	struct store_session_msg m;

	memset(&m, 0, sizeof(m));
	m.kind = kind;
	snprintf(m.device_id, sizeof(m.device_id), "%s", dev);
	snprintf(m.cloud_session_id, sizeof(m.cloud_session_id), "%s", sid);
	snprintf(m.animal_tag, sizeof(m.animal_tag), "A-123");
	ck_assert_int_eq(store_begin(st, now), STORE_OK);
	store_session_apply(st, &m);
	ck_assert_int_eq(store_commit(st), STORE_OK);
}

static void
ack(const struct ct_event *ev, int64_t now)
{
	ck_assert_int_eq(store_begin(st, now), STORE_OK);
	ck_assert_int_eq(store_ack(st, ev->local_id, CT_ACK_ACCEPTED, "cloud-1"), STORE_OK);
	ck_assert_int_eq(store_commit(st), STORE_OK);
}

static struct ct_event
stored(uint64_t seq, struct store_sync *sy)
{
	struct ct_event ev;

	ck_assert_int_eq(store_event_get(st, seq, &ev, sy), STORE_OK);
	return ev;
}

struct batch_tally { int n; struct store_batch b[8]; };

static int
collect_batch(const struct store_batch *b, void *arg)
{
	struct batch_tally *t = arg;

	if (t->n < 8)
		t->b[t->n++] = *b;
	return 0;
}

static int
count_ev(const struct ct_event *ev, const struct store_sync *sy, void *arg)
{
	(*(int *)arg)++;
	return 0;
}

struct seq_list { uint64_t s[16]; int n; };

static int
collect_seq(const struct ct_event *e, const struct store_sync *sy, void *arg)
{
	struct seq_list *l = arg;

	if (l->n < 16)
		l->s[l->n++] = e->seq;
	return 0;
}

static void
set_schema(uint64_t ver)
{
	MDB_env *env;
	MDB_txn *txn;
	MDB_dbi dbi;
	char path[300];
	uint8_t b[8];
	MDB_val k = { 6, (void *)"schema" }, v = { 8, b };

	for (int i = 7; i >= 0; i--, ver >>= 8)
		b[i] = (uint8_t)ver;
	snprintf(path, sizeof(path), "%s/store", dir);
	ck_assert_int_eq(mdb_env_create(&env), 0);
	mdb_env_set_maxdbs(env, 16);
	ck_assert_int_eq(mdb_env_open(env, path, 0, 0640), 0);
	ck_assert_int_eq(mdb_txn_begin(env, NULL, 0, &txn), 0);
	ck_assert_int_eq(mdb_dbi_open(txn, "meta", 0, &dbi), 0);
	ck_assert_int_eq(mdb_put(txn, dbi, &k, &v, 0), 0);
	ck_assert_int_eq(mdb_txn_commit(txn), 0);
	mdb_env_close(env);
}

/* ---- offline batches and a stepped wall clock (issue 18 item 3) ---- */

static int64_t mono_now;
static int64_t fake_mono(void) { return mono_now; }

static void
mono_store(void)
{
	struct store_opts o = { .site_id = "SITE01", .mono_ms = fake_mono };
	char err[512];

	store_close(st);
	st = NULL;
	ck_assert_msg(store_open(&st, dir, &o, err, sizeof(err)) == STORE_OK, "%s", err);
}

/* One offline event of SCALE-01 at wall time `wall`; its batch. */
static void
offline_event(int64_t wall, struct store_batch *b)
{
	struct ct_event ev = mkev("SCALE-01", 100, wall);

	ev = stored(put1(&ev, false, wall), NULL);
	ck_assert_int_eq(store_batch_get(st, ev.offline_batch_id, b), STORE_OK);
}

static void
link_back(int64_t wall, struct store_batch *b)
{
	ck_assert_int_eq(store_begin(st, wall), STORE_OK);
	ck_assert_int_eq(store_close_open_batches(st, NULL, NULL, NULL), STORE_OK);
	ck_assert_int_eq(store_commit(st), STORE_OK);
	ck_assert_int_eq(store_batch_get(st, b->id, b), STORE_OK);
}

/* ---- the cloud-driven state's quota (issue 18 item 2) ---- */

static void
fresh_store(uint64_t map_size)
{
	store_close(st);
	rm_tree();
	snprintf(dir, sizeof(dir), "/tmp/test_store.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	st = open_store(map_size, 0);
}

/* Events that fit until the store refuses, one txn of 10 at a time. */
static unsigned
fill_events(void)
{
	struct ct_event ev;
	unsigned n = 0;
	bool dup;
	int e = STORE_OK;

	while (e == STORE_OK) {
		ck_assert_int_eq(store_begin(st, T0), STORE_OK);
		for (int i = 0; i < 10 && e == STORE_OK; i++) {
			ev = mkev("SCALE-01", 100, T0);
			if ((e = store_put_event(st, &ev, true, &dup)) == STORE_OK)
				n++;
		}
		ck_assert_msg(e == STORE_OK || e == STORE_FULL, "%s", store_errmsg(st));
		ck_assert_int_eq(store_commit(st), STORE_OK);
	}
	return n;
}

static char big_plu[STORE_PLU_MAX + 2];

#endif
