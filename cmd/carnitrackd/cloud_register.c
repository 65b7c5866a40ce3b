/*
 * Who the edge is to the cloud: registration and identity, in one place.
 *
 * Registration never holds delivery back (issue 12). On every open link the
 * edge sends `register` and, when [cloud] register_url is set, POSTs the same
 * payload there (lib/http); the stream starts at once either way. The
 * identity is taken from whichever answer comes: edge_registered, a
 * config_update carrying edgeId, the HTTP reply ({edgeId, siteId} in
 * camelCase or snake_case) - or none: after CW_REGISTER_WAIT_S the edge says
 * once that it streams without a reply, and status shows "no reply
 * (streaming)". Every change goes to the store (IDENTITY, with where it came
 * from), which keeps it across restarts.
 *
 * The site id the edge goes by is the configured one; the cloud's is used
 * only when none is configured (cw_site_id), so globalDeviceId follows an
 * operator's change of site_id.
 *
 * Identity recovery: when the cloud shows it does not know the identity we
 * hold (an upgrade or HTTP registration refused 401/403/404, an `error`
 * message naming the edge unknown), cw_identity_refused forgets it, tells
 * the store, and registers afresh; a registration answered with another
 * edgeId is simply taken. The backlog is never touched.
 */
#include "cloud_worker.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "http/http_client.h"
#include "log/log.h"

#define CW_HTTP_REG_ATTEMPTS 3          /* 5xx/network retried by lib/http */

const char *
cw_site_id(const struct cw *c)
{
	return c->conf_site_id[0] ? c->conf_site_id : c->site_id;
}

const char *
cw_site_name(const struct cw *c)
{
	return c->conf_site_name[0] ? c->conf_site_name : c->site_name;
}

/* ------------------------------------------------------------ answers */

void
cw_on_registration_reply(struct cw *c, const char *via)
{
	c->backoff_s = 0;
	if (c->link != CW_UP)
		return;
	event_del(c->ev_regwait);
	if (c->reg != CW_REG_REPLIED)
		log_info("registered with %s as %s (site %s), by %s", c->url, c->edge_id,
		    cw_site_id(c)[0] ? cw_site_id(c) : "-", via);
	c->reg = CW_REG_REPLIED;
	snprintf(c->reg_via, sizeof(c->reg_via), "%s", via);
	c->registrations++;
}

void
cw_take_identity(struct cw *c, const struct cm_identity *id, const char *via)
{
	bool changed = false;

	if (id->has_edge_id && strcmp(id->edge_id, c->edge_id) != 0) {
		if (strlen(id->edge_id) >= sizeof(c->edge_id)) {
			log_warn("cloud sent an edgeId of %zu bytes (max %zu) by %s; ignored",
			    strlen(id->edge_id), sizeof(c->edge_id) - 1, via);
			return;
		}
		/* A registration answered with another id: the cloud did not
		 * know ours and made a new one. Take it; nothing else changes. */
		if (c->edge_id[0] != '\0') {
			log_warn("cloud answered by %s with edgeId %s, we were %s: taking the new "
			    "identity (the backlog is kept)", via, id->edge_id, c->edge_id);
			c->identity_resets++;
		}
		snprintf(c->edge_id, sizeof(c->edge_id), "%s", id->edge_id);
		changed = true;
	}
	if (id->site_id[0] != '\0' && strcmp(id->site_id, c->site_id) != 0 &&
	    strlen(id->site_id) < sizeof(c->site_id)) {
		snprintf(c->site_id, sizeof(c->site_id), "%s", id->site_id);
		changed = true;
	}
	if (c->conf_site_id[0] && c->site_id[0] && strcmp(c->site_id, c->conf_site_id) != 0 &&
	    !c->site_differs_logged) {
		log_warn("the cloud calls this site %s, the config says %s: globalDeviceId keeps "
		    "the configured site_id", c->site_id, c->conf_site_id);
		c->site_differs_logged = true;
	}
	if (id->site_name[0] != '\0' && strcmp(id->site_name, c->site_name) != 0) {
		snprintf(c->site_name, sizeof(c->site_name), "%s", id->site_name);
		changed = true;
	}
	if (id->has_edge_id && strcmp(c->id_source, via) != 0) {
		snprintf(c->id_source, sizeof(c->id_source), "%s", via);
		changed = true;
	}
	if (changed)
		cw_send_identity(c);
	if (id->has_edge_id)
		cw_on_registration_reply(c, via);
}

/* ------------------------------------------------------------ HTTP */

static void
http_done(const struct http_result *r, void *arg)
{
	struct cw *c = arg;
	struct cm_identity id;
	char err[CM_ERR_MAX], why[64];

	c->http_reg_pending = false;
	if (http_result_ok(r)) {
		if (cm_decode_registration(r->body, r->body_len, &id, err, sizeof(err)) == 0) {
			snprintf(c->http_reg_last, sizeof(c->http_reg_last), "%d: edge id %s",
			    r->status, id.edge_id);
			cw_take_identity(c, &id, "http");
			return;
		}
		c->http_reg_failures++;
		snprintf(c->http_reg_last, sizeof(c->http_reg_last), "%d, unreadable: %s",
		    r->status, err);
		log_warn("HTTP registration at %s answered %d with a body we cannot read (%s); "
		    "streaming anyway", c->register_url, r->status, err);
		return;
	}
	c->http_reg_failures++;
	snprintf(c->http_reg_last, sizeof(c->http_reg_last), "%s", r->error_text);
	if (r->status == 401 || r->status == 403 || r->status == 404) {
		snprintf(why, sizeof(why), "HTTP registration refused with %d", r->status);
		cw_identity_refused(c, why, false);
		if (c->edge_id[0] == '\0' && c->http_reg_pending)
			return;      /* registering afresh already */
	}
	/* Not fatal: the WebSocket link streams regardless; the next link
	 * tries again (one POST, with lib/http's retries, per link). */
	log_warn("HTTP registration failed: %s; streaming anyway", r->error_text);
}

/* POST the register payload to [cloud] register_url; one at a time. */
static void
http_register(struct cw *c, json_t *payload)
{
	struct http_req rq = { .method = HTTP_POST, .flags = HTTP_NO_EDGE_ID,
	    .max_attempts = CW_HTTP_REG_ATTEMPTS };
	char err[HTTP_ERR_MAX] = "", *body;

	if (c->register_url[0] == '\0' || c->http_reg_pending)
		return;
	if (c->http == NULL) {
		struct http_client_opts o = { .url = c->register_url,
		    .ca_file = c->ca_file[0] ? c->ca_file : NULL,
		    .pin_sha256 = c->pin[0] ? c->pin : NULL, .max_conns = 1, .max_requests = 2 };
		if ((c->http = http_client_new(c->base, NULL, &o, err, sizeof(err))) == NULL) {
			log_warn("[cloud] register_url %s: %s", c->register_url, err);
			return;
		}
	}
	if ((body = json_dumps(payload, JSON_COMPACT | JSON_PRESERVE_ORDER)) == NULL)
		return;
	http_client_set_identity(c->http, NULL, cw_site_id(c), err, sizeof(err));
	rq.body = body;
	rq.body_len = strlen(body);
	if (http_request(c->http, &rq, http_done, c) == 0)
		c->http_reg_pending = true;
	else
		log_warn("HTTP registration not sent: %s", strerror(errno));
	free(body);
}

/* ------------------------------------------------------------ register */

static void
regwait_cb(evutil_socket_t fd, short what, void *arg)
{
	struct cw *c = arg;

	if (c->link != CW_UP || c->reg != CW_REG_WAITING)
		return;
	/* Not an error: some clouds never answer register. */
	if (!c->reg_quiet_logged)
		log_info("no registration reply from %s within %d s: streaming %s%s (not an error)",
		    c->url, CW_REGISTER_WAIT_S, c->edge_id[0] ? "as " : "without an edge id",
		    c->edge_id);
	c->reg_quiet_logged = true;
}

int
cw_register(struct cw *c)
{
	const char *caps[] = { "event_batch", "offline_batches", "sessions", "plu" };
	struct cm_register r = { c->edge_id, cw_site_id(c), cw_site_name(c), CT_VERSION, caps, 4 };
	struct timeval tv = { CW_REGISTER_WAIT_S, 0 };
	json_t *payload = cm_register_payload(&r);

	c->reg = CW_REG_WAITING;
	c->reg_via[0] = '\0';
	if (payload == NULL)
		return -1;
	http_register(c, payload);
	if (cw_send(c, "register", payload) != 0)      /* steals payload */
		return -1;
	event_add(c->ev_regwait, &tv);
	return 0;
}

void
cw_identity_refused(struct cw *c, const char *why, bool relink)
{
	if (c->edge_id[0] == '\0') {
		/* Nothing to forget: a refusal without an identity is the
		 * token's or the cloud's problem, retried with backoff. */
		log_info("cloud refused a registration without identity (%s)", why);
		return;
	}
	log_warn("the cloud does not know this edge as %s (%s): forgetting that identity and "
	    "registering afresh; the backlog is kept", c->edge_id, why);
	c->edge_id[0] = c->site_id[0] = c->site_name[0] = '\0';
	snprintf(c->id_source, sizeof(c->id_source), "forgotten: %s", why);
	c->identity_resets++;
	cw_send_identity(c);
	c->backoff_s = 0;
	if (!relink && c->link == CW_UP && cw_register(c) != 0)
		cw_link_lost(c, "cannot send register");
}

int
cw_register_init(struct cw *c)
{
	c->ev_regwait = evtimer_new(c->base, regwait_cb, c);
	return c->ev_regwait != NULL ? 0 : -1;
}

void
cw_register_reset(struct cw *c)
{
	if (c->ev_regwait != NULL)
		event_del(c->ev_regwait);
	c->reg = CW_REG_NONE;
}

void
cw_register_stop(struct cw *c)
{
	if (c->ev_regwait != NULL)
		event_free(c->ev_regwait);
	c->ev_regwait = NULL;
	if (c->http != NULL)
		http_client_free(c->http);   /* a pending POST is dropped, no callback */
	c->http = NULL;
	c->http_reg_pending = false;
}
