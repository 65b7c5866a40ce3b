/*
 * The cloud worker's outbox, shared by its files. Each file calls only the
 * ones below it (tests/integration/test_layout.sh checks there is no
 * cycle); the transport under them all is reached through
 * cloud_transport.h, whose opening comment is the seam's contract.
 *
 *   cloud_worker.c    worker ops, configuration, the tick, status, the
 *                     transport's upcalls (struct cw_up)
 *   cloud_link.c      the one place that decides what a link change means
 *   cloud_outbox.c    events out of LMDB into the window and the transport,
 *                     results back, resends after ack_timeout
 *   cloud_devices.c   scales as last announced, changes to the transport
 *   cloud_batches.c   offline batches to report, the reported-batch ring
 *   cloud_identity.c  the identity held: taken, forgotten, reset by ctl
 *   cloud_store.c     the read-only store (open, re-open) and the frames to
 *                     the store worker; senders return their failure
 *   cloud_ws.c, cloud_ws_*.c   the WebSocket transport (cloud_ws.h)
 *   cloud_rest.c, cloud_rest_*.c   the REST transport (cloud_rest.h)
 */
#ifndef CT_CLOUD_WORKER_H
#define CT_CLOUD_WORKER_H

#include <stdbool.h>
#include <stdint.h>
#include <jansson.h>

#include "cloud_transport.h"
#include "event/event_window.h"
#include "ipc/pack.h"
#include "worker.h"

#define CW_MAX_DEVICES     512      /* scales we remember the announced state of */
#define CW_REPORTED_RING   1024     /* batches whose end we sent (store commits it later) */
#define CW_TOKEN_MAX       4096
#define CW_RESEND_MAX      4096     /* events re-sent per tick after ack_timeout */
#define CW_ACKS_MAX        4        /* batches being acknowledged at once (REST) */
#define CW_ACK_PART        5000     /* event ids per acknowledgement part (REST) */
#define CW_ACK_RETRY_S     10       /* a failed acknowledgement: tried again after */

/* A delivered batch being acknowledged part by part (cloud_batches.c). */
struct cw_ack {
	bool               used;
	struct store_batch b;
	unsigned           part, parts;     /* the part on its way, of */
	uint64_t           pos;             /* where the next part's ids start */
};

struct cw_device {
	char     id[CT_DEVICE_ID_MAX];
	uint8_t  status;                 /* enum store_dev_status */
	uint32_t heartbeats, connects;
};

struct cw {
	struct worker     *w;
	struct event_base *base;
	const struct cw_transport_ops *tp_ops;
	struct cw_tp      *tp;

	/* configuration (copied: the conf pointer changes on reload) */
	enum ct_transport transport;
	char url[CT_CONF_STR], ca_file[CT_CONF_PATH], pin[128], token_file[CT_CONF_PATH];
	char register_url[CT_CONF_STR];
	char token[CW_TOKEN_MAX];
	bool allow_plaintext_token;
	char data_dir[CT_CONF_PATH];
	int  ping_interval, offline_grace, batch_size, window, ack_timeout, status_interval;

	struct cw_identity id;           /* from store at start, from the cloud after */
	uint64_t    identity_resets;
	bool        site_differs_logged;

	struct store      *st;           /* read-only; NULL until the store exists */
	char               store_err[256];

	/* the link as the transport reports it (cloud_link.c) */
	enum cw_link       link;
	bool               link_told;    /* a LINK frame was sent at least once */
	bool               link_told_up;
	int64_t            up_since_ms;  /* wall clock, for status */
	char               last_error[256];
	struct event      *ev_grace;

	struct event *ev_tick, *ev_flush;
	bool          devices_dirty;     /* WORK_READY(devices) not yet announced */

	/* streaming (cloud_outbox.c) */
	struct ev_window fl;
	uint64_t cursor;                 /* next seq to read from pending */
	bool     blocked_batch;          /* next event's batch not reported yet */
	uint8_t  blocked_batch_id[CT_UUID_LEN];

	/* batches whose end went out (cloud_batches.c) */
	uint8_t  reported[CW_REPORTED_RING][CT_UUID_LEN];
	unsigned nreported, reported_next;
	struct cw_ack acks[CW_ACKS_MAX];
	int64_t  acks_retry_ms;          /* monotonic: no new acknowledgement before */
	uint64_t ack_parts, ack_failures;

	/* acks to store, flushed once per loop turn (cloud_store.c) */
	uint8_t     ack_buf[CT_FRAME_MAX_PAYLOAD], rej_buf[CT_FRAME_MAX_PAYLOAD];
	struct pack ack_pk, rej_pk;
	uint16_t    nack, nrej;

	/* scales as last announced (cloud_devices.c) */
	struct cw_device devs[CW_MAX_DEVICES];
	int      ndevs;

	/* figures */
	uint64_t events_sent, events_resent, acked_total, acked_today, duplicates, rejected;
	uint64_t frames_lost, batches_reported;
	int      today;                  /* day number for acked_today */
	int64_t  started_ms;             /* monotonic */
};

/* Schedules the end-of-turn flush (cloud_worker.c: acks to store, then
 * more events out); an event, so any file may ask without calling up. */
static inline void
cw_kick(struct cw *c)
{
	if (c->ev_flush != NULL)
		event_active(c->ev_flush, EV_TIMEOUT, 0);
}

/* One rule for events and device messages alike, so the cloud sees one name
 * per scale, and it follows a change of the configured site_id. */
static inline void
cw_global_id(const struct cw *c, const char *device, char *out, size_t cap)
{
	cm_global_device_id(cw_site_id(&c->id), device, out, cap);
}

/* cloud_link.c */
int  cw_link_start(struct cw *c);           /* -1: out of memory */
void cw_link_changed(struct cw *c, enum cw_link state, const char *why);
const char *cw_link_name(enum cw_link l);
void cw_link_stop(struct cw *c);

/* cloud_outbox.c */
void cw_fill(struct cw *c);
void cw_resend_expired(struct cw *c);
void cw_stream_reset(struct cw *c);           /* link lost or store restarted */
void cw_results(struct cw *c, const struct cw_result *r, size_t n);
/* Acks to the store; one lost on the way starts the stream over (its
 * events come back "duplicate"). */
void cw_flush_acks(struct cw *c);

/* cloud_devices.c */
enum cw_dev_phase {
	CW_DEV_ALL,          /* after the link came up: every scale */
	CW_DEV_NEW,          /* connects and heartbeats since the last pass */
	CW_DEV_GONE,         /* disconnects since the last pass */
};
void cw_announce_devices(struct cw *c, enum cw_dev_phase phase);
int  cw_connected_scales(const struct cw *c);

/* cloud_batches.c */
void cw_report_batches(struct cw *c);
/* The transport's answer to one acknowledgement part (REST). */
void cw_batch_acked(struct cw *c, const uint8_t id[CT_UUID_LEN], unsigned part, bool ok);
/* After a failed acknowledgement: time to try the batches again? */
void cw_batches_tick(struct cw *c);
bool cw_batch_is_reported(struct cw *c, const uint8_t id[CT_UUID_LEN]);
/* The stream stopped at an event of a batch not yet reported: can it go on? */
bool cw_batch_unblock(struct cw *c, const uint8_t id[CT_UUID_LEN]);

/* cloud_identity.c */
void cw_identity_load(struct cw *c);          /* from the store, at start */
/* -1: not taken (an edgeId too long to keep, logged). */
int  cw_identity_take(struct cw *c, const struct cm_identity *id, const char *via);
void cw_identity_forget(struct cw *c, const char *why);
/* WORK_READY(identity): carnitrackctl identity --reset went through the store. */
void cw_identity_reload(struct cw *c);

/* cloud_store.c */
bool cw_open_store(struct cw *c);
void cw_frames_init(struct cw *c);
/* Each -1 when a frame was lost (the channel to the supervisor is full);
 * queueing sends a frame when the one being filled is full. */
int  cw_queue_ack(struct cw *c, const uint8_t id[CT_UUID_LEN], enum ct_ack st,
    const char *cloud_id);
int  cw_queue_reject(struct cw *c, const uint8_t id[CT_UUID_LEN], const char *reason);
int  cw_send_queued_acks(struct cw *c);
int  cw_send_identity(struct cw *c);
int  cw_send_session(struct cw *c, const struct cm_session *s);
int  cw_send_plu(struct cw *c, const struct cm_plu *p);
int  cw_send_batch_reported(struct cw *c, const uint8_t id[CT_UUID_LEN], uint8_t what);
int  cw_send_link(struct cw *c, bool up);

#endif
