/*
 * The ingest worker: owns the scale port (ingest_conn.c) and talks to store.
 *
 * Every record becomes an event with its own localEventId, queued until
 * store confirms it (EVENT_STORED). Events of one loop turn go out together
 * in as few EVENT frames as fit (a deferred flush). Unconfirmed events are
 * sent again when store comes back (PEER_UP), when they have waited
 * INGEST_RESEND_MS (a frame can be dropped on the way), and after store
 * refused them for being full; store dedupes by id, so resending is safe.
 * An OK goes to a scale only when dp401_ack says all its records before the
 * request are confirmed. Nothing is dropped: at INGEST_QUEUE_HIGH events the
 * scale sockets stop being read and TCP pushes back on the scales.
 */
#include "ingest.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "ipc/pack.h"
#include "log/log.h"

#define TICK_MS            1000
#define SHUTDOWN_WAIT_MS   3000
#define SHUTDOWN_POLL_MS   50
#define PAUSE_LOG_EVERY_MS 5000   /* pausing flaps every ~10 ms under load */

static struct event *shutdown_ev;
static int64_t shutdown_deadline;

int64_t
ingest_mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

const struct ct_conf *
ingest_conf(struct ingest *in)
{
	return worker_conf(in->w);
}

/* ---- to store ---- */

void
ingest_device_frame(struct ingest *in, enum ct_device_change kind, const char *device_id,
    const struct conn *c, const char *reason)
{
	const struct ct_conf *conf = ingest_conf(in);
	const struct ct_scale_conf *sc = conf != NULL ? conf_scale_by_id(conf, device_id) : NULL;
	struct device *d = device_get(in, device_id, false);
	uint8_t buf[1024];
	struct pack pk;

	/* Not delivered: the device's state is told again on PEER_UP. */
	if (d != NULL)
		d->unreported = true;
	if (!worker_peer_up(in->w, P_STORE))
		return;
	pack_init(&pk, buf, sizeof(buf));
	pack_u8(&pk, (uint8_t)kind);
	pack_str(&pk, device_id);
	pack_str(&pk, c != NULL ? c->ip : "");
	pack_str(&pk, sc != NULL && sc->device_type[0] != '\0' ? sc->device_type : "disassembly");
	pack_str(&pk, reason != NULL ? reason : "");
	pack_u64(&pk, (uint64_t)ct_now_ms());
	pack_u32(&pk, c != NULL ? c->heartbeats : 0);
	if (!pack_ok(&pk)) {
		log_err("DEVICE frame for %s does not fit (bug)", device_id);
		return;
	}
	/* A lost device notice is corrected by the next one; events are what
	 * must never be lost, and they have their own resend. */
	if (worker_send(in->w, CT_MSG_DEVICE, 0, buf, pk.len) != 0) {
		log_warn("DEVICE change for %s not sent: channel to store full", device_id);
		return;
	}
	if (d != NULL)
		d->unreported = false;
}

/* For a store that has just (re)started: the connected scales again, and
 * the disconnects it missed while it was away. */
static void
announce_all(struct ingest *in)
{
	struct conn *c;

	TAILQ_FOREACH(c, &in->conns, link)
		if (c->id_kind != ID_NONE && c->dev != NULL && c->dev->conn == c)
			ingest_device_frame(in, CT_DEV_CONNECTED, c->device_id, c, "");
	for (int i = 0; i < in->ndevs; i++) {
		struct device *d = &in->devs[i];
		if (d->nconns == 0 && d->unreported)
			ingest_device_frame(in, CT_DEV_DISCONNECTED, d->id, NULL,
			    "disconnected while store was down");
	}
}

void
ingest_schedule_flush(struct ingest *in)
{
	if (in->flush_pending)
		return;
	in->flush_pending = true;
	event_active(in->flush_ev, EV_TIMEOUT, 0);
}

/* Packs unsent events, oldest first, into as few frames as they fit. */
static void
flush_cb(evutil_socket_t fd, short what, void *arg)
{
	struct ingest *in = arg;
	static uint8_t buf[CT_FRAME_MAX_PAYLOAD];
	struct qev *batch[CT_FRAME_MAX_PAYLOAD / 64], *e;
	int64_t now = ingest_mono_ms();
	struct pack pk;
	size_t countpos;
	unsigned n = 0;

	(void)fd;
	(void)what;
	in->flush_pending = false;
	if (!worker_peer_up(in->w, P_STORE) || now < in->refused_until)
		return;
	e = TAILQ_FIRST(&in->q.all);
	while (e != NULL) {
		n = 0;
		pack_init(&pk, buf, sizeof(buf));
		countpos = pack_reserve_u16(&pk);
		for (; e != NULL && n < sizeof(batch) / sizeof(batch[0]); e = TAILQ_NEXT(e, all)) {
			if (e->sent_ms != 0)
				continue;
			if (pk.len + 2 + e->enc_len > sizeof(buf))
				break;
			pack_blob(&pk, e->enc, e->enc_len);
			batch[n++] = e;
		}
		if (n == 0)
			break;
		pack_put_u16_at(&pk, countpos, (uint16_t)n);
		if (!pack_ok(&pk) || worker_send(in->w, CT_MSG_EVENT, 0, buf, pk.len) != 0) {
			/* Channel full: they stay unsent and are tried again soon. */
			struct timeval tv = { 0, INGEST_BLOCKED_MS * 1000 };
			in->c.send_blocked++;
			if (!evtimer_pending(in->flush_retry_ev, NULL))
				evtimer_add(in->flush_retry_ev, &tv);
			return;
		}
		in->c.frames_sent++;
		for (unsigned i = 0; i < n; i++) {
			if (batch[i]->sends++ > 0)
				in->c.events_resent++;
			else
				in->c.events_sent++;
			batch[i]->sent_ms = now;
		}
	}
}

static void
flush_retry_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	ingest_schedule_flush(arg);
}

static void
maybe_resume(struct ingest *in)
{
	if (in->paused && in->q.n < INGEST_QUEUE_LOW && !in->stopping) {
		log_flap_set(&in->pause_log, false, ingest_mono_ms(),
		    "%zu events unconfirmed: reading from scales again", in->q.n);
		conn_set_paused(in, false);
	}
}

void
ingest_event(struct ingest *in, struct conn *c, struct ct_event *ev)
{
	struct qev *e = queue_add(&in->q, ev);

	if (e == NULL) {
		/* Without a queue entry it could be acknowledged unstored: close,
		 * so the scale keeps it and sends it again later. */
		log_err("scale %s: cannot queue an event (out of memory); closing", c->device_id);
		conn_close(c, "out of memory", true);
		return;
	}
	e->conn = c;
	/* a quarantined line is counted like a record: the OK covers it */
	e->rec_no = dp401_ack_record(&c->ack);
	TAILQ_INSERT_TAIL(&c->evs, e, of_conn);
	if (ev->kind == CT_EV_QUARANTINED)
		in->c.quarantined++;
	else
		in->c.records++;
	if (in->q.n >= INGEST_QUEUE_HIGH && !in->paused) {
		in->c.paused_times++;
		log_flap_set(&in->pause_log, true, ingest_mono_ms(), "%zu events not yet confirmed"
		    " by store: no longer reading from scales", in->q.n);
		conn_set_paused(in, true);
	}
	ingest_schedule_flush(in);
}

/* ---- from store ---- */

static void
on_stored(struct ingest *in, const struct frame *f)
{
	const struct ct_conf *conf = ingest_conf(in);
	struct unpack u;
	uint8_t id[CT_UUID_LEN];
	uint16_t n;

	unpack_init(&u, f->payload, f->plen);
	n = unpack_u16(&u);
	for (uint16_t i = 0; i < n && unpack_ok(&u); i++) {
		unpack_bytes(&u, id, sizeof(id));
		if (!unpack_ok(&u))
			break;
		struct qev *e = queue_find(&in->q, id);
		if (e == NULL)
			continue;   /* a resend's second confirmation */
		struct conn *c = e->conn;
		uint64_t no = e->rec_no;
		queue_remove(&in->q, e);
		in->c.events_stored++;
		if (c != NULL) {
			unsigned due = dp401_ack_stored(&c->ack, no);
			if (conf != NULL && conf->ack_mode == CT_ACK_EVERY_RECORD)
				due++;
			if (due > 0)
				conn_send_oks(c, due);
		}
	}
	if (!unpack_done(&u))
		log_warn("EVENT_STORED frame malformed (%zu bytes); the ids read were applied",
		    f->plen);
	in->store_full = false;
	maybe_resume(in);
}

static void
on_refused(struct ingest *in, const struct frame *f)
{
	struct unpack u;
	char text[256];
	uint8_t id[CT_UUID_LEN];
	uint16_t reason, n;
	unsigned dropped = 0;

	unpack_init(&u, f->payload, f->plen);
	reason = unpack_u16(&u);
	unpack_str(&u, text, sizeof(text));
	n = unpack_u16(&u);
	if (!unpack_ok(&u)) {
		log_warn("EVENT_REFUSED frame malformed, ignored");
		return;
	}
	for (uint16_t i = 0; i < n; i++) {
		unpack_bytes(&u, id, sizeof(id));
		if (!unpack_ok(&u))
			break;
		struct qev *e = queue_find(&in->q, id);
		if (e == NULL)
			continue;
		if (reason == CT_REFUSE_BAD_EVENT) {
			/* Store will never take it; resending forever helps nobody.
			 * It is not confirmed either: no OK will cover it. */
			queue_remove(&in->q, e);
			dropped++;
			continue;
		}
		e->sent_ms = 0;
	}
	in->c.events_refused += n;
	if (dropped > 0)
		log_err("store refused %u events as bad (%s); they are not stored and the"
		    " scales get no OK for them", dropped, text);
	if (reason != CT_REFUSE_BAD_EVENT) {
		if (!in->store_full)
			log_warn("store refused %u events (%s): keeping them, no OK until stored",
			    n, text);
		in->store_full = reason == CT_REFUSE_STORE_FULL;
		in->refused_until = ingest_mono_ms() + INGEST_REFUSED_MS;
	}
	maybe_resume(in);
}

static void
ingest_frame(struct worker *w, const struct frame *f)
{
	struct ingest *in = worker_data(w);

	if (in == NULL)
		return;   /* shutting down */
	switch (f->hdr.type) {
	case CT_MSG_EVENT_STORED:
		on_stored(in, f);
		break;
	case CT_MSG_EVENT_REFUSED:
		on_refused(in, f);
		break;
	default:
		log_warn("unexpected %s frame, dropped", ct_msg_name(f->hdr.type));
		break;
	}
}

static void
ingest_peer(struct worker *w, enum ct_proc peer, bool up)
{
	struct ingest *in = worker_data(w);
	struct qev *e;

	if (in == NULL || peer != P_STORE)
		return;
	if (!up) {
		log_warn("store is down: %zu events kept, no OK until it is back", in->q.n);
		return;
	}
	/* Whatever it had not confirmed may be lost with it: all again. */
	TAILQ_FOREACH(e, &in->q.all, all)
		e->sent_ms = 0;
	in->refused_until = 0;
	in->store_full = false;
	if (in->q.n > 0)
		log_info("store is up: sending %zu unconfirmed events again", in->q.n);
	announce_all(in);
	ingest_schedule_flush(in);
}

/* ---- housekeeping ---- */

static void
tick_cb(evutil_socket_t fd, short what, void *arg)
{
	struct ingest *in = arg;
	int64_t now = ingest_mono_ms();
	bool unsent = false;
	struct qev *e;

	(void)fd;
	(void)what;
	conn_liveness(in);
	if (worker_peer_up(in->w, P_STORE) && now >= in->refused_until) {
		TAILQ_FOREACH(e, &in->q.all, all) {
			if (e->sent_ms != 0 && now - e->sent_ms >= INGEST_RESEND_MS)
				e->sent_ms = 0;
			if (e->sent_ms == 0)
				unsent = true;
		}
		if (unsent)
			ingest_schedule_flush(in);
	}
	maybe_resume(in);
	log_flap_tick(&in->pause_log, now);
}

static int
ingest_configure(struct worker *w, const struct ct_conf *conf, bool first)
{
	struct ingest *in = worker_data(w);
	char err[256];
	struct timeval tv = { TICK_MS / 1000, (TICK_MS % 1000) * 1000 };

	if (dp401_set_timezone(conf->timezone) != 0) {
		log_err("timezone %s: not a zone this host knows (tzdata)", conf->timezone);
		return -1;
	}
	if (first) {
		if ((in = calloc(1, sizeof(*in))) == NULL) {
			log_err("out of memory");
			return -1;
		}
		in->w = w;
		in->base = worker_base(w);
		TAILQ_INIT(&in->conns);
		if (queue_init(&in->q) != 0 ||
		    (in->flush_ev = event_new(in->base, -1, 0, flush_cb, in)) == NULL ||
		    (in->tick_ev = event_new(in->base, -1, EV_PERSIST, tick_cb, in)) == NULL ||
		    (in->flush_retry_ev = evtimer_new(in->base, flush_retry_cb, in)) == NULL ||
		    event_add(in->tick_ev, &tv) != 0) {
			log_err("out of memory");
			return -1;
		}
		in->budget_reset_ms = ingest_mono_ms();
		in->pause_log = (struct log_flap){
			.on_text = "no longer reading from scales", .on_level = LOG_LVL_WARN,
			.off_text = "reading from scales", .off_level = LOG_LVL_INFO,
			.interval_ms = PAUSE_LOG_EVERY_MS,
		};
		worker_set_data(w, in);
	}
	if (first || strcmp(conf->listen, in->listen) != 0) {
		if (conn_listen(in, conf->listen, err, sizeof(err)) != 0) {
			log_err("%s", err);
			/* The port may be held for a moment (a previous ingest
			 * lingering) or the address not up yet: retry, not fail. */
			return first ? WORKER_RETRY : -1;
		}
	}
	if (!first)
		conn_apply_config(in, conf);
	snprintf(in->site_id, sizeof(in->site_id), "%s", conf->site_id);
	return 0;
}

static void
ingest_status(struct worker *w, json_t *obj)
{
	struct ingest *in = worker_data(w);
	struct dp401_counters live;
	const struct ingest_counters *k = &in->c;
	json_t *scales, *cnt;
	size_t unsent = 0;
	struct qev *e;

	if (in == NULL)
		return;
	scales = json_array();
	TAILQ_FOREACH(e, &in->q.all, all)
		if (e->sent_ms == 0)
			unsent++;
	conn_counters(in, &live);
	if (scales != NULL) {
		int omitted = device_status_json(in, scales);
		json_object_set_new(obj, "scales", scales);
		if (omitted > 0)
			json_object_set_new(obj, "scalesOmitted", json_integer(omitted));
	}
	cnt = json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I,"
	    " s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}",
	    "accepted", (json_int_t)k->accepted,
	    "refusedAllow", (json_int_t)k->refused_allow,
	    "refusedMaxConnections", (json_int_t)k->refused_full,
	    "refusedMaxPerIp", (json_int_t)k->refused_per_ip,
	    "closedIdle", (json_int_t)k->closed_idle,
	    "superseded", (json_int_t)k->superseded,
	    "duplicateIds", (json_int_t)k->duplicates,
	    "idMoves", (json_int_t)k->id_moves,
	    "registrationsRefused", (json_int_t)k->registrations_refused,
	    "records", (json_int_t)k->records,
	    "quarantinedLines", (json_int_t)k->quarantined,
	    "invalidScaleTimes", (json_int_t)k->invalid_times,
	    "rejectedLines", (json_int_t)(k->rejected_lines + live.rejected_lines),
	    "overflowLines", (json_int_t)(k->overflow_lines + live.overflow_lines),
	    "splitLines", (json_int_t)(k->split_lines + live.split_lines),
	    "discardedBytes", (json_int_t)(k->discarded_bytes + live.discarded_bytes),
	    "innerHeartbeats", (json_int_t)(k->inner_heartbeats + live.inner_heartbeats),
	    "garbageBytes", (json_int_t)(k->garbage_bytes + live.garbage_bytes),
	    "heartbeats", (json_int_t)(k->heartbeats + live.heartbeats),
	    "registrations", (json_int_t)(k->registrations + live.registrations),
	    "ackRequests", (json_int_t)(k->ack_requests + live.ack_requests),
	    "oksSent", (json_int_t)k->oks_sent,
	    "confirmationsSkipped", (json_int_t)k->confirmations_skipped,
	    "eventsSent", (json_int_t)k->events_sent,
	    "eventsResent", (json_int_t)k->events_resent,
	    "eventsStored", (json_int_t)k->events_stored,
	    "eventsRefused", (json_int_t)k->events_refused,
	    "framesSent", (json_int_t)k->frames_sent,
	    "sendBlocked", (json_int_t)k->send_blocked,
	    "readPauses", (json_int_t)k->paused_times);
	if (cnt != NULL)
		json_object_set_new(obj, "counters", cnt);
	json_object_set_new(obj, "listen", json_string(in->listen));
	json_object_set_new(obj, "connections", json_integer(in->nconns));
	json_object_set_new(obj, "queuedUnconfirmed", json_integer((json_int_t)in->q.n));
	json_object_set_new(obj, "queuedUnsent", json_integer((json_int_t)unsent));
	json_object_set_new(obj, "readingPaused", json_boolean(in->paused));
	json_object_set_new(obj, "storeFull", json_boolean(in->store_full));
}

static void
finish_shutdown(struct ingest *in)
{
	if (in->q.n > 0)
		log_warn("exiting with %zu events unconfirmed by store; their scales got no OK"
		    " for them", in->q.n);
	conn_close_all(in, "edge shutting down");
	event_free(shutdown_ev);
	shutdown_ev = NULL;
	event_free(in->flush_ev);
	event_free(in->flush_retry_ev);
	event_free(in->tick_ev);
	if (in->accept_retry_ev != NULL)
		event_free(in->accept_retry_ev);
	queue_free(&in->q);
	worker_set_data(in->w, NULL);
	struct worker *w = in->w;
	free(in);
	worker_exit(w, CT_EXIT_OK);
}

static void
shutdown_poll(evutil_socket_t fd, short what, void *arg)
{
	struct ingest *in = arg;
	struct timeval tv = { 0, SHUTDOWN_POLL_MS * 1000 };

	(void)fd;
	(void)what;
	if (in->q.n == 0 || !worker_peer_up(in->w, P_STORE) ||
	    ingest_mono_ms() >= shutdown_deadline) {
		finish_shutdown(in);
		return;
	}
	evtimer_add(shutdown_ev, &tv);
}

/* Stop accepting and reading, hand store what is in hand, give it a moment
 * to confirm (so the OKs due can still go out), then leave. */
static void
ingest_shutdown(struct worker *w)
{
	struct ingest *in = worker_data(w);

	if (in == NULL) {
		worker_exit(w, CT_EXIT_OK);
		return;
	}
	in->stopping = true;
	conn_close_listener(in);
	conn_set_paused(in, true);
	ingest_schedule_flush(in);
	shutdown_deadline = ingest_mono_ms() + SHUTDOWN_WAIT_MS;
	if ((shutdown_ev = evtimer_new(in->base, shutdown_poll, in)) == NULL) {
		finish_shutdown(in);
		return;
	}
	shutdown_poll(-1, 0, in);
}

const struct worker_ops ingest_worker_ops = {
	.configure = ingest_configure,
	.frame = ingest_frame,
	.peer = ingest_peer,
	.status = ingest_status,
	.shutdown = ingest_shutdown,
};
