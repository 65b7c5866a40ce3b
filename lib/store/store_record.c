/*
 * The small records: batches, sessions, devices, sync state. Each value
 * starts with a format version byte (STORE_REC_V1) and is packed with
 * lib/ipc/pack.h; a decoder refuses any version it does not know and any
 * field that does not fit. Keys are not repeated inside the values.
 */
#include "store/store_int.h"

#include <stdio.h>
#include <string.h>

#include "event/event_codec.h"
#include "ipc/pack.h"

static int
key_str(const MDB_val *key, char *out, size_t cap)
{
	if (key->mv_size == 0 || key->mv_size >= cap || memchr(key->mv_data, '\0', key->mv_size))
		return -1;
	memcpy(out, key->mv_data, key->mv_size);
	out[key->mv_size] = '\0';
	return 0;
}

static size_t
store_batch_enc(const struct store_batch *b, uint8_t *buf, size_t cap)
{
	struct pack pk;

	pack_init(&pk, buf, cap);
	pack_u8(&pk, STORE_REC_V3);
	pack_str(&pk, b->device_id);
	pack_i64(&pk, b->started_at_ms);
	pack_i64(&pk, b->ended_at_ms);
	pack_u32(&pk, b->event_count);
	pack_u32(&pk, b->unacked);
	pack_i64(&pk, b->total_weight_g);
	pack_u8(&pk, b->state);
	pack_u8(&pk, b->reported);
	pack_i64(&pk, b->done_at_ms);
	pack_i64(&pk, b->started_mono_ms);
	pack_str(&pk, b->boot_id);
	pack_u8(&pk, b->clock);
	pack_u64(&pk, b->first_seq);
	pack_u64(&pk, b->last_seq);
	return pack_ok(&pk) ? pk.len : 0;
}

int
store_batch_dec(const MDB_val *key, const MDB_val *v, struct store_batch *b)
{
	struct unpack u;
	uint8_t ver;

	memset(b, 0, sizeof(*b));
	if (key->mv_size != CT_UUID_LEN)
		return -1;
	memcpy(b->id, key->mv_data, CT_UUID_LEN);
	unpack_init(&u, v->mv_data, v->mv_size);
	ver = unpack_u8(&u);
	if (ver != STORE_REC_V1 && ver != STORE_REC_V2 && ver != STORE_REC_V3)
		return -1;
	unpack_str(&u, b->device_id, sizeof(b->device_id));
	b->started_at_ms = unpack_i64(&u);
	b->ended_at_ms = unpack_i64(&u);
	b->event_count = unpack_u32(&u);
	b->unacked = unpack_u32(&u);
	b->total_weight_g = unpack_i64(&u);
	b->state = unpack_u8(&u);
	b->reported = unpack_u8(&u);
	b->done_at_ms = unpack_i64(&u);
	if (ver >= STORE_REC_V2) {      /* V1: no monotonic stamp, nothing clamped */
		b->started_mono_ms = unpack_i64(&u);
		unpack_str(&u, b->boot_id, sizeof(b->boot_id));
		b->clock = unpack_u8(&u);
	}
	if (ver >= STORE_REC_V3) {      /* older: where its events lie is unknown */
		b->first_seq = unpack_u64(&u);
		b->last_seq = unpack_u64(&u);
	}
	return unpack_done(&u) && b->state <= BATCH_DONE ? 0 : -1;
}

size_t
store_session_enc(const struct store_session *s, uint8_t *buf, size_t cap)
{
	struct pack pk;

	pack_init(&pk, buf, cap);
	pack_u8(&pk, STORE_REC_V1);
	pack_str(&pk, s->cloud_session_id);
	pack_str(&pk, s->animal_id);
	pack_str(&pk, s->animal_tag);
	pack_str(&pk, s->animal_species);
	pack_str(&pk, s->operator_id);
	pack_str(&pk, s->reason);
	pack_u8(&pk, s->status);
	pack_i64(&pk, s->started_at_ms);
	pack_i64(&pk, s->updated_at_ms);
	return pack_ok(&pk) ? pk.len : 0;
}

int
store_session_dec(const MDB_val *key, const MDB_val *v, struct store_session *s)
{
	struct unpack u;

	memset(s, 0, sizeof(*s));
	if (key_str(key, s->device_id, sizeof(s->device_id)) != 0)
		return -1;
	unpack_init(&u, v->mv_data, v->mv_size);
	if (unpack_u8(&u) != STORE_REC_V1)
		return -1;
	unpack_str(&u, s->cloud_session_id, sizeof(s->cloud_session_id));
	unpack_str(&u, s->animal_id, sizeof(s->animal_id));
	unpack_str(&u, s->animal_tag, sizeof(s->animal_tag));
	unpack_str(&u, s->animal_species, sizeof(s->animal_species));
	unpack_str(&u, s->operator_id, sizeof(s->operator_id));
	unpack_str(&u, s->reason, sizeof(s->reason));
	s->status = unpack_u8(&u);
	s->started_at_ms = unpack_i64(&u);
	s->updated_at_ms = unpack_i64(&u);
	return unpack_done(&u) && s->status <= SESS_EXPIRED ? 0 : -1;
}

size_t
store_device_enc(const struct store_device *d, uint8_t *buf, size_t cap)
{
	struct pack pk;

	pack_init(&pk, buf, cap);
	pack_u8(&pk, STORE_REC_V1);
	pack_str(&pk, d->global_device_id);
	pack_str(&pk, d->source_ip);
	pack_str(&pk, d->device_type);
	pack_str(&pk, d->reason);
	pack_u8(&pk, d->status);
	pack_u32(&pk, d->heartbeats);
	pack_u32(&pk, d->connects);
	pack_u64(&pk, d->events);
	pack_i64(&pk, d->first_seen_ms);
	pack_i64(&pk, d->last_seen_ms);
	pack_i64(&pk, d->connected_at_ms);
	pack_i64(&pk, d->disconnected_at_ms);
	return pack_ok(&pk) ? pk.len : 0;
}

int
store_device_dec(const MDB_val *key, const MDB_val *v, struct store_device *d)
{
	struct unpack u;

	memset(d, 0, sizeof(*d));
	if (key_str(key, d->device_id, sizeof(d->device_id)) != 0)
		return -1;
	unpack_init(&u, v->mv_data, v->mv_size);
	if (unpack_u8(&u) != STORE_REC_V1)
		return -1;
	unpack_str(&u, d->global_device_id, sizeof(d->global_device_id));
	unpack_str(&u, d->source_ip, sizeof(d->source_ip));
	unpack_str(&u, d->device_type, sizeof(d->device_type));
	unpack_str(&u, d->reason, sizeof(d->reason));
	d->status = unpack_u8(&u);
	d->heartbeats = unpack_u32(&u);
	d->connects = unpack_u32(&u);
	d->events = unpack_u64(&u);
	d->first_seen_ms = unpack_i64(&u);
	d->last_seen_ms = unpack_i64(&u);
	d->connected_at_ms = unpack_i64(&u);
	d->disconnected_at_ms = unpack_i64(&u);
	return unpack_done(&u) ? 0 : -1;
}

size_t
store_sync_enc(const struct store_sync *s, uint8_t *buf, size_t cap)
{
	struct pack pk;

	pack_init(&pk, buf, cap);
	pack_u8(&pk, STORE_REC_V1);
	pack_u8(&pk, s->status);
	pack_u32(&pk, s->attempts);
	pack_i64(&pk, s->updated_at_ms);
	pack_str(&pk, s->cloud_event_id);
	pack_str(&pk, s->reason);
	return pack_ok(&pk) ? pk.len : 0;
}

static int
store_sync_dec(const MDB_val *v, struct store_sync *s)
{
	struct unpack u;

	memset(s, 0, sizeof(*s));
	unpack_init(&u, v->mv_data, v->mv_size);
	if (unpack_u8(&u) != STORE_REC_V1)
		return -1;
	s->status = unpack_u8(&u);
	s->attempts = unpack_u32(&u);
	s->updated_at_ms = unpack_i64(&u);
	unpack_str(&u, s->cloud_event_id, sizeof(s->cloud_event_id));
	unpack_str(&u, s->reason, sizeof(s->reason));
	return unpack_done(&u) && s->status <= SYNC_REJECTED ? 0 : -1;
}

int
store_batch_load(struct store *st, MDB_txn *txn, const uint8_t id[CT_UUID_LEN],
    struct store_batch *b)
{
	MDB_val k = store_val(id, CT_UUID_LEN), v;
	char ids[CT_UUID_STR];
	int rc;

	ct_uuid_fmt(id, ids);
	if ((rc = mdb_get(txn, st->dbi[DB_BATCHES], &k, &v)) != 0)
		return store_fail(st, rc, "batch %s", ids);
	if (store_batch_dec(&k, &v, b) != 0)
		return store_seterr(st, STORE_CORRUPT, "batch %s: bad record", ids);
	return STORE_OK;
}

int
store_batch_save(struct store *st, const struct store_batch *b)
{
	uint8_t buf[STORE_REC_MAX];
	size_t n = store_batch_enc(b, buf, sizeof(buf));
	MDB_val k = store_val(b->id, CT_UUID_LEN), v = store_val(buf, n);
	char ids[CT_UUID_STR];
	int rc;

	ct_uuid_fmt(b->id, ids);
	if (n == 0)
		return store_seterr(st, STORE_INVAL, "batch %s: record too large", ids);
	if ((rc = mdb_put(st->wtxn, st->dbi[DB_BATCHES], &k, &v, 0)) != 0)
		return store_wfail(st, rc, "batch %s: write", ids);
	return STORE_OK;
}

int
store_sync_load(struct store *st, MDB_txn *txn, uint64_t seq, struct store_sync *sy)
{
	uint8_t kb[8];
	MDB_val k = store_val(kb, 8), v;
	int rc;

	store_be64(seq, kb);
	rc = mdb_get(txn, st->dbi[DB_SYNC], &k, &v);
	if (rc == MDB_NOTFOUND) {
		/* no answer from the cloud yet */
		memset(sy, 0, sizeof(*sy));
		sy->status = SYNC_PENDING;
		return STORE_OK;
	}
	if (rc != 0)
		return store_fail(st, rc, "sync %llu", (unsigned long long)seq);
	if (store_sync_dec(&v, sy) != 0)
		return store_seterr(st, STORE_CORRUPT, "sync %llu: bad record",
		    (unsigned long long)seq);
	return STORE_OK;
}

int
store_event_load(struct store *st, MDB_txn *txn, uint64_t seq, struct ct_event *ev)
{
	uint8_t kb[8];
	MDB_val k = store_val(kb, 8), v;
	int rc;

	store_be64(seq, kb);
	if ((rc = mdb_get(txn, st->dbi[DB_EVENTS], &k, &v)) != 0)
		return store_fail(st, rc, "event %llu", (unsigned long long)seq);
	if (event_decode(v.mv_data, v.mv_size, ev) != 0)
		return store_seterr(st, STORE_CORRUPT, "event %llu: bad record",
		    (unsigned long long)seq);
	return STORE_OK;
}

size_t
store_open_batch_key(const char *device_id, char *out, size_t cap)
{
	int n = snprintf(out, cap, STORE_OB_PREFIX "%s", device_id);

	return n > 0 && (size_t)n < cap ? (size_t)n : 0;
}

const char *
store_batch_state_name(uint8_t state)
{
	switch (state) {
	case BATCH_OPEN:   return "open";
	case BATCH_CLOSED: return "closed";
	case BATCH_DONE:   return "done";
	}
	return "?";
}

const char *
store_sync_name(uint8_t status)
{
	switch (status) {
	case SYNC_PENDING:   return "pending";
	case SYNC_ACCEPTED:  return "accepted";
	case SYNC_DUPLICATE: return "duplicate";
	case SYNC_REJECTED:  return "rejected";
	}
	return "?";
}

const char *
store_session_status_name(uint8_t status)
{
	switch (status) {
	case SESS_ACTIVE:  return "active";
	case SESS_PAUSED:  return "paused";
	case SESS_ENDED:   return "ended";
	case SESS_EXPIRED: return "expired";
	}
	return "?";
}

const char *
store_dev_status_name(uint8_t status)
{
	switch (status) {
	case DEV_CONNECTED:    return "connected";
	case DEV_DISCONNECTED: return "disconnected";
	case DEV_STALE:        return "stale";
	case DEV_SUPERSEDED:   return "superseded";
	}
	return "unknown";
}
