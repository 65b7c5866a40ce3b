/*
 * ws_client against an in-process server on loopback that speaks raw,
 * scripted WebSocket bytes (wslay's test style): the server's frames are
 * literal byte strings, the client's masked frames are decoded and checked.
 */
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
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
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

START_TEST(test_request_carries_identity_headers)
{
	open_client();
	ck_assert_ptr_eq(strstr(srv.req, "GET /edge HTTP/1.1\r\n"), srv.req);
	ck_assert_ptr_nonnull(strstr(srv.req, "\r\nX-Client-Type: edge\r\n"));
	ck_assert_ptr_nonnull(strstr(srv.req, "\r\nX-Client-Version: 9.9.9\r\n"));
	ck_assert_ptr_nonnull(strstr(srv.req, "\r\nX-Edge-Id: edge-9\r\n"));
	ck_assert_ptr_nonnull(strstr(srv.req, "\r\nX-Site-Id: site-2\r\n"));
	ck_assert_ptr_nonnull(strstr(srv.req, "\r\nAuthorization: Bearer tok-123\r\n"));
}
END_TEST

START_TEST(test_text_echo_then_local_close)
{
	open_client();
	ck_assert_int_eq(ws_client_send_text(cli.c, "hello", 5), 0);
	ck_assert(run_until(one_text));
	ck_assert_str_eq(cli.text[0], "hello");
	ck_assert_int_eq(srv.rx[0].op, 1);
	ws_client_close(cli.c, 1000, "bye");
	ck_assert(run_until(is_closed));
	ck_assert_str_eq(cli.reason, "closed locally: 1000 bye");
	ck_assert_int_eq(srv.rx[1].op, 8);
	ck_assert_uint_eq(srv.rx[1].len, 5);
	ck_assert_int_eq(memcmp(srv.rx[1].data, "\x03\xe8" "bye", 5), 0);
	ck_assert_int_eq(cli.closed, 1);
	ck_assert_int_eq(ws_client_state(cli.c), WS_STATE_IDLE);
}
END_TEST

START_TEST(test_send_from_on_open)
{
	cli.send_in_open = true;
	open_client();
	ck_assert(run_until(one_text));
	ck_assert_str_eq(cli.text[0], "from on_open");
}
END_TEST

START_TEST(test_frame_in_same_read_as_101)
{
	srv.with_101 = "\x81\x05hello";
	srv.with_101_len = 7;
	open_client();
	ck_assert(run_until(one_text));
	ck_assert_str_eq(cli.text[0], "hello");
}
END_TEST

START_TEST(test_fragmented_message_with_ping_between)
{
	open_client();
	/* text "abc" (FIN=0), ping, continuation "de" (FIN=0), continuation "f" (FIN=1) */
	srv_write("\x01\x03" "abc" "\x89\x00" "\x00\x02" "de" "\x80\x01" "f", 14);
	ck_assert(run_until(one_text));
	ck_assert_int_eq(cli.ntext, 1);
	ck_assert_str_eq(cli.text[0], "abcdef");
	ck_assert(run_until(srv_has_frame));
	ck_assert_int_eq(srv.rx[0].op, 0xA);     /* wslay answered the ping */
}
END_TEST

START_TEST(test_ping_gets_pong)
{
	open_client();
	ck_assert_int_eq(ws_client_ping(cli.c), 0);
	ck_assert(run_until(got_pong));
	ck_assert_int_eq(srv.rx[0].op, 9);
}
END_TEST

START_TEST(test_peer_close_reported_with_code_and_reason)
{
	open_client();
	srv.peer_gone = true;    /* it closes first; do not answer ours */
	srv_write("\x88\x07\x03\xe9" "going", 9);
	ck_assert(run_until(is_closed));
	ck_assert_str_eq(cli.reason, "closed by peer: 1001 going");
	ck_assert(run_until(srv_has_frame));
	ck_assert_int_eq(srv.rx[0].op, 8);       /* the client answered the close */
	ck_assert_int_eq(memcmp(srv.rx[0].data, "\x03\xe9", 2), 0);
}
END_TEST

START_TEST(test_too_big_message_closes_with_1009)
{
	static char big[2004] = "\x81\x7e\x07\xd0";   /* text, 2000 bytes */

	client("ws://127.0.0.1:%d/", 1000, 0, 2000);
	ck_assert_int_eq(ws_client_connect(cli.c), 0);
	ck_assert(run_until(is_open));
	memset(big + 4, 'x', 2000);
	srv_write(big, sizeof(big));
	ck_assert(run_until(is_closed));
	ck_assert_str_eq(cli.reason, "message too big (over 1000 bytes), closed with 1009");
	ck_assert_int_eq(cli.ntext, 0);
	ck_assert_int_eq(srv.rx[0].op, 8);
	ck_assert_int_eq(memcmp(srv.rx[0].data, "\x03\xf1", 2), 0);  /* 1009 */
}
END_TEST

START_TEST(test_upgrade_401_refused)
{
	srv.mode = SRV_401;
	client("ws://127.0.0.1:%d/", 0, 0, 2000);
	ck_assert_int_eq(ws_client_connect(cli.c), 0);
	ck_assert(run_until(is_closed));
	ck_assert_int_eq(cli.opened, 0);
	ck_assert_str_eq(cli.reason, "upgrade refused: HTTP/1.1 401 Unauthorized");
	ck_assert_str_eq(ws_client_last_error(cli.c), cli.reason);
	/* the status for the caller to judge (a refused identity) */
	ck_assert_int_eq(ws_client_http_status(cli.c), 401);
}
END_TEST

START_TEST(test_upgrade_wrong_accept_refused)
{
	srv.mode = SRV_BAD_ACCEPT;
	client("ws://127.0.0.1:%d/", 0, 0, 2000);
	ck_assert_int_eq(ws_client_connect(cli.c), 0);
	ck_assert(run_until(is_closed));
	ck_assert_int_eq(cli.opened, 0);
	ck_assert_str_eq(cli.reason, "Sec-WebSocket-Accept mismatch");
	ck_assert_int_eq(ws_client_http_status(cli.c), 0);   /* a 101, not a refusal */
}
END_TEST

START_TEST(test_upgrade_timeout)
{
	srv.mode = SRV_SILENT;
	client("ws://127.0.0.1:%d/", 0, 0, 200);
	ck_assert_int_eq(ws_client_connect(cli.c), 0);
	ck_assert(run_until(is_closed));
	ck_assert_ptr_nonnull(strstr(cli.reason, "no complete response after 200 ms"));
}
END_TEST

START_TEST(test_connection_refused)
{
	int port = srv.port;

	evconnlistener_free(srv.l);       /* nobody listens on that port now */
	srv.l = NULL;
	client("ws://127.0.0.1:%d/", 0, 0, 2000);
	ck_assert_int_eq(ws_client_connect(cli.c), 0);
	ck_assert(run_until(is_closed));
	char want[96];
	snprintf(want, sizeof(want), "connect 127.0.0.1:%d: Connection refused", port);
	ck_assert_str_eq(cli.reason, want);
}
END_TEST

START_TEST(test_eof_without_close_frame)
{
	open_client();
	srv_drop();
	ck_assert(run_until(is_closed));
	ck_assert_ptr_nonnull(strstr(cli.reason, "closed without a close frame"));
}
END_TEST

START_TEST(test_free_inside_on_text)
{
	cli.free_in_text = true;
	srv.with_101 = "\x81\x01" "a" "\x81\x01" "b";  /* second message after the free */
	srv.with_101_len = 6;
	client("ws://127.0.0.1:%d/", 0, 0, 2000);
	ck_assert_int_eq(ws_client_connect(cli.c), 0);
	ck_assert(run_until(one_text));
	ck_assert_ptr_null(cli.c);
	/* Let libevent run whatever was pending for the freed client. */
	struct timeval tv = { 0, 50000 };
	event_base_loopexit(base, &tv);
	event_base_dispatch(base);
	ck_assert_int_eq(cli.ntext, 1);
	ck_assert_int_eq(cli.closed, 0);
}
END_TEST

START_TEST(test_close_inside_on_text)
{
	cli.close_in_text = true;
	srv.with_101 = "\x81\x01" "a";
	srv.with_101_len = 3;
	client("ws://127.0.0.1:%d/", 0, 0, 2000);
	ck_assert_int_eq(ws_client_connect(cli.c), 0);
	ck_assert(run_until(is_closed));
	ck_assert_str_eq(cli.reason, "closed locally: 1000 seen");
	ck_assert_int_eq(cli.closed, 1);
}
END_TEST

START_TEST(test_close_before_open_aborts)
{
	srv.mode = SRV_SILENT;
	client("ws://127.0.0.1:%d/", 0, 0, 2000);
	ck_assert_int_eq(ws_client_connect(cli.c), 0);
	ws_client_close(cli.c, 1000, "shutdown");
	ck_assert_int_eq(cli.closed, 0);            /* never from inside the call */
	ck_assert(run_until(is_closed));
	ck_assert_int_eq(cli.opened, 0);
	ck_assert_str_eq(cli.reason, "closed locally before the link was open: shutdown");
}
END_TEST

START_TEST(test_send_queue_bound_and_drain)
{
	char msg[60];

	/* 60 bytes + 64 for the message: the second does not fit 150. */
	client("ws://127.0.0.1:%d/", 0, 150, 2000);
	ck_assert_int_eq(ws_client_connect(cli.c), 0);
	ck_assert(run_until(is_open));
	memset(msg, 'm', sizeof(msg));
	ck_assert_int_eq(ws_client_send_text(cli.c, msg, sizeof(msg)), 0);
	ck_assert_uint_eq(ws_client_queued(cli.c), 2 + 4 + 60);
	ck_assert_int_eq(ws_client_send_text(cli.c, msg, sizeof(msg)), -1);
	ck_assert_int_eq(errno, ENOBUFS);
	ck_assert(run_until(drained));
	ck_assert_uint_eq(ws_client_queued(cli.c), 0);
	ck_assert_int_eq(ws_client_send_text(cli.c, msg, sizeof(msg)), 0);
	ck_assert(run_until(two_texts));
}
END_TEST

START_TEST(test_reconnect_after_close)
{
	open_client();
	ws_client_close(cli.c, 1000, "again");
	ck_assert(run_until(is_closed));
	cli.opened = cli.closed = 0;
	ck_assert_int_eq(ws_client_connect(cli.c), 0);
	ck_assert(run_until(is_open));
	ck_assert_int_eq(srv.accepts, 2);
	ck_assert_int_eq(ws_client_send_text(cli.c, "second", 6), 0);
	ck_assert(run_until(one_text));
	ck_assert_str_eq(cli.text[0], "second");
}
END_TEST

START_TEST(test_send_when_not_open_refused)
{
	client("ws://127.0.0.1:%d/", 0, 0, 2000);
	ck_assert_int_eq(ws_client_send_text(cli.c, "x", 1), -1);
	ck_assert_int_eq(errno, ENOTCONN);
	ck_assert_int_eq(ws_client_ping(cli.c), -1);
}
END_TEST

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

START_TEST(test_hostname_resolved_by_evdns)
{
	struct evdns_base *dns = hosts_only_dns();
	char url[64];
	struct ws_client_opts o = { .connect_timeout_ms = 2000 };

	snprintf(url, sizeof(url), "ws://cloud.test.invalid:%d/", srv.port);
	o.url = url;
	cli.c = ws_client_new(base, dns, &o, &cbs, NULL, err, sizeof(err));
	ck_assert_ptr_nonnull(cli.c);
	ck_assert_int_eq(ws_client_connect(cli.c), 0);
	ck_assert_msg(run_until(is_open), "%s", cli.reason);
	ck_assert_ptr_nonnull(strstr(srv.req, "\r\nHost: cloud.test.invalid:"));
	ws_client_free(cli.c);
	cli.c = NULL;
	evdns_base_free(dns, 0);
}
END_TEST

/* The only name server is a closed loopback port: the lookup fails fast. */
START_TEST(test_unresolvable_hostname_reported)
{
	struct evdns_base *dns = hosts_only_dns();
	char ns[32];

	snprintf(ns, sizeof(ns), "127.0.0.1:%d", srv.port);
	evconnlistener_free(srv.l);
	srv.l = NULL;
	ck_assert_int_eq(evdns_base_nameserver_ip_add(dns, ns), 0);
	ck_assert_int_eq(evdns_base_set_option(dns, "timeout:", "0.2"), 0);
	ck_assert_int_eq(evdns_base_set_option(dns, "attempts:", "1"), 0);
	struct ws_client_opts o = { .url = "ws://nowhere.test.invalid/", .connect_timeout_ms = 2000 };

	cli.c = ws_client_new(base, dns, &o, &cbs, NULL, err, sizeof(err));
	ck_assert_ptr_nonnull(cli.c);
	ck_assert_int_eq(ws_client_connect(cli.c), 0);
	ck_assert(run_until(is_closed));
	ck_assert_msg(strncmp(cli.reason, "resolve nowhere.test.invalid: ", 30) == 0, "%s",
	    cli.reason);
	ws_client_free(cli.c);
	cli.c = NULL;
	evdns_base_free(dns, 0);
}
END_TEST

START_TEST(test_tls_handshake_stall_times_out)
{
	srv.mode = SRV_SILENT;      /* takes the ClientHello, answers nothing */
	client("wss://127.0.0.1:%d/", 0, 0, 300);
	ck_assert_int_eq(ws_client_connect(cli.c), 0);
	ck_assert(run_until(is_closed));
	char want[96];
	snprintf(want, sizeof(want), "connect 127.0.0.1:%d (TCP+TLS): timed out after 300 ms",
	    srv.port);
	ck_assert_str_eq(cli.reason, want);
	ck_assert_int_eq(cli.opened, 0);
}
END_TEST

START_TEST(test_unfinished_101_times_out)
{
	srv.mode = SRV_TRICKLE;
	client("ws://127.0.0.1:%d/", 0, 0, 300);
	ck_assert_int_eq(ws_client_connect(cli.c), 0);
	ck_assert(run_until(is_closed));
	ck_assert_ptr_nonnull(strstr(cli.reason, "no complete response after 300 ms"));
	ck_assert_int_eq(cli.opened, 0);
}
END_TEST

START_TEST(test_ipv6_loopback)
{
	struct sockaddr_in6 s6 = { .sin6_family = AF_INET6, .sin6_addr = IN6ADDR_LOOPBACK_INIT };
	socklen_t sl = sizeof(s6);
	struct evconnlistener *l6 = evconnlistener_new_bind(base, srv_accept, NULL,
	    LEV_OPT_CLOSE_ON_FREE, 4, (struct sockaddr *)&s6, sizeof(s6));
	char url[64];

	if (l6 == NULL) {
		/* A box without IPv6 cannot run this; say so in the log. */
		fprintf(stderr, "test_ipv6_loopback: no ::1 here (%s), skipped\n", strerror(errno));
		return;
	}
	getsockname(evconnlistener_get_fd(l6), (struct sockaddr *)&s6, &sl);
	snprintf(url, sizeof(url), "ws://[::1]:%d/v6", ntohs(s6.sin6_port));
	struct ws_client_opts o = { .url = url };
	cli.c = ws_client_new(base, NULL, &o, use_cbs, NULL, err, sizeof(err));
	ck_assert_ptr_nonnull(cli.c);
	ck_assert_int_eq(ws_client_connect(cli.c), 0);
	ck_assert_msg(run_until(is_open), "%s", cli.reason);
	ck_assert_ptr_nonnull(strstr(srv.req, "\r\nHost: [::1]:"));
	ck_assert_int_eq(ws_client_send_text(cli.c, "v6", 2), 0);
	ck_assert(run_until(one_text));
	ck_assert_str_eq(cli.text[0], "v6");
	ws_client_free(cli.c);
	cli.c = NULL;
	evconnlistener_free(l6);
}
END_TEST

static bool all_200_seen(void) { return srv.ntotal >= 200; }

/* 200 x 8 KiB is far more than the 256 KiB wslay may put into the output
 * buffer at once: the rest waits in wslay and follows as the socket drains. */
START_TEST(test_bulk_messages_pass_the_output_bound)
{
	static char msg[8192];

	srv.echo = false;
	open_client();
	memset(msg, 'b', sizeof(msg));
	for (int i = 0; i < 200; i++)
		ck_assert_int_eq(ws_client_send_text(cli.c, msg, sizeof(msg)), 0);
	ck_assert_uint_ge(ws_client_queued(cli.c), 200 * sizeof(msg));
	ck_assert(run_until(all_200_seen));
	ck_assert_uint_eq(srv.rx_bytes, 200 * sizeof(msg));
	ck_assert_uint_eq(ws_client_queued(cli.c), 0);
}
END_TEST

START_TEST(test_invalid_utf8_text_closes_with_1007)
{
	open_client();
	srv_write("\x81\x02\xc3\x28", 4);
	ck_assert(run_until(is_closed));
	ck_assert_str_eq(cli.reason, "invalid UTF-8 in a text message from the peer, closed with 1007");
	ck_assert_int_eq(cli.ntext, 0);
}
END_TEST

START_TEST(test_masked_server_frame_is_protocol_error)
{
	open_client();
	srv_write("\x81\x82\x00\x00\x00\x00" "hi", 8);
	ck_assert(run_until(is_closed));
	ck_assert_str_eq(cli.reason, "protocol error from peer, closed with 1002");
}
END_TEST

START_TEST(test_binary_message_ignored_link_stays)
{
	open_client();
	srv_write("\x82\x03" "bin" "\x81\x04" "text", 11);
	ck_assert(run_until(one_text));
	ck_assert_int_eq(cli.ntext, 1);
	ck_assert_str_eq(cli.text[0], "text");
	ck_assert_int_eq(ws_client_state(cli.c), WS_STATE_OPEN);
}
END_TEST

START_TEST(test_binary_message_to_on_binary)
{
	use_cbs = &cbs_bin;
	open_client();
	srv_write("\x82\x03" "bin" "\x81\x04" "text", 11);
	ck_assert(run_until(one_text));
	ck_assert_int_eq(cli.nbin, 1);
	ck_assert_uint_eq(cli.binlen, 3);
	ck_assert_str_eq(cli.bin, "bin");
	ck_assert_str_eq(cli.text[0], "text");
	ck_assert_int_eq(ws_client_http_status(cli.c), 0);
}
END_TEST

/* No evdns_base from the caller: the client makes its own (which reads
 * /etc/hosts). "localhost" may come back as ::1 first, so listen on both. */
START_TEST(test_own_resolver_when_none_given)
{
	struct sockaddr_in6 s6 = { .sin6_family = AF_INET6, .sin6_addr = IN6ADDR_LOOPBACK_INIT,
		.sin6_port = htons((uint16_t)srv.port) };
	struct evconnlistener *l6 = evconnlistener_new_bind(base, srv_accept, NULL,
	    LEV_OPT_CLOSE_ON_FREE, 4, (struct sockaddr *)&s6, sizeof(s6));

	client("ws://localhost:%d/", 0, 0, 2000);
	ck_assert_int_eq(ws_client_connect(cli.c), 0);
	ck_assert_msg(run_until(is_open), "%s", cli.reason);
	ck_assert_ptr_nonnull(strstr(srv.req, "\r\nHost: localhost:"));
	ws_client_free(cli.c);
	cli.c = NULL;
	if (l6)
		evconnlistener_free(l6);
}
END_TEST

START_TEST(test_peer_ignoring_our_close_is_dropped_after_2s)
{
	open_client();
	srv.peer_gone = true;       /* the server will not answer the close */
	ws_client_close(cli.c, 1001, "leaving");
	ck_assert(run_until(is_closed));
	ck_assert_str_eq(cli.reason, "closed locally: 1001 leaving (peer did not complete the close)");
}
END_TEST

START_TEST(test_peer_close_without_status_code)
{
	open_client();
	srv.peer_gone = true;
	srv_write("\x88\x00", 2);
	ck_assert(run_until(is_closed));
	ck_assert_str_eq(cli.reason, "closed by peer (no status code)");
}
END_TEST

/* Our reply echoes the peer's 1009: still the peer's close, not our limit. */
START_TEST(test_peer_1009_is_the_peers_close)
{
	open_client();
	srv.peer_gone = true;
	srv_write("\x88\x02\x03\xf1", 4);
	ck_assert(run_until(is_closed));
	ck_assert_str_eq(cli.reason, "closed by peer: 1009");
}
END_TEST

/* A 64-bit length near 2^63 must be refused from the header alone, before
 * anything is allocated for it. */
START_TEST(test_huge_frame_length_refused_without_allocating)
{
	open_client();
	/* wslay reports a frame once its first payload byte is in: send three. */
	srv_write("\x81\x7f\x7f\xff\xff\xff\xff\xff\xff\xff" "abc", 13);
	ck_assert(run_until(is_closed));
	ck_assert_str_eq(cli.reason, "message too big (over 1048576 bytes), closed with 1009");
}
END_TEST

START_TEST(test_free_inside_on_close)
{
	cli.free_in_close = true;
	srv.mode = SRV_401;
	client("ws://127.0.0.1:%d/", 0, 0, 2000);
	ck_assert_int_eq(ws_client_connect(cli.c), 0);
	ck_assert(run_until(is_closed));
	ck_assert_ptr_null(cli.c);
	ck_assert_str_eq(cli.reason, "upgrade refused: HTTP/1.1 401 Unauthorized");
}
END_TEST

static bool open_after_reconnect(void) { return cli.opened == 2 && cli.closed == 1; }

START_TEST(test_reconnect_inside_on_close)
{
	cli.reconnect_in_close = true;
	open_client();
	srv_drop();
	ck_assert(run_until(is_closed));
	ck_assert(run_until(open_after_reconnect));
	ck_assert_int_eq(srv.accepts, 2);
	ck_assert_int_eq(ws_client_state(cli.c), WS_STATE_OPEN);
}
END_TEST

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

/* wslay queues a pong for every ping by itself: 2000 pings at once are
 * answered at the control frame rate (10 a second here), not all at once,
 * and the link stays open. */
START_TEST(test_ping_flood_answered_at_the_control_rate)
{
	struct ws_client_opts o = { .max_ctrl_per_s = 10 };

	open_client_opts(&o);
	srv_pings(2000, 0);
	run_for_ms(400);
	ck_assert_int_ge(srv.ntotal, 5);
	ck_assert_int_le(srv.ntotal, 10);
	ck_assert_uint_eq(ws_client_stats(cli.c)->ctrl_limited, 1);
	run_for_ms(1000);
	ck_assert_int_le(srv.ntotal, 20);
	ck_assert_uint_eq(ws_client_stats(cli.c)->ctrl_limited, 2);
	ck_assert_int_eq(ws_client_state(cli.c), WS_STATE_OPEN);
	ck_assert_int_eq(cli.closed, 0);
}
END_TEST

/* A peer that floods pings and never reads its pongs: once the kernel's
 * buffers are full the pongs pile up here, and the link is dropped when
 * they pass the backlog cap instead of growing without end. */
START_TEST(test_peer_not_reading_dropped_at_backlog_cap)
{
	struct ws_client_opts o = { .max_ctrl_per_s = 1000000, .max_queued = 64 * 1024,
	    .max_backlog = 128 * 1024 };
	int small = 4096;

	srv.echo = false;
	open_client_opts(&o);
	bufferevent_disable(srv.bev, EV_READ);
	setsockopt(bufferevent_getfd(srv.bev), SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));
	for (int i = 0; i < 40 && cli.closed == 0; i++) {
		if (srv.bev != NULL &&
		    evbuffer_get_length(bufferevent_get_output(srv.bev)) < 1024 * 1024)
			srv_pings(8192, 125);
		run_for_ms(50);
	}
	ck_assert_msg(cli.closed == 1, "still open, %zu bytes queued", ws_client_queued(cli.c));
	ck_assert_msg(strstr(cli.reason, "does not read what we send: backlog over the cap"),
	    "%s", cli.reason);
	ck_assert_uint_eq(ws_client_stats(cli.c)->backlog_drops, 1);
}
END_TEST

/* A peer that takes nothing at all while we have data for it: dropped after
 * write_stall_ms without a byte written, the send queue having filled. */
START_TEST(test_peer_taking_nothing_dropped_after_write_stall)
{
	struct ws_client_opts o = { .write_stall_ms = 300 };
	static char msg[65536];
	int refused = 0;

	srv.echo = false;
	open_client_opts(&o);
	bufferevent_disable(srv.bev, EV_READ);
	memset(msg, 'x', sizeof(msg));
	for (int i = 0; i < 200 && cli.closed == 0; i++) {
		while (cli.closed == 0 && ws_client_send_text(cli.c, msg, sizeof(msg)) == 0)
			;
		if (cli.closed == 0 && errno == ENOBUFS)
			refused++;
		run_for_ms(20);
	}
	ck_assert_int_gt(refused, 0);
	ck_assert_msg(cli.closed == 1, "still open");
	ck_assert_msg(strstr(cli.reason, "does not read what we send: nothing written for 300 ms"),
	    "%s", cli.reason);
}
END_TEST

START_TEST(test_new_rejects_bad_url_and_pin)
{
	struct ws_client_opts o = { .url = "http://x/" };

	ck_assert_ptr_null(ws_client_new(base, NULL, &o, &cbs, NULL, err, sizeof(err)));
	ck_assert_ptr_nonnull(strstr(err, "scheme must be ws:// or wss://"));
	o.url = "ws://x/";
	o.pin_sha256 = "abcd";
	ck_assert_ptr_null(ws_client_new(base, NULL, &o, &cbs, NULL, err, sizeof(err)));
	ck_assert_ptr_nonnull(strstr(err, "not wss://"));
	o.url = "wss://x/";
	ck_assert_ptr_null(ws_client_new(base, NULL, &o, &cbs, NULL, err, sizeof(err)));
	ck_assert_ptr_nonnull(strstr(err, "pin_sha256: expected SHA-256"));
	o.pin_sha256 = NULL;
	o.ca_file = "/nonexistent/ca.pem";
	ck_assert_ptr_null(ws_client_new(base, NULL, &o, &cbs, NULL, err, sizeof(err)));
	ck_assert_ptr_nonnull(strstr(err, "ca_file /nonexistent/ca.pem: cannot load"));
	o.ca_file = NULL;
	o.token = "tok\n";
	ck_assert_ptr_null(ws_client_new(base, NULL, &o, &cbs, NULL, err, sizeof(err)));
	ck_assert_ptr_nonnull(strstr(err, "trailing newline"));
}
END_TEST

static Suite *
suite(void)
{
	Suite *s = suite_create("ws_client");
	TCase *tc = tcase_create("loopback");

	tcase_add_checked_fixture(tc, setup, teardown_);
	tcase_set_timeout(tc, 20);
	tcase_add_test(tc, test_request_carries_identity_headers);
	tcase_add_test(tc, test_ping_flood_answered_at_the_control_rate);
	tcase_add_test(tc, test_peer_not_reading_dropped_at_backlog_cap);
	tcase_add_test(tc, test_peer_taking_nothing_dropped_after_write_stall);
	tcase_add_test(tc, test_text_echo_then_local_close);
	tcase_add_test(tc, test_send_from_on_open);
	tcase_add_test(tc, test_frame_in_same_read_as_101);
	tcase_add_test(tc, test_fragmented_message_with_ping_between);
	tcase_add_test(tc, test_ping_gets_pong);
	tcase_add_test(tc, test_peer_close_reported_with_code_and_reason);
	tcase_add_test(tc, test_too_big_message_closes_with_1009);
	tcase_add_test(tc, test_upgrade_401_refused);
	tcase_add_test(tc, test_upgrade_wrong_accept_refused);
	tcase_add_test(tc, test_upgrade_timeout);
	tcase_add_test(tc, test_connection_refused);
	tcase_add_test(tc, test_eof_without_close_frame);
	tcase_add_test(tc, test_free_inside_on_text);
	tcase_add_test(tc, test_close_inside_on_text);
	tcase_add_test(tc, test_close_before_open_aborts);
	tcase_add_test(tc, test_send_queue_bound_and_drain);
	tcase_add_test(tc, test_reconnect_after_close);
	tcase_add_test(tc, test_send_when_not_open_refused);
	tcase_add_test(tc, test_hostname_resolved_by_evdns);
	tcase_add_test(tc, test_unresolvable_hostname_reported);
	tcase_add_test(tc, test_tls_handshake_stall_times_out);
	tcase_add_test(tc, test_unfinished_101_times_out);
	tcase_add_test(tc, test_ipv6_loopback);
	tcase_add_test(tc, test_bulk_messages_pass_the_output_bound);
	tcase_add_test(tc, test_invalid_utf8_text_closes_with_1007);
	tcase_add_test(tc, test_masked_server_frame_is_protocol_error);
	tcase_add_test(tc, test_binary_message_ignored_link_stays);
	tcase_add_test(tc, test_binary_message_to_on_binary);
	tcase_add_test(tc, test_own_resolver_when_none_given);
	tcase_add_test(tc, test_peer_ignoring_our_close_is_dropped_after_2s);
	tcase_add_test(tc, test_peer_close_without_status_code);
	tcase_add_test(tc, test_peer_1009_is_the_peers_close);
	tcase_add_test(tc, test_huge_frame_length_refused_without_allocating);
	tcase_add_test(tc, test_free_inside_on_close);
	tcase_add_test(tc, test_reconnect_inside_on_close);
	tcase_add_test(tc, test_new_rejects_bad_url_and_pin);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
