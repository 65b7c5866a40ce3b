/*
 * Events in, sync outcomes in. An event is deduplicated by localEventId,
 * tagged (online: the scale's active session; offline: the scale's open
 * batch), numbered, and appended with its index records in the caller's
 * transaction. Once tagging has written anything, any later failure poisons
 * the transaction, so an event and its batch counters commit together or not
 * at all.
 */
#include "store/store_int.h"

#include <stdio.h>
#include <string.h>

#include "event/event_codec.h"

static int
poison(struct store *st, int e)
{
	if (e != STORE_OK && !st->wtxn_dead) {
		st->wtxn_dead = true;
		st->wtxn_dead_rc = MDB_BAD_TXN;
	}
	return e;
}

static int
seq_by_id(struct store *st, MDB_txn *txn, const uint8_t id[CT_UUID_LEN], uint64_t *seq)
{
	MDB_val k = store_val(id, CT_UUID_LEN), v;
	char ids[CT_UUID_STR];
	int rc;

	ct_uuid_fmt(id, ids);
	if ((rc = mdb_get(txn, st->dbi[DB_EVENT_IDS], &k, &v)) != 0)
		return store_fail(st, rc, "event %s", ids);
	if (v.mv_size != 8)
		return store_seterr(st, STORE_CORRUPT, "event_ids %s: bad value", ids);
	*seq = store_get_be64(v.mv_data);
	return STORE_OK;
}

static bool
session_live(const struct store *st, const struct store_session *s)
{
	return st->opts.session_expiry_ms <= 0 ||
	    s->updated_at_ms + st->opts.session_expiry_ms > st->now_ms;
}

static int
session_save(struct store *st, const struct store_session *s)
{
	uint8_t buf[STORE_REC_MAX];
	size_t n = store_session_enc(s, buf, sizeof(buf));
	MDB_val k = store_val(s->device_id, strlen(s->device_id)), v = store_val(buf, n);
	int rc;

	if (n == 0 || k.mv_size == 0)
		return store_seterr(st, STORE_INVAL, "session of '%s': bad record", s->device_id);
	if ((rc = mdb_put(st->wtxn, st->dbi[DB_SESSIONS], &k, &v, 0)) != 0)
		return store_wfail(st, rc, "session of %s: write", s->device_id);
	return STORE_OK;
}

/* Online: the scale's session if it is active and not idle past expiry. A
 * tagged event counts as activity. */
static int
tag_session(struct store *st, struct ct_event *ev)
{
	struct store_session s;
	int e = store_session_get(st, ev->device_id, &s);

	if (e == STORE_NOTFOUND)
		return STORE_OK;
	if (e != STORE_OK)
		return e;
	if (s.status != SESS_ACTIVE)
		return STORE_OK;
	if (!session_live(st, &s)) {
		s.status = SESS_EXPIRED;
		snprintf(s.reason, sizeof(s.reason), "expired");
		s.updated_at_ms = st->now_ms;
		return session_save(st, &s);
	}
	snprintf(ev->cloud_session_id, sizeof(ev->cloud_session_id), "%s", s.cloud_session_id);
	s.updated_at_ms = st->now_ms;
	return session_save(st, &s);
}

int
store_put_event(struct store *st, struct ct_event *ev, bool online, bool *dup)
{
	uint8_t buf[CT_EVENT_ENC_MAX], kb[8];
	MDB_val k, v;
	size_t n;
	int rc, e;

	*dup = false;
	if ((e = store_need_wtxn(st)) != 0)
		return e;
	if (ev->device_id[0] == '\0')
		return store_seterr(st, STORE_INVAL, "event without deviceId");
	e = seq_by_id(st, st->wtxn, ev->local_id, &ev->seq);
	if (e == STORE_OK) {
		*dup = true;
		return STORE_OK;
	}
	if (e != STORE_NOTFOUND)
		return e;

	ev->seq = st->next_seq;
	ev->offline = false;
	ev->cloud_session_id[0] = '\0';
	memset(ev->offline_batch_id, 0, CT_UUID_LEN);
	/* untagged size + the largest tag: enough for the capacity check */
	if ((n = event_encode(ev, buf, sizeof(buf))) == 0)
		return store_seterr(st, STORE_INVAL, "event from %s does not encode",
		    ev->device_id);
	if (st->full || !store_room_for(st, n + CT_SESSION_ID_MAX + 64)) {
		st->full = true;
		return store_seterr(st, STORE_FULL, "store full: event from %s refused",
		    ev->device_id);
	}

	/* from here on a failure must not leave half an event behind */
	e = online ? tag_session(st, ev) : store_batch_tag(st, ev);
	if (e == STORE_OK)
		e = store_device_count_event(st, ev);
	if (e != STORE_OK)
		return poison(st, e);
	if ((n = event_encode(ev, buf, sizeof(buf))) == 0)
		return poison(st, store_seterr(st, STORE_INVAL, "tagged event does not encode"));

	store_be64(ev->seq, kb);
	k = store_val(kb, 8);
	v = store_val(buf, n);
	if ((rc = mdb_put(st->wtxn, st->dbi[DB_EVENTS], &k, &v, MDB_APPEND)) != 0)
		return poison(st,
		    store_wfail(st, rc, "event %llu: append", (unsigned long long)ev->seq));
	k = store_val(ev->local_id, CT_UUID_LEN);
	v = store_val(kb, 8);
	if ((rc = mdb_put(st->wtxn, st->dbi[DB_EVENT_IDS], &k, &v, MDB_NOOVERWRITE)) != 0)
		return poison(st,
		    store_wfail(st, rc, "event %llu: id index", (unsigned long long)ev->seq));
	k = store_val(kb, 8);
	v = store_val("", 0);
	if ((rc = mdb_put(st->wtxn, st->dbi[DB_PENDING], &k, &v, MDB_APPEND)) != 0)
		return poison(st,
		    store_wfail(st, rc, "event %llu: pending", (unsigned long long)ev->seq));
	st->next_seq++;
	st->txn_bytes += n + 64;
	st->txn_events++;
	return STORE_OK;
}

/* Records the cloud's final answer for one event. */
static int
settle(struct store *st, const uint8_t id[CT_UUID_LEN], uint8_t status,
    const char *cloud_event_id, const char *reason)
{
	struct store_sync sy;
	struct ct_event ev;
	uint8_t buf[STORE_REC_MAX], kb[8];
	MDB_val k, v;
	bool was_final;
	uint64_t seq;
	size_t n;
	int rc, e;

	if ((e = store_need_wtxn(st)) != 0)
		return e;
	if ((e = seq_by_id(st, st->wtxn, id, &seq)) != 0)
		return e;
	if ((e = store_sync_load(st, st->wtxn, seq, &sy)) != 0)
		return e;
	was_final = sy.status != SYNC_PENDING;
	sy.attempts++;
	sy.updated_at_ms = st->now_ms;
	if (!was_final) {
		sy.status = status;
		snprintf(sy.cloud_event_id, sizeof(sy.cloud_event_id), "%s",
		    cloud_event_id ? cloud_event_id : "");
		snprintf(sy.reason, sizeof(sy.reason), "%s", reason ? reason : "");
	}
	if ((n = store_sync_enc(&sy, buf, sizeof(buf))) == 0)
		return store_seterr(st, STORE_INVAL, "sync %llu: record too large",
		    (unsigned long long)seq);
	store_be64(seq, kb);
	k = store_val(kb, 8);
	v = store_val(buf, n);
	if ((rc = mdb_put(st->wtxn, st->dbi[DB_SYNC], &k, &v, 0)) != 0)
		return store_wfail(st, rc, "sync %llu: write", (unsigned long long)seq);
	if (was_final)
		return STORE_OK;

	k = store_val(kb, 8);
	rc = mdb_del(st->wtxn, st->dbi[DB_PENDING], &k, NULL);
	if (rc != 0 && rc != MDB_NOTFOUND)
		return store_wfail(st, rc, "pending %llu: delete", (unsigned long long)seq);
	if (seq < st->prune_mark)
		st->prune_mark = seq;
	if ((e = store_event_load(st, st->wtxn, seq, &ev)) != 0)
		return poison(st, e);
	if (!ct_uuid_is_nil(ev.offline_batch_id))
		return poison(st, store_batch_event_settled(st, ev.offline_batch_id));
	return STORE_OK;
}

int
store_ack(struct store *st, const uint8_t id[CT_UUID_LEN], enum ct_ack status,
    const char *cloud_event_id)
{
	if (status != CT_ACK_ACCEPTED && status != CT_ACK_DUPLICATE)
		return store_seterr(st, STORE_INVAL, "ack status %d", (int)status);
	return settle(st, id, status == CT_ACK_ACCEPTED ? SYNC_ACCEPTED : SYNC_DUPLICATE,
	    cloud_event_id, NULL);
}

int
store_reject(struct store *st, const uint8_t id[CT_UUID_LEN], const char *reason)
{
	return settle(st, id, SYNC_REJECTED, NULL, reason);
}
