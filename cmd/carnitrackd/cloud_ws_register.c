/*
 * Who the edge is to the cloud, as the WebSocket contract says it:
 * registration and identity recovery. The identity itself is the outbox's
 * (cloud_identity.c): it is read here and changed only through upcalls.
 *
 * Registration never holds delivery back (issue 12). On every open link the
 * edge sends `register` and, when [cloud] register_url is set, POSTs the same
 * payload there (lib/http, with the bearer token when one is configured); the
 * stream starts at once either way. The
 * identity is taken from whichever answer comes: edge_registered, a
 * config_update carrying edgeId, the HTTP reply ({edgeId, siteId} in
 * camelCase or snake_case) - or none: after WS_REGISTER_WAIT_S the edge says
 * once that it streams without a reply, and status shows "no reply
 * (streaming)".
 *
 * Identity recovery: when the cloud shows it does not know the identity we
 * hold (an upgrade or HTTP registration refused 401/403/404, an `error`
 * message naming the edge unknown), ws_identity_refused has the outbox
 * forget it and registers afresh; a registration answered with another
 * edgeId is simply taken. The backlog is never touched.
 */
#include "cloud_ws.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "http/http_client.h"
#include "log/log.h"

#define WS_HTTP_REG_ATTEMPTS 3          /* 5xx/network retried by lib/http */

/* The cloud answered our registration: identity already taken. */
static void
registration_reply(struct cw_tp *t, const char *via)
{
	t->backoff_s = 0;
	if (t->link != CW_UP)
		return;
	event_del(t->ev_regwait);
	if (t->reg != WS_REG_REPLIED)
		log_info("registered with %s as %s (site %s), by %s", t->url, t->id->edge_id,
		    cw_site_id(t->id)[0] ? cw_site_id(t->id) : "-", via);
	t->reg = WS_REG_REPLIED;
	snprintf(t->reg_via, sizeof(t->reg_via), "%s", via);
	t->registrations++;
}

void
ws_take_identity(struct cw_tp *t, const struct cm_identity *id, const char *via)
{
	if (t->up->identity(t->arg, id, via) == 0 && id->has_edge_id)
		registration_reply(t, via);
}

/* ------------------------------------------------------------ HTTP */

static void
http_done(const struct http_result *r, void *arg)
{
	struct cw_tp *t = arg;
	struct cm_identity id;
	char err[CM_ERR_MAX], why[64];

	t->http_reg_pending = false;
	if (http_result_ok(r)) {
		if (cm_decode_registration(r->body, r->body_len, &id, err, sizeof(err)) == 0) {
			snprintf(t->http_reg_last, sizeof(t->http_reg_last), "%d: edge id %s",
			    r->status, id.edge_id);
			ws_take_identity(t, &id, "http");
			return;
		}
		t->http_reg_failures++;
		snprintf(t->http_reg_last, sizeof(t->http_reg_last), "%d, unreadable: %s",
		    r->status, err);
		log_warn("HTTP registration at %s answered %d with a body we cannot read (%s); "
		    "streaming anyway", t->register_url, r->status, err);
		return;
	}
	t->http_reg_failures++;
	snprintf(t->http_reg_last, sizeof(t->http_reg_last), "%s", r->error_text);
	if (r->status == 401 || r->status == 403 || r->status == 404) {
		snprintf(why, sizeof(why), "HTTP registration refused with %d", r->status);
		ws_identity_refused(t, why, false);
		if (t->id->edge_id[0] == '\0' && t->http_reg_pending)
			return;      /* registering afresh already */
	}
	/* Not fatal: the WebSocket link streams regardless; the next link
	 * tries again (one POST, with lib/http's retries, per link). */
	log_warn("HTTP registration failed: %s; streaming anyway", r->error_text);
}

/* POST the register payload to [cloud] register_url; one at a time. */
static void
http_register(struct cw_tp *t, json_t *payload)
{
	struct http_req rq = { .method = HTTP_POST, .flags = HTTP_NO_EDGE_ID,
	    .max_attempts = WS_HTTP_REG_ATTEMPTS };
	char err[HTTP_ERR_MAX] = "", *body;

	if (t->register_url[0] == '\0' || t->http_reg_pending)
		return;
	if (t->http == NULL) {
		struct http_client_opts o = { .url = t->register_url,
		    .ca_file = t->ca_file[0] ? t->ca_file : NULL,
		    .pin_sha256 = t->pin[0] ? t->pin : NULL, .token = t->token,
		    .max_conns = 1, .max_requests = 2 };
		/* The config check refuses a token over http:// unless allowed. */
		if (t->token[0] != '\0' && strncmp(t->register_url, "http://", 7) == 0)
			log_warn("sending the bearer token to %s unencrypted (http://, "
			    "allow_plaintext_token = yes): anyone on the path can read it",
			    t->register_url);
		if ((t->http = http_client_new(t->base, NULL, &o, err, sizeof(err))) == NULL) {
			log_warn("[cloud] register_url %s: %s", t->register_url, err);
			return;
		}
	}
	if ((body = json_dumps(payload, JSON_COMPACT | JSON_PRESERVE_ORDER)) == NULL)
		return;
	http_client_set_identity(t->http, NULL, cw_site_id(t->id), err, sizeof(err));
	rq.body = body;
	rq.body_len = strlen(body);
	if (http_request(t->http, &rq, http_done, t) == 0)
		t->http_reg_pending = true;
	else
		log_warn("HTTP registration not sent: %s", strerror(errno));
	free(body);
}

/* ------------------------------------------------------------ register */

static void
regwait_cb(evutil_socket_t fd, short what, void *arg)
{
	struct cw_tp *t = arg;

	if (t->link != CW_UP || t->reg != WS_REG_WAITING)
		return;
	/* Not an error: some clouds never answer register. */
	if (!t->reg_quiet_logged)
		log_info("no registration reply from %s within %d s: streaming %s%s (not an error)",
		    t->url, WS_REGISTER_WAIT_S, t->id->edge_id[0] ? "as " : "without an edge id",
		    t->id->edge_id);
	t->reg_quiet_logged = true;
}

int
ws_register(struct cw_tp *t)
{
	const char *caps[] = { "event_batch", "offline_batches", "sessions", "plu" };
	struct cm_register r = { t->id->edge_id, cw_site_id(t->id), cw_site_name(t->id),
	    CT_VERSION, caps, 4 };
	struct timeval tv = { WS_REGISTER_WAIT_S, 0 };
	json_t *payload = cm_register_payload(&r);

	t->reg = WS_REG_WAITING;
	t->reg_via[0] = '\0';
	if (payload == NULL)
		return -1;
	http_register(t, payload);
	if (ws_send(t, "register", payload) != 0)      /* steals payload */
		return -1;
	event_add(t->ev_regwait, &tv);
	return 0;
}

void
ws_identity_refused(struct cw_tp *t, const char *why, bool relink)
{
	if (t->id->edge_id[0] == '\0') {
		/* Nothing to forget: a refusal without an identity is the
		 * token's or the cloud's problem, retried with backoff. */
		log_info("cloud refused a registration without identity (%s)", why);
		return;
	}
	t->up->identity_forget(t->arg, why);
	t->backoff_s = 0;
	if (!relink && t->link == CW_UP && ws_register(t) != 0)
		t->lose(t, "cannot send register");
}

int
ws_register_init(struct cw_tp *t)
{
	t->ev_regwait = evtimer_new(t->base, regwait_cb, t);
	return t->ev_regwait != NULL ? 0 : -1;
}

void
ws_register_reset(struct cw_tp *t)
{
	if (t->ev_regwait != NULL)
		event_del(t->ev_regwait);
	t->reg = WS_REG_NONE;
}

void
ws_register_stop(struct cw_tp *t)
{
	if (t->ev_regwait != NULL)
		event_free(t->ev_regwait);
	t->ev_regwait = NULL;
	if (t->http != NULL)
		http_client_free(t->http);   /* a pending POST is dropped, no callback */
	t->http = NULL;
	t->http_reg_pending = false;
}
