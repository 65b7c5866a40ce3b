/*
 * The cloud worker: worker ops, configuration (the token file above all),
 * the once-a-second tick (resends, status message, store re-open, day
 * rollover) and the status figures for carnitrackctl.
 */
#include "cloud_worker.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ipc/pack.h"
#include "log/log.h"
#include "util/secret_file.h"
#include "ws/ws_client.h"

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

void
cw_kick(struct cw *c)
{
	if (c->ev_flush != NULL)
		event_active(c->ev_flush, EV_TIMEOUT, 0);
}

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
send_status(struct cw *c)
{
	struct store_stats ss;
	struct cm_status s = { .version = CT_VERSION,
	    .uptime_s = (ct_now_ms_mono() - c->started_ms) / 1000, .health = "ok",
	    .scales = (uint32_t)cw_connected_scales(c), .in_flight = c->fl.n,
	    .acked_today = c->acked_today };

	if (c->st != NULL && store_stats_get(c->st, &ss) == STORE_OK) {
		s.backlog = ss.pending;
		if (ss.full)
			s.health = "degraded";
	}
	cw_send(c, "status", cm_status_payload(&s));
}

static void
tick_cb(evutil_socket_t fd, short what, void *arg)
{
	struct cw *c = arg;
	int64_t now = ct_now_ms_mono();
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
	if (c->link == CW_UP && now >= c->next_status_ms) {
		c->next_status_ms = now + (int64_t)c->status_interval * 1000;
		send_status(c);
	}
	/* A WORK_READY can be lost (channel full) or beat our store open: a
	 * cheap look once a second keeps the stream from stalling. */
	if (c->link == CW_UP)
		cw_kick(c);
}

static void
copy_conf(struct cw *c, const struct ct_conf *conf)
{
	snprintf(c->url, sizeof(c->url), "%s", conf->url);
	snprintf(c->register_url, sizeof(c->register_url), "%s", conf->register_url);
	snprintf(c->ca_file, sizeof(c->ca_file), "%s", conf->ca_file);
	snprintf(c->pin, sizeof(c->pin), "%s", conf->pin_sha256);
	snprintf(c->token_file, sizeof(c->token_file), "%s", conf->token_file);
	snprintf(c->data_dir, sizeof(c->data_dir), "%s", conf->data_dir);
	snprintf(c->conf_site_id, sizeof(c->conf_site_id), "%s", conf->site_id);
	snprintf(c->conf_site_name, sizeof(c->conf_site_name), "%s", conf->site_name);
	c->ping_interval = conf->ping_interval > 0 ? conf->ping_interval : 30;
	c->offline_grace = conf->offline_grace >= 0 ? conf->offline_grace : 5;
	c->batch_size = conf->batch_size > 0 ? conf->batch_size : 500;
	c->window = conf->window > 0 ? conf->window : 1000;
	c->ack_timeout = conf->ack_timeout > 0 ? conf->ack_timeout : 30;
	c->status_interval = conf->status_interval > 0 ? conf->status_interval : 60;
	c->allow_plaintext_token = conf->allow_plaintext_token;
}

/* Anything the link or the window depends on changed: simplest and surest
 * is a fresh worker (the supervisor restarts it at once). */
static bool
needs_restart(const struct cw *c, const struct ct_conf *n, const char *token)
{
	return strcmp(c->url, n->url) || strcmp(c->register_url, n->register_url) ||
	    strcmp(c->ca_file, n->ca_file) ||
	    strcmp(c->pin, n->pin_sha256) || strcmp(c->token, token) ||
	    strcmp(c->data_dir, n->data_dir) || c->window != n->window ||
	    strcmp(c->conf_site_id, n->site_id);
}

static int
cw_configure(struct worker *w, const struct ct_conf *conf, bool first)
{
	struct cw *c = worker_data(w);
	static char token[CW_TOKEN_MAX];
	struct store_identity id;

	if (read_token(conf->token_file, token, sizeof(token)) != 0)
		return -1;
	if (!first) {
		if (needs_restart(c, conf, token)) {
			log_info("cloud settings changed: restarting the cloud worker");
			worker_exit(w, CT_EXIT_RESTART);
			return 0;
		}
		copy_conf(c, conf);
		return 0;
	}
	if ((c = calloc(1, sizeof(*c))) == NULL) {
		log_err("out of memory");
		return -1;
	}
	c->w = w;
	c->base = worker_base(w);
	c->last_rtt_ms = -1;
	c->started_ms = ct_now_ms_mono();
	c->today = today();
	copy_conf(c, conf);
	snprintf(c->token, sizeof(c->token), "%s", token);
	if (cwf_init(&c->fl, (uint32_t)c->window) != 0) {
		log_err("out of memory for a window of %d events", c->window);
		free(c);
		return -1;
	}
	cw_frames_init(c);
	c->ev_flush = event_new(c->base, -1, 0, flush_cb, c);
	c->ev_tick = event_new(c->base, -1, EV_PERSIST, tick_cb, c);
	if (c->ev_flush == NULL || c->ev_tick == NULL) {
		log_err("cannot create timers");
		return -1;
	}
	event_add(c->ev_tick, &(struct timeval){ 1, 0 });
	worker_set_data(w, c);
	/* Identity we were given before, so we register as ourselves. */
	if (cw_open_store(c) && store_identity_get(c->st, &id) == STORE_OK) {
		snprintf(c->edge_id, sizeof(c->edge_id), "%s", id.edge_id);
		snprintf(c->site_id, sizeof(c->site_id), "%s", id.site_id);
		snprintf(c->site_name, sizeof(c->site_name), "%s", id.site_name);
		snprintf(c->id_source, sizeof(c->id_source), "%s", id.source);
	}
	c->next_status_ms = ct_now_ms_mono() + (int64_t)c->status_interval * 1000;
	cw_link_start(c);
	return 0;
}

/* carnitrackctl identity --reset went through the store: take what it
 * left (nothing), and make a fresh link so the upgrade carries no old
 * X-Edge-Id and `register` asks for a new identity. */
static void
identity_reload(struct cw *c)
{
	struct store_identity id;
	int e;

	if (!cw_open_store(c))
		return;
	memset(&id, 0, sizeof(id));
	if ((e = store_identity_get(c->st, &id)) != STORE_OK && e != STORE_NOTFOUND)
		return;
	if (strcmp(id.edge_id, c->edge_id) == 0 && strcmp(id.site_id, c->site_id) == 0)
		return;
	log_warn("identity changed in the store (%s): edge id %s -> %s", id.source[0] ? id.source :
	    "no source", c->edge_id[0] ? c->edge_id : "(none)", id.edge_id[0] ? id.edge_id : "(none)");
	snprintf(c->edge_id, sizeof(c->edge_id), "%s", id.edge_id);
	snprintf(c->site_id, sizeof(c->site_id), "%s", id.site_id);
	snprintf(c->site_name, sizeof(c->site_name), "%s", id.site_name);
	snprintf(c->id_source, sizeof(c->id_source), "%s", id.source);
	c->identity_resets++;
	if (c->link == CW_UP || c->link == CW_CONNECTING) {
		c->backoff_s = 0;
		cw_link_lost(c, "identity reset: reconnecting to register afresh");
	}
}

static void
on_work_ready(struct cw *c, const struct frame *f)
{
	struct unpack u;
	uint8_t flags;

	unpack_init(&u, f->payload, f->plen);
	flags = unpack_u8(&u);
	if (!unpack_done(&u)) {
		log_warn("WORK_READY frame malformed, ignored");
		return;
	}
	if (!cw_open_store(c))
		return;
	if (flags & CT_WORK_IDENTITY)
		identity_reload(c);
	if (c->link != CW_UP)
		return;          /* the next link reads everything anyway */
	if (flags & CT_WORK_BATCHES)
		cw_report_batches(c);
	if (flags & CT_WORK_DEVICES)
		c->devices_dirty = true;
	cw_kick(c);
}

static void
cw_frame(struct worker *w, const struct frame *f)
{
	struct cw *c = worker_data(w);

	if (c == NULL)
		return;
	if (f->hdr.type == CT_MSG_WORK_READY)
		on_work_ready(c, f);
	else
		log_warn("unexpected %s frame, dropped", ct_msg_name(f->hdr.type));
}

static void
cw_peer(struct worker *w, enum ct_proc peer, bool up)
{
	struct cw *c = worker_data(w);

	if (c == NULL || peer != P_STORE || !up)
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

	if (c == NULL)
		return;
	json_object_set_new(o, "link_state", json_string(cw_link_name(c->link)));
	/* No cloud configured is a choice, not a fault; a configured link that
	 * is not up makes the edge degraded (carnitrackctl status exits 1). */
	json_object_set_new(o, "health", json_string(c->link == CW_UP || c->link == CW_DISABLED ?
	    "ok" : "degraded"));
	json_object_set_new(o, "messages_rate_limited", json_integer((json_int_t)c->msgs_rate_limited));
	json_object_set_new(o, "ctrl_frames_limited", json_integer((json_int_t)cw_ctrl_limited(c)));
	json_object_set_new(o, "dropped_not_reading", json_integer((json_int_t)cw_backlog_drops(c)));
	json_object_set_new(o, "url", json_string(c->url));
	if (c->link == CW_UP) {
		ct_iso_from_ms(c->up_since_ms, since);
		json_object_set_new(o, "connected_since", json_string(since));
	} else {
		json_object_set_new(o, "connected_since", json_null());
	}
	json_object_set_new(o, "last_error", c->last_error[0] ? json_string(c->last_error) : json_null());
	json_object_set_new(o, "edge_id", c->edge_id[0] ? json_string(c->edge_id) : json_null());
	json_object_set_new(o, "site_id", cw_site_id(c)[0] ? json_string(cw_site_id(c)) : json_null());
	json_object_set_new(o, "identity_source", c->id_source[0] ? json_string(c->id_source) :
	    json_null());
	/* Registration is information, never a gate (issue 12). */
	json_object_set_new(o, "registered", json_string(c->reg == CW_REG_REPLIED ? c->reg_via :
	    c->reg == CW_REG_WAITING ? "no reply (streaming)" : "no (link down)"));
	json_object_set_new(o, "identity_resets", json_integer((json_int_t)c->identity_resets));
	if (c->register_url[0]) {
		json_object_set_new(o, "register_url", json_string(c->register_url));
		json_object_set_new(o, "http_registration", c->http_reg_pending ?
		    json_string("pending") : c->http_reg_last[0] ? json_string(c->http_reg_last) :
		    json_null());
		json_object_set_new(o, "http_registration_failures",
		    json_integer((json_int_t)c->http_reg_failures));
	}
	json_object_set_new(o, "in_flight", json_integer(c->fl.n));
	json_object_set_new(o, "acknowledged_today", json_integer((json_int_t)c->acked_today));
	json_object_set_new(o, "last_ping_rtt_ms", c->last_rtt_ms >= 0 ? json_integer(c->last_rtt_ms) : json_null());
	if (c->link == CW_RETRYING) {
		int64_t left = c->next_try_ms - ct_now_ms_mono();
		json_object_set_new(o, "next_retry_s", json_integer(left > 0 ? (left + 999) / 1000 : 0));
	}
	json_object_set_new(o, "connects", json_integer((json_int_t)c->connects));
	json_object_set_new(o, "events_sent", json_integer((json_int_t)c->events_sent));
	json_object_set_new(o, "events_resent", json_integer((json_int_t)c->events_resent));
	json_object_set_new(o, "acknowledged", json_integer((json_int_t)c->acked_total));
	json_object_set_new(o, "duplicates", json_integer((json_int_t)c->duplicates));
	json_object_set_new(o, "rejected", json_integer((json_int_t)c->rejected));
	json_object_set_new(o, "batches_reported", json_integer((json_int_t)c->batches_reported));
	json_object_set_new(o, "messages_bad", json_integer((json_int_t)c->msgs_bad));
	json_object_set_new(o, "messages_unknown", json_integer((json_int_t)c->msgs_unknown));
	json_t *ut = json_array();
	for (unsigned i = 0; ut != NULL && i < c->nunknown_types; i++)
		json_array_append_new(ut, json_string(c->unknown_types[i]));
	if (ut != NULL)
		json_object_set_new(o, "unknown_types", ut);
	json_object_set_new(o, "messages_binary", json_integer((json_int_t)c->msgs_binary));
	json_object_set_new(o, "timestamps_unreadable", json_integer((json_int_t)c->times_unreadable));
	json_object_set_new(o, "cloud_errors", json_integer((json_int_t)c->cloud_errors));
	json_object_set_new(o, "rejected_as_duplicate",
	    json_integer((json_int_t)c->rejected_as_duplicate));
	if (c->st == NULL && c->store_err[0])
		json_object_set_new(o, "store_error", json_string(c->store_err));
}

static void
cw_shutdown(struct worker *w)
{
	struct cw *c = worker_data(w);

	if (c != NULL) {
		cw_flush_acks(c);
		cw_link_stop(c);
		if (c->ev_flush) event_free(c->ev_flush);
		if (c->ev_tick) event_free(c->ev_tick);
		c->ev_flush = c->ev_tick = NULL;
		if (c->st != NULL)
			store_close(c->st);
		c->st = NULL;
		cwf_free(&c->fl);
		cm_buf_free(&c->body);
		cm_buf_free(&c->msg);
		worker_set_data(w, NULL);
		free(c);
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
