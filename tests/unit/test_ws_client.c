/*
 * lib/ws/ws_client on an open link: the upgrade request, messages both
 * ways, pings, closes from either side, and what a bad peer frame does.
 * (Connecting, failing, reconnecting and the bounds:
 * test_ws_client_life.c.)
 */
#include "ws_client_support.h"

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
	ck_assert_str_eq(cli.reason,
	    "invalid UTF-8 in a text message from the peer, closed with 1007");
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
	tcase_add_test(tc, test_text_echo_then_local_close);
	tcase_add_test(tc, test_send_from_on_open);
	tcase_add_test(tc, test_frame_in_same_read_as_101);
	tcase_add_test(tc, test_fragmented_message_with_ping_between);
	tcase_add_test(tc, test_ping_gets_pong);
	tcase_add_test(tc, test_peer_close_reported_with_code_and_reason);
	tcase_add_test(tc, test_too_big_message_closes_with_1009);
	tcase_add_test(tc, test_bulk_messages_pass_the_output_bound);
	tcase_add_test(tc, test_invalid_utf8_text_closes_with_1007);
	tcase_add_test(tc, test_masked_server_frame_is_protocol_error);
	tcase_add_test(tc, test_binary_message_ignored_link_stays);
	tcase_add_test(tc, test_binary_message_to_on_binary);
	tcase_add_test(tc, test_peer_close_without_status_code);
	tcase_add_test(tc, test_peer_1009_is_the_peers_close);
	tcase_add_test(tc, test_huge_frame_length_refused_without_allocating);
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
