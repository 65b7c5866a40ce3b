/*
 * The ingest worker: owns the scale port (ingest_conn.c) and talks to store.
 *
 * Every record becomes an event with its own localEventId, queued until
 * store confirms it (EVENT_STORED). Events of one loop turn go out together
 * in as few EVENT frames as fit (a deferred flush). Unconfirmed events are
 * sent again when store comes back (PEER_UP), when they have waited
 * IW_RESEND_MS (a frame can be dropped on the way), and after store
 * refused them for being full; store dedupes by id, so resending is safe.
 * An OK goes to a scale only when dp401_ack says all its records before the
 * request are confirmed. Nothing is dropped: at IW_QUEUE_HIGH events the
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

const struct ct_conf *
iw_conf(struct iw *in)
{
	return worker_conf(in->w);
}

/* ---- to store ---- */

void
iw_device_frame(struct iw *in, enum ct_device_change kind, const char *device_id,
    const struct iw_conn *c, const char *reason)
{
	const struct ct_conf *conf = iw_conf(in);
	const struct ct_scale_conf *sc = conf != NULL ? conf_scale_by_id(conf, device_id) : NULL;
	struct iw_device *d = iw_device_get(in, device_id, false);
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
	/* its strings are bounded (device id, address, conf strings) */
	if (!pack_ok(&pk))
		fatalx("DEVICE frame for %s does not fit %zu bytes", device_id, sizeof(buf));
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
announce_all(struct iw *in)
{
	struct iw_conn *c;

	TAILQ_FOREACH(c, &in->conns, link)
		if (c->id_kind != IW_ID_NONE && c->dev != NULL && c->dev->conn == c)
			iw_device_frame(in, CT_DEV_CONNECTED, c->device_id, c, "");
	for (int i = 0; i < in->ndevs; i++) {
		struct iw_device *d = &in->devs[i];
		if (d->nconns == 0 && d->unreported)
			iw_device_frame(in, CT_DEV_DISCONNECTED, d->id, NULL,
			    "disconnected while store was down");
	}
}

static void
schedule_flush(struct iw *in)
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
	struct iw *in = arg;
	uint8_t *buf = in->frame_buf;
	struct iw_qev *batch[CT_FRAME_MAX_PAYLOAD / 64], *e;
	int64_t now = ct_now_ms_mono();
	struct pack pk;
	size_t countpos;
	unsigned n = 0;
	int64_t sent_ns;

	(void)fd;
	(void)what;
	in->flush_pending = false;
	if (!worker_peer_up(in->w, P_STORE) || now < in->refused_until)
		return;
	e = TAILQ_FIRST(&in->q.all);
	while (e != NULL) {
		n = 0;
		pack_init(&pk, buf, sizeof(in->frame_buf));
		countpos = pack_reserve_u16(&pk);
		for (; e != NULL && n < sizeof(batch) / sizeof(batch[0]); e = TAILQ_NEXT(e, all)) {
			if (e->sent_ms != 0)
				continue;
			if (pk.len + 2 + e->enc_len > sizeof(in->frame_buf))
				break;
			pack_blob(&pk, e->enc, e->enc_len);
			batch[n++] = e;
		}
		if (n == 0)
			break;
		pack_put_u16_at(&pk, countpos, (uint16_t)n);
		/* stamped as handed over: the send may wake the store first */
		sent_ns = ct_trace_on() ? ct_now_ns_mono() : 0;
		if (!pack_ok(&pk) || worker_send(in->w, CT_MSG_EVENT, 0, buf, pk.len) != 0) {
			/* Channel full: they stay unsent and are tried again soon. */
			struct timeval tv = { 0, IW_BLOCKED_MS * 1000 };
			in->c.send_blocked++;
			if (!evtimer_pending(in->flush_retry_ev, NULL))
				evtimer_add(in->flush_retry_ev, &tv);
			return;
		}
		in->c.frames_sent++;
		for (unsigned i = 0; i < n; i++) {
			if (batch[i]->sends++ > 0) {
				in->c.events_resent++;
			} else {
				in->c.events_sent++;
				ct_trace_at(sent_ns, CT_ST_INGEST_SENT, batch[i]->id, NULL, NULL);
			}
			batch[i]->sent_ms = now;
		}
	}
}

static void
flush_retry_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	schedule_flush(arg);
}

static void
maybe_resume(struct iw *in)
{
	if (in->paused && in->q.n < IW_QUEUE_LOW && !in->stopping) {
		log_flap_set(&in->pause_log, false, ct_now_ms_mono(),
		    "%zu events unconfirmed: reading from scales again", in->q.n);
		iw_set_paused(in, false);
	}
}

void
iw_event(struct iw *in, struct iw_conn *c, struct ct_event *ev)
{
	struct iw_qev *e = iw_queue_add(&in->q, ev);

	if (e == NULL) {
		/* Without a queue entry it could be acknowledged unstored: close,
		 * so the scale keeps it and sends it again later. */
		log_err("scale %s: cannot queue an event (out of memory); closing", c->device_id);
		iw_conn_close(c, "out of memory", true);
		return;
	}
	e->conn = c;
	if (ct_trace_on())
		ct_trace_at(ct_now_ns_mono(), CT_ST_INGEST_READ, ev->local_id, ev->device_id,
		    ev->barcode);
	/* a quarantined line is counted like a record: the OK covers it */
	e->rec_no = dp401_ack_record(&c->ack);
	TAILQ_INSERT_TAIL(&c->evs, e, of_conn);
	if (ev->kind == CT_EV_QUARANTINED)
		in->c.quarantined++;
	else {
		in->c.records++;
		iw_rate_count(&in->rate, ct_now_ms_mono());
	}
	if (in->q.n >= IW_QUEUE_HIGH && !in->paused) {
		in->c.paused_times++;
		log_flap_set(&in->pause_log, true, ct_now_ms_mono(), "%zu events not yet confirmed"
		    " by store: no longer reading from scales", in->q.n);
		iw_set_paused(in, true);
	}
	schedule_flush(in);
}

/* ---- from store ---- */

static void
on_stored(struct iw *in, const struct frame *f)
{
	const struct ct_conf *conf = iw_conf(in);
	struct unpack u;
	uint8_t id[CT_UUID_LEN];
	uint16_t n;

	unpack_init(&u, f->payload, f->plen);
	n = unpack_u16(&u);
	for (uint16_t i = 0; i < n && unpack_ok(&u); i++) {
		unpack_bytes(&u, id, sizeof(id));
		if (!unpack_ok(&u))
			break;
		struct iw_qev *e = iw_queue_find(&in->q, id);
		if (e == NULL)
			continue;   /* a resend's second confirmation */
		struct iw_conn *c = e->conn;
		uint64_t no = e->rec_no;
		ct_trace(CT_ST_INGEST_STORED, id);
		iw_queue_remove(&in->q, e);
		in->c.events_stored++;
		if (c != NULL) {
			unsigned due = dp401_ack_stored(&c->ack, no);
			if (conf != NULL && conf->ack_mode == CT_ACK_EVERY_RECORD)
				due++;
			if (due > 0) {
				int64_t ok_ns = ct_trace_on() ? ct_now_ns_mono() : 0;
				iw_conn_send_oks(c, due);
				ct_trace_at(ok_ns, CT_ST_INGEST_OK, id, NULL, NULL);
			}
		}
	}
	if (!unpack_done(&u))
		log_warn("EVENT_STORED frame malformed (%zu bytes); the ids read were applied",
		    f->plen);
	in->store_full = false;
	maybe_resume(in);
}

static void
on_refused(struct iw *in, const struct frame *f)
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
		struct iw_qev *e = iw_queue_find(&in->q, id);
		if (e == NULL)
			continue;
		if (reason == CT_REFUSE_BAD_EVENT) {
			/* Store will never take it; resending forever helps nobody.
			 * It is not confirmed either: no OK will cover it. */
			iw_queue_remove(&in->q, e);
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
		in->refused_until = ct_now_ms_mono() + IW_REFUSED_MS;
	}
	maybe_resume(in);
}

static void
iw_frame(struct worker *w, const struct frame *f)
{
	struct iw *in = worker_data(w);

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
		fatalx("messages.def routes %s to the ingest worker, which has no handler for it",
		    ct_msg_name(f->hdr.type));
	}
}

static void
iw_peer(struct worker *w, enum ct_proc peer, bool up)
{
	struct iw *in = worker_data(w);
	struct iw_qev *e;

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
	schedule_flush(in);
}

/* ---- housekeeping ---- */

static void
tick_cb(evutil_socket_t fd, short what, void *arg)
{
	struct iw *in = arg;
	int64_t now = ct_now_ms_mono();
	bool unsent = false;
	struct iw_qev *e;

	(void)fd;
	(void)what;
	iw_liveness(in);
	if (worker_peer_up(in->w, P_STORE) && now >= in->refused_until) {
		TAILQ_FOREACH(e, &in->q.all, all) {
			if (e->sent_ms != 0 && now - e->sent_ms >= IW_RESEND_MS)
				e->sent_ms = 0;
			if (e->sent_ms == 0)
				unsent = true;
		}
		if (unsent)
			schedule_flush(in);
	}
	maybe_resume(in);
	log_flap_tick(&in->pause_log, now);
}

static int
iw_configure(struct worker *w, const struct ct_conf *conf, bool first)
{
	struct iw *in = worker_data(w);
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
		if (iw_queue_init(&in->q) != 0 ||
		    (in->flush_ev = event_new(in->base, -1, 0, flush_cb, in)) == NULL ||
		    (in->tick_ev = event_new(in->base, -1, EV_PERSIST, tick_cb, in)) == NULL ||
		    (in->flush_retry_ev = evtimer_new(in->base, flush_retry_cb, in)) == NULL ||
		    event_add(in->tick_ev, &tv) != 0) {
			log_err("out of memory");
			return -1;
		}
		in->budget_reset_ms = ct_now_ms_mono();
		if (hist_init(&in->ok_latency, hist_latency_bounds, hist_latency_nbounds) != 0)
			fatalx("the latency histogram's bounds are not ascending");
		in->pause_log = (struct log_flap){
			.on_text = "no longer reading from scales", .on_level = LOG_LVL_WARN,
			.off_text = "reading from scales", .off_level = LOG_LVL_INFO,
			.interval_ms = PAUSE_LOG_EVERY_MS,
		};
		worker_set_data(w, in);
	}
	if (first || strcmp(conf->listen, in->listen) != 0) {
		if (iw_listen(in, conf->listen, err, sizeof(err)) != 0) {
			log_err("%s", err);
			/* The port may be held for a moment (a previous ingest
			 * lingering) or the address not up yet: retry, not fail. */
			return first ? WORKER_RETRY : -1;
		}
	}
	if (!first)
		iw_conn_apply_config(in, conf);
	snprintf(in->site_id, sizeof(in->site_id), "%s", conf->site_id);
	return 0;
}

static void
iw_status(struct worker *w, json_t *obj)
{
	struct iw *in = worker_data(w);
	struct dp401_counters live;
	const struct iw_counters *k = &in->c;
	json_t *scales, *cnt;
	size_t unsent = 0;
	struct iw_qev *e;

	if (in == NULL)
		return;
	scales = json_array();
	TAILQ_FOREACH(e, &in->q.all, all)
		if (e->sent_ms == 0)
			unsent++;
	iw_conn_counters(in, &live);
	if (scales != NULL) {
		int omitted = iw_device_status_json(in, scales);
		json_object_set_new(obj, "scales", scales);
		if (omitted > 0)
			json_object_set_new(obj, "scales_omitted", json_integer(omitted));
	}
	cnt = json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I,"
	    " s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}",
	    "accepted", (json_int_t)k->accepted,
	    "refused_allow", (json_int_t)k->refused_allow,
	    "refused_max_connections", (json_int_t)k->refused_full,
	    "refused_max_per_ip", (json_int_t)k->refused_per_ip,
	    "closed_idle", (json_int_t)k->closed_idle,
	    "superseded", (json_int_t)k->superseded,
	    "duplicate_ids", (json_int_t)k->duplicates,
	    "id_moves", (json_int_t)k->id_moves,
	    "registrations_refused", (json_int_t)k->registrations_refused,
	    "records", (json_int_t)k->records,
	    "quarantined_lines", (json_int_t)k->quarantined,
	    "invalid_scale_times", (json_int_t)k->invalid_times,
	    "rejected_lines", (json_int_t)(k->rejected_lines + live.rejected_lines),
	    "overflow_lines", (json_int_t)(k->overflow_lines + live.overflow_lines),
	    "split_lines", (json_int_t)(k->split_lines + live.split_lines),
	    "discarded_bytes", (json_int_t)(k->discarded_bytes + live.discarded_bytes),
	    "inner_heartbeats", (json_int_t)(k->inner_heartbeats + live.inner_heartbeats),
	    "garbage_bytes", (json_int_t)(k->garbage_bytes + live.garbage_bytes),
	    "heartbeats", (json_int_t)(k->heartbeats + live.heartbeats),
	    "registrations", (json_int_t)(k->registrations + live.registrations),
	    "ack_requests", (json_int_t)(k->ack_requests + live.ack_requests),
	    "oks_sent", (json_int_t)k->oks_sent,
	    "confirmations_skipped", (json_int_t)k->confirmations_skipped,
	    "events_sent", (json_int_t)k->events_sent,
	    "events_resent", (json_int_t)k->events_resent,
	    "events_stored", (json_int_t)k->events_stored,
	    "events_refused", (json_int_t)k->events_refused,
	    "frames_sent", (json_int_t)k->frames_sent,
	    "send_blocked", (json_int_t)k->send_blocked,
	    "read_pauses", (json_int_t)k->paused_times);
	if (cnt != NULL)
		json_object_set_new(obj, "counters", cnt);
	json_object_set_new(obj, "listen", json_string(in->listen));
	json_object_set_new(obj, "connections", json_integer(in->nconns));
	json_object_set_new(obj, "queued_unconfirmed", json_integer((json_int_t)in->q.n));
	json_object_set_new(obj, "queued_unsent", json_integer((json_int_t)unsent));
	json_object_set_new(obj, "reading_paused", json_boolean(in->paused));
	json_object_set_new(obj, "store_full", json_boolean(in->store_full));
	json_object_set_new(obj, "ok_latency_seconds", hist_to_json(&in->ok_latency));
	json_object_set_new(obj, "records_per_minute", iw_rate_json(&in->rate, ct_now_ms_mono()));
}

static void
finish_shutdown(struct iw *in)
{
	if (in->q.n > 0)
		log_warn("exiting with %zu events unconfirmed by store; their scales got no OK"
		    " for them", in->q.n);
	iw_conn_close_all(in, "edge shutting down");
	event_free(in->shutdown_ev);
	in->shutdown_ev = NULL;
	event_free(in->flush_ev);
	event_free(in->flush_retry_ev);
	event_free(in->tick_ev);
	if (in->accept_retry_ev != NULL)
		event_free(in->accept_retry_ev);
	iw_queue_free(&in->q);
	worker_set_data(in->w, NULL);
	struct worker *w = in->w;
	free(in);
	worker_exit(w, CT_EXIT_OK);
}

static void
shutdown_poll(evutil_socket_t fd, short what, void *arg)
{
	struct iw *in = arg;
	struct timeval tv = { 0, SHUTDOWN_POLL_MS * 1000 };

	(void)fd;
	(void)what;
	if (in->q.n == 0 || !worker_peer_up(in->w, P_STORE) ||
	    ct_now_ms_mono() >= in->shutdown_deadline) {
		finish_shutdown(in);
		return;
	}
	evtimer_add(in->shutdown_ev, &tv);
}

/* Stop accepting and reading, hand store what is in hand, give it a moment
 * to confirm (so the OKs due can still go out), then leave. */
static void
iw_shutdown(struct worker *w)
{
	struct iw *in = worker_data(w);

	if (in == NULL) {
		worker_exit(w, CT_EXIT_OK);
		return;
	}
	in->stopping = true;
	iw_listen_close(in);
	iw_set_paused(in, true);
	schedule_flush(in);
	in->shutdown_deadline = ct_now_ms_mono() + SHUTDOWN_WAIT_MS;
	if ((in->shutdown_ev = evtimer_new(in->base, shutdown_poll, in)) == NULL) {
		finish_shutdown(in);
		return;
	}
	shutdown_poll(-1, 0, in);
}

const struct worker_ops ingest_worker_ops = {
	.configure = iw_configure,
	.frame = iw_frame,
	.peer = iw_peer,
	.status = iw_status,
	.shutdown = iw_shutdown,
};
