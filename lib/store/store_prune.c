/*
 * Retention, one bounded slice per call so a prune never holds the write
 * lock long enough to stall ingest. Events go oldest first and only when
 * the cloud has answered for them (accepted, duplicate or rejected); pending
 * events stay whatever their age. prune_mark remembers how far the walk got
 * (everything below it is pending or gone; an ack below it lowers it), so
 * a long run of old pending events is not rescanned on every call.
 */
#include "store/store_int.h"

#include <string.h>

#include "event/event_codec.h"

/* Events scanned per slice, in multiples of max_items (pending ones are
 * skipped and cost only a lookup). */
#define SCAN_FACTOR 8

static int
prune_events(struct store *st, int64_t cutoff, unsigned max, unsigned *n, bool *more)
{
	MDB_cursor *c;
	MDB_val k, v, pk, pv;
	uint8_t kb[8];
	struct ct_event ev;
	unsigned scanned = 0;
	int rc, e = STORE_OK;

	if ((rc = mdb_cursor_open(st->wtxn, st->dbi[DB_EVENTS], &c)) != 0)
		return store_fail(st, rc, "cursor events");
	store_be64(st->prune_mark, kb);
	k = store_val(kb, 8);
	for (rc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE); rc == 0;
	    rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
		uint64_t seq;

		if (*n >= max || scanned >= max * SCAN_FACTOR) {
			*more = true;
			break;
		}
		scanned++;
		if (k.mv_size != 8 || event_decode(v.mv_data, v.mv_size, &ev) != 0) {
			e = store_seterr(st, STORE_CORRUPT, "prune: bad event record");
			break;
		}
		seq = store_get_be64(k.mv_data);
		if (ev.received_at_ms >= cutoff)
			break;            /* sequences follow arrival: the rest is younger */
		st->prune_mark = seq + 1;
		pk = k;
		if ((rc = mdb_get(st->wtxn, st->dbi[DB_PENDING], &pk, &pv)) == 0)
			continue;
		if (rc != MDB_NOTFOUND) {
			e = store_fail(st, rc, "prune: pending %llu", (unsigned long long)seq);
			break;
		}
		if ((rc = mdb_cursor_del(c, 0)) != 0) {
			e = store_wfail(st, rc, "prune: event %llu", (unsigned long long)seq);
			break;
		}
		pk = store_val(ev.local_id, CT_UUID_LEN);
		rc = mdb_del(st->wtxn, st->dbi[DB_EVENT_IDS], &pk, NULL);
		if (rc == 0 || rc == MDB_NOTFOUND) {
			store_be64(seq, kb);
			pk = store_val(kb, 8);
			rc = mdb_del(st->wtxn, st->dbi[DB_SYNC], &pk, NULL);
		}
		if (rc != 0 && rc != MDB_NOTFOUND) {
			e =
			    store_wfail(st, rc, "prune: index of event %llu",
			    (unsigned long long)seq);
			break;
		}
		(*n)++;
	}
	if (e == STORE_OK && rc == MDB_NOTFOUND)
		st->prune_mark = st->next_seq;
	else if (e == STORE_OK && rc != 0)
		e = store_fail(st, rc, "prune: events walk");
	mdb_cursor_close(c);
	return e;
}

/* Done batches and ended/expired sessions older than the cutoff. */
static int
prune_records(struct store *st, enum store_dbi db, int64_t cutoff, unsigned max,
    unsigned *n, bool *more)
{
	MDB_cursor *c;
	MDB_val k, v;
	int rc, e = STORE_OK;

	if ((rc = mdb_cursor_open(st->wtxn, st->dbi[db], &c)) != 0)
		return store_fail(st, rc, "cursor %s", store_db_names[db]);
	for (rc = mdb_cursor_get(c, &k, &v, MDB_FIRST); rc == 0;
	    rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
		bool old = false;

		if (*n >= max) {
			*more = true;
			break;
		}
		if (db == DB_BATCHES) {
			struct store_batch b;

			old = store_batch_dec(&k, &v, &b) == 0 && b.state == BATCH_DONE &&
			    b.done_at_ms < cutoff;
		} else {
			struct store_session s;

			old = store_session_dec(&k, &v, &s) == 0 &&
			    (s.status == SESS_ENDED || s.status == SESS_EXPIRED) &&
			    s.updated_at_ms < cutoff;
		}
		if (!old)
			continue;
		if ((rc = mdb_cursor_del(c, 0)) != 0) {
			e = store_wfail(st, rc, "prune %s", store_db_names[db]);
			break;
		}
		(*n)++;
	}
	if (e == STORE_OK && rc != 0 && rc != MDB_NOTFOUND)
		e = store_fail(st, rc, "prune: %s walk", store_db_names[db]);
	mdb_cursor_close(c);
	return e;
}

int
store_prune(struct store *st, int64_t retention_ms, unsigned max_items,
    unsigned *pruned, bool *more)
{
	int64_t cutoff;
	unsigned n = 0;
	int e;

	*pruned = 0;
	*more = false;
	if ((e = store_need_wtxn(st)) != 0)
		return e;
	if (max_items == 0)
		max_items = 256;
	cutoff = st->now_ms - (retention_ms > 0 ? retention_ms : 0);
	if ((e = prune_events(st, cutoff, max_items, &n, more)) == 0 &&
	    (e = prune_records(st, DB_BATCHES, cutoff, max_items, &n, more)) == 0)
		e = prune_records(st, DB_SESSIONS, cutoff, max_items, &n, more);
	*pruned = n;
	return e;
}
