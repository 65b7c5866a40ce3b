/*
 * The one place where LMDB return codes become store errors, and where the
 * text of the last failure is kept for the caller to log.
 */
#include "store/store_int.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static enum store_err
map_rc(int rc)
{
	switch (rc) {
	case MDB_SUCCESS:          return STORE_OK;
	case MDB_NOTFOUND:         return STORE_NOTFOUND;
	case MDB_MAP_FULL:         return STORE_FULL;
	case MDB_CORRUPTED:
	case MDB_PAGE_NOTFOUND:
	case MDB_INVALID:
	case MDB_VERSION_MISMATCH:
	case MDB_INCOMPATIBLE:     return STORE_CORRUPT;
	case EINVAL:
	case MDB_BAD_VALSIZE:      return STORE_INVAL;
	case EACCES:
	case MDB_BAD_TXN:          return STORE_STATE;
	default:                   return STORE_ERR;
	}
}

static void
vset(struct store *st, const char *detail, const char *fmt, va_list ap)
{
	int n = vsnprintf(st->err, sizeof(st->err), fmt, ap);

	if (detail != NULL && n >= 0 && (size_t)n < sizeof(st->err))
		snprintf(st->err + n, sizeof(st->err) - (size_t)n, ": %s", detail);
}

int
store_fail(struct store *st, int rc, const char *fmt, ...)
{
	va_list ap;

	st->last_rc = rc;
	va_start(ap, fmt);
	vset(st, mdb_strerror(rc), fmt, ap);
	va_end(ap);
	return map_rc(rc);
}

int
store_seterr(struct store *st, int e, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vset(st, NULL, fmt, ap);
	va_end(ap);
	return e;
}

int
store_wfail(struct store *st, int rc, const char *fmt, ...)
{
	va_list ap;

	/* After most put/del failures LMDB flags the txn MDB_TXN_ERROR and
	 * refuses to commit it; NOTFOUND, KEYEXIST and argument errors leave it
	 * usable. */
	if (rc != MDB_NOTFOUND && rc != MDB_KEYEXIST && rc != EINVAL && rc != MDB_BAD_VALSIZE) {
		st->wtxn_dead = true;
		st->wtxn_dead_rc = rc;
	}
	st->last_rc = rc;
	va_start(ap, fmt);
	vset(st, mdb_strerror(rc), fmt, ap);
	va_end(ap);
	return map_rc(rc);
}

const char *
store_errmsg(const struct store *st)
{
	return st->err[0] ? st->err : "no error";
}

int
store_need_wtxn(struct store *st)
{
	if (st->readonly)
		return store_seterr(st, STORE_STATE, "store opened read-only");
	if (st->wtxn == NULL)
		return store_seterr(st, STORE_STATE, "no write transaction open");
	if (st->wtxn_dead)
		return store_fail(st, st->wtxn_dead_rc, "write transaction failed earlier");
	return STORE_OK;
}
