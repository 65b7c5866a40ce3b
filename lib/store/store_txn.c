/*
 * The one write transaction (group commit) and the capacity check done at
 * its start. Map use counts pages actually holding data: the file's high
 * water mark minus the pages on LMDB's free list, since pruned space is
 * reused rather than given back.
 */
#include "store/store_int.h"

#include <string.h>
#include <time.h>

/* Pages on the free list (what mdb_stat -f sums): each record is an IDL
 * whose first word is its length. Only walked when the file is already
 * near the limit, so the common case costs nothing. LMDB allows a cursor on
 * the free list only in a read txn; with one writer, a read txn begun just
 * before the write txn sees the same state. */
static int
free_pages(struct store *st, size_t *out)
{
	MDB_txn *txn;
	MDB_cursor *c;
	MDB_val k, v;
	size_t n = 0;
	int rc;

	if ((rc = mdb_txn_begin(st->env, NULL, MDB_RDONLY, &txn)) != 0)
		return store_fail(st, rc, "free list: begin read");
	if ((rc = mdb_cursor_open(txn, 0, &c)) != 0) {
		mdb_txn_abort(txn);
		return store_fail(st, rc, "free list");
	}
	for (rc = mdb_cursor_get(c, &k, &v, MDB_FIRST); rc == 0;
	    rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
		size_t cnt;

		if (v.mv_size < sizeof(size_t))
			continue;
		memcpy(&cnt, v.mv_data, sizeof(cnt));
		n += cnt;
	}
	mdb_cursor_close(c);
	mdb_txn_abort(txn);
	if (rc != MDB_NOTFOUND)
		return store_fail(st, rc, "free list walk");
	*out = n;
	return STORE_OK;
}

static size_t
limit_pages(const struct store *st)
{
	size_t lim = st->max_pages * st->opts.full_pct / 100;

	/* tiny maps still keep a few pages for acks and prunes */
	if (st->max_pages > 32 && lim > st->max_pages - 16)
		lim = st->max_pages - 16;
	return lim;
}

/* Pages in use as of the last commit. */
static int
used_pages(struct store *st, size_t *used)
{
	MDB_envinfo ei;
	size_t hw, fp = 0;
	int e;

	mdb_env_info(st->env, &ei);
	hw = ei.me_last_pgno + 1;
	if (hw >= limit_pages(st) && (e = free_pages(st, &fp)) != 0)
		return e;
	*used = fp < hw ? hw - fp : 0;
	return STORE_OK;
}

bool
store_room_for(struct store *st, size_t bytes)
{
	/* B-tree overhead and the index records: count every byte twice */
	size_t est = st->used_pages_at_begin + ((st->txn_bytes + bytes) * 2) / st->psize + 1;

	return est < limit_pages(st);
}

int
store_begin(struct store *st, int64_t now_ms)
{
	int rc, e;

	if (st->readonly)
		return store_seterr(st, STORE_STATE, "store opened read-only");
	if (st->wtxn != NULL)
		return store_seterr(st, STORE_STATE, "write transaction already open");
	if ((e = used_pages(st, &st->used_pages_at_begin)) != 0)
		return e;
	if ((rc = mdb_txn_begin(st->env, NULL, 0, &st->wtxn)) != 0) {
		st->wtxn = NULL;
		return store_fail(st, rc, "%s: begin write", st->path);
	}
	st->wtxn_dead = false;
	st->now_ms = now_ms;
	st->txn_bytes = 0;
	st->txn_first_seq = st->next_seq;
	st->prune_mark_at_begin = st->prune_mark;
	/* hysteresis: once refusing, accept again only below the low-water
	 * mark, so the state does not flap with every prune slice */
	{
		size_t lim = limit_pages(st), gap = st->max_pages / 20;

		if (gap < 4)
			gap = 4;
		st->full = st->used_pages_at_begin >= (st->full && lim > gap ? lim - gap : lim);
	}
	return STORE_OK;
}

static int
save_next_seq(struct store *st)
{
	uint8_t b[8];
	MDB_val k = store_val("next_seq", 8), v = store_val(b, 8);
	int rc;

	store_be64(st->next_seq, b);
	if ((rc = mdb_put(st->wtxn, st->dbi[DB_META], &k, &v, 0)) != 0)
		return store_wfail(st, rc, "meta next_seq");
	return STORE_OK;
}

int
store_commit(struct store *st)
{
	struct timespec t0, t1;
	int rc, e;

	if ((e = store_need_wtxn(st)) != 0) {
		if (st->wtxn != NULL)
			store_abort(st);
		return e;
	}
	if (st->next_seq != st->txn_first_seq && (e = save_next_seq(st)) != 0) {
		store_abort(st);
		return e;
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	rc = mdb_txn_commit(st->wtxn);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	st->wtxn = NULL;
	if (rc != 0) {
		st->next_seq = st->txn_first_seq;
		st->prune_mark = st->prune_mark_at_begin;
		return store_fail(st, rc, "%s: commit", st->path);
	}
	st->last_commit_ms = (double)(t1.tv_sec - t0.tv_sec) * 1e3 +
	    (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
	st->commits++;
	return STORE_OK;
}

void
store_abort(struct store *st)
{
	if (st->wtxn == NULL)
		return;
	mdb_txn_abort(st->wtxn);
	st->wtxn = NULL;
	st->wtxn_dead = false;
	st->next_seq = st->txn_first_seq;
	st->prune_mark = st->prune_mark_at_begin;
}

bool
store_in_txn(const struct store *st)
{
	return st->wtxn != NULL;
}

bool
store_is_full(const struct store *st)
{
	return st->full;
}

double
store_last_commit_ms(const struct store *st)
{
	return st->last_commit_ms;
}
