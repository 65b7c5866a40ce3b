/*
 * Sessions from a REST cloud (REST_API.md 4.4). The cloud pushes nothing:
 * the edge polls GET /sessions?device_ids= for every scale the store knows
 * (connected or not), sending the last ETag back in If-None-Match, and the
 * answer is the complete current state (a 304: unchanged).
 *
 * The state is diffed against the store's sessions (read each time, not a
 * copy kept here) and the differences go up one at a time, exactly like
 * the WebSocket link's session messages: a session the store lacks (or has
 * ended, expired, or under another id) is started, paused or resumed as the
 * cloud says, one the cloud no longer lists is ended. So a 304 after the
 * store expired a session the cloud still has brings it back (the old
 * client's cache and its sessions drifted apart, REST_API.md 8.10), and a
 * lost SESSION frame is made good by the next poll.
 *
 * The interval is chosen after each poll: idle (no scale connected),
 * waiting (a scale connected, no session in the cloud's state for any),
 * active (one at least); /config overrides the defaults. A scale that
 * connects is polled for at once, and so is everything when the link comes
 * up. One poll at a time; scales beyond REST_POLL_DEVICES_MAX or beyond
 * what fits in one URL are not polled (said once).
 */
#include "cloud_rest.h"

#include <stdlib.h>
#include <string.h>

#include "log/log.h"

/* The store's session of a polled scale. */
struct rest_held {
	bool    has;
	uint8_t status;              /* enum store_session_status */
	char    sid[CT_SESSION_ID_MAX];
	char    animal_id[STORE_ID_MAX], animal_tag[STORE_ID_MAX], species[STORE_ID_MAX];
	char    operator_id[STORE_ID_MAX];
};

struct diff {
	struct cw_tp *t;
	struct rest_held  *held;          /* one per t->poll_ids entry */
};

static void
arm(struct cw_tp *t, int64_t ms)
{
	t->poll_ms = ms;
	ct_timer_add_ms(t->ev_poll, ms);
}

static int
polled_index(const struct cw_tp *t, const char *dev)
{
	for (size_t i = 0; i < t->npoll_ids; i++)
		if (strcmp(t->poll_ids[i], dev) == 0)
			return (int)i;
	return -1;
}

static const struct rest_session *
cloud_session(const struct cw_tp *t, const char *dev)
{
	for (size_t i = 0; i < t->nsess; i++)
		if (strcmp(t->sess[i].device_id, dev) == 0)
			return &t->sess[i];
	return NULL;
}

/* REST_API.md 4.4's schedule. */
static int64_t
interval(const struct cw_tp *t)
{
	bool connected = false;

	for (int i = 0; i < t->ndevs; i++)
		connected |= t->devs[i].connected;
	if (!connected)
		return t->idle_ms;
	for (size_t i = 0; t->have_state && i < t->npoll_ids; i++)
		if (cloud_session(t, t->poll_ids[i]) != NULL)
			return t->active_ms;
	return t->waiting_ms;
}

/* ------------------------------------------------------------ the diff */

static int
held_cb(const struct store_session *s, void *arg)
{
	struct diff *d = arg;
	int i = polled_index(d->t, s->device_id);
	struct rest_held *h;

	if (i < 0)
		return 0;
	h = &d->held[i];
	h->has = true;
	h->status = s->status;
	snprintf(h->sid, sizeof(h->sid), "%s", s->cloud_session_id);
	snprintf(h->animal_id, sizeof(h->animal_id), "%s", s->animal_id);
	snprintf(h->animal_tag, sizeof(h->animal_tag), "%s", s->animal_tag);
	snprintf(h->species, sizeof(h->species), "%s", s->animal_species);
	snprintf(h->operator_id, sizeof(h->operator_id), "%s", s->operator_id);
	return 0;
}

static void
tell(struct cw_tp *t, enum ct_session_change change, const char *dev,
    const struct rest_session *c, const char *sid)
{
	static const char *const names[] = { "?", "started", "paused", "resumed", "ended" };
	struct cm_session m = { .change = change };

	snprintf(m.device_id, sizeof(m.device_id), "%s", dev);
	snprintf(m.cloud_session_id, sizeof(m.cloud_session_id), "%s", c ? c->cloud_session_id :
	    sid);
	if (change == CT_SESS_STARTED && c != NULL) {
		m.status = c->status == REST_SESS_PAUSED ? CM_SESS_STATUS_PAUSED :
		    c->status == REST_SESS_PENDING ? CM_SESS_STATUS_PENDING : CM_SESS_STATUS_ACTIVE;
		snprintf(m.animal_id, sizeof(m.animal_id), "%s", c->animal_id);
		snprintf(m.animal_tag, sizeof(m.animal_tag), "%s", c->animal_tag);
		snprintf(m.animal_species, sizeof(m.animal_species), "%s", c->animal_species);
		snprintf(m.operator_id, sizeof(m.operator_id), "%s", c->operator_id);
	}
	if (change == CT_SESS_ENDED)
		snprintf(m.reason, sizeof(m.reason), "not among the cloud's current sessions");
	log_info("session %s %s on %s (polled)", m.cloud_session_id,
	    (unsigned)change < 5 ? names[change] : "?", dev);
	t->session_changes++;
	t->up->session(t->arg, &m);
}

static bool
same_details(const struct rest_held *h, const struct rest_session *c)
{
	return strcmp(h->animal_id, c->animal_id) == 0 && strcmp(h->animal_tag, c->animal_tag) == 0
	    && strcmp(h->species, c->animal_species) == 0 &&
	    strcmp(h->operator_id, c->operator_id) == 0;
}

static void
apply(struct cw_tp *t)
{
	struct diff d = { t, t->held };

	memset(t->held, 0, t->npoll_ids * sizeof(*t->held));
	if (t->up->sessions_held(t->arg, held_cb, &d) != STORE_OK) {
		log_info("sessions polled but the store's are not readable yet: next poll");
		return;
	}
	for (size_t i = 0; i < t->npoll_ids; i++) {
		const char *dev = t->poll_ids[i];
		const struct rest_session *c = cloud_session(t, dev);
		struct rest_held *h = &t->held[i];
		bool live = h->has && (h->status == SESS_ACTIVE || h->status == SESS_PAUSED);
		bool paused = c != NULL && c->status == REST_SESS_PAUSED;

		if (c == NULL) {
			if (live)
				tell(t, CT_SESS_ENDED, dev, NULL, h->sid);
		} else if (!live || strcmp(h->sid, c->cloud_session_id) != 0) {
			tell(t, CT_SESS_STARTED, dev, c, NULL);
		} else if (h->status == SESS_ACTIVE && paused) {
			tell(t, CT_SESS_PAUSED, dev, c, NULL);
		} else if (h->status == SESS_PAUSED && !paused) {
			tell(t, CT_SESS_RESUMED, dev, c, NULL);
		} else if (!same_details(h, c)) {
			tell(t, CT_SESS_STARTED, dev, c, NULL);
		}
	}
}

/* ------------------------------------------------------------ polling */

static void
poll_done(struct cw_tp *t, const struct http_result *r, enum rest_verdict v, void *arg)
{
	struct rest_sessions out = { .s = t->sess, .cap = REST_POLL_DEVICES_MAX };
	char *path = arg, err[REST_ERR_MAX];
	bool same = t->polled != NULL && strcmp(t->polled, path) == 0;

	t->poll_inflight = false;
	t->polls++;
	if (v == REST_V_OK && r->status == 304 && t->have_state && same) {
		t->polls_304++;
		apply(t);
	} else if (v == REST_V_OK && rest_decode_sessions(r->body, r->body_len, &out, err,
	    sizeof(err)) != 0) {
		t->polls_failed++;
		log_warn("GET /sessions: %s; the store's sessions stay as they are", err);
	} else if (v == REST_V_OK && r->status != 304) {
		if (out.note[0] != '\0')
			log_info("GET /sessions: %s (%d skipped, %d with an unknown status, %d "
			    "twice)", out.note, out.skipped, out.unknown_status, out.duplicates);
		t->nsess = out.n;
		t->have_state = true;
		free(t->polled);
		t->polled = path;
		path = NULL;
		memcpy(t->poll_ids, t->req_ids, t->nreq_ids * sizeof(t->poll_ids[0]));
		t->npoll_ids = t->nreq_ids;
		snprintf(t->etag, sizeof(t->etag), "%s", r->etag != NULL ? r->etag : "");
		t->etag_ms = ct_now_ms_mono();
		apply(t);
	} else if (v != REST_V_OK) {
		t->polls_failed++;      /* logged by the link; the cache stays */
	}
	free(path);
	if (t->poll_again) {
		t->poll_again = false;
		arm(t, 0);
	} else {
		arm(t, interval(t));
	}
}

static void
poll_cb(evutil_socket_t fd, short what, void *arg)
{
	struct cw_tp *t = arg;
	const char *ids[REST_POLL_DEVICES_MAX];
	char path[REST_PATH_MAX], *p;
	size_t n = 0;
	const char *inm = NULL;

	if (t->poll_inflight || t->link != CW_UP || t->id->edge_id[0] == '\0')
		return;             /* the link's coming up polls again */
	for (int i = 0; i < t->ndevs && n < REST_POLL_DEVICES_MAX; i++)
		ids[n++] = t->devs[i].id;
	if (n == 0) {
		arm(t, t->idle_ms);
		return;
	}
	/* what does not fit in one URL is not polled */
	while (n > 0 && rest_sessions_path(&t->rb, ids, n, path, sizeof(path)) != 0)
		n--;
	if ((size_t)t->ndevs > n && !t->poll_cut_logged) {
		log_warn("%d scales known, sessions polled for the first %zu only (one URL)",
		    t->ndevs, n);
		t->poll_cut_logged = true;
	}
	for (size_t i = 0; i < n; i++)
		snprintf(t->req_ids[i], sizeof(t->req_ids[i]), "%s", ids[i]);
	t->nreq_ids = n;
	if (t->have_state && t->polled != NULL && strcmp(t->polled, path) == 0 && t->etag[0])
		inm = t->etag;
	if ((p = strdup(path)) == NULL || rest_send(t, REST_SESSIONS, path, NULL, 0,
	    REST_F_OWNS_ARG, inm, poll_done, p) != 0) {
		free(p);
		arm(t, t->waiting_ms);
		return;
	}
	t->poll_inflight = true;
}

void
rest_poll_soon(struct cw_tp *t)
{
	if (t->poll_inflight)
		t->poll_again = true;
	else
		event_active(t->ev_poll, EV_TIMEOUT, 0);
}

/* ------------------------------------------------------------ life */

int
rest_sessions_init(struct cw_tp *t)
{
	t->sess = calloc(REST_POLL_DEVICES_MAX, sizeof(*t->sess));
	t->held = calloc(REST_POLL_DEVICES_MAX, sizeof(*t->held));
	t->poll_ids = calloc(REST_POLL_DEVICES_MAX, sizeof(*t->poll_ids));
	t->req_ids = calloc(REST_POLL_DEVICES_MAX, sizeof(*t->req_ids));
	t->ev_poll = evtimer_new(t->base, poll_cb, t);
	t->poll_ms = t->idle_ms;
	return t->sess != NULL && t->held != NULL && t->poll_ids != NULL && t->req_ids != NULL &&
	    t->ev_poll != NULL ? 0 : -1;
}

void
rest_sessions_free(struct cw_tp *t)
{
	if (t->ev_poll != NULL)
		event_free(t->ev_poll);
	t->ev_poll = NULL;
	free(t->sess);
	free(t->held);
	free(t->poll_ids);
	free(t->req_ids);
	free(t->polled);
	t->sess = NULL;
	t->held = NULL;
	t->poll_ids = t->req_ids = NULL;
	t->polled = NULL;
}
