/*
 * The WebSocket client's connection (ws_int.h): connect (DNS through evdns,
 * never a blocking lookup), TLS and the pin, the upgrade request and its
 * answer, libevent's callbacks, and the deadlines of connect, upgrade and
 * close.
 */
#include "ws/ws_int.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/util.h>
#include <openssl/err.h>

/* ---- libevent callbacks ---- */

/* ---- libevent callbacks ---- */

static void
handle_upgrade(struct ws_client *c)
{
	struct evbuffer *in = bufferevent_get_input(c->bev);
	uint8_t chunk[READ_CHUNK];
	char why[WS_ERR_MAX];

	while (evbuffer_get_length(in) > 0) {
		ev_ssize_t n = evbuffer_copyout(in, chunk, sizeof(chunk));
		size_t used = 0;
		enum ws_upgrade_result r;

		if (n <= 0) {
			wsc_finish(c, "reading upgrade response from %s failed", c->peer);
			return;
		}
		r = ws_upgrade_parse(c->up, chunk, (size_t)n, &used, why, sizeof(why));
		evbuffer_drain(in, used);
		if (r == WS_UPGRADE_ERROR) {
			/* The caller decides what a 401/403/404 means (a refused
			 * identity); a 101 with bad headers is not a refusal. */
			if (c->up->status > 0 && c->up->status != 101)
				c->http_status = c->up->status;
			wsc_finish(c, "%s", why);
			return;
		}
		if (r == WS_UPGRADE_DONE) {
			if (wsc_open_link(c) != 0)
				return;
			if (c->cbs.on_open)
				c->cbs.on_open(c->arg);
			if (c->dead || c->state != WS_STATE_OPEN)
				return;
			/* Frames that arrived with the 101 are still in `in`. */
			wsc_pump(c, true);
			return;
		}
	}
}

static void
read_cb(struct bufferevent *bev, void *arg)
{
	struct ws_client *c = arg;

	wsc_enter(c);
	if (c->state == WS_STATE_UPGRADING)
		handle_upgrade(c);
	else if (c->state == WS_STATE_OPEN || c->state == WS_STATE_CLOSING)
		wsc_pump(c, true);
	else if (c->bev != NULL)   /* bytes before our request: protocol violation */
		wsc_finish(c, "%s sent data before the upgrade request", c->peer);
	wsc_leave(c);
}

static void
write_cb(struct bufferevent *bev, void *arg)
{
	struct ws_client *c = arg;

	wsc_enter(c);
	if (c->flushing) {
		char why[WS_ERR_MAX];
		if (evbuffer_get_length(bufferevent_get_output(bev)) == 0) {
			wsc_close_reason(c, why, sizeof(why));
			wsc_finish(c, "%s", why);
		}
	} else if (c->state == WS_STATE_OPEN || c->state == WS_STATE_CLOSING) {
		wsc_pump(c, false);
	}
	wsc_leave(c);
}

static void
send_upgrade(struct ws_client *c)
{
	char req[WS_UPGRADE_MAX_HDR], why[WS_ERR_MAX];
	struct ws_upgrade_req rq = { &c->url, c->key, c->token, c->edge_id, c->site_id,
		c->client_version };
	ssize_t n;

	if (c->has_pin) {
		SSL *ssl = bufferevent_openssl_get_ssl(c->bev);
		if (ssl == NULL || ws_tls_check_pin(ssl, c->pin, why, sizeof(why)) != 0) {
			wsc_finish(c, "%s", ssl ? why : "pin check: no TLS session");
			return;
		}
	}
	n = ws_upgrade_build(&rq, req, sizeof(req), why, sizeof(why));
	if (n < 0) {
		wsc_finish(c, "%s", why);
		return;
	}
	if ((c->up = malloc(sizeof(*c->up))) == NULL) {
		wsc_finish(c, "upgrade to %s: out of memory", c->peer);
		return;
	}
	ws_upgrade_parser_init(c->up, c->key);
	if (bufferevent_write(c->bev, req, (size_t)n) != 0) {
		wsc_finish(c, "upgrade to %s: cannot queue request", c->peer);
		return;
	}
	c->state = WS_STATE_UPGRADING;
	/* The server may have answered already (it cannot, but a hostile
	 * one may send first); read_cb handles whatever is there. */
}

static void
event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct ws_client *c = arg;
	int sock_err = EVUTIL_SOCKET_ERROR();

	wsc_enter(c);
	if (what & BEV_EVENT_CONNECTED) {
		int one = 1;
		/* Events, acks and pings are small frames in a request-answer
		 * rhythm: behind one not yet acknowledged, Nagle would hold the
		 * next until the peer's delayed ACK (40 ms on Linux). Failing
		 * to set it costs only latency. */
		(void)setsockopt(bufferevent_getfd(bev), IPPROTO_TCP, TCP_NODELAY, &one,
		    sizeof(one));
		if (c->state == WS_STATE_CONNECTING)
			send_upgrade(c);
		goto out;
	}
	if (c->state == WS_STATE_CONNECTING) {
		int dns_err = bufferevent_socket_get_dns_error(bev);
		char why[WS_ERR_MAX];
		if (dns_err != 0) {
			wsc_finish(c, "resolve %s: %s", c->url.host, evutil_gai_strerror(dns_err));
		} else if (c->url.tls) {
			unsigned long e = bufferevent_get_openssl_error(bev);
			if (what & BEV_EVENT_EOF)
				sock_err = 0;
			ws_tls_describe_failure(bufferevent_openssl_get_ssl(bev), e, sock_err,
			    c->peer, why, sizeof(why));
			wsc_finish(c, "%s", why);
		} else if (what & BEV_EVENT_EOF || sock_err == 0) {
			wsc_finish(c, "connect %s: connection closed", c->peer);
		} else {
			wsc_finish(c, "connect %s: %s", c->peer,
			    evutil_socket_error_to_string(sock_err));
		}
		goto out;
	}
	if (c->state == WS_STATE_UPGRADING) {
		/* A final chunk may still sit in the input buffer. */
		handle_upgrade(c);
		if (c->dead || c->state != WS_STATE_UPGRADING)
			goto out;
		if (what & BEV_EVENT_EOF)
			wsc_finish(c, "%s closed the connection during the upgrade", c->peer);
		else
			wsc_finish(c, "upgrade with %s: %s", c->peer,
			    sock_err ? evutil_socket_error_to_string(sock_err) : "read error");
		goto out;
	}
	if (c->state == WS_STATE_OPEN || c->state == WS_STATE_CLOSING) {
		char why[WS_ERR_MAX];
		if (what & BEV_EVENT_TIMEOUT) {
			char how[64];
			snprintf(how, sizeof(how), "nothing written for %d ms", c->write_stall_ms);
			wsc_drop_not_reading(c, how);
			goto out;
		}
		if (!wsc_pump(c, true) && (c->dead || c->state == WS_STATE_IDLE))
			goto out;
		if (c->state == WS_STATE_IDLE)
			goto out;
		if (c->ws && (wslay_event_get_close_received(c->ws) ||
		    wslay_event_get_close_sent(c->ws))) {
			wsc_close_reason(c, why, sizeof(why));
			wsc_finish(c, "%s", why);
		} else if (what & BEV_EVENT_EOF) {
			wsc_finish(c, "connection to %s lost: closed without a close frame",
			    c->peer);
		} else {
			unsigned long e = c->url.tls ? bufferevent_get_openssl_error(bev) : 0;
			if (e != 0) {
				char s[160];
				ERR_error_string_n(e, s, sizeof(s));
				wsc_finish(c, "connection to %s lost: %s", c->peer, s);
			} else {
				wsc_finish(c, "connection to %s lost: %s", c->peer,
				    sock_err ? evutil_socket_error_to_string(sock_err) : "error");
			}
		}
	}
out:
	wsc_leave(c);
}

void
wsc_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct ws_client *c = arg;
	char why[WS_ERR_MAX];

	wsc_enter(c);
	switch (c->state) {
	case WS_STATE_CONNECTING:
		/* For wss:// the TCP connect and the TLS handshake are one step to
		 * libevent; a peer that stalls mid-handshake ends here too. */
		wsc_finish(c, "connect %s%s: timed out after %d ms", c->peer,
		    c->url.tls ? " (TCP+TLS)" : "", c->connect_timeout_ms);
		break;
	case WS_STATE_UPGRADING:
		wsc_finish(c, "upgrade with %s: no complete response after %d ms", c->peer,
		    c->connect_timeout_ms);
		break;
	case WS_STATE_OPEN:
	case WS_STATE_CLOSING:
		wsc_close_reason(c, why, sizeof(why));
		wsc_finish(c, "%s (peer did not complete the close)", why);
		break;
	case WS_STATE_IDLE:
		break;
	}
	wsc_leave(c);
}

/* ---- API ---- */

/* ---- API ---- */

int
ws_client_connect(struct ws_client *c)
{
	struct timeval tv = { c->connect_timeout_ms / 1000, (c->connect_timeout_ms % 1000) * 1000 };
	int opt = BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS;
	char why[WS_ERR_MAX];

	if (c->state != WS_STATE_IDLE || c->close_pending) {
		wsc_set_err(c, "connect: already connected or closing");
		return -1;
	}
	c->local_close = c->peer_closed = c->peer_closed_first = false;
	c->send_refused = c->flushing = false;
	c->local_code = c->peer_code = 0;
	c->local_reason[0] = c->peer_reason[0] = '\0';
	c->err[0] = '\0';
	c->http_status = 0;
	if (ws_upgrade_make_key(c->key) != 0) {
		wsc_set_err(c, "connect: random number generator failed");
		return -1;
	}
	if (c->url.tls) {
		SSL *ssl = ws_tls_ssl_new(c->ssl_ctx, c->url.host, why, sizeof(why));
		if (ssl == NULL) {
			wsc_set_err(c, why);
			return -1;
		}
		c->bev = bufferevent_openssl_socket_new(c->base, -1, ssl,
		    BUFFEREVENT_SSL_CONNECTING, opt);
		if (c->bev == NULL) {
			SSL_free(ssl);
			wsc_set_err(c, "connect: cannot create TLS bufferevent");
			return -1;
		}
		/* Many servers drop TCP without close_notify after the WebSocket
		 * close; the close frames already made the end explicit. */
		bufferevent_openssl_set_allow_dirty_shutdown(c->bev, 1);
	} else if ((c->bev = bufferevent_socket_new(c->base, -1, opt)) == NULL) {
		wsc_set_err(c, "connect: cannot create bufferevent");
		return -1;
	}
	bufferevent_setcb(c->bev, read_cb, write_cb, event_cb, c);
	/* wslay drains the input while it wants to read; after it stops
	 * (close, too big) a peer that keeps sending fills at most this much
	 * before libevent stops reading. */
	bufferevent_setwatermark(c->bev, EV_READ, 0, READ_HIGH);
	if (bufferevent_enable(c->bev, EV_READ | EV_WRITE) != 0 ||
	    evtimer_add(c->timer, &tv) != 0) {
		wsc_teardown(c);
		wsc_set_err(c, "connect: cannot arm events");
		return -1;
	}
	c->state = WS_STATE_CONNECTING;
	if (bufferevent_socket_connect_hostname(c->bev, c->dns, AF_UNSPEC, c->url.host,
	    c->url.port) != 0) {
		/* libevent has queued (deferred) an error event in some of these
		 * cases; wsc_finish() makes the outcome one on_close either way. */
		wsc_finish(c, "connect %s: cannot start (%s)", c->peer,
		    evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()));
	}
	return 0;
}
