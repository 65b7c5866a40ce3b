/*
 * The WebSocket client's insides (ws_client.h is its interface), shared by
 * its files; each calls only the ones below it:
 *   ws_client.c  the API: the client made, messages and pings queued, a
 *                close asked for, its state
 *   ws_conn.c    the connection: connect, TLS and the pin, the upgrade,
 *                libevent's callbacks and the deadlines
 *   ws_frames.c  the open link: wslay's callbacks, the control frame rate,
 *                the backlog bounds, pump() that runs wslay
 *   ws_life.c    the single way down (finish), re-entrancy (enter/leave),
 *                on_close delivered from its own event, the client freed
 *
 * The transport: libevent bufferevent (plain or OpenSSL), hand-written
 * upgrade (ws_upgrade.c), wslay for framing.
 *
 * States: IDLE -> CONNECTING -> UPGRADING -> OPEN -> CLOSING -> IDLE.
 * Every way back to IDLE goes through wsc_finish(): it tears the connection
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
#ifndef CT_WS_INT_H
#define CT_WS_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <event2/dns.h>
#include <event2/event.h>
#include <openssl/ssl.h>
#include <wslay/wslay.h>

#include "ws/ws_client.h"
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

/* ws_conn.c */
void wsc_timer_cb(evutil_socket_t fd, short what, void *arg);

/* ws_frames.c */
/* Runs wslay as far as the buffers allow; false if the client finished,
 * died or is only flushing its close (the caller returns). */
bool wsc_pump(struct ws_client *c, bool do_read);
int  wsc_open_link(struct ws_client *c);
void wsc_enter_closing(struct ws_client *c);
void wsc_close_reason(struct ws_client *c, char *buf, size_t len);
size_t wsc_backlog(const struct ws_client *c);
void wsc_drop_not_reading(struct ws_client *c, const char *how);
void wsc_printable(char *dst, size_t size, const uint8_t *s, size_t n);
void wsc_resume_cb(evutil_socket_t fd, short what, void *arg);

/* ws_life.c */
void wsc_set_err(struct ws_client *c, const char *msg);
void wsc_teardown(struct ws_client *c);
void wsc_finish(struct ws_client *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void wsc_enter(struct ws_client *c);
/* True if the client is gone (freed, or being freed): the caller returns. */
bool wsc_leave(struct ws_client *c);
void wsc_later_cb(evutil_socket_t fd, short what, void *arg);

#endif
