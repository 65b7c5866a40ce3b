/*
 * Offline batches. One open batch per scale, found through the meta key
 * "ob/<deviceId>"; it is created by that scale's first offline event and its
 * counters change in the same transaction as each event, so they cannot
 * drift. Life: open -> closed (link back, endedAt) -> done (end reported and
 * every event answered by the cloud) -> pruned after retention.
 *
 * Clock steps: the wall clock may be stepped back and forth during an
 * outage (NTP after a cold start, an operator, a bad RTC); the monotonic
 * clock (opts.mono_ms) is not, within one boot. A batch keeps its monotonic
 * start; at its close, an endedAt before startedAt, or a wall duration that
 * disagrees with the monotonic one by more than 2 s (or 1%, slewing), is
 * replaced by startedAt + the monotonic duration. A scale's next batch may
 * not start before its previous one ended ("lb/<deviceId>" in meta keeps
 * that end): an earlier startedAt is moved to the previous end plus the
 * monotonic time since. Each clamp sets a bit in the batch's `clock`, which
 * goes to the cloud as clockAdjusted. Across a reboot only the order is
 * enforced (endedAt >= startedAt >= the previous end).
 */
#include "store/store_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "event/event_codec.h"
#include "ipc/pack.h"

#define LB_PREFIX "lb/"

/* Where and when a scale's last batch ended, for the next one's start. */
struct last_end {
	int64_t wall_ms, mono_ms;
	char    boot_id[40];
};

static size_t
last_end_key(const char *device_id, char *out, size_t cap)
{
	int n = snprintf(out, cap, "%s%s", LB_PREFIX, device_id);

	return n > 0 && (size_t)n < cap ? (size_t)n : 0;
}

static bool
last_end_get(struct store *st, const char *device_id, struct last_end *le)
{
	char kb[sizeof(LB_PREFIX) + CT_DEVICE_ID_MAX];
	size_t kn = last_end_key(device_id, kb, sizeof(kb));
	MDB_val k = store_val(kb, kn), v;
	struct unpack u;

	if (kn == 0 || mdb_get(st->wtxn, st->dbi[DB_META], &k, &v) != 0)
		return false;
	unpack_init(&u, v.mv_data, v.mv_size);
	le->wall_ms = unpack_i64(&u);
	le->mono_ms = unpack_i64(&u);
	unpack_str(&u, le->boot_id, sizeof(le->boot_id));
	return unpack_done(&u);       /* a bad record: no order to keep */
}

static int
last_end_put(struct store *st, const struct store_batch *b)
{
	char kb[sizeof(LB_PREFIX) + CT_DEVICE_ID_MAX];
	size_t kn = last_end_key(b->device_id, kb, sizeof(kb));
	uint8_t buf[64];
	struct pack pk;
	MDB_val k = store_val(kb, kn), v;
	int rc;

	if (kn == 0)
		return STORE_OK;
	pack_init(&pk, buf, sizeof(buf));
	pack_i64(&pk, b->ended_at_ms);
	pack_i64(&pk, st->now_mono_ms);
	pack_str(&pk, st->boot_id);
	if (!pack_ok(&pk))
		return store_seterr(st, STORE_INVAL, "meta %s: record too large", kb);
	v = store_val(buf, pk.len);
	if ((rc = mdb_put(st->wtxn, st->dbi[DB_META], &k, &v, 0)) != 0)
		return store_wfail(st, rc, "meta %s: write", kb);
	return STORE_OK;
}

/* The monotonic clock of this txn can be compared with a stamp of then. */
static bool
same_boot(const struct store *st, int64_t then_mono, const char *then_boot)
{
	return st->now_mono_ms > 0 && then_mono > 0 && st->boot_id[0] != '\0' &&
	    strcmp(st->boot_id, then_boot) == 0 && st->now_mono_ms >= then_mono;
}

/* A new batch may not start before the scale's previous batch ended. */
static void
clamp_start(struct store *st, struct store_batch *b)
{
	struct last_end le;

	if (!last_end_get(st, b->device_id, &le) || b->started_at_ms >= le.wall_ms)
		return;
	b->started_at_ms = le.wall_ms;
	if (same_boot(st, le.mono_ms, le.boot_id))
		b->started_at_ms += st->now_mono_ms - le.mono_ms;
	b->clock |= STORE_BATCH_CLOCK_START;
}

/* endedAt from now, unless the monotonic clock says otherwise. */
static void
set_end(struct store *st, struct store_batch *b)
{
	int64_t wall = st->now_ms - b->started_at_ms, mono, tol;

	b->ended_at_ms = st->now_ms;
	if (same_boot(st, b->started_mono_ms, b->boot_id)) {
		mono = st->now_mono_ms - b->started_mono_ms;
		tol = mono / 100 > 2000 ? mono / 100 : 2000;
		if (wall < 0 || llabs(wall - mono) > tol) {
			b->ended_at_ms = b->started_at_ms + mono;
			b->clock |= STORE_BATCH_CLOCK_END;
		}
	} else if (wall < 0) {
		b->ended_at_ms = b->started_at_ms;
		b->clock |= STORE_BATCH_CLOCK_END;
	}
}

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
		b.started_mono_ms = st->now_mono_ms;
		snprintf(b.boot_id, sizeof(b.boot_id), "%s", st->boot_id);
		clamp_start(st, &b);
		b.state = BATCH_OPEN;
		v = store_val(b.id, CT_UUID_LEN);
		if ((rc = mdb_put(st->wtxn, st->dbi[DB_META], &k, &v, 0)) != 0)
			return store_wfail(st, rc, "meta %s: write", kb);
	} else
		return store_fail(st, rc, "meta %s", kb);

	if (b.first_seq == 0)
		b.first_seq = ev->seq;
	b.last_seq = ev->seq;
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
			set_end(st, &b);
			b.state = BATCH_CLOSED;
			check_done(st, &b);
			if ((e = store_batch_save(st, &b)) != 0 || (e = last_end_put(st, &b)) != 0)
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
	if (b.unacked == 0 && b.state == BATCH_CLOSED && !(b.reported & CT_BATCH_END_SENT))
		st->batch_answered = true;
	return store_batch_save(st, &b);
}

bool
store_take_batch_answered(struct store *st)
{
	bool was = st->batch_answered;

	st->batch_answered = false;
	return was;
}

/* ------------------------------------------------------------ read side */

#define BATCH_SCAN_PER_ID 64      /* events looked at per id wanted, at most */

int
store_batch_events(struct store *st, const uint8_t id[CT_UUID_LEN], uint64_t *pos,
    unsigned max, uint8_t (*ids)[CT_UUID_LEN], unsigned *n, bool *done)
{
	uint64_t budget = (uint64_t)max * BATCH_SCAN_PER_ID, seq = 0;
	struct store_batch b;
	struct ct_event ev;
	MDB_cursor *c;
	MDB_txn *txn;
	uint8_t kb[8];
	MDB_val k, v;
	int rc, e;

	*n = 0;
	*done = false;
	if ((e = store_rtxn_begin(st, &txn)) != 0)
		return e;
	if ((e = store_batch_load(st, txn, id, &b)) != 0) {
		store_rtxn_end(st, txn);
		return e;
	}
	if (*pos < b.first_seq)
		*pos = b.first_seq;
	if ((rc = mdb_cursor_open(txn, st->dbi[DB_EVENTS], &c)) != 0) {
		store_rtxn_end(st, txn);
		return store_fail(st, rc, "cursor events");
	}
	store_be64(*pos, kb);
	k = store_val(kb, 8);
	for (rc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE); rc == 0;
	    rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
		if (k.mv_size != 8) {
			e = store_seterr(st, STORE_CORRUPT, "events: key of %zu bytes", k.mv_size);
			break;
		}
		seq = store_get_be64(k.mv_data);
		if ((b.last_seq != 0 && seq > b.last_seq) || *n >= max || budget == 0)
			break;
		budget--;
		*pos = seq + 1;
		if (event_decode(v.mv_data, v.mv_size, &ev) != 0) {
			e = store_seterr(st, STORE_CORRUPT, "event %llu: bad record",
			    (unsigned long long)seq);
			break;
		}
		if (memcmp(ev.offline_batch_id, id, CT_UUID_LEN) == 0)
			memcpy(ids[(*n)++], ev.local_id, CT_UUID_LEN);
	}
	if (e == STORE_OK && rc == MDB_NOTFOUND)
		*done = true;
	else if (e == STORE_OK && rc == 0 && b.last_seq != 0 && seq > b.last_seq)
		*done = true;
	else if (e == STORE_OK && rc != 0)
		e = store_fail(st, rc, "batch events walk");
	if (e == STORE_OK && b.last_seq != 0 && *pos > b.last_seq)
		*done = true;
	mdb_cursor_close(c);
	store_rtxn_end(st, txn);
	return e;
}
