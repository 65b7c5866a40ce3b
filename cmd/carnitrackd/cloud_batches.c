/*
 * Offline batches told to the cloud. The store's batch records are the
 * truth: a batch the cloud must hear of is closed (the link came back) and
 * not yet reported (its `reported` bits). A transport that reports a batch
 * before its events (CW_TP_BATCH_FIRST: WebSocket offline_batch_start/end
 * with the store's exact counts) gets every closed, unreported batch
 * through batch_closed(), and the stream (cloud_outbox.c) holds that
 * batch's events back until then. Otherwise a closed batch goes to
 * batch_delivered() once every event of it has its result (the store's
 * unacked count is 0: REST's offline-batches/ack), on the same passes (link
 * up, WORK_READY batches). Either way BATCH_REPORTED tells the store.
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

static int
batch_cb(const struct store_batch *b, void *arg)
{
	struct batch_pass *p = arg;

	if (b->state == BATCH_OPEN || (b->reported & CT_BATCH_END_SENT))
		return 0;
	/* delivered: every event answered (the store's count) */
	if (!p->first && (b->unacked != 0 || p->c->tp_ops->batch_delivered == NULL))
		return 0;
	if (cw_batch_is_reported(p->c, b->id))
		return 0;
	p->todo[p->n++] = *b;
	return p->n >= ANNOUNCE_MAX ? 1 : 0;
}

/* One batch to the transport; false when it took nothing (try again on the
 * next pass). */
static bool
report_one(struct cw *c, const struct store_batch *b, bool first)
{
	struct cm_batch m = { .device_id = b->device_id, .started_at_ms = b->started_at_ms,
	    .ended_at_ms = b->ended_at_ms, .event_count = b->event_count,
	    .total_weight_g = b->total_weight_g, .clock_adjusted = b->clock != 0 };
	char id[CT_UUID_STR];
	uint8_t what = 0;

	memcpy(m.batch_id, b->id, CT_UUID_LEN);
	if (first ? c->tp_ops->batch_closed(c->tp, &m, b->reported, &what) != 0 :
	    c->tp_ops->batch_delivered(c->tp, &m) != 0)
		return false;
	if (!first)
		what = CT_BATCH_END_SENT;
	cw_send_batch_reported(c, b->id, what);
	mark_reported(c, b->id);
	c->batches_reported++;
	ct_uuid_fmt(b->id, id);
	log_info("offline batch %s of %s reported: %u events, %lld g", id, b->device_id,
	    b->event_count, (long long)b->total_weight_g);
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
