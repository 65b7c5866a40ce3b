/*
 * The group commit of one loop turn: every queued operation goes into one
 * write transaction, committed with sync; only then do EVENT_STORED (ingest)
 * and WORK_READY (cloud) leave. When the store is at its high-water mark the
 * events are refused (EVENT_REFUSED store_full) but acks, rejects and the
 * rest still commit: they are what frees space. Should LMDB itself fail the
 * transaction, it is redone without the events, which are then refused.
 *
 * Cloud-driven state over its quota (STORE_QUOTA) or a PLU over its row
 * limit is refused, counted and logged at most every 10 s; sessions of
 * scales this edge does not know are held, not stored (store_held.c).
 */
#include "store_worker.h"

#include <stdlib.h>
#include <string.h>

#include "ipc/pack.h"
#include "log/log.h"

static int
log_closed(const struct store_batch *b, void *arg)
{
	char id[CT_UUID_STR];

	ct_uuid_fmt(b->id, id);
	log_info("offline batch %s of %s closed: %u events, %lld g", id, b->device_id,
	    b->event_count, (long long)b->total_weight_g);
	if (b->clock != 0)
		log_warn("offline batch %s of %s: the wall clock was stepped during the outage; "
		    "%s%s%s from the monotonic clock (clockAdjusted)", id, b->device_id,
		    b->clock & STORE_BATCH_CLOCK_START ? "startedAt" : "",
		    b->clock == (STORE_BATCH_CLOCK_START | STORE_BATCH_CLOCK_END) ? " and " : "",
		    b->clock & STORE_BATCH_CLOCK_END ? "endedAt" : "");
	return 0;
}

static void
note_quota(struct sw *s)
{
	int64_t now = ct_now_ms();

	s->state_refused++;
	if (now - s->quota_logged_ms < 10000) {
		s->quota_unlogged++;
		return;
	}
	log_warn("%s (%llu more refused since the last note)", store_errmsg(s->st),
	    (unsigned long long)s->quota_unlogged);
	s->quota_logged_ms = now;
	s->quota_unlogged = 0;
}

/* Applies one op to the open txn; returns the CT_WORK_* flags it earns. */
static uint8_t
apply(struct sw *s, struct sw_op *op, bool with_events)
{
	char id[CT_UUID_STR];
	bool dup = false;
	unsigned n = 0;
	int e = STORE_OK;

	switch (op->kind) {
	case OP_EVENT:
		if (!with_events) {
			op->result = STORE_FULL;
			return 0;
		}
		/* the scale is seen now: a session held for it tags this event */
		(void)sw_held_apply(s, op->u.ev.device_id);
		/* a quarantined line is kept like an event, but for nobody
		 * to send: no work for cloud */
		if (op->u.ev.kind == CT_EV_QUARANTINED)
			e = store_put_quarantine(s->st, &op->u.ev, &dup);
		else
			e = store_put_event(s->st, &op->u.ev, s->link_up, &dup);
		if (e == STORE_OK && dup)
			s->events_dup++;
		if (e == STORE_OK && !dup)
			s->pass_written++;
		if (e != STORE_OK && e != STORE_FULL)
			log_warn("event from %s: %s", op->u.ev.device_id, store_errmsg(s->st));
		op->result = e;
		return e == STORE_OK && !dup &&
		    op->u.ev.kind == CT_EV_WEIGHING ? CT_WORK_EVENTS : 0;
	case OP_BAD_EVENT:
		op->result = STORE_INVAL;
		return 0;
	case OP_ACK:
		e =
		    store_ack(s->st, op->u.ack.id, (enum ct_ack)op->u.ack.status,
		    op->u.ack.cloud_id);
		break;
	case OP_REJECT:
		e = store_reject(s->st, op->u.rej.id, op->u.rej.reason);
		if (e == STORE_OK) {
			ct_uuid_fmt(op->u.rej.id, id);
			log_warn("event %s rejected by the cloud: %s", id, op->u.rej.reason);
		}
		break;
	case OP_SESSION:
		if (sw_held_wants(s, &op->u.sess)) {
			sw_held_session(s, &op->u.sess);
			op->result = STORE_OK;
			return 0;
		}
		e = store_session_apply(s->st, &op->u.sess);
		break;
	case OP_DEVICE:
		e = store_device_apply(s->st, &op->u.dev);
		if (e == STORE_OK)
			(void)sw_held_apply(s, op->u.dev.device_id);
		else if (e == STORE_QUOTA)
			note_quota(s);
		else
			log_warn("%s", store_errmsg(s->st));
		op->result = e;
		return e == STORE_OK ? CT_WORK_DEVICES : 0;
	case OP_PLU:
		e = store_plu_put(s->st, op->u.plu.code, op->u.plu.json);
		if (e == STORE_INVAL) {      /* over the row limit: a flood logs like one */
			op->result = e;
			note_quota(s);
			return 0;
		}
		break;
	case OP_IDENTITY:
		e = store_identity_put(s->st, op->u.ident.edge_id, op->u.ident.site_id,
		    op->u.ident.site_name);
		if (e == STORE_OK)
			e = store_identity_source_put(s->st, op->u.ident.source);
		break;
	case OP_BATCH_REPORTED:
		e = store_batch_reported(s->st, op->u.br.id, op->u.br.what);
		break;
	case OP_IDENTITY_RESET:
		/* carnitrackctl identity --reset: nothing left but who cleared it;
		 * the cloud worker re-reads it and registers afresh */
		e = store_identity_put(s->st, "", "", "");
		if (e == STORE_OK)
			e = store_identity_source_put(s->st, "reset by carnitrackctl");
		op->result = e;
		if (e == STORE_OK)
			log_warn("edge identity cleared (carnitrackctl identity --reset)");
		else
			log_warn("%s", store_errmsg(s->st));
		return e == STORE_OK ? CT_WORK_IDENTITY : 0;
	case OP_LINK:
		s->link_up = op->u.link.up;
		e = store_link_put(s->st, s->link_up);
		if (e == STORE_OK && s->link_up)
			e = store_close_open_batches(s->st, log_closed, NULL, &n);
		op->result = e;
		return s->link_up ? CT_WORK_BATCHES | CT_WORK_EVENTS : 0;
	}
	op->result = e;
	if (e == STORE_NOTFOUND)
		log_info("%s", store_errmsg(s->st));    /* late or unknown: harmless */
	else if (e == STORE_QUOTA)
		note_quota(s);
	else if (e != STORE_OK)
		log_warn("%s", store_errmsg(s->st));
	return 0;
}

int
sw_commit(struct sw *s)
{
	int e = store_commit(s->st);

	if (e == STORE_OK)
		hist_observe(&s->commit_hist, store_last_commit_ms(s->st) / 1000);
	return e;
}

/* Stage stamps of the events and acks in this pass (util/trace.h). */
static void
stamp(struct sw *s, bool committed)
{
	for (size_t i = 0; i < s->nops; i++) {
		const struct sw_op *op = s->ops[i];

		if (op->kind == OP_EVENT)
			ct_trace(committed ? CT_ST_STORE_COMMITTED : CT_ST_STORE_BEGIN,
			    op->u.ev.local_id);
		else if (op->kind == OP_ACK || op->kind == OP_REJECT)
			ct_trace(committed ? CT_ST_STORE_ACK_COMMITTED : CT_ST_STORE_ACK_BEGIN,
			    op->kind == OP_ACK ? op->u.ack.id : op->u.rej.id);
	}
}

/* One pass over the queue in a fresh txn. */
static int
pass(struct sw *s, bool with_events, uint8_t *flags)
{
	int e;

	*flags = 0;
	s->pass_written = 0;
	if ((e = store_begin(s->st, ct_now_ms())) != STORE_OK) {
		if (s->commit_err_since_ms == 0)
			log_err("store: %s", store_errmsg(s->st));
		return e;
	}
	if (ct_trace_on())
		stamp(s, false);
	for (size_t i = 0; i < s->nops; i++)
		*flags |= apply(s, s->ops[i], with_events);
	/* an answer completed a closed batch: REST reports it now */
	if (store_take_batch_answered(s->st))
		*flags |= CT_WORK_BATCHES;
	e = sw_commit(s);
	sw_held_settle(s, e == STORE_OK);
	if (e != STORE_OK) {
		s->commit_failures++;
		/* said once when it starts (sw_commit_failed), not every retry */
		if (s->commit_err_since_ms == 0 || e == STORE_FULL)
			log_err("store commit of %zu operations failed: %s", s->nops,
			    store_errmsg(s->st));
		else
			log_debug("store commit of %zu operations failed: %s", s->nops,
			    store_errmsg(s->st));
		return e;
	}
	s->commits++;
	if (ct_trace_on())
		stamp(s, true);
	return STORE_OK;
}

static void
send_ids(struct sw *s, uint16_t type, uint16_t reason, const char *text, int want)
{
	static uint8_t buf[CT_FRAME_MAX_PAYLOAD];
	struct pack pk;
	size_t off = 0, i = 0;
	uint16_t n = 0;

	for (;;) {
		if (n == 0) {
			pack_init(&pk, buf, sizeof(buf));
			if (type == CT_MSG_EVENT_REFUSED) {
				pack_u16(&pk, reason);
				pack_str(&pk, text);
			}
			off = pack_reserve_u16(&pk);
		}
		for (; i < s->nops; i++) {
			struct sw_op *op = s->ops[i];
			bool match = (op->kind == OP_EVENT || op->kind == OP_BAD_EVENT) &&
			    (want == STORE_OK ? op->result == STORE_OK :
			     want == STORE_ERR ? op->result != STORE_OK &&
			         op->result != STORE_FULL &&
			         op->result != STORE_INVAL : op->result == want);

			if (!match)
				continue;
			if (pk.len + CT_UUID_LEN > sizeof(buf))
				break;
			pack_bytes(&pk, op->u.ev.local_id, CT_UUID_LEN);
			n++;
		}
		if (n > 0) {
			pack_put_u16_at(&pk, off, n);
			/* with ingest down they go nowhere: a new ingest has no queue,
			 * and its scales got no OK (messages.def, who re-sends) */
			if (!worker_peer_up(s->w, P_INGEST))
				return;
			if (worker_send(s->w, type, 0, buf, pk.len) != 0) {
				/* ingest resends what it did not hear about */
				s->send_failures++;
				log_warn("%s of %u events not sent: channel full",
				    ct_msg_name(type), n);
			}
			n = 0;
		}
		if (i >= s->nops)
			return;
	}
}

void
sw_send_work_ready(struct sw *s, uint8_t flags)
{
	/* a cloud worker that is down reads the store when it is back, and
	 * gets WORK_READY(all) on its PEER_UP */
	if (!worker_peer_up(s->w, P_CLOUD))
		return;
	if (worker_send(s->w, CT_MSG_WORK_READY, 0, &flags, sizeof(flags)) != 0) {
		s->send_failures++;
		log_warn("WORK_READY not sent: channel full");
	}
}

/* The answers to identity resets, once their transaction is decided. */
static void
reply_resets(struct sw *s, bool committed)
{
	for (size_t i = 0; i < s->nops; i++) {
		struct sw_op *op = s->ops[i];
		uint8_t buf[300];
		struct pack pk;
		bool ok = committed && op->result == STORE_OK;

		if (op->kind != OP_IDENTITY_RESET)
			continue;
		pack_init(&pk, buf, sizeof(buf));
		pack_u8(&pk, ok ? 1 : 0);
		pack_str(&pk,
		    ok ? "" : committed ? "store refused the change" : "store commit failed");
		if (worker_send(s->w, CT_MSG_IDENTITY_RESET_DONE, op->u.reset_id, buf, pk.len) != 0)
			log_warn("IDENTITY_RESET_DONE not sent: channel full");
	}
}

static void
note_full(struct sw *s)
{
	bool full = store_is_full(s->st);

	if (full && s->full_since_ms == 0) {
		s->full_since_ms = ct_now_ms();
		log_warn("store full: refusing new events until acknowledged events are pruned");
	} else if (!full && s->full_since_ms != 0) {
		s->full_since_ms = 0;
		log_info("store has room again: accepting events");
	}
}

void
sw_commit_failed(struct sw *s, unsigned waiting)
{
	const char *why = store_os_error(s->st);

	snprintf(s->commit_err, sizeof(s->commit_err), "%s", why != NULL ? why : "unknown error");
	snprintf(s->commit_err_detail, sizeof(s->commit_err_detail), "%s", store_errmsg(s->st));
	if (waiting > 0 || s->commit_err_since_ms == 0)
		s->commit_waiting = waiting;
	if (s->commit_err_since_ms != 0)
		return;
	s->commit_err_since_ms = ct_now_ms();
	log_err("store cannot commit: %s (%s); scales get no OK until it can, %u events waiting;"
	    " trying again every second", s->commit_err, s->commit_err_detail, waiting);
}

void
sw_commit_worked(struct sw *s)
{
	if (s->commit_err_since_ms == 0)
		return;
	log_info("store commits again after %lld s without (%s)",
	    (long long)((ct_now_ms() - s->commit_err_since_ms) / 1000), s->commit_err);
	s->commit_err_since_ms = 0;
	s->commit_err[0] = s->commit_err_detail[0] = '\0';
	s->commit_waiting = 0;
}

void
sw_flush(struct sw *s)
{
	bool link_before = s->link_up, had_events = false, committed;
	unsigned events = 0, written;
	uint8_t flags = 0;
	int e;

	if (s->nops == 0 || s->st == NULL)
		return;
	for (size_t i = 0; i < s->nops; i++)
		events += s->ops[i]->kind == OP_EVENT;
	had_events = events > 0;
	e = pass(s, true, &flags);
	committed = e == STORE_OK;
	written = s->pass_written;
	/* the map limit is store_full; anything else is the disk or the OS */
	if (e != STORE_OK && e != STORE_FULL)
		sw_commit_failed(s, events);
	if (e != STORE_OK && had_events) {
		/* redo the rest without the events: acks and prunes are what free space */
		s->link_up = link_before;
		if (pass(s, false, &flags) != STORE_OK) {
			s->link_up = link_before;
			flags = 0;
		} else {
			committed = true;
		}
		for (size_t i = 0; i < s->nops; i++)
			if (s->ops[i]->kind == OP_EVENT)
				s->ops[i]->result = e == STORE_FULL ? STORE_FULL : STORE_ERR;
	} else if (e != STORE_OK) {
		s->link_up = link_before;
		flags = 0;
	}

	for (size_t i = 0; i < s->nops; i++) {
		struct sw_op *op = s->ops[i];

		if (op->kind == OP_EVENT && op->result == STORE_OK &&
		    op->u.ev.kind == CT_EV_QUARANTINED)
			s->lines_quarantined++;
		else if (op->kind == OP_EVENT && op->result == STORE_OK)
			s->events_stored++;
		else if (op->kind == OP_EVENT || op->kind == OP_BAD_EVENT)
			s->events_refused++;
		else if (op->kind == OP_ACK && op->result == STORE_OK)
			s->acks++;
		else if (op->kind == OP_REJECT && op->result == STORE_OK)
			s->rejects++;
		else if ((op->kind == OP_ACK || op->kind == OP_REJECT) &&
		    op->result == STORE_NOTFOUND)
			s->acks_unknown++;
	}
	/* a commit that wrote an event proves the disk takes writes again (an
	 * empty one proves nothing: the tick's probe covers the rest) */
	if (e == STORE_OK && written > 0)
		sw_commit_worked(s);
	/* each call sends nothing when no event has that outcome */
	send_ids(s, CT_MSG_EVENT_STORED, 0, NULL, STORE_OK);
	send_ids(s, CT_MSG_EVENT_REFUSED, CT_REFUSE_STORE_FULL, "store full", STORE_FULL);
	send_ids(s, CT_MSG_EVENT_REFUSED, CT_REFUSE_STORE_ERROR, "store error", STORE_ERR);
	send_ids(s, CT_MSG_EVENT_REFUSED, CT_REFUSE_BAD_EVENT, "record does not decode",
	    STORE_INVAL);
	reply_resets(s, committed);
	if (flags != 0)
		sw_send_work_ready(s, flags);
	note_full(s);

	for (size_t i = 0; i < s->nops; i++)
		sw_op_free(s->ops[i]);
	s->nops = 0;
}
