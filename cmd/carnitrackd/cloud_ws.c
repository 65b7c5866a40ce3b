/*
 * The WebSocket transport (cloud_transport.h): the link's life and the ops.
 *
 *   RETRYING --timer--> CONNECTING --on_open--> UP (register sent)
 *       ^                   |                    |
 *       +---- backoff ------+---- on_close ------+
 *
 * Every state goes up (up->link); what it means is the outbox's. Every way
 * down goes through link_lost(): it frees the client and arms the retry
 * with backoff (1 s doubling to 30 s, +-20% jitter; reset by a registration
 * reply or a link that stayed up WS_REGISTER_WAIT_S). An upgrade refused
 * with 401/403/404 while we hold an identity means the cloud does not know
 * it: the identity is forgotten and the next attempt registers afresh
 * (ws_identity_refused). Keep-alive: a WebSocket ping and a JSON ping every
 * ping_interval, either pong will do, none within the bound: link lost.
 */
#include "cloud_ws.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/rand.h>

#include "log/log.h"
#include "ws/ws_client.h"

static void
set_link(struct cw_tp *t, enum cw_link l, const char *why)
{
	t->link = l;
	t->up->link(t->arg, l, why);
}

/* Frees the client (deferred by ws_client when inside its callback),
 * keeping its flood counters for status. */
static void
drop_client(struct cw_tp *t)
{
	if (t->ws == NULL)
		return;
	t->ctrl_limited += ws_client_stats(t->ws)->ctrl_limited;
	t->backlog_drops += ws_client_stats(t->ws)->backlog_drops;
	ws_client_free(t->ws);
	t->ws = NULL;
}

static void
link_lost(struct cw_tp *t, const char *why)
{
	bool was_up = t->link == CW_UP;
	uint32_t r = 0;
	int64_t delay;

	if (t->link == CW_DISABLED)
		return;
	drop_client(t);
	event_del(t->ev_ping);
	event_del(t->ev_deadline);
	event_del(t->ev_status);
	t->ping_outstanding = false;
	t->send_blocked = false;
	ws_register_reset(t);
	/* A link that carried traffic for a while was a success: start the
	 * backoff over, as a registration reply does. */
	if (was_up && ct_now_ms_mono() - t->up_since_mono_ms >= WS_REGISTER_WAIT_S * 1000)
		t->backoff_s = 0;
	t->backoff_s = t->backoff_s == 0 ? 1 : t->backoff_s * 2;
	if (t->backoff_s > WS_BACKOFF_MAX_S)
		t->backoff_s = WS_BACKOFF_MAX_S;
	/* +-20% jitter so a site's edges do not all come back in step. */
	if (RAND_bytes((unsigned char *)&r, sizeof(r)) != 1)
		r = (uint32_t)ct_now_ms_mono();
	delay = (int64_t)t->backoff_s * 1000 * (80 + (int64_t)(r % 41)) / 100;
	t->next_try_ms = ct_now_ms_mono() + delay;
	ct_timer_add_ms(t->ev_retry, delay);
	set_link(t, CW_RETRYING, why);
}

/* ------------------------------------------------------------ ws callbacks */

static void
link_ready(struct cw_tp *t)
{
	struct timeval tv = { t->ping_interval, 0 };

	event_del(t->ev_deadline);
	t->up_since_mono_ms = ct_now_ms_mono();
	t->ping_outstanding = false;
	event_add(t->ev_ping, &tv);
	ct_timer_add_ms(t->ev_status, (int64_t)t->status_interval * 1000);
	set_link(t, CW_UP, NULL);
}

static void
on_open(void *arg)
{
	struct cw_tp *t = arg;

	t->link = CW_UP;
	t->send_blocked = false;
	log_info("connected to %s, registering%s%s", t->url, t->id->edge_id[0] ? " as " : "",
	    t->id->edge_id);
	if (ws_register(t) != 0) {
		link_lost(t, "cannot send register");
		return;
	}
	link_ready(t);
}

static void
pong(struct cw_tp *t)
{
	if (!t->ping_outstanding)
		return;
	t->ping_outstanding = false;
	t->last_rtt_ms = ct_now_ms_mono() - t->ping_sent_ms;
	event_del(t->ev_deadline);
}

static void
on_text(const char *msg, size_t len, void *arg)
{
	if (ws_on_text(arg, msg, len) == WS_RECV_PONG)
		pong(arg);
}

static void
on_binary(const char *msg, size_t len, void *arg)
{
	if (ws_on_binary(arg, msg, len) == WS_RECV_PONG)
		pong(arg);
}

static void
on_close(const char *reason, void *arg)
{
	struct cw_tp *t = arg;
	int status = t->ws != NULL ? ws_client_http_status(t->ws) : 0;
	char why[64];

	if (status == 401 || status == 403 || status == 404) {
		snprintf(why, sizeof(why), "upgrade refused with HTTP %d", status);
		ws_identity_refused(t, why, true);
	}
	link_lost(t, reason && *reason ? reason : "closed");
}

static void
on_pong(void *arg)
{
	pong(arg);
}

static void
on_drain(void *arg)
{
	struct cw_tp *t = arg;

	t->send_blocked = false;
	t->up->ready(t->arg);
}

static const struct ws_client_cbs ws_cbs = {
	on_open, on_text, on_close, on_pong, on_drain, on_binary,
};

/* ------------------------------------------------------------ lifecycle */

static void
connect_now(struct cw_tp *t)
{
	struct ws_client_opts o = {
		.url = t->url, .token = t->token, .ca_file = t->ca_file[0] ? t->ca_file : NULL,
		.pin_sha256 = t->pin[0] ? t->pin : NULL, .edge_id = t->id->edge_id,
		.site_id = cw_site_id(t->id),
		.client_version = CT_VERSION, .connect_timeout_ms = WS_CONNECT_MS,
		.max_msg = CM_MAX_MSG,
	};
	char err[WS_ERR_MAX] = "";

	drop_client(t);
	t->connects++;
	set_link(t, CW_CONNECTING, NULL);
	/* The config check refuses a token over ws:// unless allowed; the
	 * allowance is said out loud at every connect. */
	if (t->token[0] != '\0' && strncmp(t->url, "ws://", 5) == 0) {
		if (!t->allow_plaintext_token) {
			link_lost(t, "refusing to send the bearer token over unencrypted ws://");
			return;
		}
		log_warn("sending the bearer token to %s unencrypted (ws://, allow_plaintext_token "
		    "= yes): anyone on the path can read it", t->url);
	}
	t->ws = ws_client_new(t->base, NULL, &o, &ws_cbs, t, err, sizeof(err));
	if (t->ws == NULL) {
		link_lost(t, err[0] ? err : "cannot create the WebSocket client");
		return;
	}
	if (ws_client_connect(t->ws) != 0)
		link_lost(t, ws_client_last_error(t->ws));
}

static void
retry_cb(evutil_socket_t fd, short what, void *arg)
{
	connect_now(arg);
}

static void
deadline_cb(evutil_socket_t fd, short what, void *arg)
{
	struct cw_tp *t = arg;
	char why[96];

	snprintf(why, sizeof(why), "no pong within %lld s",
	    (long long)((ct_now_ms_mono() - t->ping_sent_ms) / 1000));
	link_lost(t, why);
}

/* A dead peer must be noticed within ping_interval + bound (40 s at the
 * default 30 s): the bound is a third of the interval, 2..10 s. */
static int64_t
pong_bound_ms(const struct cw_tp *t)
{
	int64_t b = (int64_t)t->ping_interval * 1000 / 3;

	return b < 2000 ? 2000 : b > 10000 ? 10000 : b;
}

static void
ping_cb(evutil_socket_t fd, short what, void *arg)
{
	struct cw_tp *t = arg;

	if (t->link != CW_UP || t->ping_outstanding)
		return;
	/* Both: a WebSocket ping proves the transport, the JSON ping the
	 * cloud's application (the quickref asks for ping/pong messages).
	 * Either pong will do. A ping refused because the send queue is full
	 * is skipped: the deadline starts with a ping actually queued. */
	if (ws_client_ping(t->ws) != 0)
		return;
	t->ping_sent_ms = ct_now_ms_mono();
	t->ping_outstanding = true;
	ws_send(t, "ping", cm_ping_payload());
	ct_timer_add_ms(t->ev_deadline, pong_bound_ms(t));
}

/* The `status` message every status_interval, with the outbox's figures. */
static void
status_cb(evutil_socket_t fd, short what, void *arg)
{
	struct cw_tp *t = arg;
	struct cm_status s;

	if (t->link != CW_UP)
		return;
	ct_timer_add_ms(t->ev_status, (int64_t)t->status_interval * 1000);
	t->up->health(t->arg, &s);
	ws_send(t, "status", cm_status_payload(&s));
}

/* ------------------------------------------------------------ ops */

static void
tp_free(struct cw_tp *t)
{
	struct event *evs[] = { t->ev_retry, t->ev_ping, t->ev_deadline, t->ev_status };

	drop_client(t);
	for (size_t i = 0; i < sizeof(evs) / sizeof(evs[0]); i++)
		if (evs[i] != NULL)
			event_free(evs[i]);
	ws_register_stop(t);
	ws_send_free(t);
	free(t);
}

static void
copy_conf(struct cw_tp *t, const struct cw_tp_conf *c)
{
	t->ping_interval = c->ping_interval;
	t->status_interval = c->status_interval;
	t->batch_size = c->batch_size;
}

static struct cw_tp *
tp_create(const struct cw_tp_conf *c, const struct cw_up *up, void *arg)
{
	struct cw_tp *t = calloc(1, sizeof(*t));

	if (t == NULL) {
		log_err("out of memory");
		return NULL;
	}
	t->up = up;
	t->arg = arg;
	t->base = c->base;
	t->id = c->id;
	t->lose = link_lost;
	t->last_rtt_ms = -1;
	snprintf(t->url, sizeof(t->url), "%s", c->url);
	snprintf(t->register_url, sizeof(t->register_url), "%s", c->register_url);
	snprintf(t->ca_file, sizeof(t->ca_file), "%s", c->ca_file);
	snprintf(t->pin, sizeof(t->pin), "%s", c->pin_sha256);
	snprintf(t->token, sizeof(t->token), "%s", c->token);
	t->allow_plaintext_token = c->allow_plaintext_token;
	copy_conf(t, c);
	t->ev_retry = evtimer_new(t->base, retry_cb, t);
	t->ev_ping = event_new(t->base, -1, EV_PERSIST, ping_cb, t);
	t->ev_deadline = evtimer_new(t->base, deadline_cb, t);
	t->ev_status = evtimer_new(t->base, status_cb, t);
	if (t->ev_retry == NULL || t->ev_ping == NULL || t->ev_deadline == NULL ||
	    t->ev_status == NULL || ws_register_init(t) != 0) {
		log_err("cannot create the link timers");
		tp_free(t);
		return NULL;
	}
	return t;
}

static void
tp_start(struct cw_tp *t)
{
	if (t->url[0] == '\0') {
		set_link(t, CW_DISABLED, "no cloud url configured");
		return;
	}
	connect_now(t);
}

static void
tp_reconfigure(struct cw_tp *t, const struct cw_tp_conf *c)
{
	copy_conf(t, c);
}

static unsigned
tp_room(struct cw_tp *t)
{
	return t->link == CW_UP && !t->send_blocked ? (unsigned)-1 : 0;
}

/* offline_batch_start (unless sent before) and offline_batch_end, before
 * the batch's events. */
static int
tp_batch_closed(struct cw_tp *t, const struct cm_batch *b, uint8_t reported, uint8_t *done)
{
	*done = 0;
	if (!(reported & CT_BATCH_START_SENT)) {
		if (ws_send(t, "offline_batch_start", cm_offline_batch_start_payload(b)) != 0)
			return -1;
		*done |= CT_BATCH_START_SENT;
	}
	if (ws_send(t, "offline_batch_end", cm_offline_batch_end_payload(b)) != 0)
		return -1;     /* the queue is full: the next pass tries again */
	*done |= CT_BATCH_END_SENT;
	return 0;
}

static int
tp_device(struct cw_tp *t, const struct cm_device *d, bool connected, enum cw_dev_change what)
{
	switch (what) {
	case CW_DEV_ANNOUNCE:
		if (!connected)
			return 0;      /* the cloud hears of scales that are there */
		/* FALLTHROUGH */
	case CW_DEV_CONNECTED:
		return ws_send(t, "device_connected", cm_device_connected_payload(d));
	case CW_DEV_HEARTBEAT:
		return ws_send(t, "device_heartbeat", cm_device_heartbeat_payload(d));
	case CW_DEV_DISCONNECTED:
		return ws_send(t, "device_disconnected", cm_device_disconnected_payload(d));
	}
	return -1;
}

/* carnitrackctl identity --reset: a fresh link, so that the upgrade
 * carries no old X-Edge-Id and `register` asks for a new identity. */
static void
tp_identity_changed(struct cw_tp *t)
{
	if (t->link == CW_UP || t->link == CW_CONNECTING) {
		t->backoff_s = 0;
		link_lost(t, "identity reset: reconnecting to register afresh");
	}
}

static void
tp_status(struct cw_tp *t, json_t *o)
{
	json_t *ut = json_array();

	json_object_set_new(o, "messages_rate_limited",
	    json_integer((json_int_t)t->msgs_rate_limited));
	json_object_set_new(o, "ctrl_frames_limited", json_integer((json_int_t)(t->ctrl_limited +
	    (t->ws ? ws_client_stats(t->ws)->ctrl_limited : 0))));
	json_object_set_new(o, "dropped_not_reading", json_integer((json_int_t)(t->backlog_drops +
	    (t->ws ? ws_client_stats(t->ws)->backlog_drops : 0))));
	json_object_set_new(o, "url", json_string(t->url));
	/* Registration is information, never a gate (issue 12). */
	json_object_set_new(o, "registered", json_string(t->reg == WS_REG_REPLIED ? t->reg_via :
	    t->reg == WS_REG_WAITING ? "no reply (streaming)" : "no (link down)"));
	if (t->register_url[0]) {
		json_object_set_new(o, "register_url", json_string(t->register_url));
		json_object_set_new(o, "http_registration", t->http_reg_pending ?
		    json_string("pending") : t->http_reg_last[0] ? json_string(t->http_reg_last) :
		    json_null());
		json_object_set_new(o, "http_registration_failures",
		    json_integer((json_int_t)t->http_reg_failures));
	}
	json_object_set_new(o, "last_ping_rtt_ms", t->last_rtt_ms >= 0 ?
	    json_integer(t->last_rtt_ms) : json_null());
	if (t->link == CW_RETRYING) {
		int64_t left = t->next_try_ms - ct_now_ms_mono();
		json_object_set_new(o, "next_retry_s", json_integer(left > 0 ?
		    (left + 999) / 1000 : 0));
	}
	json_object_set_new(o, "connects", json_integer((json_int_t)t->connects));
	json_object_set_new(o, "messages_bad", json_integer((json_int_t)t->msgs_bad));
	json_object_set_new(o, "messages_unknown", json_integer((json_int_t)t->msgs_unknown));
	for (unsigned i = 0; ut != NULL && i < t->nunknown_types; i++)
		json_array_append_new(ut, json_string(t->unknown_types[i]));
	if (ut != NULL)
		json_object_set_new(o, "unknown_types", ut);
	json_object_set_new(o, "messages_binary", json_integer((json_int_t)t->msgs_binary));
	json_object_set_new(o, "timestamps_unreadable",
	    json_integer((json_int_t)t->times_unreadable));
	json_object_set_new(o, "cloud_errors", json_integer((json_int_t)t->cloud_errors));
	json_object_set_new(o, "rejected_as_duplicate",
	    json_integer((json_int_t)t->rejected_as_duplicate));
}

const struct cw_transport_ops cw_ws_transport = {
	.name = "websocket",
	.flags = CW_TP_BATCH_FIRST,
	.create = tp_create,
	.start = tp_start,
	.free = tp_free,
	.reconfigure = tp_reconfigure,
	.room = tp_room,
	.events_begin = ws_events_begin,
	.event_add = ws_event_add,
	.events_send = ws_events_send,
	.batch_closed = tp_batch_closed,
	.batch_delivered = NULL,
	.device = tp_device,
	.identity_changed = tp_identity_changed,
	.activate = NULL,
	.status = tp_status,
};
