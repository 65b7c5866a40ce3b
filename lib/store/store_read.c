/*
 * Read side for the cloud worker and carnitrackctl: each call is one short
 * read-only transaction (or the writer's own transaction when one is open),
 * so readers never hold old pages for long.
 */
#include "store/store_int.h"

#include <stdio.h>
#include <string.h>

#include "event/event_codec.h"

static int
emit_event(struct store *st, MDB_txn *txn, const MDB_val *k, const MDB_val *v,
    store_event_cb cb, void *arg, int *stop)
{
	struct ct_event ev;
	struct store_sync sy;
	uint64_t seq;
	int e;

	if (k->mv_size != 8)
		return store_seterr(st, STORE_CORRUPT, "events: key of %zu bytes", k->mv_size);
	seq = store_get_be64(k->mv_data);
	if (event_decode(v->mv_data, v->mv_size, &ev) != 0)
		return store_seterr(st, STORE_CORRUPT, "event %llu: bad record",
		    (unsigned long long)seq);
	if ((e = store_sync_load(st, txn, seq, &sy)) != 0)
		return e;
	*stop = cb(&ev, &sy, arg);
	return STORE_OK;
}

int
store_pending_iter(struct store *st, uint64_t from_seq, unsigned max,
    store_event_cb cb, void *arg)
{
	MDB_txn *txn;
	MDB_cursor *c;
	uint8_t kb[8];
	MDB_val k, v, ek, ev;
	unsigned n = 0;
	int rc, e, stop = 0;

	if ((e = store_rtxn_begin(st, &txn)) != 0)
		return e;
	if ((rc = mdb_cursor_open(txn, st->dbi[DB_PENDING], &c)) != 0) {
		store_rtxn_end(st, txn);
		return store_fail(st, rc, "cursor pending");
	}
	store_be64(from_seq, kb);
	k = store_val(kb, 8);
	for (rc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE); rc == 0 && !stop;
	    rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
		if (max != 0 && n >= max)
			break;
		ek = k;
		if ((rc = mdb_get(txn, st->dbi[DB_EVENTS], &ek, &ev)) != 0) {
			e = store_fail(st, rc, "pending event %llu",
			    (unsigned long long)(k.mv_size == 8 ? store_get_be64(k.mv_data) : 0));
			break;
		}
		if ((e = emit_event(st, txn, &ek, &ev, cb, arg, &stop)) != 0)
			break;
		n++;
	}
	if (e == STORE_OK && rc != 0 && rc != MDB_NOTFOUND)
		e = store_fail(st, rc, "pending walk");
	mdb_cursor_close(c);
	store_rtxn_end(st, txn);
	return e;
}

int
store_events_iter(struct store *st, uint64_t from_seq, bool reverse, unsigned max,
    store_event_cb cb, void *arg)
{
	MDB_txn *txn;
	MDB_cursor *c;
	uint8_t kb[8];
	MDB_val k, v;
	MDB_cursor_op step = reverse ? MDB_PREV : MDB_NEXT;
	unsigned n = 0;
	int rc, e = STORE_OK, stop = 0;

	if ((e = store_rtxn_begin(st, &txn)) != 0)
		return e;
	if ((rc = mdb_cursor_open(txn, st->dbi[DB_EVENTS], &c)) != 0) {
		store_rtxn_end(st, txn);
		return store_fail(st, rc, "cursor events");
	}
	store_be64(from_seq, kb);
	k = store_val(kb, 8);
	if (reverse && from_seq == 0)
		rc = mdb_cursor_get(c, &k, &v, MDB_LAST);
	else {
		rc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE);
		if (reverse && rc == MDB_NOTFOUND)
			rc = mdb_cursor_get(c, &k, &v, MDB_LAST);
		else if (reverse && rc == 0 && store_get_be64(k.mv_data) > from_seq)
			rc = mdb_cursor_get(c, &k, &v, MDB_PREV);
	}
	for (; rc == 0 && !stop; rc = mdb_cursor_get(c, &k, &v, step)) {
		if (max != 0 && n >= max)
			break;
		if ((e = emit_event(st, txn, &k, &v, cb, arg, &stop)) != 0)
			break;
		n++;
	}
	if (e == STORE_OK && rc != 0 && rc != MDB_NOTFOUND)
		e = store_fail(st, rc, "events walk");
	mdb_cursor_close(c);
	store_rtxn_end(st, txn);
	return e;
}

int
store_event_get(struct store *st, uint64_t seq, struct ct_event *ev, struct store_sync *sy)
{
	MDB_txn *txn;
	int e;

	if ((e = store_rtxn_begin(st, &txn)) != 0)
		return e;
	e = store_event_load(st, txn, seq, ev);
	if (e == STORE_OK && sy != NULL)
		e = store_sync_load(st, txn, seq, sy);
	store_rtxn_end(st, txn);
	return e;
}

int
store_event_get_by_id(struct store *st, const uint8_t id[CT_UUID_LEN],
    struct ct_event *ev, struct store_sync *sy)
{
	MDB_txn *txn;
	MDB_val k = store_val(id, CT_UUID_LEN), v;
	uint64_t seq;
	int rc, e;

	if ((e = store_rtxn_begin(st, &txn)) != 0)
		return e;
	if ((rc = mdb_get(txn, st->dbi[DB_EVENT_IDS], &k, &v)) != 0) {
		char ids[CT_UUID_STR];

		ct_uuid_fmt(id, ids);
		e = store_fail(st, rc, "event %s", ids);
	} else if (v.mv_size != 8)
		e = store_seterr(st, STORE_CORRUPT, "event_ids: bad value");
	else {
		seq = store_get_be64(v.mv_data);
		e = store_event_load(st, txn, seq, ev);
		if (e == STORE_OK && sy != NULL)
			e = store_sync_load(st, txn, seq, sy);
	}
	store_rtxn_end(st, txn);
	return e;
}

/* Walks one of the record databases; emit decodes one record and hands it
 * to the typed callback in ctx. */
struct walk_ctx {
	store_batch_cb   batch;
	store_session_cb session;
	store_device_cb  device;
	void            *arg;
};
typedef int (*emit_fn)(const MDB_val *k, const MDB_val *v, struct walk_ctx *w, int *stop);

static int
emit_batch(const MDB_val *k, const MDB_val *v, struct walk_ctx *w, int *stop)
{
	struct store_batch b;

	if (store_batch_dec(k, v, &b) != 0)
		return -1;
	*stop = w->batch(&b, w->arg);
	return 0;
}

static int
emit_session(const MDB_val *k, const MDB_val *v, struct walk_ctx *w, int *stop)
{
	struct store_session s;

	if (store_session_dec(k, v, &s) != 0)
		return -1;
	*stop = w->session(&s, w->arg);
	return 0;
}

static int
emit_device(const MDB_val *k, const MDB_val *v, struct walk_ctx *w, int *stop)
{
	struct store_device d;

	if (store_device_dec(k, v, &d) != 0)
		return -1;
	*stop = w->device(&d, w->arg);
	return 0;
}

static int
walk(struct store *st, enum store_dbi db, emit_fn emit, struct walk_ctx *w)
{
	MDB_txn *txn;
	MDB_cursor *c;
	MDB_val k, v;
	int rc, e = STORE_OK, stop = 0;

	if ((e = store_rtxn_begin(st, &txn)) != 0)
		return e;
	if ((rc = mdb_cursor_open(txn, st->dbi[db], &c)) != 0) {
		store_rtxn_end(st, txn);
		return store_fail(st, rc, "cursor %s", store_db_names[db]);
	}
	for (rc = mdb_cursor_get(c, &k, &v, MDB_FIRST); rc == 0 && !stop;
	    rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
		if (emit(&k, &v, w, &stop) != 0) {
			e = store_seterr(st, STORE_CORRUPT, "%s: bad record", store_db_names[db]);
			break;
		}
	}
	if (e == STORE_OK && rc != 0 && rc != MDB_NOTFOUND)
		e = store_fail(st, rc, "%s walk", store_db_names[db]);
	mdb_cursor_close(c);
	store_rtxn_end(st, txn);
	return e;
}

int
store_batches_iter(struct store *st, store_batch_cb cb, void *arg)
{
	struct walk_ctx w = { .batch = cb, .arg = arg };

	return walk(st, DB_BATCHES, emit_batch, &w);
}

int
store_sessions_iter(struct store *st, store_session_cb cb, void *arg)
{
	struct walk_ctx w = { .session = cb, .arg = arg };

	return walk(st, DB_SESSIONS, emit_session, &w);
}

int
store_devices_iter(struct store *st, store_device_cb cb, void *arg)
{
	struct walk_ctx w = { .device = cb, .arg = arg };

	return walk(st, DB_DEVICES, emit_device, &w);
}

int
store_batch_get(struct store *st, const uint8_t id[CT_UUID_LEN], struct store_batch *b)
{
	MDB_txn *txn;
	int e;

	if ((e = store_rtxn_begin(st, &txn)) != 0)
		return e;
	e = store_batch_load(st, txn, id, b);
	store_rtxn_end(st, txn);
	return e;
}

typedef int (*dec_fn)(const MDB_val *k, const MDB_val *v, void *rec);
static int dec_session(const MDB_val *k, const MDB_val *v,
    void *r) { return store_session_dec(k, v, r); }
static int dec_device(const MDB_val *k, const MDB_val *v,
    void *r) { return store_device_dec(k, v, r); }

static int
get_keyed(struct store *st, enum store_dbi db, const char *key, dec_fn dec, void *rec)
{
	MDB_txn *txn;
	MDB_val k = store_val(key, strlen(key)), v;
	int rc, e;

	if (k.mv_size == 0 || k.mv_size > 511)
		return store_seterr(st, STORE_INVAL, "%s: bad key", store_db_names[db]);
	if ((e = store_rtxn_begin(st, &txn)) != 0)
		return e;
	if ((rc = mdb_get(txn, st->dbi[db], &k, &v)) != 0)
		e = store_fail(st, rc, "%s %s", store_db_names[db], key);
	else if (dec(&k, &v, rec) != 0)
		e = store_seterr(st, STORE_CORRUPT, "%s %s: bad record", store_db_names[db], key);
	store_rtxn_end(st, txn);
	return e;
}

int
store_session_get(struct store *st, const char *device_id, struct store_session *s)
{
	return get_keyed(st, DB_SESSIONS, device_id, dec_session, s);
}

int
store_device_get(struct store *st, const char *device_id, struct store_device *d)
{
	return get_keyed(st, DB_DEVICES, device_id, dec_device, d);
}

int
store_plu_get(struct store *st, const char *plu_code, char *json, size_t cap)
{
	MDB_txn *txn;
	MDB_val k = store_val(plu_code, strlen(plu_code)), v;
	int rc, e;

	if (k.mv_size == 0 || k.mv_size > 64)
		return store_seterr(st, STORE_INVAL, "PLU code empty or too long");
	if ((e = store_rtxn_begin(st, &txn)) != 0)
		return e;
	if ((rc = mdb_get(txn, st->dbi[DB_PLU], &k, &v)) != 0)
		e = store_fail(st, rc, "PLU %s", plu_code);
	else if (v.mv_size >= cap)
		e = store_seterr(st, STORE_INVAL, "PLU %s: %zu bytes do not fit %zu", plu_code,
		    v.mv_size, cap);
	else {
		memcpy(json, v.mv_data, v.mv_size);
		json[v.mv_size] = '\0';
	}
	store_rtxn_end(st, txn);
	return e;
}

static void
meta_str(struct store *st, MDB_txn *txn, const char *name, char *out, size_t cap)
{
	MDB_val k = store_val(name, strlen(name)), v;

	out[0] = '\0';
	if (mdb_get(txn, st->dbi[DB_META], &k, &v) == 0 && v.mv_size < cap &&
	    memchr(v.mv_data, '\0', v.mv_size) == NULL) {
		memcpy(out, v.mv_data, v.mv_size);
		out[v.mv_size] = '\0';
	}
}

int
store_identity_get(struct store *st, struct store_identity *id)
{
	MDB_txn *txn;
	int e;

	if ((e = store_rtxn_begin(st, &txn)) != 0)
		return e;
	meta_str(st, txn, "edge_id", id->edge_id, sizeof(id->edge_id));
	meta_str(st, txn, "site_id", id->site_id, sizeof(id->site_id));
	meta_str(st, txn, "site_name", id->site_name, sizeof(id->site_name));
	meta_str(st, txn, "identity_source", id->source, sizeof(id->source));
	store_rtxn_end(st, txn);
	if (id->edge_id[0] == '\0' && id->site_id[0] == '\0')
		return store_seterr(st, STORE_NOTFOUND, "no identity stored yet");
	return STORE_OK;
}
