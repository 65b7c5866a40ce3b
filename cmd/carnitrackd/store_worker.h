/*
 * The store worker's insides, shared by its files:
 *   store_worker.c  worker ops: configure (opens LMDB), timers (retention,
 *                   session expiry, reader check), peers, status, shutdown
 *   store_frames.c  incoming frames decoded into queued operations
 *   store_flush.c   the group commit of one loop turn and the replies that
 *                   may only leave after it (EVENT_STORED, EVENT_REFUSED,
 *                   WORK_READY)
 *   store_held.c    sessions of scales not seen yet, held until they are
 *
 * Everything that arrives in one loop turn is queued (bounded: at
 * SW_OPS_MAX the queue is committed at once and collection goes on), then
 * committed in one write transaction from an event_active'd callback at the
 * end of the turn.
 */
#ifndef CT_STORE_WORKER_H
#define CT_STORE_WORKER_H

#include <stdbool.h>
#include <stdint.h>

#include "event/event.h"
#include "metrics/hist.h"
#include "store/store.h"
#include "worker.h"

#define SW_OPS_MAX          4096
#define SW_PRUNE_SLICE      256          /* items per prune transaction */
#define SW_TICK_S           1
#define SW_PRUNE_EVERY_S    60           /* when the last slice found nothing more */
#define SW_EXPIRE_EVERY_S   10
#define SW_READERS_EVERY_S  60
#define SW_HELD_MAX         64           /* sessions held for scales not seen yet */

enum sw_op_kind {
	OP_EVENT, OP_BAD_EVENT, OP_ACK, OP_REJECT, OP_SESSION, OP_DEVICE, OP_PLU,
	OP_IDENTITY, OP_BATCH_REPORTED, OP_LINK, OP_IDENTITY_RESET,
};

struct sw_op {
	enum sw_op_kind kind;
	int             result;          /* enum store_err of the last apply */
	union {
		struct ct_event ev;      /* OP_EVENT; OP_BAD_EVENT uses ev.local_id */
		struct { uint8_t id[CT_UUID_LEN]; uint8_t status; char cloud_id[STORE_ID_MAX];
		    } ack;
		struct { uint8_t id[CT_UUID_LEN]; char reason[STORE_TEXT_MAX]; } rej;
		struct store_session_msg sess;
		struct store_device_msg dev;
		struct { char code[72]; char *json; } plu;
		struct store_identity ident;
		struct { uint8_t id[CT_UUID_LEN]; uint8_t what; } br;
		struct { bool up; char url[256]; char error[256]; } link;
		uint32_t reset_id;           /* OP_IDENTITY_RESET: the request's frame id */
	} u;
};

struct sw_held {
	struct store_session_msg m;      /* the latest session_started */
	bool     paused;                 /* paused since */
	bool     stored;                 /* stored in the open txn */
	uint64_t seq;                    /* age, to make room */
};

struct sw {
	struct worker  *w;
	struct store   *st;
	char            data_dir[1024];
	uint64_t        map_size;
	int             state_quota_pct;
	int64_t         retention_ms;
	bool            link_up;
	struct sw_op  **ops;
	size_t          nops;
	struct event   *ev_flush, *ev_tick;
	int64_t         next_prune_s, next_expire_s, next_readers_s;
	bool            prune_more;
	unsigned        prune_slice;     /* shrinks when a slice hits the map limit */
	/* figures for status */
	uint64_t        events_stored, events_dup, events_refused, commits, commit_failures;
	uint64_t        lines_quarantined;
	uint64_t        acks, rejects, acks_unknown, pruned, sessions_expired;
	uint64_t        frames_bad, send_failures;
	int64_t         full_since_ms;   /* 0 = not full */
	struct hist     commit_hist;     /* wall time of each synced commit, seconds */
	/* cloud-driven state: quota refusals, sessions of unknown scales */
	uint64_t        state_refused, sessions_dropped, held_seq;
	int64_t         quota_logged_ms, held_logged_ms;
	uint64_t        quota_unlogged;
	struct sw_held  held[SW_HELD_MAX];
	unsigned        nheld;
	/* the disk refuses commits (ENOSPC, EIO: not the map limit) */
	int64_t         commit_err_since_ms;   /* wall clock; 0 = commits work */
	char            commit_err[128];       /* the OS's word: "No space left on device" */
	char            commit_err_detail[512];
	unsigned        commit_waiting;        /* events refused by the latest failed commit */
	unsigned        pass_written;          /* events and lines new in this pass */
};

/* store_frames.c */
void sw_frame(struct worker *w, const struct frame *f);
/* Queues an op (takes ownership); may commit at once when the queue is full. */
void sw_op_free(struct sw_op *op);

/* store_held.c */
/* The message is for a scale not known (configured or seen), or names
 * only a session that is held: it goes to sw_held_session. */
bool sw_held_wants(struct sw *s, const struct store_session_msg *m);
/* A session message for a scale not known: held (started) or updated. */
void sw_held_session(struct sw *s, const struct store_session_msg *m);
/* The scale is known now: its held session into the open txn. */
int  sw_held_apply(struct sw *s, const char *device_id);
/* After a pass: forget what was committed, or un-mark after a failure. */
void sw_held_settle(struct sw *s, bool committed);

/* store_flush.c: commits what is queued and sends the replies. */
/* store_commit, and its time into commit_seconds when it worked. */
int  sw_commit(struct sw *s);
void sw_flush(struct sw *s);
void sw_send_work_ready(struct sw *s, uint8_t flags);
/* A commit failed for a reason other than the map limit / one succeeded:
 * the cannot-commit state of status (store_flush.c). */
void sw_commit_failed(struct sw *s, unsigned waiting);
void sw_commit_worked(struct sw *s);

#endif
