/*
 * Offline batches. One open batch per scale, found through the meta key
 * "ob/<deviceId>"; it is created by that scale's first offline event and its
 * counters change in the same transaction as each event, so they cannot
 * drift. Life: open -> closed (link back, endedAt) -> done (end reported and
 * every event answered by the cloud) -> pruned after retention.
 */
#include "store/store_int.h"

#include <stdio.h>
#include <string.h>

static void
check_done(struct store *st, struct store_batch *b)
{
	if (b->state == BATCH_CLOSED && (b->reported & CT_BATCH_END_SENT) && b->unacked == 0) {
		b->state = BATCH_DONE;
		b->done_at_ms = st->now_ms;
	}
}

int
store_batch_tag(struct store *st, struct ct_event *ev)
{
	char kb[sizeof(STORE_OB_PREFIX) + CT_DEVICE_ID_MAX];
	size_t kn = store_open_batch_key(ev->device_id, kb, sizeof(kb));
	MDB_val k = store_val(kb, kn), v;
	struct store_batch b;
	int rc, e;

	if (kn == 0)
		return store_seterr(st, STORE_INVAL, "device id too long: %s", ev->device_id);
	rc = mdb_get(st->wtxn, st->dbi[DB_META], &k, &v);
	if (rc == 0) {
		if (v.mv_size != CT_UUID_LEN)
			return store_seterr(st, STORE_CORRUPT, "meta %s: bad batch id", kb);
		if ((e = store_batch_load(st, st->wtxn, v.mv_data, &b)) != 0)
			return e;
	} else if (rc == MDB_NOTFOUND) {
		memset(&b, 0, sizeof(b));
		if (ct_uuid_new(b.id) != 0)
			return store_seterr(st, STORE_ERR, "batch id: no randomness");
		snprintf(b.device_id, sizeof(b.device_id), "%s", ev->device_id);
		b.started_at_ms = ev->received_at_ms ? ev->received_at_ms : st->now_ms;
		b.state = BATCH_OPEN;
		v = store_val(b.id, CT_UUID_LEN);
		if ((rc = mdb_put(st->wtxn, st->dbi[DB_META], &k, &v, 0)) != 0)
			return store_wfail(st, rc, "meta %s: write", kb);
	} else
		return store_fail(st, rc, "meta %s", kb);

	b.event_count++;
	b.unacked++;
	b.total_weight_g += ev->net_g;
	ev->offline = true;
	memcpy(ev->offline_batch_id, b.id, CT_UUID_LEN);
	return store_batch_save(st, &b);
}

int
store_close_open_batches(struct store *st, store_batch_cb cb, void *arg, unsigned *closed)
{
	const size_t plen = strlen(STORE_OB_PREFIX);
	struct store_batch b;
	MDB_cursor *c;
	MDB_val k, v;
	int rc, e = STORE_OK;
	unsigned n = 0;

	if (closed != NULL)
		*closed = 0;
	if ((e = store_need_wtxn(st)) != 0)
		return e;
	if ((rc = mdb_cursor_open(st->wtxn, st->dbi[DB_META], &c)) != 0)
		return store_fail(st, rc, "cursor meta");
	for (;;) {
		k = store_val(STORE_OB_PREFIX, plen);
		rc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE);
		if (rc == MDB_NOTFOUND || (rc == 0 && (k.mv_size < plen ||
		    memcmp(k.mv_data, STORE_OB_PREFIX, plen) != 0)))
			break;
		if (rc != 0) {
			e = store_fail(st, rc, "open batches");
			break;
		}
		if (v.mv_size == CT_UUID_LEN) {
			uint8_t id[CT_UUID_LEN];

			memcpy(id, v.mv_data, CT_UUID_LEN);
			if ((e = store_batch_load(st, st->wtxn, id, &b)) != 0)
				break;
			b.ended_at_ms = st->now_ms;
			b.state = BATCH_CLOSED;
			check_done(st, &b);
			if ((e = store_batch_save(st, &b)) != 0)
				break;
		}
		/* the cursor may have moved with the batch write; find the key again */
		k = store_val(STORE_OB_PREFIX, plen);
		if ((rc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE)) != 0 ||
		    (rc = mdb_cursor_del(c, 0)) != 0) {
			e = store_wfail(st, rc, "open batch index: delete");
			break;
		}
		n++;
		if (v.mv_size == CT_UUID_LEN && cb != NULL && cb(&b, arg) != 0)
			cb = NULL;
	}
	mdb_cursor_close(c);
	if (closed != NULL)
		*closed = n;
	return e;
}

int
store_batch_reported(struct store *st, const uint8_t id[CT_UUID_LEN], uint8_t what)
{
	struct store_batch b;
	int e;

	if ((e = store_need_wtxn(st)) != 0)
		return e;
	if ((e = store_batch_load(st, st->wtxn, id, &b)) != 0)
		return e;
	b.reported |= what & (CT_BATCH_START_SENT | CT_BATCH_END_SENT);
	check_done(st, &b);
	return store_batch_save(st, &b);
}

int
store_batch_event_settled(struct store *st, const uint8_t id[CT_UUID_LEN])
{
	struct store_batch b;
	int e;

	if ((e = store_batch_load(st, st->wtxn, id, &b)) != 0)
		return e == STORE_NOTFOUND ? STORE_OK : e;   /* batch already pruned */
	if (b.unacked > 0)
		b.unacked--;
	check_done(st, &b);
	return store_batch_save(st, &b);
}
