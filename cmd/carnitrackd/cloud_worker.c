/*
 * The cloud worker: worker ops, configuration (the token file above all),
 * the transport it speaks through (cloud_transport.h) and the upcalls that
 * transport makes, the end-of-turn flush, the once-a-second tick (resends,
 * store re-open, day rollover) and the status figures for carnitrackctl.
 */
#include "cloud_worker.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ipc/pack.h"
#include "log/log.h"
#include "util/secret_file.h"

/* The bearer token: refused, not merely warned about, when anyone but
 * this service could read or change it (lib/util/secret_file.c): it is
 * the site's credential to the cloud. */
static int
read_token(const char *path, char *out, size_t cap)
{
	char err[512];

	out[0] = '\0';
	if (path[0] == '\0')
		return 0;
	if (secret_file_read(path, "[cloud] token_file", out, cap, err, sizeof(err)) != 0) {
		log_err("%s", err);
		return -1;
	}
	return 0;
}

static int
today(void)
{
	time_t t = time(NULL);
	struct tm tm;

	if (localtime_r(&t, &tm) == NULL)
		return 0;
	return tm.tm_year * 400 + tm.tm_yday;
}

/* ------------------------------------------------------------ upcalls */

static void
up_link(void *arg, enum cw_link state, const char *why)
{
	cw_link_changed(arg, state, why);
}

static void
up_ready(void *arg)
{
	cw_kick(arg);
}

static void
up_results(void *arg, const struct cw_result *r, size_t n)
{
	cw_results(arg, r, n);
}

static int
up_identity(void *arg, const struct cm_identity *id, const char *via)
{
	return cw_identity_take(arg, id, via);
}

static void
up_identity_forget(void *arg, const char *why)
{
	cw_identity_forget(arg, why);
}

static void
up_session(void *arg, const struct cm_session *s)
{
	cw_send_session(arg, s);      /* lost: the cloud sends it again on reconnect */
}

static int
up_sessions_held(void *arg, store_session_cb cb, void *cbarg)
{
	struct cw *c = arg;

	if (!cw_open_store(c))
		return STORE_NOTFOUND;
	return store_sessions_iter(c->st, cb, cbarg);
}

static void
up_plu(void *arg, const struct cm_plu *p)
{
	cw_send_plu(arg, p);          /* lost: the cloud sends it again on reconnect */
}

static void
up_health(void *arg, struct cm_status *s)
{
	struct cw *c = arg;
	struct store_stats ss;

	*s = (struct cm_status){ .version = CT_VERSION,
	    .uptime_s = (ct_now_ms_mono() - c->started_ms) / 1000, .health = "ok",
	    .scales = (uint32_t)cw_connected_scales(c), .in_flight = c->fl.n,
	    .acked_today = c->acked_today };
	if (c->st != NULL && store_stats_get(c->st, &ss) == STORE_OK) {
		s->backlog = ss.pending;
		if (ss.full)
			s->health = "degraded";
	}
}

static void
up_batch_acked(void *arg, const uint8_t id[CT_UUID_LEN], unsigned part, bool ok)
{
	cw_batch_acked(arg, id, part, ok);
}

/* The answer to carnitrackctl activate, to the supervisor (ACTIVATE_DONE,
 * the request's frame id); lost when the channel is full: ctl times out. */
static void
send_activated(struct cw *c, uint32_t ticket, bool ok, const char *text)
{
	uint8_t buf[1024];
	char t[512];
	struct pack pk;

	snprintf(t, sizeof(t), "%s", text != NULL ? text : "");
	pack_init(&pk, buf, sizeof(buf));
	pack_u8(&pk, ok ? 1 : 0);
	pack_str(&pk, t);
	if (!pack_ok(&pk))
		fatalx("ACTIVATE_DONE frame of %zu bytes does not fit its %zu", pk.len,
		    sizeof(buf));
	if (worker_send(c->w, CT_MSG_ACTIVATE_DONE, ticket, buf, pk.len) != 0)
		log_warn("ACTIVATE_DONE not sent: channel full (carnitrackctl times out)");
}

static void
up_activated(void *arg, uint32_t ticket, bool ok, const char *text)
{
	send_activated(arg, ticket, ok, text);
}

static const struct cw_up up = {
	.link = up_link,
	.ready = up_ready,
	.results = up_results,
	.identity = up_identity,
	.identity_forget = up_identity_forget,
	.session = up_session,
	.sessions_held = up_sessions_held,
	.plu = up_plu,
	.health = up_health,
	.batch_acked = up_batch_acked,
	.activated = up_activated,
};

/* ------------------------------------------------------------ the loop */

/* End of a loop turn: acks to store first (they free the window), then as
 * many new events as the window takes; scale changes around them so that a
 * scale's connect precedes its events and its disconnect follows them. */
static void
flush_cb(evutil_socket_t fd, short what, void *arg)
{
	struct cw *c = arg;
	bool dev = c->devices_dirty && c->link == CW_UP;

	cw_flush_acks(c);
	if (dev)
		cw_announce_devices(c, CW_DEV_NEW);
	cw_fill(c);
	if (dev)
		cw_announce_devices(c, CW_DEV_GONE);
	c->devices_dirty = false;
}

static void
tick_cb(evutil_socket_t fd, short what, void *arg)
{
	struct cw *c = arg;
	int d = today();

	if (d != c->today) {
		c->today = d;
		c->acked_today = 0;
	}
	if (c->st == NULL && c->link == CW_UP && cw_open_store(c)) {
		cw_announce_devices(c, CW_DEV_ALL);
		cw_report_batches(c);
		cw_kick(c);
	}
	cw_resend_expired(c);
	if (c->link == CW_UP)
		cw_batches_tick(c);
	/* A WORK_READY can be lost (channel full) or beat our store open: a
	 * cheap look once a second keeps the stream from stalling. */
	if (c->link == CW_UP)
		cw_kick(c);
}

/* ------------------------------------------------------------ configuration */

static void
copy_conf(struct cw *c, const struct ct_conf *conf)
{
	c->transport = conf->transport;
	snprintf(c->url, sizeof(c->url), "%s", conf->url);
	snprintf(c->register_url, sizeof(c->register_url), "%s", conf->register_url);
	snprintf(c->ca_file, sizeof(c->ca_file), "%s", conf->ca_file);
	snprintf(c->pin, sizeof(c->pin), "%s", conf->pin_sha256);
	snprintf(c->token_file, sizeof(c->token_file), "%s", conf->token_file);
	snprintf(c->data_dir, sizeof(c->data_dir), "%s", conf->data_dir);
	snprintf(c->id.conf_site_id, sizeof(c->id.conf_site_id), "%s", conf->site_id);
	snprintf(c->id.conf_site_name, sizeof(c->id.conf_site_name), "%s", conf->site_name);
	c->ping_interval = conf->ping_interval > 0 ? conf->ping_interval : 30;
	c->offline_grace = conf->offline_grace >= 0 ? conf->offline_grace : 5;
	c->batch_size = conf->batch_size > 0 ? conf->batch_size : 500;
	c->window = conf->window > 0 ? conf->window : 1000;
	c->ack_timeout = conf->ack_timeout > 0 ? conf->ack_timeout : 30;
	c->status_interval = conf->status_interval > 0 ? conf->status_interval : 60;
	c->allow_plaintext_token = conf->allow_plaintext_token;
}

static struct cw_tp_conf
tp_conf(const struct cw *c)
{
	return (struct cw_tp_conf){ .base = c->base, .url = c->url,
	    .register_url = c->register_url, .ca_file = c->ca_file, .pin_sha256 = c->pin,
	    .token = c->token, .allow_plaintext_token = c->allow_plaintext_token,
	    .ping_interval = c->ping_interval, .status_interval = c->status_interval,
	    .batch_size = c->batch_size, .id = &c->id };
}

/* Anything the link or the window depends on changed: simplest and surest
 * is a fresh worker (the supervisor restarts it at once). */
static bool
needs_restart(const struct cw *c, const struct ct_conf *n, const char *token)
{
	return c->transport != n->transport || strcmp(c->url, n->url) ||
	    strcmp(c->register_url, n->register_url) ||
	    strcmp(c->ca_file, n->ca_file) ||
	    strcmp(c->pin, n->pin_sha256) || strcmp(c->token, token) ||
	    strcmp(c->data_dir, n->data_dir) || c->window != n->window ||
	    strcmp(c->id.conf_site_id, n->site_id);
}

static void
cw_free(struct cw *c)
{
	if (c->tp != NULL)
		c->tp_ops->free(c->tp);
	cw_link_stop(c);
	if (c->ev_flush) event_free(c->ev_flush);
	if (c->ev_tick) event_free(c->ev_tick);
	if (c->st != NULL)
		store_close(c->st);
	evw_free(&c->fl);
	free(c);
}

static int
cw_start(struct worker *w, const struct ct_conf *conf, const char *token)
{
	struct cw *c = calloc(1, sizeof(*c));
	struct cw_tp_conf tc;

	if (c == NULL) {
		log_err("out of memory");
		return -1;
	}
	c->w = w;
	c->base = worker_base(w);
	c->started_ms = ct_now_ms_mono();
	c->today = today();
	copy_conf(c, conf);
	/* one config line picks the protocol; the outbox is the same */
	c->tp_ops = c->transport == CT_TRANSPORT_REST ? &cw_rest_transport : &cw_ws_transport;
	snprintf(c->token, sizeof(c->token), "%s", token);
	if (evw_init(&c->fl, (uint32_t)c->window) != 0) {
		log_err("out of memory for a window of %d events", c->window);
		free(c);
		return -1;
	}
	cw_frames_init(c);
	c->ev_flush = event_new(c->base, -1, 0, flush_cb, c);
	c->ev_tick = event_new(c->base, -1, EV_PERSIST, tick_cb, c);
	tc = tp_conf(c);
	if (c->ev_flush == NULL || c->ev_tick == NULL ||
	    (c->tp = c->tp_ops->create(&tc, &up, c)) == NULL) {
		log_err("cannot set up the cloud link (out of memory)");
		cw_free(c);
		return WORKER_RETRY;
	}
	event_add(c->ev_tick, &(struct timeval){ 1, 0 });
	worker_set_data(w, c);
	cw_identity_load(c);
	if (cw_link_start(c) != 0) {
		log_err("cannot create the link timers");
		worker_set_data(w, NULL);
		cw_free(c);
		return WORKER_RETRY;
	}
	return 0;
}

static int
cw_configure(struct worker *w, const struct ct_conf *conf, bool first)
{
	struct cw *c = worker_data(w);
	static char token[CW_TOKEN_MAX];
	struct cw_tp_conf tc;

	if (read_token(conf->token_file, token, sizeof(token)) != 0)
		return -1;
	if (first)
		return cw_start(w, conf, token);
	if (needs_restart(c, conf, token)) {
		log_info("cloud settings changed: restarting the cloud worker");
		worker_exit(w, CT_EXIT_RESTART);
		return 0;
	}
	copy_conf(c, conf);
	tc = tp_conf(c);
	c->tp_ops->reconfigure(c->tp, &tc);
	return 0;
}

/* ------------------------------------------------------------ worker ops */

static void
on_work_ready(struct cw *c, const struct frame *f)
{
	uint8_t flags = f->payload[0];    /* messages.def: exactly one byte */

	if (!cw_open_store(c))
		return;
	if (flags & CT_WORK_IDENTITY)
		cw_identity_reload(c);
	if (c->link != CW_UP)
		return;          /* the next link reads everything anyway */
	if (flags & CT_WORK_BATCHES)
		cw_report_batches(c);
	if (flags & CT_WORK_DEVICES)
		c->devices_dirty = true;
	cw_kick(c);
}

/* carnitrackctl activate CODE, through the supervisor; the answer goes
 * back with the same frame id (ACTIVATE_DONE). */
static void
on_activate(struct cw *c, const struct frame *f)
{
	char code[CT_ACTIVATE_CODE_MAX + 1], err[256];
	struct unpack u;

	unpack_init(&u, f->payload, f->plen);
	unpack_str(&u, code, sizeof(code));
	if (!unpack_done(&u)) {
		send_activated(c, f->hdr.id, false, "malformed request");
		return;
	}
	if (c->tp_ops->activate == NULL) {
		snprintf(err, sizeof(err), "setup codes are a REST cloud's: this edge speaks %s "
		    "([cloud] transport = rest to use one)", c->tp_ops->name);
		send_activated(c, f->hdr.id, false, err);
		return;
	}
	if (c->tp_ops->activate(c->tp, code, f->hdr.id, err, sizeof(err)) != 0)
		send_activated(c, f->hdr.id, false, err);
}

static void
cw_frame(struct worker *w, const struct frame *f)
{
	struct cw *c = worker_data(w);

	if (c == NULL)
		return;
	if (f->hdr.type == CT_MSG_WORK_READY)
		on_work_ready(c, f);
	else if (f->hdr.type == CT_MSG_ACTIVATE)
		on_activate(c, f);
	else
		fatalx("messages.def routes %s to the cloud worker, which has no handler for it",
		    ct_msg_name(f->hdr.type));
}

static void
cw_peer(struct worker *w, enum ct_proc peer, bool is_up)
{
	struct cw *c = worker_data(w);

	if (c == NULL || peer != P_STORE || !is_up)
		return;
	/* A new store may have lost frames in flight to the old one: tell it
	 * the link and identity again, and start the stream over (what was
	 * acked already comes back "duplicate"). */
	if (c->link == CW_UP) {
		cw_send_identity(c);
		cw_send_link(c, true);
	} else if (c->link_told && !c->link_told_up) {
		cw_send_link(c, false);
	}
	cw_stream_reset(c);
	cw_kick(c);
}

static void
cw_status(struct worker *w, json_t *o)
{
	struct cw *c = worker_data(w);
	char since[CT_ISO_MAX];
	const char *site;

	if (c == NULL)
		return;
	site = cw_site_id(&c->id);
	json_object_set_new(o, "transport", json_string(c->tp_ops->name));
	json_object_set_new(o, "link_state", json_string(cw_link_name(c->link)));
	/* No cloud configured is a choice, not a fault; a configured link that
	 * is not up makes the edge degraded (carnitrackctl status exits 1). */
	json_object_set_new(o, "health", json_string(c->link == CW_UP || c->link == CW_DISABLED ?
	    "ok" : "degraded"));
	c->tp_ops->status(c->tp, o);
	if (c->link == CW_UP) {
		ct_iso_from_ms(c->up_since_ms, since);
		json_object_set_new(o, "connected_since", json_string(since));
	} else {
		json_object_set_new(o, "connected_since", json_null());
	}
	json_object_set_new(o, "last_error", c->last_error[0] ? json_string(c->last_error) :
	    json_null());
	json_object_set_new(o, "edge_id", c->id.edge_id[0] ? json_string(c->id.edge_id) :
	    json_null());
	json_object_set_new(o, "site_id", site[0] ? json_string(site) : json_null());
	json_object_set_new(o, "identity_source", c->id.source[0] ? json_string(c->id.source) :
	    json_null());
	json_object_set_new(o, "identity_resets", json_integer((json_int_t)c->identity_resets));
	json_object_set_new(o, "in_flight", json_integer(c->fl.n));
	json_object_set_new(o, "acknowledged_today", json_integer((json_int_t)c->acked_today));
	json_object_set_new(o, "events_sent", json_integer((json_int_t)c->events_sent));
	json_object_set_new(o, "events_resent", json_integer((json_int_t)c->events_resent));
	json_object_set_new(o, "acknowledged", json_integer((json_int_t)c->acked_total));
	json_object_set_new(o, "duplicates", json_integer((json_int_t)c->duplicates));
	json_object_set_new(o, "rejected", json_integer((json_int_t)c->rejected));
	json_object_set_new(o, "batches_reported", json_integer((json_int_t)c->batches_reported));
	if (c->tp_ops->batch_delivered != NULL) {
		json_object_set_new(o, "batch_ack_parts", json_integer((json_int_t)c->ack_parts));
		json_object_set_new(o, "batch_ack_failures",
		    json_integer((json_int_t)c->ack_failures));
	}
	if (c->st == NULL && c->store_err[0])
		json_object_set_new(o, "store_error", json_string(c->store_err));
}

static void
cw_shutdown(struct worker *w)
{
	struct cw *c = worker_data(w);

	if (c != NULL) {
		cw_flush_acks(c);
		worker_set_data(w, NULL);
		cw_free(c);
	}
	worker_exit(w, CT_EXIT_OK);
}

const struct worker_ops cloud_worker_ops = {
	.configure = cw_configure,
	.frame = cw_frame,
	.peer = cw_peer,
	.status = cw_status,
	.shutdown = cw_shutdown,
};
