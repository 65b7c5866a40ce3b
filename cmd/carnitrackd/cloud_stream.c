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

/* One slice: events read in one short read transaction, their text joined
 * by commas in c->body (ends[i] is where event i's text ends). */
struct slice {
	struct cw *c;
	uint8_t  (*ids)[CT_UUID_LEN];
	uint64_t  *seqs;
	size_t    *ends;
	unsigned   n, max;
	bool       offline;      /* any offline event in this slice */
	bool       blocked;
	uint8_t    blocked_id[CT_UUID_LEN];
	uint64_t   next_cursor;
};

/* One rule for events and device_* messages alike, so the cloud sees one
 * name per scale, and it follows a change of the configured site_id. */
void
cw_global_id(const struct cw *c, const char *device, char *out, size_t cap)
{
	cm_global_device_id(cw_site_id(c), device, out, cap);
}

static void
add_event(struct cw *c, const struct ct_event *ev)
{
	char gid[CT_DEVICE_ID_MAX * 2];

	cw_global_id(c, ev->device_id, gid, sizeof(gid));
	if (c->body.len > 0)
		cm_buf_raw(&c->body, ",");
	cm_buf_event(&c->body, ev, gid);
}

static int
collect_cb(const struct ct_event *ev, const struct store_sync *sy, void *arg)
{
	struct slice *s = arg;
	struct cw *c = s->c;

	if ((sy != NULL && sy->status != SYNC_PENDING) || cwf_has(&c->fl, ev->local_id)) {
		s->next_cursor = ev->seq + 1;
		return 0;
	}
	if (!ct_uuid_is_nil(ev->offline_batch_id) && !cw_batch_is_reported(c, ev->offline_batch_id)) {
		s->blocked = true;
		memcpy(s->blocked_id, ev->offline_batch_id, CT_UUID_LEN);
		return 1;
	}
	add_event(c, ev);
	if (c->body.oom)
		return 1;        /* out of memory: the slice is dropped, read again later */
	memcpy(s->ids[s->n], ev->local_id, CT_UUID_LEN);
	s->seqs[s->n] = ev->seq;
	s->ends[s->n] = c->body.len;
	s->n++;
	s->offline |= ev->offline;
	s->next_cursor = ev->seq + 1;
	return s->n >= s->max ? 1 : 0;
}

/* The message around c->body[from, to): one event, or an event_batch. */
static int
send_events(struct cw *c, const char *type, size_t from, size_t to)
{
	bool batch = strcmp(type, "event_batch") == 0;

	cm_buf_reset(&c->msg);
	cm_buf_open(&c->msg, type, c->edge_id);
	if (batch)
		cm_buf_raw(&c->msg, "{\"events\":[");
	cm_buf_rawn(&c->msg, c->body.p + from, to - from);
	if (batch)
		cm_buf_raw(&c->msg, "]}");
	cm_buf_close(&c->msg);
	if (c->msg.oom) {
		log_err("out of memory encoding a %s message", type);
		return -1;
	}
	return cw_send_text(c, c->msg.p, c->msg.len);
}

/* Sends the slice's events: singly when few and live, else as one
 * event_batch. Returns how many went out. */
static unsigned
send_slice(struct cw *c, struct slice *s)
{
	int64_t now = ct_now_ms_mono();
	unsigned sent = 0;

	if (s->n == 0 || c->body.oom)
		return 0;
	if (s->n <= CW_LIVE_MAX && !s->offline) {
		for (unsigned i = 0; i < s->n; i++) {
			size_t from = i == 0 ? 0 : s->ends[i - 1] + 1;   /* past the comma */
			if (send_events(c, "event", from, s->ends[i]) != 0)
				break;
			cwf_add(&c->fl, s->ids[i], s->seqs[i], now);
			sent++;
		}
	} else if (send_events(c, "event_batch", 0, c->body.len) == 0) {
		for (unsigned i = 0; i < s->n; i++)
			cwf_add(&c->fl, s->ids[i], s->seqs[i], now);
		sent = s->n;
	}
	c->events_sent += sent;
	return sent;
}

/* Reports the batch the stream stopped at, if store has closed it. */
static void
unblock(struct cw *c)
{
	struct store_batch b;

	int e;

	if (!c->blocked_batch)
		return;
	e = store_batch_get(c->st, c->blocked_batch_id, &b);
	if (e == STORE_NOTFOUND) {
		/* No record to report (pruned, or never written): holding its
		 * events back would hold them forever. */
		char id[CT_UUID_STR];
		ct_uuid_fmt(c->blocked_batch_id, id);
		log_warn("offline batch %s has no record in the store; sending its events unreported", id);
		cw_batch_mark_reported(c, c->blocked_batch_id);
		c->blocked_batch = false;
		return;
	}
	if (e != STORE_OK)
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
	s.ends = malloc(max * sizeof(*s.ends));
	if (s.ids == NULL || s.seqs == NULL || s.ends == NULL) {
		free(s.ids);
		free(s.seqs);
		free(s.ends);
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
		cm_buf_reset(&c->body);
		e = store_pending_iter(c->st, c->cursor, s.max, collect_cb, &s);
		if (e != STORE_OK && e != STORE_NOTFOUND) {
			log_warn("reading pending events: %s", store_errmsg(c->st));
			break;
		}
		if (c->body.oom) {
			log_err("out of memory encoding events");
			break;
		}
		unsigned n = s.n, sent = send_slice(c, &s);
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
	free(s.ends);
}

/* ------------------------------------------------------------ resends */

void
cw_resend_expired(struct cw *c)
{
	int64_t now = ct_now_ms_mono(), limit = (int64_t)c->ack_timeout * 1000;
	uint64_t *seqs;
	unsigned n = 0, k = 0, resent = 0;

	if (c->link != CW_UP || c->fl.n == 0 || c->send_blocked || c->st == NULL)
		return;
	if ((seqs = malloc(CW_RESEND_MAX * sizeof(*seqs))) == NULL)
		return;
	for (uint32_t i = 0; i < c->fl.cap && n < CW_RESEND_MAX; i++)
		if (c->fl.slots[i].used && now - c->fl.slots[i].sent_ms >= limit)
			seqs[n++] = c->fl.slots[i].seq;
	cm_buf_reset(&c->body);
	for (unsigned i = 0; i < n; i++) {
		struct ct_event ev;
		struct store_sync sy;

		if (store_event_get(c->st, seqs[i], &ev, &sy) != STORE_OK) {
			/* pruned: nothing to wait for; the slot is found by seq */
			for (uint32_t j = 0; j < c->fl.cap; j++)
				if (c->fl.slots[j].used && c->fl.slots[j].seq == seqs[i]) {
					cwf_remove(&c->fl, c->fl.slots[j].id, NULL);
					break;
				}
			continue;
		}
		cwf_remove(&c->fl, ev.local_id, NULL);
		if (sy.status != SYNC_PENDING)
			continue;        /* answered meanwhile */
		add_event(c, &ev);
		cwf_add(&c->fl, ev.local_id, ev.seq, now);
		k++;
		if (k == (unsigned)c->batch_size || (i + 1 == n)) {
			/* A refused send leaves them in the window with a fresh
			 * time: they go again at the next timeout. */
			if (send_events(c, "event_batch", 0, c->body.len) != 0)
				break;
			resent += k;
			k = 0;
			cm_buf_reset(&c->body);
		}
	}
	if (k > 0 && send_events(c, "event_batch", 0, c->body.len) == 0)
		resent += k;
	c->events_resent += resent;
	if (n > 0)
		log_info("re-sent %u events unanswered for %d s", resent, c->ack_timeout);
	free(seqs);
}
