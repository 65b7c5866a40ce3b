/*
 * WebSocket client on libevent + wslay (+ OpenSSL for wss://). Its files:
 * ws_int.h; beside it ws_url.c (URLs), ws_tls.c (TLS rules and the pin),
 * ws_upgrade.c (the upgrade request and its answer).
 *
 * One struct ws_client is one connection attempt and, if it succeeds, one
 * open link. Life cycle:
 *
 *   ws_client_new()  -> ws_client_connect()  -> [DNS, TCP, TLS, upgrade]
 *       -> on_open()  -> on_text()/on_pong() ...  -> on_close(reason)
 *
 * on_close is called exactly once per ws_client_connect() after it returned 0:
 * for a failed connect (DNS, TCP, TLS, pin, refused upgrade, timeout), for a
 * close by either side, for a protocol error or an oversized message. After
 * on_close the client is idle; the caller reconnects by calling
 * ws_client_connect() again (after its own backoff) or frees it.
 * ws_client_last_error() holds the reason until the next connect.
 *
 * Re-entrancy: every callback may call any ws_client_* function on its own
 * client, including ws_client_free() and ws_client_close(); the free is
 * deferred until the callback returns to this module. No callback is invoked
 * from inside ws_client_new/connect/send_text/ping/close/free: they only queue
 * work and report failure by return value.
 *
 * Bounds against a hostile peer: wslay answers every ping with a pong by
 * itself, so control frames (ping, pong, close) are read at most
 * max_ctrl_per_s a second: past that the client stops reading until the
 * second is over (the peer's bytes wait in its own socket). A peer that does
 * not read what is written to it is dropped when the backlog (bytes queued,
 * with a per-frame cost for what wslay queues, pongs included) passes
 * max_backlog, or when nothing could be written for write_stall_ms.
 *
 * Secrets: the token is sent in "Authorization: Bearer" and never logged nor
 * copied into an error message.
 */
#ifndef CT_WS_CLIENT_H
#define CT_WS_CLIENT_H

#include <stddef.h>
#include <stdint.h>

struct event_base;
struct evdns_base;
struct ws_client;

#define WS_CONNECT_TIMEOUT_MS_DEFAULT 10000
#define WS_MAX_MSG_DEFAULT            (1024 * 1024)
#define WS_MAX_QUEUED_DEFAULT         (8 * 1024 * 1024)
#define WS_MAX_CTRL_PER_S_DEFAULT     50
#define WS_BACKLOG_SLACK              (256 * 1024)  /* max_backlog default: max_queued + this */
#define WS_WRITE_STALL_MS_DEFAULT     60000
#define WS_ERR_MAX                    256

struct ws_client_opts {
	const char *url;            /* ws://host[:port]/path or wss://; IPv6 as [::1] */
	const char *token;          /* NULL or "": no Authorization header */
	const char *ca_file;        /* wss: PEM CA bundle; NULL: system CA store */
	const char *pin_sha256;     /* wss: SHA-256 of the leaf's DER SPKI, base64 (44
	                               chars) or hex (64 chars, ':' allowed); NULL: none */
	const char *edge_id;        /* NULL or "": no X-Edge-Id header */
	const char *site_id;        /* NULL or "": no X-Site-Id header */
	const char *client_version; /* X-Client-Version; NULL: CT_VERSION */
	int connect_timeout_ms;     /* DNS+TCP+TLS+upgrade; <= 0: default 10 s */
	size_t max_msg;             /* largest message accepted from the peer; a bigger
	                               one closes the link with 1009; 0: 1 MiB */
	size_t max_queued;          /* ws_client_send_text refuses when the backlog (bytes
	                               queued plus 64 per message still in wslay) would
	                               exceed this; 0: 8 MiB */
	int max_ctrl_per_s;         /* control frames read per second before reading
	                               pauses until the second is over; <= 0: 50 */
	size_t max_backlog;         /* the peer is dropped when the backlog passes this;
	                               0: max_queued + 256 KiB */
	int write_stall_ms;         /* ... or when no byte could be written for this
	                               long while some wait; <= 0: 60 s */
};
/* All strings are copied by ws_client_new(). */

struct ws_client_cbs {
	void (*on_open)(void *arg);                 /* upgrade verified, link usable */
	void (*on_text)(const char *msg, size_t len, void *arg); /* one whole text
	                    message; msg is NUL-terminated (msg[len] == 0) for
	                    convenience, valid only during the call */
	void (*on_close)(const char *reason, void *arg); /* once per connect; reason
	                    is the same text as ws_client_last_error() */
	void (*on_pong)(void *arg);                 /* a pong frame arrived (may be NULL) */
	void (*on_drain)(void *arg);                /* queued bytes fell below half of
	                    max_queued after a send was refused (may be NULL) */
	void (*on_binary)(const char *msg, size_t len, void *arg); /* one whole
	                    binary message, as on_text (NUL added, bytes
	                    unchecked); NULL: binary messages are logged and
	                    dropped */
};

enum ws_client_state {
	WS_STATE_IDLE = 0,  /* never connected, or closed: ws_client_connect() allowed */
	WS_STATE_CONNECTING,/* DNS + TCP (+ TLS) */
	WS_STATE_UPGRADING, /* request sent, waiting for 101 */
	WS_STATE_OPEN,      /* on_open was called */
	WS_STATE_CLOSING,   /* close frame sent or received, waiting for the other side */
};

/* Returns NULL and fills err on a bad URL, bad pin, unreadable ca_file, a
 * header value with a control character, or allocation failure. dns may be
 * NULL: for a host name the client then makes its own evdns_base from
 * /etc/resolv.conf (never a blocking getaddrinfo). */
struct ws_client *ws_client_new(struct event_base *base, struct evdns_base *dns,
    const struct ws_client_opts *opts, const struct ws_client_cbs *cbs, void *arg,
    char *err, size_t errlen);

/* Starts connecting (state must be IDLE). 0: started, on_close will follow
 * eventually; -1: could not even start (ws_client_last_error() says why, no
 * on_close). */
int ws_client_connect(struct ws_client *c);

/* Queues one text message (state OPEN; wslay copies it). -1 with errno
 * ENOTCONN if not open, ENOBUFS if the queue bound (max_queued) would be
 * exceeded (on_drain follows when there is room again), ENOMEM. The last
 * error is not touched: a full queue is flow control, not a link failure. */
int ws_client_send_text(struct ws_client *c, const char *msg, size_t len);

/* Queues a ping frame (state OPEN, else -1/ENOTCONN); on_pong follows when
 * the peer answers. Dead-link detection (no pong in time) is the caller's. */
int ws_client_ping(struct ws_client *c);

/* Bytes accepted by send_text/ping and not yet handed to the kernel. */
size_t ws_client_queued(const struct ws_client *c);

/* Counters over the client's life (all its connections), for status. */
struct ws_client_stats {
	uint64_t ctrl_frames;       /* control frames received */
	uint64_t ctrl_limited;      /* times reading paused for the control frame rate */
	uint64_t backlog_drops;     /* links dropped because the peer did not read */
};
const struct ws_client_stats *ws_client_stats(const struct ws_client *c);

/* Starts a clean close (close frame with code and reason, then waits up to
 * 2 s for the peer's close). Before OPEN it simply aborts the attempt. In
 * both cases on_close follows (later, from the event loop) with a reason
 * naming this local close. No-op when IDLE or already CLOSING. */
void ws_client_close(struct ws_client *c, uint16_t code, const char *reason);

/* Drops everything at once, no callbacks. Safe inside callbacks. */
void ws_client_free(struct ws_client *c);

enum ws_client_state ws_client_state(const struct ws_client *c);
/* Last failure or close reason, "" if none; e.g. "connect 10.0.0.1:443:
 * Connection refused", "upgrade refused: HTTP/1.1 401 Unauthorized",
 * "certificate verify failed: self-signed certificate", "pin mismatch",
 * "closed by peer: 1000 bye", "message too big (2000000 > 1048576 bytes)". */
const char *ws_client_last_error(const struct ws_client *c);
/* The HTTP status of the response that refused the last upgrade (401,
 * 404, ...), 0 when the last attempt failed otherwise or succeeded. Valid
 * from on_close until the next connect. */
int ws_client_http_status(const struct ws_client *c);

#endif
