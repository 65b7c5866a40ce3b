/*
 * The cloud link's transport: libevent bufferevent (plain or OpenSSL),
 * hand-written upgrade (ws_upgrade.c), wslay for framing.
 *
 * States: IDLE -> CONNECTING -> UPGRADING -> OPEN -> CLOSING -> IDLE.
 * Every way back to IDLE goes through finish(): it tears the connection
 * down at once and schedules on_close from a separate event, so no user
 * callback ever runs inside teardown, inside an API call, or twice.
 *
 * Re-entrancy: each entry from libevent counts depth; ws_client_free() at
 * depth > 0 only marks the client dead and the outermost entry frees it.
 * wslay is never re-entered: sends requested from inside a callback are
 * queued and flushed when control returns here.
 *
 * Bounds (see ws_client.h): wslay queues a pong for every ping without
 * asking, one malloc'd message each, and its queue has no limit; a peer
 * flooding pings faster than it reads the pongs grew it without end. So
 * recv_cb feeds wslay one frame at a time and looks at each header first
 * (frame_gate): past the control frame rate it stops feeding for the rest
 * of the second. The backlog, with a per-message cost for wslay's queue, is
 * checked after every read; a write timeout on the bufferevent catches a
 * peer that takes nothing at all.
 */
#include "ws/ws_client.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/buffer.h>
#include <event2/dns.h>
#include <event2/event.h>
#include <event2/util.h>
#include <openssl/err.h>
#include <openssl/rand.h>
#include <wslay/wslay.h>

#include "event/event.h"
#include "log/log.h"
#include "ws/ws_tls.h"
#include "ws/ws_upgrade.h"
#include "ws/ws_url.h"

#ifndef CT_VERSION
#define CT_VERSION "0"
#endif

/* wslay hands frames to the bufferevent until this much is waiting for the
 * kernel; the rest stays queued in wslay (and counts in ws_client_queued). */
#define OUT_HIGH        (256 * 1024)
#define OUT_LOW         (64 * 1024)
#define CLOSE_WAIT_MS   2000
#define READ_CHUNK      4096
#define READ_HIGH       (256 * 1024)
/* What one message queued in wslay costs beyond its payload: its struct,
 * the queue entry, malloc's headers, and the frame header on the wire. */
#define MSG_COST        64

struct ws_client {
	struct event_base *base;
	struct evdns_base *dns;
	struct evdns_base *own_dns;           /* made here when the caller gave none */
	struct ws_client_cbs cbs;
	void *arg;

	char *url_str, *token, *edge_id, *site_id, *client_version;
	int connect_timeout_ms;
	size_t max_msg, max_queued, max_backlog;
	int max_ctrl_per_s, write_stall_ms;
	struct ws_url url;
	char peer[WS_URL_HOST_MAX + 16];      /* "host:port" for messages */
	SSL_CTX *ssl_ctx;
	unsigned char pin[WS_PIN_LEN];
	bool has_pin;

	enum ws_client_state state;
	struct bufferevent *bev;
	wslay_event_context_ptr ws;
	struct ws_upgrade_parser *up;
	struct event *timer;                  /* connect deadline, then close deadline */
	struct event *later;                  /* delivers on_close */
	struct event *resume;                 /* ends a pause of reading (control rate) */
	char key[WS_KEY_LEN + 1];

	bool close_pending;                   /* on_close owed from `later` */
	bool local_close;                     /* ws_client_close started it */
	uint16_t local_code;
	char local_reason[124];
	bool peer_closed;                     /* close frame received */
	bool peer_closed_first;               /* ... before we sent ours */
	uint16_t peer_code;
	char peer_reason[124];
	bool send_refused;                    /* on_drain owed */
	bool flushing;                        /* closed; waiting for output to drain */
	bool teardown_pending;                /* finish() ran inside a callback */

	char *msgbuf;                         /* NUL-terminated copy for on_text */
	size_t msgcap;

	int64_t ctrl_window_ms;               /* monotonic start of the current second */
	int ctrl_in_window;
	bool read_paused;                     /* control rate reached: wslay gets no bytes */
	uint64_t frame_left;                  /* bytes of the current frame not yet fed */
	struct ws_client_stats stats;

	int depth;
	bool dead;
	int http_status;                      /* of a refused upgrade, else 0 */
	char err[WS_ERR_MAX];
};

static void finish(struct ws_client *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
set_err(struct ws_client *c, const char *msg)
{
	snprintf(c->err, sizeof(c->err), "%s", msg);
}

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

static void later_cb(evutil_socket_t fd, short what, void *arg);
static void timer_cb(evutil_socket_t fd, short what, void *arg);
static void resume_cb(evutil_socket_t fd, short what, void *arg);

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
	c->timer = evtimer_new(base, timer_cb, c);
	c->later = event_new(base, -1, 0, later_cb, c);
	c->resume = evtimer_new(base, resume_cb, c);
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

/* ---- teardown and the single exit path ---- */

static void
teardown(struct ws_client *c)
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

static void
finish(struct ws_client *c, const char *fmt, ...)
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
		teardown(c);
	c->state = WS_STATE_IDLE;
	c->close_pending = true;
	event_active(c->later, 0, 0);
}

static void
enter(struct ws_client *c)
{
	c->depth++;
}

/* True if the client is gone (freed, or being freed): the caller returns. */
static bool
leave(struct ws_client *c)
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
		teardown(c);
	}
	return false;
}

static void
later_cb(evutil_socket_t fd, short what, void *arg)
{
	struct ws_client *c = arg;
	char reason[WS_ERR_MAX];

	if (!c->close_pending)
		return;
	c->close_pending = false;
	/* A copy: on_close may reconnect, which resets c->err. */
	memcpy(reason, c->err, sizeof(reason));
	enter(c);
	if (c->cbs.on_close)
		c->cbs.on_close(reason, c->arg);
	leave(c);
}

/* ---- wslay callbacks ---- */

/* Starts a new second of the control frame count when the last is over. */
static void
ctrl_window_roll(struct ws_client *c, int64_t now)
{
	if (now - c->ctrl_window_ms < 1000)
		return;
	c->ctrl_window_ms = now;
	c->ctrl_in_window = 0;
}

/* Stops feeding wslay until the current second is over. */
static void
ctrl_pause(struct ws_client *c, int64_t now)
{
	int64_t left = c->ctrl_window_ms + 1000 - now;
	struct timeval tv;

	if (left < 1)
		left = 1;
	tv.tv_sec = (time_t)(left / 1000);
	tv.tv_usec = (suseconds_t)(left % 1000) * 1000;
	if (evtimer_add(c->resume, &tv) != 0)
		return;       /* cannot time the pause: better unpaused than stuck */
	c->read_paused = true;
	c->stats.ctrl_limited++;
	log_warn("ws %s: over %d control frames in a second; not reading until the second is over",
	    c->peer, c->max_ctrl_per_s);
}

/* At a frame boundary: looks at the next frame's header in the input (RFC
 * 6455 5.2) and returns its whole length (header + payload) in *len: 1 go
 * on, 0 the header is not all here yet or a control frame is over the rate.
 * wslay validates the frame itself; this only needs its length and kind. */
static int
frame_gate(struct ws_client *c, struct evbuffer *in, uint64_t *len)
{
	uint8_t h[14];
	size_t have = evbuffer_get_length(in), hl = 2;
	uint64_t plen;
	int64_t now;

	if (have < 2)
		return 0;
	evbuffer_copyout(in, h, have < sizeof(h) ? have : sizeof(h));
	plen = h[1] & 0x7f;
	if (plen == 126)
		hl += 2;
	else if (plen == 127)
		hl += 8;
	if (h[1] & 0x80)
		hl += 4;      /* a masked server frame: wslay refuses it */
	if (have < hl)
		return 0;
	if (plen == 126) {
		plen = (uint64_t)h[2] << 8 | h[3];
	} else if (plen == 127) {
		plen = 0;
		for (int i = 2; i < 10; i++)
			plen = plen << 8 | h[i];
	}
	if (h[0] & 0x08) {            /* control frame: ping, pong, close */
		now = ct_now_ms_mono();
		ctrl_window_roll(c, now);
		if (c->ctrl_in_window >= c->max_ctrl_per_s) {
			ctrl_pause(c, now);
			return 0;
		}
		c->ctrl_in_window++;
		c->stats.ctrl_frames++;
	}
	*len = plen > UINT64_MAX - hl ? UINT64_MAX : plen + hl;
	return 1;
}

/* wslay parses whatever it was given, past any pause of ours, so it gets
 * one frame at a time: every header passes frame_gate first, and wslay
 * answers at most max_ctrl_per_s pings a second with a pong. */
static ssize_t
recv_cb(wslay_event_context_ptr ctx, uint8_t *buf, size_t len, int flags, void *user)
{
	struct ws_client *c = user;
	struct evbuffer *in;
	int n;

	if (c->dead || c->bev == NULL || c->read_paused)
		goto wouldblock;
	in = bufferevent_get_input(c->bev);
	if (c->frame_left == 0 && frame_gate(c, in, &c->frame_left) == 0)
		goto wouldblock;
	if (len > c->frame_left)
		len = (size_t)c->frame_left;
	n = evbuffer_remove(in, buf, len);
	if (n <= 0)
		goto wouldblock;
	c->frame_left -= (uint64_t)n;
	return n;
wouldblock:
	wslay_event_set_error(ctx, WSLAY_ERR_WOULDBLOCK);
	return -1;
}

static ssize_t
send_cb(wslay_event_context_ptr ctx, const uint8_t *data, size_t len, int flags, void *user)
{
	struct ws_client *c = user;
	struct evbuffer *out;

	if (c->bev == NULL) {
		wslay_event_set_error(ctx, WSLAY_ERR_CALLBACK_FAILURE);
		return -1;
	}
	out = bufferevent_get_output(c->bev);
	if (evbuffer_get_length(out) >= OUT_HIGH) {
		wslay_event_set_error(ctx, WSLAY_ERR_WOULDBLOCK);
		return -1;
	}
	if (evbuffer_add(out, data, len) != 0) {
		wslay_event_set_error(ctx, WSLAY_ERR_CALLBACK_FAILURE);
		return -1;
	}
	return (ssize_t)len;
}

static int
genmask_cb(wslay_event_context_ptr ctx, uint8_t *buf, size_t len, void *user)
{
	if (RAND_bytes(buf, (int)len) != 1) {
		wslay_event_set_error(ctx, WSLAY_ERR_CALLBACK_FAILURE);
		return -1;
	}
	return 0;
}

static void
printable(char *dst, size_t size, const uint8_t *s, size_t n)
{
	size_t j = 0;

	for (size_t i = 0; i < n && j + 1 < size; i++)
		dst[j++] = (s[i] >= 0x20 && s[i] < 0x7f) ? (char)s[i] : '?';
	dst[j] = '\0';
}

/* Every way into CLOSING arms the close deadline: a peer that stops
 * reading must not keep a half-closed link (and its buffers) forever. */
static void
enter_closing(struct ws_client *c)
{
	struct timeval tv = { CLOSE_WAIT_MS / 1000, (CLOSE_WAIT_MS % 1000) * 1000 };

	if (c->state == WS_STATE_CLOSING)
		return;
	c->state = WS_STATE_CLOSING;
	evtimer_add(c->timer, &tv);
}

/* A NUL-terminated copy of one whole message in c->msgbuf, for on_text /
 * on_binary; false (logged) when memory runs out. */
static bool
copy_msg(struct ws_client *c, const struct wslay_event_on_msg_recv_arg *m)
{
	if (m->msg_length + 1 > c->msgcap) {
		char *nb = realloc(c->msgbuf, m->msg_length + 1);
		if (nb == NULL) {
			log_err("ws %s: out of memory for a %zu byte message, dropped",
			    c->peer, m->msg_length);
			return false;
		}
		c->msgbuf = nb;
		c->msgcap = m->msg_length + 1;
	}
	memcpy(c->msgbuf, m->msg, m->msg_length);
	c->msgbuf[m->msg_length] = '\0';
	return true;
}

static void
msg_cb(wslay_event_context_ptr ctx, const struct wslay_event_on_msg_recv_arg *m, void *user)
{
	struct ws_client *c = user;

	if (c->dead || c->state == WS_STATE_IDLE)
		return;
	switch (m->opcode) {
	case WSLAY_TEXT_FRAME:
		if (c->state != WS_STATE_OPEN || c->cbs.on_text == NULL)
			return;
		if (copy_msg(c, m))
			c->cbs.on_text(c->msgbuf, m->msg_length, c->arg);
		break;
	case WSLAY_BINARY_FRAME:
		/* The cloud contract is JSON text; some clouds send it in binary
		 * frames. The caller judges the bytes; without on_binary they are
		 * the peer's mistake, not worth dropping the link over. */
		if (c->state != WS_STATE_OPEN)
			return;
		if (c->cbs.on_binary == NULL) {
			log_warn("ws %s: ignored a %zu byte binary message", c->peer, m->msg_length);
			return;
		}
		if (copy_msg(c, m))
			c->cbs.on_binary(c->msgbuf, m->msg_length, c->arg);
		break;
	case WSLAY_PONG:
		if (c->cbs.on_pong)
			c->cbs.on_pong(c->arg);
		break;
	case WSLAY_CONNECTION_CLOSE:
		c->peer_closed = true;
		/* wslay echoes the peer's code in its reply, so "who closed
		 * first" is what tells a peer's 1009 from our own. */
		c->peer_closed_first = !wslay_event_get_close_sent(ctx);
		c->peer_code = m->status_code;
		if (m->msg_length > 2)
			printable(c->peer_reason, sizeof(c->peer_reason), m->msg + 2,
			    m->msg_length - 2);
		enter_closing(c);
		break;
	default:
		break;
	}
}

/* ---- the open link ---- */

static void
close_reason(struct ws_client *c, char *buf, size_t len)
{
	uint16_t sent = c->ws ? wslay_event_get_status_code_sent(c->ws) : 0;

	if (c->peer_closed && c->peer_closed_first) {
		if (c->peer_code == 0)
			snprintf(buf, len, "closed by peer (no status code)");
		else
			snprintf(buf, len, "closed by peer: %u%s%s", (unsigned)c->peer_code,
			    *c->peer_reason ? " " : "", c->peer_reason);
	} else if (c->local_close) {
		snprintf(buf, len, "closed locally: %u%s%s", (unsigned)c->local_code,
		    *c->local_reason ? " " : "", c->local_reason);
	} else if (sent == WSLAY_CODE_MESSAGE_TOO_BIG) {
		/* wslay checks the size before announcing the frame, so the
		 * exact size of the offending message is not known here. */
		snprintf(buf, len, "message too big (over %zu bytes), closed with 1009", c->max_msg);
	} else if (sent == WSLAY_CODE_INVALID_FRAME_PAYLOAD_DATA) {
		snprintf(buf, len, "invalid UTF-8 in a text message from the peer, closed with 1007");
	} else if (sent != 0) {
		snprintf(buf, len, "protocol error from peer, closed with %u", (unsigned)sent);
	} else {
		snprintf(buf, len, "connection to %s lost", c->peer);
	}
}

/* What the peer has not taken yet, in memory terms: bytes, plus the cost of
 * each message in wslay's queue (an empty pong is 0 bytes to wslay). */
static size_t
backlog(const struct ws_client *c)
{
	size_t n = ws_client_queued(c);

	if (c->ws != NULL)
		n += wslay_event_get_queued_msg_count(c->ws) * MSG_COST;
	return n;
}

static void
drop_not_reading(struct ws_client *c, const char *how)
{
	c->stats.backlog_drops++;
	finish(c, "%s does not read what we send: %s, %zu bytes queued (cap %zu)", c->peer, how,
	    backlog(c), c->max_backlog);
}

static void
maybe_drain(struct ws_client *c)
{
	if (c->send_refused && c->state == WS_STATE_OPEN &&
	    backlog(c) <= c->max_queued / 2) {
		c->send_refused = false;
		if (c->cbs.on_drain)
			c->cbs.on_drain(c->arg);
	}
}

/* Runs wslay as far as the buffers allow. Returns false if the client
 * finished, died or is only flushing its close (caller returns). From the
 * API (depth == 0) only the send path runs, and no user callback. */
static bool
pump(struct ws_client *c, bool do_read)
{
	char why[WS_ERR_MAX];
	int r;

	if (c->ws == NULL || c->state == WS_STATE_IDLE)
		return false;
	if (do_read && wslay_event_want_read(c->ws)) {
		r = wslay_event_recv(c->ws);
		if (c->dead || c->state == WS_STATE_IDLE)
			return false;
		if (r != 0) {
			finish(c, "websocket receive from %s failed (%d)", c->peer, r);
			return false;
		}
	}
	if (backlog(c) > c->max_backlog) {
		drop_not_reading(c, "backlog over the cap");
		return false;
	}
	if (wslay_event_want_write(c->ws)) {
		r = wslay_event_send(c->ws);
		if (r != 0) {
			finish(c, "websocket send to %s failed (%d)", c->peer, r);
			return false;
		}
	}
	if (!wslay_event_want_read(c->ws) && !wslay_event_want_write(c->ws)) {
		/* Both close frames exchanged (or reading shut on an error): wait
		 * until our last bytes, the close frame, reach the kernel. */
		struct evbuffer *out = bufferevent_get_output(c->bev);
		if (evbuffer_get_length(out) == 0) {
			close_reason(c, why, sizeof(why));
			finish(c, "%s", why);
			return false;
		}
		if (!c->flushing) {
			c->flushing = true;
			bufferevent_setwatermark(c->bev, EV_WRITE, 0, 0);
			enter_closing(c);
		}
		return false;
	}
	/* wslay stopped reading on its own (too big, protocol error, bad
	 * UTF-8) and queued a close: the link is on its way down. */
	if (!wslay_event_get_read_enabled(c->ws) || wslay_event_get_close_sent(c->ws))
		enter_closing(c);
	/* on_drain is a user callback: only from event handlers, never from
	 * inside ws_client_send_text() (write_cb will get there). */
	if (c->depth > 0)
		maybe_drain(c);
	return !c->dead && c->state != WS_STATE_IDLE;
}

static int
open_link(struct ws_client *c)
{
	struct wslay_event_callbacks wcb = {
		.recv_callback = recv_cb,
		.send_callback = send_cb,
		.genmask_callback = genmask_cb,
		.on_msg_recv_callback = msg_cb,
	};
	struct timeval stall = { c->write_stall_ms / 1000, (c->write_stall_ms % 1000) * 1000 };

	if (wslay_event_context_client_init(&c->ws, &wcb, c) != 0) {
		c->ws = NULL;
		finish(c, "websocket to %s: out of memory", c->peer);
		return -1;
	}
	wslay_event_config_set_max_recv_msg_length(c->ws, c->max_msg);
	free(c->up);
	c->up = NULL;
	evtimer_del(c->timer);
	bufferevent_setwatermark(c->bev, EV_WRITE, OUT_LOW, 0);
	/* libevent times the write side only while output waits: a peer
	 * that takes nothing for this long is not reading. */
	if (bufferevent_set_timeouts(c->bev, NULL, &stall) != 0) {
		finish(c, "websocket to %s: cannot arm the write timeout", c->peer);
		return -1;
	}
	c->ctrl_window_ms = ct_now_ms_mono();
	c->ctrl_in_window = 0;
	c->frame_left = 0;
	c->state = WS_STATE_OPEN;
	c->err[0] = '\0';
	return 0;
}

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
			finish(c, "reading upgrade response from %s failed", c->peer);
			return;
		}
		r = ws_upgrade_parse(c->up, chunk, (size_t)n, &used, why, sizeof(why));
		evbuffer_drain(in, used);
		if (r == WS_UPGRADE_ERROR) {
			/* The caller decides what a 401/403/404 means (a refused
			 * identity); a 101 with bad headers is not a refusal. */
			if (c->up->status > 0 && c->up->status != 101)
				c->http_status = c->up->status;
			finish(c, "%s", why);
			return;
		}
		if (r == WS_UPGRADE_DONE) {
			if (open_link(c) != 0)
				return;
			if (c->cbs.on_open)
				c->cbs.on_open(c->arg);
			if (c->dead || c->state != WS_STATE_OPEN)
				return;
			/* Frames that arrived with the 101 are still in `in`. */
			pump(c, true);
			return;
		}
	}
}

static void
read_cb(struct bufferevent *bev, void *arg)
{
	struct ws_client *c = arg;

	enter(c);
	if (c->state == WS_STATE_UPGRADING)
		handle_upgrade(c);
	else if (c->state == WS_STATE_OPEN || c->state == WS_STATE_CLOSING)
		pump(c, true);
	else if (c->bev != NULL)   /* bytes before our request: protocol violation */
		finish(c, "%s sent data before the upgrade request", c->peer);
	leave(c);
}

static void
write_cb(struct bufferevent *bev, void *arg)
{
	struct ws_client *c = arg;

	enter(c);
	if (c->flushing) {
		char why[WS_ERR_MAX];
		if (evbuffer_get_length(bufferevent_get_output(bev)) == 0) {
			close_reason(c, why, sizeof(why));
			finish(c, "%s", why);
		}
	} else if (c->state == WS_STATE_OPEN || c->state == WS_STATE_CLOSING) {
		pump(c, false);
	}
	leave(c);
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
			finish(c, "%s", ssl ? why : "pin check: no TLS session");
			return;
		}
	}
	n = ws_upgrade_build(&rq, req, sizeof(req), why, sizeof(why));
	if (n < 0) {
		finish(c, "%s", why);
		return;
	}
	if ((c->up = malloc(sizeof(*c->up))) == NULL) {
		finish(c, "upgrade to %s: out of memory", c->peer);
		return;
	}
	ws_upgrade_parser_init(c->up, c->key);
	if (bufferevent_write(c->bev, req, (size_t)n) != 0) {
		finish(c, "upgrade to %s: cannot queue request", c->peer);
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

	enter(c);
	if (what & BEV_EVENT_CONNECTED) {
		if (c->state == WS_STATE_CONNECTING)
			send_upgrade(c);
		goto out;
	}
	if (c->state == WS_STATE_CONNECTING) {
		int dns_err = bufferevent_socket_get_dns_error(bev);
		char why[WS_ERR_MAX];
		if (dns_err != 0) {
			finish(c, "resolve %s: %s", c->url.host, evutil_gai_strerror(dns_err));
		} else if (c->url.tls) {
			unsigned long e = bufferevent_get_openssl_error(bev);
			if (what & BEV_EVENT_EOF)
				sock_err = 0;
			ws_tls_describe_failure(bufferevent_openssl_get_ssl(bev), e, sock_err,
			    c->peer, why, sizeof(why));
			finish(c, "%s", why);
		} else if (what & BEV_EVENT_EOF || sock_err == 0) {
			finish(c, "connect %s: connection closed", c->peer);
		} else {
			finish(c, "connect %s: %s", c->peer, evutil_socket_error_to_string(sock_err));
		}
		goto out;
	}
	if (c->state == WS_STATE_UPGRADING) {
		/* A final chunk may still sit in the input buffer. */
		handle_upgrade(c);
		if (c->dead || c->state != WS_STATE_UPGRADING)
			goto out;
		if (what & BEV_EVENT_EOF)
			finish(c, "%s closed the connection during the upgrade", c->peer);
		else
			finish(c, "upgrade with %s: %s", c->peer,
			    sock_err ? evutil_socket_error_to_string(sock_err) : "read error");
		goto out;
	}
	if (c->state == WS_STATE_OPEN || c->state == WS_STATE_CLOSING) {
		char why[WS_ERR_MAX];
		if (what & BEV_EVENT_TIMEOUT) {
			char how[64];
			snprintf(how, sizeof(how), "nothing written for %d ms", c->write_stall_ms);
			drop_not_reading(c, how);
			goto out;
		}
		if (!pump(c, true) && (c->dead || c->state == WS_STATE_IDLE))
			goto out;
		if (c->state == WS_STATE_IDLE)
			goto out;
		if (c->ws && (wslay_event_get_close_received(c->ws) ||
		    wslay_event_get_close_sent(c->ws))) {
			close_reason(c, why, sizeof(why));
			finish(c, "%s", why);
		} else if (what & BEV_EVENT_EOF) {
			finish(c, "connection to %s lost: closed without a close frame", c->peer);
		} else {
			unsigned long e = c->url.tls ? bufferevent_get_openssl_error(bev) : 0;
			if (e != 0) {
				char s[160];
				ERR_error_string_n(e, s, sizeof(s));
				finish(c, "connection to %s lost: %s", c->peer, s);
			} else {
				finish(c, "connection to %s lost: %s", c->peer,
				    sock_err ? evutil_socket_error_to_string(sock_err) : "error");
			}
		}
	}
out:
	leave(c);
}

static void
timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct ws_client *c = arg;
	char why[WS_ERR_MAX];

	enter(c);
	switch (c->state) {
	case WS_STATE_CONNECTING:
		/* For wss:// the TCP connect and the TLS handshake are one step to
		 * libevent; a peer that stalls mid-handshake ends here too. */
		finish(c, "connect %s%s: timed out after %d ms", c->peer,
		    c->url.tls ? " (TCP+TLS)" : "", c->connect_timeout_ms);
		break;
	case WS_STATE_UPGRADING:
		finish(c, "upgrade with %s: no complete response after %d ms", c->peer,
		    c->connect_timeout_ms);
		break;
	case WS_STATE_OPEN:
	case WS_STATE_CLOSING:
		close_reason(c, why, sizeof(why));
		finish(c, "%s (peer did not complete the close)", why);
		break;
	case WS_STATE_IDLE:
		break;
	}
	leave(c);
}

/* ---- API ---- */

int
ws_client_connect(struct ws_client *c)
{
	struct timeval tv = { c->connect_timeout_ms / 1000, (c->connect_timeout_ms % 1000) * 1000 };
	int opt = BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS;
	char why[WS_ERR_MAX];

	if (c->state != WS_STATE_IDLE || c->close_pending) {
		set_err(c, "connect: already connected or closing");
		return -1;
	}
	c->local_close = c->peer_closed = c->peer_closed_first = false;
	c->send_refused = c->flushing = false;
	c->local_code = c->peer_code = 0;
	c->local_reason[0] = c->peer_reason[0] = '\0';
	c->err[0] = '\0';
	c->http_status = 0;
	if (ws_upgrade_make_key(c->key) != 0) {
		set_err(c, "connect: random number generator failed");
		return -1;
	}
	if (c->url.tls) {
		SSL *ssl = ws_tls_ssl_new(c->ssl_ctx, c->url.host, why, sizeof(why));
		if (ssl == NULL) {
			set_err(c, why);
			return -1;
		}
		c->bev = bufferevent_openssl_socket_new(c->base, -1, ssl,
		    BUFFEREVENT_SSL_CONNECTING, opt);
		if (c->bev == NULL) {
			SSL_free(ssl);
			set_err(c, "connect: cannot create TLS bufferevent");
			return -1;
		}
		/* Many servers drop TCP without close_notify after the WebSocket
		 * close; the close frames already made the end explicit. */
		bufferevent_openssl_set_allow_dirty_shutdown(c->bev, 1);
	} else if ((c->bev = bufferevent_socket_new(c->base, -1, opt)) == NULL) {
		set_err(c, "connect: cannot create bufferevent");
		return -1;
	}
	bufferevent_setcb(c->bev, read_cb, write_cb, event_cb, c);
	/* wslay drains the input while it wants to read; after it stops
	 * (close, too big) a peer that keeps sending fills at most this much
	 * before libevent stops reading. */
	bufferevent_setwatermark(c->bev, EV_READ, 0, READ_HIGH);
	if (bufferevent_enable(c->bev, EV_READ | EV_WRITE) != 0 || evtimer_add(c->timer, &tv) != 0) {
		teardown(c);
		set_err(c, "connect: cannot arm events");
		return -1;
	}
	c->state = WS_STATE_CONNECTING;
	if (bufferevent_socket_connect_hostname(c->bev, c->dns, AF_UNSPEC, c->url.host,
	    c->url.port) != 0) {
		/* libevent has queued (deferred) an error event in some of these
		 * cases; finish() makes the outcome one on_close either way. */
		finish(c, "connect %s: cannot start (%s)", c->peer,
		    evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()));
	}
	return 0;
}

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
	q = backlog(c);
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
		pump(c, false);
	else
		bufferevent_trigger(c->bev, EV_WRITE, BEV_TRIG_IGNORE_WATERMARKS | BEV_TRIG_DEFER_CALLBACKS);
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
		pump(c, false);
	else
		bufferevent_trigger(c->bev, EV_WRITE, BEV_TRIG_IGNORE_WATERMARKS | BEV_TRIG_DEFER_CALLBACKS);
	return 0;
}

static void
resume_cb(evutil_socket_t fd, short what, void *arg)
{
	struct ws_client *c = arg;

	c->read_paused = false;
	if (c->state != WS_STATE_OPEN && c->state != WS_STATE_CLOSING)
		return;
	enter(c);
	pump(c, true);   /* what waits in the input buffer: no new read event may come */
	leave(c);
}

const struct ws_client_stats *
ws_client_stats(const struct ws_client *c)
{
	return &c->stats;
}

size_t
ws_client_queued(const struct ws_client *c)
{
	size_t n = 0;

	if (c->bev != NULL)
		n += evbuffer_get_length(bufferevent_get_output(c->bev));
	if (c->ws != NULL)
		n += wslay_event_get_queued_msg_length(c->ws);
	return n;
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
		finish(c, "closed locally before the link was open%s%s", reason ? ": " : "",
		    reason ? reason : "");
		return;
	case WS_STATE_OPEN:
		break;
	}
	if (rl > 123)   /* a close frame payload is at most 125 bytes with the code */
		rl = 123;
	c->local_close = true;
	c->local_code = code;
	printable(c->local_reason, sizeof(c->local_reason), (const uint8_t *)(reason ? reason : ""),
	    rl);
	if (wslay_event_queue_close(c->ws, code, (const uint8_t *)c->local_reason,
	    strlen(c->local_reason)) != 0) {
		finish(c, "closed locally: %u %s", (unsigned)code, c->local_reason);
		return;
	}
	enter_closing(c);
	if (c->depth == 0)
		pump(c, false);
	else
		bufferevent_trigger(c->bev, EV_WRITE, BEV_TRIG_IGNORE_WATERMARKS | BEV_TRIG_DEFER_CALLBACKS);
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
	teardown(c);
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
