/*
 * lib/http's outcomes: deadlines per attempt, retries of 5xx and network
 * errors with Retry-After, final 4xx with the status line and a body
 * excerpt, 304, response caps, Content-Type, and what means offline.
 */
#include "http_client_support.h"

/* REST_API.md section 8 item 1: the old client armed one timer for all
 * attempts, so after a timeout every retry failed at once. Each attempt
 * here must reach the server and wait its own full timeout. */
START_TEST(test_timeout_resets_per_attempt)
{
	struct http_client_opts o = { .timeout_ms = 150, .max_attempts = 3 };
	int64_t t0;

	srv.script[0] = -1;
	srv.nscript = 1;
	client_opts(&o);
	t0 = ct_now_ms_mono();
	get("/seq", 0);
	wait_results(1, 5000);
	ck_assert_int_eq(got[0].error, HTTP_E_TIMEOUT);
	ck_assert_int_eq(got[0].attempts, 3);
	ck_assert_int_eq(srv.requests, 3);
	ck_assert_int_eq(srv.conns, 3);            /* a cancelled connection is not reused */
	ck_assert(got[0].at_ms - t0 >= 3 * 150 - 20);
	ck_assert(got[0].offline);
	ck_assert_ptr_nonnull(strstr(got[0].text, "within 150 ms (3 attempts)"));
}
END_TEST

/* ... and after a fast failure the retry still has a deadline. */
START_TEST(test_retry_after_fast_failure_still_times_out)
{
	struct http_client_opts o = { .timeout_ms = 200, .max_attempts = 2 };
	int64_t t0;

	srv.script[0] = 503;
	srv.script[1] = -1;
	srv.nscript = 2;
	client_opts(&o);
	t0 = ct_now_ms_mono();
	get("/seq", 0);
	wait_results(1, 3000);
	ck_assert_int_eq(got[0].error, HTTP_E_TIMEOUT);
	ck_assert_int_eq(got[0].attempts, 2);
	ck_assert(got[0].at_ms - t0 >= 190);
	ck_assert(got[0].at_ms - t0 < 1500);
}
END_TEST

START_TEST(test_5xx_retried_then_success)
{
	struct http_stats st;

	srv.script[0] = 500;
	srv.script[1] = 503;
	srv.script[2] = 200;
	srv.nscript = 3;
	client();
	get("/seq", 0);
	wait_results(1, 3000);
	ck_assert_msg(got[0].ok, "%s", got[0].text);
	ck_assert_int_eq(got[0].attempts, 3);
	http_client_stats(cli, &st);
	ck_assert_uint_eq(st.retries, 2);
	ck_assert_str_eq(got[0].body, "{\"n\":1}");
}
END_TEST

START_TEST(test_retry_after_seconds_honoured)
{
	int64_t t0;

	srv.script[0] = 429;
	srv.script[1] = 200;
	srv.nscript = 2;
	srv.retry_after = "1";
	client();
	t0 = ct_now_ms_mono();
	get("/seq", 0);
	wait_results(1, 4000);
	ck_assert_msg(got[0].ok, "%s", got[0].text);
	ck_assert_int_eq(got[0].attempts, 2);
	/* libevent times with the coarse monotonic clock: a few ms early */
	ck_assert_msg(got[0].at_ms - t0 >= 950, "%lld ms", (long long)(got[0].at_ms - t0));
}
END_TEST

START_TEST(test_retry_after_beyond_cap_handed_to_caller)
{
	struct http_client_opts o = { .retry_max_ms = 2000 };

	srv.script[0] = 503;
	srv.nscript = 1;
	srv.retry_after = "120";
	client_opts(&o);
	get("/seq", 0);
	wait_results(1, 3000);
	ck_assert(!got[0].ok);
	ck_assert_int_eq(got[0].attempts, 1);
	ck_assert_int_eq(got[0].status, 503);
	ck_assert_int_eq(got[0].verdict, HTTP_RETRY);
	ck_assert_int_eq(got[0].retry_after_ms, 120000);
	ck_assert(got[0].offline);
}
END_TEST

START_TEST(test_4xx_final_with_status_line_and_excerpt)
{
	client();
	get("/400", 0);
	wait_results(1, 3000);
	ck_assert(!got[0].ok);
	ck_assert_int_eq(got[0].attempts, 1);
	ck_assert_int_eq(got[0].status, 400);
	ck_assert_int_eq(got[0].verdict, HTTP_FINAL);
	ck_assert(!got[0].offline);
	ck_assert_str_eq(got[0].text, "GET /400: HTTP 400 Bad Request: "
	    "{\"error\":\"weightGrams must be an integer\"}.");
	ck_assert_int_eq(srv.requests, 1);
}
END_TEST

START_TEST(test_304_is_success_without_body)
{
	client();
	get("/nocontent", 0);
	wait_results(1, 3000);
	ck_assert_msg(got[0].ok, "%s", got[0].text);
	ck_assert_int_eq(got[0].status, 304);
	ck_assert_uint_eq(got[0].body_len, 0);
}
END_TEST

START_TEST(test_body_over_cap_refused)
{
	struct http_client_opts o = { .max_body = 64 * 1024 };

	client_opts(&o);
	get("/big", 0);
	wait_results(1, 3000);
	ck_assert_int_eq(got[0].error, HTTP_E_TOO_BIG);
	ck_assert_int_eq(got[0].attempts, 1);
	ck_assert_ptr_nonnull(strstr(got[0].text, "larger than 65536 bytes"));
	/* the connection is gone, the client still works */
	get("/json", 1);
	wait_results(2, 3000);
	ck_assert(got[1].ok);
}
END_TEST

START_TEST(test_wrong_content_type_refused_and_retried)
{
	struct http_client_opts o = { .max_attempts = 2 };

	client_opts(&o);
	get("/html", 0);
	wait_results(1, 3000);
	ck_assert_int_eq(got[0].error, HTTP_E_CONTENT_TYPE);
	ck_assert_int_eq(got[0].status, 200);
	ck_assert_int_eq(got[0].attempts, 2);
	ck_assert(!got[0].ok);
	ck_assert_ptr_nonnull(strstr(got[0].text, "Content-Type \"text/html\", not JSON"));
}
END_TEST

START_TEST(test_any_type_flag_accepts_html)
{
	struct http_req rq = { .method = HTTP_GET, .path = "/html", .flags = HTTP_ANY_TYPE };

	client();
	ck_assert_int_eq(http_request(cli, &rq, done, NULL), 0);
	wait_results(1, 3000);
	ck_assert(got[0].ok);
}
END_TEST

START_TEST(test_connection_refused_is_offline)
{
	struct http_client_opts o = { .url = "http://127.0.0.1:1/x", .max_attempts = 2 };

	client_opts(&o);
	get("/x", 0);
	wait_results(1, 3000);
	ck_assert_int_eq(got[0].error, HTTP_E_CONNECT);
	ck_assert_int_eq(got[0].attempts, 2);
	ck_assert(got[0].offline);
	ck_assert_msg(strstr(got[0].text, "connect 127.0.0.1:1") != NULL, "%s", got[0].text);
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
	tcase_add_test(tc, test_timeout_resets_per_attempt);
	tcase_add_test(tc, test_retry_after_fast_failure_still_times_out);
	tcase_add_test(tc, test_5xx_retried_then_success);
	tcase_add_test(tc, test_retry_after_seconds_honoured);
	tcase_add_test(tc, test_retry_after_beyond_cap_handed_to_caller);
	tcase_add_test(tc, test_4xx_final_with_status_line_and_excerpt);
	tcase_add_test(tc, test_304_is_success_without_body);
	tcase_add_test(tc, test_body_over_cap_refused);
	tcase_add_test(tc, test_wrong_content_type_refused_and_retried);
	tcase_add_test(tc, test_any_type_flag_accepts_html);
	tcase_add_test(tc, test_connection_refused_is_offline);
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
