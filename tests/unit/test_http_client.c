/*
 * lib/http on loopback: the REST headers, bodies, identity, keep-alive
 * reuse, the bounds on requests and connections, freeing from a callback,
 * one-shot posts, and no Nagle stall. (Retries: test_http_client_retry.c;
 * TLS: test_http_client_tls.c.)
 */
#include "http_client_support.h"

START_TEST(test_get_carries_rest_headers_and_reads_json)
{
	struct http_req rq = { .method = HTTP_GET, .path = "/json?device_ids=SCALE-01,SCALE-02",
		.if_none_match = "\"sessions-0\"" };

	client();
	ck_assert_int_eq(http_request(cli, &rq, done, NULL), 0);
	wait_results(1, 3000);
	ck_assert_msg(got[0].ok, "%s", got[0].text);
	ck_assert_int_eq(got[0].status, 200);
	ck_assert_str_eq(got[0].body, "{\"ok\":true}");
	ck_assert_str_eq(got[0].etag, "\"sessions-1\"");
	ck_assert_str_eq(got[0].ctype, "application/json; charset=utf-8");
	ck_assert_str_eq(got[0].text, "");
	ck_assert_str_eq(srv.edge_id, "3f2b9c1e-8d4a-4b7e-9c2d-5a1e0f6b7c8d");
	ck_assert_str_eq(srv.site_id, "site-001");
	ck_assert_str_eq(srv.client_type, "carnitrack-edge");
	ck_assert_str_eq(srv.client_version, "0.3.0");
	ck_assert_str_eq(srv.ctype, "application/json");
	ck_assert_str_eq(srv.inm, "\"sessions-0\"");
	ck_assert_int_eq(srv.requests, 1);
}
END_TEST

START_TEST(test_post_body_without_identity_headers)
{
	const char body[] = "{\"edgeId\":null,\"siteId\":\"site-001\"}";
	struct http_req rq = { .method = HTTP_POST, .path = "/echo", .body = body,
		.body_len = strlen(body), .flags = HTTP_NO_EDGE_ID | HTTP_NO_SITE_ID };

	client();
	ck_assert_int_eq(http_request(cli, &rq, done, NULL), 0);
	wait_results(1, 3000);
	ck_assert_msg(got[0].ok, "%s", got[0].text);
	ck_assert_str_eq(got[0].body, body);
	ck_assert_str_eq(got[0].edge, "(none)");
	ck_assert(!srv.has_edge_id);
	ck_assert(!srv.has_site_id);
	ck_assert_str_eq(srv.ctype, "application/json");
}
END_TEST

START_TEST(test_identity_changes_apply_and_refuse_control_chars)
{
	client();
	ck_assert_int_eq(http_client_set_identity(cli, "e2", NULL, err, sizeof(err)), 0);
	get("/json", 0);
	wait_results(1, 3000);
	ck_assert_str_eq(srv.edge_id, "e2");
	ck_assert_str_eq(got[0].edge, "e2");      /* what was sent, for rest_auth_action */
	ck_assert(!srv.has_site_id);
	ck_assert_int_eq(http_client_set_identity(cli, "e3\r\nX-Evil: 1", NULL, err, sizeof(err)),
	    -1);
	ck_assert_ptr_nonnull(strstr(err, "control character"));
}
END_TEST

START_TEST(test_keepalive_connection_reused)
{
	struct http_stats st;

	client();
	for (int i = 0; i < 5; i++) {
		get("/json", i);
		wait_results(i + 1, 3000);
		ck_assert(got[i].ok);
	}
	http_client_stats(cli, &st);
	ck_assert_int_eq(srv.conns, 1);
	ck_assert_int_eq(srv.requests, 5);
	ck_assert_uint_eq(st.connects, 1);
	ck_assert_uint_eq(st.reused, 4);
	ck_assert_uint_eq(st.succeeded, 5);
	ck_assert_uint_eq(st.open_conns, 1);
	ck_assert_uint_eq(st.in_flight, 0);
}
END_TEST

START_TEST(test_in_flight_bounded_by_connections_and_queue_bounded)
{
	struct http_client_opts o = { .max_conns = 2, .max_requests = 6 };
	struct http_req rq = { .method = HTTP_GET, .path = "/slow" };

	srv.delay_ms = 100;
	client_opts(&o);
	for (int i = 0; i < 6; i++)
		ck_assert_int_eq(http_request(cli, &rq, done, (void *)(intptr_t)i), 0);
	errno = 0;
	ck_assert_int_eq(http_request(cli, &rq, done, NULL), -1);
	ck_assert_int_eq(errno, ENOBUFS);
	max_in_flight_seen = 0;
	wanted = 6;
	ck_assert(run_until(sample_in_flight, 5000));
	for (int i = 0; i < 6; i++)
		ck_assert_msg(got[i].ok, "%s", got[i].text);
	ck_assert_int_eq(srv.max_active, 2);
	ck_assert_int_eq(max_in_flight_seen, 2);
	ck_assert_int_eq(srv.conns, 2);
}
END_TEST

START_TEST(test_free_inside_callback_and_pending_dropped)
{
	struct http_client_opts o = { .max_conns = 1 };

	client_opts(&o);
	free_in_cb = true;
	get("/json", 0);
	get("/json", 1);
	wait_results(1, 3000);
	ck_assert_ptr_null(cli);
	/* the second never reports */
	wanted = 2;
	ck_assert(!run_until(have_wanted, 200));
}
END_TEST

START_TEST(test_request_validation)
{
	struct http_req rq = { .method = HTTP_GET, .path = "no-slash" };

	client();
	ck_assert_int_eq(http_request(cli, &rq, done, NULL), -1);
	ck_assert_int_eq(errno, EINVAL);
	rq.path = "/a\r\nb";
	ck_assert_int_eq(http_request(cli, &rq, done, NULL), -1);
	rq.path = "/ok";
	rq.if_none_match = "\"x\"\n";
	ck_assert_int_eq(http_request(cli, &rq, done, NULL), -1);
}
END_TEST

START_TEST(test_bad_urls_refused)
{
	struct http_client_opts o = { .url = "ws://127.0.0.1/x" };

	ck_assert_ptr_null(http_client_new(base, NULL, &o, err, sizeof(err)));
	ck_assert_ptr_nonnull(strstr(err, "scheme must be http:// or https://"));
	o.url = "http://127.0.0.1/x";
	o.pin_sha256 = "7axwm54O3XPFEbUXE16xtH/50Ts+FMhBRR7VCVEuJsk=";
	ck_assert_ptr_null(http_client_new(base, NULL, &o, err, sizeof(err)));
	ck_assert_ptr_nonnull(strstr(err, "not https://"));
}
END_TEST

/* A body of several writes must not wait for the server's delayed ACK
 * (Nagle): 40 ms a request on Linux, so 20 requests of 40 KiB would take
 * 800 ms or more; without the wait they take a few ms each. */
START_TEST(test_large_posts_not_delayed_by_nagle)
{
	struct http_client_opts o = { .max_conns = 1 };
	char *big = malloc(40 * 1024);
	int64_t t0;

	ck_assert_ptr_nonnull(big);
	memset(big, ' ', 40 * 1024);
	big[0] = '{';
	big[40 * 1024 - 1] = '}';
	client_opts(&o);
	t0 = ct_now_ms_mono();
	for (int i = 0; i < 20; i++) {
		struct http_req rq = { .method = HTTP_POST, .path = "/json", .body = big,
			.body_len = 40 * 1024 };
		ck_assert_int_eq(http_request(cli, &rq, done, NULL), 0);
		wait_results(i + 1, 3000);
		ck_assert(got[i < 16 ? i : 15].ok);
	}
	ck_assert_msg(ct_now_ms_mono() - t0 < 600, "20 posts took %lld ms",
	    (long long)(ct_now_ms_mono() - t0));
	free(big);
}
END_TEST

START_TEST(test_next_request_from_the_callback_fits_the_bound)
{
	struct http_client_opts o = { .max_requests = 1, .max_conns = 1 };
	struct http_req rq = { .method = HTTP_GET, .path = "/json" };

	client_opts(&o);
	chained = 0;
	ck_assert_int_eq(http_request(cli, &rq, chain_done, NULL), 0);
	wait_results(3, 3000);
	ck_assert_int_eq(chained, 3);
	ck_assert_int_eq(srv.requests, 3);
}
END_TEST

START_TEST(test_post_once)
{
	char url[128];
	struct http_client_opts o = { .url = url, .max_attempts = 1 };

	snprintf(url, sizeof(url), "http://127.0.0.1:%d/echo", srv.port);
	post_once_done = false;
	ck_assert_int_eq(http_post_once(base, NULL, &o, "{\"a\":1}", 7, HTTP_NO_EDGE_ID,
	    once_done, NULL, err, sizeof(err)), 0);
	wait_results(1, 3000);
	ck_assert(post_once_done);
	ck_assert(!srv.has_edge_id);
	o.url = "http://127.0.0.1:99999/x";
	ck_assert_int_eq(http_post_once(base, NULL, &o, "{}", 2, 0, once_done, NULL, err,
	    sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "port out of range"));
}
END_TEST

START_TEST(test_stale_keepalive_resent_once_on_fresh_connection)
{
	struct sockaddr_in sin = { .sin_family = AF_INET,
		.sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t sl = sizeof(sin);
	struct http_client_opts o = { 0 };
	struct http_stats st;
	char url[64];

	memset(&raw, 0, sizeof(raw));
	raw.l = evconnlistener_new_bind(base, raw_accept, NULL, LEV_OPT_CLOSE_ON_FREE |
	    LEV_OPT_REUSEABLE, 16, (struct sockaddr *)&sin, sizeof(sin));
	ck_assert_ptr_nonnull(raw.l);
	getsockname(evconnlistener_get_fd(raw.l), (struct sockaddr *)&sin, &sl);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/r", ntohs(sin.sin_port));
	o.url = url;
	o.max_attempts = 1;
	client_opts(&o);
	get("/r", 0);
	wait_results(1, 3000);
	ck_assert(got[0].ok);
	get("/r", 1);
	wait_results(2, 3000);
	ck_assert_msg(got[1].ok, "%s", got[1].text);
	ck_assert_int_eq(got[1].attempts, 1);
	http_client_stats(cli, &st);
	ck_assert_uint_eq(st.stale_resends, 1);
	ck_assert_int_eq(raw.conns, 2);
	ck_assert_int_eq(raw.answered, 2);
	http_client_free(cli);
	cli = NULL;
	ck_assert(run_until(raw_all_closed, 3000));
	evconnlistener_free(raw.l);
}
END_TEST

/* issue 13: the bearer token of [cloud] token_file on every request. */
START_TEST(test_bearer_token_sent)
{
	struct http_client_opts o = { .token = "s3cret" };
	char url[64];

	client_opts(&o);
	get("/json", 0);
	wait_results(1, 3000);
	ck_assert(got[0].ok);
	ck_assert(srv.has_auth);
	ck_assert_str_eq(srv.auth, "Bearer s3cret");
	http_client_free(cli);
	o.token = "a\r\nX-Evil: 1";
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/x", srv.port);
	o.url = url;
	ck_assert_ptr_null(http_client_new(base, NULL, &o, err, sizeof(err)));
	ck_assert_ptr_nonnull(strstr(err, "control character"));
	cli = NULL;
	client();
	get("/json", 1);
	wait_results(2, 3000);
	ck_assert(!srv.has_auth);
}
END_TEST

/* HTTP_AT_MOST_ONCE (REST /register with edgeId null): one attempt, on a
 * fresh connection, never resent; a 503 is not retried. */
START_TEST(test_at_most_once_single_attempt_on_fresh_connection)
{
	struct http_req rq = { .method = HTTP_POST, .path = "/seq", .body = "{}", .body_len = 2,
		.flags = HTTP_AT_MOST_ONCE };
	struct http_stats st;

	client();
	get("/json", 0);
	wait_results(1, 3000);
	srv.script[0] = 503;
	srv.nscript = 1;
	ck_assert_int_eq(http_request(cli, &rq, done, NULL), 0);
	wait_results(2, 3000);
	ck_assert(!got[1].ok);
	ck_assert_int_eq(got[1].status, 503);
	ck_assert_int_eq(got[1].attempts, 1);
	http_client_stats(cli, &st);
	ck_assert_uint_eq(st.connects, 2);      /* not on the kept-alive one */
	ck_assert_uint_eq(st.retries, 0);
	ck_assert_int_eq(srv.requests, 2);
}
END_TEST

static Suite *
suite(void)
{
	Suite *s = suite_create("http_client");
	TCase *tc = tcase_create("plain");
	TCase *tt = tcase_create("tls");

	tcase_add_checked_fixture(tc, setup, teardown_);
	tcase_set_timeout(tc, 20);
	tcase_add_test(tc, test_get_carries_rest_headers_and_reads_json);
	tcase_add_test(tc, test_bearer_token_sent);
	tcase_add_test(tc, test_at_most_once_single_attempt_on_fresh_connection);
	tcase_add_test(tc, test_post_body_without_identity_headers);
	tcase_add_test(tc, test_identity_changes_apply_and_refuse_control_chars);
	tcase_add_test(tc, test_keepalive_connection_reused);
	tcase_add_test(tc, test_in_flight_bounded_by_connections_and_queue_bounded);
	tcase_add_test(tc, test_free_inside_callback_and_pending_dropped);
	tcase_add_test(tc, test_request_validation);
	tcase_add_test(tc, test_bad_urls_refused);
	tcase_add_test(tc, test_post_once);
	tcase_add_test(tc, test_next_request_from_the_callback_fits_the_bound);
	tcase_add_test(tc, test_large_posts_not_delayed_by_nagle);
	tcase_add_test(tc, test_stale_keepalive_resent_once_on_fresh_connection);
	suite_add_tcase(s, tc);

	tcase_add_checked_fixture(tt, tls_setup, tls_teardown);
	tcase_set_timeout(tt, 20);
	suite_add_tcase(s, tt);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(suite());
	int nf;

	signal(SIGPIPE, SIG_IGN);   /* as every program of the project does */
	srunner_run_all(sr, CK_NORMAL);
	nf = srunner_ntests_failed(sr);
	srunner_free(sr);
	return nf == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
