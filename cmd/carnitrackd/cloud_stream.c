/*
 * Events out: read pending events from LMDB (read-only, one short read
 * transaction per slice), oldest first, into the window, and send them.
 *
 * - The cursor is the next sequence to read; everything below it is either
 *   in the window or answered. A reset (new link, store restarted, a lost
 *   ack frame) empties the window and starts again from 0: what the cloud
 *   already has comes back "duplicate", which store accepts as synced.
 * - Live traffic (a few new events) goes as single `event` messages; a
 *   backlog as `event_batch` of batch_size.
 * - An event of an offline batch waits until that batch's
 *   offline_batch_end has been sent (the cloud reconciles by it), so the
 *   stream stops at the first such event until the batch is reported.
 * - No timer paces this: it runs again whenever acks make room (end of the
 *   loop turn that read them), on WORK_READY, and on on_drain.
 */
#include "cloud_worker.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log/log.h"

bool
cw_open_store(struct cw *c)
{
	struct store_opts o = { .readonly = true, .site_id = c->conf_site_id };
	char err[256] = "";

	if (c->st != NULL)
		return true;
	if (store_open(&c->st, c->data_dir, &o, err, sizeof(err)) != 0) {
		c->st = NULL;
		if (strcmp(err, c->store_err) != 0)
			log_info("store not readable yet: %s", err);
		snprintf(c->store_err, sizeof(c->store_err), "%s", err);
		return false;
	}
	c->store_err[0] = '\0';
	log_debug("store opened read-only");
	return true;
}

void
cw_stream_reset(struct cw *c)
{
	cwf_clear(&c->fl);
	c->cursor = 0;
	c->blocked_batch = false;
}

/* ------------------------------------------------------------ batches */

bool
cw_batch_is_reported(struct cw *c, const uint8_t id[CT_UUID_LEN])
{
	for (unsigned i = 0; i < c->nreported; i++)
		if (memcmp(c->reported[i], id, CT_UUID_LEN) == 0)
			return true;
	return false;
}

/* A ring: store has long committed BATCH_REPORTED for the oldest entries
 * by the time they are overwritten, and its record is checked too. */
void
cw_batch_mark_reported(struct cw *c, const uint8_t id[CT_UUID_LEN])
{
	if (cw_batch_is_reported(c, id))
		return;
	memcpy(c->reported[c->reported_next], id, CT_UUID_LEN);
	c->reported_next = (c->reported_next + 1) % CW_REPORTED_RING;
	if (c->nreported < CW_REPORTED_RING)
		c->nreported++;
}

/* ------------------------------------------------------------ reading */

struct slice {
	struct cw *c;
	json_t    *events;       /* payloads, in seq order */
	uint8_t  (*ids)[CT_UUID_LEN];
	uint64_t  *seqs;
	unsigned   n, max;
	bool       offline;      /* any offline event in this slice */
	bool       blocked;
	uint8_t    blocked_id[CT_UUID_LEN];
	uint64_t   next_cursor;
};

static void
global_id(const struct cw *c, const char *device, char *out, size_t cap)
{
	cm_global_device_id(c->site_id[0] ? c->site_id : c->conf_site_id, device, out, cap);
}

static int
collect_cb(const struct ct_event *ev, const struct store_sync *sy, void *arg)
{
	struct slice *s = arg;
	struct cw *c = s->c;
	char gid[CT_DEVICE_ID_MAX * 2];
	json_t *p;

	if (sy != NULL && sy->status != SYNC_PENDING) {
		s->next_cursor = ev->seq + 1;
		return 0;
	}
	if (cwf_has(&c->fl, ev->local_id)) {
		s->next_cursor = ev->seq + 1;
		return 0;
	}
	if (!ct_uuid_is_nil(ev->offline_batch_id) && !cw_batch_is_reported(c, ev->offline_batch_id)) {
		s->blocked = true;
		memcpy(s->blocked_id, ev->offline_batch_id, CT_UUID_LEN);
		return 1;
	}
	global_id(c, ev->device_id, gid, sizeof(gid));
	if ((p = cm_event_payload(ev, gid)) == NULL || json_array_append_new(s->events, p) != 0)
		return 1;        /* out of memory: send what we have */
	memcpy(s->ids[s->n], ev->local_id, CT_UUID_LEN);
	s->seqs[s->n] = ev->seq;
	s->n++;
	s->offline |= ev->offline;
	s->next_cursor = ev->seq + 1;
	return s->n >= s->max ? 1 : 0;
}

/* Sends the slice's events: singly when few and live, else as one
 * event_batch. Returns how many went out (0 or all). */
static unsigned
send_slice(struct cw *c, struct slice *s)
{
	int64_t now = ct_now_ms_mono();
	unsigned sent = 0;

	if (s->n == 0)
		return 0;
	if (s->n <= CW_LIVE_MAX && !s->offline) {
		for (unsigned i = 0; i < s->n; i++) {
			json_t *p = json_array_get(s->events, i);
			json_incref(p);
			if (cw_send(c, "event", p) != 0)
				break;
			cwf_add(&c->fl, s->ids[i], s->seqs[i], now);
			sent++;
		}
	} else {
		json_incref(s->events);
		if (cw_send(c, "event_batch", cm_event_batch_payload(s->events)) == 0) {
			for (unsigned i = 0; i < s->n; i++)
				cwf_add(&c->fl, s->ids[i], s->seqs[i], now);
			sent = s->n;
		}
	}
	c->events_sent += sent;
	return sent;
}

/* Reports the batch the stream stopped at, if store has closed it. */
static void
unblock(struct cw *c)
{
	struct store_batch b;

	if (!c->blocked_batch)
		return;
	if (store_batch_get(c->st, c->blocked_batch_id, &b) != STORE_OK)
		return;
	if (b.reported & CT_BATCH_END_SENT) {
		cw_batch_mark_reported(c, b.id);
		c->blocked_batch = false;
		return;
	}
	if (b.state != BATCH_OPEN) {
		cw_report_batches(c);
		if (cw_batch_is_reported(c, c->blocked_batch_id))
			c->blocked_batch = false;
	}
}

void
cw_fill(struct cw *c)
{
	struct slice s;
	unsigned max, threshold;

	if (c->link != CW_UP || !cw_open_store(c))
		return;
	if (c->blocked_batch) {
		unblock(c);
		if (c->blocked_batch)
			return;
	}
	max = (unsigned)c->batch_size;
	s.ids = malloc(max * sizeof(*s.ids));
	s.seqs = malloc(max * sizeof(*s.seqs));
	if (s.ids == NULL || s.seqs == NULL) {
		free(s.ids);
		free(s.seqs);
		log_err("out of memory reading events");
		return;
	}
	/* Fill in chunks worth a message: a backlog draining under a trickle
	 * of acks should not turn into one-event batches. */
	threshold = (unsigned)c->window / 4;
	if (threshold > max)
		threshold = max;
	if (threshold < 1)
		threshold = 1;
	while (!c->send_blocked && c->link == CW_UP) {
		unsigned room = c->fl.cap - c->fl.n;
		int e;

		if (room == 0 || (c->fl.n > 0 && room < threshold))
			break;
		s.c = c;
		s.n = 0;
		s.offline = s.blocked = false;
		s.max = room < max ? room : max;
		s.next_cursor = c->cursor;
		if ((s.events = json_array()) == NULL)
			break;
		e = store_pending_iter(c->st, c->cursor, s.max, collect_cb, &s);
		if (e != STORE_OK && e != STORE_NOTFOUND) {
			log_warn("reading pending events: %s", store_errmsg(c->st));
			json_decref(s.events);
			break;
		}
		unsigned n = s.n, sent = send_slice(c, &s);
		json_decref(s.events);
		if (sent < n) {
			/* The rest stays unsent: read it again after on_drain. */
			c->cursor = sent > 0 ? s.seqs[sent - 1] + 1 : c->cursor;
			break;
		}
		c->cursor = s.next_cursor;
		if (s.blocked) {
			c->blocked_batch = true;
			memcpy(c->blocked_batch_id, s.blocked_id, CT_UUID_LEN);
			unblock(c);
			if (c->blocked_batch)
				break;
			continue;
		}
		if (n < s.max)
			break;       /* reached the end of pending */
	}
	free(s.ids);
	free(s.seqs);
}

/* ------------------------------------------------------------ resends */

/* Sends one batch of re-sends; returns a fresh array, NULL when the link
 * refused (the events stay in the window, re-sent at the next timeout). */
static json_t *
resend_batch(struct cw *c, json_t *batch)
{
	size_t k = json_array_size(batch);

	if (cw_send(c, "event_batch", cm_event_batch_payload(batch)) != 0)
		return NULL;
	c->events_resent += k;
	return json_array();
}

void
cw_resend_expired(struct cw *c)
{
	int64_t now = ct_now_ms_mono(), limit = (int64_t)c->ack_timeout * 1000;
	uint64_t *seqs;
	unsigned n = 0;
	json_t *batch;

	if (c->link != CW_UP || c->fl.n == 0 || c->send_blocked || c->st == NULL)
		return;
	if ((seqs = malloc(CW_RESEND_MAX * sizeof(*seqs))) == NULL)
		return;
	for (uint32_t i = 0; i < c->fl.cap && n < CW_RESEND_MAX; i++)
		if (c->fl.slots[i].used && now - c->fl.slots[i].sent_ms >= limit)
			seqs[n++] = c->fl.slots[i].seq;
	batch = json_array();
	for (unsigned i = 0; i < n && batch != NULL; i++) {
		struct ct_event ev;
		struct store_sync sy;
		char gid[CT_DEVICE_ID_MAX * 2];

		if (store_event_get(c->st, seqs[i], &ev, &sy) != STORE_OK) {
			/* pruned: nothing to wait for; the slot is found by seq */
			for (uint32_t k = 0; k < c->fl.cap; k++)
				if (c->fl.slots[k].used && c->fl.slots[k].seq == seqs[i]) {
					cwf_remove(&c->fl, c->fl.slots[k].id, NULL);
					break;
				}
			continue;
		}
		cwf_remove(&c->fl, ev.local_id, NULL);
		if (sy.status != SYNC_PENDING)
			continue;        /* answered meanwhile */
		global_id(c, ev.device_id, gid, sizeof(gid));
		json_array_append_new(batch, cm_event_payload(&ev, gid));
		cwf_add(&c->fl, ev.local_id, ev.seq, now);
		if (json_array_size(batch) >= (size_t)c->batch_size)
			batch = resend_batch(c, batch);
	}
	if (batch != NULL && json_array_size(batch) > 0)
		batch = resend_batch(c, batch);
	json_decref(batch);
	if (n > 0)
		log_info("re-sent %u events unanswered for %d s", n, c->ack_timeout);
	free(seqs);
}
