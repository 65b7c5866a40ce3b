/*
 * One attempt of a request (http_int.h): on a connection slot, with the
 * client's headers, bounded by the attempt's own deadline; its outcome
 * recorded (status, body, the headers callers need, or why it failed
 * below HTTP), then classified (http_retry.h): retried after a backoff, or
 * done and delivered from the request's event.
 */
#include "http/http_int.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <openssl/err.h>

static void attempt_finished(struct http_op *op);

/* ---------------------------------------------------------------- outcomes */

/* ---------------------------------------------------------------- outcomes */

static void
set_why(struct http_op *op, enum http_error e, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
set_why(struct http_op *op, enum http_error e, const char *fmt, ...)
{
	va_list ap;

	op->err = e;
	va_start(ap, fmt);
	vsnprintf(op->why, sizeof(op->why), fmt, ap);
	va_end(ap);
}

static bool
connect_errno(int e)
{
	return e == ECONNREFUSED || e == ENETUNREACH || e == EHOSTUNREACH || e == ENETDOWN ||
	    e == EHOSTDOWN || e == EADDRNOTAVAIL || e == ETIMEDOUT;
}

/* Why an attempt failed below HTTP: DNS, TCP, TLS (verification, pin), or
 * the connection lost on the way. */
static void
describe_net(struct http_op *op, enum evhttp_request_error e, int sock_err)
{
	struct http_client *c = op->c;
	struct http_conn *k = op->conn;
	int dns_err = k->bev != NULL ? bufferevent_socket_get_dns_error(k->bev) : 0;
	char why[HTTP_ERR_MAX];

	if (e == EVREQ_HTTP_DATA_TOO_LONG) {
		set_why(op, HTTP_E_TOO_BIG, "response from %s larger than %zu bytes of body or %zu "
		    "of headers, or badly chunked", c->peer, c->max_body, c->max_headers);
	} else if (dns_err != 0) {
		set_why(op, HTTP_E_CONNECT, "resolve %s: %s", c->url.host,
		    evutil_gai_strerror(dns_err));
	} else if (k->ssl != NULL && !SSL_is_init_finished(k->ssl)) {
		if (k->tls_err[0] != '\0') {
			set_why(op, HTTP_E_CONNECT, "%s", k->tls_err);
		} else {
			ws_tls_describe_failure(k->ssl, bufferevent_get_openssl_error(k->bev),
			    sock_err, c->peer, why, sizeof(why));
			set_why(op, HTTP_E_CONNECT, "%s", why);
		}
	} else if (e == EVREQ_HTTP_INVALID_HEADER) {
		set_why(op, HTTP_E_IO, "unreadable HTTP response from %s", c->peer);
	} else if (!op->on_reused && k->served == 0 && connect_errno(sock_err)) {
		set_why(op, HTTP_E_CONNECT, "connect %s: %s", c->peer, strerror(sock_err));
	} else if (e == EVREQ_HTTP_EOF && (sock_err == 0 || sock_err == EPIPE ||
	    sock_err == ECONNRESET || sock_err == ENOTCONN)) {
		set_why(op, HTTP_E_IO, "%s closed the connection before the response%s", c->peer,
		    sock_err == ECONNRESET ? " (reset)" : "");
	} else {
		set_why(op, HTTP_E_IO, "connection to %s lost: %s", c->peer,
		    sock_err ? strerror(sock_err) : "error");
	}
	ERR_clear_error();
}

static void
req_error_cb(enum evhttp_request_error e, void *arg)
{
	struct http_op *op = arg;
	int sock_err = EVUTIL_SOCKET_ERROR();

	if (op->state != OP_WIRE || op->conn == NULL)
		return;
	op->conn->closed = true;
	if (e != EVREQ_HTTP_REQUEST_CANCEL)
		describe_net(op, e, sock_err);
}

static void
copy_header(struct evkeyvalq *h, const char *name, char *out, size_t cap, bool *has)
{
	const char *v = evhttp_find_header(h, name);

	*has = v != NULL && strlen(v) < cap;
	snprintf(out, cap, "%s", *has ? v : "");
}

static void
record_response(struct http_op *op, struct evhttp_request *req)
{
	struct http_client *c = op->c;
	struct evkeyvalq *h = evhttp_request_get_input_headers(req);
	struct evbuffer *in = evhttp_request_get_input_buffer(req);
	const char *line = evhttp_request_get_response_code_line(req);
	size_t n = evbuffer_get_length(in);

	op->status = evhttp_request_get_response_code(req);
	snprintf(op->reason, sizeof(op->reason), "%s", line ? line : "");
	copy_header(h, "Content-Type", op->ctype, sizeof(op->ctype), &op->has_ctype);
	copy_header(h, "ETag", op->etag, sizeof(op->etag), &op->has_etag);
	op->retry_after_ms = http_retry_after_ms(evhttp_find_header(h, "Retry-After"),
	    (int64_t)time(NULL));
	if (n > c->max_body) {
		set_why(op, HTTP_E_TOO_BIG, "response body of %zu bytes, over %zu", n, c->max_body);
		return;
	}
	if ((op->rbody = malloc(n + 1)) == NULL) {
		set_why(op, HTTP_E_NOMEM, "out of memory for a %zu-byte response", n);
		return;
	}
	if (evbuffer_remove(in, op->rbody, n) != (int)n) {
		set_why(op, HTTP_E_IO, "cannot read the response body");
		return;
	}
	op->rbody[n] = '\0';
	op->rbody_len = n;
	if (op->status >= 200 && op->status <= 299 && n > 0 && !(op->flags & HTTP_ANY_TYPE) &&
	    !http_json_type(op->has_ctype ? op->ctype : NULL))
		set_why(op, HTTP_E_CONTENT_TYPE, "HTTP %d with Content-Type \"%s\", not JSON",
		    op->status, op->ctype);
}

static void
req_done_cb(struct evhttp_request *req, void *arg)
{
	struct http_op *op = arg;
	struct http_conn *k = op->conn;

	if (op->state != OP_WIRE || k == NULL)
		return;
	if (req == NULL) {
		/* req_error_cb described it */
		if (op->err == HTTP_E_NONE)
			set_why(op, HTTP_E_IO, "connection to %s lost", op->c->peer);
	} else if (evhttp_request_get_response_code(req) == 0) {
		/* evhttp gives up on a failed connect this way, without an error
		 * callback (and errno is its close's by now) */
		k->closed = true;
		if (op->err == HTTP_E_NONE)
			set_why(op, HTTP_E_CONNECT, "connect %s: refused or unreachable",
			    op->c->peer);
	} else {
		record_response(op, req);
		k->served++;
	}
	op->req = NULL;
	op->conn = NULL;
	k->op = NULL;
	if (k->closed || op->err != HTTP_E_NONE) {
		k->closed = true;
		event_active(k->idle, EV_TIMEOUT, 1);
	} else {
		struct timeval tv;
		tv_ms(&tv, op->c->idle_ms);
		/* evhttp watches an idle connection for the server's close with
		 * the read timeout; keep it from firing before ours. */
		http_conn_set_timeouts(k, op->c->idle_ms);
		http_conn_nodelay(k);
		event_add(k->idle, &tv);
	}
	attempt_finished(op);
	kick(op->c);
}

/* ---------------------------------------------------------------- attempts */

/* ---------------------------------------------------------------- attempts */

static void
op_reset_outcome(struct http_op *op)
{
	op->status = 0;
	op->err = HTTP_E_NONE;
	op->reason[0] = op->why[0] = op->ctype[0] = op->etag[0] = '\0';
	op->has_ctype = op->has_etag = false;
	op->retry_after_ms = -1;
	free(op->rbody);
	op->rbody = NULL;
	op->rbody_len = 0;
}

static int
add_headers(struct http_op *op, struct evkeyvalq *h)
{
	struct http_client *c = op->c;
	int rc = 0;

	rc |= evhttp_add_header(h, "Host", c->url.host_header);
	rc |= evhttp_add_header(h, "User-Agent", c->user_agent);
	rc |= evhttp_add_header(h, "Accept", "application/json");
	rc |= evhttp_add_header(h, "Content-Type", "application/json");
	rc |= evhttp_add_header(h, "X-Client-Type", c->client_type);
	rc |= evhttp_add_header(h, "X-Client-Version", c->client_version);
	free(op->sent_edge);
	op->sent_edge = NULL;
	if (c->edge_id != NULL && !(op->flags & HTTP_NO_EDGE_ID)) {
		rc |= evhttp_add_header(h, "X-Edge-Id", c->edge_id);
		if ((op->sent_edge = strdup(c->edge_id)) == NULL)
			rc = -1;
	}
	if (c->site_id != NULL && !(op->flags & HTTP_NO_SITE_ID))
		rc |= evhttp_add_header(h, "X-Site-Id", c->site_id);
	if (c->authorization != NULL)
		rc |= evhttp_add_header(h, "Authorization", c->authorization);
	if (op->inm != NULL)
		rc |= evhttp_add_header(h, "If-None-Match", op->inm);
	return rc;
}

void
http_attempt_start(struct http_op *op, struct http_conn *k)
{
	struct http_client *c = op->c;
	struct evhttp_request *req;
	struct timeval tv;

	op_reset_outcome(op);
	op->attempts++;
	c->st.attempts++;
	/* An at-most-once request on a fresh connection: on a kept-alive one the
	 * server may close as we send, and the request could not be resent. */
	if ((op->flags & HTTP_AT_MOST_ONCE) && k->evcon != NULL)
		k->closed = true;
	op->on_reused = k->evcon != NULL && !k->closed;
	if (op->on_reused) {
		event_del(k->idle);
		http_conn_nodelay(k);
		c->st.reused++;
	} else {
		if (k->evcon != NULL)
			http_conn_drop(k);
		if (http_conn_open(c, k, op->why, sizeof(op->why)) != 0) {
			op->err = HTTP_E_CONNECT;
			attempt_finished(op);
			return;
		}
	}
	if ((req = evhttp_request_new(req_done_cb, op)) == NULL) {
		set_why(op, HTTP_E_NOMEM, "out of memory for a request");
		attempt_finished(op);
		return;
	}
	evhttp_request_set_error_cb(req, req_error_cb);
	if (add_headers(op, evhttp_request_get_output_headers(req)) != 0 ||
	    (op->body_len > 0 &&
	    evbuffer_add(evhttp_request_get_output_buffer(req), op->body, op->body_len) != 0)) {
		evhttp_request_free(req);
		set_why(op, HTTP_E_NOMEM, "out of memory for a request");
		attempt_finished(op);
		return;
	}
	http_conn_set_timeouts(k, op->timeout_ms);
	op->state = OP_WIRE;
	op->req = req;
	op->conn = k;
	k->op = op;
	tv_ms(&tv, op->timeout_ms);
	event_add(op->ev, &tv);
	/* evhttp may finish the request from inside this call (a connect
	 * that fails at once): req_done_cb has then run already. */
	if (evhttp_make_request(k->evcon, req, op->method == HTTP_POST ? EVHTTP_REQ_POST :
	    EVHTTP_REQ_GET, op->path) == 0) {
		if (k->evcon != NULL)
			http_conn_nodelay(k);
	} else if (op->state == OP_WIRE && op->req == req) {
		/* evhttp freed req on some of these paths and not on others; it
		 * is no longer ours either way, and the connection is suspect. */
		op->req = NULL;
		op->conn = NULL;
		k->op = NULL;
		k->closed = true;
		event_active(k->idle, EV_TIMEOUT, 1);
		set_why(op, HTTP_E_CONNECT, "connect %s: cannot start", c->peer);
		attempt_finished(op);
	}
}

void
http_attempt_timed_out(struct http_op *op)
{
	struct http_conn *k = op->conn;
	struct evhttp_request *req = op->req;
	bool connected = k->served > 0 || op->on_reused ||
	    (k->ssl != NULL && SSL_is_init_finished(k->ssl));

	op->req = NULL;
	op->conn = NULL;
	k->op = NULL;
	k->closed = true;
	/* Resets the connection; evhttp calls req_error_cb (state is still
	 * WIRE, so it is ignored there: op->conn is NULL) and not req_done_cb. */
	evhttp_cancel_request(req);
	event_active(k->idle, EV_TIMEOUT, 1);
	if (k->ssl != NULL && !connected)
		set_why(op, HTTP_E_TIMEOUT, "connect %s (TCP+TLS): timed out after %d ms",
		    op->c->peer, op->timeout_ms);
	else
		set_why(op, HTTP_E_TIMEOUT, "no complete response from %s within %d ms",
		    op->c->peer, op->timeout_ms);
	attempt_finished(op);
	kick(op->c);
}

static void
attempt_finished(struct http_op *op)
{
	struct http_client *c = op->c;
	enum http_verdict v = http_classify(op->status, op->err);
	struct timeval tv;

	event_del(op->ev);
	op->state = OP_DONE;
	if (v == HTTP_RETRY && !c->dying) {
		if (op->on_reused && op->err == HTTP_E_IO && !op->stale_resent &&
		    !(op->flags & HTTP_AT_MOST_ONCE)) {
			/* The server closed the kept-alive connection as we sent:
			 * nothing was processed, try a fresh one now. */
			op->stale_resent = true;
			op->attempts--;
			c->st.stale_resends++;
			op->state = OP_QUEUED;
			TAILQ_INSERT_HEAD(&c->queue, op, q);
			kick(c);
			return;
		}
		if (op->attempts < op->max_attempts) {
			int64_t d = http_next_delay_ms(op->attempts - 1, c->retry_base_ms,
			    c->retry_max_ms, op->retry_after_ms, next_rand(c));
			if (d >= 0) {
				op->state = OP_WAIT;
				c->st.retries++;
				tv_ms(&tv, d);
				event_add(op->ev, &tv);
				return;
			}
		}
	}
	event_active(op->ev, EV_TIMEOUT, 1);
}
