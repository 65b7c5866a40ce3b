/*
 * The web server's connections and their bounds. evhttp in libevent 2.1
 * has no connection cap, no allow hook and no deadline for a whole request,
 * and takes accepted sockets only from its own listener; what it does offer
 * is a callback for each new connection's bufferevent. So:
 *  - that callback (new_bev) records the connection in a fixed table and
 *    keeps a reference to its bufferevent; the table full switches the
 *    listener off until a slot frees (the connection cap);
 *  - in the same loop turn, before evhttp has read a byte, `settle` looks
 *    at the peer address: not allowed, or too many from it, and the socket
 *    is shut down, which evhttp sees as a peer that went away;
 *  - a deadline per connection shuts down one whose request has not
 *    arrived in full in time (slowloris), whatever it trickles;
 *  - `sweep` gives our reference back once evhttp has let go of the
 *    bufferevent (its callbacks cleared by bufferevent_free).
 */
#include "web/web_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/util.h>

#include "event/event.h"
#include "log/log.h"

#define DEFAULT_MAX_CONNS   32
#define DEFAULT_PER_IP      8
#define DEFAULT_HEADERS     8192
#define DEFAULT_TIMEOUT_S   10
#define LISTEN_BACKLOG      32
#define SWEEP_SOON_MS       20       /* after a close or refusal */
#define SWEEP_EVERY_S       1        /* connections evhttp ended by itself */
#define SWEEP_BUSY_MS       20       /* the same, while half the slots are taken */

static bool
released(struct bufferevent *bev)
{
	bufferevent_data_cb r, wr;
	bufferevent_event_cb e;
	void *arg;

	bufferevent_getcb(bev, &r, &wr, &e, &arg);
	return r == NULL && wr == NULL && e == NULL;
}

/* The sweep within ms, never later than it already was: under a flood of
 * refusals, each asking for a sweep soon, it must still come. */
static void
sweep_in(struct web *w, int ms)
{
	int64_t due = ct_now_ms_mono() + ms;

	if (evtimer_pending(w->sweep, NULL) && w->sweep_due <= due)
		return;
	w->sweep_due = due;
	ct_timer_add_ms(w->sweep, ms);
}

static void
sweep_soon(struct web *w)
{
	sweep_in(w, SWEEP_SOON_MS);
}

/* Ends a connection from our side: evhttp reads the end of the stream and
 * frees it as for any peer that left; sweep then frees the slot. */
static void
cut(struct web_conn *c)
{
	evutil_socket_t fd = bufferevent_getfd(c->bev);

	if (fd >= 0 && !released(c->bev))
		shutdown(fd, SHUT_RDWR);
	evtimer_del(c->deadline);
	sweep_soon(c->w);
}

/*
 * A connection evhttp ends by itself (garbage answered with 400, a peer
 * gone) tells nobody: its slot is found free here. While the table fills
 * (a flood), that is looked at every SWEEP_BUSY_MS, so that slots a flood
 * frees do not stay taken for a second while real clients wait.
 */
static void
on_sweep(evutil_socket_t fd, short what, void *arg)
{
	struct web *w = arg;

	for (int i = 0; i <= w->conf.max_connections; i++) {
		struct web_conn *c = &w->conns[i];
		if (c->bev == NULL || !released(c->bev))
			continue;
		evtimer_del(c->deadline);
		bufferevent_decref(c->bev);
		c->bev = NULL;
		w->nconns--;
	}
	if (w->paused && w->nconns < w->conf.max_connections) {
		w->paused = false;
		evconnlistener_enable(w->listener);
	}
	if (w->nconns > 0)
		sweep_in(w, 2 * w->nconns >= w->conf.max_connections ? SWEEP_BUSY_MS :
		    SWEEP_EVERY_S * 1000);
}

static void
conn_arm(struct web_conn *c)
{
	struct timeval tv = { c->w->conf.request_timeout_s, 0 };

	evtimer_add(c->deadline, &tv);
}

static void
on_deadline(evutil_socket_t fd, short what, void *arg)
{
	struct web_conn *c = arg;

	if (c->bev == NULL || released(c->bev))
		return;
	c->w->c.timed_out++;
	log_debug("web: no full request within %d s, connection closed",
	    c->w->conf.request_timeout_s);
	cut(c);
}

static bool
same_addr(const struct sockaddr_storage *a, const struct sockaddr_storage *b)
{
	if (a->ss_family != b->ss_family)
		return false;
	if (a->ss_family == AF_INET)
		return memcmp(&((const struct sockaddr_in *)a)->sin_addr,
		    &((const struct sockaddr_in *)b)->sin_addr, 4) == 0;
	if (a->ss_family == AF_INET6)
		return memcmp(&((const struct sockaddr_in6 *)a)->sin6_addr,
		    &((const struct sockaddr_in6 *)b)->sin6_addr, 16) == 0;
	return false;
}

/* Refusals are counted in status; each kind is logged once, not per
 * connection, so a flood does not flood the log. */
static void
refuse(struct web_conn *c, int kind, uint64_t *counter, const char *why)
{
	struct web *w = c->w;

	(*counter)++;
	if (!w->logged_refusal[kind]) {
		w->logged_refusal[kind] = true;
		log_warn("web: refusing connections %s (counted in status from now on)", why);
	}
	cut(c);
}

static void
settle_one(struct web *w, struct web_conn *c)
{
	evutil_socket_t fd = bufferevent_getfd(c->bev);
	socklen_t len = sizeof(c->sa);
	int same = 0;

	c->settled = true;
	memset(&c->sa, 0, sizeof(c->sa));
	if (fd < 0 || getpeername(fd, (struct sockaddr *)&c->sa, &len) != 0) {
		cut(c);
		return;
	}
	if (!conf_cidr_match(w->conf.allow, w->conf.nallow, (struct sockaddr *)&c->sa)) {
		refuse(c, 0, &w->c.refused_allow, "from addresses not in [http] allow");
		return;
	}
	for (int i = 0; i <= w->conf.max_connections; i++) {
		struct web_conn *o = &w->conns[i];
		if (o->bev != NULL && o->settled && same_addr(&o->sa, &c->sa) && !released(o->bev))
			same++;
	}
	if (same > w->conf.max_per_ip) {
		refuse(c, 2, &w->c.refused_per_ip, "over the cap per address");
		return;
	}
	if (c == &w->conns[w->conf.max_connections]) {
		/* the spare slot: only used should the listener not stop in time */
		refuse(c, 1, &w->c.at_cap, "over the connection cap");
		return;
	}
	w->c.accepted++;
	conn_arm(c);
}

static void
on_settle(evutil_socket_t fd, short what, void *arg)
{
	struct web *w = arg;

	for (int i = 0; i <= w->conf.max_connections; i++)
		if (w->conns[i].bev != NULL && !w->conns[i].settled)
			settle_one(w, &w->conns[i]);
}

/* evhttp accepted a connection and wants its bufferevent. */
static struct bufferevent *
new_bev(struct event_base *base, void *arg)
{
	struct web *w = arg;
	struct web_conn *c = NULL;

	for (int i = 0; i <= w->conf.max_connections && c == NULL; i++)
		if (w->conns[i].bev == NULL)
			c = &w->conns[i];
	if (c == NULL) {
		/* Cannot happen: the listener stops at the cap, one spare slot. */
		log_err("web: connection table full with the listener on");
		return NULL;
	}
	if ((c->bev = bufferevent_socket_new(base, -1, BEV_OPT_CLOSE_ON_FREE)) == NULL)
		return NULL;
	bufferevent_incref(c->bev);
	c->settled = false;
	w->nconns++;
	if (w->nconns >= w->conf.max_connections && !w->paused) {
		/* At the cap: accept nothing more until a connection ends; new
		 * ones wait in the kernel's backlog meanwhile. */
		w->paused = true;
		w->c.at_cap++;
		if (!w->logged_refusal[1]) {
			w->logged_refusal[1] = true;
			log_warn("web: %d connections open, the cap: not accepting more until one "
			    "ends (counted in status from now on)", w->nconns);
		}
		evconnlistener_disable(w->listener);
	}
	event_active(w->settle, EV_TIMEOUT, 0);
	sweep_in(w, 2 * w->nconns >= w->conf.max_connections ? SWEEP_BUSY_MS :
	    SWEEP_EVERY_S * 1000);
	return c->bev;
}

static void
on_close(struct evhttp_connection *evcon, void *arg)
{
	sweep_soon(arg);
}

void
web_conn_request(struct web *w, struct evhttp_request *req)
{
	struct evhttp_connection *evcon = evhttp_request_get_connection(req);
	struct bufferevent *bev = evcon ? evhttp_connection_get_bufferevent(evcon) : NULL;

	w->c.requests++;
	for (int i = 0; bev != NULL && i <= w->conf.max_connections; i++)
		if (w->conns[i].bev == bev) {
			conn_arm(&w->conns[i]);     /* the next request gets its own time */
			evhttp_connection_set_closecb(evcon, on_close, w);
			break;
		}
}

static void
reenable_accept(evutil_socket_t fd, short what, void *arg)
{
	struct web *w = arg;

	if (!w->paused)
		evconnlistener_enable(w->listener);
}

static void
on_accept_error(struct evconnlistener *l, void *arg)
{
	struct web *w = arg;
	int e = EVUTIL_SOCKET_ERROR();
	struct timeval tv = { 1, 0 };

	log_warn("web: accept: %s", evutil_socket_error_to_string(e));
	/* Out of fds: pause instead of spinning on a ready listener. */
	if (e == EMFILE || e == ENFILE) {
		evconnlistener_disable(l);
		evtimer_add(w->accept_retry, &tv);
	}
}

/* ADDRESS:PORT; port 0 (the kernel picks one, for tests) is accepted here
 * although evutil_parse_sockaddr_port refuses it. */
static int
parse_listen(const char *s, struct sockaddr_storage *ss, int *len)
{
	char buf[CT_CONF_STR];
	size_t n = strlen(s);
	bool any = n >= 2 && strcmp(s + n - 2, ":0") == 0;

	if (n >= sizeof(buf))
		return -1;
	memcpy(buf, s, n + 1);
	if (any)
		buf[n - 1] = '1';
	if (evutil_parse_sockaddr_port(buf, (struct sockaddr *)ss, len) != 0)
		return -1;
	if (any && ss->ss_family == AF_INET)
		((struct sockaddr_in *)ss)->sin_port = 0;
	else if (any)
		((struct sockaddr_in6 *)ss)->sin6_port = 0;
	return 0;
}

static int
bind_listener(struct web *w, char *err, size_t errlen)
{
	struct sockaddr_storage ss;
	int len = sizeof(ss);
	socklen_t sl = sizeof(ss);

	memset(&ss, 0, sizeof(ss));
	if (parse_listen(w->conf.listen, &ss, &len) != 0) {
		snprintf(err, errlen, "[http] listen: '%s' is not ADDRESS:PORT", w->conf.listen);
		return -1;
	}
	/* The callback is evhttp's once bound; ours would never run. */
	w->listener = evconnlistener_new_bind(w->base, NULL, NULL,
	    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE | LEV_OPT_CLOSE_ON_EXEC | LEV_OPT_DISABLED,
	    LISTEN_BACKLOG, (struct sockaddr *)&ss, len);
	if (w->listener == NULL) {
		snprintf(err, errlen, "[http] listen %s: %s", w->conf.listen,
		    evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()));
		return -1;
	}
	if (evhttp_bind_listener(w->http, w->listener) == NULL) {
		evconnlistener_free(w->listener);
		w->listener = NULL;
		snprintf(err, errlen, "[http] listen %s: out of memory", w->conf.listen);
		return -1;
	}
	evconnlistener_set_error_cb(w->listener, on_accept_error);
	if (getsockname(evconnlistener_get_fd(w->listener), (struct sockaddr *)&ss, &sl) == 0)
		w->port = ntohs(ss.ss_family == AF_INET6 ?
		    ((struct sockaddr_in6 *)&ss)->sin6_port :
		    ((struct sockaddr_in *)&ss)->sin_port);
	return 0;
}

static void
defaults(struct web_conf *c)
{
	if (c->max_connections <= 0)
		c->max_connections = DEFAULT_MAX_CONNS;
	if (c->max_connections > WEB_CONNS_MAX)
		c->max_connections = WEB_CONNS_MAX;
	if (c->max_per_ip <= 0)
		c->max_per_ip = DEFAULT_PER_IP;
	if (c->max_header_bytes <= 0)
		c->max_header_bytes = DEFAULT_HEADERS;
	if (c->request_timeout_s <= 0)
		c->request_timeout_s = DEFAULT_TIMEOUT_S;
}

static void
on_wait_over(evutil_socket_t fd, short what, void *arg)
{
	struct web *w = arg;

	/* no fresher status in time: the older one, which says its age */
	w->c.held_expired += (uint64_t)w->nwaiting;
	web_answer_held(w, false);
}

static int
make_events(struct web *w)
{
	if ((w->settle = event_new(w->base, -1, 0, on_settle, w)) == NULL ||
	    (w->wait_timer = evtimer_new(w->base, on_wait_over, w)) == NULL ||
	    (w->sweep = evtimer_new(w->base, on_sweep, w)) == NULL ||
	    (w->accept_retry = evtimer_new(w->base, reenable_accept, w)) == NULL)
		return -1;
	for (int i = 0; i <= w->conf.max_connections; i++) {
		struct web_conn *c = &w->conns[i];
		c->w = w;
		if ((c->deadline = evtimer_new(w->base, on_deadline, c)) == NULL)
			return -1;
	}
	return 0;
}

struct web *
web_open(struct event_base *base, const struct web_conf *conf, const struct web_source *src,
    char *err, size_t errlen)
{
	struct web *w = calloc(1, sizeof(*w));

	if (w == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	w->base = base;
	w->conf = *conf;
	w->src = *src;
	defaults(&w->conf);
	SHA256((const unsigned char *)w->conf.token, strlen(w->conf.token), w->token_sha);
	/* one spare slot: the connection accepted as the cap is reached */
	if ((w->conns = calloc((size_t)w->conf.max_connections + 1, sizeof(*w->conns))) == NULL ||
	    (w->http = evhttp_new(base)) == NULL || make_events(w) != 0) {
		snprintf(err, errlen, "out of memory");
		web_close(w);
		return NULL;
	}
	evhttp_set_max_headers_size(w->http, w->conf.max_header_bytes);
	evhttp_set_max_body_size(w->http, WEB_BODY_MAX);
	evhttp_set_timeout(w->http, w->conf.request_timeout_s);
	evhttp_set_allowed_methods(w->http, EVHTTP_REQ_GET | EVHTTP_REQ_HEAD);
	evhttp_set_bevcb(w->http, new_bev, w);
	evhttp_set_gencb(w->http, web_route, w);
	if (bind_listener(w, err, errlen) != 0) {
		web_close(w);
		return NULL;
	}
	evconnlistener_enable(w->listener);
	return w;
}

void
web_close(struct web *w)
{
	if (w == NULL)
		return;
	if (w->wait_timer != NULL)
		web_answer_held(w, true);
	/* evhttp_free closes its connections and frees the bound listener. */
	if (w->http != NULL)
		evhttp_free(w->http);
	for (int i = 0; w->conns != NULL && i <= w->conf.max_connections; i++) {
		if (w->conns[i].bev != NULL)
			bufferevent_decref(w->conns[i].bev);
		if (w->conns[i].deadline != NULL)
			event_free(w->conns[i].deadline);
	}
	if (w->settle != NULL)
		event_free(w->settle);
	if (w->sweep != NULL)
		event_free(w->sweep);
	if (w->accept_retry != NULL)
		event_free(w->accept_retry);
	if (w->wait_timer != NULL)
		event_free(w->wait_timer);
	free(w->conns);
	explicit_bzero(w->conf.token, sizeof(w->conf.token));
	free(w);
}

void
web_set_edge_conf(struct web *w, const struct ct_conf *edge_conf)
{
	w->src.edge_conf = edge_conf;
}

unsigned
web_port(const struct web *w)
{
	return w->port;
}

void
web_status(const struct web *w, json_t *o)
{
	json_t *c = json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}",
	    "accepted", (json_int_t)w->c.accepted,
	    "requests", (json_int_t)w->c.requests,
	    "refused_allow", (json_int_t)w->c.refused_allow,
	    "at_max_connections", (json_int_t)w->c.at_cap,
	    "refused_max_per_ip", (json_int_t)w->c.refused_per_ip,
	    "timed_out", (json_int_t)w->c.timed_out,
	    "unauthorized", (json_int_t)w->c.unauthorized,
	    "not_found", (json_int_t)w->c.not_found,
	    "failed", (json_int_t)w->c.failed,
	    "held_for_status", (json_int_t)w->c.held,
	    "held_expired", (json_int_t)w->c.held_expired);

	json_object_set_new(o, "listen", json_string(w->conf.listen));
	json_object_set_new(o, "connections", json_integer(w->nconns));
	if (c != NULL)
		json_object_set_new(o, "counters", c);
}
