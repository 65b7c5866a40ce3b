/*
 * The WebSocket opening handshake: request contents and the incremental
 * response parser, with bytes captured from python3-websockets 10.4.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "ws/ws_upgrade.h"
#include "ws/ws_url.h"

/* RFC 6455 section 1.3 sample key; python3-websockets answered it with: */
#define KEY "dGhlIHNhbXBsZSBub25jZQ=="
static const char captured_101[] =
    "HTTP/1.1 101 Switching Protocols\r\n"
    "Upgrade: websocket\r\n"
    "Connection: Upgrade\r\n"
    "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"
    "Date: Fri, 27 Nov 2026 16:10:11 GMT\r\n"
    "Server: Python/3.11 websockets/10.4\r\n"
    "\r\n"
    "\x81\x05hello";          /* the server's first frame, same read */
#define CAPTURED_HDR_LEN (sizeof(captured_101) - 1 - 7)

static char err[256];

static enum ws_upgrade_result
parse_all(const char *resp, size_t len, size_t *consumed)
{
	static struct ws_upgrade_parser p;

	ws_upgrade_parser_init(&p, KEY);
	err[0] = '\0';
	return ws_upgrade_parse(&p, (const uint8_t *)resp, len, consumed, err, sizeof(err));
}

static enum ws_upgrade_result
parse_str(const char *resp)
{
	size_t used;
	return parse_all(resp, strlen(resp), &used);
}

START_TEST(test_accept_for_rfc_sample)
{
	char acc[WS_ACCEPT_LEN + 1];

	ws_upgrade_accept_for(KEY, acc);
	ck_assert_str_eq(acc, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
}
END_TEST

START_TEST(test_key_is_16_random_bytes_base64)
{
	char k1[WS_KEY_LEN + 1], k2[WS_KEY_LEN + 1];
	unsigned char raw[32];

	ck_assert_int_eq(ws_upgrade_make_key(k1), 0);
	ck_assert_int_eq(ws_upgrade_make_key(k2), 0);
	ck_assert_uint_eq(strlen(k1), WS_KEY_LEN);
	ck_assert_str_eq(k1 + 22, "==");
	/* 16 + 2 pad */
	ck_assert_int_eq(EVP_DecodeBlock(raw, (unsigned char *)k1, WS_KEY_LEN), 18);
	ck_assert_str_ne(k1, k2);
}
END_TEST

static ssize_t
build(const char *url, const char *token, const char *edge, const char *site, char *buf,
    size_t size)
{
	static struct ws_url u;
	struct ws_upgrade_req rq = { &u, KEY, token, edge, site, "1.2.3" };

	ck_assert_int_eq(ws_url_parse(url, &u, err, sizeof(err)), 0);
	return ws_upgrade_build(&rq, buf, size, err, sizeof(err));
}

START_TEST(test_request_has_all_headers)
{
	char buf[2048];
	ssize_t n = build("wss://cloud.example.com/edge/ws?v=1", "s3cr3t", "edge-7", "site-3",
	    buf, sizeof(buf));

	ck_assert_int_gt(n, 0);
	ck_assert_uint_eq(strlen(buf), (size_t)n);
	ck_assert_ptr_eq(strstr(buf, "GET /edge/ws?v=1 HTTP/1.1\r\n"), buf);
	ck_assert_ptr_nonnull(strstr(buf, "\r\nHost: cloud.example.com\r\n"));
	ck_assert_ptr_nonnull(strstr(buf, "\r\nUpgrade: websocket\r\n"));
	ck_assert_ptr_nonnull(strstr(buf, "\r\nConnection: Upgrade\r\n"));
	ck_assert_ptr_nonnull(strstr(buf, "\r\nSec-WebSocket-Key: " KEY "\r\n"));
	ck_assert_ptr_nonnull(strstr(buf, "\r\nSec-WebSocket-Version: 13\r\n"));
	ck_assert_ptr_nonnull(strstr(buf, "\r\nX-Client-Type: edge\r\n"));
	ck_assert_ptr_nonnull(strstr(buf, "\r\nX-Client-Version: 1.2.3\r\n"));
	ck_assert_ptr_nonnull(strstr(buf, "\r\nX-Edge-Id: edge-7\r\n"));
	ck_assert_ptr_nonnull(strstr(buf, "\r\nX-Site-Id: site-3\r\n"));
	ck_assert_ptr_nonnull(strstr(buf, "\r\nAuthorization: Bearer s3cr3t\r\n"));
	ck_assert_str_eq(buf + n - 4, "\r\n\r\n");
	ck_assert_ptr_eq(strstr(buf, "\r\n\r\n"), buf + n - 4);   /* one blank line, at the end */
}
END_TEST

START_TEST(test_request_omits_unknown_identity_and_token)
{
	char buf[2048];

	ck_assert_int_gt(build("ws://10.0.0.5:8080", NULL, NULL, "", buf, sizeof(buf)), 0);
	ck_assert_ptr_nonnull(strstr(buf, "GET / HTTP/1.1\r\nHost: 10.0.0.5:8080\r\n"));
	ck_assert_ptr_null(strstr(buf, "X-Edge-Id"));
	ck_assert_ptr_null(strstr(buf, "X-Site-Id"));
	ck_assert_ptr_null(strstr(buf, "Authorization"));
}
END_TEST

START_TEST(test_request_ipv6_host_header)
{
	char buf[2048];

	ck_assert_int_gt(build("ws://[::1]:9000/x", NULL, NULL, NULL, buf, sizeof(buf)), 0);
	ck_assert_ptr_nonnull(strstr(buf, "\r\nHost: [::1]:9000\r\n"));
}
END_TEST

START_TEST(test_request_refuses_token_with_newline_without_echoing_it)
{
	char buf[2048];

	ck_assert_int_eq(build("ws://h/", "abc\r\nX-Evil: 1", NULL, NULL, buf, sizeof(buf)), -1);
	ck_assert_ptr_nonnull(strstr(err, "token"));
	ck_assert_ptr_null(strstr(err, "abc"));
}
END_TEST

START_TEST(test_request_refuses_edge_id_with_crlf)
{
	char buf[2048];

	ck_assert_int_eq(build("ws://h/", NULL, "e\r\nHost: x", NULL, buf, sizeof(buf)), -1);
	ck_assert_ptr_nonnull(strstr(err, "edge id"));
}
END_TEST

START_TEST(test_request_too_small_buffer)
{
	char buf[64];

	ck_assert_int_eq(build("ws://h/", NULL, NULL, NULL, buf, sizeof(buf)), -1);
	ck_assert_ptr_nonnull(strstr(err, "too large"));
}
END_TEST

START_TEST(test_captured_101_leaves_frame_bytes)
{
	size_t used = 0;

	ck_assert_int_eq(parse_all(captured_101, sizeof(captured_101) - 1, &used), WS_UPGRADE_DONE);
	ck_assert_uint_eq(used, CAPTURED_HDR_LEN);
	ck_assert_int_eq(memcmp(captured_101 + used, "\x81\x05hello", 7), 0);
}
END_TEST

/* Every two-read split of the response, including splits inside CRLFCRLF. */
START_TEST(test_101_split_at_every_byte)
{
	size_t total = sizeof(captured_101) - 1;

	for (size_t k = 1; k < total; k++) {
		struct ws_upgrade_parser p;
		size_t used1 = 0, used2 = 0;
		enum ws_upgrade_result r;

		ws_upgrade_parser_init(&p, KEY);
		r =
		    ws_upgrade_parse(&p, (const uint8_t *)captured_101, k, &used1, err,
		    sizeof(err));
		if (k >= CAPTURED_HDR_LEN) {
			ck_assert_msg(r == WS_UPGRADE_DONE, "split %zu: %d %s", k, r, err);
			ck_assert_uint_eq(used1, CAPTURED_HDR_LEN);
			continue;
		}
		ck_assert_msg(r == WS_UPGRADE_MORE, "split %zu: %d %s", k, r, err);
		ck_assert_uint_eq(used1, k);
		r = ws_upgrade_parse(&p, (const uint8_t *)captured_101 + k, total - k, &used2, err,
		    sizeof(err));
		ck_assert_msg(r == WS_UPGRADE_DONE, "split %zu: %d %s", k, r, err);
		ck_assert_uint_eq(used1 + used2, CAPTURED_HDR_LEN);
	}
}
END_TEST

START_TEST(test_101_one_byte_per_read)
{
	struct ws_upgrade_parser p;
	size_t used = 0, i;
	enum ws_upgrade_result r = WS_UPGRADE_MORE;

	ws_upgrade_parser_init(&p, KEY);
	for (i = 0; i < CAPTURED_HDR_LEN && r == WS_UPGRADE_MORE; i++)
		r =
		    ws_upgrade_parse(&p, (const uint8_t *)captured_101 + i, 1, &used, err,
		    sizeof(err));
	ck_assert_int_eq(r, WS_UPGRADE_DONE);
	ck_assert_uint_eq(i, CAPTURED_HDR_LEN);
	ck_assert_uint_eq(used, 1);
}
END_TEST

START_TEST(test_wrong_accept_key)
{
	ck_assert_int_eq(parse_str("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
	    "Connection: Upgrade\r\nSec-WebSocket-Accept: AAAAAAAAAAAAAAAAAAAAAAAAAAA=\r\n\r\n"),
	    WS_UPGRADE_ERROR);
	ck_assert_str_eq(err, "Sec-WebSocket-Accept mismatch");
}
END_TEST

START_TEST(test_missing_accept)
{
	ck_assert_int_eq(parse_str("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
	    "Connection: Upgrade\r\n\r\n"), WS_UPGRADE_ERROR);
	ck_assert_str_eq(err, "upgrade response lacks Sec-WebSocket-Accept");
}
END_TEST

START_TEST(test_missing_upgrade)
{
	ck_assert_int_eq(parse_str("HTTP/1.1 101 Switching Protocols\r\n"
	    "Connection: Upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n"),
	    WS_UPGRADE_ERROR);
	ck_assert_str_eq(err, "upgrade response lacks \"Upgrade: websocket\"");
}
END_TEST

START_TEST(test_upgrade_to_other_protocol)
{
	ck_assert_int_eq(parse_str("HTTP/1.1 101 Switching Protocols\r\nUpgrade: h2c\r\n"
	    "Connection: Upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n"),
	    WS_UPGRADE_ERROR);
	ck_assert_str_eq(err, "upgrade response lacks \"Upgrade: websocket\"");
}
END_TEST

START_TEST(test_missing_connection)
{
	ck_assert_int_eq(parse_str("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
	    "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n"), WS_UPGRADE_ERROR);
	ck_assert_str_eq(err, "upgrade response lacks \"Connection: upgrade\"");
}
END_TEST

START_TEST(test_connection_token_list_and_case)
{
	ck_assert_int_eq(parse_str("HTTP/1.1 101 OK\r\nupgrade:WebSocket\r\n"
	    "CONNECTION: keep-alive ,  UPGRADE\r\nsec-websocket-accept:   "
	    "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=  \r\n\r\n"), WS_UPGRADE_DONE);
}
END_TEST

START_TEST(test_connection_substring_is_not_the_token)
{
	ck_assert_int_eq(parse_str("HTTP/1.1 101 OK\r\nUpgrade: websocket\r\n"
	    "Connection: upgraded\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n"),
	    WS_UPGRADE_ERROR);
	ck_assert_str_eq(err, "upgrade response lacks \"Connection: upgrade\"");
}
END_TEST

START_TEST(test_401_refused_with_status_line)
{
	ck_assert_int_eq(parse_str("HTTP/1.1 401 Unauthorized\r\nContent-Length: 0\r\n\r\n"),
	    WS_UPGRADE_ERROR);
	ck_assert_str_eq(err, "upgrade refused: HTTP/1.1 401 Unauthorized");
}
END_TEST

/* A refusal is final as soon as the status line is in: no need to wait for
 * a header (or body) that may never end. */
START_TEST(test_503_refused_before_header_ends)
{
	struct ws_upgrade_parser p;
	size_t used;
	const char *part = "HTTP/1.1 503 Service Unavailable\r\nRetry-Af";

	ws_upgrade_parser_init(&p, KEY);
	ck_assert_int_eq(ws_upgrade_parse(&p, (const uint8_t *)part, strlen(part), &used, err,
	    sizeof(err)), WS_UPGRADE_ERROR);
	ck_assert_str_eq(err, "upgrade refused: HTTP/1.1 503 Service Unavailable");
}
END_TEST

START_TEST(test_404_status_line_control_chars_sanitized)
{
	ck_assert_int_eq(parse_str("HTTP/1.1 404 Not\x1b[31mFound\r\n\r\n"), WS_UPGRADE_ERROR);
	ck_assert_str_eq(err, "upgrade refused: HTTP/1.1 404 Not?[31mFound");
}
END_TEST

START_TEST(test_200_ok_is_refusal)
{
	ck_assert_int_eq(parse_str("HTTP/1.0 200 OK\r\n\r\n"), WS_UPGRADE_ERROR);
	ck_assert_str_eq(err, "upgrade refused: HTTP/1.0 200 OK");
}
END_TEST

START_TEST(test_bad_status_line)
{
	ck_assert_int_eq(parse_str("SSH-2.0-OpenSSH_9.2\r\n"), WS_UPGRADE_ERROR);
	ck_assert_ptr_nonnull(strstr(err, "bad upgrade response status line"));
}
END_TEST

START_TEST(test_status_line_without_newline_bounded)
{
	char big[1024];

	memset(big, 'H', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	ck_assert_int_eq(parse_str(big), WS_UPGRADE_ERROR);
	ck_assert_str_eq(err, "upgrade response status line too long");
}
END_TEST

START_TEST(test_header_too_large)
{
	struct ws_upgrade_parser p;
	size_t used;
	const char *st = "HTTP/1.1 101 Switching Protocols\r\n";
	const char *h = "X-Filler: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n";
	enum ws_upgrade_result r;
	size_t fed = 0;

	ws_upgrade_parser_init(&p, KEY);
	r = ws_upgrade_parse(&p, (const uint8_t *)st, strlen(st), &used, err, sizeof(err));
	fed += strlen(st);
	while (r == WS_UPGRADE_MORE && fed < 100000) {
		r = ws_upgrade_parse(&p, (const uint8_t *)h, strlen(h), &used, err, sizeof(err));
		fed += strlen(h);
	}
	ck_assert_int_eq(r, WS_UPGRADE_ERROR);
	ck_assert_str_eq(err, "upgrade response too large (limit 8192 bytes)");
	ck_assert_uint_le(fed, WS_UPGRADE_MAX_HDR + strlen(h));
}
END_TEST

START_TEST(test_header_of_exactly_the_limit_is_accepted)
{
	static char resp[WS_UPGRADE_MAX_HDR + 1];
	const char *head = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
	    "Connection: Upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\nX-Pad: ";
	size_t hl = strlen(head), used;

	memcpy(resp, head, hl);
	memset(resp + hl, 'p', WS_UPGRADE_MAX_HDR - hl - 4);
	memcpy(resp + WS_UPGRADE_MAX_HDR - 4, "\r\n\r\n", 4);
	ck_assert_int_eq(parse_all(resp, WS_UPGRADE_MAX_HDR, &used), WS_UPGRADE_DONE);
	ck_assert_uint_eq(used, WS_UPGRADE_MAX_HDR);
	resp[WS_UPGRADE_MAX_HDR - 4] = 'p';  /* the end now needs one byte more */
	memcpy(resp + WS_UPGRADE_MAX_HDR - 3, "\r\n\r", 3);
	ck_assert_int_eq(parse_all(resp, WS_UPGRADE_MAX_HDR, &used), WS_UPGRADE_ERROR);
}
END_TEST

START_TEST(test_unoffered_extension_refused)
{
	ck_assert_int_eq(parse_str("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
	    "Connection: Upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"
	    "Sec-WebSocket-Extensions: permessage-deflate\r\n\r\n"), WS_UPGRADE_ERROR);
	ck_assert_str_eq(err, "server selected a WebSocket extension we did not offer");
}
END_TEST

START_TEST(test_duplicate_accept_refused)
{
	ck_assert_int_eq(parse_str("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
	    "Connection: Upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"
	    "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n"), WS_UPGRADE_ERROR);
	ck_assert_str_eq(err, "upgrade response has Sec-WebSocket-Accept twice");
}
END_TEST

START_TEST(test_bare_lf_lines_refused)
{
	ck_assert_int_eq(parse_str("HTTP/1.1 101 Switching Protocols\nUpgrade: websocket\n\n"),
	    WS_UPGRADE_ERROR);
	ck_assert_str_eq(err, "upgrade response status line not ended by CRLF");
	ck_assert_int_eq(parse_str("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\n"
	    "Connection: Upgrade\r\n\r\n"), WS_UPGRADE_ERROR);
	ck_assert_str_eq(err, "upgrade response line not ended by CRLF");
}
END_TEST

START_TEST(test_folded_header_refused)
{
	ck_assert_int_eq(parse_str("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
	    " , x\r\n\r\n"), WS_UPGRADE_ERROR);
	ck_assert_str_eq(err, "folded header line in upgrade response");
}
END_TEST

START_TEST(test_nul_in_header_refused)
{
	static const char r[] = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\0\r\n"
	    "Connection: Upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n";
	size_t used;

	ck_assert_int_eq(parse_all(r, sizeof(r) - 1, &used), WS_UPGRADE_ERROR);
	ck_assert_str_eq(err, "NUL byte in upgrade response header");
}
END_TEST

static Suite *
suite(void)
{
	Suite *s = suite_create("ws_upgrade");
	TCase *tc = tcase_create("request");

	tcase_add_test(tc, test_accept_for_rfc_sample);
	tcase_add_test(tc, test_key_is_16_random_bytes_base64);
	tcase_add_test(tc, test_request_has_all_headers);
	tcase_add_test(tc, test_request_omits_unknown_identity_and_token);
	tcase_add_test(tc, test_request_ipv6_host_header);
	tcase_add_test(tc, test_request_refuses_token_with_newline_without_echoing_it);
	tcase_add_test(tc, test_request_refuses_edge_id_with_crlf);
	tcase_add_test(tc, test_request_too_small_buffer);
	suite_add_tcase(s, tc);

	tc = tcase_create("response");
	tcase_add_test(tc, test_captured_101_leaves_frame_bytes);
	tcase_add_test(tc, test_101_split_at_every_byte);
	tcase_add_test(tc, test_101_one_byte_per_read);
	tcase_add_test(tc, test_wrong_accept_key);
	tcase_add_test(tc, test_missing_accept);
	tcase_add_test(tc, test_missing_upgrade);
	tcase_add_test(tc, test_upgrade_to_other_protocol);
	tcase_add_test(tc, test_missing_connection);
	tcase_add_test(tc, test_connection_token_list_and_case);
	tcase_add_test(tc, test_connection_substring_is_not_the_token);
	tcase_add_test(tc, test_401_refused_with_status_line);
	tcase_add_test(tc, test_503_refused_before_header_ends);
	tcase_add_test(tc, test_404_status_line_control_chars_sanitized);
	tcase_add_test(tc, test_200_ok_is_refusal);
	tcase_add_test(tc, test_bad_status_line);
	tcase_add_test(tc, test_status_line_without_newline_bounded);
	tcase_add_test(tc, test_header_too_large);
	tcase_add_test(tc, test_header_of_exactly_the_limit_is_accepted);
	tcase_add_test(tc, test_unoffered_extension_refused);
	tcase_add_test(tc, test_duplicate_accept_refused);
	tcase_add_test(tc, test_bare_lf_lines_refused);
	tcase_add_test(tc, test_folded_header_refused);
	tcase_add_test(tc, test_nul_in_header_refused);
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
