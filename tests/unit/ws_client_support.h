/*
 * What the WebSocket client tests share (test_ws_client.c,
 * test_ws_client_life.c): ws_client against an in-process server on
 * loopback that speaks raw, scripted WebSocket bytes (wslay's test style):
 * the server's frames are literal byte strings, the client's masked frames
 * are decoded and checked.
 */
#ifndef CT_WS_CLIENT_SUPPORT_H
#define CT_WS_CLIENT_SUPPORT_H

/* Each test file of the group uses some of these. */
#pragma GCC diagnostic ignored "-Wunused-function"
#pragma GCC diagnostic ignored "-Wunused-variable"

#include <check.h>
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/dns.h>
#include <event2/event.h>
#include <event2/listener.h>

#include "ws/ws_client.h"
#include "ws/ws_upgrade.h"

/* ---- scripted server ---- */

enum srv_mode { SRV_OK, SRV_401, SRV_BAD_ACCEPT, SRV_SILENT, SRV_TRICKLE };

struct frame {
	int op;
	size_t len;
	char data[4096];
};

struct srv {
	struct evconnlistener *l;
	struct bufferevent *bev;
	int port;
	enum srv_mode mode;
	bool upgraded, echo, peer_gone;
	const char *with_101;        /* raw bytes sent in the same write as the 101 */
	size_t with_101_len;
	char req[8192];
	size_t reqlen;
	struct frame rx[16];
	int nrx, ntotal;             /* frames kept (first 16), frames seen */
	size_t rx_bytes;
	int accepts;
};

struct cli {
	struct ws_client *c;
	int opened, closed, pongs, drains, ntext, nbin;
	char text[8][4096];
	char bin[64];
	size_t binlen;
	size_t textlen[8];
	char reason[WS_ERR_MAX];
	bool free_in_text, close_in_text, send_in_open, free_in_close, reconnect_in_close;
};

static struct event_base *base;
static struct srv srv;
static struct cli cli;
static char err[256];

static void
srv_write(const void *p, size_t n)
{
	ck_assert_ptr_nonnull(srv.bev);
	ck_assert_int_eq(bufferevent_write(srv.bev, p, n), 0);
}

/* Unmasked server frame, FIN set. */
static void
srv_frame(int op, const void *p, size_t n)
{
	uint8_t h[4] = { (uint8_t)(0x80 | op) };
	size_t hl = 2;

	if (n < 126) {
		h[1] = (uint8_t)n;
	} else {
		h[1] = 126;
		h[2] = (uint8_t)(n >> 8);
		h[3] = (uint8_t)n;
		hl = 4;
	}
	srv_write(h, hl);
	srv_write(p, n);
}

static void
srv_handle_frame(const struct frame *f)
{
	if (f->op == 1 && srv.echo)
		srv_frame(1, f->data, f->len);
	else if (f->op == 9)
		srv_frame(0xA, f->data, f->len);
	else if (f->op == 8 && !srv.peer_gone)
		srv_frame(8, f->data, f->len < 2 ? f->len : 2);   /* echo the code */
}

/* Decodes complete masked client frames from the input buffer. */
static void
srv_frames(struct evbuffer *in)
{
	for (;;) {
		size_t have = evbuffer_get_length(in), hl = 2, len;
		uint8_t h[14];
		struct frame *f;

		if (have < 2)
			return;
		evbuffer_copyout(in, h, have < sizeof(h) ? have : sizeof(h));
		ck_assert_msg(h[1] & 0x80, "client frame not masked");
		len = h[1] & 0x7f;
		if (len == 126) {
			if (have < 4)
				return;
			len = (size_t)h[2] << 8 | h[3];
			hl = 4;
		}
		ck_assert_uint_ne(len, 127);
		if (have < hl + 4 + len)
			return;
		srv.ntotal++;
		srv.rx_bytes += len;
		if (srv.nrx == 16 || len >= sizeof(f->data)) {   /* bulk: count only */
			evbuffer_drain(in, hl + 4 + len);
			continue;
		}
		f = &srv.rx[srv.nrx++];
		f->op = h[0] & 0x0f;
		f->len = len;
		uint8_t mask[4];
		evbuffer_drain(in, hl);
		evbuffer_remove(in, mask, 4);
		evbuffer_remove(in, f->data, len);
		for (size_t i = 0; i < len; i++)
			f->data[i] ^= (char)mask[i % 4];
		srv_handle_frame(f);
	}
}

static void
srv_read(struct bufferevent *bev, void *arg)
{
	struct evbuffer *in = bufferevent_get_input(bev);

	if (srv.upgraded) {
		srv_frames(in);
		return;
	}
	size_t n = evbuffer_get_length(in);
	ck_assert_uint_lt(srv.reqlen + n, sizeof(srv.req));
	evbuffer_remove(in, srv.req + srv.reqlen, n);
	srv.reqlen += n;
	srv.req[srv.reqlen] = '\0';
	if (strstr(srv.req, "\r\n\r\n") == NULL)
		return;
	const char *k = strcasestr(srv.req, "\r\nSec-WebSocket-Key: ");
	ck_assert_ptr_nonnull(k);
	char key[WS_KEY_LEN + 1], acc[WS_ACCEPT_LEN + 1], resp[512];
	memcpy(key, k + 21, WS_KEY_LEN);
	key[WS_KEY_LEN] = '\0';
	ws_upgrade_accept_for(key, acc);
	switch (srv.mode) {
	case SRV_SILENT:
		return;
	case SRV_TRICKLE:   /* starts a 101, never finishes it */
		srv_write("HTTP/1.1 101 Switching Protocols\r\nUpgrade: webs", 48);
		return;
	case SRV_401:
		srv_write("HTTP/1.1 401 Unauthorized\r\nContent-Length: 0\r\n\r\n", 49);
		return;
	case SRV_BAD_ACCEPT:
		acc[0] = acc[0] == 'A' ? 'B' : 'A';
		/* fallthrough */
	case SRV_OK:
		break;
	}
	snprintf(resp, sizeof(resp), "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
	    "Connection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n\r\n", acc);
	/* One write, so the frames can arrive in the same read as the 101. */
	struct evbuffer *out = evbuffer_new();
	evbuffer_add(out, resp, strlen(resp));
	if (srv.with_101)
		evbuffer_add(out, srv.with_101, srv.with_101_len);
	bufferevent_write_buffer(srv.bev, out);
	evbuffer_free(out);
	srv.upgraded = true;
	srv_frames(in);
}

static void
srv_event(struct bufferevent *bev, short what, void *arg)
{
	if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR)) {
		bufferevent_free(srv.bev);
		srv.bev = NULL;
		srv.peer_gone = true;
	}
}

static void
srv_accept(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa, int salen,
    void *arg)
{
	srv.accepts++;
	if (srv.bev != NULL)
		bufferevent_free(srv.bev);
	srv.bev = bufferevent_socket_new(base, fd, BEV_OPT_CLOSE_ON_FREE);
	ck_assert_ptr_nonnull(srv.bev);
	srv.upgraded = srv.peer_gone = false;
	srv.reqlen = 0;
	bufferevent_setcb(srv.bev, srv_read, NULL, srv_event, NULL);
	bufferevent_enable(srv.bev, EV_READ | EV_WRITE);
}

static void
srv_drop(void)
{
	if (srv.bev) {
		bufferevent_free(srv.bev);
		srv.bev = NULL;
	}
}

/* ---- client callbacks ---- */

static void
on_open(void *arg)
{
	cli.opened++;
	if (cli.send_in_open)
		ck_assert_int_eq(ws_client_send_text(cli.c, "from on_open", 12), 0);
}

static void
on_text(const char *m, size_t len, void *arg)
{
	ck_assert_int_lt(cli.ntext, 8);
	ck_assert_uint_lt(len, sizeof(cli.text[0]));
	ck_assert_int_eq(m[len], '\0');
	memcpy(cli.text[cli.ntext], m, len + 1);
	cli.textlen[cli.ntext++] = len;
	if (cli.free_in_text) {
		ws_client_free(cli.c);
		cli.c = NULL;
	} else if (cli.close_in_text) {
		ws_client_close(cli.c, 1000, "seen");
	}
}

static void
on_close(const char *reason, void *arg)
{
	cli.closed++;
	snprintf(cli.reason, sizeof(cli.reason), "%s", reason);
	if (cli.free_in_close) {
		ws_client_free(cli.c);
		cli.c = NULL;
	} else if (cli.reconnect_in_close) {
		cli.reconnect_in_close = false;
		ck_assert_int_eq(ws_client_connect(cli.c), 0);
	}
}

static void
on_pong(void *arg)
{
	cli.pongs++;
}

static void
on_drain(void *arg)
{
	cli.drains++;
}

static void
on_binary(const char *m, size_t len, void *arg)
{
	ck_assert_uint_lt(len, sizeof(cli.bin));
	ck_assert_int_eq(m[len], '\0');
	memcpy(cli.bin, m, len + 1);
	cli.binlen = len;
	cli.nbin++;
}

static const struct ws_client_cbs cbs = { on_open, on_text, on_close, on_pong, on_drain, NULL };
static const struct ws_client_cbs cbs_bin = {
	on_open, on_text, on_close, on_pong, on_drain, on_binary,
};
static const struct ws_client_cbs *use_cbs;

/* ---- harness ---- */

static void
setup(void)
{
	struct sockaddr_in sin =
	    { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t sl = sizeof(sin);

	memset(&srv, 0, sizeof(srv));
	memset(&cli, 0, sizeof(cli));
	use_cbs = &cbs;
	srv.echo = true;
	base = event_base_new();
	ck_assert_ptr_nonnull(base);
	srv.l = evconnlistener_new_bind(base, srv_accept, NULL, LEV_OPT_CLOSE_ON_FREE |
	    LEV_OPT_REUSEABLE, 16, (struct sockaddr *)&sin, sizeof(sin));
	ck_assert_ptr_nonnull(srv.l);
	getsockname(evconnlistener_get_fd(srv.l), (struct sockaddr *)&sin, &sl);
	srv.port = ntohs(sin.sin_port);
}

static void
teardown_(void)
{
	if (cli.c)
		ws_client_free(cli.c);
	srv_drop();
	if (srv.l)
		evconnlistener_free(srv.l);
	event_base_free(base);
}

static struct ws_client *
client(const char *url_fmt, size_t max_msg, size_t max_queued, int timeout_ms)
{
	char url[128];
	struct ws_client_opts o = {
		.token = "tok-123", .edge_id = "edge-9", .site_id = "site-2",
		.client_version = "9.9.9", .connect_timeout_ms = timeout_ms,
		.max_msg = max_msg, .max_queued = max_queued,
	};

	snprintf(url, sizeof(url), url_fmt, srv.port);
	o.url = url;
	cli.c = ws_client_new(base, NULL, &o, use_cbs, NULL, err, sizeof(err));
	ck_assert_msg(cli.c != NULL, "%s", err);
	return cli.c;
}

static bool
run_until(bool (*cond)(void))
{
	struct timeval step = { 0, 10000 };
	for (int i = 0; i < 500; i++) {      /* 5 s deadline */
		if (cond())
			return true;
		event_base_loopexit(base, &step);
		event_base_dispatch(base);
	}
	return cond();
}

static bool is_open(void) { return cli.opened > 0; }
static bool is_closed(void) { return cli.closed > 0; }
static bool one_text(void) { return cli.ntext >= 1; }
static bool two_texts(void) { return cli.ntext >= 2; }
static bool srv_has_frame(void) { return srv.nrx >= 1; }
static bool got_pong(void) { return cli.pongs > 0; }
static bool drained(void) { return cli.drains > 0; }

static void
open_client(void)
{
	client("ws://127.0.0.1:%d/edge", 0, 0, 2000);
	ck_assert_int_eq(ws_client_connect(cli.c), 0);
	ck_assert_msg(run_until(is_open), "not open: %s", ws_client_last_error(cli.c));
	ck_assert_int_eq(ws_client_state(cli.c), WS_STATE_OPEN);
}

/* ---- tests ---- */

/* evdns with no name servers and a private hosts file: resolution goes
 * through libevent's resolver, deterministically, without the network. */
static struct evdns_base *
hosts_only_dns(void)
{
	char path[] = "/tmp/test_ws_hostsXXXXXX";
	int fd = mkstemp(path);
	struct evdns_base *dns;

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, "127.0.0.1 cloud.test.invalid\n", 29), 29);
	close(fd);
	dns = evdns_base_new(base, 0);
	ck_assert_ptr_nonnull(dns);
	ck_assert_int_eq(evdns_base_load_hosts(dns, path), 0);
	unlink(path);
	return dns;
}

static bool all_200_seen(void) { return srv.ntotal >= 200; }

static bool open_after_reconnect(void) { return cli.opened == 2 && cli.closed == 1; }

/* ---- bounds against a hostile peer (issue 18) ---- */

static void
open_client_opts(struct ws_client_opts *o)
{
	char url[64];

	snprintf(url, sizeof(url), "ws://127.0.0.1:%d/", srv.port);
	o->url = url;
	o->connect_timeout_ms = 2000;
	cli.c = ws_client_new(base, NULL, o, &cbs, NULL, err, sizeof(err));
	ck_assert_msg(cli.c != NULL, "%s", err);
	ck_assert_int_eq(ws_client_connect(cli.c), 0);
	ck_assert_msg(run_until(is_open), "not open: %s", ws_client_last_error(cli.c));
}

static void
run_for_ms(int ms)
{
	struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };

	event_base_loopexit(base, &tv);
	event_base_dispatch(base);
}

/* Server pings with a payload of n bytes (n < 126), count times. */
static void
srv_pings(int count, size_t n)
{
	struct evbuffer *b = evbuffer_new();
	uint8_t f[2 + 125] = { 0x89, (uint8_t)n };

	ck_assert_ptr_nonnull(b);
	memset(f + 2, 'p', n);
	for (int i = 0; i < count; i++)
		evbuffer_add(b, f, 2 + n);
	ck_assert_int_eq(bufferevent_write_buffer(srv.bev, b), 0);
	evbuffer_free(b);
}

#endif
