/*
 * The WebSocket client of ws_client.h: made from its options (URL, TLS,
 * pin, header values checked once), messages and pings queued under the
 * queue's bound, a close asked for, its state told. ws_int.h maps the rest.
 */
#include "ws/ws_int.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/bufferevent.h>

static char *
dup_opt(const char *s, bool *ok)
{
	char *d;

	if (s == NULL || *s == '\0')
		return NULL;
	if ((d = strdup(s)) == NULL)
		*ok = false;
	return d;
}

static bool
host_is_numeric(const char *host)
{
	unsigned char a[sizeof(struct in6_addr)];

	return inet_pton(AF_INET, host, a) == 1 || inet_pton(AF_INET6, host, a) == 1;
}

struct ws_client *
ws_client_new(struct event_base *base, struct evdns_base *dns, const struct ws_client_opts *opts,
    const struct ws_client_cbs *cbs, void *arg, char *err, size_t errlen)
{
	struct ws_client *c = calloc(1, sizeof(*c));
	bool ok = true;

	if (c == NULL) {
		snprintf(err, errlen, "ws client: out of memory");
		return NULL;
	}
	c->base = base;
	c->dns = dns;
	c->cbs = *cbs;
	c->arg = arg;
	if (ws_url_parse(opts->url, &c->url, err, errlen) != 0)
		goto fail;
	c->url_str = strdup(opts->url);
	c->token = dup_opt(opts->token, &ok);
	c->edge_id = dup_opt(opts->edge_id, &ok);
	c->site_id = dup_opt(opts->site_id, &ok);
	c->client_version = dup_opt(opts->client_version ? opts->client_version : CT_VERSION, &ok);
	c->timer = evtimer_new(base, wsc_timer_cb, c);
	c->later = event_new(base, -1, 0, wsc_later_cb, c);
	c->resume = evtimer_new(base, wsc_resume_cb, c);
	if (!ok || c->url_str == NULL || c->timer == NULL || c->later == NULL ||
	    c->resume == NULL) {
		snprintf(err, errlen, "ws client: out of memory");
		goto fail;
	}
	c->connect_timeout_ms = opts->connect_timeout_ms > 0 ? opts->connect_timeout_ms
	    : WS_CONNECT_TIMEOUT_MS_DEFAULT;
	c->max_msg = opts->max_msg ? opts->max_msg : WS_MAX_MSG_DEFAULT;
	c->max_queued = opts->max_queued ? opts->max_queued : WS_MAX_QUEUED_DEFAULT;
	c->max_backlog = opts->max_backlog ? opts->max_backlog : c->max_queued + WS_BACKLOG_SLACK;
	c->max_ctrl_per_s = opts->max_ctrl_per_s > 0 ? opts->max_ctrl_per_s
	    : WS_MAX_CTRL_PER_S_DEFAULT;
	c->write_stall_ms = opts->write_stall_ms > 0 ? opts->write_stall_ms
	    : WS_WRITE_STALL_MS_DEFAULT;
	snprintf(c->peer, sizeof(c->peer), "%s%s%s:%u", c->url.ipv6 ? "[" : "", c->url.host,
	    c->url.ipv6 ? "]" : "", (unsigned)c->url.port);

	/* Validate the header values now: a token with a newline is a config
	 * error to report at startup, not on every reconnect. */
	{
		char key[WS_KEY_LEN + 1], tmp[WS_UPGRADE_MAX_HDR];
		struct ws_upgrade_req rq = { &c->url, key, c->token, c->edge_id, c->site_id,
			c->client_version };
		memset(key, 'A', WS_KEY_LEN);
		key[WS_KEY_LEN] = '\0';
		if (ws_upgrade_build(&rq, tmp, sizeof(tmp), err, errlen) < 0)
			goto fail;
	}
	if (opts->pin_sha256 && *opts->pin_sha256) {
		if (!c->url.tls) {
			snprintf(err, errlen, "pin_sha256 is set but %s is not wss://", c->url_str);
			goto fail;
		}
		if (ws_tls_pin_parse(opts->pin_sha256, c->pin, err, errlen) != 0)
			goto fail;
		c->has_pin = true;
	}
	if (c->url.tls && (c->ssl_ctx = ws_tls_ctx_new(opts->ca_file, err, errlen)) == NULL)
		goto fail;
	/* Without an evdns_base libevent would resolve a name with a blocking
	 * getaddrinfo() and stall the whole worker on a slow DNS server. */
	if (c->dns == NULL && !host_is_numeric(c->url.host)) {
		c->own_dns = evdns_base_new(base, EVDNS_BASE_INITIALIZE_NAMESERVERS);
		if (c->own_dns == NULL) {
			snprintf(err, errlen, "ws client: cannot set up the DNS resolver "
			    "(/etc/resolv.conf)");
			goto fail;
		}
		c->dns = c->own_dns;
	}
	return c;
fail:
	ws_client_free(c);
	return NULL;
}

/* ---- API ---- */

int
ws_client_send_text(struct ws_client *c, const char *msg, size_t len)
{
	struct wslay_event_msg m = { WSLAY_TEXT_FRAME, (const uint8_t *)msg, len };
	size_t q;
	int r;

	if (c->state != WS_STATE_OPEN || c->ws == NULL) {
		errno = ENOTCONN;
		return -1;
	}
	q = wsc_backlog(c);
	if (len > c->max_queued || q + len + MSG_COST > c->max_queued) {
		c->send_refused = true;
		errno = ENOBUFS;
		return -1;
	}
	if ((r = wslay_event_queue_msg(c->ws, &m)) != 0) {
		errno = r == WSLAY_ERR_NOMEM ? ENOMEM : EPIPE;
		return -1;
	}
	/* Inside a callback wslay is busy; the outer handler flushes. */
	if (c->depth == 0)
		wsc_pump(c, false);
	else
		bufferevent_trigger(c->bev, EV_WRITE,
		    BEV_TRIG_IGNORE_WATERMARKS | BEV_TRIG_DEFER_CALLBACKS);
	return 0;
}

int
ws_client_ping(struct ws_client *c)
{
	struct wslay_event_msg m = { WSLAY_PING, NULL, 0 };

	if (c->state != WS_STATE_OPEN || c->ws == NULL) {
		errno = ENOTCONN;
		return -1;
	}
	if (wslay_event_queue_msg(c->ws, &m) != 0) {
		errno = ENOMEM;
		return -1;
	}
	if (c->depth == 0)
		wsc_pump(c, false);
	else
		bufferevent_trigger(c->bev, EV_WRITE,
		    BEV_TRIG_IGNORE_WATERMARKS | BEV_TRIG_DEFER_CALLBACKS);
	return 0;
}

const struct ws_client_stats *
ws_client_stats(const struct ws_client *c)
{
	return &c->stats;
}

void
ws_client_close(struct ws_client *c, uint16_t code, const char *reason)
{
	size_t rl = reason ? strlen(reason) : 0;

	switch (c->state) {
	case WS_STATE_IDLE:
	case WS_STATE_CLOSING:
		return;
	case WS_STATE_CONNECTING:
	case WS_STATE_UPGRADING:
		wsc_finish(c, "closed locally before the link was open%s%s", reason ? ": " : "",
		    reason ? reason : "");
		return;
	case WS_STATE_OPEN:
		break;
	}
	if (rl > 123)   /* a close frame payload is at most 125 bytes with the code */
		rl = 123;
	c->local_close = true;
	c->local_code = code;
	wsc_printable(c->local_reason, sizeof(c->local_reason),
	    (const uint8_t *)(reason ? reason : ""),
	    rl);
	if (wslay_event_queue_close(c->ws, code, (const uint8_t *)c->local_reason,
	    strlen(c->local_reason)) != 0) {
		wsc_finish(c, "closed locally: %u %s", (unsigned)code, c->local_reason);
		return;
	}
	wsc_enter_closing(c);
	if (c->depth == 0)
		wsc_pump(c, false);
	else
		bufferevent_trigger(c->bev, EV_WRITE,
		    BEV_TRIG_IGNORE_WATERMARKS | BEV_TRIG_DEFER_CALLBACKS);
}

enum ws_client_state
ws_client_state(const struct ws_client *c)
{
	return c->state;
}

int
ws_client_http_status(const struct ws_client *c)
{
	return c->http_status;
}

const char *
ws_client_last_error(const struct ws_client *c)
{
	return c->err;
}
