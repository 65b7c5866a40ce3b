/*
 * The HTTP client of http_client.h on evhttp. evhttp owns the HTTP bytes;
 * this client owns everything evhttp leaves open: which connection a request
 * goes on, deadlines per attempt, retries, the TLS pin, and when a
 * connection may be used again. This file is the API, the queue and the
 * delivery of results; http_int.h maps the rest.
 */
#include "http/http_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <event2/dns.h>
#include <openssl/rand.h>

#include "event/event.h"

#ifndef CT_VERSION
#define CT_VERSION "0"
#endif

static void op_event_cb(evutil_socket_t fd, short what, void *arg);
static void kick_cb(evutil_socket_t fd, short what, void *arg);

/* ---------------------------------------------------------------- helpers */

/* ---------------------------------------------------------------- helpers */

static bool
header_value_ok(const char *s)
{
	for (; s != NULL && *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return false;
	return true;
}

static int
dup_header(char **dst, const char *v, const char *name, char *err, size_t errlen)
{
	char *d = NULL;

	if (v != NULL && *v != '\0') {
		if (!header_value_ok(v)) {
			snprintf(err, errlen, "%s: contains a control character", name);
			return -1;
		}
		if ((d = strdup(v)) == NULL) {
			snprintf(err, errlen, "http client: out of memory");
			return -1;
		}
	}
	free(*dst);
	*dst = d;
	return 0;
}

static const char *
method_name(enum http_method m)
{
	return m == HTTP_POST ? "POST" : "GET";
}

/* ---------------------------------------------------------------- delivery */

/* ---------------------------------------------------------------- delivery */

/* Out of the client's lists and counts (a done callback may then queue a
 * request in its place); op_free() frees it. */
static void
op_unlink(struct http_op *op)
{
	struct http_client *c = op->c;

	if (op->state == OP_QUEUED)
		TAILQ_REMOVE(&c->queue, op, q);
	LIST_REMOVE(op, all);
	c->nops--;
	op->state = OP_DONE;
	op->linked = false;
}

static void
op_free(struct http_op *op)
{
	if (op->linked)
		op_unlink(op);
	if (op->ev != NULL)
		event_free(op->ev);
	free(op->path);
	free(op->body);
	free(op->inm);
	free(op->rbody);
	free(op->sent_edge);
	free(op);
}

static void destroy(struct http_client *c);

static void
deliver(struct http_op *op)
{
	struct http_client *c = op->c;
	struct http_result r;
	char ex[EXCERPT_MAX + 4], tail[32] = "";

	memset(&r, 0, sizeof(r));
	r.status = op->status;
	r.error = op->err;
	r.verdict = http_classify(op->status, op->err);
	r.offline = http_means_offline(op->status, op->err);
	r.reason = op->reason;
	r.body = op->rbody != NULL ? op->rbody : "";
	r.body_len = op->rbody_len;
	r.content_type = op->has_ctype ? op->ctype : NULL;
	r.etag = op->has_etag ? op->etag : NULL;
	r.retry_after_ms = op->retry_after_ms;
	r.attempts = op->attempts;
	r.edge_id = op->sent_edge;
	if (op->attempts > 1)
		snprintf(tail, sizeof(tail), " (%d attempts)", op->attempts);
	if (http_result_ok(&r)) {
		op->text[0] = '\0';
		c->st.succeeded++;
		snprintf(c->st.last, sizeof(c->st.last), "%s %s: %d %s", method_name(op->method),
		    op->path, op->status, op->reason);
	} else {
		if (op->err != HTTP_E_NONE) {
			snprintf(op->text, sizeof(op->text), "%s %s: %s%s", method_name(op->method),
			    op->path, op->why, tail);
		} else {
			http_excerpt(r.body, r.body_len, EXCERPT_MAX, ex, sizeof(ex));
			snprintf(op->text, sizeof(op->text), "%s %s: HTTP %d %s%s%s%s",
			    method_name(op->method), op->path, op->status, op->reason,
			    ex[0] ? ": " : "", ex, tail);
		}
		c->st.failed++;
		snprintf(c->st.last, sizeof(c->st.last), "%s", op->text);
	}
	r.error_text = op->text;
	c->st.last_done_ms = ct_now_ms_mono();
	c->st.last_status = op->status;
	c->st.last_error = op->err;

	op_unlink(op);
	c->depth++;
	op->done(&r, op->arg);
	c->depth--;
	op_free(op);
	if (c->dying && c->depth == 0)
		destroy(c);
}

static void
op_event_cb(evutil_socket_t fd, short what, void *arg)
{
	struct http_op *op = arg;
	struct http_client *c = op->c;

	switch (op->state) {
	case OP_WIRE:
		http_attempt_timed_out(op);
		break;
	case OP_WAIT:
		op->state = OP_QUEUED;
		TAILQ_INSERT_TAIL(&c->queue, op, q);
		kick(c);
		break;
	case OP_DONE:
		deliver(op);
		break;
	case OP_QUEUED:
		break;
	}
}

static struct http_conn *
free_slot(struct http_client *c)
{
	struct http_conn *empty = NULL;

	for (int i = 0; i < c->max_conns; i++) {
		struct http_conn *k = &c->conns[i];
		if (k->op != NULL)
			continue;
		if (k->evcon != NULL && !k->closed)
			return k;                  /* an idle keep-alive connection first */
		if (empty == NULL)
			empty = k;
	}
	return empty;
}

static void
kick_cb(evutil_socket_t fd, short what, void *arg)
{
	struct http_client *c = arg;
	struct http_op *op;
	struct http_conn *k;

	while ((op = TAILQ_FIRST(&c->queue)) != NULL && !c->dying && (k = free_slot(c)) != NULL) {
		TAILQ_REMOVE(&c->queue, op, q);
		op->state = OP_DONE;    /* out of the queue: http_attempt_start decides the rest */
		http_attempt_start(op, k);
	}
}

/* ---------------------------------------------------------------- API */

/* ---------------------------------------------------------------- API */

bool
http_result_ok(const struct http_result *r)
{
	return r->error == HTTP_E_NONE && r->verdict == HTTP_DONE;
}

static bool
host_is_numeric(const char *host)
{
	unsigned char a[sizeof(struct in6_addr)];

	return inet_pton(AF_INET, host, a) == 1 || inet_pton(AF_INET6, host, a) == 1;
}

struct http_client *
http_client_new(struct event_base *base, struct evdns_base *dns, const struct http_client_opts *o,
    char *err, size_t errlen)
{
	struct http_client *c = calloc(1, sizeof(*c));
	char ua[64];

	if (c == NULL) {
		snprintf(err, errlen, "http client: out of memory");
		return NULL;
	}
	c->base = base;
	c->dns = dns;
	TAILQ_INIT(&c->queue);
	LIST_INIT(&c->ops);
	if (ws_url_parse_http(o->url, &c->url, err, errlen) != 0)
		goto fail;
	snprintf(c->peer, sizeof(c->peer), "%s%s%s:%u", c->url.ipv6 ? "[" : "", c->url.host,
	    c->url.ipv6 ? "]" : "", (unsigned)c->url.port);
	snprintf(ua, sizeof(ua), "carnitrack-edge/%s", CT_VERSION);
	if (dup_header(&c->client_type, o->client_type ? o->client_type : "carnitrack-edge",
	    "client type", err, errlen) != 0 ||
	    dup_header(&c->client_version, o->client_version ? o->client_version : CT_VERSION,
	    "client version", err, errlen) != 0 ||
	    dup_header(&c->user_agent, ua, "user agent", err, errlen) != 0 ||
	    dup_header(&c->edge_id, o->edge_id, "edge_id", err, errlen) != 0 ||
	    dup_header(&c->site_id, o->site_id, "site_id", err, errlen) != 0)
		goto fail;
	if (o->token != NULL && *o->token != '\0') {
		size_t n = strlen(o->token) + sizeof("Bearer ");
		if ((c->authorization = malloc(n)) == NULL) {
			snprintf(err, errlen, "http client: out of memory");
			goto fail;
		}
		snprintf(c->authorization, n, "Bearer %s", o->token);
		if (!header_value_ok(c->authorization)) {
			snprintf(err, errlen, "token: contains a control character");
			goto fail;
		}
	}
	if (c->client_type == NULL || c->client_version == NULL) {
		snprintf(err, errlen, "http client: empty client type or version");
		goto fail;
	}
	c->timeout_ms = o->timeout_ms > 0 ? o->timeout_ms : HTTP_TIMEOUT_MS_DEFAULT;
	c->idle_ms = o->idle_ms > 0 ? o->idle_ms : HTTP_IDLE_MS_DEFAULT;
	c->max_conns = o->max_conns > 0 ? o->max_conns : HTTP_MAX_CONNS_DEFAULT;
	if (c->max_conns > HTTP_MAX_CONNS_LIMIT)
		c->max_conns = HTTP_MAX_CONNS_LIMIT;
	c->max_requests = o->max_requests > 0 ? o->max_requests : HTTP_MAX_REQUESTS_DEFAULT;
	c->max_attempts = o->max_attempts > 0 ? o->max_attempts : HTTP_MAX_ATTEMPTS_DEFAULT;
	c->retry_base_ms = o->retry_base_ms > 0 ? o->retry_base_ms : HTTP_RETRY_BASE_MS;
	c->retry_max_ms = o->retry_max_ms > 0 ? o->retry_max_ms : HTTP_RETRY_MAX_MS;
	c->max_body = o->max_body ? o->max_body : HTTP_MAX_BODY_DEFAULT;
	c->max_headers = o->max_headers ? o->max_headers : HTTP_MAX_HEADERS_DEFAULT;
	if (o->pin_sha256 != NULL && *o->pin_sha256 != '\0') {
		if (!c->url.tls) {
			snprintf(err, errlen, "pin_sha256 is set but %s is not https://", o->url);
			goto fail;
		}
		if (ws_tls_pin_parse(o->pin_sha256, c->pin, err, errlen) != 0)
			goto fail;
		c->has_pin = true;
		if (http_conn_pin_init(err, errlen) != 0)
			goto fail;
	}
	if (c->url.tls && (c->ssl_ctx = ws_tls_ctx_new(o->ca_file, err, errlen)) == NULL)
		goto fail;
	if (RAND_bytes((unsigned char *)&c->rnd, sizeof(c->rnd)) != 1 || c->rnd == 0)
		c->rnd = (uint64_t)ct_now_ms() | 1;
	c->conns = calloc((size_t)c->max_conns, sizeof(*c->conns));
	c->kick = event_new(base, -1, 0, kick_cb, c);
	if (c->conns == NULL || c->kick == NULL) {
		snprintf(err, errlen, "http client: out of memory");
		goto fail;
	}
	for (int i = 0; i < c->max_conns; i++) {
		c->conns[i].c = c;
		if ((c->conns[i].idle = evtimer_new(base, http_conn_idle_cb, &c->conns[i])) ==
		    NULL) {
			snprintf(err, errlen, "http client: out of memory");
			goto fail;
		}
	}
	if (c->dns == NULL && !host_is_numeric(c->url.host)) {
		c->own_dns = evdns_base_new(base, EVDNS_BASE_INITIALIZE_NAMESERVERS);
		if (c->own_dns == NULL) {
			snprintf(err, errlen, "http client: cannot set up the DNS resolver "
			    "(/etc/resolv.conf)");
			goto fail;
		}
		c->dns = c->own_dns;
	}
	return c;
fail:
	destroy(c);
	return NULL;
}

int
http_request(struct http_client *c, const struct http_req *rq, http_done_cb done, void *arg)
{
	const char *path = rq->path != NULL ? rq->path : c->url.path;
	struct http_op *op;

	if (c->dying) {
		errno = ESHUTDOWN;
		return -1;
	}
	if (c->nops >= (unsigned)c->max_requests) {
		errno = ENOBUFS;
		return -1;
	}
	if (path[0] != '/' || strlen(path) > PATH_MAX_LEN || strpbrk(path, " #") != NULL ||
	    !header_value_ok(path) || !header_value_ok(rq->if_none_match)) {
		errno = EINVAL;
		return -1;
	}
	if ((op = calloc(1, sizeof(*op))) == NULL)
		return -1;
	op->c = c;
	op->method = rq->method;
	op->flags = rq->flags;
	op->done = done;
	op->arg = arg;
	op->max_attempts = rq->max_attempts > 0 ? rq->max_attempts : c->max_attempts;
	if (rq->flags & HTTP_AT_MOST_ONCE)
		op->max_attempts = 1;
	op->timeout_ms = rq->timeout_ms > 0 ? rq->timeout_ms : c->timeout_ms;
	op->retry_after_ms = -1;
	op->path = strdup(path);
	op->ev = event_new(c->base, -1, 0, op_event_cb, op);
	if (rq->if_none_match != NULL && *rq->if_none_match != '\0')
		op->inm = strdup(rq->if_none_match);
	if (rq->body_len > 0 && (op->body = malloc(rq->body_len)) != NULL) {
		memcpy(op->body, rq->body, rq->body_len);
		op->body_len = rq->body_len;
	}
	if (op->path == NULL || op->ev == NULL ||
	    (rq->if_none_match != NULL && *rq->if_none_match != '\0' && op->inm == NULL) ||
	    (rq->body_len > 0 && op->body == NULL)) {
		if (op->ev != NULL)
			event_free(op->ev);
		free(op->path);
		free(op->inm);
		free(op->body);
		free(op);
		errno = ENOMEM;
		return -1;
	}
	LIST_INSERT_HEAD(&c->ops, op, all);
	op->linked = true;
	c->nops++;
	op->state = OP_QUEUED;
	TAILQ_INSERT_TAIL(&c->queue, op, q);
	c->st.requests++;
	kick(c);
	return 0;
}

int
http_client_set_identity(struct http_client *c, const char *edge_id, const char *site_id,
    char *err, size_t errlen)
{
	if (!header_value_ok(edge_id) || !header_value_ok(site_id)) {
		snprintf(err, errlen, "edge or site id contains a control character");
		return -1;
	}
	if (dup_header(&c->edge_id, edge_id, "edge_id", err, errlen) != 0 ||
	    dup_header(&c->site_id, site_id, "site_id", err, errlen) != 0)
		return -1;
	return 0;
}

static void
destroy(struct http_client *c)
{
	struct http_op *op;

	if (c->conns != NULL) {
		for (int i = 0; i < c->max_conns; i++) {
			struct http_conn *k = &c->conns[i];
			if (k->op != NULL) {
				k->op->req = NULL;   /* freed with the connection, silently */
				k->op->conn = NULL;
			}
			http_conn_drop(k);
			if (k->idle != NULL)
				event_free(k->idle);
		}
	}
	while ((op = LIST_FIRST(&c->ops)) != NULL)
		op_free(op);
	if (c->kick != NULL)
		event_free(c->kick);
	if (c->ssl_ctx != NULL)
		SSL_CTX_free(c->ssl_ctx);
	if (c->own_dns != NULL)   /* after the connections: their lookups are gone */
		evdns_base_free(c->own_dns, 0);
	free(c->conns);
	free(c->client_type);
	free(c->client_version);
	free(c->user_agent);
	free(c->edge_id);
	free(c->site_id);
	free(c->authorization);
	free(c);
}

void
http_client_free(struct http_client *c)
{
	if (c == NULL)
		return;
	c->dying = true;
	if (c->depth == 0)
		destroy(c);
}

void
http_client_stats(const struct http_client *c, struct http_stats *out)
{
	const struct http_op *op;

	*out = c->st;
	out->in_flight = out->queued = out->open_conns = 0;
	LIST_FOREACH(op, &c->ops, all) {
		if (op->state == OP_WIRE)
			out->in_flight++;
		else if (op->state == OP_QUEUED || op->state == OP_WAIT)
			out->queued++;
	}
	for (int i = 0; i < c->max_conns; i++)
		if (c->conns[i].evcon != NULL && !c->conns[i].closed)
			out->open_conns++;
}

static void
once_cb(const struct http_result *r, void *arg)
{
	struct http_client *c = arg;

	c->once_done(r, c->once_arg);
	http_client_free(c);
}

int
http_post_once(struct event_base *base, struct evdns_base *dns, const struct http_client_opts *o,
    const char *body, size_t len, unsigned flags, http_done_cb done, void *arg, char *err,
    size_t errlen)
{
	struct http_client *c = http_client_new(base, dns, o, err, errlen);
	struct http_req rq = { .method = HTTP_POST, .body = body, .body_len = len,
		.flags = flags };

	if (c == NULL)
		return -1;
	c->once_done = done;
	c->once_arg = arg;
	if (http_request(c, &rq, once_cb, c) != 0) {
		snprintf(err, errlen, "POST %s: cannot queue: %s", c->url.path, strerror(errno));
		http_client_free(c);
		return -1;
	}
	return 0;
}
