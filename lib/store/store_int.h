/*
 * Inside the store: the handle, the named databases, key helpers and the
 * record codecs shared by the store_*.c files. Not for use outside lib/store.
 */
#ifndef CT_STORE_INT_H
#define CT_STORE_INT_H

#include <lmdb.h>

#include "store/store.h"

enum store_dbi {
	DB_META, DB_EVENTS, DB_EVENT_IDS, DB_PENDING, DB_SYNC, DB_BATCHES,
	DB_SESSIONS, DB_DEVICES, DB_PLU, DB_QUARANTINE, DB_COUNT
};
extern const char *const store_db_names[DB_COUNT];

/* Format version of the small records (batch, session, device, sync). */
#define STORE_REC_V1 1
#define STORE_REC_V2 2                /* batches: + monotonic start, boot id, clock */
#define STORE_REC_V3 3                /* batches: + first and last event seq */

struct store {
	MDB_env  *env;
	MDB_dbi   dbi[DB_COUNT];
	bool      readonly;
	char      path[1024];
	struct store_opts opts;
	char      site_id[64];        /* opts.site_id, copied */
	char      err[512];

	/* writer state */
	MDB_txn  *wtxn;
	bool      wtxn_dead;          /* an LMDB error poisoned it: commit fails */
	int       wtxn_dead_rc;
	int64_t   now_ms;             /* the time of this txn, given to store_begin */
	int64_t   now_mono_ms;        /* opts.mono_ms() at store_begin, 0 = none */
	char      boot_id[40];        /* /proc/sys/kernel/random/boot_id, "" = unknown */
	uint64_t  next_seq;           /* next event sequence */
	uint64_t  txn_first_seq;      /* next_seq at begin, to roll back on abort */
	bool      full;               /* events refused (high-water check) */
	size_t    full_pages;         /* pages in use when refusing began */
	bool      full_saved;         /* what meta "full" says, for readers */
	size_t    max_pages, used_pages_at_begin, psize;
	size_t    state_pages;        /* of sessions/devices/PLU at begin: not event space */
	bool      used_exact;         /* used_pages_at_begin counts the free list */
	size_t    txn_bytes;          /* estimate of what this txn added */
	size_t    txn_events;
	bool      batch_answered;     /* store_take_batch_answered's hint */
	uint64_t  prune_mark;         /* every event below is pending or gone */
	uint64_t  prune_mark_at_begin;
	double    last_commit_ms;
	uint64_t  commits;
	int       last_rc;            /* LMDB or errno code of the last failure */
};

/* Error mapping, the one place LMDB codes become store errors (store_err.c). */
int store_fail(struct store *st, int rc, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
int store_seterr(struct store *st, int e, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* For write-path LMDB failures: marks the txn dead when LMDB requires it. */
int store_wfail(struct store *st, int rc, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Pages above which events are refused (store_txn.c). */
/* Capacity estimate for adding bytes in the current txn (store_txn.c). */
bool store_room_for(struct store *st, size_t bytes);

/* Pages held by sessions, devices and PLU in txn; *plu (may be NULL) gets
 * the PLU part (store_state.c). */
size_t store_state_pages(struct store *st, MDB_txn *txn, size_t *plu);

/* Checks there is a live write txn. */
int store_need_wtxn(struct store *st);

/* Read txn helper: the write txn when open, else a fresh read-only txn. */
int  store_rtxn_begin(struct store *st, MDB_txn **txn);
void store_rtxn_end(struct store *st, MDB_txn *txn);

/* Keys. */
static inline void
store_be64(uint64_t v, uint8_t out[8])
{
	for (int i = 7; i >= 0; i--) {
		out[i] = (uint8_t)v;
		v >>= 8;
	}
}
static inline uint64_t
store_get_be64(const void *p)
{
	const uint8_t *b = p;
	uint64_t v = 0;

	for (int i = 0; i < 8; i++)
		v = v << 8 | b[i];
	return v;
}
static inline MDB_val
store_val(const void *p, size_t n)
{
	MDB_val v = { .mv_size = n, .mv_data = (void *)p };
	return v;
}

/* Record codecs (store_record.c). Encoders return length or 0 if it does not
 * fit; decoders return 0 or -1 on a bad record. */
#define STORE_REC_MAX 2048
int    store_batch_dec(const MDB_val *key, const MDB_val *v, struct store_batch *b);
size_t store_session_enc(const struct store_session *s, uint8_t *buf, size_t cap);
int    store_session_dec(const MDB_val *key, const MDB_val *v, struct store_session *s);
size_t store_device_enc(const struct store_device *d, uint8_t *buf, size_t cap);
int    store_device_dec(const MDB_val *key, const MDB_val *v, struct store_device *d);
size_t store_sync_enc(const struct store_sync *s, uint8_t *buf, size_t cap);

/* Typed get/put inside a txn; map LMDB errors. */
int store_batch_load(struct store *st, MDB_txn *txn, const uint8_t id[CT_UUID_LEN],
    struct store_batch *b);
int store_batch_save(struct store *st, const struct store_batch *b);
int store_sync_load(struct store *st, MDB_txn *txn, uint64_t seq, struct store_sync *sy);
int store_event_load(struct store *st, MDB_txn *txn, uint64_t seq, struct ct_event *ev);
/* Offline tagging: the scale's open batch, created when missing. */
int store_batch_tag(struct store *st, struct ct_event *ev);
/* Batch bookkeeping after one of its events is acked or rejected. */
int store_batch_event_settled(struct store *st, const uint8_t id[CT_UUID_LEN]);

/* Per-device event counter, same txn as the event (store_state.c). */
int store_device_count_event(struct store *st, const struct ct_event *ev);

/* meta key of a scale's open offline batch: "ob/<deviceId>". */
size_t store_open_batch_key(const char *device_id, char *out, size_t cap);
#define STORE_OB_PREFIX "ob/"

#endif
