/*
 * carnitrack-cloudsim --rest: the cloud's REST API (shared/protocol/
 * REST_API.md) on libevent's evhttp, plain or TLS, in the same process and
 * with the same state, commands and stats as the WebSocket mode. This file is
 * the server around the API: listening, TLS, the scripted answers a test asks
 * for (fail, hang), requests held while frozen or unanswered, and the
 * commands whose meaning differs for HTTP (drop, stop, listen, freeze,
 * thaw). The endpoints are sim_rest_api.c.
 *
 * evhttp has no list of its connections, so `drop` closes them all by
 * freeing the server and binding again; requests held at that moment go
 * with their connections.
 */
#include "sim_rest.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <event2/bufferevent_ssl.h>
#include <event2/keyvalq_struct.h>

#include "log/log.h"

static void
count_rest_conn(struct sim *s)
{
	s->st.connects++;
}

static struct bufferevent *
bevcb(struct event_base *base, void *arg)
{
	struct sim *s = arg;
	SSL *ssl;

	count_rest_conn(s);
	if (s->ssl == NULL)
		return bufferevent_socket_new(base, -1, BEV_OPT_CLOSE_ON_FREE);
	if ((ssl = SSL_new(s->ssl)) == NULL)
		return NULL;
	return bufferevent_openssl_socket_new(base, -1, ssl, BUFFEREVENT_SSL_ACCEPTING,
	    BEV_OPT_CLOSE_ON_FREE);
}

/* ---------------------------------------------------------------- replies */

void
sim_rest_reply(struct evhttp_request *req, int code, const char *json, size_t len)
{
	struct evbuffer *b = evbuffer_new();

	evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type",
	    "application/json; charset=utf-8");
	if (b != NULL && len > 0)
		evbuffer_add(b, json, len);
	evhttp_send_reply(req, code, NULL, b);
	if (b != NULL)
		evbuffer_free(b);
}

void
sim_rest_reply_json(struct evhttp_request *req, int code, json_t *o)
{
	char *t = o != NULL ? json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;

	json_decref(o);
	if (t == NULL) {
		sim_rest_error(req, 500, "out of memory");
		return;
	}
	sim_rest_reply(req, code, t, strlen(t));
	free(t);
}

void
sim_rest_error(struct evhttp_request *req, int code, const char *msg)
{
	json_t *o = json_pack("{s:s}", "error", msg);
	char *t = o != NULL ? json_dumps(o, JSON_COMPACT) : NULL;

	json_decref(o);
	if (t == NULL) {
		evhttp_send_reply(req, code, NULL, NULL);
		return;
	}
	sim_rest_reply(req, code, t, strlen(t));
	free(t);
}

/* ---------------------------------------------------------------- held requests */

static void
held_remove(struct sim_rest *r, int i)
{
	memmove(&r->held[i], &r->held[i + 1], sizeof(r->held[0]) * (size_t)(r->nheld - i - 1));
	memmove(&r->held_thaw[i], &r->held_thaw[i + 1],
	    sizeof(r->held_thaw[0]) * (size_t)(r->nheld - i - 1));
	r->nheld--;
}

/* evhttp frees a connection's request with it. */
static void
held_conn_closed(struct evhttp_connection *evcon, void *arg)
{
	struct sim_rest *r = ((struct sim *)arg)->rest;

	for (int i = r->nheld - 1; i >= 0; i--)
		if (evhttp_request_get_connection(r->held[i]) == evcon)
			held_remove(r, i);
}

void
sim_rest_hold(struct sim *s, struct evhttp_request *req, bool at_thaw)
{
	struct sim_rest *r = s->rest;

	if (r->nheld == SIM_REST_HELD_MAX) {
		/* full: the oldest goes, with its connection */
		struct evhttp_connection *old = evhttp_request_get_connection(r->held[0]);
		held_remove(r, 0);
		printf("rest: more than %d requests held, closing the oldest one's connection\n",
		    SIM_REST_HELD_MAX);
		held_conn_closed(old, s);
		evhttp_connection_free(old);
	}
	evhttp_connection_set_closecb(evhttp_request_get_connection(req), held_conn_closed, s);
	r->held[r->nheld] = req;
	r->held_thaw[r->nheld] = at_thaw;
	r->nheld++;
}

/* ---------------------------------------------------------------- requests */

static void
gencb(struct evhttp_request *req, void *arg)
{
	struct sim *s = arg;
	struct sim_rest *r = s->rest;

	r->st.requests++;
	r->nreq++;
	if (!sim_token_ok(s, evhttp_find_header(evhttp_request_get_input_headers(req),
	    "Authorization"))) {
		/* no word of REST_API.md section 3.2: not "this edge is unknown" */
		s->st.unauthorized++;
		sim_rest_error(req, 401, "bearer token required");
		return;
	}
	if (r->frozen) {
		sim_rest_hold(s, req, true);
		return;
	}
	if (r->hang > 0) {
		r->hang--;
		r->st.hung++;
		printf("rest: request %s %s held unanswered (hang)\n",
		    evhttp_request_get_command(req) == EVHTTP_REQ_POST ? "POST" : "GET",
		    evhttp_request_get_uri(req));
		sim_rest_hold(s, req, false);
		return;
	}
	if (r->nscript > 0) {
		struct rest_script sc = r->script[0];
		char msg[48];
		memmove(r->script, r->script + 1, sizeof(r->script[0]) * (size_t)(r->nscript - 1));
		r->nscript--;
		r->st.scripted++;
		if (sc.retry_after >= 0) {
			char ra[16];
			snprintf(ra, sizeof(ra), "%d", sc.retry_after);
			evhttp_add_header(evhttp_request_get_output_headers(req), "Retry-After",
			    ra);
		}
		snprintf(msg, sizeof(msg), "scripted %d", sc.status);
		printf("rest: %s %s answered %d (scripted)\n",
		    evhttp_request_get_command(req) == EVHTTP_REQ_POST ? "POST" : "GET",
		    evhttp_request_get_uri(req), sc.status);
		sim_rest_error(req, sc.status, msg);
		return;
	}
	sim_rest_route(s, req);
	/* what a test reads after the answer is in the files by then (the
	 * WebSocket mode flushes once per loop turn, sim_pump_all) */
	fflush(stdout);
	if (s->event_log != NULL)
		fflush(s->event_log);
}

/* ---------------------------------------------------------------- listening */

bool
sim_rest_listening(const struct sim *s)
{
	return s->rest != NULL && s->rest->http != NULL;
}

int
sim_rest_listen(struct sim *s)
{
	const char *addr = s->o.rest_listen[0] ? s->o.rest_listen : s->o.listen;
	struct sockaddr_storage ss;
	struct evconnlistener *lis;
	int sl = sizeof(ss);

	if (s->rest == NULL && (s->rest = calloc(1, sizeof(*s->rest))) == NULL) {
		log_err("out of memory");
		return -1;
	}
	if (s->rest->http != NULL)
		return 0;
	if (evutil_parse_sockaddr_port(addr, (struct sockaddr *)&ss, &sl) != 0) {
		log_err("--listen %s: not HOST:PORT", addr);
		return -1;
	}
	if ((s->rest->http = evhttp_new(s->base)) == NULL) {
		log_err("evhttp_new failed");
		return -1;
	}
	lis = evconnlistener_new_bind(s->base, NULL, NULL, LEV_OPT_CLOSE_ON_FREE |
	    LEV_OPT_REUSEABLE | LEV_OPT_CLOSE_ON_EXEC, 128, (struct sockaddr *)&ss, sl);
	if (lis == NULL || evhttp_bind_listener(s->rest->http, lis) == NULL) {
		log_errno("listen on %s", addr);
		if (lis != NULL)
			evconnlistener_free(lis);
		evhttp_free(s->rest->http);
		s->rest->http = NULL;
		return -1;
	}
	/* accepted sockets inherit it (Linux): answers of more than one write
	 * must not wait for the edge's delayed ACK */
	{
		int one = 1;
		if (setsockopt(evconnlistener_get_fd(lis), IPPROTO_TCP, TCP_NODELAY, &one,
		    sizeof(one)) != 0)
			log_errno("TCP_NODELAY on %s", addr);
	}
	evhttp_set_gencb(s->rest->http, gencb, s);
	evhttp_set_bevcb(s->rest->http, bevcb, s);
	evhttp_set_allowed_methods(s->rest->http, EVHTTP_REQ_GET | EVHTTP_REQ_POST);
	evhttp_set_max_body_size(s->rest->http, SIM_REST_MAX_BODY);
	evhttp_set_max_headers_size(s->rest->http, 64 * 1024);
	evhttp_set_timeout(s->rest->http, 120);
	printf("cloudsim: listening on %s://%s%s/ (REST)\n", s->ssl ? "https" : "http",
	    addr, s->o.rest_base);
	fflush(stdout);
	return 0;
}

static void
sim_rest_unlisten(struct sim *s)
{
	if (!sim_rest_listening(s))
		return;
	/* the held requests go with their connections */
	s->rest->nheld = 0;
	evhttp_free(s->rest->http);
	s->rest->http = NULL;
	printf("cloudsim: stopped listening (REST), connections closed\n");
	fflush(stdout);
}

void
sim_rest_free(struct sim *s)
{
	if (s->rest == NULL)
		return;
	sim_rest_unlisten(s);
	free(s->rest);
	s->rest = NULL;
}

/* ---------------------------------------------------------------- commands */

static void
thaw(struct sim *s, struct evbuffer *out)
{
	struct sim_rest *r = s->rest;
	struct evhttp_request *go[SIM_REST_HELD_MAX];
	int n = 0;

	r->frozen = false;
	for (int i = r->nheld - 1; i >= 0; i--)
		if (r->held_thaw[i]) {
			go[n++] = r->held[i];
			held_remove(r, i);
		}
	/* in arrival order */
	for (int i = n - 1; i >= 0; i--)
		sim_rest_route(s, go[i]);
	evbuffer_add_printf(out, "ok thawed %d\n", n);
}

/* fail STATUS [COUNT [RETRY_AFTER]] */
static void
script(struct sim_rest *r, const char *args, struct evbuffer *out)
{
	int status = 0, count = 1, ra = -1;
	int n = sscanf(args, "%d %d %d", &status, &count, &ra);

	if (n < 1 || status < 100 || status > 599 || count < 1 || ra < -1 || ra > 86400 ||
	    count > SIM_REST_SCRIPT_MAX - r->nscript) {
		evbuffer_add_printf(out, "error: usage: fail STATUS [COUNT [RETRY_AFTER]] "
		    "(100-599, at most %d queued)\n", SIM_REST_SCRIPT_MAX);
		return;
	}
	for (int i = 0; i < count; i++) {
		r->script[r->nscript].status = status;
		r->script[r->nscript++].retry_after = ra;
	}
	evbuffer_add_printf(out, "ok fail %d x%d\n", status, count);
}

int
sim_rest_command(struct sim *s, const char *cmd, const char *args, struct evbuffer *out)
{
	struct sim_rest *r = s->rest;

	if (r == NULL)
		return 0;
	if (strcmp(cmd, "drop") == 0) {
		int held = r->nheld;
		bool was = sim_rest_listening(s);
		sim_rest_unlisten(s);
		if (was && sim_rest_listen(s) != 0)
			evbuffer_add_printf(out, "error: listen on %s: %s\n", s->o.listen,
			    strerror(errno));
		else
			evbuffer_add_printf(out, "ok dropped (held %d)\n", held);
	} else if (strcmp(cmd, "stop") == 0) {
		sim_rest_unlisten(s);
		evbuffer_add_printf(out, "ok stopped\n");
	} else if (strcmp(cmd, "listen") == 0) {
		if (sim_rest_listen(s) != 0)
			evbuffer_add_printf(out, "error: listen on %s: %s\n", s->o.listen,
			    strerror(errno));
		else
			evbuffer_add_printf(out, "ok listening\n");
	} else if (strcmp(cmd, "freeze") == 0) {
		r->frozen = true;
		evbuffer_add_printf(out, "ok frozen\n");
	} else if (strcmp(cmd, "thaw") == 0) {
		thaw(s, out);
	} else if (strcmp(cmd, "fail") == 0) {
		script(r, args, out);
	} else if (strcmp(cmd, "hang") == 0) {
		int n = 1;
		if (*args != '\0' &&
		    (sscanf(args, "%d", &n) != 1 || n < 1 || n > SIM_REST_HELD_MAX))
			evbuffer_add_printf(out, "error: usage: hang [COUNT]\n");
		else
			evbuffer_add_printf(out, "ok hang %d\n", r->hang += n);
	} else if (strcmp(cmd, "send") == 0 || strcmp(cmd, "sendbin") == 0) {
		evbuffer_add_printf(out, "error: %s is for WebSocket links; the REST cloud only "
		    "answers\n", cmd);
	} else {
		return 0;
	}
	return 1;
}

void
sim_rest_stats_json(const struct sim *s, struct evbuffer *out)
{
	const struct sim_rest *r = s->rest;

	if (r == NULL)
		return;
	evbuffer_add_printf(out, ",\"rest_requests\":%llu,\"rest_not_modified\":%llu,"
	    "\"rest_scripted\":%llu,\"rest_hung\":%llu,\"rest_held\":%d,\"rest_too_large\":%llu,"
	    "\"rest_unknown_edge\":%llu,\"rest_heartbeats\":%llu,\"rest_device_status\":%llu,"
	    "\"rest_batches\":%llu,\"rest_batch_acks\":%llu,\"rest_batch_acks_repeated\":%llu",
	    (unsigned long long)r->st.requests, (unsigned long long)r->st.not_modified,
	    (unsigned long long)r->st.scripted, (unsigned long long)r->st.hung, r->nheld,
	    (unsigned long long)r->st.too_large, (unsigned long long)r->st.unknown_edge,
	    (unsigned long long)r->st.heartbeats, (unsigned long long)r->st.device_status,
	    (unsigned long long)r->st.batches, (unsigned long long)r->st.batch_acks,
	    (unsigned long long)r->st.batch_acks_repeated);
}

/* ---------------------------------------------------------------- options */

void
sim_rest_defaults(struct sim_opts *o)
{
	snprintf(o->rest_base, sizeof(o->rest_base), "/api/v1");
	o->batch_limit = 500;
	o->rest_intervals[0] = 120000;
	o->rest_intervals[1] = 5000;
	o->rest_intervals[2] = 30000;
	o->rest_intervals[3] = 30000;
}

static int
parse_intervals(struct sim_opts *o, const char *arg)
{
	long long v[4];
	char tail;

	if (sscanf(arg, "%lld,%lld,%lld,%lld%c", &v[0], &v[1], &v[2], &v[3], &tail) != 4)
		return -1;
	for (int i = 0; i < 4; i++) {
		if (v[i] < 1 || v[i] > 24LL * 3600 * 1000)
			return -1;
		o->rest_intervals[i] = v[i];
	}
	return 0;
}

int
sim_rest_option(struct sim_opts *o, int opt, const char *arg)
{
	char *end;
	long n;

	switch (opt) {
	case SIM_OPT_REST:
		o->rest = true;
		return 0;
	case SIM_OPT_REST_LISTEN:
		if (strlen(arg) >= sizeof(o->rest_listen)) {
			log_err("--rest-listen %s: too long", arg);
			return -1;
		}
		snprintf(o->rest_listen, sizeof(o->rest_listen), "%s", arg);
		return 0;
	case SIM_OPT_REST_BASE:
		if (arg[0] != '/' || strlen(arg) >= sizeof(o->rest_base) || strpbrk(arg, "?# ")) {
			log_err("--rest-base %s: an absolute path without query, e.g. /api/v1",
			    arg);
			return -1;
		}
		snprintf(o->rest_base, sizeof(o->rest_base), "%s", arg);
		/* "/" and "/api/v1/" name the same base as "" and "/api/v1" */
		for (size_t n2 = strlen(o->rest_base); n2 > 0 && o->rest_base[n2 - 1] == '/'; n2--)
			o->rest_base[n2 - 1] = '\0';
		return 0;
	case SIM_OPT_BATCH_LIMIT:
		n = strtol(arg, &end, 10);
		if (*arg == '\0' || *end != '\0' || n < 1 || n > 100000) {
			log_err("--batch-limit %s: not a number in 1..100000", arg);
			return -1;
		}
		o->batch_limit = (int)n;
		return 0;
	case SIM_OPT_INTERVALS:
		if (parse_intervals(o, arg) != 0) {
			log_err("--intervals %s: want IDLE,WAITING,ACTIVE,HEARTBEAT in ms "
			    "(1..86400000)", arg);
			return -1;
		}
		return 0;
	case SIM_OPT_ANY_EDGE:
		o->accept_any_edge = true;
		return 0;
	case SIM_OPT_ACTIVATION:
		if (o->nactivation == 8 || *arg == '\0' ||
		    strlen(arg) >= sizeof(o->activation_codes[0])) {
			log_err("--activation-code %s: at most 8 codes of at most 63 characters",
			    arg);
			return -1;
		}
		snprintf(o->activation_codes[o->nactivation++], sizeof(o->activation_codes[0]),
		    "%s", arg);
		return 0;
	}
	return -1;
}
