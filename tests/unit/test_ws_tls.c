/*
 * TLS helpers of the cloud link that need no network: pin parsing in every
 * accepted spelling, the SPKI hash of a fixed certificate (value computed
 * with the openssl CLI), and the context's policy (TLS 1.2 minimum, peer
 * verification on, CA file errors named).
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/pem.h>

#include "ws/ws_tls.h"

/* openssl req -x509 -newkey ec (P-256) -subj /CN=pin.fixture; its pin by
 *   openssl x509 -pubkey -noout | openssl pkey -pubin -outform der |
 *   openssl dgst -sha256 -binary | base64 */
static const char fixture_pem[] =
    "-----BEGIN CERTIFICATE-----\n"
    "MIIBgzCCASmgAwIBAgIUbb3FEGKJSilI1eOPl8LMgrOuK90wCgYIKoZIzj0EAwIw\n"
    "FjEUMBIGA1UEAwwLcGluLmZpeHR1cmUwIBcNMjYxMTI3MTYzMzEyWhgPMjEyNjEx\n"
    "MDMxNjMzMTJaMBYxFDASBgNVBAMMC3Bpbi5maXh0dXJlMFkwEwYHKoZIzj0CAQYI\n"
    "KoZIzj0DAQcDQgAE+IR2aVYzugMAbicwG0/HzZsSxqYn7G3otxOyb/h62gsxOgB+\n"
    "91hLhnrD+NpoQ9bdEI5lsXo5cAWWRXbzJfcvqKNTMFEwHQYDVR0OBBYEFLUDbLhB\n"
    "BOdQ5KGn0QkGDB78M2X4MB8GA1UdIwQYMBaAFLUDbLhBBOdQ5KGn0QkGDB78M2X4\n"
    "MA8GA1UdEwEB/wQFMAMBAf8wCgYIKoZIzj0EAwIDSAAwRQIhAI4C8eTcc5SPF6QF\n"
    "wmoVu0ZWZd0vtNvZm+ipuQ4ffEmxAiBfKJoDLAw20XiyoI8Z+kcYIs9gHFKecKSU\n"
    "WK5/DRmcdw==\n"
    "-----END CERTIFICATE-----\n";
#define FIXTURE_PIN_B64 "7axwm54O3XPFEbUXE16xtH/50Ts+FMhBRR7VCVEuJsk="
#define FIXTURE_PIN_HEX "edac709b9e0edd73c511b517135eb1b47ff9d13b3e14c841451ed509512e26c9"
static const unsigned char fixture_pin[WS_PIN_LEN] = {
	0xed, 0xac, 0x70, 0x9b, 0x9e, 0x0e, 0xdd, 0x73, 0xc5, 0x11, 0xb5, 0x17, 0x13, 0x5e, 0xb1,
	0xb4, 0x7f, 0xf9, 0xd1, 0x3b, 0x3e, 0x14, 0xc8, 0x41, 0x45, 0x1e, 0xd5, 0x09, 0x51, 0x2e,
	0x26, 0xc9,
};

static char err[256];

START_TEST(test_spki_sha256_of_fixture)
{
	BIO *b = BIO_new_mem_buf(fixture_pem, -1);
	X509 *x = PEM_read_bio_X509(b, NULL, NULL, NULL);
	unsigned char got[WS_PIN_LEN];

	ck_assert_ptr_nonnull(x);
	ck_assert_int_eq(ws_tls_spki_sha256(x, got), 0);
	ck_assert_int_eq(memcmp(got, fixture_pin, WS_PIN_LEN), 0);
	X509_free(x);
	BIO_free(b);
}
END_TEST

static void
pin_ok(const char *s)
{
	unsigned char pin[WS_PIN_LEN];

	ck_assert_msg(ws_tls_pin_parse(s, pin, err, sizeof(err)) == 0, "%s: %s", s, err);
	ck_assert_int_eq(memcmp(pin, fixture_pin, WS_PIN_LEN), 0);
}

START_TEST(test_pin_base64)
{
	pin_ok(FIXTURE_PIN_B64);
}
END_TEST

START_TEST(test_pin_curl_style_prefix)
{
	pin_ok("sha256//" FIXTURE_PIN_B64);
}
END_TEST

START_TEST(test_pin_hex_lower_upper_and_colons)
{
	pin_ok(FIXTURE_PIN_HEX);
	pin_ok("EDAC709B9E0EDD73C511B517135EB1B47FF9D13B3E14C841451ED509512E26C9");
	pin_ok("ed:ac:70:9b:9e:0e:dd:73:c5:11:b5:17:13:5e:b1:b4:7f:f9:d1:3b:3e:14:c8:41:45:1e:"
	    "d5:09:51:2e:26:c9");
}
END_TEST

static void
pin_bad(const char *s)
{
	unsigned char pin[WS_PIN_LEN];

	ck_assert_msg(ws_tls_pin_parse(s, pin, err, sizeof(err)) == -1, "accepted %s", s);
	ck_assert_ptr_nonnull(strstr(err, "pin_sha256: expected SHA-256"));
}

START_TEST(test_pin_wrong_lengths_refused)
{
	pin_bad("");
	pin_bad("abcd");
	pin_bad(FIXTURE_PIN_HEX "00");                              /* 33 bytes */
	pin_bad("edac709b9e0edd73c511b517135eb1b47ff9d13b3e14c841451ed509512e26c");  /* 63 */
	pin_bad("7axwm54O3XPFEbUXE16xtH/50Ts+FMhBRR7VCVEuJs==");      /* 31 bytes */
}
END_TEST

START_TEST(test_pin_bad_characters_refused)
{
	pin_bad("zdac709b9e0edd73c511b517135eb1b47ff9d13b3e14c841451ed509512e26c9");
	pin_bad("7axwm54O3XPFEbUXE16xtH/50Ts+FMhBRR7VCVEu!sk=");
	pin_bad("e:dac709b9e0edd73c511b517135eb1b47ff9d13b3e14c841451ed509512e26c9");
}
END_TEST

START_TEST(test_ctx_policy)
{
	SSL_CTX *ctx = ws_tls_ctx_new(NULL, err, sizeof(err));

	ck_assert_msg(ctx != NULL, "%s", err);
	ck_assert_int_eq(SSL_CTX_get_min_proto_version(ctx), TLS1_2_VERSION);
	ck_assert_int_eq(SSL_CTX_get_verify_mode(ctx) & SSL_VERIFY_PEER, SSL_VERIFY_PEER);
	SSL_CTX_free(ctx);
}
END_TEST

START_TEST(test_ctx_missing_ca_file_named)
{
	ck_assert_ptr_null(ws_tls_ctx_new("/nonexistent/ca.pem", err, sizeof(err)));
	ck_assert_ptr_nonnull(strstr(err, "ca_file /nonexistent/ca.pem: cannot load"));
}
END_TEST

START_TEST(test_ssl_sets_sni_for_names_only)
{
	SSL_CTX *ctx = ws_tls_ctx_new(NULL, err, sizeof(err));
	SSL *s1 = ws_tls_ssl_new(ctx, "cloud.example.com", err, sizeof(err));
	SSL *s2 = ws_tls_ssl_new(ctx, "10.0.0.1", err, sizeof(err));

	ck_assert_ptr_nonnull(s1);
	ck_assert_ptr_nonnull(s2);
	ck_assert_str_eq(SSL_get_servername(s1, TLSEXT_NAMETYPE_host_name), "cloud.example.com");
	ck_assert_ptr_null(SSL_get_servername(s2, TLSEXT_NAMETYPE_host_name));
	SSL_free(s1);
	SSL_free(s2);
	SSL_CTX_free(ctx);
}
END_TEST

static Suite *
suite(void)
{
	Suite *s = suite_create("ws_tls");
	TCase *tc = tcase_create("pin");

	tcase_add_test(tc, test_spki_sha256_of_fixture);
	tcase_add_test(tc, test_pin_base64);
	tcase_add_test(tc, test_pin_curl_style_prefix);
	tcase_add_test(tc, test_pin_hex_lower_upper_and_colons);
	tcase_add_test(tc, test_pin_wrong_lengths_refused);
	tcase_add_test(tc, test_pin_bad_characters_refused);
	suite_add_tcase(s, tc);
	tc = tcase_create("context");
	tcase_add_test(tc, test_ctx_policy);
	tcase_add_test(tc, test_ctx_missing_ca_file_named);
	tcase_add_test(tc, test_ssl_sets_sni_for_names_only);
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
