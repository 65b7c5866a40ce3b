/*
 * The HTTP retry policy (lib/http/http_retry.c): which outcomes are retried,
 * which are final, which mean "the cloud is offline" (a 4xx never does,
 * REST_API.md section 8 item 3), the jittered backoff and its bounds,
 * Retry-After in seconds and as every HTTP-date form, Content-Type, and the
 * body excerpt for logs.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "http/http_retry.h"

START_TEST(test_classify)
{
	ck_assert_int_eq(http_classify(200, HTTP_E_NONE), HTTP_DONE);
	ck_assert_int_eq(http_classify(201, HTTP_E_NONE), HTTP_DONE);
	ck_assert_int_eq(http_classify(204, HTTP_E_NONE), HTTP_DONE);
	ck_assert_int_eq(http_classify(304, HTTP_E_NONE), HTTP_DONE);
	ck_assert_int_eq(http_classify(429, HTTP_E_NONE), HTTP_RETRY);
	ck_assert_int_eq(http_classify(500, HTTP_E_NONE), HTTP_RETRY);
	ck_assert_int_eq(http_classify(502, HTTP_E_NONE), HTTP_RETRY);
	ck_assert_int_eq(http_classify(503, HTTP_E_NONE), HTTP_RETRY);
	ck_assert_int_eq(http_classify(599, HTTP_E_NONE), HTTP_RETRY);
	ck_assert_int_eq(http_classify(408, HTTP_E_NONE), HTTP_RETRY);
	ck_assert_int_eq(http_classify(400, HTTP_E_NONE), HTTP_FINAL);
	ck_assert_int_eq(http_classify(401, HTTP_E_NONE), HTTP_FINAL);
	ck_assert_int_eq(http_classify(404, HTTP_E_NONE), HTTP_FINAL);
	ck_assert_int_eq(http_classify(409, HTTP_E_NONE), HTTP_FINAL);
	ck_assert_int_eq(http_classify(413, HTTP_E_NONE), HTTP_FINAL);
	ck_assert_int_eq(http_classify(422, HTTP_E_NONE), HTTP_FINAL);
	ck_assert_int_eq(http_classify(301, HTTP_E_NONE), HTTP_FINAL);
	ck_assert_int_eq(http_classify(100, HTTP_E_NONE), HTTP_FINAL);
	ck_assert_int_eq(http_classify(0, HTTP_E_CONNECT), HTTP_RETRY);
	ck_assert_int_eq(http_classify(0, HTTP_E_TIMEOUT), HTTP_RETRY);
	ck_assert_int_eq(http_classify(0, HTTP_E_IO), HTTP_RETRY);
	ck_assert_int_eq(http_classify(200, HTTP_E_CONTENT_TYPE), HTTP_RETRY);
	ck_assert_int_eq(http_classify(200, HTTP_E_TOO_BIG), HTTP_FINAL);
	ck_assert_int_eq(http_classify(200, HTTP_E_NOMEM), HTTP_FINAL);
}
END_TEST

START_TEST(test_offline_only_without_an_answer_or_from_a_gateway)
{
	ck_assert(http_means_offline(0, HTTP_E_CONNECT));
	ck_assert(http_means_offline(0, HTTP_E_TIMEOUT));
	ck_assert(http_means_offline(0, HTTP_E_IO));
	ck_assert(http_means_offline(200, HTTP_E_CONTENT_TYPE));
	ck_assert(http_means_offline(502, HTTP_E_NONE));
	ck_assert(http_means_offline(503, HTTP_E_NONE));
	ck_assert(http_means_offline(504, HTTP_E_NONE));
	/* answers from a cloud that is up */
	for (int s = 400; s < 500; s++)
		ck_assert_msg(!http_means_offline(s, HTTP_E_NONE), "%d", s);
	ck_assert(!http_means_offline(500, HTTP_E_NONE));
	ck_assert(!http_means_offline(200, HTTP_E_NONE));
	ck_assert(!http_means_offline(200, HTTP_E_TOO_BIG));
}
END_TEST

START_TEST(test_backoff_doubles_within_jitter_and_cap)
{
	/* nominal 1000, 2000, 4000, 8000, 16000, 30000, 30000 */
	static const int64_t nominal[] = { 1000, 2000, 4000, 8000, 16000, 30000, 30000 };

	for (int r = 0; r < 7; r++) {
		int64_t lo = http_backoff_ms(r, 1000, 30000, 0);
		int64_t hi = http_backoff_ms(r, 1000, 30000, 0xffffffffu);
		ck_assert_int_eq(lo, nominal[r] / 2);
		ck_assert_int_le(hi, nominal[r]);
		ck_assert_int_ge(hi, nominal[r] / 2);
		for (uint32_t x = 0; x < 2000; x += 7) {
			int64_t d = http_backoff_ms(r, 1000, 30000, x * 2654435761u);
			ck_assert(d >= nominal[r] / 2 && d <= nominal[r]);
		}
	}
	/* a large retry count cannot overflow */
	ck_assert_int_le(http_backoff_ms(200, 1000, 30000, 12345), 30000);
	ck_assert_int_ge(http_backoff_ms(0, 0, 0, 5), 0);
}
END_TEST

START_TEST(test_jitter_spreads)
{
	int64_t a = http_backoff_ms(2, 1000, 30000, 1), b = http_backoff_ms(2, 1000, 30000, 977);

	ck_assert_int_ne(a, b);
}
END_TEST

START_TEST(test_next_delay_honours_retry_after)
{
	/* shorter Retry-After: the backoff wins */
	ck_assert_int_eq(http_next_delay_ms(0, 1000, 30000, 100, 0), 500);
	/* longer one wins over the backoff */
	ck_assert_int_eq(http_next_delay_ms(0, 1000, 30000, 7000, 0), 7000);
	/* none */
	ck_assert_int_eq(http_next_delay_ms(1, 1000, 30000, -1, 0), 1000);
	/* beyond the cap: not retried here */
	ck_assert_int_eq(http_next_delay_ms(0, 1000, 30000, 30001, 0), -1);
	ck_assert_int_eq(http_next_delay_ms(0, 1000, 30000, 30000, 0), 30000);
}
END_TEST

START_TEST(test_retry_after_seconds)
{
	ck_assert_int_eq(http_retry_after_ms("0", 0), 0);
	ck_assert_int_eq(http_retry_after_ms("5", 0), 5000);
	ck_assert_int_eq(http_retry_after_ms(" 120 ", 0), 120000);
	ck_assert_int_eq(http_retry_after_ms("99999999999999999999", 0), 86400000);
	ck_assert_int_eq(http_retry_after_ms(NULL, 0), -1);
	ck_assert_int_eq(http_retry_after_ms("", 0), -1);
	ck_assert_int_eq(http_retry_after_ms("-1", 0), -1);
	ck_assert_int_eq(http_retry_after_ms("1.5", 0), -1);
	ck_assert_int_eq(http_retry_after_ms("5s", 0), -1);
	ck_assert_int_eq(http_retry_after_ms("soon", 0), -1);
}
END_TEST

START_TEST(test_http_dates)
{
	/* RFC 9110 5.6.7's example, 784111777 */
	ck_assert_int_eq(http_date_parse("Sun, 06 Nov 1994 08:49:37 GMT"), 784111777);
	ck_assert_int_eq(http_date_parse("Sunday, 06-Nov-94 08:49:37 GMT"), 784111777);
	ck_assert_int_eq(http_date_parse("Sun Nov  6 08:49:37 1994"), 784111777);
	ck_assert_int_eq(http_date_parse("Thu, 01 Jan 1970 00:00:00 GMT"), 0);
	ck_assert_int_eq(http_date_parse("Tue, 29 Feb 2028 23:59:59 GMT"), 1835481599);
	ck_assert_int_eq(http_date_parse("Sun, 06 Nov 1994 08:49:37 UTC"), -1);
	ck_assert_int_eq(http_date_parse("Sun, 6 Nov 1994 08:49:37 GMT"), -1);
	ck_assert_int_eq(http_date_parse("Sun, 06 Foo 1994 08:49:37 GMT"), -1);
	ck_assert_int_eq(http_date_parse("Sun, 06 Nov 1994 25:49:37 GMT"), -1);
	ck_assert_int_eq(http_date_parse("Sun, 06 Nov 1994 08:49:37 GMT junk"), -1);
	ck_assert_int_eq(http_date_parse("Sun, 06 Nov 1994"), -1);
	ck_assert_int_eq(http_date_parse(""), -1);
	/* as a Retry-After, relative to now */
	ck_assert_int_eq(http_retry_after_ms("Sun, 06 Nov 1994 08:49:37 GMT", 784111777 - 30),
	    30000);
	ck_assert_int_eq(http_retry_after_ms("Sun, 06 Nov 1994 08:49:37 GMT", 784111777 + 30), 0);
}
END_TEST

START_TEST(test_json_content_types)
{
	ck_assert(http_json_type(NULL));
	ck_assert(http_json_type("application/json"));
	ck_assert(http_json_type("Application/JSON; charset=utf-8"));
	ck_assert(http_json_type(" application/json ;charset=UTF-8"));
	ck_assert(http_json_type("text/json"));
	ck_assert(http_json_type("application/problem+json"));
	ck_assert(http_json_type("application/vnd.api+json; q=1"));
	ck_assert(!http_json_type("text/html"));
	ck_assert(!http_json_type("text/html; charset=utf-8"));
	ck_assert(!http_json_type("text/plain"));
	ck_assert(!http_json_type("application/jsonp"));
	ck_assert(!http_json_type("application/+json"));
	ck_assert(!http_json_type("application/xml"));
	ck_assert(!http_json_type(""));
}
END_TEST

START_TEST(test_excerpt)
{
	char out[32];

	http_excerpt("{\"error\":\"x\"}", 13, 200, out, sizeof(out));
	ck_assert_str_eq(out, "{\"error\":\"x\"}");
	http_excerpt("a\r\nb\x01\xc3\xa7", 7, 200, out, sizeof(out));
	ck_assert_str_eq(out, "a..b...");
	http_excerpt("0123456789", 10, 4, out, sizeof(out));
	ck_assert_str_eq(out, "0123...");
	http_excerpt("0123456789abcdef", 16, 200, out, 8);
	ck_assert_str_eq(out, "0123...");
	http_excerpt("", 0, 200, out, sizeof(out));
	ck_assert_str_eq(out, "");
}
END_TEST

static Suite *
suite(void)
{
	Suite *s = suite_create("http_retry");
	TCase *tc = tcase_create("policy");

	tcase_add_test(tc, test_classify);
	tcase_add_test(tc, test_offline_only_without_an_answer_or_from_a_gateway);
	tcase_add_test(tc, test_backoff_doubles_within_jitter_and_cap);
	tcase_add_test(tc, test_jitter_spreads);
	tcase_add_test(tc, test_next_delay_honours_retry_after);
	tcase_add_test(tc, test_retry_after_seconds);
	tcase_add_test(tc, test_http_dates);
	tcase_add_test(tc, test_json_content_types);
	tcase_add_test(tc, test_excerpt);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(suite());
	int nf;

	srunner_run_all(sr, CK_NORMAL);
	nf = srunner_ntests_failed(sr);
	srunner_free(sr);
	return nf == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
