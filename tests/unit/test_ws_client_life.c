/*
 * lib/ws/ws_client's life: refused and stalled connects and upgrades,
 * names and addresses, freeing and closing from inside callbacks,
 * reconnecting, and the bounds on a peer that floods or does not read.
 */
#include "ws_client_support.h"

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
	struct ws_client_opts o =
	    { .url = "ws://nowhere.test.invalid/", .connect_timeout_ms = 2000 };

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
	ck_assert_str_eq(cli.reason,
	    "closed locally: 1001 leaving (peer did not complete the close)");
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

static Suite *
suite(void)
{
	Suite *s = suite_create("ws_client");
	TCase *tc = tcase_create("loopback");

	tcase_add_checked_fixture(tc, setup, teardown_);
	tcase_set_timeout(tc, 20);
	tcase_add_test(tc, test_ping_flood_answered_at_the_control_rate);
	tcase_add_test(tc, test_peer_not_reading_dropped_at_backlog_cap);
	tcase_add_test(tc, test_peer_taking_nothing_dropped_after_write_stall);
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
	tcase_add_test(tc, test_own_resolver_when_none_given);
	tcase_add_test(tc, test_peer_ignoring_our_close_is_dropped_after_2s);
	tcase_add_test(tc, test_free_inside_on_close);
	tcase_add_test(tc, test_reconnect_inside_on_close);
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
