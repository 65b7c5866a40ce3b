/*
 * The one write transaction (group commit) and the capacity check done at
 * its start. Map use counts pages actually holding data: the file's high
 * water mark minus the pages on LMDB's free list, since pruned space is
 * reused rather than given back, minus the pages of the cloud-driven state,
 * which has its own quota (store_state.c) and never counts as event space.
 */
#include "store/store_int.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

/* Pages on the free list that a write txn may reuse now (what mdb_stat -f
 * sums, minus the pages freed by the last commit: LMDB keeps those for the
 * snapshot readers may still be on). Each record is txnid -> IDL whose first
 * word is its length. LMDB allows a cursor on the free list only in a read
 * txn; with one writer, a read txn begun outside the write txn sees the same
 * committed state. */
static int
free_pages(struct store *st, size_t *out)
{
	MDB_envinfo ei;
	MDB_txn *txn;
	MDB_cursor *c;
	MDB_val k, v;
	size_t n = 0;
	int rc;

	mdb_env_info(st->env, &ei);
	if ((rc = mdb_txn_begin(st->env, NULL, MDB_RDONLY, &txn)) != 0)
		return store_fail(st, rc, "free list: begin read");
	if ((rc = mdb_cursor_open(txn, 0, &c)) != 0) {
		mdb_txn_abort(txn);
		return store_fail(st, rc, "free list");
	}
	for (rc = mdb_cursor_get(c, &k, &v, MDB_FIRST); rc == 0;
	    rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
		size_t cnt, txnid;

		if (v.mv_size < sizeof(size_t) || k.mv_size != sizeof(size_t))
			continue;
		memcpy(&txnid, k.mv_data, sizeof(txnid));
		if (txnid >= ei.me_last_txnid)
			break;                  /* keys ascend: the rest is not reusable yet */
		memcpy(&cnt, v.mv_data, sizeof(cnt));
		n += cnt;
	}
	mdb_cursor_close(c);
	mdb_txn_abort(txn);
	if (rc != 0 && rc != MDB_NOTFOUND)
		return store_fail(st, rc, "free list walk");
	*out = n;
	return STORE_OK;
}

static size_t
store_limit_pages(const struct store *st)
{
	size_t lim = st->max_pages * st->opts.full_pct / 100;

	/* tiny maps still keep a few pages for acks and prunes */
	if (st->max_pages > 32 && lim > st->max_pages - 16)
		lim = st->max_pages - 16;
	return lim;
}

/* Pages in use as of the last commit, the state's excluded. Below the limit
 * the file's high-water mark is a cheap upper bound; *exact says whether the
 * free list was walked. */
static int
used_pages(struct store *st, bool force_exact, size_t *used, bool *exact)
{
	MDB_envinfo ei;
	size_t hw, fp = 0;
	int e;

	mdb_env_info(st->env, &ei);
	hw = ei.me_last_pgno + 1;
	*exact = force_exact || hw >= store_limit_pages(st);
	if (*exact && (e = free_pages(st, &fp)) != 0)
		return e;
	*used = fp < hw ? hw - fp : 0;
	*used = *used > st->state_pages ? *used - st->state_pages : 0;
	return STORE_OK;
}

static size_t
estimate(const struct store *st, size_t bytes)
{
	/* B-tree overhead: every byte twice; copy-on-write: a page per event for
	 * the random-keyed id index, and a few for meta, branches and records */
	return st->used_pages_at_begin + ((st->txn_bytes + bytes) * 2) / st->psize +
	    st->txn_events + 8;
}

bool
store_room_for(struct store *st, size_t bytes)
{
	bool exact;

	if (estimate(st, bytes) < store_limit_pages(st))
		return true;
	/* the cheap bound says no: measure before refusing anything */
	if (!st->used_exact && used_pages(st, true, &st->used_pages_at_begin, &exact) == 0)
		st->used_exact = true;
	if (estimate(st, bytes) < store_limit_pages(st))
		return true;
	if (!st->full)
		st->full_pages = st->used_pages_at_begin;
	return false;
}

int
store_begin(struct store *st, int64_t now_ms)
{
	int rc, e;

	if (st->readonly)
		return store_seterr(st, STORE_STATE, "store opened read-only");
	if (st->wtxn != NULL)
		return store_seterr(st, STORE_STATE, "write transaction already open");
	if ((rc = mdb_txn_begin(st->env, NULL, 0, &st->wtxn)) != 0) {
		st->wtxn = NULL;
		return store_fail(st, rc, "%s: begin write", st->path);
	}
	st->state_pages = store_state_pages(st, st->wtxn, NULL);
	if ((e = used_pages(st, st->full, &st->used_pages_at_begin, &st->used_exact)) != 0) {
		mdb_txn_abort(st->wtxn);
		st->wtxn = NULL;
		return e;
	}
	st->wtxn_dead = false;
	st->now_ms = now_ms;
	st->now_mono_ms = st->opts.mono_ms != NULL ? st->opts.mono_ms() : 0;
	st->txn_bytes = 0;
	st->txn_events = 0;
	st->batch_answered = false;
	st->txn_first_seq = st->next_seq;
	st->prune_mark_at_begin = st->prune_mark;
	/* hysteresis: once refusing, accept again only after a twentieth of the
	 * map was freed, so the state does not flap with every prune slice */
	if (st->full) {
		size_t gap = st->max_pages / 20 < 4 ? 4 : st->max_pages / 20;

		st->full = st->used_pages_at_begin >= store_limit_pages(st) ||
		    st->used_pages_at_begin + gap > st->full_pages;
	} else
		st->full = st->used_pages_at_begin >= store_limit_pages(st);
	if (st->full && st->full_pages == 0)
		st->full_pages = st->used_pages_at_begin;
	if (!st->full)
		st->full_pages = 0;
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

/* Readers cannot see the writer's memory: the refusing state goes to meta
 * on each change, in the same commit. */
static int
save_full(struct store *st)
{
	MDB_val k = store_val("full", 4), v = store_val(st->full ? "1" : "0", 1);
	int rc;

	if ((rc = mdb_put(st->wtxn, st->dbi[DB_META], &k, &v, 0)) != 0)
		return store_wfail(st, rc, "meta full");
	return STORE_OK;
}

int
store_commit(struct store *st)
{
	int64_t t0, t1;
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
	if (st->full != st->full_saved && (e = save_full(st)) != 0) {
		store_abort(st);
		return e;
	}
	t0 = ct_now_ns_mono();
	rc = mdb_txn_commit(st->wtxn);
	t1 = ct_now_ns_mono();
	st->wtxn = NULL;
	if (rc != 0) {
		st->next_seq = st->txn_first_seq;
		st->prune_mark = st->prune_mark_at_begin;
		return store_fail(st, rc, "%s: commit", st->path);
	}
	st->full_saved = st->full;
	st->last_commit_ms = (double)(t1 - t0) / 1e6;
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
store_is_full(const struct store *st)
{
	return st->full;
}

double
store_last_commit_ms(const struct store *st)
{
	return st->last_commit_ms;
}

uint64_t
store_last_seq(const struct store *st)
{
	return st->next_seq > 0 ? st->next_seq - 1 : 0;
}

void
store_set_session_expiry(struct store *st, int64_t ms)
{
	st->opts.session_expiry_ms = ms;
}

void
store_set_site_id(struct store *st, const char *site_id)
{
	snprintf(st->site_id, sizeof(st->site_id), "%s", site_id ? site_id : "");
}
