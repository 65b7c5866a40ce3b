/*
 * The WebSocket transport's insides (CLOUD_INTEGRATION_QUICKREF.md), one
 * implementation of cloud_transport.h. Each file calls only the ones below:
 *   cloud_ws.c           the ops: the link's life (connect, keep-alive,
 *                        backoff, lose, retry), events as messages, devices,
 *                        batches, status
 *   cloud_ws_recv.c      cloud -> edge messages: decoded, rate-bounded,
 *                        turned into upcalls; nothing the cloud sends closes
 *                        the link
 *   cloud_ws_register.c  `register` on every link (and [cloud] register_url's
 *                        POST), the answers, identity recovery
 *   cloud_ws_send.c      sending: the JSON envelope, events encoded straight
 *                        into text; a refused send marks the queue full
 */
#ifndef CT_CLOUD_WS_H
#define CT_CLOUD_WS_H

#include "cloud_transport.h"

struct ws_client;
struct http_client;

#define WS_LIVE_MAX        4        /* at most this many new events go as single `event`s */
#define WS_BACKOFF_MAX_S   30
#define WS_REGISTER_WAIT_S 10       /* no registration reply by then: say so, once */
#define WS_UNKNOWN_TYPES   16       /* unknown message types remembered (logged once each) */
#define WS_ERRORS_LOGGED   10       /* distinct `error` messages logged per minute */
#define WS_CONNECT_MS      10000
/* Messages from the cloud handled per second: all kinds (acks arrive one per
 * event, so this sits well above the drain rate), and everything but acks. */
#define WS_MSG_RATE_MAX    250000
#define WS_CTL_RATE_MAX    2000

/* Registration never holds delivery back (issue 12): it only says where
 * the identity came from. */
enum ws_reg {
	WS_REG_NONE = 0,    /* link not open */
	WS_REG_WAITING,     /* register sent, no reply (yet): streaming anyway */
	WS_REG_REPLIED,     /* an identity came back (reg_via says how) */
};

struct cw_tp {
	const struct cw_up       *up;
	void                     *arg;
	struct event_base        *base;
	const struct cw_identity *id;

	char url[CT_CONF_STR], register_url[CT_CONF_STR], ca_file[CT_CONF_PATH], pin[128];
	char token[4096];
	bool allow_plaintext_token;
	int  ping_interval, status_interval, batch_size;

	struct ws_client  *ws;
	enum cw_link       link;
	/* cloud_ws.c's link_lost, for the files below it (no call up by name) */
	void             (*lose)(struct cw_tp *t, const char *why);
	bool               send_blocked; /* ws queue full: wait for on_drain */
	int                backoff_s;
	int64_t            up_since_mono_ms;
	int64_t            next_try_ms;  /* monotonic */
	uint64_t           connects;
	struct event      *ev_retry, *ev_ping, *ev_deadline, *ev_status, *ev_regwait;

	/* keep-alive */
	bool    ping_outstanding;
	int64_t ping_sent_ms;            /* monotonic */
	int64_t last_rtt_ms;             /* -1 = none yet */

	/* registration (cloud_ws_register.c) */
	enum ws_reg reg;
	char        reg_via[24];         /* "edge_registered", "config_update", "http" */
	bool        reg_quiet_logged;    /* "no reply" said once per worker */
	uint64_t    registrations;
	struct http_client *http;        /* register_url's client, made on first use */
	bool        http_reg_pending;
	char        http_reg_last[160];  /* outcome of the last HTTP registration */
	uint64_t    http_reg_failures;

	/* events being encoded (cloud_ws_send.c) */
	struct cm_buf body, msg;         /* events text, the message around it (reused) */
	size_t  *ends;                   /* where event i's text ends in body */
	unsigned nadded, cap_added;
	bool     added_offline;

	/* what the cloud sent (cloud_ws_recv.c) */
	uint64_t msgs_in, msgs_bad, msgs_unknown, msgs_binary, times_unreadable;
	uint64_t cloud_errors, rejected_as_duplicate, msgs_rate_limited;
	char     unknown_types[WS_UNKNOWN_TYPES][CM_TYPE_MAX];
	unsigned nunknown_types;
	bool     unknown_overflow_logged, binary_logged, binary_bad_logged, times_logged;
	bool     session_status_logged;
	char     last_cloud_error[CM_NAME_MAX + 64];
	int64_t  errors_window_ms;       /* monotonic */
	unsigned errors_logged;
	int64_t  rate_window_ms;
	uint32_t rate_all, rate_ctl;
	/* ws_client's own bounds, summed over the links freed */
	uint64_t ctrl_limited, backlog_drops;
};

/* cloud_ws_recv.c: what a message means for the link. */
enum ws_recv { WS_RECV_OK, WS_RECV_PONG };
enum ws_recv ws_on_text(struct cw_tp *t, const char *msg, size_t len);
enum ws_recv ws_on_binary(struct cw_tp *t, const char *msg, size_t len);

/* cloud_ws_register.c */
int  ws_register_init(struct cw_tp *t);
void ws_register_reset(struct cw_tp *t);      /* link lost */
void ws_register_stop(struct cw_tp *t);       /* shutdown: drops a pending POST */
/* `register` on the open link (and the HTTP POST when configured); -1 if
 * the message could not be queued. */
int  ws_register(struct cw_tp *t);
/* The cloud gave an identity (any way); via names the way. */
void ws_take_identity(struct cw_tp *t, const struct cm_identity *id, const char *via);
/* The cloud does not know the identity we hold: the outbox forgets it, and
 * unless the caller remakes the link (relink: the upgrade carries
 * X-Edge-Id) `register` goes again on the open link (the link is lost when
 * it cannot). */
void ws_identity_refused(struct cw_tp *t, const char *why, bool relink);

/* cloud_ws_send.c */
int  ws_send(struct cw_tp *t, const char *type, json_t *payload);   /* steals payload */
void ws_events_begin(struct cw_tp *t);
int  ws_event_add(struct cw_tp *t, const struct ct_event *ev, const char *global_id);
unsigned ws_events_send(struct cw_tp *t, unsigned how);
void ws_send_free(struct cw_tp *t);

#endif
