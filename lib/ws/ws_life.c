/*
 * The WebSocket client's life (ws_int.h): the one way down, wsc_finish(),
 * the re-entrancy count, on_close delivered from its own event, and the
 * client freed, at once or by the outermost entry.
 */
#include "ws/ws_int.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/bufferevent.h>
#include <openssl/crypto.h>

void
wsc_set_err(struct ws_client *c, const char *msg)
{
	snprintf(c->err, sizeof(c->err), "%s", msg);
}

/* ---- teardown and the single exit path ---- */

/* ---- teardown and the single exit path ---- */

void
wsc_teardown(struct ws_client *c)
{
	if (c->ws != NULL) {
		wslay_event_context_free(c->ws);
		c->ws = NULL;
	}
	if (c->bev != NULL) {
		/* CLOSE_ON_FREE also frees the SSL and closes the socket. */
		bufferevent_free(c->bev);
		c->bev = NULL;
	}
	if (c->timer != NULL)
		evtimer_del(c->timer);
	if (c->resume != NULL)
		evtimer_del(c->resume);
	free(c->up);
	c->up = NULL;
	c->flushing = false;
	c->read_paused = false;
}

void
wsc_finish(struct ws_client *c, const char *fmt, ...)
{
	va_list ap;

	if (c->state == WS_STATE_IDLE)
		return;
	va_start(ap, fmt);
	vsnprintf(c->err, sizeof(c->err), fmt, ap);
	va_end(ap);
	/* Inside a callback wslay or libevent may still be on the stack with
	 * our context; free it when control is back at the outermost entry. */
	if (c->depth > 0)
		c->teardown_pending = true;
	else
		wsc_teardown(c);
	c->state = WS_STATE_IDLE;
	c->close_pending = true;
	event_active(c->later, 0, 0);
}

void
wsc_enter(struct ws_client *c)
{
	c->depth++;
}

bool
wsc_leave(struct ws_client *c)
{
	if (--c->depth > 0)
		return c->dead;
	if (c->dead) {
		c->dead = false;
		ws_client_free(c);
		return true;
	}
	if (c->teardown_pending) {
		c->teardown_pending = false;
		wsc_teardown(c);
	}
	return false;
}

void
wsc_later_cb(evutil_socket_t fd, short what, void *arg)
{
	struct ws_client *c = arg;
	char reason[WS_ERR_MAX];

	if (!c->close_pending)
		return;
	c->close_pending = false;
	/* A copy: on_close may reconnect, which resets c->err. */
	memcpy(reason, c->err, sizeof(reason));
	wsc_enter(c);
	if (c->cbs.on_close)
		c->cbs.on_close(reason, c->arg);
	wsc_leave(c);
}

void
ws_client_free(struct ws_client *c)
{
	if (c == NULL)
		return;
	if (c->depth > 0) {
		c->dead = true;
		return;
	}
	wsc_teardown(c);
	if (c->timer)
		event_free(c->timer);
	if (c->later)
		event_free(c->later);
	if (c->resume)
		event_free(c->resume);
	if (c->ssl_ctx)
		SSL_CTX_free(c->ssl_ctx);
	if (c->own_dns)   /* after teardown: the bufferevent's lookup is cancelled */
		evdns_base_free(c->own_dns, 0);
	if (c->token) {
		OPENSSL_cleanse(c->token, strlen(c->token));
		free(c->token);
	}
	free(c->url_str);
	free(c->edge_id);
	free(c->site_id);
	free(c->client_version);
	free(c->msgbuf);
	free(c);
}
