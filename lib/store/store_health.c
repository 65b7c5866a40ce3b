/*
 * Can the store write? A full disk or a failing one (ENOSPC, EIO from a
 * write or a sync, not LMDB's own map limit) makes every commit fail: the
 * edge then withholds OKs, and status must say why. This file gives the
 * operating system's word for the last failure, tells an environment LMDB
 * has given up on (MDB_PANIC: only a reopen helps), and writes a probe so
 * the worker learns when the disk takes writes again without waiting for a
 * scale.
 */
#include "store/store_int.h"

#include <string.h>

const char *
store_os_error(const struct store *st)
{
	if (st->last_rc == 0)
		return NULL;
	return mdb_strerror(st->last_rc);   /* strerror() for errno values */
}

bool
store_env_dead(const struct store *st)
{
	return st->last_rc == MDB_PANIC;
}

int
store_probe(struct store *st, int64_t now_ms)
{
	uint8_t b[8];
	MDB_val k = store_val("probe", 5), v = store_val(b, 8);
	int rc, e;

	if ((e = store_begin(st, now_ms)) != STORE_OK)
		return e;
	store_be64((uint64_t)now_ms, b);
	if ((rc = mdb_put(st->wtxn, st->dbi[DB_META], &k, &v, 0)) != 0) {
		e = store_wfail(st, rc, "meta probe");
		store_abort(st);
		return e;
	}
	return store_commit(st);
}
