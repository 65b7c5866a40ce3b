/*
 * The REST transport's link (cloud_rest.h): the one HTTP client to the
 * cloud (lib/http: keep-alive, bounded, per-attempt timeouts, retries by
 * http_retry.c), every request through rest_send, and every answer judged
 * here before its caller sees it:
 *
 *   no response, or a gateway's 502/503/504   the link is down (RETRYING),
 *                                             probed with backoff until an
 *                                             answer comes
 *   401/404 naming the edge unknown (3.2)     the identity recovery starts
 *                                             (cloud_rest_identity.c, once)
 *   any other answer, 4xx included            the cloud is there: the link
 *                                             is up if the edge has an
 *                                             identity (REST_API.md 8.3:
 *                                             one endpoint's 4xx never
 *                                             takes the link down)
 *
 * The probe is GET /config with one attempt of REST_PROBE_TIMEOUT_MS (or
 * /register when there is no identity); every time the link comes up the
 * cloud's /config is fetched and applied (REST_API.md 2.2, 4.3).
 */
#include "cloud_rest.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/rand.h>

#include "log/log.h"

#define REST_F_PROBE 0x100u     /* rest_send: one attempt, the probe's timeout */

struct call {
	LIST_ENTRY(call)   all;      /* the transport's, freed with it */
	struct cw_tp      *t;
	enum rest_endpoint e;
	bool               probe, owns_arg;
	rest_done_fn       done;
	void              *arg;
};

static void
set_link(struct cw_tp *t, enum cw_link l, const char *why)
{
	t->link = l;
	t->up->link(t->arg, l, why);
}

static const char *
endpoint_name(enum rest_endpoint e)
{
	static const char *const names[] = { "register", "activate", "config", "sessions",
		"events", "events/batch", "offline-batches/ack", "heartbeat", "devices/status" };

	return (unsigned)e < sizeof(names) / sizeof(names[0]) ? names[e] : "?";
}

int
rest_events_max(const struct cw_tp *t)
{
	int n = t->batch_size;

	if (t->cloud_batch > 0 && t->cloud_batch < n)
		n = t->cloud_batch;
	if (t->batch_limit > 0 && t->batch_limit < n)
		n = t->batch_limit;
	if (n > REST_MAX_BATCH)
		n = REST_MAX_BATCH;
	return n < 1 ? 1 : n;
}

/* ------------------------------------------------------------ link state */

void
rest_link_lost(struct cw_tp *t, const char *why, int64_t probe_in_ms)
{
	uint32_t r = 0;
	int64_t delay = probe_in_ms;

	if (t->link == CW_DISABLED)
		return;
	if (t->link != CW_RETRYING)
		set_link(t, CW_RETRYING, why);
	if (probe_in_ms == REST_NO_PROBE || t->probe_pending ||
	    evtimer_pending(t->ev_probe, NULL))
		return;
	if (delay < 0) {
		t->backoff_s = t->backoff_s == 0 ? 1 : t->backoff_s * 2;
		if (t->backoff_s > REST_PROBE_MAX_S)
			t->backoff_s = REST_PROBE_MAX_S;
		/* +-20% jitter so a site's edges do not all come back in step */
		if (RAND_bytes((unsigned char *)&r, sizeof(r)) != 1)
			r = (uint32_t)ct_now_ms_mono();
		delay = (int64_t)t->backoff_s * 1000 * (80 + (int64_t)(r % 41)) / 100;
	}
	t->next_probe_ms = ct_now_ms_mono() + delay;
	ct_timer_add_ms(t->ev_probe, delay);
}

static void config_done(struct cw_tp *t, const struct http_result *r, enum rest_verdict v,
    void *arg);

/* The cloud answered: up, if the edge holds an identity. have_config: the
 * answer was /config's (no need to ask again). */
static void
link_up(struct cw_tp *t, bool have_config)
{
	if (t->link == CW_UP || t->link == CW_DISABLED || t->id->edge_id[0] == '\0')
		return;
	event_del(t->ev_probe);
	t->backoff_s = 0;
	log_info("cloud %s answers (REST, as %s)", t->rb.edge, t->id->edge_id);
	/* what REST_API.md 2.2 does on "connected": the cloud's intervals,
	 * sessions at once, heartbeats from now; the outbox does the rest */
	if (!have_config &&
	    rest_send(t, REST_CONFIG, NULL, NULL, 0, 0, NULL, config_done, NULL) != 0)
		log_warn("GET /config not sent: %s", strerror(errno));
	event_active(t->ev_poll, EV_TIMEOUT, 0);
	if (!evtimer_pending(t->ev_hb, NULL))
		ct_timer_add_ms(t->ev_hb, t->heartbeat_ms);
	set_link(t, CW_UP, NULL);
	t->up->ready(t->arg);
}

void
rest_link_answered(struct cw_tp *t)
{
	link_up(t, false);
}

void
rest_link_identity(struct cw_tp *t)
{
	char err[HTTP_ERR_MAX];

	if (http_client_set_identity(t->http, t->id->edge_id, cw_site_id(t->id), err,
	    sizeof(err)) != 0)
		log_warn("edge or site id not usable in a header (%s): requests go without it",
		    err);
}

/* ------------------------------------------------------------ answers */

static enum rest_verdict
judge(struct cw_tp *t, const struct call *k, const struct http_result *r)
{
	enum rest_auth_action a;
	bool ok = http_result_ok(r);

	t->requests++;
	t->last_ms = ct_now_ms_mono();
	if (ok)
		snprintf(t->last, sizeof(t->last), "%s: %d", endpoint_name(k->e), r->status);
	else
		snprintf(t->last, sizeof(t->last), "%s", r->error_text);
	if (ok) {
		if (k->e == REST_REGISTER || k->e == REST_ACTIVATE)
			return REST_V_OK;
		/* the cloud took the identity it gave: a later refusal is news */
		if (r->edge_id != NULL && strcmp(r->edge_id, t->id->edge_id) == 0)
			t->identity_fresh = false;
		link_up(t, k->e == REST_CONFIG);
		return REST_V_OK;
	}
	t->failures++;
	if (r->status == 0 || r->offline) {
		t->offline++;
		rest_link_lost(t, r->error_text, -1);
		return REST_V_OFFLINE;
	}
	if (k->e != REST_REGISTER && k->e != REST_ACTIVATE &&
	    rest_auth_rejected(r->status, r->body, r->body_len)) {
		a = rest_auth_action(r->status, r->body, r->body_len, r->edge_id, t->id->edge_id,
		    t->reg == REST_REG_RUNNING, false);
		if (a == REST_AUTH_START)
			t->recover(t, r->error_text);
		return REST_V_AUTH;       /* again once the edge has an identity */
	}
	if (k->e != REST_REGISTER && k->e != REST_ACTIVATE)
		link_up(t, false);
	return REST_V_FAILED;
}

static void
call_done(const struct http_result *r, void *arg)
{
	struct call *k = arg;
	struct cw_tp *t = k->t;
	enum rest_verdict v;

	LIST_REMOVE(k, all);
	if (k->probe)
		t->probe_pending = false;
	v = judge(t, k, r);
	if (k->done != NULL)
		k->done(t, r, v, k->arg);    /* it frees an owned arg */
	/* a probe answered without bringing the link up (its identity was
	 * refused): the next one at the backoff */
	if (k->probe && t->link != CW_UP)
		rest_link_lost(t, r->error_text[0] ? r->error_text : "probe not answered", -1);
	free(k);
}

int
rest_send(struct cw_tp *t, enum rest_endpoint e, const char *path, const char *body,
    size_t len, unsigned flags, const char *inm, rest_done_fn done, void *arg)
{
	char p[REST_PATH_MAX];
	struct http_req rq = { .method = body != NULL ? HTTP_POST : HTTP_GET, .body = body,
	    .body_len = len, .if_none_match = inm, .flags = flags & 0xffu };
	struct call *k;

	if (t->http == NULL) {
		errno = ENOTCONN;        /* the url was unusable */
		return -1;
	}
	if (path == NULL) {
		if (rest_path(&t->rb, e, p, sizeof(p)) != 0) {
			errno = ENAMETOOLONG;
			return -1;
		}
		path = p;
	}
	rq.path = path;
	if (flags & REST_F_PROBE) {
		rq.max_attempts = 1;
		rq.timeout_ms = REST_PROBE_TIMEOUT_MS;
	}
	if ((k = calloc(1, sizeof(*k))) == NULL)
		return -1;
	k->t = t;
	k->e = e;
	k->probe = (flags & REST_F_PROBE) != 0;
	k->owns_arg = (flags & REST_F_OWNS_ARG) != 0;
	k->done = done;
	k->arg = arg;
	if (http_request(t->http, &rq, call_done, k) != 0) {
		free(k);
		return -1;
	}
	LIST_INSERT_HEAD(&t->calls, k, all);
	return 0;
}

/* ------------------------------------------------------------ /config */

void
rest_link_config(struct cw_tp *t, const struct rest_config *c)
{
	int64_t was[4] = { t->idle_ms, t->waiting_ms, t->active_ms, t->heartbeat_ms };
	int batch = t->cloud_batch;

	if (c->set & REST_CFG_IDLE)
		t->idle_ms = c->idle_ms;
	if (c->set & REST_CFG_WAITING)
		t->waiting_ms = c->waiting_ms;
	if (c->set & REST_CFG_ACTIVE)
		t->active_ms = c->active_ms;
	if (c->set & REST_CFG_HEARTBEAT)
		t->heartbeat_ms = c->heartbeat_ms;
	if (c->set & REST_CFG_BATCH)
		t->cloud_batch = c->max_batch;
	if (c->skipped > 0)
		log_warn("cloud config: %d value(s) skipped (%s)", c->skipped, c->note);
	if (!t->config_logged || was[0] != t->idle_ms || was[1] != t->waiting_ms ||
	    was[2] != t->active_ms || was[3] != t->heartbeat_ms || batch != t->cloud_batch)
		log_info("cloud config: session polls every %lld / %lld / %lld ms (idle / waiting "
		    "/ active), heartbeat every %lld ms, %d events per request",
		    (long long)t->idle_ms, (long long)t->waiting_ms, (long long)t->active_ms,
		    (long long)t->heartbeat_ms, rest_events_max(t));
	t->config_logged = true;
}

static void
config_done(struct cw_tp *t, const struct http_result *r, enum rest_verdict v, void *arg)
{
	struct rest_config c;
	char err[REST_ERR_MAX];

	if (v != REST_V_OK)
		return;                  /* previous values kept (REST_API.md 4.3) */
	if (rest_decode_config(r->body, r->body_len, &c, err, sizeof(err)) != 0) {
		log_warn("GET /config: %s; previous values kept", err);
		return;
	}
	rest_link_config(t, &c);
}

static void
probe_cb(evutil_socket_t fd, short what, void *arg)
{
	struct cw_tp *t = arg;
	char valid[CM_ID_MAX], why[160];

	if (t->link == CW_UP || t->link == CW_DISABLED || t->probe_pending || t->http == NULL)
		return;
	if (t->id->edge_id[0] != '\0' && !rest_edge_id_valid(t->id->edge_id, valid)) {
		/* REST_API.md 3.1: a stored id that is not a UUID is dropped (one
		 * a WebSocket cloud gave, say) and the edge registers afresh */
		snprintf(why, sizeof(why), "the stored edge id %.64s is not a UUID, as a REST "
		    "cloud's are", t->id->edge_id);
		t->up->identity_forget(t->arg, why);
		rest_link_identity(t);
	}
	if (t->id->edge_id[0] == '\0') {
		t->start_register(t, "no identity");
		return;
	}
	if (t->link == CW_RETRYING)
		log_debug("probing %s", t->rb.edge);
	if (rest_send(t, REST_CONFIG, NULL, NULL, 0, REST_F_PROBE, NULL, config_done, NULL) == 0)
		t->probe_pending = true;
	else
		rest_link_lost(t, "cannot queue a request", -1);
}

/* ------------------------------------------------------------ life */

int
rest_link_init(struct cw_tp *t, char *err, size_t errlen)
{
	struct http_client_opts o = { .url = t->url, .ca_file = t->ca_file[0] ? t->ca_file : NULL,
	    .pin_sha256 = t->pin[0] ? t->pin : NULL, .client_version = REST_VERSION,
	    .token = t->token, .max_conns = REST_HTTP_CONNS, .max_requests = REST_HTTP_QUEUE,
	    .max_body = REST_MAX_RESPONSE };

	t->idle_ms = REST_IDLE_MS;
	t->waiting_ms = REST_WAITING_MS;
	t->active_ms = REST_ACTIVE_MS;
	t->heartbeat_ms = REST_HEARTBEAT_MS;
	LIST_INIT(&t->calls);
	if ((t->ev_probe = evtimer_new(t->base, probe_cb, t)) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	if (t->url[0] == '\0')
		return 0;
	if (rest_base_parse(t->url, &t->rb, err, errlen) != 0)
		return -1;
	if ((t->http = http_client_new(t->base, NULL, &o, err, errlen)) == NULL)
		return -1;
	rest_link_identity(t);
	return 0;
}

void
rest_link_free(struct cw_tp *t)
{
	struct call *k;

	if (t->http != NULL)
		http_client_free(t->http);     /* pending requests go without callbacks */
	t->http = NULL;
	while ((k = LIST_FIRST(&t->calls)) != NULL) {
		LIST_REMOVE(k, all);
		if (k->owns_arg)
			free(k->arg);
		free(k);
	}
	if (t->ev_probe != NULL)
		event_free(t->ev_probe);
	t->ev_probe = NULL;
}

void
rest_link_start(struct cw_tp *t)
{
	if (t->url[0] == '\0') {
		set_link(t, CW_DISABLED, "no cloud url configured");
		return;
	}
	/* The config check refuses a token over http:// unless allowed. */
	if (t->token[0] != '\0' && strncmp(t->url, "http://", 7) == 0) {
		if (!t->allow_plaintext_token) {
			set_link(t, CW_RETRYING, "refusing to send the bearer token over "
			    "unencrypted http://");
			return;
		}
		log_warn("sending the bearer token to %s unencrypted (http://, "
		    "allow_plaintext_token = yes): anyone on the path can read it", t->url);
	}
	rest_link_identity(t);            /* the outbox has read it from the store now */
	set_link(t, CW_CONNECTING, NULL);
	ct_timer_add_ms(t->ev_probe, 0);
}
