/*
 * lib/http over TLS: a CA file, keep-alive, an unknown CA, a pin mismatch
 * refused before any request byte, a wrong host name.
 */
#include "http_client_support.h"

START_TEST(test_tls_with_ca_file)
{
	tls_client(cert_path, NULL);
	get("/json", 0);
	get("/json", 1);
	wait_results(2, 3000);
	ck_assert_msg(got[0].ok, "%s", got[0].text);
	ck_assert_msg(got[1].ok, "%s", got[1].text);
	ck_assert_str_eq(got[0].body, "{\"ok\":true}");
}
END_TEST

START_TEST(test_tls_keepalive_reused)
{
	tls_client(cert_path, pin_b64);
	for (int i = 0; i < 3; i++) {
		get("/json", i);
		wait_results(i + 1, 3000);
		ck_assert_msg(got[i].ok, "%s", got[i].text);
	}
	ck_assert_int_eq(srv.conns, 1);
}
END_TEST

START_TEST(test_tls_unknown_ca_refused)
{
	tls_client(NULL, NULL);   /* the system store */
	get("/json", 0);
	wait_results(1, 3000);
	ck_assert_int_eq(got[0].error, HTTP_E_CONNECT);
	ck_assert_msg(strstr(got[0].text, "certificate verify failed") != NULL, "%s", got[0].text);
	ck_assert_int_eq(srv.requests, 0);
}
END_TEST

START_TEST(test_tls_pin_mismatch_refused_before_any_request)
{
	tls_client(cert_path, "7axwm54O3XPFEbUXE16xtH/50Ts+FMhBRR7VCVEuJsk=");
	get("/json", 0);
	wait_results(1, 3000);
	ck_assert_int_eq(got[0].error, HTTP_E_CONNECT);
	ck_assert_msg(strstr(got[0].text, "pin mismatch: server key is sha256//") != NULL, "%s",
	    got[0].text);
	ck_assert_ptr_nonnull(strstr(got[0].text, pin_b64));
	ck_assert_int_eq(srv.requests, 0);
}
END_TEST

START_TEST(test_tls_wrong_host_refused)
{
	char url[64];
	struct http_client_opts o = { .ca_file = cert_path, .max_attempts = 1 };

	/* the certificate names 127.0.0.1 and localhost, not 127.0.0.2 */
	snprintf(url, sizeof(url), "https://127.0.0.2:%d/x", srv.port);
	o.url = url;
	evhttp_bind_socket(srv.http, "127.0.0.2", (uint16_t)srv.port);
	client_opts(&o);
	get("/json", 0);
	wait_results(1, 3000);
	ck_assert_int_eq(got[0].error, HTTP_E_CONNECT);
	ck_assert_ptr_nonnull(strstr(got[0].text, "certificate verify failed"));
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
	suite_add_tcase(s, tc);

	tcase_add_checked_fixture(tt, tls_setup, tls_teardown);
	tcase_set_timeout(tt, 20);
	tcase_add_test(tt, test_tls_with_ca_file);
	tcase_add_test(tt, test_tls_keepalive_reused);
	tcase_add_test(tt, test_tls_unknown_ca_refused);
	tcase_add_test(tt, test_tls_pin_mismatch_refused_before_any_request);
	tcase_add_test(tt, test_tls_wrong_host_refused);
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
