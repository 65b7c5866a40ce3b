/*
 * The WebSocket link's life: connect, register, keep alive, lose, retry.
 *
 *   RETRYING --timer--> CONNECTING --on_open--> UP (register sent)
 *       ^                   |                    |
 *       +---- backoff ------+---- on_close ------+
 *
 * Registration never holds delivery back: on open the edge registers
 * (cloud_register.c) and starts streaming at once.
 *
 * Every way down goes through cw_link_lost(): it frees the client, forgets
 * the window (unacked events are re-sent on the next link), and arms the
 * retry with backoff (1 s doubling to 30 s, +-20% jitter; reset by a
 * registration reply or a link that stayed up CW_REGISTER_WAIT_S). The store
 * hears "down" only after offline_grace without an open link, so a short
 * blip opens no offline batches. An upgrade refused with 401/403/404 while
 * we hold an identity means the cloud does not know it: the identity is
 * forgotten and the next attempt registers afresh (cw_identity_refused).
 */
#include "cloud_worker.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/rand.h>

#include "log/log.h"
#include "ws/ws_client.h"

static const char *link_names[] = { "disabled", "retrying", "connecting", "up" };

const char *
cw_link_name(enum cw_link l)
{
	return (unsigned)l < sizeof(link_names) / sizeof(link_names[0]) ? link_names[l] : "?";
}

static void
arm(struct event *ev, int64_t ms)
{
	struct timeval tv = { (time_t)(ms / 1000), (suseconds_t)((ms % 1000) * 1000) };

	event_add(ev, &tv);
}

void
cw_tell_link(struct cw *c, bool up)
{
	if (c->link_told && c->link_told_up == up && up == false)
		return;          /* "down" once is enough; "up" always (store closes batches) */
	cw_send_link(c, up);
	c->link_told = true;
	c->link_told_up = up;
}

int
cw_send_text(struct cw *c, const char *text, size_t len)
{
	if (c->ws == NULL || c->link != CW_UP)
		return -1;
	if (ws_client_send_text(c->ws, text, len) != 0) {
		c->send_blocked = true;   /* on_drain clears it */
		return -1;
	}
	return 0;
}

int
cw_send(struct cw *c, const char *type, json_t *payload)
{
	size_t len;
	char *text;
	int rc;

	if (c->ws == NULL || c->link != CW_UP) {
		json_decref(payload);
		return -1;
	}
	if ((text = cm_encode(type, payload, c->edge_id, &len)) == NULL) {
		log_err("cannot encode a %s message (out of memory)", type);
		return -1;
	}
	rc = ws_client_send_text(c->ws, text, len);
	free(text);
	if (rc != 0)
		c->send_blocked = true;   /* on_drain clears it */
	return rc;
}

/* Frees the client (deferred by ws_client when inside its callback),
 * keeping its flood counters for status. */
static void
drop_client(struct cw *c)
{
	if (c->ws == NULL)
		return;
	c->ctrl_limited += ws_client_stats(c->ws)->ctrl_limited;
	c->backlog_drops += ws_client_stats(c->ws)->backlog_drops;
	ws_client_free(c->ws);
	c->ws = NULL;
}

uint64_t
cw_ctrl_limited(const struct cw *c)
{
	return c->ctrl_limited + (c->ws ? ws_client_stats(c->ws)->ctrl_limited : 0);
}

uint64_t
cw_backlog_drops(const struct cw *c)
{
	return c->backlog_drops + (c->ws ? ws_client_stats(c->ws)->backlog_drops : 0);
}

/* ------------------------------------------------------------ ws callbacks */

static void link_ready(struct cw *c);

static void
on_open(void *arg)
{
	struct cw *c = arg;

	c->link = CW_UP;
	c->send_blocked = false;
	log_info("connected to %s, registering%s%s", c->url, c->edge_id[0] ? " as " : "",
	    c->edge_id);
	if (cw_register(c) != 0) {
		cw_link_lost(c, "cannot send register");
		return;
	}
	link_ready(c);
}

static void
on_text(const char *msg, size_t len, void *arg)
{
	cw_on_text(arg, msg, len);
}

static void
on_binary(const char *msg, size_t len, void *arg)
{
	cw_on_binary(arg, msg, len);
}

static void
on_close(const char *reason, void *arg)
{
	struct cw *c = arg;
	int status = c->ws != NULL ? ws_client_http_status(c->ws) : 0;
	char why[64];

	if (status == 401 || status == 403 || status == 404) {
		snprintf(why, sizeof(why), "upgrade refused with HTTP %d", status);
		cw_identity_refused(c, why, true);
	}
	cw_link_lost(c, reason && *reason ? reason : "closed");
}

static void
on_pong(void *arg)
{
	cw_on_pong(arg);
}

static void
on_drain(void *arg)
{
	struct cw *c = arg;

	c->send_blocked = false;
	cw_kick(c);
}

static const struct ws_client_cbs ws_cbs = {
	on_open, on_text, on_close, on_pong, on_drain, on_binary,
};

/* ------------------------------------------------------------ lifecycle */

static void
connect_now(struct cw *c)
{
	struct ws_client_opts o = {
		.url = c->url, .token = c->token, .ca_file = c->ca_file[0] ? c->ca_file : NULL,
		.pin_sha256 = c->pin[0] ? c->pin : NULL, .edge_id = c->edge_id,
		.site_id = cw_site_id(c),
		.client_version = CT_VERSION, .connect_timeout_ms = CW_CONNECT_MS,
		.max_msg = CM_MAX_MSG,
	};
	char err[WS_ERR_MAX] = "";

	drop_client(c);
	c->connects++;
	c->link = CW_CONNECTING;
	/* The config check refuses a token over ws:// unless allowed; the
	 * allowance is said out loud at every connect. */
	if (c->token[0] != '\0' && strncmp(c->url, "ws://", 5) == 0) {
		if (!c->allow_plaintext_token) {
			cw_link_lost(c, "refusing to send the bearer token over unencrypted ws://");
			return;
		}
		log_warn("sending the bearer token to %s unencrypted (ws://, allow_plaintext_token "
		    "= yes): anyone on the path can read it", c->url);
	}
	c->ws = ws_client_new(c->base, NULL, &o, &ws_cbs, c, err, sizeof(err));
	if (c->ws == NULL) {
		cw_link_lost(c, err[0] ? err : "cannot create the WebSocket client");
		return;
	}
	if (ws_client_connect(c->ws) != 0)
		cw_link_lost(c, ws_client_last_error(c->ws));
}

static void
retry_cb(evutil_socket_t fd, short what, void *arg)
{
	connect_now(arg);
}

static void
grace_cb(evutil_socket_t fd, short what, void *arg)
{
	struct cw *c = arg;

	if (c->link == CW_UP)
		return;
	log_warn("cloud link down for %d s (%s): offline from now on", c->offline_grace,
	    c->last_error[0] ? c->last_error : "never connected");
	cw_tell_link(c, false);
}

static void
deadline_cb(evutil_socket_t fd, short what, void *arg)
{
	struct cw *c = arg;
	char why[96];

	snprintf(why, sizeof(why), "no pong within %lld s",
	    (long long)((ct_now_ms_mono() - c->ping_sent_ms) / 1000));
	cw_link_lost(c, why);
}

/* A dead peer must be noticed within ping_interval + bound (40 s at the
 * default 30 s): the bound is a third of the interval, 2..10 s. */
static int64_t
pong_bound_ms(const struct cw *c)
{
	int64_t b = (int64_t)c->ping_interval * 1000 / 3;

	return b < 2000 ? 2000 : b > 10000 ? 10000 : b;
}

static void
ping_cb(evutil_socket_t fd, short what, void *arg)
{
	struct cw *c = arg;

	if (c->link != CW_UP || c->ping_outstanding)
		return;
	/* Both: a WebSocket ping proves the transport, the JSON ping the
	 * cloud's application (the quickref asks for ping/pong messages).
	 * Either pong will do. A ping refused because the send queue is full
	 * is skipped: the deadline starts with a ping actually queued. */
	if (ws_client_ping(c->ws) != 0)
		return;
	c->ping_sent_ms = ct_now_ms_mono();
	c->ping_outstanding = true;
	cw_send(c, "ping", cm_ping_payload());
	arm(c->ev_deadline, pong_bound_ms(c));
}

void
cw_on_pong(struct cw *c)
{
	if (!c->ping_outstanding)
		return;
	c->ping_outstanding = false;
	c->last_rtt_ms = ct_now_ms_mono() - c->ping_sent_ms;
	event_del(c->ev_deadline);
}

/* The link is open and `register` is out: deliver from now on. */
static void
link_ready(struct cw *c)
{
	struct timeval tv = { c->ping_interval, 0 };

	event_del(c->ev_deadline);
	event_del(c->ev_grace);
	c->up_since_ms = ct_now_ms();
	c->up_since_mono_ms = ct_now_ms_mono();
	c->last_error[0] = '\0';
	c->ping_outstanding = false;
	event_add(c->ev_ping, &tv);
	cw_tell_link(c, true);
	cw_stream_reset(c);
	cw_announce_devices(c, CW_DEV_ALL);
	c->devices_dirty = false;
	cw_report_batches(c);
	cw_kick(c);
}

void
cw_link_lost(struct cw *c, const char *why)
{
	bool was_up = c->link == CW_UP;
	uint32_t r = 0;
	int64_t delay;

	if (c->link == CW_DISABLED)
		return;
	snprintf(c->last_error, sizeof(c->last_error), "%s", why);
	drop_client(c);
	event_del(c->ev_ping);
	event_del(c->ev_deadline);
	c->ping_outstanding = false;
	c->send_blocked = false;
	c->link = CW_RETRYING;
	cw_register_reset(c);
	/* A link that carried traffic for a while was a success: start the
	 * backoff over, as a registration reply does. */
	if (was_up && ct_now_ms_mono() - c->up_since_mono_ms >= CW_REGISTER_WAIT_S * 1000)
		c->backoff_s = 0;
	cw_flush_acks(c);
	cw_stream_reset(c);
	if (was_up) {
		log_warn("cloud link lost: %s", why);
		struct timeval g = { c->offline_grace, 0 };
		event_add(c->ev_grace, &g);
	} else {
		log_info("cloud connect failed: %s", why);
	}
	c->backoff_s = c->backoff_s == 0 ? 1 : c->backoff_s * 2;
	if (c->backoff_s > CW_BACKOFF_MAX_S)
		c->backoff_s = CW_BACKOFF_MAX_S;
	/* +-20% jitter so a site's edges do not all come back in step. */
	if (RAND_bytes((unsigned char *)&r, sizeof(r)) != 1)
		r = (uint32_t)ct_now_ms_mono();
	delay = (int64_t)c->backoff_s * 1000 * (80 + (int64_t)(r % 41)) / 100;
	c->next_try_ms = ct_now_ms_mono() + delay;
	arm(c->ev_retry, delay);
}

void
cw_link_start(struct cw *c)
{
	c->ev_retry = evtimer_new(c->base, retry_cb, c);
	c->ev_grace = evtimer_new(c->base, grace_cb, c);
	c->ev_ping = event_new(c->base, -1, EV_PERSIST, ping_cb, c);
	c->ev_deadline = evtimer_new(c->base, deadline_cb, c);
	if (c->ev_retry == NULL || c->ev_grace == NULL || c->ev_ping == NULL ||
	    c->ev_deadline == NULL || cw_register_init(c) != 0) {
		log_err("cannot create the link timers");
		return;
	}
	if (c->url[0] == '\0') {
		c->link = CW_DISABLED;
		log_info("no cloud url configured: offline only");
		cw_tell_link(c, false);
		return;
	}
	/* Until a registration, the store should not believe the link is up
	 * (its default for a fresh store): say "down" after the grace. */
	struct timeval g = { c->offline_grace, 0 };
	event_add(c->ev_grace, &g);
	connect_now(c);
}

void
cw_link_stop(struct cw *c)
{
	drop_client(c);
	if (c->link != CW_DISABLED)
		c->link = CW_RETRYING;
	if (c->ev_retry) event_free(c->ev_retry);
	if (c->ev_grace) event_free(c->ev_grace);
	if (c->ev_ping) event_free(c->ev_ping);
	if (c->ev_deadline) event_free(c->ev_deadline);
	c->ev_retry = c->ev_grace = c->ev_ping = c->ev_deadline = NULL;
	cw_register_stop(c);
}
