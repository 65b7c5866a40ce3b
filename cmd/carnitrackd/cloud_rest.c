/*
 * The REST transport (cloud_transport.h) for [cloud] transport = rest: the
 * edge speaks shared/protocol/REST_API.md to the cloud, every exchange a
 * short HTTP(S) request it starts (lib/http, lib/rest). These are the ops;
 * cloud_rest.h maps the files under them.
 *
 * What differs from the WebSocket link for the outbox: no batch-first
 * reporting (an offline batch is acknowledged after its events, in parts,
 * confirmed by the cloud's 2xx), sessions arrive by polling (the
 * differences from the store's, one at a time), and room() counts requests
 * in flight (REST_INFLIGHT) times the events one request carries.
 */
#include "cloud_rest.h"

#include <stdlib.h>
#include <string.h>

#include "log/log.h"

static void
copy_conf(struct cw_tp *t, const struct cw_tp_conf *c)
{
	t->batch_size = c->batch_size > 0 ? c->batch_size : 500;
}

static void
tp_free(struct cw_tp *t)
{
	rest_link_free(t);         /* no callback of a request after this */
	rest_identity_free(t);
	rest_events_free(t);
	rest_sessions_free(t);
	rest_health_free(t);
	free(t);
}

static struct cw_tp *
tp_create(const struct cw_tp_conf *c, const struct cw_up *up, void *arg)
{
	struct cw_tp *t = calloc(1, sizeof(*t));
	char err[HTTP_ERR_MAX] = "";

	if (t == NULL) {
		log_err("out of memory");
		return NULL;
	}
	t->up = up;
	t->arg = arg;
	t->base = c->base;
	t->id = c->id;
	t->link = CW_CONNECTING;
	snprintf(t->url, sizeof(t->url), "%s", c->url);
	snprintf(t->ca_file, sizeof(t->ca_file), "%s", c->ca_file);
	snprintf(t->pin, sizeof(t->pin), "%s", c->pin_sha256);
	snprintf(t->token, sizeof(t->token), "%s", c->token);
	t->allow_plaintext_token = c->allow_plaintext_token;
	copy_conf(t, c);
	if (rest_link_init(t, err, sizeof(err)) != 0 && err[0] == '\0')
		snprintf(err, sizeof(err), "out of memory");
	if (t->ev_probe == NULL || rest_identity_init(t) != 0 || rest_events_init(t) != 0 ||
	    rest_sessions_init(t) != 0 || rest_health_init(t) != 0) {
		log_err("cannot set up the REST transport (out of memory)");
		tp_free(t);
		return NULL;
	}
	if (err[0] != '\0') {
		/* a url lib/rest cannot use: said, and the link stays down */
		log_err("[cloud] url %s: %s", t->url, err);
		t->url_err = true;
		snprintf(t->last, sizeof(t->last), "[cloud] url: %s", err);
	}
	return t;
}

static void
tp_start(struct cw_tp *t)
{
	if (t->url_err) {
		t->link = CW_RETRYING;
		t->up->link(t->arg, CW_RETRYING, t->last);
		return;
	}
	rest_link_start(t);
}

static void
tp_reconfigure(struct cw_tp *t, const struct cw_tp_conf *c)
{
	copy_conf(t, c);
}

static json_t *
age_s(int64_t since_mono_ms)
{
	return since_mono_ms > 0 ? json_integer((ct_now_ms_mono() - since_mono_ms) / 1000) :
	    json_null();
}

#define SETI(k, v) json_object_set_new(o, k, json_integer((json_int_t)(v)))

static void
tp_status(struct cw_tp *t, json_t *o)
{
	struct http_stats hs = { 0 };

	if (t->http != NULL)
		http_client_stats(t->http, &hs);
	json_object_set_new(o, "url", json_string(t->url));
	json_object_set_new(o, "api_base", t->rb.edge[0] ? json_string(t->rb.edge) :
	    json_null());
	json_object_set_new(o, "last_request", t->last[0] ? json_string(t->last) : json_null());
	json_object_set_new(o, "last_request_age_s", age_s(t->last_ms));
	SETI("requests_in_flight", hs.in_flight);
	SETI("requests_queued", hs.queued);
	SETI("event_requests_in_flight", t->ev_inflight);
	SETI("requests", t->requests);
	SETI("request_failures", t->failures);
	SETI("requests_unanswered", t->offline);
	SETI("connections_open", hs.open_conns);
	SETI("connections_made", hs.connects);
	SETI("requests_on_kept_connections", hs.reused);
	SETI("request_retries", hs.retries);
	SETI("session_poll_interval_ms", t->poll_ms);
	json_object_set_new(o, "etag_age_s", t->etag[0] ? age_s(t->etag_ms) : json_null());
	SETI("session_polls", t->polls);
	SETI("session_polls_not_modified", t->polls_304);
	SETI("session_changes", t->session_changes);
	json_object_set_new(o, "registered", json_string(t->reg == REST_REG_RUNNING ?
	    "registering" : t->activating ? "activating" : t->id->edge_id[0] ? "yes" : "no"));
	json_object_set_new(o, "last_registration", t->reg_last[0] ? json_string(t->reg_last) :
	    json_null());
	SETI("registrations", t->registrations);
	SETI("identity_recoveries", t->recoveries);
	SETI("registration_failures", t->reg_failures);
	SETI("events_per_request", rest_events_max(t));
	SETI("batches_too_large", t->too_large);
	SETI("batches_refused", t->batch_refused);
	SETI("event_requests", t->ev_requests);
	SETI("batch_requests", t->batch_requests);
	SETI("heartbeats", t->heartbeats);
	SETI("heartbeat_failures", t->hb_failures);
	SETI("device_status_sent", t->dev_status_sent);
	SETI("device_status_dropped", t->dev_status_dropped);
	SETI("batch_acks", t->acks_sent);
	SETI("batch_ack_failures", t->acks_failed);
	if (t->link == CW_RETRYING && t->ev_probe != NULL &&
	    evtimer_pending(t->ev_probe, NULL)) {
		int64_t left = t->next_probe_ms - ct_now_ms_mono();
		SETI("next_retry_s", left > 0 ? (left + 999) / 1000 : 0);
	}
}

const struct cw_transport_ops cw_rest_transport = {
	.name = "rest",
	.flags = 0,
	.create = tp_create,
	.start = tp_start,
	.free = tp_free,
	.reconfigure = tp_reconfigure,
	.room = rest_events_room,
	.events_begin = rest_events_begin,
	.event_add = rest_event_add,
	.events_send = rest_events_send,
	.batch_closed = NULL,
	.batch_delivered = rest_batch_ack,
	.device = rest_device,
	.identity_changed = rest_identity_reset,
	.activate = rest_activate,
	.status = tp_status,
};
