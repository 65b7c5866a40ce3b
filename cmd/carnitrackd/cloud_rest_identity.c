/*
 * Who the edge is to a REST cloud (REST_API.md section 3). The identity is
 * the outbox's (cloud_identity.c); this file decides when to ask the cloud
 * for one and reports what it gave or refused through the upcalls.
 *
 * - An edge that holds an identity keeps it: no /register at start (3.1).
 *   One that holds none registers (edgeId null) when it knows its site (the
 *   configured site_id), else waits for `carnitrackctl activate CODE`
 *   (POST /activate, the setup code exchange of 4.2).
 * - Single-flight: at most one /register or /activate on the wire, ever;
 *   both go HTTP_AT_MOST_ONCE (one attempt, a fresh connection, no resend):
 *   a null registration whose answer is lost made an edge in the cloud, and
 *   sending it again would make a second. A failed one is tried again after
 *   a backoff (5 s doubling to REST_REG_RETRY_MAX_S; the probe's short one
 *   when nothing reached the cloud).
 * - Recovery (3.2): an authenticated request refused 401/404 with the words
 *   of rest_auth_rejected() makes the outbox forget the identity and the
 *   edge register with edgeId null; the refused requests are made again
 *   with the new id (events by the outbox, polls and heartbeats on their
 *   schedule). Once: an identity just given and refused before any request
 *   carried it successfully is the repeat refused again, an ordinary
 *   failure: no new registration for REST_RECOVER_BLOCK_S.
 * - /register refused with 400 naming edge/uuid/invalid, 404, or "not
 *   found": again with edgeId null after 2 s, at most twice (3.2).
 */
#include "cloud_rest.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "log/log.h"

static void start_register(struct cw_tp *t, const char *why);

/* The cloud gave an identity (register or activate): the outbox keeps it. */
static bool
take(struct cw_tp *t, const struct rest_identity *id, const char *via)
{
	struct cm_identity ci = { .has_edge_id = true };

	snprintf(ci.edge_id, sizeof(ci.edge_id), "%s", id->edge_id);
	snprintf(ci.site_id, sizeof(ci.site_id), "%s", id->site_id);
	snprintf(ci.site_name, sizeof(ci.site_name), "%s", id->site_name);
	if (t->up->identity(t->arg, &ci, via) != 0)
		return false;
	t->registrations++;
	t->identity_ms = ct_now_ms_mono();
	t->identity_fresh = true;
	t->reg_backoff_s = 0;
	rest_link_identity(t);
	if (id->has_config)
		rest_link_config(t, &id->config);
	snprintf(t->reg_last, sizeof(t->reg_last), "%s: edge id %s", via, id->edge_id);
	log_info("%s with %s as %s (site %s)", strcmp(via, "activate") == 0 ? "activated" :
	    "registered", t->rb.edge, id->edge_id, id->site_id);
	return true;
}

/* ------------------------------------------------------------ /register */

static void
failed(struct cw_tp *t, const struct http_result *r, const char *why)
{
	bool nothing_sent = r != NULL && r->error == HTTP_E_CONNECT;
	int64_t wait_ms;

	t->reg = REST_REG_IDLE;
	t->reg_failures++;
	snprintf(t->reg_last, sizeof(t->reg_last), "failed: %s", why);
	/* Nothing reached the cloud: probe at the link's pace. It may have
	 * (a timeout, an answer): slower, each try may leave an edge behind. */
	if (nothing_sent) {
		wait_ms = -1;
	} else {
		t->reg_backoff_s = t->reg_backoff_s == 0 ? 5 : t->reg_backoff_s * 2;
		if (t->reg_backoff_s > REST_REG_RETRY_MAX_S)
			t->reg_backoff_s = REST_REG_RETRY_MAX_S;
		wait_ms = (int64_t)t->reg_backoff_s * 1000;
	}
	if (nothing_sent)
		log_warn("registration with %s failed: %s; trying again when the cloud answers",
		    t->rb.edge, why);
	else
		log_warn("registration with %s failed: %s; trying again in %d s", t->rb.edge, why,
		    t->reg_backoff_s);
	event_del(t->ev_probe);
	rest_link_lost(t, "no identity: registration failed", wait_ms);
}

static void
register_done(struct cw_tp *t, const struct http_result *r, enum rest_verdict v, void *arg)
{
	struct rest_identity id;
	char err[REST_ERR_MAX];

	if (v == REST_V_OK) {
		if (rest_decode_identity(r->body, r->body_len, &id, err, sizeof(err)) != 0) {
			failed(t, r, err);
			return;
		}
		t->reg = REST_REG_IDLE;
		if (!take(t, &id, "register")) {
			failed(t, r, "edgeId not kept");
			return;
		}
		rest_link_answered(t);
		t->up->ready(t->arg);
		return;
	}
	if (v != REST_V_OFFLINE && t->reg_attempt < REST_REGISTER_MAX_ATTEMPTS &&
	    rest_register_retry_fresh(r->status, r->body, r->body_len)) {
		struct timeval tv = { REST_REGISTER_RETRY_DELAY_MS / 1000,
		    (REST_REGISTER_RETRY_DELAY_MS % 1000) * 1000 };
		log_warn("%s: registering again with edgeId null in %d ms", r->error_text,
		    REST_REGISTER_RETRY_DELAY_MS);
		t->reg_wait_fresh = true;
		event_add(t->ev_reg, &tv);
		return;
	}
	failed(t, r, r->error_text);
}

static void
reg_send(struct cw_tp *t)
{
	const char *site = cw_site_id(t->id), *name = cw_site_name(t->id);
	size_t len;
	char *body = rest_register_body(NULL, site[0] ? site : NULL, name[0] ? name : NULL, &len);

	t->reg_attempt++;
	if (body == NULL || rest_send(t, REST_REGISTER, NULL, body, len,
	    HTTP_NO_EDGE_ID | HTTP_AT_MOST_ONCE, NULL, register_done, NULL) != 0)
		failed(t, NULL, "cannot queue the request");
	free(body);
}

static void
start_register(struct cw_tp *t, const char *why)
{
	if (t->reg == REST_REG_RUNNING || t->activating || t->id->edge_id[0] != '\0')
		return;
	/* REST_API.md 3.1: no identity and no site: setup mode */
	if (cw_site_id(t->id)[0] == '\0' && t->identity_ms == 0) {
		if (!t->setup_logged)
			log_warn("no edge identity and no [edge] site_id: waiting for "
			    "carnitrackctl activate CODE (or set site_id to register)");
		t->setup_logged = true;
		rest_link_lost(t, "no identity: run carnitrackctl activate CODE, or set [edge] "
		    "site_id", REST_NO_PROBE);
		return;
	}
	log_info("registering with %s (%s)", t->rb.edge, why);
	t->reg = REST_REG_RUNNING;
	t->reg_attempt = 0;
	t->reg_wait_fresh = false;
	reg_send(t);
}

/* ------------------------------------------------------------ recovery */

static void
recover(struct cw_tp *t, const char *why)
{
	int64_t now = ct_now_ms_mono();

	if (t->reg == REST_REG_RUNNING || t->activating || now < t->recover_block_ms ||
	    t->id->edge_id[0] == '\0')
		return;
	if (t->identity_fresh) {
		/* 3.2: the repeat with the new id refused too is an ordinary
		 * failure; registering again would make edge after edge */
		t->identity_fresh = false;
		t->recover_block_ms = now + REST_RECOVER_BLOCK_S * 1000;
		log_warn("the cloud refuses the identity %s it gave %lld s ago (%s): not "
		    "registering again for %d s", t->id->edge_id,
		    (long long)((now - t->identity_ms) / 1000), why, REST_RECOVER_BLOCK_S);
		return;
	}
	t->recoveries++;
	t->up->identity_forget(t->arg, why);
	rest_link_identity(t);
	rest_link_lost(t, "the cloud does not know this edge: registering afresh",
	    REST_NO_PROBE);
	start_register(t, "identity refused");
}

/* The 2 s before a fresh registration (3.2), and identity --reset. */
static void
reg_cb(evutil_socket_t fd, short what, void *arg)
{
	struct cw_tp *t = arg;

	if (t->reg == REST_REG_RUNNING && t->reg_wait_fresh) {
		t->reg_wait_fresh = false;
		reg_send(t);
		return;
	}
	if (t->reset_pending) {
		t->reset_pending = false;
		rest_link_identity(t);
		rest_link_lost(t, "identity reset: registering afresh", REST_NO_PROBE);
		start_register(t, "identity reset by carnitrackctl");
	}
}

void
rest_identity_reset(struct cw_tp *t)
{
	t->reset_pending = true;
	t->identity_fresh = false;
	event_active(t->ev_reg, EV_TIMEOUT, 0);
}

/* ------------------------------------------------------------ /activate */

static void
activate_done(struct cw_tp *t, const struct http_result *r, enum rest_verdict v, void *arg)
{
	uint32_t ticket = (uint32_t)(uintptr_t)arg;
	struct rest_identity id;
	char err[REST_ERR_MAX], msg[320];

	t->activating = false;
	if (v == REST_V_OK) {
		if (rest_decode_identity(r->body, r->body_len, &id, err, sizeof(err)) != 0) {
			snprintf(msg, sizeof(msg), "the cloud's answer is unusable: %s", err);
		} else if (!take(t, &id, "activate")) {
			snprintf(msg, sizeof(msg), "the edge id the cloud gave is unusable");
		} else {
			snprintf(msg, sizeof(msg), "activated: edge id %s, site %s (%s)",
			    id.edge_id, id.site_id, id.site_name);
			rest_link_answered(t);
			t->up->activated(t->arg, ticket, true, msg);
			t->up->ready(t->arg);
			return;
		}
	} else if (r->status != 0) {
		/* the cloud's own words (the old wizard never showed them, 8.2) */
		rest_error_message(r->body, r->body_len, err, sizeof(err));
		snprintf(msg, sizeof(msg), "the cloud refused the code: HTTP %d%s%s", r->status,
		    err[0] ? ": " : "", err);
	} else {
		snprintf(msg, sizeof(msg), "%s", r->error_text);
	}
	log_warn("activation failed: %s", msg);
	t->up->activated(t->arg, ticket, false, msg);
}

int
rest_activate(struct cw_tp *t, const char *code, uint32_t ticket, char *err, size_t errlen)
{
	size_t len;
	char *body;
	int rc;

	if (t->http == NULL) {
		snprintf(err, errlen, "no cloud url configured");
		return -1;
	}
	if (t->activating || t->reg == REST_REG_RUNNING) {
		snprintf(err, errlen, "a%s is running; try again in a moment",
		    t->activating ? "nother activation" : " registration");
		return -1;
	}
	if ((body = rest_activate_body(code, &len)) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	log_info("activating with %s (setup code from carnitrackctl)", t->rb.api);
	rc = rest_send(t, REST_ACTIVATE, NULL, body, len,
	    HTTP_NO_EDGE_ID | HTTP_NO_SITE_ID | HTTP_AT_MOST_ONCE, NULL, activate_done,
	    (void *)(uintptr_t)ticket);
	free(body);
	if (rc != 0) {
		snprintf(err, errlen, "cannot queue the request");
		return -1;
	}
	t->activating = true;
	return 0;
}

/* ------------------------------------------------------------ life */

int
rest_identity_init(struct cw_tp *t)
{
	t->start_register = start_register;
	t->recover = recover;
	t->ev_reg = evtimer_new(t->base, reg_cb, t);
	return t->ev_reg != NULL ? 0 : -1;
}

void
rest_identity_free(struct cw_tp *t)
{
	if (t->ev_reg != NULL)
		event_free(t->ev_reg);
	t->ev_reg = NULL;
}
