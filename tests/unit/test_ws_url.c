/*
 * ws:// and wss:// URL parsing (and its http:// / https:// twin for lib/http):
 * defaults, IPv6 literals, and the errors an operator sees for a mistyped
 * cloud.url.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "ws/ws_url.h"

static struct ws_url u;
static char err[256];

static int
parse(const char *s)
{
	err[0] = '\0';
	return ws_url_parse(s, &u, err, sizeof(err));
}

START_TEST(test_ws_default_port_80_and_root_path)
{
	ck_assert_int_eq(parse("ws://cloud.example.com"), 0);
	ck_assert(!u.tls);
	ck_assert_str_eq(u.host, "cloud.example.com");
	ck_assert_uint_eq(u.port, 80);
	ck_assert_str_eq(u.path, "/");
	ck_assert_str_eq(u.host_header, "cloud.example.com");
}
END_TEST

START_TEST(test_wss_default_port_443)
{
	ck_assert_int_eq(parse("wss://cloud.example.com/edge/ws"), 0);
	ck_assert(u.tls);
	ck_assert_uint_eq(u.port, 443);
	ck_assert_str_eq(u.path, "/edge/ws");
	ck_assert_str_eq(u.host_header, "cloud.example.com");
}
END_TEST

START_TEST(test_scheme_is_case_insensitive)
{
	ck_assert_int_eq(parse("WSS://h/"), 0);
	ck_assert(u.tls);
}
END_TEST

START_TEST(test_explicit_port_in_host_header)
{
	ck_assert_int_eq(parse("wss://10.1.2.3:8443/a/b?x=1&y=2"), 0);
	ck_assert_str_eq(u.host, "10.1.2.3");
	ck_assert_uint_eq(u.port, 8443);
	ck_assert_str_eq(u.path, "/a/b?x=1&y=2");
	ck_assert_str_eq(u.host_header, "10.1.2.3:8443");
}
END_TEST

START_TEST(test_default_port_written_out_is_omitted_from_host_header)
{
	ck_assert_int_eq(parse("ws://h:80/"), 0);
	ck_assert_str_eq(u.host_header, "h");
}
END_TEST

START_TEST(test_ipv6_literal_with_port)
{
	ck_assert_int_eq(parse("ws://[::1]:8080/ws"), 0);
	ck_assert(u.ipv6);
	ck_assert_str_eq(u.host, "::1");
	ck_assert_uint_eq(u.port, 8080);
	ck_assert_str_eq(u.path, "/ws");
	ck_assert_str_eq(u.host_header, "[::1]:8080");
}
END_TEST

START_TEST(test_ipv6_literal_default_port)
{
	ck_assert_int_eq(parse("wss://[2001:db8::7]"), 0);
	ck_assert_str_eq(u.host, "2001:db8::7");
	ck_assert_uint_eq(u.port, 443);
	ck_assert_str_eq(u.host_header, "[2001:db8::7]");
}
END_TEST

START_TEST(test_query_without_path)
{
	ck_assert_int_eq(parse("ws://h?edge=1"), 0);
	ck_assert_str_eq(u.path, "/?edge=1");
}
END_TEST

#define BAD(name, url, why)                                   \
	START_TEST(name)                                      \
	{                                                     \
		ck_assert_int_eq(parse(url), -1);             \
		ck_assert_msg(strstr(err, why) != NULL, "%s", err); \
	}                                                     \
	END_TEST

BAD(test_http_scheme_refused, "http://h/", "scheme must be ws:// or wss://")
BAD(test_empty_refused, "", "empty")
BAD(test_missing_host, "ws:///path", "missing host")
BAD(test_port_zero, "ws://h:0/", "port out of range")
BAD(test_port_too_big, "ws://h:65536/", "port out of range")
BAD(test_port_not_numeric, "ws://h:http/", "missing or non-numeric port")
BAD(test_port_empty, "ws://h:/", "missing or non-numeric port")
BAD(test_unclosed_ipv6, "ws://[::1:80/", "missing ']'")
BAD(test_bad_ipv6, "ws://[fe80::zz]/", "bad IPv6 address")
BAD(test_unbracketed_ipv6, "ws://::1/", "missing host")
BAD(test_userinfo_refused, "wss://user:pw@h/", "user info")
BAD(test_space_refused, "ws://h/a b", "space or control character")
BAD(test_fragment_refused, "ws://h/#x", "fragment")
BAD(test_bad_host_char, "ws://h%41/", "bad character in host name")
BAD(test_garbage_after_ipv6, "ws://[::1]x/", "unexpected character after host/port")

START_TEST(test_error_quotes_url_truncated)
{
	char big[600];

	memset(big, 'a', sizeof(big));
	memcpy(big, "ftp://", 6);
	big[sizeof(big) - 1] = '\0';
	ck_assert_int_eq(parse(big), -1);
	ck_assert_ptr_nonnull(strstr(err, "...\": scheme must be"));
	ck_assert_uint_lt(strlen(err), 160);
}
END_TEST

/* The same parser serves the REST client's http:// and https:// URLs. */
START_TEST(test_http_variant)
{
	ck_assert_int_eq(ws_url_parse_http("https://api.carnitrack.com/api/v1", &u, err,
	    sizeof(err)), 0);
	ck_assert(u.tls);
	ck_assert_uint_eq(u.port, 443);
	ck_assert_str_eq(u.path, "/api/v1");
	ck_assert_int_eq(ws_url_parse_http("HTTP://[::1]:4000/api/v1/edge/", &u, err,
	    sizeof(err)), 0);
	ck_assert(!u.tls);
	ck_assert_str_eq(u.host_header, "[::1]:4000");
	ck_assert_int_eq(ws_url_parse_http("wss://x/", &u, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "scheme must be http:// or https://"));
	ck_assert_int_eq(ws_url_parse_http("http://x/#f", &u, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "not allowed in a cloud URL"));
	ck_assert_int_eq(ws_url_parse("https://x/", &u, err, sizeof(err)), -1);
}
END_TEST

START_TEST(test_host_too_long)
{
	char big[400] = "ws://";

	memset(big + 5, 'a', 300);
	big[305] = '\0';
	ck_assert_int_eq(parse(big), -1);
	ck_assert_ptr_nonnull(strstr(err, "host name too long"));
}
END_TEST

static Suite *
suite(void)
{
	Suite *s = suite_create("ws_url");
	TCase *tc = tcase_create("good");

	tcase_add_test(tc, test_ws_default_port_80_and_root_path);
	tcase_add_test(tc, test_wss_default_port_443);
	tcase_add_test(tc, test_scheme_is_case_insensitive);
	tcase_add_test(tc, test_explicit_port_in_host_header);
	tcase_add_test(tc, test_default_port_written_out_is_omitted_from_host_header);
	tcase_add_test(tc, test_ipv6_literal_with_port);
	tcase_add_test(tc, test_ipv6_literal_default_port);
	tcase_add_test(tc, test_query_without_path);
	suite_add_tcase(s, tc);

	tc = tcase_create("bad");
	tcase_add_test(tc, test_http_scheme_refused);
	tcase_add_test(tc, test_empty_refused);
	tcase_add_test(tc, test_missing_host);
	tcase_add_test(tc, test_port_zero);
	tcase_add_test(tc, test_port_too_big);
	tcase_add_test(tc, test_port_not_numeric);
	tcase_add_test(tc, test_port_empty);
	tcase_add_test(tc, test_unclosed_ipv6);
	tcase_add_test(tc, test_bad_ipv6);
	tcase_add_test(tc, test_unbracketed_ipv6);
	tcase_add_test(tc, test_userinfo_refused);
	tcase_add_test(tc, test_space_refused);
	tcase_add_test(tc, test_fragment_refused);
	tcase_add_test(tc, test_bad_host_char);
	tcase_add_test(tc, test_garbage_after_ipv6);
	tcase_add_test(tc, test_error_quotes_url_truncated);
	tcase_add_test(tc, test_host_too_long);
	tcase_add_test(tc, test_http_variant);
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
