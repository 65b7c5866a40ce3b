/*
 * The project's HTTP/1.1 client: libevent's evhttp, bufferevent_openssl for
 * https:// with exactly the TLS rules of the WebSocket link (lib/ws/ws_tls.c:
 * TLS 1.2 minimum, peer and host name verification against the system store
 * or ca_file, optional SPKI SHA-256 pin checked inside the handshake, before
 * any request byte is sent). Used by the REST transport and by one-shot JSON
 * posts such as [cloud] register_url. Its files: http_int.h maps them; the
 * retry rules are http_retry.c's.
 *
 * One struct http_client talks to one origin (scheme, host, port) over up to
 * max_conns persistent keep-alive connections, one request on each at a
 * time; further requests wait in a bounded queue (http_request refuses with
 * ENOBUFS beyond max_requests). Every attempt has its own deadline, armed
 * when the attempt starts and covering connect, TLS, request and the whole
 * response, so a retry after a timeout gets a full timeout again and a retry
 * after a fast failure still has one (REST_API.md section 8 item 1). Retries
 * follow http_retry.h: 429/5xx/408/network errors with jittered exponential
 * backoff honouring Retry-After, other statuses final. A request sent on a
 * kept-alive connection that the server had just closed is resent once at
 * once on a new connection, without counting as an attempt. Sockets are
 * TCP_NODELAY and bodies leave in one write where they can: request/response
 * traffic must not wait on Nagle for the peer's delayed ACK (that was 40 ms
 * a request; bench/bench_rest measures the drain).
 *
 * Every request carries Host, User-Agent, Accept and Content-Type:
 * application/json (REST_API.md section 2 asks for it on GETs too),
 * X-Client-Type and X-Client-Version, X-Edge-Id and X-Site-Id when set
 * (http_client_set_identity; per-request flags leave them out),
 * Authorization: Bearer when the client has a token, and If-None-Match
 * when given. Responses are capped (max_body, max_headers);
 * a 2xx body must come with a JSON Content-Type (or none) unless the request
 * says HTTP_ANY_TYPE; the JSON itself is the caller's decoder's to check.
 *
 * Usage, one request:
 *
 *     static void done(const struct http_result *r, void *arg)
 *     {
 *         if (http_result_ok(r))
 *             use(r->status, r->body, r->body_len);   // body NUL-terminated
 *         else
 *             log_warn("%s", r->error_text);  // "POST /x: HTTP 400 Bad ...: {..."
 *     }
 *
 *     struct http_client_opts o = { .url = "https://cloud.example/api/v1/edge",
 *         .ca_file = NULL, .pin_sha256 = NULL };      // zero = defaults
 *     struct http_client *c = http_client_new(base, dns, &o, err, sizeof(err));
 *     struct http_req rq = { .method = HTTP_POST, .path = "/api/v1/edge/events",
 *         .body = json, .body_len = len };            // body is copied
 *     if (http_request(c, &rq, done, arg) != 0) ... (errno ENOBUFS: queue full)
 *     ...
 *     http_client_free(c);   // also from inside done(); pending requests are
 *                            // dropped without callbacks
 *
 * One-shot POST of a JSON body to a full URL (e.g. [cloud] register_url):
 *
 *     struct http_client_opts o = { .url = register_url, .ca_file = ca,
 *         .pin_sha256 = pin, .max_attempts = 1 };
 *     http_post_once(base, dns, &o, json, len, HTTP_NO_EDGE_ID, done, arg, err, errlen);
 *
 * makes the client, posts to the URL's own path, calls done once, then frees
 * the client. -1 (with err) only when the options are unusable; every later
 * failure arrives through done.
 *
 * Callbacks run from the event loop, never from inside an http_* call, and
 * may call any http_* function, including http_client_free on their client.
 */
#ifndef CT_HTTP_CLIENT_H
#define CT_HTTP_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "http/http_retry.h"

struct event_base;
struct evdns_base;
struct http_client;

#define HTTP_TIMEOUT_MS_DEFAULT   10000
#define HTTP_IDLE_MS_DEFAULT      30000
#define HTTP_MAX_CONNS_DEFAULT    4
#define HTTP_MAX_CONNS_LIMIT      64
#define HTTP_MAX_REQUESTS_DEFAULT 256
#define HTTP_MAX_ATTEMPTS_DEFAULT 4         /* the first and 3 retries */
#define HTTP_RETRY_BASE_MS        1000
#define HTTP_RETRY_MAX_MS         30000
#define HTTP_MAX_BODY_DEFAULT     (4u << 20)
#define HTTP_MAX_HEADERS_DEFAULT  (64u << 10)
#define HTTP_ETAG_MAX             256       /* longer ETags are dropped (no 304s) */
#define HTTP_ERR_MAX              320

struct http_client_opts {
	const char *url;            /* http(s)://host[:port][/path]: the origin, and the
	                               default path of a request whose path is NULL */
	const char *ca_file;        /* https: PEM CA bundle; NULL: the system store */
	const char *pin_sha256;     /* https: SHA-256 of the leaf's DER SPKI, as
	                               ws_tls_pin_parse() reads it; NULL: none */
	const char *client_type;    /* X-Client-Type; NULL: "carnitrack-edge" */
	const char *client_version; /* X-Client-Version; NULL: CT_VERSION */
	const char *edge_id;        /* X-Edge-Id; NULL/"": none (http_client_set_identity) */
	const char *site_id;        /* X-Site-Id; NULL/"": none */
	const char *token;          /* "Authorization: Bearer <token>" on every request
	                               ([cloud] token_file); NULL/"": none. The caller
	                               decides whether an http:// URL may carry it. */
	int timeout_ms;             /* per attempt, connect to last body byte; <= 0: 10 s */
	int idle_ms;                /* an unused keep-alive connection is closed after
	                               this; <= 0: 30 s */
	int max_conns;              /* requests on the wire at once; <= 0: 4, at most 64 */
	int max_requests;           /* accepted and unfinished (on the wire, queued or
	                               waiting to retry); <= 0: 256 */
	int max_attempts;           /* per request unless it says otherwise; <= 0: 4 */
	int retry_base_ms;          /* backoff before the first retry; <= 0: 1 s */
	int retry_max_ms;           /* backoff cap, and the longest Retry-After waited
	                               for here; <= 0: 30 s */
	size_t max_body;            /* response body cap; 0: 4 MiB */
	size_t max_headers;         /* response header block cap; 0: 64 KiB */
};
/* All strings are copied. */

enum http_method { HTTP_GET, HTTP_POST };

/* http_req.flags */
#define HTTP_NO_EDGE_ID  0x1u   /* leave out X-Edge-Id (REST /register, /activate) */
#define HTTP_NO_SITE_ID  0x2u   /* leave out X-Site-Id (/activate) */
#define HTTP_ANY_TYPE    0x4u   /* accept a 2xx body of any Content-Type */
#define HTTP_AT_MOST_ONCE 0x8u  /* one attempt, and no resend after a kept-alive
                                   connection died under it: a request whose repeat
                                   the server cannot tell from a new one (REST
                                   /register with edgeId null makes an edge each time) */

struct http_req {
	enum http_method method;
	const char *path;           /* "/api/v1/edge/sessions?device_ids=A,B" on the
	                               client's origin; NULL: the URL's path */
	const char *body;           /* POST body (JSON), copied; NULL: empty */
	size_t      body_len;
	const char *if_none_match;  /* NULL or "": none */
	unsigned    flags;
	int         max_attempts;   /* 0: the client's; 1: no retry */
	int         timeout_ms;     /* per attempt; 0: the client's */
};

struct http_result {
	int              status;        /* 0 when no response arrived */
	enum http_error  error;         /* HTTP_E_NONE when a usable response arrived */
	enum http_verdict verdict;      /* http_classify(status, error) of the last attempt */
	bool             offline;       /* http_means_offline(status, error) */
	const char      *reason;        /* the status line's reason phrase, "" if none */
	const char      *body;          /* NUL-terminated, "" if none */
	size_t           body_len;
	const char      *content_type;  /* NULL if absent */
	const char      *etag;          /* NULL if absent or longer than HTTP_ETAG_MAX */
	int64_t          retry_after_ms;/* Retry-After of the last response, -1 if none */
	int              attempts;      /* attempts made, >= 1 */
	const char      *edge_id;       /* the X-Edge-Id the last attempt carried, NULL if
	                                   none: what a 401 refused (rest_auth_action) */
	const char      *error_text;    /* one log line: "POST /p: HTTP 400 Bad Request:
	                                   {\"error\":..." or "GET /p: connect 10.0.0.1:443:
	                                   Connection refused (4 attempts)"; "" on success */
};
/* 2xx or 304 and a usable body. */
bool http_result_ok(const struct http_result *r);

typedef void (*http_done_cb)(const struct http_result *r, void *arg);

/* NULL with err on a bad URL or pin, an unreadable ca_file, a header value
 * with a control character, or no memory. dns NULL: for a host name the
 * client makes its own evdns_base (never a blocking getaddrinfo). */
struct http_client *http_client_new(struct event_base *base, struct evdns_base *dns,
    const struct http_client_opts *o, char *err, size_t errlen);

/* Starts (or queues) one request; done is called exactly once, later, unless
 * the client is freed first. -1 with errno: ENOBUFS (max_requests reached;
 * the request being reported to a done callback no longer counts, so the
 * callback can queue the next), EINVAL (bad path or header value), ENOMEM. */
int http_request(struct http_client *c, const struct http_req *rq, http_done_cb done, void *arg);

/* X-Edge-Id / X-Site-Id for attempts that start from now on (retries of
 * requests already accepted included). NULL or "" removes the header. -1
 * (err set) if a value has a control character. */
int http_client_set_identity(struct http_client *c, const char *edge_id, const char *site_id,
    char *err, size_t errlen);

/* Drops every request without callbacks and closes the connections. Safe
 * inside a done callback (the free happens when it returns). */
void http_client_free(struct http_client *c);

int http_post_once(struct event_base *base, struct evdns_base *dns,
    const struct http_client_opts *o, const char *body, size_t len, unsigned flags,
    http_done_cb done, void *arg, char *err, size_t errlen);

struct http_stats {
	uint64_t requests;          /* accepted by http_request */
	uint64_t succeeded, failed; /* finished, by http_result_ok */
	uint64_t attempts;          /* sent or tried */
	uint64_t retries;           /* attempts after a retryable outcome */
	uint64_t stale_resends;     /* resent at once after a dead kept-alive connection */
	uint64_t connects;          /* connections opened */
	uint64_t reused;            /* attempts sent on an already used connection */
	unsigned in_flight;         /* attempts on the wire now */
	unsigned queued;            /* accepted, waiting for a connection or a retry */
	unsigned open_conns;        /* connections open now (busy or idle) */
	int64_t  last_done_ms;      /* monotonic ms of the last finished request, 0: none */
	int      last_status;       /* of the last finished request, 0: no response */
	enum http_error last_error;
	char     last[HTTP_ERR_MAX];/* its outcome: "GET /p: 200 OK" or its error_text */
};
void http_client_stats(const struct http_client *c, struct http_stats *out);

#endif
