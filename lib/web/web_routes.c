/*
 * What the web server answers: GET /metrics, /healthz, /status.json and /
 * (the page), each read-only; the token check; the response headers that
 * keep a browser from doing more with our answers than showing them; and
 * the requests held while a fresher status is on its way.
 */
#include "web/web_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/keyvalq_struct.h>
#include <openssl/crypto.h>

#include "event/event.h"
#include "log/log.h"
#include "metrics/edge_metrics.h"
#include "metrics/edge_status.h"
#include "metrics/prom.h"
#include "web/web_page.h"

/* The page is ours and self-contained: it may run its inline script and
 * style and fetch from this origin, nothing else. */
#define PAGE_CSP "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; " \
	"connect-src 'self'; img-src data:; base-uri 'none'; form-action 'none'; " \
	"frame-ancestors 'none'"

#define JSON_TYPE "application/json; charset=utf-8"

static void
reply(struct evhttp_request *req, int code, const char *reason, const char *ctype,
    struct evbuffer *body)
{
	struct evkeyvalq *h = evhttp_request_get_output_headers(req);

	evhttp_add_header(h, "Content-Type", ctype);
	evhttp_add_header(h, "Cache-Control", "no-store");
	evhttp_add_header(h, "X-Content-Type-Options", "nosniff");
	evhttp_send_reply(req, code, reason, body);
}

static void
reply_text(struct evhttp_request *req, int code, const char *reason, const char *text)
{
	struct evbuffer *b = evbuffer_new();

	if (b == NULL || evbuffer_add_printf(b, "%s\n", text) < 0) {
		evhttp_send_error(req, HTTP_INTERNAL, NULL);
	} else
		reply(req, code, reason, "text/plain; charset=utf-8", b);
	if (b != NULL)
		evbuffer_free(b);
}

/* Constant time: both sides hashed, then compared with CRYPTO_memcmp, so
 * neither the content nor the length of the token leaks through timing. */
static bool
authorized(struct web *w, struct evhttp_request *req)
{
	const char *h;
	uint8_t got[SHA256_DIGEST_LENGTH];

	if (w->conf.token[0] == '\0')
		return true;
	h = evhttp_find_header(evhttp_request_get_input_headers(req), "Authorization");
	if (h == NULL || strncasecmp(h, "Bearer ", 7) != 0)
		return false;
	for (h += 7; *h == ' '; h++)
		;
	SHA256((const unsigned char *)h, strlen(h), got);
	return CRYPTO_memcmp(got, w->token_sha, sizeof(got)) == 0;
}

static json_t *
get_status(struct web *w)
{
	return w->src.status ? w->src.status(w->src.arg) : NULL;
}

static void
serve_healthz(struct web *w, struct evhttp_request *req)
{
	json_t *st = get_status(w);
	char why[1024];
	bool ok = es_healthy(st, why, sizeof(why));

	json_decref(st);
	if (ok)
		reply_text(req, HTTP_OK, "OK", "ok");
	else {
		char text[1100];
		snprintf(text, sizeof(text), "degraded: %s", why);
		reply_text(req, 503, "Service Unavailable", text);
	}
}

static void
serve_status(struct web *w, struct evhttp_request *req)
{
	json_t *st = get_status(w);
	char *s;
	struct evbuffer *b = NULL;

	if (st == NULL) {
		if ((b = evbuffer_new()) != NULL && evbuffer_add_printf(b,
		    "{\"ok\":false,\"error\":\"carnitrackd did not answer\"}\n") > 0)
			reply(req, 503, "Service Unavailable", JSON_TYPE, b);
		else
			evhttp_send_error(req, HTTP_INTERNAL, NULL);
		if (b != NULL)
			evbuffer_free(b);
		return;
	}
	s = json_dumps(st, JSON_COMPACT);
	json_decref(st);
	if (s == NULL || (b = evbuffer_new()) == NULL) {
		free(s);
		w->c.failed++;
		evhttp_send_error(req, HTTP_INTERNAL, NULL);
		return;
	}
	if (evbuffer_add(b, s, strlen(s)) == 0 && evbuffer_add(b, "\n", 1) == 0)
		reply(req, HTTP_OK, "OK", JSON_TYPE, b);
	else {
		w->c.failed++;
		evhttp_send_error(req, HTTP_INTERNAL, NULL);
	}
	evbuffer_free(b);
	free(s);
}

static void
serve_metrics(struct web *w, struct evhttp_request *req)
{
	json_t *st = get_status(w);
	struct store *store = w->src.store ? w->src.store(w->src.arg) : NULL;
	struct evbuffer *b = evbuffer_new();
	char err[256];

	if (b == NULL) {
		json_decref(st);
		evhttp_send_error(req, HTTP_INTERNAL, NULL);
		return;
	}
	if (edge_metrics_write(b, st, store, w->src.edge_conf, ct_now_ms(), err,
	    sizeof(err)) == 0)
		reply(req, HTTP_OK, "OK", PROM_CONTENT_TYPE, b);
	else {
		/* a half exposition would read as counters gone: say why instead */
		w->c.failed++;
		log_warn("web: /metrics: %s", err);
		reply_text(req, HTTP_INTERNAL, "Internal Server Error", err);
	}
	evbuffer_free(b);
	json_decref(st);
}

static void
serve_page(struct web *w, struct evhttp_request *req)
{
	struct evkeyvalq *h = evhttp_request_get_output_headers(req);
	struct evbuffer *b = evbuffer_new();

	if (b == NULL || evbuffer_add_reference(b, web_page_html, web_page_html_len, NULL,
	    NULL) != 0) {
		w->c.failed++;
		evhttp_send_error(req, HTTP_INTERNAL, NULL);
	} else {
		evhttp_add_header(h, "Content-Security-Policy", PAGE_CSP);
		evhttp_add_header(h, "X-Frame-Options", "DENY");
		evhttp_add_header(h, "Referrer-Policy", "no-referrer");
		reply(req, HTTP_OK, "OK", "text/html; charset=utf-8", b);
	}
	if (b != NULL)
		evbuffer_free(b);
}

static void
serve(struct web *w, struct evhttp_request *req, enum web_route r)
{
	switch (r) {
	case WEB_R_METRICS: serve_metrics(w, req); return;
	case WEB_R_HEALTHZ: serve_healthz(w, req); return;
	case WEB_R_STATUS:  serve_status(w, req); return;
	}
}

/*
 * Holds a request until the fresher status comes. Its connection is not
 * read meanwhile: a pipelined request waits its turn in the kernel, and
 * no libevent 2.1 release meets bytes in the state a held request leaves
 * evhttp in (some abort on them: libevent issue #794). evhttp reads again
 * once it has written the reply.
 */
static bool
hold(struct web *w, struct evhttp_request *req, enum web_route r)
{
	struct evhttp_connection *evcon = evhttp_request_get_connection(req);
	struct bufferevent *bev = evcon ? evhttp_connection_get_bufferevent(evcon) : NULL;
	struct timeval tv = { WEB_WAIT_MS / 1000, (WEB_WAIT_MS % 1000) * 1000 };

	if (bev == NULL || w->nwaiting >= WEB_WAIT_MAX || w->src.refresh == NULL ||
	    !w->src.refresh(w->src.arg))
		return false;
	bufferevent_disable(bev, EV_READ);
	w->waiting[w->nwaiting++] = (struct web_wait){ req, r };
	w->c.held++;
	if (!evtimer_pending(w->wait_timer, NULL))
		evtimer_add(w->wait_timer, &tv);
	return true;
}

void
web_answer_held(struct web *w, bool closing)
{
	int n = w->nwaiting;

	/* answering may not add to the list, but keep it simple to reason */
	w->nwaiting = 0;
	evtimer_del(w->wait_timer);
	for (int i = 0; i < n; i++) {
		if (closing)
			reply_text(w->waiting[i].req, 503, "Service Unavailable",
			    "the web worker is stopping");
		else
			serve(w, w->waiting[i].req, w->waiting[i].route);
	}
}

void
web_status_ready(struct web *w)
{
	web_answer_held(w, false);
}

void
web_route(struct evhttp_request *req, void *arg)
{
	struct web *w = arg;
	const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
	const char *path = uri ? evhttp_uri_get_path(uri) : NULL;
	enum web_route r;

	web_conn_request(w, req);
	if (path == NULL || *path == '\0')
		path = "/";
	/* /healthz answers anyone allowed in: a load balancer or a systemd
	 * check has no token. The page is static and holds no data. */
	if (strcmp(path, "/") == 0 || strcmp(path, "/index.html") == 0) {
		serve_page(w, req);
		return;
	}
	if (strcmp(path, "/healthz") == 0)
		r = WEB_R_HEALTHZ;
	else if (strcmp(path, "/metrics") == 0)
		r = WEB_R_METRICS;
	else if (strcmp(path, "/status.json") == 0)
		r = WEB_R_STATUS;
	else {
		w->c.not_found++;
		reply_text(req, HTTP_NOTFOUND, "Not Found",
		    "not found: try /, /metrics, /healthz or /status.json");
		return;
	}
	if (r != WEB_R_HEALTHZ && !authorized(w, req)) {
		w->c.unauthorized++;
		evhttp_add_header(evhttp_request_get_output_headers(req), "WWW-Authenticate",
		    "Bearer realm=\"carnitrack\"");
		reply_text(req, 401, "Unauthorized",
		    "a Bearer token is required ([http] token_file)");
		return;
	}
	if (!hold(w, req, r))
		serve(w, req, r);
}
