/*
 * The HTTP client's connection slots (http_int.h): each carries one request
 * at a time on its own evhttp_connection, so evhttp never queues or
 * reconnects by itself. Connections are never reconnected in place: after
 * any failure, a cancelled attempt, or a close by the server, the slot's
 * evhttp_connection is freed (from our own events, never inside an evhttp
 * callback, which evhttp does not survive) and the next request opens a
 * fresh one with a fresh SSL.
 */
#include "http/http_int.h"

#include <stdio.h>
#include <string.h>

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/http.h>

static int conn_ex_idx = -1;

int
http_conn_pin_init(char *err, size_t errlen)
{
	if (conn_ex_idx < 0 &&
	    (conn_ex_idx = SSL_get_ex_new_index(0, "http_conn", NULL, NULL, NULL)) < 0) {
		snprintf(err, errlen, "http client: no OpenSSL ex_data index");
		return -1;
	}
	return 0;
}

/* ---------------------------------------------------------------- TLS pin */

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

/* ---------------------------------------------------------------- connections */

static void
closed_cb(struct evhttp_connection *evcon, void *arg)
{
	struct http_conn *k = arg;

	k->closed = true;
	/* Reap it from our own event: evhttp is still using it right now. */
	event_active(k->idle, EV_TIMEOUT, 1);
}

void
http_conn_drop(struct http_conn *k)
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

int
http_conn_open(struct http_client *c, struct http_conn *k, char *why, size_t whylen)
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

void
http_conn_idle_cb(evutil_socket_t fd, short what, void *arg)
{
	struct http_conn *k = arg;

	if (k->op == NULL && k->evcon != NULL)
		http_conn_drop(k);
	kick(k->c);
}

/* Request/response traffic: no Nagle delay. The socket exists once the
 * connect has started (for a host name, after DNS: the first request may
 * then go with Nagle, the next ones without). Best effort. */
void
http_conn_nodelay(struct http_conn *k)
{
	evutil_socket_t fd;
	int one = 1;

	if (k->nodelay || k->bev == NULL || (fd = bufferevent_getfd(k->bev)) < 0)
		return;
	k->nodelay = setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) == 0;
}

/* evhttp's own timeouts are idle timeouts per read or write; ours is the
 * attempt's total. Theirs are set just above ours so that ours decides. */
void
http_conn_set_timeouts(struct http_conn *k, int64_t ms)
{
	struct timeval tv;

	tv_ms(&tv, ms + 1000);
	evhttp_connection_set_timeout_tv(k->evcon, &tv);
	bufferevent_set_timeouts(k->bev, &tv, &tv);
}
