/*
 * Offline batches told to the cloud. The store's batch records are the
 * truth: a batch the cloud must hear of is closed (the link came back) and
 * not yet reported (its `reported` bits). A transport that reports a batch
 * before its events (CW_TP_BATCH_FIRST: WebSocket offline_batch_start/end
 * with the store's exact counts) gets every closed, unreported batch
 * through batch_closed(), and the stream (cloud_outbox.c) holds that
 * batch's events back until then. Otherwise a closed batch is acknowledged
 * once every event of it has its result (the store's unacked count is 0:
 * REST's offline-batches/ack), on the same passes (link up, WORK_READY
 * batches, which the store sends when a closed batch's last answer came):
 * its event ids are read from the store in parts of CW_ACK_PART (a bounded
 * read, store_batch_events), one part at a time to batch_delivered(), the
 * next after the cloud confirmed the last; CW_ACKS_MAX batches at once. It
 * counts as reported only when the cloud confirmed its last part; a
 * failure is tried again after CW_ACK_RETRY_S, from the first part (the
 * cloud's ACK is idempotent). Either way BATCH_REPORTED tells the store.
 *
 * The store commits BATCH_REPORTED a little later, so the batches reported
 * meanwhile are remembered in a ring (CW_REPORTED_RING): by the time an
 * entry is overwritten the store has long committed it, and its record is
 * checked too.
 */
#include "cloud_worker.h"

#include <string.h>

#include "log/log.h"

#define ANNOUNCE_MAX 256     /* batches reported per pass; the next pass takes the rest */

bool
cw_batch_is_reported(struct cw *c, const uint8_t id[CT_UUID_LEN])
{
	for (unsigned i = 0; i < c->nreported; i++)
		if (memcmp(c->reported[i], id, CT_UUID_LEN) == 0)
			return true;
	return false;
}

static void
mark_reported(struct cw *c, const uint8_t id[CT_UUID_LEN])
{
	if (cw_batch_is_reported(c, id))
		return;
	memcpy(c->reported[c->reported_next], id, CT_UUID_LEN);
	c->reported_next = (c->reported_next + 1) % CW_REPORTED_RING;
	if (c->nreported < CW_REPORTED_RING)
		c->nreported++;
}

struct batch_pass {
	struct cw         *c;
	bool               first;        /* CW_TP_BATCH_FIRST */
	struct store_batch todo[ANNOUNCE_MAX];
	unsigned           n;
};

static struct cw_ack *
ack_find(struct cw *c, const uint8_t id[CT_UUID_LEN])
{
	for (int i = 0; i < CW_ACKS_MAX; i++)
		if (c->acks[i].used && memcmp(c->acks[i].b.id, id, CT_UUID_LEN) == 0)
			return &c->acks[i];
	return NULL;
}

static int
batch_cb(const struct store_batch *b, void *arg)
{
	struct batch_pass *p = arg;

	if (b->state == BATCH_OPEN || (b->reported & CT_BATCH_END_SENT))
		return 0;
	/* delivered: every event answered (the store's count) */
	if (!p->first && (b->unacked != 0 || p->c->tp_ops->batch_delivered == NULL ||
	    ack_find(p->c, b->id) != NULL))
		return 0;
	if (cw_batch_is_reported(p->c, b->id))
		return 0;
	p->todo[p->n++] = *b;
	return p->n >= ANNOUNCE_MAX ? 1 : 0;
}

static struct cm_batch
cm_batch_of(const struct store_batch *b)
{
	struct cm_batch m = { .device_id = b->device_id, .started_at_ms = b->started_at_ms,
	    .ended_at_ms = b->ended_at_ms, .event_count = b->event_count,
	    .total_weight_g = b->total_weight_g, .clock_adjusted = b->clock != 0 };

	memcpy(m.batch_id, b->id, CT_UUID_LEN);
	return m;
}

static void
reported(struct cw *c, const struct store_batch *b, uint8_t what, unsigned parts)
{
	char id[CT_UUID_STR];

	cw_send_batch_reported(c, b->id, what);
	mark_reported(c, b->id);
	c->batches_reported++;
	ct_uuid_fmt(b->id, id);
	log_info("offline batch %s of %s %s: %u events, %lld g%s", id, b->device_id,
	    parts > 0 ? "acknowledged" : "reported", b->event_count,
	    (long long)b->total_weight_g, parts > 1 ? " (in parts)" : "");
}

/* The next part of an acknowledgement: its ids read from the store (each
 * read bounded), handed to the transport. false: nothing went. */
static bool
send_part(struct cw *c, struct cw_ack *a)
{
	static uint8_t ids[CW_ACK_PART][CT_UUID_LEN];     /* 80 KiB: not on the stack */
	struct cw_batch_ack m = { .batch = cm_batch_of(&a->b), .ids = ids };
	unsigned n = 0, got;
	bool done = false;
	int e;

	while (n < CW_ACK_PART && !done) {
		e = store_batch_events(c->st, a->b.id, &a->pos, CW_ACK_PART - n, ids + n, &got,
		    &done);
		if (e == STORE_NOTFOUND)
			break;           /* pruned meanwhile: what was read is all there is */
		if (e != STORE_OK) {
			log_warn("reading offline batch events: %s", store_errmsg(c->st));
			return false;
		}
		n += got;
	}
	/* the store's count said otherwise (events pruned, say): parts follow
	 * what is there */
	if ((done || n < CW_ACK_PART) && a->part < a->parts)
		a->parts = a->part;
	else if (!done && n == CW_ACK_PART && a->part == a->parts)
		a->parts++;
	m.nids = n;
	m.part = a->part;
	m.parts = a->parts;
	return c->tp_ops->batch_delivered(c->tp, &m) == 0;
}

static void
ack_failed(struct cw *c, struct cw_ack *a, const char *what)
{
	char id[CT_UUID_STR];

	ct_uuid_fmt(a->b.id, id);
	c->ack_failures++;
	a->used = false;
	c->acks_retry_ms = ct_now_ms_mono() + CW_ACK_RETRY_S * 1000;
	log_info("acknowledgement of offline batch %s (part %u of %u) %s: again in %d s", id,
	    a->part, a->parts, what, CW_ACK_RETRY_S);
}

/* A delivered batch's acknowledgement starts; false: not now. */
static bool
ack_start(struct cw *c, const struct store_batch *b)
{
	struct cw_ack *a = NULL;

	if (ct_now_ms_mono() < c->acks_retry_ms)
		return false;
	for (int i = 0; i < CW_ACKS_MAX && a == NULL; i++)
		if (!c->acks[i].used)
			a = &c->acks[i];
	if (a == NULL)
		return false;            /* the next starts when one is done */
	*a = (struct cw_ack){ .used = true, .b = *b, .part = 1,
	    .parts = b->event_count > CW_ACK_PART ?
	    (b->event_count + CW_ACK_PART - 1) / CW_ACK_PART : 1 };
	if (!send_part(c, a)) {
		a->used = false;
		return false;
	}
	return true;
}

void
cw_batch_acked(struct cw *c, const uint8_t id[CT_UUID_LEN], unsigned part, bool ok)
{
	struct cw_ack *a = ack_find(c, id);

	if (a == NULL || a->part != part)
		return;
	if (!ok) {
		ack_failed(c, a, "not confirmed by the cloud");
		return;
	}
	c->ack_parts++;
	if (a->part < a->parts) {
		a->part++;
		if (!send_part(c, a))
			ack_failed(c, a, "not sent");
		return;
	}
	reported(c, &a->b, CT_BATCH_END_SENT, a->parts);
	a->used = false;
	cw_report_batches(c);        /* the next waiting one */
}

void
cw_batches_tick(struct cw *c)
{
	if (c->acks_retry_ms == 0 || ct_now_ms_mono() < c->acks_retry_ms)
		return;
	c->acks_retry_ms = 0;
	cw_report_batches(c);
}

/* One batch to the transport; false when it took nothing (try again on the
 * next pass). */
static bool
report_one(struct cw *c, const struct store_batch *b, bool first)
{
	struct cm_batch m = cm_batch_of(b);
	uint8_t what = 0;

	if (!first)
		return ack_start(c, b);
	if (c->tp_ops->batch_closed(c->tp, &m, b->reported, &what) != 0)
		return false;
	reported(c, b, what, 0);
	return true;
}

void
cw_report_batches(struct cw *c)
{
	static struct batch_pass p;   /* ~60 KiB: not on the stack */

	if (c->link != CW_UP || !cw_open_store(c))
		return;
	p.first = (c->tp_ops->flags & CW_TP_BATCH_FIRST) != 0;
	do {
		p.c = c;
		p.n = 0;
		if (store_batches_iter(c->st, batch_cb, &p) != STORE_OK) {
			log_warn("reading batches: %s", store_errmsg(c->st));
			return;
		}
		for (unsigned i = 0; i < p.n; i++)
			if (!report_one(c, &p.todo[i], p.first))
				return;
	} while (p.n == ANNOUNCE_MAX);
}

/* The stream stopped at an event of batch id: reported since (by us or,
 * as the store's record says, before a restart), closed now so that it
 * can be, or without a record at all? */
bool
cw_batch_unblock(struct cw *c, const uint8_t id[CT_UUID_LEN])
{
	struct store_batch b;
	int e = store_batch_get(c->st, id, &b);

	if (e == STORE_NOTFOUND) {
		/* No record to report (pruned, or never written): holding its
		 * events back would hold them forever. */
		char s[CT_UUID_STR];
		ct_uuid_fmt(id, s);
		log_warn("offline batch %s has no record in the store; sending its events "
		    "unreported", s);
		mark_reported(c, id);
		return true;
	}
	if (e != STORE_OK)
		return false;
	if (b.reported & CT_BATCH_END_SENT) {
		mark_reported(c, b.id);
		return true;
	}
	if (b.state != BATCH_OPEN) {
		cw_report_batches(c);
		return cw_batch_is_reported(c, id);
	}
	return false;
}
