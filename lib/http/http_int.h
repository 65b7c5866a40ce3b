/*
 * The HTTP client's insides (http_client.h is its interface), shared by its
 * files; each calls only the ones below it:
 *   http_client.c   the API, the queue, delivery of results, the client's
 *                   life
 *   http_attempt.c  one attempt of a request on one connection: headers,
 *                   the response, why it failed, what comes next (retry,
 *                   delivery)
 *   http_conn.c     the connection slots: evhttp connections, TLS and the
 *                   pin, keep-alive and closing
 *
 * A request (struct http_op) is QUEUED, then on the WIRE of one connection
 * slot, then either WAITing for a retry (back to QUEUED) or DONE. Its one
 * event is the attempt deadline on the wire, the backoff timer while
 * waiting, and the delivery of its result when done: so user callbacks only
 * ever run from that event, never inside evhttp or inside an API call.
 */
#ifndef CT_HTTP_INT_H
#define CT_HTTP_INT_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/queue.h>
#include <time.h>

#include <event2/event.h>
#include <openssl/ssl.h>

#include "http/http_client.h"
#include "ws/ws_tls.h"
#include "ws/ws_url.h"

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
	char *authorization;             /* "Bearer <token>", NULL: none */
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

static inline void
tv_ms(struct timeval *tv, int64_t ms)
{
	tv->tv_sec = (time_t)(ms / 1000);
	tv->tv_usec = (suseconds_t)((ms % 1000) * 1000);
}

/* xorshift64*: jitter needs spread, not secrecy */
static inline uint32_t
next_rand(struct http_client *c)
{
	c->rnd ^= c->rnd >> 12;
	c->rnd ^= c->rnd << 25;
	c->rnd ^= c->rnd >> 27;
	return (uint32_t)((c->rnd * 2685821657736338717ULL) >> 32);
}

/* The queue may move: the client's kick event (an event, so no call up). */
static inline void
kick(struct http_client *c)
{
	event_active(c->kick, EV_TIMEOUT, 1);
}

/* http_attempt.c */
void http_attempt_start(struct http_op *op, struct http_conn *k);
void http_attempt_timed_out(struct http_op *op);

/* http_conn.c */
/* Once per process, for the pin check of https clients with a pin. */
int  http_conn_pin_init(char *err, size_t errlen);
int  http_conn_open(struct http_client *c, struct http_conn *k, char *why, size_t whylen);
void http_conn_drop(struct http_conn *k);
void http_conn_nodelay(struct http_conn *k);
void http_conn_set_timeouts(struct http_conn *k, int64_t ms);
/* The slot's idle event: closes an unused connection, reaps a closed one. */
void http_conn_idle_cb(evutil_socket_t fd, short what, void *arg);

#endif
