/*
 * What the HTTP client tests share (test_http_client*.c): lib/http against
 * servers in the same process and loop: an evhttp server (plain, or TLS with
 * a certificate made here) whose paths script the answers, and a raw TCP
 * server for what evhttp will not do (close a kept-alive connection on the
 * next request).
 */
#ifndef CT_HTTP_CLIENT_SUPPORT_H
#define CT_HTTP_CLIENT_SUPPORT_H

/* Each test file of the group uses some of these. */
#pragma GCC diagnostic ignored "-Wunused-function"
#pragma GCC diagnostic ignored "-Wunused-variable"

#include <check.h>
#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <event2/listener.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "event/event.h"
#include "http/http_client.h"
#include "ws/ws_tls.h"

/* ---- the evhttp server ---- */

#define MAX_HELD 32

struct srv {
	struct evhttp *http;
	int port;
	SSL_CTX *tls;
	int conns;                  /* connections accepted */
	int requests;
	int active, max_active;     /* /slow requests being held */
	int script[8], nscript;     /* /seq: statuses in order; -1 = never answer */
	const char *retry_after;    /* /seq: Retry-After on 429/503 */
	int delay_ms;               /* /slow */
	char edge_id[80], site_id[80], client_type[40], client_version[40], ctype[64];
	char inm[80], host[80], body[256], auth[96];
	bool has_edge_id, has_site_id, has_auth;
	struct evhttp_request *held[MAX_HELD];
	int nheld;
};

static struct event_base *base;
static struct srv srv;
static char err[512];

static void
copy_hdr(struct evkeyvalq *h, const char *name, char *out, size_t cap, bool *has)
{
	const char *v = evhttp_find_header(h, name);

	if (has != NULL)
		*has = v != NULL;
	snprintf(out, cap, "%s", v ? v : "");
}

static void
reply(struct evhttp_request *req, int code, const char *reason, const char *ctype,
    const char *body)
{
	struct evbuffer *b = evbuffer_new();

	if (ctype != NULL)
		evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type", ctype);
	evbuffer_add(b, body, strlen(body));
	evhttp_send_reply(req, code, reason, b);
	evbuffer_free(b);
}

struct later { struct evhttp_request *req; struct event *ev; };

static void
slow_done(evutil_socket_t fd, short what, void *arg)
{
	struct later *l = arg;

	srv.active--;
	reply(l->req, 200, "OK", "application/json", "{\"slow\":true}");
	event_free(l->ev);
	free(l);
}

static void
handler(struct evhttp_request *req, void *arg)
{
	const char *uri = evhttp_request_get_uri(req);
	struct evkeyvalq *h = evhttp_request_get_input_headers(req);
	struct evbuffer *in = evhttp_request_get_input_buffer(req);
	size_t n = evbuffer_get_length(in);

	srv.requests++;
	copy_hdr(h, "X-Edge-Id", srv.edge_id, sizeof(srv.edge_id), &srv.has_edge_id);
	copy_hdr(h, "X-Site-Id", srv.site_id, sizeof(srv.site_id), &srv.has_site_id);
	copy_hdr(h, "X-Client-Type", srv.client_type, sizeof(srv.client_type), NULL);
	copy_hdr(h, "X-Client-Version", srv.client_version, sizeof(srv.client_version), NULL);
	copy_hdr(h, "Content-Type", srv.ctype, sizeof(srv.ctype), NULL);
	copy_hdr(h, "If-None-Match", srv.inm, sizeof(srv.inm), NULL);
	copy_hdr(h, "Host", srv.host, sizeof(srv.host), NULL);
	copy_hdr(h, "Authorization", srv.auth, sizeof(srv.auth), &srv.has_auth);
	if (n >= sizeof(srv.body))
		n = sizeof(srv.body) - 1;
	evbuffer_copyout(in, srv.body, n);
	srv.body[n] = '\0';

	if (strncmp(uri, "/json", 5) == 0) {
		evhttp_add_header(evhttp_request_get_output_headers(req), "ETag", "\"sessions-1\"");
		reply(req, 200, "OK", "application/json; charset=utf-8", "{\"ok\":true}");
	} else if (strcmp(uri, "/echo") == 0) {
		reply(req, 200, "OK", "application/json", srv.body);
	} else if (strcmp(uri, "/slow") == 0) {
		struct later *l = calloc(1, sizeof(*l));
		struct timeval tv = { 0, srv.delay_ms * 1000 };
		l->req = req;
		l->ev = evtimer_new(base, slow_done, l);
		evtimer_add(l->ev, &tv);
		if (++srv.active > srv.max_active)
			srv.max_active = srv.active;
	} else if (strcmp(uri, "/seq") == 0) {
		int code = srv.nscript > 0 ? srv.script[0] : 200;
		if (srv.nscript > 1) {
			memmove(srv.script, srv.script + 1,
			    sizeof(int) * (size_t)(srv.nscript - 1));
			srv.nscript--;
		}
		if (code < 0) {
			if (srv.nheld < MAX_HELD)
				srv.held[srv.nheld++] = req;   /* never answered */
			return;
		}
		if ((code == 429 || code == 503) && srv.retry_after != NULL)
			evhttp_add_header(evhttp_request_get_output_headers(req), "Retry-After",
			    srv.retry_after);
		reply(req, code, code == 200 ? "OK" : "Scripted", "application/json",
		    code == 200 ? "{\"n\":1}" : "{\"error\":\"scripted\"}");
	} else if (strcmp(uri, "/400") == 0) {
		reply(req, 400, "Bad Request", "application/json",
		    "{\"error\":\"weightGrams must be an integer\"}\n");
	} else if (strcmp(uri, "/html") == 0) {
		reply(req, 200, "OK", "text/html", "<html>captive portal</html>");
	} else if (strcmp(uri, "/big") == 0) {
		struct evbuffer *b = evbuffer_new();
		char chunk[4096];
		memset(chunk, 'x', sizeof(chunk));
		for (int i = 0; i < 512; i++)
			evbuffer_add(b, chunk, sizeof(chunk));
		evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type",
		    "application/json");
		evhttp_send_reply(req, 200, "OK", b);
		evbuffer_free(b);
	} else if (strcmp(uri, "/nocontent") == 0) {
		evhttp_send_reply(req, 304, "Not Modified", NULL);
	} else {
		reply(req, 404, "Not Found", "application/json", "{\"error\":\"Not found\"}");
	}
}

static struct bufferevent *
bevcb(struct event_base *b, void *arg)
{
	srv.conns++;
	if (srv.tls != NULL)
		return bufferevent_openssl_socket_new(b, -1, SSL_new(srv.tls),
		    BUFFEREVENT_SSL_ACCEPTING, BEV_OPT_CLOSE_ON_FREE);
	return bufferevent_socket_new(b, -1, BEV_OPT_CLOSE_ON_FREE);
}

static void
srv_start(void)
{
	struct evhttp_bound_socket *s;
	struct sockaddr_in sin;
	socklen_t sl = sizeof(sin);

	srv.http = evhttp_new(base);
	ck_assert_ptr_nonnull(srv.http);
	evhttp_set_gencb(srv.http, handler, NULL);
	evhttp_set_bevcb(srv.http, bevcb, NULL);
	s = evhttp_bind_socket_with_handle(srv.http, "127.0.0.1", 0);
	ck_assert_ptr_nonnull(s);
	getsockname(evhttp_bound_socket_get_fd(s), (struct sockaddr *)&sin, &sl);
	srv.port = ntohs(sin.sin_port);
}

/* ---- client side ---- */

struct got {
	int n;
	int status, attempts;
	enum http_error error;
	enum http_verdict verdict;
	bool ok, offline;
	int64_t retry_after_ms, at_ms;
	char body[256], etag[80], ctype[80], text[HTTP_ERR_MAX], edge[80];
	size_t body_len;
};
static struct got got[16];
static int ngot;
static struct http_client *cli;
static bool free_in_cb;

static void
done(const struct http_result *r, void *arg)
{
	struct got *g = &got[ngot < 16 ? ngot : 15];

	ngot++;
	g->n = (int)(intptr_t)arg;
	g->status = r->status;
	g->attempts = r->attempts;
	g->error = r->error;
	g->verdict = r->verdict;
	g->ok = http_result_ok(r);
	g->offline = r->offline;
	g->retry_after_ms = r->retry_after_ms;
	g->at_ms = ct_now_ms_mono();
	g->body_len = r->body_len;
	ck_assert_int_eq(r->body[r->body_len], '\0');
	snprintf(g->body, sizeof(g->body), "%s", r->body);
	snprintf(g->etag, sizeof(g->etag), "%s", r->etag ? r->etag : "");
	snprintf(g->ctype, sizeof(g->ctype), "%s", r->content_type ? r->content_type : "");
	snprintf(g->text, sizeof(g->text), "%s", r->error_text);
	snprintf(g->edge, sizeof(g->edge), "%s", r->edge_id ? r->edge_id : "(none)");
	if (free_in_cb) {
		http_client_free(cli);
		cli = NULL;
	}
}

static void
setup(void)
{
	memset(&srv, 0, sizeof(srv));
	memset(got, 0, sizeof(got));
	ngot = 0;
	free_in_cb = false;
	cli = NULL;
	base = event_base_new();
	ck_assert_ptr_nonnull(base);
	srv_start();
}

static void
teardown_(void)
{
	if (cli != NULL)
		http_client_free(cli);
	evhttp_free(srv.http);
	if (srv.tls != NULL)
		SSL_CTX_free(srv.tls);
	event_base_free(base);
}

static struct http_client *
client_opts(struct http_client_opts *o)
{
	char url[128];

	if (o->url == NULL) {
		snprintf(url, sizeof(url), "http://127.0.0.1:%d/api/v1/edge", srv.port);
		o->url = url;
	}
	if (o->retry_base_ms == 0)
		o->retry_base_ms = 20;
	if (o->timeout_ms == 0)
		o->timeout_ms = 2000;
	cli = http_client_new(base, NULL, o, err, sizeof(err));
	ck_assert_msg(cli != NULL, "%s", err);
	return cli;
}

static struct http_client *
client(void)
{
	struct http_client_opts o = { .edge_id = "3f2b9c1e-8d4a-4b7e-9c2d-5a1e0f6b7c8d",
		.site_id = "site-001", .client_version = "0.3.0" };
	return client_opts(&o);
}

static int wanted;
static bool have_wanted(void) { return ngot >= wanted; }

static bool
run_until(bool (*cond)(void), int ms)
{
	struct timeval step = { 0, 5000 };
	int64_t end = ct_now_ms_mono() + ms;

	while (!cond() && ct_now_ms_mono() < end) {
		event_base_loopexit(base, &step);
		event_base_dispatch(base);
	}
	return cond();
}

static void
wait_results(int n, int ms)
{
	wanted = n;
	ck_assert_msg(run_until(have_wanted, ms), "%d of %d results within %d ms", ngot, n, ms);
}

static void
get(const char *path, int n)
{
	struct http_req rq = { .method = HTTP_GET, .path = path };

	ck_assert_int_eq(http_request(cli, &rq, done, (void *)(intptr_t)n), 0);
}

/* ---- tests ---- */

static int max_in_flight_seen;
static bool
sample_in_flight(void)
{
	struct http_stats st;

	http_client_stats(cli, &st);
	if ((int)st.in_flight > max_in_flight_seen)
		max_in_flight_seen = (int)st.in_flight;
	return ngot >= wanted;
}

/* The request being reported no longer counts against max_requests: its
 * callback can put the next one in its place. */
static int chained;
static void
chain_done(const struct http_result *r, void *arg)
{
	struct http_req rq = { .method = HTTP_GET, .path = "/json" };

	ngot++;
	if (http_result_ok(r) && ++chained < 3)
		ck_assert_int_eq(http_request(cli, &rq, chain_done, NULL), 0);
}

static bool post_once_done;
static void
once_done(const struct http_result *r, void *arg)
{
	post_once_done = http_result_ok(r) && strcmp(r->body, "{\"a\":1}") == 0;
	ngot++;
}

/* ---- a raw server: answers the first request on a connection, then
 * closes it when the next one arrives (a keep-alive timeout racing us) ---- */

struct raw {
	struct evconnlistener *l;
	int port, conns, answered, closed;
};
static struct raw raw;

static void
raw_read(struct bufferevent *bev, void *arg)
{
	struct evbuffer *in = bufferevent_get_input(bev);
	struct evbuffer_ptr p = evbuffer_search(in, "\r\n\r\n", 4, NULL);
	int *served = arg;
	static const char ok[] = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
	    "Content-Length: 7\r\n\r\n{\"a\":1}";

	if (p.pos < 0)
		return;
	evbuffer_drain(in, evbuffer_get_length(in));
	if ((*served)++ == 0) {
		raw.answered++;
		bufferevent_write(bev, ok, sizeof(ok) - 1);
	} else {
		raw.closed++;
		free(served);
		bufferevent_free(bev);
	}
}

static void
raw_event(struct bufferevent *bev, short what, void *arg)
{
	raw.closed++;
	free(arg);
	bufferevent_free(bev);
}

static void
raw_accept(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa, int sl, void *a)
{
	struct bufferevent *bev = bufferevent_socket_new(base, fd, BEV_OPT_CLOSE_ON_FREE);

	raw.conns++;
	bufferevent_setcb(bev, raw_read, NULL, raw_event, calloc(1, sizeof(int)));
	bufferevent_enable(bev, EV_READ | EV_WRITE);
}

static bool raw_all_closed(void) { return raw.closed == raw.conns; }

/* ---- TLS: a P-256 certificate for 127.0.0.1 made here ---- */

static char cert_path[64];
static char pin_b64[64];
static EVP_PKEY *tls_key;
static X509 *tls_cert;

static void
make_cert(void)
{
	X509_EXTENSION *ext;
	X509V3_CTX v3;
	FILE *f;
	int fd;
	unsigned char pin[WS_PIN_LEN];

	tls_key = EVP_EC_gen("P-256");
	ck_assert_ptr_nonnull(tls_key);
	tls_cert = X509_new();
	X509_set_version(tls_cert, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(tls_cert), 1);
	X509_gmtime_adj(X509_getm_notBefore(tls_cert), -60);
	X509_gmtime_adj(X509_getm_notAfter(tls_cert), 3600);
	X509_set_pubkey(tls_cert, tls_key);
	X509_NAME_add_entry_by_txt(X509_get_subject_name(tls_cert), "CN", MBSTRING_ASC,
	    (const unsigned char *)"localhost", -1, -1, 0);
	X509_set_issuer_name(tls_cert, X509_get_subject_name(tls_cert));
	X509V3_set_ctx(&v3, tls_cert, tls_cert, NULL, NULL, 0);
	ext = X509V3_EXT_conf_nid(NULL, &v3, NID_subject_alt_name, "DNS:localhost,IP:127.0.0.1");
	X509_add_ext(tls_cert, ext, -1);
	X509_EXTENSION_free(ext);
	ck_assert(X509_sign(tls_cert, tls_key, EVP_sha256()) > 0);
	snprintf(cert_path, sizeof(cert_path), "/tmp/ct-http-cert.XXXXXX");
	fd = mkstemp(cert_path);
	ck_assert_int_ge(fd, 0);
	f = fdopen(fd, "w");
	PEM_write_X509(f, tls_cert);
	fclose(f);
	ws_tls_spki_sha256(tls_cert, pin);
	EVP_EncodeBlock((unsigned char *)pin_b64, pin, WS_PIN_LEN);
	srv.tls = SSL_CTX_new(TLS_server_method());
	SSL_CTX_use_certificate(srv.tls, tls_cert);
	SSL_CTX_use_PrivateKey(srv.tls, tls_key);
}

static void
tls_setup(void)
{
	setup();
	make_cert();
}

static void
tls_teardown(void)
{
	teardown_();
	unlink(cert_path);
	X509_free(tls_cert);
	EVP_PKEY_free(tls_key);
}

static struct http_client *
tls_client(const char *ca, const char *pin)
{
	char url[64];
	struct http_client_opts o = { .ca_file = ca, .pin_sha256 = pin, .max_attempts = 1 };

	snprintf(url, sizeof(url), "https://127.0.0.1:%d/api/v1/edge", srv.port);
	o.url = url;
	return client_opts(&o);
}

#endif
