/*
 * The HTTP client of http_client.h on evhttp. evhttp owns the HTTP bytes;
 * this file owns everything evhttp leaves open: which connection a request
 * goes on, deadlines per attempt, retries, the TLS pin, and when a
 * connection may be used again.
 *
 * A request (struct http_op) is QUEUED, then on the WIRE of one connection
 * slot, then either WAITing for a retry (back to QUEUED) or DONE. Its one
 * event is the attempt deadline on the wire, the backoff timer while
 * waiting, and the delivery of its result when done: so user callbacks only
 * ever run from that event, never inside evhttp or inside an API call.
 *
 * Connections are never reconnected in place: after any failure, a
 * cancelled attempt, or a close by the server, the slot's evhttp_connection
 * is freed (from our own events, never inside an evhttp callback, which
 * evhttp does not survive) and the next request opens a fresh one with a
 * fresh SSL. Each slot carries one request at a time, so evhttp never queues
 * or reconnects by itself.
 */
#include "http/http_client.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <time.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/dns.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <event2/util.h>
#include <openssl/err.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>

#include "event/event.h"
#include "ws/ws_tls.h"
#include "ws/ws_url.h"

#ifndef CT_VERSION
#define CT_VERSION "0"
#endif

#define EXCERPT_MAX 200
#define PATH_MAX_LEN WS_URL_PATH_MAX

enum op_state { OP_QUEUED, OP_WIRE, OP_WAIT, OP_DONE };

struct http_conn;

struct http_op {
	TAILQ_ENTRY(http_op) q;          /* the client's queue, while QUEUED */
	LIST_ENTRY(http_op) all;
	struct http_client *c;
	enum op_state state;
	struct event *ev;                /* deadline, backoff or delivery */
	struct evhttp_request *req;      /* while on the wire */
	struct http_conn *conn;          /* while on the wire */

	enum http_method method;
	char *path, *body, *inm;
	size_t body_len;
	unsigned flags;
	int max_attempts, timeout_ms;
	http_done_cb done;
	void *arg;

	int attempts;
	bool linked;                     /* in the client's list (until delivered) */
	bool stale_resent;               /* the free resend after a dead keep-alive */
	bool on_reused;                  /* this attempt went on a used connection */

	/* the last attempt's outcome */
	int status;
	enum http_error err;
	char reason[64];
	char *rbody;
	size_t rbody_len;
	bool has_ctype, has_etag;
	char ctype[128];
	char etag[HTTP_ETAG_MAX + 1];
	int64_t retry_after_ms;
	char *sent_edge;                 /* X-Edge-Id of the last attempt, NULL: none */
	char why[HTTP_ERR_MAX];          /* the failure, for error_text */
	char text[HTTP_ERR_MAX];
};

struct http_conn {
	struct http_client *c;
	struct evhttp_connection *evcon;
	struct bufferevent *bev;         /* evhttp's (plain) or ours (TLS) */
	SSL *ssl;                        /* owned by bev */
	struct event *idle;              /* closes an unused connection; also reaps a closed one */
	struct http_op *op;
	bool closed;                     /* not to be used again */
	bool nodelay;                    /* TCP_NODELAY set on its socket */
	uint64_t served;                 /* responses read on this connection */
	char tls_err[HTTP_ERR_MAX];      /* pin mismatch found in the handshake */
};

struct http_client {
	struct event_base *base;
	struct evdns_base *dns, *own_dns;
	struct ws_url url;
	char peer[WS_URL_HOST_MAX + 16];
	SSL_CTX *ssl_ctx;
	unsigned char pin[WS_PIN_LEN];
	bool has_pin;

	char *client_type, *client_version, *edge_id, *site_id, *user_agent;
	int timeout_ms, idle_ms, max_conns, max_requests, max_attempts;
	int retry_base_ms, retry_max_ms;
	size_t max_body, max_headers;

	struct http_conn *conns;
	TAILQ_HEAD(, http_op) queue;
	LIST_HEAD(, http_op) ops;
	unsigned nops;
	struct event *kick;
	uint64_t rnd;

	int depth;
	bool dying;
	http_done_cb once_done;
	void *once_arg;

	struct http_stats st;
};

static int conn_ex_idx = -1;

static void op_event_cb(evutil_socket_t fd, short what, void *arg);
static void kick_cb(evutil_socket_t fd, short what, void *arg);
static void idle_cb(evutil_socket_t fd, short what, void *arg);
static void attempt_finished(struct http_op *op);

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

static uint32_t
next_rand(struct http_client *c)
{
	/* xorshift64*: jitter needs spread, not secrecy */
	c->rnd ^= c->rnd >> 12;
	c->rnd ^= c->rnd << 25;
	c->rnd ^= c->rnd >> 27;
	return (uint32_t)((c->rnd * 2685821657736338717ULL) >> 32);
}

static void
tv_ms(struct timeval *tv, int64_t ms)
{
	tv->tv_sec = (time_t)(ms / 1000);
	tv->tv_usec = (suseconds_t)((ms % 1000) * 1000);
}

static const char *
method_name(enum http_method m)
{
	return m == HTTP_POST ? "POST" : "GET";
}

static void
kick(struct http_client *c)
{
	event_active(c->kick, EV_TIMEOUT, 1);
}

/* ---------------------------------------------------------------- TLS pin */

/* The pin is checked in the handshake's verify callback: evhttp writes the
 * request the moment the connection reports itself connected, so a check
 * after the handshake (as the WebSocket client does) would come too late. */
static int
pin_verify_cb(int ok, X509_STORE_CTX *x)
{
	SSL *ssl = X509_STORE_CTX_get_ex_data(x, SSL_get_ex_data_X509_STORE_CTX_idx());
	struct http_conn *k = ssl != NULL ? SSL_get_ex_data(ssl, conn_ex_idx) : NULL;

	if (!ok || k == NULL || X509_STORE_CTX_get_error_depth(x) != 0)
		return ok;
	if (ws_tls_check_pin_cert(X509_STORE_CTX_get_current_cert(x), k->c->pin, k->tls_err,
	    sizeof(k->tls_err)) != 0) {
		X509_STORE_CTX_set_error(x, X509_V_ERR_APPLICATION_VERIFICATION);
		return 0;
	}
	return 1;
}

/* ---------------------------------------------------------------- connections */

static void
closed_cb(struct evhttp_connection *evcon, void *arg)
{
	struct http_conn *k = arg;

	k->closed = true;
	/* Reap it from our own event: evhttp is still using it right now. */
	event_active(k->idle, EV_TIMEOUT, 1);
}

static void
conn_drop(struct http_conn *k)
{
	if (k->evcon != NULL) {
		evhttp_connection_set_closecb(k->evcon, NULL, NULL);
		evhttp_connection_free(k->evcon);     /* frees bev and SSL too */
	}
	event_del(k->idle);
	k->evcon = NULL;
	k->bev = NULL;
	k->ssl = NULL;
	k->op = NULL;
	k->closed = false;
	k->nodelay = false;
	k->served = 0;
	k->tls_err[0] = '\0';
}

static int
conn_open(struct http_client *c, struct http_conn *k, char *why, size_t whylen)
{
	struct bufferevent *bev = NULL;
	SSL *ssl = NULL;

	if (c->url.tls) {
		if ((ssl = ws_tls_ssl_new(c->ssl_ctx, c->url.host, why, whylen)) == NULL)
			return -1;
		if (c->has_pin) {
			if (SSL_set_ex_data(ssl, conn_ex_idx, k) != 1) {
				SSL_free(ssl);
				snprintf(why, whylen, "TLS session: cannot attach the pin check");
				return -1;
			}
			SSL_set_verify(ssl, SSL_VERIFY_PEER, pin_verify_cb);
		}
		bev = bufferevent_openssl_socket_new(c->base, -1, ssl, BUFFEREVENT_SSL_CONNECTING,
		    BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS);
		if (bev == NULL) {
			SSL_free(ssl);
			snprintf(why, whylen, "connect %s: cannot create a TLS bufferevent",
			    c->peer);
			return -1;
		}
		/* Servers often drop TCP without close_notify after a response
		 * whose length was known; a cut body still fails the decoder. */
		bufferevent_openssl_set_allow_dirty_shutdown(bev, 1);
	}
	k->evcon = evhttp_connection_base_bufferevent_new(c->base, c->dns, bev, c->url.host,
	    c->url.port);
	if (k->evcon == NULL) {
		if (bev != NULL)
			bufferevent_free(bev);
		snprintf(why, whylen, "connect %s: cannot create an HTTP connection", c->peer);
		return -1;
	}
	k->bev = evhttp_connection_get_bufferevent(k->evcon);
	/* libevent writes at most 16 KiB per call by default: a batch body then
	 * leaves in pieces, and the last small one waits on Nagle for the
	 * server's delayed ACK (40 ms a request on Linux) */
	bufferevent_set_max_single_write(k->bev, 1 << 20);
	k->ssl = ssl;
	k->nodelay = false;
	k->closed = false;
	k->served = 0;
	k->tls_err[0] = '\0';
	evhttp_connection_set_closecb(k->evcon, closed_cb, k);
	evhttp_connection_set_retries(k->evcon, 0);
	evhttp_connection_set_max_body_size(k->evcon, (ev_ssize_t)c->max_body);
	evhttp_connection_set_max_headers_size(k->evcon, (ev_ssize_t)c->max_headers);
	c->st.connects++;
	return 0;
}

static void
idle_cb(evutil_socket_t fd, short what, void *arg)
{
	struct http_conn *k = arg;

	if (k->op == NULL && k->evcon != NULL)
		conn_drop(k);
	kick(k->c);
}

/* Request/response traffic: no Nagle delay. The socket exists once the
 * connect has started (for a host name, after DNS: the first request may
 * then go with Nagle, the next ones without). Best effort. */
static void
conn_nodelay(struct http_conn *k)
{
	evutil_socket_t fd;
	int one = 1;

	if (k->nodelay || k->bev == NULL || (fd = bufferevent_getfd(k->bev)) < 0)
		return;
	k->nodelay = setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) == 0;
}

/* evhttp's own timeouts are idle timeouts per read or write; ours is the
 * attempt's total. Theirs are set just above ours so that ours decides. */
static void
conn_set_timeouts(struct http_conn *k, int64_t ms)
{
	struct timeval tv;

	tv_ms(&tv, ms + 1000);
	evhttp_connection_set_timeout_tv(k->evcon, &tv);
	bufferevent_set_timeouts(k->bev, &tv, &tv);
}

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
		conn_set_timeouts(k, op->c->idle_ms);
		conn_nodelay(k);
		event_add(k->idle, &tv);
	}
	attempt_finished(op);
	kick(op->c);
}

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
	if (op->inm != NULL)
		rc |= evhttp_add_header(h, "If-None-Match", op->inm);
	return rc;
}

static void
start_attempt(struct http_op *op, struct http_conn *k)
{
	struct http_client *c = op->c;
	struct evhttp_request *req;
	struct timeval tv;

	op_reset_outcome(op);
	op->attempts++;
	c->st.attempts++;
	op->on_reused = k->evcon != NULL && !k->closed;
	if (op->on_reused) {
		event_del(k->idle);
		conn_nodelay(k);
		c->st.reused++;
	} else {
		if (k->evcon != NULL)
			conn_drop(k);
		if (conn_open(c, k, op->why, sizeof(op->why)) != 0) {
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
	conn_set_timeouts(k, op->timeout_ms);
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
			conn_nodelay(k);
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

static void
attempt_timed_out(struct http_op *op)
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
		if (op->on_reused && op->err == HTTP_E_IO && !op->stale_resent) {
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
		attempt_timed_out(op);
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
		op->state = OP_DONE;    /* out of the queue: start_attempt decides the rest */
		start_attempt(op, k);
	}
}

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
		if (conn_ex_idx < 0 &&
		    (conn_ex_idx = SSL_get_ex_new_index(0, "http_conn", NULL, NULL, NULL)) < 0) {
			snprintf(err, errlen, "http client: no OpenSSL ex_data index");
			goto fail;
		}
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
		if ((c->conns[i].idle = evtimer_new(base, idle_cb, &c->conns[i])) == NULL) {
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
			conn_drop(k);
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
