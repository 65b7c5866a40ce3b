/*
 * lib/cloudmsg, decoding what clouds actually send (issue 12): strict where
 * a value is acted on (bounds, depth, duplicate keys, NUL), liberal where
 * the contract leaves room (ids as numbers, timestamps, aliases, status
 * spellings, snake_case registration replies).
 */
#include "cloudmsg_support.h"

START_TEST(test_decode_missing_type_fails)
{
	struct cm_msg m;
	char err[CM_ERR_MAX] = "";

	ck_assert_int_eq(dec("{\"payload\":{}}", &m, err), -1);
	ck_assert_str_eq(err, "type: missing");
	ck_assert_int_eq(dec("{\"type\":5,\"payload\":{}}", &m, err), -1);
	ck_assert_str_eq(err, "type: expected a string");
}
END_TEST

START_TEST(test_decode_payload_not_object_fails)
{
	struct cm_msg m;
	char err[CM_ERR_MAX] = "";

	ck_assert_int_eq(dec("{\"type\":\"event_ack\",\"payload\":\"x\"}", &m, err), -1);
	ck_assert_str_eq(err, "payload: expected an object");
	ck_assert_int_eq(dec("{\"type\":\"event_ack\"}", &m, err), -1);
	ck_assert_str_eq(err, "payload: missing");
}
END_TEST

START_TEST(test_decode_non_object_and_garbage_fail)
{
	struct cm_msg m;
	char err[CM_ERR_MAX] = "";

	ck_assert_int_eq(dec("[1,2,3]", &m, err), -1);
	ck_assert_str_eq(err, "message is not a JSON object");
	ck_assert_int_eq(dec("{\"type\":\"ping\"", &m, err), -1);
	ck_assert_msg(strncmp(err, "invalid JSON", 12) == 0, "%s", err);
	ck_assert_int_eq(cm_decode("", 0, &m, err, sizeof(err)), -1);
}
END_TEST

START_TEST(test_decode_duplicate_keys_fail)
{
	struct cm_msg m;
	char err[CM_ERR_MAX] = "";

	ck_assert_int_eq(dec("{\"type\":\"ping\",\"type\":\"event_ack\"}", &m, err), -1);
}
END_TEST

START_TEST(test_decode_embedded_nul_fails)
{
	struct cm_msg m;
	char err[CM_ERR_MAX] = "";

	ck_assert_int_eq(dec("{\"type\":\"session_ended\",\"payload\":{\"cloudSessionId\":"
	    "\"a\\u0000b\",\"deviceId\":\"D\"}}", &m, err), -1);
}
END_TEST

START_TEST(test_decode_too_deep_fails_before_parsing)
{
	struct cm_msg m;
	char err[CM_ERR_MAX] = "";
	char buf[256] = "{\"type\":\"ping\",\"payload\":";
	size_t n = strlen(buf);

	for (int i = 0; i < CM_MAX_DEPTH; i++)
		buf[n++] = '[';
	buf[n] = '\0';
	ck_assert_int_eq(dec(buf, &m, err), -1);
	ck_assert_str_eq(err, "message nests deeper than 32");
}
END_TEST

START_TEST(test_decode_depth_ignores_brackets_in_strings)
{
	struct cm_msg m;
	char err[CM_ERR_MAX] = "";
	char buf[512] = "{\"type\":\"ping\",\"x\":\"";
	size_t n = strlen(buf);

	for (int i = 0; i < 100; i++)
		buf[n++] = '[';
	strcpy(buf + n, "\\\"{\"}");
	ck_assert_int_eq(dec(buf, &m, err), 0);
	ck_assert_int_eq(m.type, CM_PING);
}
END_TEST

START_TEST(test_decode_oversized_fails_unparsed)
{
	struct cm_msg m;
	char err[CM_ERR_MAX] = "";
	size_t n = CM_MAX_MSG + 1;
	char *big = malloc(n);

	ck_assert_ptr_nonnull(big);
	memset(big, ' ', n);
	ck_assert_int_eq(cm_decode(big, n, &m, err, sizeof(err)), -1);
	ck_assert_msg(strstr(err, "exceeds the limit") != NULL, "%s", err);
	free(big);
}
END_TEST

START_TEST(test_decode_ids_as_numbers)
{
	struct cm_msg m;
	char err[CM_ERR_MAX] = "";

	ck_assert_int_eq(dec("{\"type\":\"event_ack\",\"messageId\":9001,\"payload\":"
	    "{\"localEventId\":"
	    "\"0b6f7a1e-3c2d-4e5f-8a9b-0c1d2e3f4a5b\",\"cloudEventId\":12345,\"status\":"
	    "\"accepted\"}}",
	    &m, err), 0);
	ck_assert_int_eq(m.type, CM_EVENT_ACK);
	ck_assert_str_eq(m.u.ack.cloud_event_id, "12345");
	ck_assert_str_eq(m.message_id, "9001");
	ck_assert_int_eq(dec("{\"type\":\"session_started\",\"payload\":{\"cloudSessionId\":77,"
	    "\"deviceId\":\"SCALE-01\",\"animalId\":-5,\"operatorId\":3}}", &m, err), 0);
	ck_assert_str_eq(m.u.session.cloud_session_id, "77");
	ck_assert_str_eq(m.u.session.animal_id, "-5");
	ck_assert_str_eq(m.u.session.operator_id, "3");
	ck_assert_int_eq(dec("{\"type\":\"edge_registered\",\"payload\":{\"edgeId\":42,\"siteId\":"
	    "7}}",
	    &m, err), 0);
	ck_assert_str_eq(m.u.identity.edge_id, "42");
	ck_assert_str_eq(m.u.identity.site_id, "7");
	ck_assert_int_eq(dec("{\"type\":\"pong\",\"payload\":{\"pingId\":5}}", &m, err), 0);
	ck_assert_str_eq(m.ping_id, "5");
}
END_TEST

/* A fraction names no row: refused, not rounded to another id. */
START_TEST(test_decode_real_or_bool_id_fails)
{
	struct cm_msg m;
	char err[CM_ERR_MAX] = "";

	ck_assert_int_eq(dec("{\"type\":\"session_ended\",\"payload\":{\"cloudSessionId\":1.5}}",
	    &m, err), -1);
	ck_assert_str_eq(err, "payload.cloudSessionId: expected a string or an integer");
	ck_assert_int_eq(dec("{\"type\":\"event_ack\",\"payload\":{\"localEventId\":"
	    "\"0b6f7a1e-3c2d-4e5f-8a9b-0c1d2e3f4a5b\",\"cloudEventId\":true}}", &m, err), -1);
	ck_assert_str_eq(err, "payload.cloudEventId: expected a string or an integer");
	/* localEventId is ours: a number is never it */
	ck_assert_int_eq(dec("{\"type\":\"event_ack\",\"payload\":{\"localEventId\":12}}", &m, err),
	    -1);
}
END_TEST

START_TEST(test_decode_envelope_timestamp_forms)
{
	struct cm_msg m;
	char err[CM_ERR_MAX] = "";

	ck_assert_int_eq(dec("{\"type\":\"ping\",\"timestamp\":\"2026-01-30T10:00:00.123Z\"}", &m,
	    err), 0);
	ck_assert_int_eq(m.sent_at_ms, 1769767200123LL);
	ck_assert(!m.timestamp_unreadable);
	ck_assert_int_eq(dec("{\"type\":\"ping\",\"timestamp\":1769767200123}", &m, err), 0);
	ck_assert_int_eq(m.sent_at_ms, 1769767200123LL);
	ck_assert_int_eq(dec("{\"type\":\"ping\"}", &m, err), 0);
	ck_assert_int_eq(m.sent_at_ms, -1);
	ck_assert(!m.timestamp_unreadable);
	/* unreadable: noted, the message still counts */
	ck_assert_int_eq(dec("{\"type\":\"session_ended\",\"timestamp\":\"yesterday\",\"payload\":"
	    "{\"cloudSessionId\":\"s\"}}", &m, err), 0);
	ck_assert_int_eq(m.type, CM_SESSION_ENDED);
	ck_assert(m.timestamp_unreadable);
	ck_assert_int_eq(m.sent_at_ms, -1);
	ck_assert_int_eq(dec("{\"type\":\"ping\",\"timestamp\":{\"s\":1}}", &m, err), 0);
	ck_assert(m.timestamp_unreadable);
}
END_TEST

START_TEST(test_iso_parse_forms)
{
	int64_t ms;

	ck_assert_int_eq(cm_iso_parse("2026-01-30T10:00:00Z", &ms), 0);
	ck_assert_int_eq(ms, 1769767200000LL);
	ck_assert_int_eq(cm_iso_parse("2026-01-30T13:00:00+03:00", &ms), 0);
	ck_assert_int_eq(ms, 1769767200000LL);
	ck_assert_int_eq(cm_iso_parse("2026-01-30T13:00:00.5+0300", &ms), 0);
	ck_assert_int_eq(ms, 1769767200500LL);
	ck_assert_int_eq(cm_iso_parse("2026-01-30 10:00:00", &ms), 0);   /* no zone: UTC */
	ck_assert_int_eq(ms, 1769767200000LL);
	ck_assert_int_eq(cm_iso_parse("2026-01-30T10:00Z", &ms), 0);
	ck_assert_int_eq(cm_iso_parse("2026-01-30", &ms), 0);
	ck_assert_int_eq(ms, 1769731200000LL);
	ck_assert_int_eq(cm_iso_parse("2026-13-30T10:00:00Z", &ms), -1);
	ck_assert_int_eq(cm_iso_parse("2026-01-30T10:00:00Zjunk", &ms), -1);
	ck_assert_int_eq(cm_iso_parse("2026-01-30T", &ms), -1);
	ck_assert_int_eq(cm_iso_parse("", &ms), -1);
	/* before the epoch: unreadable (the fuzzer's find: both decoders agree) */
	ck_assert_int_eq(cm_iso_parse("1013-01-30T10:00:00Z", &ms), -1);
	ck_assert_int_eq(cm_iso_parse("1970-01-01T00:00:00+01:00", &ms), -1);
}
END_TEST

START_TEST(test_decode_session_id_alias)
{
	struct cm_msg m;
	char err[CM_ERR_MAX] = "";

	ck_assert_int_eq(dec("{\"type\":\"session_started\",\"payload\":{\"sessionId\":\"s-9\","
	    "\"deviceId\":\"SCALE-02\"}}", &m, err), 0);
	ck_assert_str_eq(m.u.session.cloud_session_id, "s-9");
	ck_assert_int_eq(dec("{\"type\":\"session_paused\",\"payload\":{\"sessionId\":31}}", &m,
	    err), 0);
	ck_assert_str_eq(m.u.session.cloud_session_id, "31");
	/* both: the contract's name wins */
	ck_assert_int_eq(dec("{\"type\":\"session_ended\",\"payload\":{\"sessionId\":\"b\","
	    "\"cloudSessionId\":\"a\"}}", &m, err), 0);
	ck_assert_str_eq(m.u.session.cloud_session_id, "a");
	ck_assert_int_eq(dec("{\"type\":\"session_ended\",\"payload\":{\"reason\":\"x\"}}", &m,
	    err), -1);
	ck_assert_str_eq(err, "payload.cloudSessionId: missing");
}
END_TEST

START_TEST(test_decode_session_started_status)
{
	static const struct { const char *json; enum cm_session_status st; } cases[] = {
		{ "", CM_SESS_STATUS_NONE },
		{ ",\"status\":\"active\"", CM_SESS_STATUS_ACTIVE },
		{ ",\"status\":\"pending\"", CM_SESS_STATUS_PENDING },
		{ ",\"status\":\"paused\"", CM_SESS_STATUS_PAUSED },
		{ ",\"status\":\"PAUSED\"", CM_SESS_STATUS_PAUSED },
		{ ",\"status\":\"in_progress\"", CM_SESS_STATUS_OTHER },
		{ ",\"status\":null", CM_SESS_STATUS_NONE },
	};
	struct cm_msg m;
	char err[CM_ERR_MAX] = "", buf[256];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(buf, sizeof(buf),
		    "{\"type\":\"session_started\",\"payload\":{\"cloudSessionId\":"
		    "\"s\",\"deviceId\":\"SCALE-01\"%s}}", cases[i].json);
		ck_assert_msg(dec(buf, &m, err) == 0, "#%zu: %s", i, err);
		ck_assert_msg(m.u.session.status == cases[i].st, "#%zu: %d", i,
		    (int)m.u.session.status);
	}
	ck_assert_str_eq(m.u.session.status_text, "");
	ck_assert_int_eq(dec("{\"type\":\"session_started\",\"payload\":{\"cloudSessionId\":\"s\","
	    "\"deviceId\":\"D\",\"status\":2}}", &m, err), -1);
	ck_assert_str_eq(err, "payload.status: expected a string");
}
END_TEST

START_TEST(test_decode_ack_status_liberal)
{
	struct cm_msg m;
	char err[CM_ERR_MAX] = "";
	const char *numeric = "{\"type\":\"event_ack\",\"payload\":{\"localEventId\":"
	    "\"0b6f7a1e-3c2d-4e5f-8a9b-0c1d2e3f4a5b\",\"cloudEventId\":7,\"status\":\"accepted\"},"
	    "\"timestamp\":1769767200123}";

	ck_assert_int_eq(dec("{\"type\":\"event_ack\",\"payload\":{\"localEventId\":"
	    "\"0b6f7a1e-3c2d-4e5f-8a9b-0c1d2e3f4a5b\"}}", &m, err), 0);
	ck_assert_int_eq(m.u.ack.status, CT_ACK_ACCEPTED);
	ck_assert_int_eq(dec("{\"type\":\"event_ack\",\"payload\":{\"localEventId\":"
	    "\"0b6f7a1e-3c2d-4e5f-8a9b-0c1d2e3f4a5b\",\"status\":\"Duplicate\"}}", &m, err), 0);
	ck_assert_int_eq(m.u.ack.status, CT_ACK_DUPLICATE);
	/* numeric id and epoch time: not the fast path's, the tree's */
	ck_assert_int_eq(cm_decode_ack_fast(numeric, strlen(numeric), &m), 0);
	ck_assert_int_eq(dec(numeric, &m, err), 0);
	ck_assert_str_eq(m.u.ack.cloud_event_id, "7");
	ck_assert_int_eq(m.sent_at_ms, 1769767200123LL);
}
END_TEST

START_TEST(test_ack_fast_path_reads_the_timestamp_like_the_tree)
{
	static const char *const acks[] = {
		"{\"type\":\"event_ack\",\"payload\":{\"localEventId\":"
		    "\"0b6f7a1e-3c2d-4e5f-8a9b-0c1d2e3f4a5b\","
		"\"status\":\"accepted\"},\"timestamp\":\"2026-01-30T10:00:00.123Z\"}",
		"{\"type\":\"event_ack\",\"payload\":{\"localEventId\":"
		    "\"0b6f7a1e-3c2d-4e5f-8a9b-0c1d2e3f4a5b\","
		"\"status\":\"accepted\"},\"timestamp\":\"not a time\"}",
	};
	struct cm_msg f, t;
	char err[CM_ERR_MAX];

	for (size_t i = 0; i < 2; i++) {
		ck_assert_int_eq(cm_decode_ack_fast(acks[i], strlen(acks[i]), &f), 1);
		ck_assert_int_eq(cm_decode_tree(acks[i], strlen(acks[i]), &t, err, sizeof(err)), 0);
		ck_assert_int_eq(f.sent_at_ms, t.sent_at_ms);
		ck_assert_int_eq(f.timestamp_unreadable, t.timestamp_unreadable);
	}
	ck_assert_int_eq(f.sent_at_ms, -1);
}
END_TEST

START_TEST(test_decode_rejected_duplicate_means_delivered)
{
	struct cm_msg m;
	char err[CM_ERR_MAX] = "";

	ck_assert_int_eq(dec("{\"type\":\"event_rejected\",\"payload\":{\"localEventId\":"
	    "\"0b6f7a1e-3c2d-4e5f-8a9b-0c1d2e3f4a5b\",\"reason\":\"Duplicate event\"}}", &m, err),
	    0);
	ck_assert(m.u.reject.duplicate);
	ck_assert_int_eq(dec("{\"type\":\"event_rejected\",\"payload\":{\"localEventId\":"
	    "\"0b6f7a1e-3c2d-4e5f-8a9b-0c1d2e3f4a5b\",\"reason\":\"already stored\","
	    "\"code\":\"DUPLICATE_EVENT\"}}", &m, err), 0);
	ck_assert(m.u.reject.duplicate);
	ck_assert_int_eq(dec("{\"type\":\"event_rejected\",\"payload\":{\"localEventId\":"
	    "\"0b6f7a1e-3c2d-4e5f-8a9b-0c1d2e3f4a5b\",\"reason\":\"Invalid PLU code\"}}", &m, err),
	    0);
	ck_assert(!m.u.reject.duplicate);
}
END_TEST

START_TEST(test_decode_error_unknown_edge)
{
	struct cm_msg m;
	char err[CM_ERR_MAX] = "";

	ck_assert_int_eq(dec("{\"type\":\"error\",\"payload\":{\"code\":\"EDGE_NOT_FOUND\","
	    "\"message\":\"no such edge\"}}", &m, err), 0);
	ck_assert_int_eq(m.type, CM_ERROR);
	ck_assert(m.u.error.unknown_edge);
	ck_assert_str_eq(m.u.error.code, "EDGE_NOT_FOUND");
	ck_assert_str_eq(m.u.error.message, "no such edge");
	ck_assert_int_eq(dec("{\"type\":\"error\",\"message\":\"Unknown edge 42\"}", &m, err), 0);
	ck_assert(m.u.error.unknown_edge);
	ck_assert_int_eq(dec("{\"type\":\"error\",\"payload\":\"invalid edge id\"}", &m, err), 0);
	ck_assert(m.u.error.unknown_edge);
	ck_assert_int_eq(dec("{\"type\":\"error\",\"payload\":{\"code\":500,\"error\":\"database "
	    "down\"}}",
	    &m, err), 0);
	ck_assert(!m.u.error.unknown_edge);
	ck_assert_str_eq(m.u.error.code, "500");
	ck_assert_str_eq(m.u.error.message, "database down");
}
END_TEST

START_TEST(test_decode_unknown_fields_ignored)
{
	struct cm_msg m;
	char err[CM_ERR_MAX] = "";

	ck_assert_int_eq(dec("{\"type\":\"event_ack\",\"version\":2,\"payload\":{\"localEventId\":"
	    "\"0b6f7a1e-3c2d-4e5f-8a9b-0c1d2e3f4a5b\",\"status\":\"accepted\",\"processedAt\":[1,"
	    "2],"
	    "\"extra\":{\"a\":null}}}", &m, err), 0);
	ck_assert_int_eq(m.u.ack.status, CT_ACK_ACCEPTED);
}
END_TEST

START_TEST(test_decode_config_update_identity_snake_case)
{
	struct cm_msg m;
	char err[CM_ERR_MAX] = "";

	ck_assert_int_eq(dec("{\"type\":\"config_update\",\"payload\":{\"edge_id\":\"e-7\","
	    "\"site_id\":\"s-7\",\"site_name\":\"Plant\",\"registrationStatus\":\"registered\"}}",
	    &m, err), 0);
	ck_assert(m.u.identity.has_edge_id);
	ck_assert_str_eq(m.u.identity.edge_id, "e-7");
	ck_assert_str_eq(m.u.identity.site_id, "s-7");
	ck_assert_str_eq(m.u.identity.site_name, "Plant");
}
END_TEST

START_TEST(test_decode_registration_reply_forms)
{
	struct cm_identity id;
	char err[CM_ERR_MAX] = "";
	const char *s;

	s = "{\"edgeId\":\"e-1\",\"siteId\":\"site-01\"}";
	ck_assert_int_eq(cm_decode_registration(s, strlen(s), &id, err, sizeof(err)), 0);
	ck_assert_str_eq(id.edge_id, "e-1");
	ck_assert_str_eq(id.site_id, "site-01");
	s = "{\"edge_id\":\"e-2\",\"site_id\":\"s\",\"site_name\":\"N\"}";
	ck_assert_int_eq(cm_decode_registration(s, strlen(s), &id, err, sizeof(err)), 0);
	ck_assert_str_eq(id.edge_id, "e-2");
	ck_assert_str_eq(id.site_name, "N");
	s = "{\"edge_id\":\"snake\",\"edgeId\":\"camel\"}";
	ck_assert_int_eq(cm_decode_registration(s, strlen(s), &id, err, sizeof(err)), 0);
	ck_assert_str_eq(id.edge_id, "camel");
	s = "{\"success\":true,\"data\":{\"edgeId\":99,\"siteId\":\"x\"}}";
	ck_assert_int_eq(cm_decode_registration(s, strlen(s), &id, err, sizeof(err)), 0);
	ck_assert_str_eq(id.edge_id, "99");
	s = "{\"siteId\":\"x\"}";
	ck_assert_int_eq(cm_decode_registration(s, strlen(s), &id, err, sizeof(err)), -1);
	ck_assert_str_eq(err, "payload.edgeId: missing");
	s = "[]";
	ck_assert_int_eq(cm_decode_registration(s, strlen(s), &id, err, sizeof(err)), -1);
}
END_TEST

START_TEST(test_utf8_validation)
{
	ck_assert(cm_utf8_valid("{\"a\":\"\xc5\x9e\"}", 9));
	ck_assert(!cm_utf8_valid("\xc5", 1));             /* cut sequence */
	ck_assert(!cm_utf8_valid("\xc0\x80", 2));         /* overlong NUL */
	ck_assert(!cm_utf8_valid("\xed\xa0\x80", 3));     /* surrogate */
	ck_assert(!cm_utf8_valid("\xff{}", 3));
	ck_assert(cm_utf8_valid("", 0));
}
END_TEST

START_TEST(test_decode_bad_message_id_type_fails)
{
	struct cm_msg m;
	char err[CM_ERR_MAX] = "";

	ck_assert_int_eq(dec("{\"type\":\"ping\",\"messageId\":[]}", &m, err), -1);
	ck_assert_msg(strncmp(err, "messageId:", 10) == 0, "%s", err);
}
END_TEST

static Suite *
suite(void)
{
	Suite *s = suite_create("cloudmsg");
	TCase *enc = tcase_create("encode"), *d = tcase_create("decode");

	tcase_add_test(d, test_decode_missing_type_fails);
	tcase_add_test(d, test_decode_payload_not_object_fails);
	tcase_add_test(d, test_decode_non_object_and_garbage_fail);
	tcase_add_test(d, test_decode_duplicate_keys_fail);
	tcase_add_test(d, test_decode_embedded_nul_fails);
	tcase_add_test(d, test_decode_too_deep_fails_before_parsing);
	tcase_add_test(d, test_decode_depth_ignores_brackets_in_strings);
	tcase_add_test(d, test_decode_oversized_fails_unparsed);
	tcase_add_test(d, test_decode_bad_message_id_type_fails);
	tcase_add_test(d, test_decode_ids_as_numbers);
	tcase_add_test(d, test_decode_real_or_bool_id_fails);
	tcase_add_test(d, test_decode_envelope_timestamp_forms);
	tcase_add_test(d, test_iso_parse_forms);
	tcase_add_test(d, test_decode_session_id_alias);
	tcase_add_test(d, test_decode_session_started_status);
	tcase_add_test(d, test_decode_ack_status_liberal);
	tcase_add_test(d, test_ack_fast_path_reads_the_timestamp_like_the_tree);
	tcase_add_test(d, test_decode_rejected_duplicate_means_delivered);
	tcase_add_test(d, test_decode_error_unknown_edge);
	tcase_add_test(d, test_decode_unknown_fields_ignored);
	tcase_add_test(d, test_decode_config_update_identity_snake_case);
	tcase_add_test(d, test_decode_registration_reply_forms);
	tcase_add_test(d, test_utf8_validation);
	suite_add_tcase(s, enc);
	suite_add_tcase(s, d);
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
	return failed == 0 ? 0 : 1;
}
