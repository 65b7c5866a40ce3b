/*
 * Events out: read pending events from LMDB (read-only, one short read
 * transaction per slice), oldest first, into the window and through the
 * transport; their results back into acks for the store.
 *
 * - The cursor is the next sequence to read; everything below it is either
 *   in the window or answered. A reset (new link, store restarted, a lost
 *   ack frame) empties the window and starts again from 0: what the cloud
 *   already has comes back "duplicate", which store accepts as synced.
 * - A slice is at most batch_size events and what the window and the
 *   transport have room for; the transport decides how it goes out.
 * - With a transport that reports batches first (CW_TP_BATCH_FIRST), an
 *   event of an offline batch waits until that batch has been reported
 *   (the cloud reconciles by it): the stream stops at the first such event
 *   until cloud_batches.c says the batch went out.
 * - No timer paces this: it runs again whenever acks make room (end of the
 *   loop turn that read them), on WORK_READY, and when the transport says
 *   it is ready again.
 */
#include "cloud_worker.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log/log.h"

void
cw_stream_reset(struct cw *c)
{
	evw_clear(&c->fl);
	c->cursor = 0;
	c->blocked_batch = false;
}

void
cw_flush_acks(struct cw *c)
{
	/* A lost ACKED/REJECTED frame is redone: unacked events are sent
	 * again after the reset and the cloud answers "duplicate". */
	if (cw_send_queued_acks(c) != 0)
		cw_stream_reset(c);
}

/* ------------------------------------------------------------ results */

static void
result(struct cw *c, const struct cw_result *r)
{
	char id[CT_UUID_STR];
	uint64_t seq;

	if (r->outcome != CW_RETRY)
		ct_trace(CT_ST_CLOUD_ACKED, r->id);
	switch (r->outcome) {
	case CW_DELIVERED:
		evw_remove(&c->fl, r->id, NULL);
		if (cw_queue_ack(c, r->id, r->ack, r->cloud_id) != 0)
			cw_stream_reset(c);
		c->acked_total++;
		c->acked_today++;
		if (r->ack == CT_ACK_DUPLICATE)
			c->duplicates++;
		return;
	case CW_REJECTED:
		evw_remove(&c->fl, r->id, NULL);
		if (cw_queue_reject(c, r->id, r->reason) != 0)
			cw_stream_reset(c);
		c->rejected++;
		ct_uuid_fmt(r->id, id);
		log_info("event %s rejected by the cloud: %s", id, r->reason && r->reason[0] ?
		    r->reason : "(no reason)");
		return;
	case CW_RETRY:
		/* read again from there: the window skips what is still in it */
		if (evw_remove(&c->fl, r->id, &seq) && seq < c->cursor)
			c->cursor = seq;
		cw_kick(c);
		return;
	}
}

void
cw_results(struct cw *c, const struct cw_result *r, size_t n)
{
	for (size_t i = 0; i < n; i++)
		result(c, &r[i]);
}

/* ------------------------------------------------------------ reading */

/* One slice: events read in one short read transaction and added to the
 * transport's message. */
struct slice {
	struct cw *c;
	uint8_t  (*ids)[CT_UUID_LEN];
	uint64_t  *seqs;
	unsigned   n, max;
	bool       blocked, oom;
	uint8_t    blocked_id[CT_UUID_LEN];
	uint64_t   next_cursor;
};

static int
add_event(struct cw *c, const struct ct_event *ev)
{
	char gid[CT_DEVICE_ID_MAX * 2];

	cw_global_id(c, ev->device_id, gid, sizeof(gid));
	return c->tp_ops->event_add(c->tp, ev, gid);
}

static int
collect_cb(const struct ct_event *ev, const struct store_sync *sy, void *arg)
{
	struct slice *s = arg;
	struct cw *c = s->c;

	if ((sy != NULL && sy->status != SYNC_PENDING) || evw_has(&c->fl, ev->local_id)) {
		s->next_cursor = ev->seq + 1;
		return 0;
	}
	if ((c->tp_ops->flags & CW_TP_BATCH_FIRST) && !ct_uuid_is_nil(ev->offline_batch_id) &&
	    !cw_batch_is_reported(c, ev->offline_batch_id)) {
		s->blocked = true;
		memcpy(s->blocked_id, ev->offline_batch_id, CT_UUID_LEN);
		return 1;
	}
	if (add_event(c, ev) != 0) {
		s->oom = true;
		return 1;        /* out of memory: the slice is dropped, read again later */
	}
	memcpy(s->ids[s->n], ev->local_id, CT_UUID_LEN);
	s->seqs[s->n] = ev->seq;
	s->n++;
	s->next_cursor = ev->seq + 1;
	return s->n >= s->max ? 1 : 0;
}

/* Sends the slice; its events that went out enter the window. */
static unsigned
send_slice(struct cw *c, struct slice *s)
{
	int64_t now = ct_now_ms_mono(), sent_ns;
	unsigned sent;

	if (s->n == 0)
		return 0;
	sent_ns = ct_trace_on() ? ct_now_ns_mono() : 0;    /* before the answer can come */
	sent = c->tp_ops->events_send(c->tp, 0);
	for (unsigned i = 0; i < sent; i++) {
		evw_add(&c->fl, s->ids[i], s->seqs[i], now);
		ct_trace_at(sent_ns, CT_ST_CLOUD_SENT, s->ids[i], NULL, NULL);
	}
	c->events_sent += sent;
	return sent;
}

/* Fill in chunks worth a message: a backlog draining under a trickle of
 * acks should not turn into one-event batches. */
static unsigned
slice_threshold(const struct cw *c, unsigned max)
{
	unsigned threshold = (unsigned)c->window / 4;

	if (threshold > max)
		threshold = max;
	return threshold < 1 ? 1 : threshold;
}

/* One slice read and sent; false when the stream stops for now. */
static bool
fill_one(struct cw *c, struct slice *s, unsigned max, unsigned threshold)
{
	unsigned room = c->fl.cap - c->fl.n, tp_room = c->tp_ops->room(c->tp), n, sent;
	int e;

	if (tp_room < room)
		room = tp_room;
	/* a transport whose whole room is below the threshold (a REST cloud
	 * taking 50 events a request) fills requests as they free */
	if (tp_room < threshold)
		threshold = tp_room;
	if (room == 0 || (c->fl.n > 0 && room < threshold))
		return false;
	s->n = 0;
	s->blocked = s->oom = false;
	s->max = room < max ? room : max;
	s->next_cursor = c->cursor;
	c->tp_ops->events_begin(c->tp);
	e = store_pending_iter(c->st, c->cursor, s->max, collect_cb, s);
	if (e != STORE_OK && e != STORE_NOTFOUND) {
		log_warn("reading pending events: %s", store_errmsg(c->st));
		return false;
	}
	if (s->oom) {
		log_err("out of memory encoding events");
		return false;
	}
	n = s->n;
	sent = send_slice(c, s);
	if (sent < n) {
		/* The rest stays unsent: read it again when the transport is ready. */
		c->cursor = sent > 0 ? s->seqs[sent - 1] + 1 : c->cursor;
		return false;
	}
	c->cursor = s->next_cursor;
	if (s->blocked) {
		c->blocked_batch = true;
		memcpy(c->blocked_batch_id, s->blocked_id, CT_UUID_LEN);
		if (!cw_batch_unblock(c, c->blocked_batch_id))
			return false;
		c->blocked_batch = false;
		return true;
	}
	return n >= s->max;       /* less: the end of pending */
}

void
cw_fill(struct cw *c)
{
	struct slice s = { .c = c };
	unsigned max = (unsigned)c->batch_size;

	if (c->link != CW_UP || !cw_open_store(c))
		return;
	if (c->blocked_batch) {
		if (!cw_batch_unblock(c, c->blocked_batch_id))
			return;
		c->blocked_batch = false;
	}
	s.ids = malloc(max * sizeof(*s.ids));
	s.seqs = malloc(max * sizeof(*s.seqs));
	if (s.ids == NULL || s.seqs == NULL) {
		log_err("out of memory reading events");
	} else {
		unsigned threshold = slice_threshold(c, max);
		while (c->link == CW_UP && fill_one(c, &s, max, threshold))
			;
	}
	free(s.ids);
	free(s.seqs);
}

/* ------------------------------------------------------------ resends */

/* Drops the window slot of an event that is no longer in the store
 * (pruned): nothing to wait for; the slot is found by seq. */
static void
forget_seq(struct cw *c, uint64_t seq)
{
	for (uint32_t j = 0; j < c->fl.cap; j++)
		if (c->fl.slots[j].used && c->fl.slots[j].seq == seq) {
			evw_remove(&c->fl, c->fl.slots[j].id, NULL);
			return;
		}
}

void
cw_resend_expired(struct cw *c)
{
	int64_t now = ct_now_ms_mono(), limit = (int64_t)c->ack_timeout * 1000;
	uint64_t *seqs;
	unsigned n = 0, k = 0, resent = 0;

	if (c->link != CW_UP || c->fl.n == 0 || c->tp_ops->room(c->tp) == 0 || c->st == NULL)
		return;
	if ((seqs = malloc(CW_RESEND_MAX * sizeof(*seqs))) == NULL)
		return;
	for (uint32_t i = 0; i < c->fl.cap && n < CW_RESEND_MAX; i++)
		if (c->fl.slots[i].used && now - c->fl.slots[i].sent_ms >= limit)
			seqs[n++] = c->fl.slots[i].seq;
	c->tp_ops->events_begin(c->tp);
	for (unsigned i = 0; i < n; i++) {
		struct ct_event ev;
		struct store_sync sy;

		if (store_event_get(c->st, seqs[i], &ev, &sy) != STORE_OK) {
			forget_seq(c, seqs[i]);
			continue;
		}
		evw_remove(&c->fl, ev.local_id, NULL);
		if (sy.status != SYNC_PENDING)
			continue;        /* answered meanwhile */
		if (add_event(c, &ev) != 0)
			break;
		/* A refused send leaves them in the window with a fresh time:
		 * they go again at the next timeout. */
		evw_add(&c->fl, ev.local_id, ev.seq, now);
		k++;
		if (k == (unsigned)c->batch_size || (i + 1 == n)) {
			if (c->tp_ops->events_send(c->tp, CW_SEND_RESEND) == 0)
				break;
			resent += k;
			k = 0;
		}
	}
	if (k > 0 && c->tp_ops->events_send(c->tp, CW_SEND_RESEND) > 0)
		resent += k;
	c->events_resent += resent;
	if (n > 0)
		log_info("re-sent %u events unanswered for %d s", resent, c->ack_timeout);
	free(seqs);
}
