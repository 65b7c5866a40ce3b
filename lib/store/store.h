/*
 * The edge's LMDB store: one environment at <data_dir>/store, one writer (the
 * store worker), any number of read-only users (cloud worker, carnitrackctl).
 *
 * Writing is group commit: store_begin() opens the one write transaction,
 * any number of operations (events, acks, rejects, sessions, devices, PLU,
 * identity, batch notices, pruning) go into it, store_commit() makes them
 * durable with one sync. Nothing may be confirmed to anyone before
 * store_commit() returned STORE_OK.
 *
 * Capacity: store_begin() measures how much of the map is in use. Above the
 * high-water mark (opts.full_pct, 80%: acks of everything pending, which
 * write sync records, and the copy-on-write pages of pruning must still fit)
 * store_put_event() refuses with STORE_FULL *without* touching the
 * transaction, so acks, rejects and prunes in the same transaction still
 * commit and free space; the state clears by itself once a later
 * store_begin() measures 5% of the map freed since refusing began. Should
 * LMDB itself run out of map (MDB_MAP_FULL), the transaction is dead: every
 * later operation and store_commit() return STORE_FULL and the caller redoes
 * the non-event operations in a fresh transaction.
 *
 * Cloud-driven state (sessions, devices, PLU) has its own share of the map
 * (opts.state_quota_pct, 5%): a row that would take it past that share is
 * refused with STORE_QUOTA, PLU rows may take at most three fifths of it (so
 * a PLU flood leaves room for the scales' sessions), and the pages it holds
 * are not counted against the events' high-water mark: state never takes
 * space from events. Rows are bounded one by one too (STORE_PLU_MAX).
 *
 * Errors are enum store_err values; store_errmsg() has the text with context
 * (operation, record, LMDB's message) of the last failure.
 */
#ifndef CT_STORE_H
#define CT_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "event/event.h"
#include "ipc_proto.h"

#define STORE_SCHEMA_VERSION 4
/* Largest strings kept, NUL included: the cloud message limits (CM_ID_MAX,
 * CM_NAME_MAX in lib/cloudmsg), so nothing the cloud accepts is refused here. */
#define STORE_ID_MAX   128
#define STORE_TEXT_MAX 256
/* Largest PLU record (the cloud's JSON payload) kept. */
#define STORE_PLU_MAX  4096

enum store_err {
	STORE_OK = 0,
	STORE_NOTFOUND,    /* no such record (unknown id, store not created yet) */
	STORE_FULL,        /* map at its high-water mark: events refused */
	STORE_VERSION,     /* schema on disk is newer than this program */
	STORE_CORRUPT,     /* a record or the environment does not decode */
	STORE_STATE,       /* call out of order (no write txn, read-only store) */
	STORE_INVAL,       /* bad argument (too long a string, ...) */
	STORE_ERR,         /* anything else from LMDB or the OS */
	STORE_QUOTA,       /* cloud-driven state at its share of the map: row refused */
};

struct store;

struct store_opts {
	uint64_t    map_size;          /* bytes; 0 = 1 GiB (writer) / as on disk (reader) */
	bool        readonly;          /* MDB_RDONLY: works while the writer runs */
	int64_t     session_expiry_ms; /* sessions idle this long stop tagging; 0 = never */
	unsigned    full_pct;          /* refuse events above this map use; 0 = 80 */
	unsigned    state_quota_pct;   /* map share for sessions, devices, PLU; 0 = 5 */
	/* Monotonic clock in ms for offline batches' durations and order (the
	 * daemon: CLOCK_MONOTONIC). NULL: wall stamps are kept as they are. */
	int64_t   (*mono_ms)(void);
	const char *site_id;           /* for globalDeviceId until identity is known */
};

/* Creates <data_dir>/store (0750) when writable. Checks the schema version
 * (newer: STORE_VERSION; older: migrated) and clears stale readers. On
 * failure *out is NULL and err holds the reason. */
int  store_open(struct store **out, const char *data_dir, const struct store_opts *o,
    char *err, size_t errlen);
void store_close(struct store *st);      /* aborts an open write txn */
const char *store_errmsg(const struct store *st);
/* mdb_reader_check: clears reader slots of dead processes. */
int  store_reader_check(struct store *st, int *cleared);

/* ---- write side (group commit) ---- */

int  store_begin(struct store *st, int64_t now_ms);
/* Commits with sync. On failure the transaction is gone (aborted). */
int  store_commit(struct store *st);
void store_abort(struct store *st);
/* Highest sequence committed or in the open txn (0 = none yet). */
uint64_t store_last_seq(const struct store *st);
/* Session expiry can change on config reload. */
void store_set_session_expiry(struct store *st, int64_t ms);
/* So can site_id (globalDeviceId follows it). */
void store_set_site_id(struct store *st, const char *site_id);
/* Wall time of the last successful mdb_txn_commit (the sync), ms. */
double store_last_commit_ms(const struct store *st);
/* Result of the last high-water check: events are being refused. */
bool store_is_full(const struct store *st);
/* The operating system's (or LMDB's) text for the last failure, e.g. "No
 * space left on device"; NULL if nothing failed yet (store_health.c). */
const char *store_os_error(const struct store *st);
/* LMDB gave up on the environment (MDB_PANIC): only closing and opening it
 * again helps. */
bool store_env_dead(const struct store *st);
/* Writes and commits a small record (meta "probe"): does the disk take
 * writes and syncs now? */
int  store_probe(struct store *st, int64_t now_ms);

/* Tags, numbers and appends one event. ev->local_id, device_id and the
 * parsed fields come from ingest; seq and the tag fields are set here (and
 * are what was stored). online: the cloud link state as the caller knows it.
 * A localEventId already stored sets *dup, ev->seq to the stored sequence and
 * writes nothing. STORE_FULL: refused, transaction still usable. */
int  store_put_event(struct store *st, struct ct_event *ev, bool online, bool *dup);
/* Sync outcome. NOTFOUND for an unknown id (e.g. already pruned). A final
 * state (accepted, duplicate, rejected) is never changed again. */
int  store_ack(struct store *st, const uint8_t id[CT_UUID_LEN], enum ct_ack status,
    const char *cloud_event_id);
int  store_reject(struct store *st, const uint8_t id[CT_UUID_LEN], const char *reason);

struct store_session_msg {
	enum ct_session_change kind;
	uint8_t start_status;            /* STARTED: SESS_ACTIVE (0) or SESS_PAUSED */
	char device_id[CT_DEVICE_ID_MAX];  /* "" for PAUSED/RESUMED/ENDED: found by session id */
	char cloud_session_id[CT_SESSION_ID_MAX];
	char animal_id[STORE_ID_MAX], animal_tag[STORE_ID_MAX], animal_species[STORE_ID_MAX];
	char operator_id[STORE_ID_MAX];
	char reason[STORE_TEXT_MAX];
};
int  store_session_apply(struct store *st, const struct store_session_msg *m);
/* Marks active/paused sessions idle longer than session_expiry as expired. */
int  store_sessions_expire(struct store *st, unsigned *expired);

struct store_device_msg {
	enum ct_device_change kind;
	char     device_id[CT_DEVICE_ID_MAX];
	char     source_ip[CT_IP_MAX];
	char     device_type[STORE_ID_MAX];
	char     reason[STORE_TEXT_MAX];
	int64_t  at_ms;
	uint32_t heartbeats;
};
int  store_device_apply(struct store *st, const struct store_device_msg *m);
int  store_plu_put(struct store *st, const char *plu_code, const char *json);
int  store_identity_put(struct store *st, const char *edge_id, const char *site_id,
    const char *site_name);
/* Where the identity came from ("edge_registered", "config_update", "http",
 * "reset by carnitrackctl", ...): shown by carnitrackctl identity. */
int  store_identity_source_put(struct store *st, const char *source);
/* The cloud link state last reported by the cloud worker, kept so a
 * restarted store worker tags as before. Unknown (never set) reads as up. */
int  store_link_put(struct store *st, bool up);
int  store_link_get(struct store *st, bool *up);

enum store_batch_state { BATCH_OPEN = 0, BATCH_CLOSED = 1, BATCH_DONE = 2 };
struct store_batch {
	uint8_t  id[CT_UUID_LEN];
	char     device_id[CT_DEVICE_ID_MAX];
	int64_t  started_at_ms, ended_at_ms;      /* ended 0 = still open */
	uint32_t event_count, unacked;            /* unacked: not yet accepted/rejected */
	int64_t  total_weight_g;
	uint8_t  state;                           /* enum store_batch_state */
	uint8_t  reported;                        /* CT_BATCH_START_SENT | END_SENT */
	int64_t  done_at_ms;
	/* The wall clock can be stepped during an outage; the monotonic one
	 * cannot. Wall stamps that contradict it are clamped (store_batch.c). */
	int64_t  started_mono_ms;                 /* 0 = unknown (older record) */
	char     boot_id[40];                     /* the boot that clock belongs to */
	uint8_t  clock;                           /* STORE_BATCH_CLOCK_* */
	/* Where its events lie in the events db, for store_batch_events:
	 * every one of them has first_seq <= seq <= last_seq. */
	uint64_t first_seq, last_seq;             /* 0 = unknown (older record) */
};
#define STORE_BATCH_CLOCK_START 0x01  /* startedAt moved after the previous batch's end */
#define STORE_BATCH_CLOCK_END   0x02  /* endedAt = startedAt + the monotonic duration */
const char *store_batch_state_name(uint8_t state);
typedef int (*store_batch_cb)(const struct store_batch *b, void *arg);
/* Link is back: closes every open batch (endedAt = now), calls cb for each. */
int  store_close_open_batches(struct store *st, store_batch_cb cb, void *arg, unsigned *closed);
int  store_batch_reported(struct store *st, const uint8_t id[CT_UUID_LEN], uint8_t what);
/* True (once) when, since the last call, an event's answer left a closed
 * batch whose end is not reported yet without unanswered events: the cloud
 * worker may report it now (REST's offline-batches/ack). A hint; cleared by
 * store_begin too. */
bool store_take_batch_answered(struct store *st);

/* One bounded slice of retention work: synced or rejected events received
 * before now - retention_ms, done batches and ended/expired sessions older
 * than that. Pending events are never touched. *more: call again. */
int  store_prune(struct store *st, int64_t retention_ms, unsigned max_items,
    unsigned *pruned, bool *more);

/* Keeps one quarantined line (ev->kind CT_EV_QUARANTINED; see
 * store_quarantine.c): never sent to the cloud. The same line again (same
 * id and receivedAt) sets *dup and writes nothing. STORE_FULL as
 * store_put_event. */
int  store_put_quarantine(struct store *st, const struct ct_event *ev, bool *dup);
/* Retention for quarantined lines: received before now - retention_ms. */
int  store_quarantine_prune(struct store *st, int64_t retention_ms, unsigned max,
    unsigned *pruned, bool *more);

/* ---- read side (short read-only txns; inside the write txn when one is open) ---- */

enum store_sync_status { SYNC_PENDING = 0, SYNC_ACCEPTED = 1, SYNC_DUPLICATE = 2,
    SYNC_REJECTED = 3 };
const char *store_sync_name(uint8_t status);
struct store_sync {
	uint8_t  status;                 /* enum store_sync_status */
	uint32_t attempts;               /* answers received from the cloud */
	int64_t  updated_at_ms;
	char     cloud_event_id[STORE_ID_MAX];
	char     reason[STORE_TEXT_MAX];
};

/* cb returns 0 to continue, non-zero to stop (that value is not an error). */
typedef int (*store_event_cb)(const struct ct_event *ev, const struct store_sync *sy, void *arg);
/* Pending events with seq >= from_seq in ascending order, at most max (0 = all). */
int  store_pending_iter(struct store *st, uint64_t from_seq, unsigned max,
    store_event_cb cb, void *arg);
/* All events; newest first when reverse (from_seq 0 = the end). */
int  store_events_iter(struct store *st, uint64_t from_seq, bool reverse, unsigned max,
    store_event_cb cb, void *arg);
int  store_event_get(struct store *st, uint64_t seq, struct ct_event *ev, struct store_sync *sy);
/* Quarantined lines, newest first, at most max (0 = all) per call; pos
 * (zeroed for the first call) carries on where the last call stopped. The
 * callback gets sy NULL. */
struct store_qpos {
	bool    started;
	uint8_t key[8 + CT_UUID_LEN];
};
int  store_quarantine_iter(struct store *st, struct store_qpos *pos, unsigned max,
    store_event_cb cb, void *arg);
int  store_event_get_by_id(struct store *st, const uint8_t id[CT_UUID_LEN],
    struct ct_event *ev, struct store_sync *sy);

int  store_batches_iter(struct store *st, store_batch_cb cb, void *arg);
/* A bounded read of one batch's events, oldest first: up to max of their
 * localEventIds into ids, looking from *pos (0 for the first call) within
 * the batch's [first_seq, last_seq] (the whole events db for a record older
 * than those). *n gets how many; *pos where the next call goes on; *done is
 * true when nothing of the batch lies beyond. At most max * 64 events are
 * looked at per call (other scales' events lie between a batch's): a call
 * may return fewer than max with *done false. STORE_NOTFOUND: no batch. */
int  store_batch_events(struct store *st, const uint8_t id[CT_UUID_LEN], uint64_t *pos,
    unsigned max, uint8_t (*ids)[CT_UUID_LEN], unsigned *n, bool *done);
int  store_batch_get(struct store *st, const uint8_t id[CT_UUID_LEN], struct store_batch *b);

enum store_session_status { SESS_ACTIVE = 0, SESS_PAUSED = 1, SESS_ENDED = 2, SESS_EXPIRED = 3 };
const char *store_session_status_name(uint8_t status);
struct store_session {
	char    device_id[CT_DEVICE_ID_MAX];
	char    cloud_session_id[CT_SESSION_ID_MAX];
	char    animal_id[STORE_ID_MAX], animal_tag[STORE_ID_MAX], animal_species[STORE_ID_MAX];
	char    operator_id[STORE_ID_MAX];
	char    reason[STORE_TEXT_MAX];
	uint8_t status;                  /* enum store_session_status */
	int64_t started_at_ms, updated_at_ms;
};
typedef int (*store_session_cb)(const struct store_session *s, void *arg);
int  store_sessions_iter(struct store *st, store_session_cb cb, void *arg);
int  store_session_get(struct store *st, const char *device_id, struct store_session *s);

enum store_dev_status { DEV_CONNECTED = 1, DEV_DISCONNECTED = 2, DEV_STALE = 3,
    DEV_SUPERSEDED = 4 };
const char *store_dev_status_name(uint8_t status);
struct store_device {
	char     device_id[CT_DEVICE_ID_MAX];
	char     global_device_id[CT_DEVICE_ID_MAX * 2];
	char     source_ip[CT_IP_MAX];
	char     device_type[STORE_ID_MAX];
	char     reason[STORE_TEXT_MAX];      /* of the last disconnect */
	uint8_t  status;                      /* enum store_dev_status */
	uint32_t heartbeats, connects;
	uint64_t events;
	int64_t  first_seen_ms, last_seen_ms, connected_at_ms, disconnected_at_ms;
};
typedef int (*store_device_cb)(const struct store_device *d, void *arg);
int  store_devices_iter(struct store *st, store_device_cb cb, void *arg);
int  store_device_get(struct store *st, const char *device_id, struct store_device *d);

int  store_plu_get(struct store *st, const char *plu_code, char *json, size_t cap);
struct store_identity {
	char edge_id[STORE_ID_MAX], site_id[STORE_ID_MAX], site_name[STORE_TEXT_MAX];
	char source[STORE_ID_MAX];           /* "" if never said */
};
/* STORE_NOTFOUND when neither an edgeId nor a siteId is stored (source is
 * filled either way). */
int  store_identity_get(struct store *st, struct store_identity *id);

struct store_stats {
	uint64_t map_size, used_bytes;
	double   map_use_pct;
	uint64_t events, pending, last_seq;
	uint64_t quarantined;               /* lines kept in quarantine */
	uint64_t state_bytes, state_quota_bytes;  /* sessions + devices + PLU, and their share */
	int64_t  oldest_pending_ms;         /* receivedAt of the oldest pending, 0 = none */
	unsigned open_batches, batches;
	bool     full;
	double   last_commit_ms;            /* writer only */
	uint64_t commits;                   /* writer only, since open */
};
int  store_stats_get(struct store *st, struct store_stats *s);

#endif
