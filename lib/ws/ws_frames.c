/*
 * The open WebSocket link (ws_int.h): wslay's callbacks, fed one frame at a
 * time behind the control frame rate (frame_gate), messages handed to the
 * caller, the backlog kept under its cap, and wsc_pump() that runs wslay as
 * far as the buffers allow.
 */
#include "ws/ws_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <openssl/rand.h>

#include "event/event.h"
#include "log/log.h"

/* ---- wslay callbacks ---- */

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

void
wsc_printable(char *dst, size_t size, const uint8_t *s, size_t n)
{
	size_t j = 0;

	for (size_t i = 0; i < n && j + 1 < size; i++)
		dst[j++] = (s[i] >= 0x20 && s[i] < 0x7f) ? (char)s[i] : '?';
	dst[j] = '\0';
}

/* Every way into CLOSING arms the close deadline: a peer that stops
 * reading must not keep a half-closed link (and its buffers) forever. */
void
wsc_enter_closing(struct ws_client *c)
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
			log_warn("ws %s: ignored a %zu byte binary message", c->peer,
			    m->msg_length);
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
			wsc_printable(c->peer_reason, sizeof(c->peer_reason), m->msg + 2,
			    m->msg_length - 2);
		wsc_enter_closing(c);
		break;
	default:
		break;
	}
}

/* ---- the open link ---- */

/* ---- the open link ---- */

void
wsc_close_reason(struct ws_client *c, char *buf, size_t len)
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
		snprintf(buf, len, "message too big (over %zu bytes), closed with 1009",
		    c->max_msg);
	} else if (sent == WSLAY_CODE_INVALID_FRAME_PAYLOAD_DATA) {
		snprintf(buf, len,
		    "invalid UTF-8 in a text message from the peer, closed with 1007");
	} else if (sent != 0) {
		snprintf(buf, len, "protocol error from peer, closed with %u", (unsigned)sent);
	} else {
		snprintf(buf, len, "connection to %s lost", c->peer);
	}
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

/* What the peer has not taken yet, in memory terms: bytes, plus the cost of
 * each message in wslay's queue (an empty pong is 0 bytes to wslay). */
size_t
wsc_backlog(const struct ws_client *c)
{
	size_t n = ws_client_queued(c);

	if (c->ws != NULL)
		n += wslay_event_get_queued_msg_count(c->ws) * MSG_COST;
	return n;
}

void
wsc_drop_not_reading(struct ws_client *c, const char *how)
{
	c->stats.backlog_drops++;
	wsc_finish(c, "%s does not read what we send: %s, %zu bytes queued (cap %zu)", c->peer, how,
	    wsc_backlog(c), c->max_backlog);
}

static void
maybe_drain(struct ws_client *c)
{
	if (c->send_refused && c->state == WS_STATE_OPEN &&
	    wsc_backlog(c) <= c->max_queued / 2) {
		c->send_refused = false;
		if (c->cbs.on_drain)
			c->cbs.on_drain(c->arg);
	}
}

/* From the API (depth == 0) only the send path runs, and no user
 * callback. */
bool
wsc_pump(struct ws_client *c, bool do_read)
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
			wsc_finish(c, "websocket receive from %s failed (%d)", c->peer, r);
			return false;
		}
	}
	if (wsc_backlog(c) > c->max_backlog) {
		wsc_drop_not_reading(c, "backlog over the cap");
		return false;
	}
	if (wslay_event_want_write(c->ws)) {
		r = wslay_event_send(c->ws);
		if (r != 0) {
			wsc_finish(c, "websocket send to %s failed (%d)", c->peer, r);
			return false;
		}
	}
	if (!wslay_event_want_read(c->ws) && !wslay_event_want_write(c->ws)) {
		/* Both close frames exchanged (or reading shut on an error): wait
		 * until our last bytes, the close frame, reach the kernel. */
		struct evbuffer *out = bufferevent_get_output(c->bev);
		if (evbuffer_get_length(out) == 0) {
			wsc_close_reason(c, why, sizeof(why));
			wsc_finish(c, "%s", why);
			return false;
		}
		if (!c->flushing) {
			c->flushing = true;
			bufferevent_setwatermark(c->bev, EV_WRITE, 0, 0);
			wsc_enter_closing(c);
		}
		return false;
	}
	/* wslay stopped reading on its own (too big, protocol error, bad
	 * UTF-8) and queued a close: the link is on its way down. */
	if (!wslay_event_get_read_enabled(c->ws) || wslay_event_get_close_sent(c->ws))
		wsc_enter_closing(c);
	/* on_drain is a user callback: only from event handlers, never from
	 * inside ws_client_send_text() (write_cb will get there). */
	if (c->depth > 0)
		maybe_drain(c);
	return !c->dead && c->state != WS_STATE_IDLE;
}

int
wsc_open_link(struct ws_client *c)
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
		wsc_finish(c, "websocket to %s: out of memory", c->peer);
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
		wsc_finish(c, "websocket to %s: cannot arm the write timeout", c->peer);
		return -1;
	}
	c->ctrl_window_ms = ct_now_ms_mono();
	c->ctrl_in_window = 0;
	c->frame_left = 0;
	c->state = WS_STATE_OPEN;
	c->err[0] = '\0';
	return 0;
}

void
wsc_resume_cb(evutil_socket_t fd, short what, void *arg)
{
	struct ws_client *c = arg;

	c->read_paused = false;
	if (c->state != WS_STATE_OPEN && c->state != WS_STATE_CLOSING)
		return;
	wsc_enter(c);
	wsc_pump(c, true);   /* what waits in the input buffer: no new read event may come */
	wsc_leave(c);
}
