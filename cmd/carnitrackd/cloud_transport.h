/*
 * The cloud worker's seam: an outbox over a transport, as OpenSMTPD's mta.c
 * (policy) sits over mta_session.c (one connection). The outbox (every
 * cloud_*.c but the transports) reads LMDB, keeps the window, decides what
 * the cloud's answers and a lost link mean, and sends frames to the store.
 * A transport (cloud_ws*.c: the WebSocket link; the REST transport of issue
 * 13: cloud_rest*.c) says it to the cloud in its protocol. The outbox calls the
 * transport through struct cw_transport_ops; the transport calls up only
 * through struct cw_up. Neither knows the other's files.
 *
 * The contract, intent by intent (WebSocket / REST as REST_API.md has it):
 *
 * Link. Only the transport can judge it; it reports every state through
 *   up->link(state, why): CW_DISABLED (no url), CW_RETRYING (waiting to try
 *   again), CW_CONNECTING, CW_UP (events may flow). The outbox alone decides
 *   what a change means: up = the store hears "link up", devices and
 *   batches are announced, the stream starts over; down = acks flushed, the
 *   window forgotten (the next link re-sends, the cloud answers duplicate),
 *   and after offline_grace without CW_UP the store hears "down". WebSocket:
 *   up from the upgrade (and `register` sent) to close, ping timeout or a
 *   failed send. REST: down only when a request got no response or a
 *   502/503/504 (http_means_offline), never for one 4xx; up on any answer.
 *
 * Events. One message's worth at a time: events_begin, event_add per event
 *   (at most room() of them, and at most the configured batch size), then
 *   events_send, which returns how many of the added went out, in order;
 *   the rest are the outbox's again (it reads them again after up->ready).
 *   room() is 0 while the link is not up or the transport cannot take more
 *   (a full send queue, requests in flight at their bound); up->ready says
 *   when that changes. Every event sent gets one result, up->results, in
 *   any order and grouping, possibly never (the outbox re-sends after
 *   ack_timeout): CW_DELIVERED (accepted or duplicate, with the cloud's id),
 *   CW_REJECTED (final, with the cloud's reason) or CW_RETRY (no usable
 *   answer: send it again). WebSocket: `event` for a few live ones, else
 *   `event_batch`; results from event_ack / event_rejected. REST: /events
 *   or /events/batch of up to the cloud's limit, results per event from the
 *   answer (a missing one is CW_RETRY).
 *
 * Identity. Registration and recovery are the transport's (when, how, with
 *   what): it reads the identity the outbox holds (struct cw_identity, given
 *   at creation, site id and name through cw_site_id/cw_site_name), reports
 *   what the cloud gave with up->identity(id, via) and a refusal that means
 *   "the cloud does not know this edge" with up->identity_forget(why). The
 *   outbox persists every change (IDENTITY frame to the store) and counts
 *   it. carnitrackctl identity --reset reaches the outbox through the store;
 *   it calls identity_changed() and the transport registers afresh.
 *   carnitrackctl activate CODE reaches activate() (NULL: the transport has
 *   no setup codes), answered once by up->activated(ticket, ok, text).
 *   WebSocket: `register` on every link and [cloud] register_url's POST,
 *   edge_registered / config_update, an upgrade refused 401/403/404, an
 *   `error` naming the edge unknown. REST: /register when it holds no
 *   identity, recovery by REST_API.md 3.2 (single-flight, once), /activate.
 *
 * Sessions and PLU. The cloud's state reaches the store the same way
 *   whichever way it came: one change at a time through up->session (a
 *   session started, paused, resumed or ended on a scale) and up->plu.
 *   WebSocket: pushed messages, one each. REST: the transport polls the full
 *   state (ETag, 304) and reports the differences from the last state it
 *   saw; the sessions the store holds at start come from up->sessions_held.
 *
 * Devices. device(d, what): CW_DEV_ANNOUNCE for every scale the store knows
 *   when the link comes up (connected or not, d->status says), then
 *   CW_DEV_CONNECTED / CW_DEV_HEARTBEAT / CW_DEV_DISCONNECTED as they
 *   change, a scale's connect before its events and its disconnect after
 *   them. WebSocket: device_* messages (an ANNOUNCE only for connected
 *   scales). REST: devices/status for the changes; the heartbeat every 30 s
 *   carries the list the transport keeps from these calls and up->health.
 *
 * Offline batches. With CW_TP_BATCH_FIRST (WebSocket) the outbox calls
 *   batch_closed() for every closed batch not yet reported and holds that
 *   batch's events back until the transport took it (offline_batch_start /
 *   end go before the events). Without it (REST) events are not held, and
 *   once every event of a closed batch has its result (the store's count)
 *   the outbox reads the batch's event ids from the store in bounded parts
 *   and hands them to batch_delivered() one part at a time: REST's
 *   offline-batches/ack. Each part taken gets exactly one
 *   up->batch_acked(id, part, ok); the next part goes after an ok, and the
 *   batch counts as reported only when the last part was (a failure is
 *   tried again later, from the first part: the cloud's ACK is idempotent).
 *   Either way the outbox records what was done (BATCH_REPORTED).
 *
 * Health. The transport's periodic report (WebSocket `status` every
 *   status_interval, REST heartbeat) takes its figures from up->health.
 *
 * Calls never nest the other way: a transport calls up from its own event
 * callbacks, never from inside an op, so the outbox may call any op from
 * an upcall. Ops that send return -1 when nothing was taken.
 */
#ifndef CT_CLOUD_TRANSPORT_H
#define CT_CLOUD_TRANSPORT_H

#include <stdbool.h>
#include <stdint.h>
#include <event2/event.h>
#include <jansson.h>

#include "cloudmsg/cloudmsg.h"
#include "conf/conf.h"
#include "event/event.h"
#include "store/store.h"

struct cw_tp;                    /* one transport instance, opaque to the outbox */

enum cw_link {
	CW_DISABLED = 0,    /* no url configured */
	CW_RETRYING,        /* waiting out the backoff */
	CW_CONNECTING,      /* TCP/TLS/upgrade */
	CW_UP,              /* events flow */
};

/* Who the edge is to the cloud; held by the outbox, read by the transport. */
struct cw_identity {
	char edge_id[64], site_id[64], site_name[256];   /* as the cloud gave them */
	char source[64];                                 /* where edge_id came from */
	char conf_site_id[64], conf_site_name[CT_CONF_STR];   /* configured: these win */
};
static inline const char *
cw_site_id(const struct cw_identity *id)
{
	return id->conf_site_id[0] ? id->conf_site_id : id->site_id;
}
static inline const char *
cw_site_name(const struct cw_identity *id)
{
	return id->conf_site_name[0] ? id->conf_site_name : id->site_name;
}

enum cw_outcome { CW_DELIVERED, CW_REJECTED, CW_RETRY };
struct cw_result {
	uint8_t         id[CT_UUID_LEN];   /* localEventId */
	enum cw_outcome outcome;
	enum ct_ack     ack;               /* CW_DELIVERED: accepted or duplicate */
	const char     *cloud_id;          /* CW_DELIVERED: the cloud's id, NULL/"" none */
	const char     *reason;            /* CW_REJECTED: the cloud's; CW_RETRY: ours */
};

enum cw_dev_change { CW_DEV_ANNOUNCE, CW_DEV_CONNECTED, CW_DEV_HEARTBEAT, CW_DEV_DISCONNECTED };

/* One part of the acknowledgement of a delivered offline batch. */
struct cw_batch_ack {
	struct cm_batch batch;             /* id, device, times, the store's counts */
	const uint8_t (*ids)[CT_UUID_LEN]; /* this part's localEventIds, oldest first */
	size_t          nids;
	unsigned        part, parts;       /* 1-based; parts 1: all of them at once */
};

/* The transport's calls up; arg is the outbox's. */
struct cw_up {
	void (*link)(void *arg, enum cw_link state, const char *why);
	void (*ready)(void *arg);
	void (*results)(void *arg, const struct cw_result *r, size_t n);
	/* -1: not taken (a value the outbox cannot keep, logged) */
	int  (*identity)(void *arg, const struct cm_identity *id, const char *via);
	void (*identity_forget)(void *arg, const char *why);
	void (*session)(void *arg, const struct cm_session *s);
	int  (*sessions_held)(void *arg, store_session_cb cb, void *cbarg);
	void (*plu)(void *arg, const struct cm_plu *p);
	void (*health)(void *arg, struct cm_status *out);
	/* A part batch_delivered took: did the cloud confirm it (2xx)? */
	void (*batch_acked)(void *arg, const uint8_t id[CT_UUID_LEN], unsigned part, bool ok);
	/* activate()'s answer: the new identity went through up->identity first. */
	void (*activated)(void *arg, uint32_t ticket, bool ok, const char *text);
};

/* What a transport is made from; strings are copied. */
struct cw_tp_conf {
	struct event_base        *base;
	const char               *url, *register_url, *ca_file, *pin_sha256, *token;
	bool                      allow_plaintext_token;
	int                       ping_interval, status_interval, batch_size;   /* s, s, events */
	const struct cw_identity *id;
};

#define CW_TP_BATCH_FIRST 0x01   /* report a closed batch before its events */
#define CW_SEND_RESEND    0x01   /* events_send: these were sent before */

struct cw_transport_ops {
	const char *name;
	unsigned    flags;           /* CW_TP_* */
	/* NULL after logging why (a bad url, no memory). */
	struct cw_tp *(*create)(const struct cw_tp_conf *c, const struct cw_up *up, void *arg);
	void     (*start)(struct cw_tp *t);           /* first connect, or CW_DISABLED */
	void     (*free)(struct cw_tp *t);            /* drops the link; no upcall after */
	/* Settings a reload may change without a new worker. */
	void     (*reconfigure)(struct cw_tp *t, const struct cw_tp_conf *c);
	unsigned (*room)(struct cw_tp *t);
	void     (*events_begin)(struct cw_tp *t);
	int      (*event_add)(struct cw_tp *t, const struct ct_event *ev, const char *global_id);
	unsigned (*events_send)(struct cw_tp *t, unsigned how);
	/* CW_TP_BATCH_FIRST: *done gets the CT_BATCH_*_SENT bits now sent. */
	int      (*batch_closed)(struct cw_tp *t, const struct cm_batch *b, uint8_t reported,
	             uint8_t *done);
	/* Without CW_TP_BATCH_FIRST: every event of the batch has its result. */
	int      (*batch_delivered)(struct cw_tp *t, const struct cw_batch_ack *a);
	int      (*device)(struct cw_tp *t, const struct cm_device *d, bool connected,
	             enum cw_dev_change what);
	void     (*identity_changed)(struct cw_tp *t);
	/* A setup code for an identity; -1 with err when it cannot be tried. */
	int      (*activate)(struct cw_tp *t, const char *code, uint32_t ticket, char *err,
	             size_t errlen);
	/* Its own figures into the cloud worker's status object. */
	void     (*status)(struct cw_tp *t, json_t *o);
};

/* cloud_ws.c: the WebSocket link of CLOUD_INTEGRATION_QUICKREF.md. */
extern const struct cw_transport_ops cw_ws_transport;
/* cloud_rest.c: the REST API of REST_API.md. */
extern const struct cw_transport_ops cw_rest_transport;

#endif
