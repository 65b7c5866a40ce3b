/*
 * One scale connection: its bytes fed to the parser (ingest_scale.c says
 * what they mean), OKs written back (iw_conn_send_oks), reading paused while
 * store is behind, liveness (stale, then closed), and closing. Events leave
 * through iw_event() (ingest_worker.c).
 *
 * A connection is freed only outside its own read callback: closing from
 * inside the parser's callbacks marks it and the read callback finishes the
 * job, so the parser never runs on freed memory.
 */
#include "ingest.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <event2/buffer.h>

#include "log/log.h"

static void conn_free(struct iw_conn *c, const char *reason, bool announce);

/* ---- socket callbacks ---- */

/* ---- socket callbacks ---- */

static void
mark_alive(struct iw_conn *c)
{
	c->last_rx_mono = ct_now_ms_mono();
	if (c->stale) {
		c->stale = false;
		if (c->dev != NULL && c->dev->conn == c) {
			c->dev->status = IW_DEV_ONLINE;
			iw_device_frame(c->in, CT_DEV_HEARTBEAT, c->device_id, c, "alive again");
		}
	}
}

/* Caller sets in_callback: the parser's callbacks may ask to close. */
static void
drain_input(struct iw_conn *c)
{
	struct evbuffer *inb = bufferevent_get_input(c->bev);
	uint8_t buf[IW_READ_MAX];
	int n;

	while (!c->close_pending && (n = evbuffer_remove(inb, buf, sizeof(buf))) > 0) {
		mark_alive(c);
		if (c->dev != NULL)
			c->dev->last_seen_ms = ct_now_ms();
		dp401_feed(&c->parser, buf, (size_t)n);
	}
}

void
iw_conn_read_cb(struct bufferevent *bev, void *arg)
{
	struct iw_conn *c = arg;

	(void)bev;
	c->in_callback = true;
	drain_input(c);
	c->in_callback = false;
	if (c->close_pending)
		conn_free(c, c->close_reason, c->close_announce);
}

void
iw_conn_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct iw_conn *c = arg;
	char reason[128];

	(void)bev;
	if (!(what & (BEV_EVENT_EOF | BEV_EVENT_ERROR)))
		return;
	if (what & BEV_EVENT_EOF) {
		snprintf(reason, sizeof(reason), "closed by the scale");
		c->in_callback = true;
		drain_input(c);
		/* A record missing only its line end is still the scale's data. */
		if (!c->close_pending)
			dp401_finish(&c->parser);
		c->in_callback = false;
	} else {
		snprintf(reason, sizeof(reason), "connection error: %s",
		    evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()));
	}
	if (c->close_pending)
		conn_free(c, c->close_reason, c->close_announce);
	else
		conn_free(c, reason, true);
}

void
iw_conn_answered(void *arg, int64_t asked_ns, uint32_t count)
{
	struct iw_conn *c = arg;
	double wait = (double)(ct_now_ns_mono() - asked_ns) / 1e9;

	/* the OKs go out right after (iw_conn_send_oks), in this turn */
	for (uint32_t i = 0; i < count; i++)
		hist_observe(&c->in->ok_latency, wait);
}

void
iw_conn_send_oks(struct iw_conn *c, unsigned n)
{
	struct evbuffer *out;

	char now[3 * IW_OK_NOW_MAX];
	size_t len = 0, done = 0;
	ssize_t k;

	if (c->bev == NULL || c->close_pending)
		return;
	out = bufferevent_get_output(c->bev);
	/* The scale is waiting: written now, not on the next loop turn, when
	 * nothing is queued before them. What the socket does not take (or an
	 * error) goes to the bufferevent, which writes the rest and reports the
	 * error from the loop. */
	if (evbuffer_get_length(out) == 0 && n <= IW_OK_NOW_MAX) {
		for (unsigned i = 0; i < n; i++, len += 3)
			memcpy(now + len, DP401_OK_REPLY, 3);
		k = send(bufferevent_getfd(c->bev), now, len, MSG_NOSIGNAL | MSG_DONTWAIT);
		done = k > 0 ? (size_t)k : 0;
		if (done < len && evbuffer_add(out, now + done, len - done) != 0) {
			iw_conn_close(c, "out of memory queueing OK", true);
			return;
		}
	} else {
		for (unsigned i = 0; i < n; i++)
			if (evbuffer_add(out, DP401_OK_REPLY, 3) != 0) {
				iw_conn_close(c, "out of memory queueing OK", true);
				return;
			}
	}
	c->ok_since_last = true;
	c->in->c.oks_sent += n;
	if (evbuffer_get_length(out) > IW_OUT_MAX)
		iw_conn_close(c, "scale does not read its OKs", true);
}

static void
conn_free(struct iw_conn *c, const char *reason, bool announce)
{
	struct iw *in = c->in;
	struct iw_qev *e;

	/* Its unconfirmed events stay queued: received data is stored even
	 * if the scale never hears the OK. */
	while ((e = TAILQ_FIRST(&c->evs)) != NULL) {
		TAILQ_REMOVE(&c->evs, e, of_conn);
		e->conn = NULL;
	}
	if (c->id_kind != IW_ID_NONE || c->records > 0)
		log_info("scale %s (%s) %s: %s", c->id_kind != IW_ID_NONE ? c->device_id : "?",
		    c->addr, announce ? "disconnected" : "connection closed", reason);
	else
		log_debug("connection %s closed: %s", c->addr, reason);
	iw_dev_detach(c, reason, announce);
	in->c.rejected_lines += c->parser.cnt.rejected_lines;
	in->c.overflow_lines += c->parser.cnt.overflow_lines;
	in->c.split_lines += c->parser.cnt.split_lines;
	in->c.discarded_bytes += c->parser.cnt.discarded_bytes;
	in->c.inner_heartbeats += c->parser.cnt.inner_heartbeats;
	in->c.garbage_bytes += c->parser.cnt.garbage_bytes;
	in->c.heartbeats += c->parser.cnt.heartbeats;
	in->c.registrations += c->parser.cnt.registrations;
	in->c.ack_requests += c->parser.cnt.ack_requests;
	if (c->bev != NULL)
		bufferevent_free(c->bev);
	c->bev = NULL;
	TAILQ_REMOVE(&in->conns, c, link);
	in->nconns--;
	free(c);
}

void
iw_conn_close(struct iw_conn *c, const char *reason, bool announce)
{

	if (c->close_pending)
		return;
	if (c->in_callback) {
		c->close_pending = true;
		c->close_announce = announce;
		snprintf(c->close_reason, sizeof(c->close_reason), "%s", reason);
		if (c->bev != NULL)
			bufferevent_disable(c->bev, EV_READ);
		return;
	}
	conn_free(c, reason, announce);
}

void
iw_set_paused(struct iw *in, bool paused)
{
	struct iw_conn *c;
	int64_t now = ct_now_ms_mono();

	if (in->paused == paused)
		return;
	in->paused = paused;
	TAILQ_FOREACH(c, &in->conns, link) {
		if (c->bev == NULL || c->close_pending)
			continue;
		if (paused) {
			bufferevent_disable(c->bev, EV_READ);
		} else {
			/* Their silence was ours: do not count it against them. */
			c->last_rx_mono = now;
			bufferevent_enable(c->bev, EV_READ);
		}
	}
}

void
iw_liveness(struct iw *in)
{
	const struct ct_conf *conf = iw_conf(in);
	int64_t now = ct_now_ms_mono(), hb, stale_ms, close_ms;
	struct iw_conn *c, *next;
	char why[128];

	if (conf == NULL)
		return;
	hb = (int64_t)conf->heartbeat_interval * 1000;
	stale_ms = hb * conf->stale_after;
	close_ms = hb * conf->close_after;
	bool new_minute = now - in->budget_reset_ms >= 60000;
	if (new_minute)
		in->budget_reset_ms = now;
	for (c = TAILQ_FIRST(&in->conns); c != NULL; c = next) {
		next = TAILQ_NEXT(c, link);
			if (new_minute)
			c->reject_budget = IW_REJECT_LOG_BUDGET;
		if (in->paused || c->close_pending)
			continue;
		int64_t idle = now - c->last_rx_mono;
		int64_t invalid = now - c->last_valid_mono;
		if (idle >= close_ms) {
			snprintf(why, sizeof(why), "nothing received for %lld s",
			    (long long)(idle / 1000));
			in->c.closed_idle++;
			iw_conn_close(c, why, true);
		} else if (invalid >= close_ms) {
			snprintf(why, sizeof(why),
			    "no valid DP-401 packet for %lld s, only garbage",
			    (long long)(invalid / 1000));
			/* registered ones are logged by iw_conn_close */
			if (c->id_kind == IW_ID_NONE)
				log_info("connection %s closed: %s", c->addr, why);
			in->c.closed_idle++;
			iw_conn_close(c, why, true);
		} else if (idle >= stale_ms && !c->stale) {
			c->stale = true;
			if (c->dev != NULL && c->dev->conn == c) {
				c->dev->status = IW_DEV_STALE;
				log_info("scale %s (%s) stale: nothing received for %lld s",
				    c->device_id, c->addr, (long long)(idle / 1000));
				iw_device_frame(in, CT_DEV_STALE, c->device_id, c,
				    "heartbeats missed");
			}
		}
	}
}

void
iw_conn_apply_config(struct iw *in, const struct ct_conf *conf)
{
	struct iw_conn *c, *next;

	for (c = TAILQ_FIRST(&in->conns); c != NULL; c = next) {
		next = TAILQ_NEXT(c, link);
		if (!conf_allowed(conf, (struct sockaddr *)&c->sa)) {
			iw_conn_close(c, "no longer in [scales] allow", true);
			continue;
		}
		if (c->id_kind != IW_ID_NONE)
			dp401_set_unit(&c->parser, conf_scale_unit(conf, c->device_id));
		else
			dp401_set_unit(&c->parser, conf->weight_unit_grams);
	}
}

void
iw_conn_close_all(struct iw *in, const char *reason)
{
	struct iw_conn *c;

	while ((c = TAILQ_FIRST(&in->conns)) != NULL)
		conn_free(c, reason, true);
}

void
iw_conn_counters(struct iw *in, struct dp401_counters *sum)
{
	struct iw_conn *c;

	memset(sum, 0, sizeof(*sum));
	TAILQ_FOREACH(c, &in->conns, link) {
		sum->rejected_lines += c->parser.cnt.rejected_lines;
		sum->overflow_lines += c->parser.cnt.overflow_lines;
		sum->split_lines += c->parser.cnt.split_lines;
		sum->discarded_bytes += c->parser.cnt.discarded_bytes;
		sum->inner_heartbeats += c->parser.cnt.inner_heartbeats;
		sum->garbage_bytes += c->parser.cnt.garbage_bytes;
		sum->heartbeats += c->parser.cnt.heartbeats;
		sum->registrations += c->parser.cnt.registrations;
		sum->ack_requests += c->parser.cnt.ack_requests;
	}
}
