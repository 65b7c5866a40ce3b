/*
 * Figures for status and carnitrackctl: map use (pages holding data, free
 * list excluded), the cloud-driven state against its quota, backlog (pending
 * count and the age of its oldest event), quarantined lines, batches, and the
 * writer's commit latency.
 */
#include "store/store_int.h"

#include <string.h>

#include "event/event_codec.h"

static int
count_open_batches(const struct store_batch *b, void *arg)
{
	unsigned *n = arg;

	if (b->state == BATCH_OPEN)
		n[0]++;
	n[1]++;
	return 0;
}

/* A reader learns the writer's refusing state from meta (store_txn.c). */
static bool
full_in_meta(struct store *st)
{
	MDB_txn *txn;
	MDB_val k = store_val("full", 4), v;
	bool full = false;

	if (store_rtxn_begin(st, &txn) != STORE_OK)
		return false;
	if (mdb_get(txn, st->dbi[DB_META], &k, &v) == 0 && v.mv_size == 1)
		full = *(const char *)v.mv_data == '1';
	store_rtxn_end(st, txn);
	return full;
}

int
store_stats_get(struct store *st, struct store_stats *s)
{
	MDB_envinfo ei;
	MDB_stat ms;
	MDB_txn *txn;
	MDB_cursor *c;
	MDB_val k, v;
	size_t freep = 0;
	unsigned nb[2] = { 0, 0 };
	int rc, e;

	memset(s, 0, sizeof(*s));
	if ((e = store_rtxn_begin(st, &txn)) != 0)
		return e;
	mdb_env_info(st->env, &ei);
	if ((rc = mdb_cursor_open(txn, 0, &c)) == 0) {
		for (rc = mdb_cursor_get(c, &k, &v, MDB_FIRST); rc == 0;
		    rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
			size_t cnt;

			if (v.mv_size >= sizeof(cnt)) {
				memcpy(&cnt, v.mv_data, sizeof(cnt));
				freep += cnt;
			}
		}
		mdb_cursor_close(c);
	}
	{
		MDB_stat es;
		size_t hw = ei.me_last_pgno + 1;

		mdb_env_stat(st->env, &es);
		s->map_size = ei.me_mapsize;
		s->used_bytes = (uint64_t)(freep < hw ? hw - freep : 0) * es.ms_psize;
		s->map_use_pct = s->map_size ? 100.0 * (double)s->used_bytes / (double)s->map_size :
		    0;
	}
	{
		MDB_stat es;

		mdb_env_stat(st->env, &es);
		s->state_bytes = (uint64_t)store_state_pages(st, txn, NULL) * es.ms_psize;
		s->state_quota_bytes = (uint64_t)(ei.me_mapsize / es.ms_psize) *
		    st->opts.state_quota_pct / 100 * es.ms_psize;
	}
	if ((rc = mdb_stat(txn, st->dbi[DB_EVENTS], &ms)) == 0)
		s->events = ms.ms_entries;
	if (rc == 0 && (rc = mdb_stat(txn, st->dbi[DB_PENDING], &ms)) == 0)
		s->pending = ms.ms_entries;
	if (rc == 0 && (rc = mdb_stat(txn, st->dbi[DB_QUARANTINE], &ms)) == 0)
		s->quarantined = ms.ms_entries;
	if (rc != 0) {
		store_rtxn_end(st, txn);
		return store_fail(st, rc, "stat");
	}
	if ((rc = mdb_cursor_open(txn, st->dbi[DB_PENDING], &c)) == 0) {
		if (mdb_cursor_get(c, &k, &v, MDB_FIRST) == 0 && k.mv_size == 8) {
			struct ct_event ev;

			if (store_event_load(st, txn, store_get_be64(k.mv_data), &ev) == 0)
				s->oldest_pending_ms = ev.received_at_ms;
		}
		mdb_cursor_close(c);
	}
	if ((rc = mdb_cursor_open(txn, st->dbi[DB_EVENTS], &c)) == 0) {
		if (mdb_cursor_get(c, &k, &v, MDB_LAST) == 0 && k.mv_size == 8)
			s->last_seq = store_get_be64(k.mv_data);
		mdb_cursor_close(c);
	}
	store_rtxn_end(st, txn);
	if ((e = store_batches_iter(st, count_open_batches, nb)) != 0)
		return e;
	s->open_batches = nb[0];
	s->batches = nb[1];
	s->full = st->readonly ? full_in_meta(st) : st->full;
	s->last_commit_ms = st->last_commit_ms;
	s->commits = st->commits;
	return STORE_OK;
}
