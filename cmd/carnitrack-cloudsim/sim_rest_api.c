/*
 * The REST API of shared/protocol/REST_API.md as this reference cloud
 * serves it, one function per endpoint, on the state the WebSocket mode
 * keeps (sessions, edge ids, the localEventId set, offline batches, stats):
 *
 *   POST <base>/edge/register   null edgeId -> new UUID v4; a known one ->
 *                               the same; malformed -> 400; unknown -> 404
 *                               (any well-formed one with --accept-any-edge)
 *   POST <base>/activate        --activation-code CODE, single use
 *   GET  <base>/edge/config     --intervals and --batch-limit (maxBatchSize)
 *   GET  <base>/edge/sessions   full state for ?device_ids=, ETag, 304
 *   POST <base>/edge/events     200 accepted/duplicate (by localEventId),
 *                               422 rejected PLU, 400 malformed
 *   POST <base>/edge/events/batch   one result per event; over the limit 413
 *   POST <base>/edge/offline-batches/ack   idempotent by batchId (sim_rest_ack.c)
 *   POST <base>/edge/heartbeat, devices/status   {"ok":true}
 *
 * Every /edge path but /register needs an X-Edge-Id this cloud issued (401
 * "Missing X-Edge-Id" / "unknown_edge" otherwise: what REST_API.md section 7
 * asks a cloud to say so that the edge re-registers). Events go through
 * sim_judge_event, as WebSocket events do; plain bodies through the same
 * scanner, anything unusual through jansson.
 */
#include "sim_rest.h"

#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>

#include <event2/keyvalq_struct.h>
#include <openssl/sha.h>

#include "event/event.h"
#include "rest/rest.h"

json_t *
sim_rest_load_object(struct sim_call *c)
{
	json_t *o;

	if (c->len == 0 || (o = json_loadb(c->body, c->len, 0, NULL)) == NULL) {
		sim_rest_error(c->req, 400, "body is not JSON");
		return NULL;
	}
	if (!json_is_object(o)) {
		json_decref(o);
		sim_rest_error(c->req, 400, "body must be a JSON object");
		return NULL;
	}
	return o;
}

static json_t *
config_object(const struct sim *s)
{
	return json_pack("{s:I, s:I, s:I, s:I, s:i, s:s, s:s, s:s}",
	    "sessionPollIntervalIdleMs", (json_int_t)s->o.rest_intervals[0],
	    "sessionPollIntervalWaitingMs", (json_int_t)s->o.rest_intervals[1],
	    "sessionPollIntervalActiveMs", (json_int_t)s->o.rest_intervals[2],
	    "heartbeatIntervalMs", (json_int_t)s->o.rest_intervals[3],
	    "maxBatchSize", s->o.batch_limit, "workHoursStart", "06:00", "workHoursEnd", "18:00",
	    "timezone", "Europe/Istanbul");
}

/* ---------------------------------------------------------------- identity */

static void
identity_reply(struct sim_call *c, const char *edge, const char *site, const char *name)
{
	sim_rest_reply_json(c->req, 200, json_pack("{s:s, s:s, s:s, s:o}", "edgeId", edge,
	    "siteId", site, "siteName", name, "config", config_object(c->s)));
}

static void
new_edge_id(struct sim *s, char out[CT_UUID_STR])
{
	uint8_t id[16];

	ct_uuid_new(id);             /* REST edge ids are UUIDs, whatever the dialect */
	ct_uuid_fmt(id, out);
	sim_edge_remember(s, out);
}

static void
ep_register(struct sim_call *c)
{
	struct sim *s = c->s;
	json_t *o = sim_rest_load_object(c), *e;
	const char *site, *name;
	char id[CT_UUID_STR], valid[CM_ID_MAX];

	if (o == NULL)
		return;
	e = json_object_get(o, "edgeId");
	site = json_string_value(json_object_get(o, "siteId"));
	name = json_string_value(json_object_get(o, "siteName"));
	if (site == NULL || *site == '\0' || strlen(site) > 63)
		site = "site-01";
	if (name == NULL || *name == '\0' || strlen(name) > 200)
		name = site;
	s->st.registers++;
	if (e == NULL || json_is_null(e)) {
		new_edge_id(s, id);
	} else if (!json_is_string(e) || !rest_edge_id_valid(json_string_value(e), valid)) {
		sim_rest_error(c->req, 400, "Invalid edgeId format; must be a valid UUID");
		json_decref(o);
		return;
	} else if (!sim_edge_known(s, valid) && !s->o.accept_any_edge) {
		printf("rest: register names edge %s, unknown: 404\n", valid);
		sim_rest_error(c->req, 404, "Edge not found");
		json_decref(o);
		return;
	} else {
		snprintf(id, sizeof(id), "%s", valid);
		sim_edge_remember(s, id);
	}
	printf("registered rest edge=%s site=%s\n", id, site);
	identity_reply(c, id, site, name);
	json_decref(o);
}

static void
ep_activate(struct sim_call *c)
{
	struct sim *s = c->s;
	json_t *o = sim_rest_load_object(c);
	const char *code;
	char id[CT_UUID_STR];

	if (o == NULL)
		return;
	code = json_string_value(json_object_get(o, "code"));
	for (int i = 0; code != NULL && i < s->o.nactivation; i++) {
		if (s->o.activation_used[i] || strcmp(s->o.activation_codes[i], code) != 0)
			continue;
		s->o.activation_used[i] = true;
		new_edge_id(s, id);
		printf("activated rest edge=%s code=%s\n", id, code);
		identity_reply(c, id, "site-01", "Activated site");
		json_decref(o);
		return;
	}
	sim_rest_error(c->req, 404, "Invalid or expired setup code");
	json_decref(o);
}

/* X-Edge-Id: one this cloud knows. */
static bool
edge_ok(struct sim_call *c)
{
	struct sim *s = c->s;
	const char *id = evhttp_find_header(evhttp_request_get_input_headers(c->req), "X-Edge-Id");
	char valid[CM_ID_MAX];

	if (id == NULL || *id == '\0') {
		s->rest->st.unknown_edge++;
		sim_rest_error(c->req, 401, "Missing X-Edge-Id");
		return false;
	}
	if (strlen(id) < sizeof(c->edge) && (sim_edge_known(s, id) ||
	    (s->o.accept_any_edge && rest_edge_id_valid(id, valid)))) {
		snprintf(c->edge, sizeof(c->edge), "%s", id);
		return true;
	}
	s->rest->st.unknown_edge++;
	printf("rest: X-Edge-Id %.64s unknown: 401\n", id);
	sim_rest_reply_json(c->req, 401, json_pack("{s:s, s:s}", "error", "unknown_edge",
	    "message", "this edge is not registered"));
	return false;
}

/* ---------------------------------------------------------------- config, sessions */

static void
ep_config(struct sim_call *c)
{
	sim_rest_reply_json(c->req, 200, config_object(c->s));
}

static const struct session *
session_of(const struct sim *s, const char *device)
{
	for (int i = 0; i < s->nsessions; i++)
		if (strcmp(s->sessions[i].device_id, device) == 0)
			return &s->sessions[i];
	return NULL;
}

static void
ep_sessions(struct sim_call *c)
{
	struct sim *s = c->s;
	struct evkeyvalq q;
	const char *ids, *inm, *query;
	char *list = NULL, *text = NULL, *save = NULL, etag[48];
	json_t *arr = json_array(), *root;
	unsigned char md[SHA_DIGEST_LENGTH];
	int n = 0;

	TAILQ_INIT(&q);
	query = evhttp_uri_get_query(evhttp_request_get_evhttp_uri(c->req));
	if (evhttp_parse_query_str(query != NULL ? query : "", &q) != 0 ||
	    (ids = evhttp_find_header(&q, "device_ids")) == NULL || (list = strdup(ids)) == NULL) {
		sim_rest_error(c->req, 400, "device_ids required");
		goto out;
	}
	for (char *t = strtok_r(list, ",", &save); t != NULL && arr != NULL;
	    t = strtok_r(NULL, ",", &save)) {
		const struct session *se = session_of(s, t);
		if (++n > SIM_REST_MAX_IDS) {
			sim_rest_error(c->req, 400, "too many device_ids");
			goto out;
		}
		if (se != NULL)
			json_array_append_new(arr, json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s}",
			    "cloudSessionId", se->id, "deviceId", se->device_id, "animalId",
			    se->animal_id, "animalTag", se->animal_tag, "animalSpecies", "Dana",
			    "operatorId", se->operator_id, "status",
			    se->paused ? "paused" : "active"));
	}
	root = json_pack("{s:o}", "sessions", arr);
	arr = NULL;
	text = root != NULL ? json_dumps(root, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
	json_decref(root);
	if (text == NULL) {
		sim_rest_error(c->req, 500, "out of memory");
		goto out;
	}
	/* ETag: a hash of the answer, as section 4.4 says the cloud makes it */
	SHA1((const unsigned char *)text, strlen(text), md);
	snprintf(etag, sizeof(etag), "\"sessions-%02x%02x%02x%02x%02x%02x%02x%02x\"", md[0], md[1],
	    md[2], md[3], md[4], md[5], md[6], md[7]);
	evhttp_add_header(evhttp_request_get_output_headers(c->req), "ETag", etag);
	evhttp_add_header(evhttp_request_get_output_headers(c->req), "Cache-Control", "no-cache");
	inm = evhttp_find_header(evhttp_request_get_input_headers(c->req), "If-None-Match");
	if (inm != NULL && strcmp(inm, etag) == 0) {
		s->rest->st.not_modified++;
		evhttp_send_reply(c->req, 304, NULL, NULL);
	} else {
		sim_rest_reply(c->req, 200, text, strlen(text));
	}
out:
	json_decref(arr);
	evhttp_clear_headers(&q);
	free(list);
	free(text);
}

/* ---------------------------------------------------------------- events */

/* One result of /events/batch into out; false when the event gets none
 * (this cloud ran out of memory: no result, the edge sends it again). */
static bool
add_result(struct sim *s, struct evbuffer *out, const char *sep, const struct cm_scan_event *e,
    enum sim_verdict v, const uint8_t id[16], const char *why)
{
	char lid[CT_UUID_STR], cid[CT_UUID_STR];
	char *ls;

	switch (v) {
	case SIM_ACCEPTED:
	case SIM_DUPLICATE:
		ct_uuid_fmt(id, lid);
		sim_cloud_event_id(s, id, cid);
		if (v == SIM_DUPLICATE && s->o.no_dedupe)
			evbuffer_add_printf(out, "%s{\"localEventId\":\"%s\","
			    "\"cloudEventId\":\"\",\"status\":\"failed\","
			    "\"error\":\"duplicate: event already exists\"}", sep, lid);
		else
			evbuffer_add_printf(out, "%s{\"localEventId\":\"%s\","
			    "\"cloudEventId\":\"%s\",\"status\":\"%s\"}", sep, lid, cid,
			    v == SIM_ACCEPTED ? "accepted" : "duplicate");
		return true;
	case SIM_REJECTED:
	case SIM_MALFORMED:
		/* the id came from the edge: let jansson quote it */
		ls = e->lid != NULL ? json_dumps(json_string(e->lid), JSON_ENCODE_ANY) : NULL;
		evbuffer_add_printf(out, "%s{\"localEventId\":%s,\"cloudEventId\":\"\",\"status\":"
		    "\"failed\",\"error\":\"%s\"}", sep, ls != NULL ? ls : "null",
		    why ? why : "failed");
		free(ls);
		return true;
	case SIM_LOST:
		break;
	}
	return false;
}

static void
ep_event(struct sim_call *c)
{
	struct sim *s = c->s;
	struct cm_scan_event *e = &s->scan[0];
	json_t *root = NULL;
	const char *why;
	uint8_t id[16];
	char cid[CT_UUID_STR];
	enum sim_verdict v;

	if (cm_scan_rest(c->body, c->len, false, s->scan, 1) != 1) {
		if ((root = sim_rest_load_object(c)) == NULL)
			return;
		sim_event_from_json(root, e);
	}
	v = sim_judge_event(s, s->rest->nreq, e, id, &why);
	if (!s->acking) {
		sim_rest_hold(s, c->req, false);      /* "ack off": stored, never answered */
	} else if (v == SIM_ACCEPTED || (v == SIM_DUPLICATE && !s->o.no_dedupe)) {
		sim_cloud_event_id(s, id, cid);
		sim_rest_reply_json(c->req, 200, json_pack("{s:s, s:s}", "cloudEventId", cid,
		    "status", v == SIM_ACCEPTED ? "accepted" : "duplicate"));
	} else if (v == SIM_DUPLICATE) {
		sim_rest_reply_json(c->req, 200, json_pack("{s:s, s:s, s:s}", "cloudEventId", "",
		    "status", "failed", "error", "duplicate: event already exists"));
	} else if (v == SIM_REJECTED) {
		sim_rest_error(c->req, 422, why);
	} else if (v == SIM_MALFORMED) {
		sim_rest_error(c->req, 400, why);
	} else {
		sim_rest_error(c->req, 500, "out of memory");
	}
	json_decref(root);
}

static void
ep_batch(struct sim_call *c)
{
	struct sim *s = c->s;
	int max = s->o.batch_limit < CM_SCAN_MAX ? s->o.batch_limit : CM_SCAN_MAX;
	struct evbuffer *out;
	json_t *root = NULL, *evs = NULL;
	const char *why;
	uint8_t id[16];
	int n, k = 0;

	/* the scanner refuses more than max; jansson then counts them */
	if ((n = cm_scan_rest(c->body, c->len, true, s->scan, max)) < 0) {
		if ((root = sim_rest_load_object(c)) == NULL)
			return;
		evs = json_object_get(root, "events");
		if (!json_is_array(evs)) {
			sim_rest_error(c->req, 400, "events must be an array");
			json_decref(root);
			return;
		}
		n = (int)json_array_size(evs) > s->o.batch_limit ? s->o.batch_limit + 1 :
		    (int)json_array_size(evs);
	}
	if (n > s->o.batch_limit) {
		s->rest->st.too_large++;
		printf("rest: batch of more than %d events refused: 413\n", s->o.batch_limit);
		sim_rest_reply_json(c->req, 413, json_pack("{s:s, s:i}", "error",
		    "batch too large", "maxBatchSize", s->o.batch_limit));
		json_decref(root);
		return;
	}
	if ((out = evbuffer_new()) == NULL) {
		sim_rest_error(c->req, 500, "out of memory");
		json_decref(root);
		return;
	}
	s->rest->st.batches++;
	if (!s->o.quiet)
		printf("rest: events/batch n=%d edge=%s\n", n, c->edge);
	evbuffer_add_printf(out, "{\"results\":[");
	for (int i = 0; i < n; i++) {
		struct cm_scan_event one, *e = &s->scan[i];
		enum sim_verdict v;
		if (evs != NULL) {
			json_t *j = json_array_get(evs, (size_t)i);
			if (!json_is_object(j)) {
				s->st.malformed++;
				evbuffer_add_printf(out, "%s{\"localEventId\":null,"
				    "\"cloudEventId\":\"\",\"status\":\"failed\","
				    "\"error\":\"event must be an object\"}", k++ > 0 ? "," : "");
				continue;
			}
			sim_event_from_json(j, &one);
			e = &one;
		}
		v = sim_judge_event(s, s->rest->nreq, e, id, &why);
		if (add_result(s, out, k > 0 ? "," : "", e, v, id, why))
			k++;
	}
	evbuffer_add_printf(out, "]}");
	if (!s->acking) {
		sim_rest_hold(s, c->req, false);
	} else {
		evhttp_add_header(evhttp_request_get_output_headers(c->req), "Content-Type",
		    "application/json; charset=utf-8");
		evhttp_send_reply(c->req, 200, NULL, out);
	}
	evbuffer_free(out);
	json_decref(root);
}

/* ---------------------------------------------------------------- health */

static void
ep_heartbeat(struct sim_call *c)
{
	json_t *o = sim_rest_load_object(c), *devs;
	const char *health;

	if (o == NULL)
		return;
	devs = json_object_get(o, "devices");
	health = json_string_value(json_object_get(o, "health"));
	if (!json_is_array(devs)) {
		sim_rest_error(c->req, 400, "devices must be an array");
	} else {
		c->s->rest->st.heartbeats++;
		printf("rest: heartbeat edge=%s health=%s devices=%zu\n", c->edge,
		    health ? health : "-", json_array_size(devs));
		sim_rest_reply(c->req, 200, "{\"ok\":true}", 11);
	}
	json_decref(o);
}

static void
ep_device_status(struct sim_call *c)
{
	struct sim *s = c->s;
	json_t *o = sim_rest_load_object(c);
	const char *dev, *st;
	char err[64];

	if (o == NULL)
		return;
	dev = json_string_value(json_object_get(o, "deviceId"));
	st = json_string_value(json_object_get(o, "status"));
	if (dev == NULL || *dev == '\0') {
		sim_rest_error(c->req, 400, "deviceId required");
	} else {
		s->rest->st.device_status++;
		printf("rest: device %s status=%s edge=%s\n", dev, st ? st : "-", c->edge);
		if (s->o.auto_session && st != NULL && strcmp(st, "online") == 0 &&
		    session_of(s, dev) == NULL && strlen(dev) < 64)
			sim_session_start(s, dev, NULL, err, sizeof(err));
		sim_rest_reply(c->req, 200, "{\"ok\":true}", 11);
	}
	json_decref(o);
}

/* ---------------------------------------------------------------- routing */

static const struct {
	const char *path;
	enum evhttp_cmd_type method;
	void (*fn)(struct sim_call *c);
} routes[] = {
	{ "config", EVHTTP_REQ_GET, ep_config },
	{ "sessions", EVHTTP_REQ_GET, ep_sessions },
	{ "events", EVHTTP_REQ_POST, ep_event },
	{ "events/batch", EVHTTP_REQ_POST, ep_batch },
	{ "offline-batches/ack", EVHTTP_REQ_POST, sim_rest_ack },
	{ "heartbeat", EVHTTP_REQ_POST, ep_heartbeat },
	{ "devices/status", EVHTTP_REQ_POST, ep_device_status },
};

void
sim_rest_route(struct sim *s, struct evhttp_request *req)
{
	const char *path = evhttp_uri_get_path(evhttp_request_get_evhttp_uri(req));
	struct evbuffer *in = evhttp_request_get_input_buffer(req);
	enum evhttp_cmd_type m = evhttp_request_get_command(req);
	size_t bl = strlen(s->o.rest_base);
	struct sim_call c = { .s = s, .req = req };
	const char *ep;

	c.len = evbuffer_get_length(in);
	c.body = c.len > 0 ? (const char *)evbuffer_pullup(in, -1) : "";
	if (c.body == NULL) {
		sim_rest_error(req, 500, "out of memory");
		return;
	}
	if (path == NULL || strncmp(path, s->o.rest_base, bl) != 0) {
		sim_rest_error(req, 404, "Not found");
		return;
	}
	path += bl;
	if (strcmp(path, "/activate") == 0 || strcmp(path, "/edge/register") == 0) {
		if (m != EVHTTP_REQ_POST)
			sim_rest_error(req, 405, "POST only");
		else if (path[1] == 'a')
			ep_activate(&c);
		else
			ep_register(&c);
		return;
	}
	if (strncmp(path, "/edge/", 6) != 0) {
		sim_rest_error(req, 404, "Not found");
		return;
	}
	ep = path + 6;
	for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
		if (strcmp(ep, routes[i].path) != 0)
			continue;
		if (m != routes[i].method)
			sim_rest_error(req, 405, routes[i].method == EVHTTP_REQ_GET ? "GET only" :
			    "POST only");
		else if (edge_ok(&c))
			routes[i].fn(&c);
		return;
	}
	sim_rest_error(req, 404, "Not found");
}
