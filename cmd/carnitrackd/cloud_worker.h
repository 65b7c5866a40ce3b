/*
 * The cloud worker's insides, shared by its files:
 *   cloud_worker.c    worker ops, configuration, timers, status
 *   cloud_link.c      the WebSocket link: connect, keep-alive, backoff,
 *                     the grace period before "down"
 *   cloud_register.c  registration (WebSocket and HTTP) and identity
 *   cloud_recv.c      cloud -> edge messages and the frames they become
 *   cloud_stream.c    events out of LMDB into the window, resends
 *   cloud_announce.c  devices and offline batches told to the cloud
 *   cloud_inflight.c  the window: events sent and not yet answered
 *   cloud_frames.c    frames to store, acks batched per loop turn
 */
#ifndef CT_CLOUD_WORKER_H
#define CT_CLOUD_WORKER_H

#include <stdbool.h>
#include <stdint.h>
#include <jansson.h>

#include "cloudmsg/cloudmsg.h"
#include "event/event.h"
#include "ipc/pack.h"
#include "store/store.h"
#include "worker.h"

struct ws_client;
struct http_client;

#define CW_LIVE_MAX        4        /* at most this many new events go as single `event`s */
#define CW_MAX_DEVICES     512      /* scales we remember the announced state of */
#define CW_REPORTED_RING   1024     /* batches whose end we sent (store commits it later) */
#define CW_BACKOFF_MAX_S   30
#define CW_REGISTER_WAIT_S 10       /* no registration reply by then: say so, once */
#define CW_UNKNOWN_TYPES   16       /* unknown message types remembered (logged once each) */
#define CW_ERRORS_LOGGED   10       /* distinct `error` messages logged per minute */
#define CW_CONNECT_MS      10000
#define CW_TOKEN_MAX       4096
#define CW_RESEND_MAX      4096     /* events re-sent per tick after ack_timeout */
/* Messages from the cloud handled per second: all kinds (acks arrive one per
 * event, so this sits well above the drain rate), and everything but acks. */
#define CW_MSG_RATE_MAX    250000
#define CW_CTL_RATE_MAX    2000

/* ------------------------------------------------------------ window */

struct cw_flight {
	uint8_t  id[CT_UUID_LEN];
	uint64_t seq;
	int64_t  sent_ms;                /* monotonic */
	bool     used;
};

/* Fixed capacity (the window): slots, a free list, and an open-addressing
 * index by localEventId (linear probing, backward-shift delete). */
struct cw_inflight {
	struct cw_flight *slots;
	uint32_t *free_list;
	int32_t  *index;                 /* slot number, -1 empty */
	uint32_t  cap, nfree, mask, n;
};
int  cwf_init(struct cw_inflight *f, uint32_t cap);
void cwf_free(struct cw_inflight *f);
void cwf_clear(struct cw_inflight *f);
/* -1 when full or already present. */
int  cwf_add(struct cw_inflight *f, const uint8_t id[CT_UUID_LEN], uint64_t seq, int64_t now);
/* true if it was in flight; *seq gets its sequence. */
bool cwf_remove(struct cw_inflight *f, const uint8_t id[CT_UUID_LEN], uint64_t *seq);
bool cwf_has(const struct cw_inflight *f, const uint8_t id[CT_UUID_LEN]);

/* ------------------------------------------------------------ state */

enum cw_link {
	CW_DISABLED = 0,    /* no url configured */
	CW_RETRYING,        /* waiting out the backoff */
	CW_CONNECTING,      /* TCP/TLS/upgrade */
	CW_UP,              /* open, register sent: events flow */
};
const char *cw_link_name(enum cw_link l);

/* Registration never holds delivery back (issue 12): it only says where
 * the identity came from. */
enum cw_reg {
	CW_REG_NONE = 0,    /* link not open */
	CW_REG_WAITING,     /* register sent, no reply (yet): streaming anyway */
	CW_REG_REPLIED,     /* an identity came back (reg_via says how) */
};

struct cw_device {
	char     id[CT_DEVICE_ID_MAX];
	uint8_t  status;                 /* enum store_dev_status */
	uint32_t heartbeats, connects;
};

struct cw {
	struct worker     *w;
	struct event_base *base;

	/* configuration (copied: the conf pointer changes on reload) */
	char url[CT_CONF_STR], ca_file[CT_CONF_PATH], pin[128], token_file[CT_CONF_PATH];
	char register_url[CT_CONF_STR];  /* "" = no HTTP registration */
	char token[CW_TOKEN_MAX];
	bool allow_plaintext_token;      /* [cloud]: the token may go over ws:// */
	char data_dir[CT_CONF_PATH], conf_site_id[64], conf_site_name[CT_CONF_STR];
	int  ping_interval, offline_grace, batch_size, window, ack_timeout, status_interval;

	/* identity (from store at start, from the cloud after). site_id and
	 * site_name are what the cloud said; the configured ones win
	 * (cw_site_id). */
	char edge_id[64], site_id[64], site_name[256];
	char id_source[64];              /* where edge_id came from */
	enum cw_reg reg;
	char        reg_via[24];         /* "edge_registered", "config_update", "http" */
	bool        reg_quiet_logged;    /* "no reply" said once per worker */
	uint64_t    identity_resets;
	struct http_client *http;        /* register_url's client, made on first use */
	bool        http_reg_pending;
	char        http_reg_last[160];  /* outcome of the last HTTP registration */
	uint64_t    http_reg_failures;

	struct store      *st;           /* read-only; NULL until the store exists */
	char               store_err[256];
	struct ws_client  *ws;
	enum cw_link       link;
	bool               send_blocked; /* ws queue full: wait for on_drain */
	bool               devices_dirty;/* WORK_READY(devices) not yet announced */
	bool               link_told;    /* a LINK frame was sent at least once */
	bool               link_told_up;
	int                backoff_s;
	int64_t            up_since_ms;  /* wall clock, for status */
	int64_t            up_since_mono_ms;
	int64_t            next_try_ms;  /* monotonic */
	char               last_error[256];
	uint64_t           connects, registrations;

	struct event *ev_retry, *ev_grace, *ev_ping, *ev_deadline, *ev_tick, *ev_flush;
	struct event *ev_regwait;        /* CW_REGISTER_WAIT_S after register: log only */
	int64_t       next_status_ms;    /* monotonic */

	/* keep-alive */
	bool    ping_outstanding;
	int64_t ping_sent_ms;            /* monotonic */
	int64_t last_rtt_ms;             /* -1 = none yet */

	/* streaming */
	struct cw_inflight fl;
	struct cm_buf body, msg;         /* events text, the message around it (reused) */
	uint64_t cursor;                 /* next seq to read from pending */
	bool     blocked_batch;          /* next event's batch not reported yet */
	uint8_t  blocked_batch_id[CT_UUID_LEN];
	uint8_t  reported[CW_REPORTED_RING][CT_UUID_LEN];
	unsigned nreported, reported_next;

	/* acks to store, flushed once per loop turn */
	uint8_t     ack_buf[CT_FRAME_MAX_PAYLOAD], rej_buf[CT_FRAME_MAX_PAYLOAD];
	struct pack ack_pk, rej_pk;
	uint16_t    nack, nrej;

	/* scales as last announced */
	struct cw_device devs[CW_MAX_DEVICES];
	int      ndevs;

	/* figures */
	uint64_t events_sent, events_resent, acked_total, acked_today, duplicates, rejected;
	uint64_t msgs_in, msgs_bad, msgs_unknown, frames_lost, batches_reported;
	uint64_t msgs_binary, times_unreadable, cloud_errors, rejected_as_duplicate;
	/* unknown message types seen, each logged once; beyond the table one
	 * more line says so */
	char     unknown_types[CW_UNKNOWN_TYPES][CM_TYPE_MAX];
	unsigned nunknown_types;
	bool     unknown_overflow_logged, binary_logged, binary_bad_logged, times_logged;
	bool     session_status_logged, site_differs_logged;
	char     last_cloud_error[CM_NAME_MAX + 64];
	int64_t  errors_window_ms;       /* monotonic */
	unsigned errors_logged;
	/* Rate bound on what the cloud sends (cloud_recv.c). */
	int64_t  rate_window_ms;
	uint32_t rate_all, rate_ctl;
	uint64_t msgs_rate_limited;
	/* ws_client's own bounds, summed over the links freed (cloud_link.c). */
	uint64_t ctrl_limited, backlog_drops;
	int      today;                  /* day number for acked_today */
	int64_t  started_ms;             /* monotonic */
};

/* cloud_link.c */
void cw_link_start(struct cw *c);             /* first connect (or DISABLED) */
void cw_link_stop(struct cw *c);              /* shutdown: drop the link, no retry */
void cw_link_lost(struct cw *c, const char *why);
int  cw_send(struct cw *c, const char *type, json_t *payload);  /* steals payload */
int  cw_send_text(struct cw *c, const char *text, size_t len);
void cw_on_pong(struct cw *c);
void cw_tell_link(struct cw *c, bool up);
uint64_t cw_ctrl_limited(const struct cw *c);
uint64_t cw_backlog_drops(const struct cw *c);

/* cloud_register.c */
int  cw_register_init(struct cw *c);
void cw_register_reset(struct cw *c);         /* link lost */
void cw_register_stop(struct cw *c);          /* shutdown: drops a pending POST */
/* `register` on the open link (and the HTTP POST when configured); -1 if
 * the message could not be queued. */
int  cw_register(struct cw *c);
/* Takes an identity the cloud gave (any way); via names the way. */
void cw_take_identity(struct cw *c, const struct cm_identity *id, const char *via);
/* The cloud answered our registration: identity already taken. */
void cw_on_registration_reply(struct cw *c, const char *via);
/* The cloud does not know the identity we hold (why says how we know):
 * forget it, persist that, and register afresh; the backlog stays. With
 * relink the caller remakes the link (the upgrade carries X-Edge-Id),
 * otherwise `register` is sent again on the open link. */
void cw_identity_refused(struct cw *c, const char *why, bool relink);
/* The site id we go by: the configured one, else the cloud's, else "". */
const char *cw_site_id(const struct cw *c);
const char *cw_site_name(const struct cw *c);

/* cloud_recv.c */
void cw_on_text(struct cw *c, const char *msg, size_t len);
void cw_on_binary(struct cw *c, const char *msg, size_t len);

/* cloud_stream.c */
void cw_fill(struct cw *c);
void cw_resend_expired(struct cw *c);
void cw_stream_reset(struct cw *c);           /* link lost or store restarted */
bool cw_batch_is_reported(struct cw *c, const uint8_t id[CT_UUID_LEN]);
void cw_batch_mark_reported(struct cw *c, const uint8_t id[CT_UUID_LEN]);
bool cw_open_store(struct cw *c);
void cw_global_id(const struct cw *c, const char *device, char *out, size_t cap);

/* cloud_announce.c */
enum cw_dev_phase {
	CW_DEV_ALL,          /* after registration: every connected scale */
	CW_DEV_NEW,          /* connects and heartbeats since the last pass */
	CW_DEV_GONE,         /* disconnects since the last pass */
};
void cw_announce_devices(struct cw *c, enum cw_dev_phase phase);
void cw_report_batches(struct cw *c);
int  cw_connected_scales(const struct cw *c);

/* cloud_frames.c */
void cw_frames_init(struct cw *c);
void cw_queue_ack(struct cw *c, const uint8_t id[CT_UUID_LEN], enum ct_ack st, const char *cloud_id);
void cw_queue_reject(struct cw *c, const uint8_t id[CT_UUID_LEN], const char *reason);
void cw_flush_acks(struct cw *c);
void cw_send_identity(struct cw *c);   /* with c->id_source */
void cw_send_session(struct cw *c, const struct cm_session *s);
void cw_send_plu(struct cw *c, const struct cm_plu *p);
void cw_send_batch_reported(struct cw *c, const uint8_t id[CT_UUID_LEN], uint8_t what);
void cw_send_link(struct cw *c, bool up);
/* Schedules the end-of-turn flush (acks to store, then more events out). */
void cw_kick(struct cw *c);

#endif
