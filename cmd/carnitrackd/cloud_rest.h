/*
 * The REST transport's insides (shared/protocol/REST_API.md), the second
 * implementation of cloud_transport.h. Each file calls only the ones below
 * it (a call up goes through a function pointer of struct cw_tp or an
 * event, as in the WebSocket transport):
 *   cloud_rest.c           the ops: life, room for events, devices, batch
 *                          ACKs, status
 *   cloud_rest_events.c    /events and /events/batch: bodies, several
 *                          requests in flight, one result per event
 *   cloud_rest_sessions.c  /sessions polled with If-None-Match, the
 *                          adaptive interval, the cloud's state diffed
 *                          against the store's sessions
 *   cloud_rest_health.c    the scales as last told, /heartbeat every
 *                          heartbeatIntervalMs, /devices/status on connect
 *                          and disconnect, /offline-batches/ack
 *   cloud_rest_identity.c  /register (single-flight, at most once on the
 *                          wire), recovery by REST_API.md 3.2, /activate
 *   cloud_rest_link.c      the HTTP client, every request and the judgement
 *                          of its answer (link up on any answer, down only
 *                          when none came; an identity refusal starts the
 *                          recovery), the probe while down, /config
 *
 * The link: CONNECTING until the cloud first answers while the edge holds
 * an identity; UP from then on; RETRYING when a request got no response
 * (or a gateway's 502/503/504) until a probe (GET /config, or /register
 * when there is no identity) is answered. No 4xx takes the link down
 * (REST_API.md section 8 item 3).
 */
#ifndef CT_CLOUD_REST_H
#define CT_CLOUD_REST_H

#include <sys/queue.h>

#include "cloud_transport.h"
#include "http/http_client.h"
#include "rest/rest.h"

#define REST_INFLIGHT          4        /* event requests at once */
#define REST_HTTP_CONNS        (REST_INFLIGHT + 2)   /* + polls, heartbeats, ACKs */
#define REST_HTTP_QUEUE        64       /* requests accepted by lib/http at once */
#define REST_PROBE_MAX_S       10       /* longest wait between probes while down */
#define REST_PROBE_TIMEOUT_MS  5000     /* the start-up probe of REST_API.md 4.3 */
#define REST_REG_RETRY_MAX_S   60       /* registration failed: tried again after */
#define REST_RECOVER_BLOCK_S   60       /* a fresh identity refused at once: no recovery for */
#define REST_HOLD_MAX_S        60       /* events held after a whole request failed */
#define REST_SINGLE_S          60       /* events one by one after a batch was refused */
#define REST_POLL_DEVICES_MAX  256      /* scales in one /sessions poll */
#define REST_DEV_MAX           512      /* scales remembered (as the outbox) */
#define REST_DEV_STATUS_MAX    16       /* /devices/status requests outstanding */
#define REST_IDLE_MS           120000   /* REST_API.md 4.3 defaults, until /config */
#define REST_WAITING_MS        5000
#define REST_ACTIVE_MS         30000
#define REST_HEARTBEAT_MS      30000

enum rest_reg { REST_REG_IDLE, REST_REG_RUNNING };

/* What an answer means for the request that got it (cloud_rest_link.c). */
enum rest_verdict {
	REST_V_OK,          /* 2xx or 304 with a usable body */
	REST_V_AUTH,        /* the identity was refused: again after registration */
	REST_V_OFFLINE,     /* no answer (the link is down now) */
	REST_V_FAILED,      /* any other final failure (4xx, 429/5xx after retries) */
};
typedef void (*rest_done_fn)(struct cw_tp *t, const struct http_result *r, enum rest_verdict v,
    void *arg);

/* A scale as last told by the outbox (for /heartbeat and /sessions). */
struct rest_dev {
	char     id[CT_DEVICE_ID_MAX];
	char     gid[CT_DEVICE_ID_MAX * 2];
	char     type[16];
	bool     connected;
	int64_t  last_hb_ms;             /* wall clock; 0 never */
};

struct cw_tp {
	const struct cw_up       *up;
	void                     *arg;
	struct event_base        *base;
	const struct cw_identity *id;

	char url[CT_CONF_STR], ca_file[CT_CONF_PATH], pin[128], token[4096];
	bool allow_plaintext_token;
	int  batch_size;                 /* [cloud] batch_size */
	struct rest_base rb;
	bool url_err;                    /* the url is unusable: t->last says why */
	struct http_client *http;
	LIST_HEAD(, call) calls;         /* requests on their way (cloud_rest_link.c) */

	/* the link (cloud_rest_link.c) */
	enum cw_link  link;
	int           backoff_s;
	int64_t       next_probe_ms;     /* monotonic */
	bool          probe_pending;
	struct event *ev_probe;
	char          last[HTTP_ERR_MAX]; /* the last request's outcome */
	int64_t       last_ms;           /* monotonic */
	uint64_t      requests, failures, offline;
	/* the cloud's /config, or REST_API.md's defaults */
	int64_t idle_ms, waiting_ms, active_ms, heartbeat_ms;
	int     cloud_batch;             /* maxBatchSize, 0: none said */
	bool    config_logged;
	/* calls up into cloud_rest_identity.c, set by it */
	void  (*start_register)(struct cw_tp *t, const char *why);
	void  (*recover)(struct cw_tp *t, const char *why);

	/* identity (cloud_rest_identity.c) */
	enum rest_reg reg;
	int           reg_attempt;       /* of REST_REGISTER_MAX_ATTEMPTS */
	int           reg_backoff_s;
	struct event *ev_reg;            /* the 2 s before a fresh retry (3.2) */
	uint64_t      registrations, recoveries, reg_failures;
	int64_t       identity_ms;       /* monotonic, when the cloud last gave one */
	bool          identity_fresh;    /* given, not yet taken by any request since */
	bool          reg_wait_fresh;    /* 3.2: a fresh registration in 2 s */
	bool          reset_pending;     /* carnitrackctl identity --reset to act on */
	int64_t       recover_block_ms;  /* monotonic: no recovery before */
	char          reg_last[160];
	bool          setup_logged;
	bool          activating;

	/* events (cloud_rest_events.c) */
	struct cm_buf body, req;         /* events text as added; the request body */
	uint8_t     (*added)[CT_UUID_LEN];
	size_t       *ends;              /* where event i's text ends in body */
	unsigned      nadded, cap_added;
	unsigned      ev_inflight;
	int           batch_limit;       /* learned from a 413, 0: none */
	int64_t       hold_until_ms;     /* monotonic: no events before */
	int           hold_s;
	int64_t       single_until_ms;   /* monotonic: one event per request before */
	struct event *ev_hold;
	struct rest_event_result *dec;   /* REST_MAX_BATCH each, made once */
	struct cw_result         *res;
	uint64_t      ev_requests, batch_requests, too_large, batch_refused;

	/* sessions (cloud_rest_sessions.c) */
	struct event *ev_poll;
	bool          poll_inflight, poll_again;
	char          etag[HTTP_ETAG_MAX + 1];
	int64_t       etag_ms;           /* monotonic, when that ETag came */
	char         *polled;            /* the path the cached state answers */
	struct rest_session *sess;       /* the cloud's state, REST_POLL_DEVICES_MAX */
	size_t        nsess;
	char        (*poll_ids)[CT_DEVICE_ID_MAX];   /* the scales that state is for */
	size_t        npoll_ids;
	char        (*req_ids)[CT_DEVICE_ID_MAX];    /* those of the poll on its way */
	size_t        nreq_ids;
	struct rest_held *held;          /* the store's sessions, for the diff */
	bool          have_state;
	int64_t       poll_ms;           /* the interval last chosen */
	uint64_t      polls, polls_304, session_changes, polls_failed;
	bool          poll_cut_logged;

	/* scales, heartbeat, device status, ACKs (cloud_rest_health.c) */
	struct rest_dev devs[REST_DEV_MAX];
	int           ndevs;
	struct event *ev_hb;
	bool          hb_inflight;
	unsigned      dev_status_out;
	uint64_t      heartbeats, hb_failures, dev_status_sent, dev_status_dropped;
	uint64_t      acks_sent, acks_failed;
};

/* cloud_rest_link.c */
int  rest_link_init(struct cw_tp *t, char *err, size_t errlen);
void rest_link_free(struct cw_tp *t);
void rest_link_start(struct cw_tp *t);
/* One request on the cloud's API; path NULL: the endpoint's own. done is
 * called exactly once (not if the transport is freed first), from the loop.
 * -1 (logged by the caller) when not even queued. */
int  rest_send(struct cw_tp *t, enum rest_endpoint e, const char *path, const char *body,
    size_t len, unsigned flags, const char *inm, rest_done_fn done, void *arg);
/* The identity the requests carry, after a change. */
void rest_link_identity(struct cw_tp *t);
/* The cloud answered while the edge holds an identity: the link is up. */
void rest_link_answered(struct cw_tp *t);
/* Down (RETRYING with why, said to the outbox once), and the probe in
 * probe_in_ms (-1: the backoff, REST_NO_PROBE: none until something else
 * starts one). */
#define REST_NO_PROBE (-2)
/* rest_send flags beside lib/http's: arg is malloc'd and the request's (done
 * frees it; freed with the transport if done never runs). */
#define REST_F_OWNS_ARG 0x200u
void rest_link_lost(struct cw_tp *t, const char *why, int64_t probe_in_ms);
/* A /config object (GET /config or register's "config"). */
void rest_link_config(struct cw_tp *t, const struct rest_config *c);
int  rest_events_max(const struct cw_tp *t);     /* events per request now */

/* cloud_rest_identity.c */
int  rest_identity_init(struct cw_tp *t);
void rest_identity_free(struct cw_tp *t);
int  rest_activate(struct cw_tp *t, const char *code, uint32_t ticket, char *err,
    size_t errlen);
void rest_identity_reset(struct cw_tp *t);      /* carnitrackctl identity --reset */

/* cloud_rest_events.c */
int  rest_events_init(struct cw_tp *t);
void rest_events_free(struct cw_tp *t);
unsigned rest_events_room(struct cw_tp *t);
void rest_events_begin(struct cw_tp *t);
int  rest_event_add(struct cw_tp *t, const struct ct_event *ev, const char *gid);
unsigned rest_events_send(struct cw_tp *t, unsigned how);

/* cloud_rest_sessions.c */
int  rest_sessions_init(struct cw_tp *t);
void rest_sessions_free(struct cw_tp *t);
void rest_poll_soon(struct cw_tp *t);          /* a scale connected, the link came up */

/* cloud_rest_health.c */
int  rest_health_init(struct cw_tp *t);
void rest_health_free(struct cw_tp *t);
int  rest_device(struct cw_tp *t, const struct cm_device *d, bool connected,
    enum cw_dev_change what);
int  rest_batch_ack(struct cw_tp *t, const struct cw_batch_ack *a);

#endif
