/*
 * Events to a REST cloud (REST_API.md 4.5, 4.6): POST /events for one,
 * POST /events/batch for more, up to rest_events_max() ([cloud]
 * batch_size, the cloud's maxBatchSize, what a 413 taught), with up to
 * REST_INFLIGHT requests at once on the keep-alive connections. The event
 * object is lib/cloudmsg's, the one the WebSocket link sends.
 *
 * Every event sent gets exactly one result up, whatever the answer:
 *   2xx             per event from the answer: accepted/duplicate delivered,
 *                   failed rejected (with the cloud's reason), no result for
 *                   it a retry (REST_API.md 8.7 failed the whole batch)
 *   413             the batch was too big: all retried, smaller from now on
 *   400/422 with a  one event the cloud judged: rejected with its message
 *   JSON body       (a duplicate in any words: delivered); for a batch:
 *                   all retried one by one for REST_SINGLE_S, so the one
 *                   bad event is found and the rest delivered
 *   identity refused, no answer: retried (recovery, or the link is down)
 *   anything else   (429 and 5xx after lib/http's retries, other 4xx):
 *                   retried, and no events for a backoff (1 s doubling to
 *                   REST_HOLD_MAX_S): a cloud that refuses everything is not
 *                   asked in a loop (REST_API.md 8.5, 8.6)
 */
#include "cloud_rest.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "log/log.h"

struct evreq {
	unsigned n;
	bool     single;
	uint8_t  ids[][CT_UUID_LEN];
};

unsigned
rest_events_room(struct cw_tp *t)
{
	int64_t now = ct_now_ms_mono();

	if (t->link != CW_UP || t->id->edge_id[0] == '\0' || t->ev_inflight >= REST_INFLIGHT ||
	    now < t->hold_until_ms)
		return 0;
	if (now < t->single_until_ms)
		return REST_INFLIGHT - t->ev_inflight;
	return (unsigned)rest_events_max(t);
}

void
rest_events_begin(struct cw_tp *t)
{
	cm_buf_reset(&t->body);
	t->nadded = 0;
}

int
rest_event_add(struct cw_tp *t, const struct ct_event *ev, const char *gid)
{
	if (t->nadded == t->cap_added) {
		unsigned ncap = t->cap_added ? t->cap_added * 2 : 64;
		size_t *e = realloc(t->ends, ncap * sizeof(*e));
		uint8_t (*a)[CT_UUID_LEN];

		if (e == NULL)
			return -1;
		t->ends = e;
		if ((a = realloc(t->added, ncap * sizeof(*a))) == NULL)
			return -1;
		t->added = a;
		t->cap_added = ncap;
	}
	if (t->body.len > 0)
		cm_buf_raw(&t->body, ",");
	rest_event_body(&t->body, ev, gid);
	if (t->body.oom)
		return -1;
	memcpy(t->added[t->nadded], ev->local_id, CT_UUID_LEN);
	t->ends[t->nadded++] = t->body.len;
	return 0;
}

/* ------------------------------------------------------------ answers */

static void
hold_cb(evutil_socket_t fd, short what, void *arg)
{
	struct cw_tp *t = arg;

	t->up->ready(t->arg);
}

static void
hold(struct cw_tp *t, const char *why)
{
	struct timeval tv;

	t->hold_s = t->hold_s == 0 ? 1 : t->hold_s * 2;
	if (t->hold_s > REST_HOLD_MAX_S)
		t->hold_s = REST_HOLD_MAX_S;
	t->hold_until_ms = ct_now_ms_mono() + (int64_t)t->hold_s * 1000;
	tv = (struct timeval){ t->hold_s, 0 };
	event_add(t->ev_hold, &tv);
	log_warn("events not delivered (%s): sending again in %d s", why, t->hold_s);
}

/* A 413: the maxBatchSize the cloud names, else half of what was sent. */
static void
learn_limit(struct cw_tp *t, const struct http_result *r, unsigned sent)
{
	json_t *o = json_loadb(r->body, r->body_len, 0, NULL);
	json_t *m = json_object_get(o, "maxBatchSize");
	int limit = (int)(sent / 2);

	if (json_is_integer(m) && json_integer_value(m) >= 1 &&
	    json_integer_value(m) < (json_int_t)sent)
		limit = (int)json_integer_value(m);
	json_decref(o);
	t->batch_limit = limit < 1 ? 1 : limit;
	t->too_large++;
	log_warn("the cloud refused a batch of %u events as too large (%s): at most %d per "
	    "request from now on", sent, r->error_text, rest_events_max(t));
}

static void
set_all(struct cw_tp *t, unsigned n, enum cw_outcome o, const char *why)
{
	for (unsigned i = 0; i < n; i++) {
		t->res[i].outcome = o;
		t->res[i].reason = why;
	}
}

/* A 2xx: one result per event from the answer. false: unreadable. */
static bool
from_answer(struct cw_tp *t, const struct evreq *q, const struct http_result *r)
{
	struct rest_batch_note note;
	char err[REST_ERR_MAX];

	if (q->single) {
		if (rest_decode_event(r->body, r->body_len, &t->dec[0], err, sizeof(err)) != 0) {
			log_warn("POST /events: unreadable answer: %s", err);
			return false;
		}
	} else if (rest_decode_batch(r->body, r->body_len, (const uint8_t (*)[CT_UUID_LEN])q->ids,
	    q->n, t->dec, &note, err, sizeof(err)) != 0) {
		log_warn("POST /events/batch: unreadable answer: %s", err);
		return false;
	} else if (note.missing > 0 || note.unknown_ids > 0 || note.bad_entries > 0) {
		log_warn("POST /events/batch of %u: %zu without a result (sent again), %d results "
		    "for ids not sent, %d unreadable%s%s", q->n, note.missing, note.unknown_ids,
		    note.bad_entries, note.note[0] ? ": " : "", note.note);
	}
	for (unsigned i = 0; i < q->n; i++) {
		const struct rest_event_result *d = &t->dec[i];
		struct cw_result *o = &t->res[i];

		o->outcome = d->outcome == REST_DELIVERED ? CW_DELIVERED :
		    d->outcome == REST_REJECTED ? CW_REJECTED : CW_RETRY;
		o->ack = d->duplicate ? CT_ACK_DUPLICATE : CT_ACK_ACCEPTED;
		o->cloud_id = d->cloud_event_id;
		o->reason = d->error;
	}
	return true;
}

/* A 4xx of the cloud's own (JSON) about one event. false: not that. */
static bool
judged_one(struct cw_tp *t, const struct http_result *r)
{
	struct rest_event_result *d = &t->dec[0];

	if ((r->status != 400 && r->status != 409 && r->status != 422) ||
	    r->content_type == NULL || !http_json_type(r->content_type))
		return false;
	memset(d, 0, sizeof(*d));
	rest_error_message(r->body, r->body_len, d->error, sizeof(d->error));
	if (strcasestr(d->error, "duplicate") != NULL) {
		t->res[0].outcome = CW_DELIVERED;
		t->res[0].ack = CT_ACK_DUPLICATE;
		t->res[0].cloud_id = d->cloud_event_id;
		return true;
	}
	if (r->status == 409)
		return false;
	if (d->error[0] == '\0')
		snprintf(d->error, sizeof(d->error), "HTTP %d", r->status);
	t->res[0].outcome = CW_REJECTED;
	t->res[0].reason = d->error;
	return true;
}

static void
events_done(struct cw_tp *t, const struct http_result *r, enum rest_verdict v, void *arg)
{
	struct evreq *q = arg;

	t->ev_inflight--;
	memset(t->res, 0, q->n * sizeof(*t->res));
	for (unsigned i = 0; i < q->n; i++)
		memcpy(t->res[i].id, q->ids[i], CT_UUID_LEN);
	switch (v) {
	case REST_V_OK:
		if (from_answer(t, q, r))
			t->hold_s = 0;
		else {
			set_all(t, q->n, CW_RETRY, "unreadable answer");
			hold(t, "an answer we cannot read");
		}
		break;
	case REST_V_AUTH:
		set_all(t, q->n, CW_RETRY, "identity refused");
		break;
	case REST_V_OFFLINE:
		set_all(t, q->n, CW_RETRY, "no answer");
		break;
	case REST_V_FAILED:
		set_all(t, q->n, CW_RETRY, r->error_text);
		if (!q->single && r->status == 413) {
			learn_limit(t, r, q->n);
		} else if (q->single && judged_one(t, r)) {
			t->hold_s = 0;
		} else if (!q->single && r->status >= 400 && r->status < 500 && r->status != 429 &&
		    r->status != 408) {
			t->batch_refused++;
			t->single_until_ms = ct_now_ms_mono() + REST_SINGLE_S * 1000;
			log_warn("%s: sending events one by one for %d s to find the one refused",
			    r->error_text, REST_SINGLE_S);
		} else {
			hold(t, r->error_text);
		}
		break;
	}
	t->up->results(t->arg, t->res, q->n);
	free(q);
}

/* ------------------------------------------------------------ sending */

static struct evreq *
evreq_new(struct cw_tp *t, unsigned from, unsigned n, bool single)
{
	struct evreq *q = malloc(sizeof(*q) + (size_t)n * CT_UUID_LEN);

	if (q == NULL)
		return NULL;
	q->n = n;
	q->single = single;
	memcpy(q->ids, t->added[from], (size_t)n * CT_UUID_LEN);
	return q;
}

static bool
send_req(struct cw_tp *t, enum rest_endpoint e, const char *body, size_t len, struct evreq *q)
{
	if (q == NULL ||
	    rest_send(t, e, NULL, body, len, REST_F_OWNS_ARG, NULL, events_done, q) != 0) {
		if (q != NULL && errno != ENOBUFS)
			log_warn("events request not queued: %s", strerror(errno));
		free(q);
		return false;
	}
	t->ev_inflight++;
	if (e == REST_EVENTS)
		t->ev_requests++;
	else
		t->batch_requests++;
	return true;
}

/* Events one by one: POST /events each, while requests may go. */
static unsigned
send_single(struct cw_tp *t)
{
	unsigned sent = 0;

	while (sent < t->nadded && t->ev_inflight < REST_INFLIGHT) {
		size_t from = sent == 0 ? 0 : t->ends[sent - 1] + 1;   /* past the comma */
		if (!send_req(t, REST_EVENTS, t->body.p + from, t->ends[sent] - from,
		    evreq_new(t, sent, 1, true)))
			break;
		sent++;
	}
	return sent;
}

unsigned
rest_events_send(struct cw_tp *t, unsigned how)
{
	unsigned n = t->nadded, max = (unsigned)rest_events_max(t), sent = 0;

	if (n == 0 || t->body.oom || t->link != CW_UP || t->ev_inflight >= REST_INFLIGHT) {
		rest_events_begin(t);
		return 0;
	}
	if (n == 1 || ct_now_ms_mono() < t->single_until_ms) {
		sent = send_single(t);
	} else {
		if (n > max)
			n = max;          /* the rest: the outbox reads them again */
		rest_batch_wrap(&t->req, t->body.p, t->ends[n - 1]);
		if (t->req.oom)
			log_err("out of memory encoding an events/batch request");
		else if (send_req(t, REST_EVENTS_BATCH, t->req.p, t->req.len,
		    evreq_new(t, 0, n, false)))
			sent = n;
	}
	rest_events_begin(t);
	return sent;
}

/* ------------------------------------------------------------ life */

int
rest_events_init(struct cw_tp *t)
{
	t->dec = calloc(REST_MAX_BATCH, sizeof(*t->dec));
	t->res = calloc(REST_MAX_BATCH, sizeof(*t->res));
	t->ev_hold = evtimer_new(t->base, hold_cb, t);
	return t->dec != NULL && t->res != NULL && t->ev_hold != NULL ? 0 : -1;
}

void
rest_events_free(struct cw_tp *t)
{
	if (t->ev_hold != NULL)
		event_free(t->ev_hold);
	t->ev_hold = NULL;
	cm_buf_free(&t->body);
	cm_buf_free(&t->req);
	free(t->added);
	free(t->ends);
	free(t->dec);
	free(t->res);
	t->added = NULL;
	t->ends = NULL;
	t->dec = NULL;
	t->res = NULL;
	t->cap_added = t->nadded = 0;
}
