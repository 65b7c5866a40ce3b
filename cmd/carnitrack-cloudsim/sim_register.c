/*
 * Registration as the clouds that exist answer it (--register-reply):
 *   edge_registered  {edgeId, siteId, siteName}                (this cloud's default)
 *   config_update    {edgeId, siteId, siteName, registrationStatus: "registered"}
 *   none             no answer at all: the edge must stream regardless
 *   http             no WebSocket answer; the identity is had from the HTTP
 *                    endpoint: POST <any path> with the register payload as
 *                    the body -> 200 {"edge_id", "site_id", "site_name"}
 *                    (snake_case, as some clouds answer)
 * The POST endpoint answers in every mode. Active sessions follow `register`
 * in every mode.
 *
 * Edge ids: the ones issued (or accepted) are remembered. After `forget`,
 * this cloud knows only what it issues from then on: an upgrade naming
 * another X-Edge-Id is refused 401 "unknown edge", and a `register` naming
 * one gets a new id, as a cloud that lost its edge table would answer
 * (`forget register`: only the second).
 */
#include "sim.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "event/event.h"

bool
sim_edge_known(const struct sim *s, const char *id)
{
	for (int i = 0; i < s->nedges; i++)
		if (strcmp(s->edges[i], id) == 0)
			return true;
	return false;
}

void
sim_edge_remember(struct sim *s, const char *id)
{
	if (sim_edge_known(s, id) || strlen(id) >= sizeof(s->edges[0]))
		return;
	if (s->nedges == SIM_MAX_EDGES) {      /* full: the oldest goes */
		memmove(s->edges[0], s->edges[1], sizeof(s->edges[0]) * (SIM_MAX_EDGES - 1));
		s->nedges--;
	}
	snprintf(s->edges[s->nedges++], sizeof(s->edges[0]), "%s", id);
}

bool
sim_edge_refused(struct sim *s, const char *edge_id)
{
	if (!s->strict_upgrade || edge_id[0] == '\0' || sim_edge_known(s, edge_id))
		return false;
	s->st.unknown_edge_refusals++;
	return true;
}

void
sim_edges_forget(struct sim *s, bool at_upgrade)
{
	s->nedges = 0;
	s->strict_edges = true;
	s->strict_upgrade = at_upgrade;
}

/* The id this edge gets: the one it asks for when we know it (or do not
 * care), a new one otherwise. */
static void
issue(struct sim *s, const char *asked, char out[64])
{
	char fresh[40];

	if (asked != NULL && *asked != '\0' && strlen(asked) < 64 &&
	    (!s->strict_edges || sim_edge_known(s, asked))) {
		snprintf(out, 64, "%s", asked);
	} else {
		sim_new_id(s, fresh);
		snprintf(out, 64, "%s", fresh);
		if (asked != NULL && *asked != '\0')
			printf("register: edge %s unknown, issued %s\n", asked, out);
	}
	sim_edge_remember(s, out);
}

static const char *
jstr(const json_t *o, const char *k)
{
	return json_string_value(json_object_get(o, k));
}

/* The asked id may come as a number from an edge that got one from us. */
static const char *
asked_id(const json_t *p, char buf[32])
{
	const json_t *v = json_object_get(p, "edgeId");

	if (json_is_integer(v)) {
		snprintf(buf, 32, "%lld", (long long)json_integer_value(v));
		return buf;
	}
	return json_string_value(v);
}

void
sim_on_register(struct conn *c, json_t *p)
{
	struct sim *s = c->sim;
	const char *site = jstr(p, "siteId"), *name = jstr(p, "siteName");
	char num[32];

	issue(s, asked_id(p, num), c->edge_id);
	if (site != NULL && *site != '\0')
		snprintf(c->site_id, sizeof(c->site_id), "%s", site);
	else if (c->site_id[0] == '\0')
		snprintf(c->site_id, sizeof(c->site_id), "site-01");
	c->registered = true;
	s->st.registers++;
	switch (s->o.register_reply) {
	case REPLY_EDGE_REGISTERED:
		sim_send(c, "edge_registered", json_pack("{s:o, s:s, s:s}", "edgeId",
		    sim_id(s, c->edge_id), "siteId", c->site_id, "siteName",
		    name ? name : c->site_id));
		break;
	case REPLY_CONFIG_UPDATE:
		sim_send(c, "config_update", json_pack("{s:o, s:s, s:s, s:s}", "edgeId",
		    sim_id(s, c->edge_id), "siteId", c->site_id, "siteName",
		    name ? name : c->site_id,
		    "registrationStatus", "registered"));
		break;
	case REPLY_NONE:
	case REPLY_HTTP:
		break;
	}
	/* "Cloud sends active sessions" right after registration. */
	for (int i = 0; i < s->nsessions; i++) {
		sim_send(c, "session_started", sim_session_started_payload(s, &s->sessions[i]));
		if (s->sessions[i].paused && !s->o.session_id_alias)
			sim_send(c, "session_paused",
			    sim_session_ref_payload(s, &s->sessions[i], NULL));
	}
	printf("registered conn=%llu edge=%s site=%s reply=%s sessions=%d\n",
	    (unsigned long long)c->id, c->edge_id, c->site_id, sim_reply_name(s->o.register_reply),
	    s->nsessions);
}

/* ---------------------------------------------------------------- HTTP */

/* The value of header name in head (first one), cut to cap; false if none. */
static bool
header_value(const char *head, const char *name, char *out, size_t cap)
{
	size_t nl = strlen(name);

	for (const char *p = strstr(head, "\r\n"); p != NULL; p = strstr(p + 2, "\r\n")) {
		const char *v = p + 2 + nl, *e;
		if (strncasecmp(p + 2, name, nl) != 0 || *v != ':')
			continue;
		for (v++; *v == ' ' || *v == '\t'; v++)
			;
		e = strstr(v, "\r\n");
		snprintf(out, cap, "%.*s", (int)(e != NULL ? (size_t)(e - v) : strlen(v)), v);
		return true;
	}
	return false;
}

/* Content-Length of the head; -1 when absent or not a number. */
static long
content_length(const char *head)
{
	for (const char *p = strstr(head, "\r\n"); p != NULL; p = strstr(p + 2, "\r\n")) {
		char *end;
		long v;
		if (strncasecmp(p + 2, "Content-Length:", 15) != 0)
			continue;
		v = strtol(p + 17, &end, 10);
		return end == p + 17 || v < 0 ? -1 : v;
	}
	return -1;
}

int
sim_http_post(struct conn *c, size_t head_len)
{
	struct sim *s = c->sim;
	struct evbuffer *in = bufferevent_get_input(c->bev);
	char head[SIM_HTTP_MAX + 1], *body, *reply, edge[64], num[32], auth[256];
	const char *site;
	json_error_t jerr;
	json_t *p, *r;
	long n;

	evbuffer_copyout(in, head, head_len);
	head[head_len] = '\0';
	if (!sim_token_ok(s, header_value(head, "Authorization", auth, sizeof(auth)) ? auth :
	    NULL)) {
		s->st.unauthorized++;
		evbuffer_drain(in, evbuffer_get_length(in));
		printf("http register conn=%llu peer=%s refused: no or wrong bearer token\n",
		    (unsigned long long)c->id, c->peer);
		sim_http_respond(c, 401, "text/plain", "bearer token required\n");
		return -1;
	}
	if ((n = content_length(head)) < 0 || (size_t)n > SIM_POST_MAX) {
		evbuffer_drain(in, evbuffer_get_length(in));
		sim_http_respond(c, n < 0 ? 411 : 413, "text/plain", "bad Content-Length\n");
		return -1;
	}
	if (evbuffer_get_length(in) < head_len + (size_t)n)
		return 0;
	evbuffer_drain(in, head_len);
	if ((body = malloc((size_t)n + 1)) == NULL) {
		sim_http_respond(c, 500, "text/plain", "out of memory\n");
		return -1;
	}
	evbuffer_remove(in, body, (size_t)n);
	body[n] = '\0';
	p = json_loadb(body, (size_t)n, 0, &jerr);
	free(body);
	if (!json_is_object(p)) {
		json_decref(p);
		sim_http_respond(c, 400, "text/plain", "body is not a JSON object\n");
		return -1;
	}
	issue(s, asked_id(p, num), edge);
	site = jstr(p, "siteId");
	s->st.http_registers++;
	r = json_pack("{s:o, s:s, s:s}", "edge_id", sim_id(s, edge),
	    "site_id", site && *site ? site : "site-01", "site_name",
	    jstr(p, "siteName") ? jstr(p, "siteName") : "site-01");
	reply = r ? json_dumps(r, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
	json_decref(r);
	json_decref(p);
	printf("http register conn=%llu peer=%s edge=%s\n", (unsigned long long)c->id, c->peer,
	    edge);
	sim_http_respond(c, 200, "application/json", reply ? reply : "{}");
	free(reply);
	return -1;
}
