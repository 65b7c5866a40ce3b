/*
 * Quarantined lines: record-shaped bytes from a scale that do not decode as
 * a weighing (wrong field count, a bad number, longer than a record can
 * be). The scale deletes what it is told OK for, so they are kept, durably
 * and before the OK that covers them, like events; but they never go to the
 * cloud, so they live in their own database, apart from events, pending and
 * sync. Key: receivedAt (u64 ms, big-endian) then the localEventId, so a
 * walk is in arrival order and a resent line (same id and time) is stored
 * once. Value: the event codec record (kind CT_EV_QUARANTINED: raw bytes,
 * line length, reason, device, source address).
 */
#include "store/store_int.h"

#include <string.h>

#include "event/event_codec.h"

#define QKEY_LEN (8 + CT_UUID_LEN)

static void
qkey(const struct ct_event *ev, uint8_t k[QKEY_LEN])
{
	store_be64((uint64_t)(ev->received_at_ms > 0 ? ev->received_at_ms : 0), k);
	memcpy(k + 8, ev->local_id, CT_UUID_LEN);
}

int
store_put_quarantine(struct store *st, const struct ct_event *ev, bool *dup)
{
	uint8_t buf[CT_EVENT_ENC_MAX], kb[QKEY_LEN];
	MDB_val k, v;
	size_t n;
	int rc, e;

	*dup = false;
	if ((e = store_need_wtxn(st)) != 0)
		return e;
	if (ev->kind != CT_EV_QUARANTINED || ev->device_id[0] == '\0')
		return store_seterr(st, STORE_INVAL, "quarantined line: bad record");
	if ((n = event_encode(ev, buf, sizeof(buf))) == 0)
		return store_seterr(st, STORE_INVAL, "quarantined line from %s does not encode",
		    ev->device_id);
	if (st->full || !store_room_for(st, n + QKEY_LEN)) {
		st->full = true;
		return store_seterr(st, STORE_FULL, "store full: line from %s refused",
		    ev->device_id);
	}
	qkey(ev, kb);
	k = store_val(kb, sizeof(kb));
	v = store_val(buf, n);
	rc = mdb_put(st->wtxn, st->dbi[DB_QUARANTINE], &k, &v, MDB_NOOVERWRITE);
	if (rc == MDB_KEYEXIST) {
		*dup = true;
		return STORE_OK;
	}
	if (rc != 0)
		return store_wfail(st, rc, "quarantined line from %s: write", ev->device_id);
	st->txn_bytes += n + QKEY_LEN;
	return STORE_OK;
}

int
store_quarantine_iter(struct store *st, struct store_qpos *pos, unsigned max,
    store_event_cb cb, void *arg)
{
	MDB_txn *txn;
	MDB_cursor *c;
	MDB_val k, v;
	struct ct_event ev;
	unsigned n = 0;
	int rc, e = STORE_OK, stop = 0;

	if ((e = store_rtxn_begin(st, &txn)) != 0)
		return e;
	if ((rc = mdb_cursor_open(txn, st->dbi[DB_QUARANTINE], &c)) != 0) {
		store_rtxn_end(st, txn);
		return store_fail(st, rc, "cursor quarantine");
	}
	/* newest first, from just before where the last call stopped */
	if (!pos->started) {
		rc = mdb_cursor_get(c, &k, &v, MDB_LAST);
	} else {
		/* the first key at or after it (it may have been pruned since),
		 * then one back; none after it: the last one is before it */
		k = store_val(pos->key, sizeof(pos->key));
		rc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE);
		if (rc == MDB_NOTFOUND)
			rc = mdb_cursor_get(c, &k, &v, MDB_LAST);
		else if (rc == 0)
			rc = mdb_cursor_get(c, &k, &v, MDB_PREV);
	}
	pos->started = true;
	for (; rc == 0 && !stop; rc = mdb_cursor_get(c, &k, &v, MDB_PREV)) {
		if (max != 0 && n >= max)
			break;
		if (k.mv_size != QKEY_LEN || event_decode(v.mv_data, v.mv_size, &ev) != 0) {
			e = store_seterr(st, STORE_CORRUPT, "quarantine: bad record");
			break;
		}
		memcpy(pos->key, k.mv_data, sizeof(pos->key));
		stop = cb(&ev, NULL, arg);
		n++;
	}
	if (e == STORE_OK && rc != 0 && rc != MDB_NOTFOUND)
		e = store_fail(st, rc, "quarantine walk");
	mdb_cursor_close(c);
	store_rtxn_end(st, txn);
	return e;
}

int
store_quarantine_prune(struct store *st, int64_t retention_ms, unsigned max,
    unsigned *pruned, bool *more)
{
	MDB_cursor *c;
	MDB_val k, v;
	uint64_t cutoff;
	int rc, e = STORE_OK;

	*pruned = 0;
	*more = false;
	if ((e = store_need_wtxn(st)) != 0)
		return e;
	cutoff = (uint64_t)(st->now_ms - (retention_ms > 0 ? retention_ms : 0));
	if ((rc = mdb_cursor_open(st->wtxn, st->dbi[DB_QUARANTINE], &c)) != 0)
		return store_fail(st, rc, "cursor quarantine");
	for (rc = mdb_cursor_get(c, &k, &v, MDB_FIRST); rc == 0;
	    rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
		if (k.mv_size != QKEY_LEN || store_get_be64(k.mv_data) >= cutoff)
			break;           /* keys follow arrival: the rest is younger */
		if (*pruned >= max) {
			*more = true;
			break;
		}
		if ((rc = mdb_cursor_del(c, 0)) != 0) {
			e = store_wfail(st, rc, "prune quarantine");
			break;
		}
		(*pruned)++;
	}
	if (e == STORE_OK && rc != 0 && rc != MDB_NOTFOUND)
		e = store_fail(st, rc, "prune: quarantine walk");
	mdb_cursor_close(c);
	return e;
}
