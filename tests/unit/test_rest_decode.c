/*
 * lib/rest's response decoders with their bounds and the section 8 bugs
 * they must not repeat (items 7 and 10): identity, config, sessions,
 * event and batch results, error messages.
 */
#include "rest_support.h"

START_TEST(test_edge_id_rule)
{
	char out[CM_ID_MAX];

	ck_assert(rest_edge_id_valid("3f2b9c1e-8d4a-4b7e-9c2d-5a1e0f6b7c8d", out));
	ck_assert(rest_edge_id_valid(" 3F2B9C1E-8D4A-1B7E-AC2D-5A1E0F6B7C8D\t", out));
	ck_assert_str_eq(out, "3F2B9C1E-8D4A-1B7E-AC2D-5A1E0F6B7C8D");
	ck_assert(rest_edge_id_valid("3f2b9c1e-8d4a-5b7e-bc2d-5a1e0f6b7c8d", out));
	ck_assert(!rest_edge_id_valid("00000000-0000-0000-0000-000000000000", out));
	ck_assert(!rest_edge_id_valid("3f2b9c1e-8d4a-6b7e-9c2d-5a1e0f6b7c8d", out));   /* v6 */
	ck_assert(!rest_edge_id_valid("018f2b9c-8d4a-7b7e-9c2d-5a1e0f6b7c8d", out));   /* v7 */
	ck_assert(!rest_edge_id_valid("3f2b9c1e-8d4a-4b7e-cc2d-5a1e0f6b7c8d", out));   /* variant */
	ck_assert(!rest_edge_id_valid("3f2b9c1e-8d4a-4b7e-9c2d-5a1e0f6b7c8", out));
	ck_assert(!rest_edge_id_valid("3f2b9c1e8d4a-4b7e-9c2d-5a1e0f6b7c8d0", out));
	ck_assert(!rest_edge_id_valid("3f2b9c1g-8d4a-4b7e-9c2d-5a1e0f6b7c8d", out));
	ck_assert(!rest_edge_id_valid("", out));
	ck_assert(!rest_edge_id_valid(NULL, out));
}
END_TEST

START_TEST(test_identity_camel_snake)
{
	struct rest_identity id;

	ck_assert_int_eq(DEC(rest_decode_identity, "{\"edgeId\":\"3f2b9c1e-8d4a-4b7e-9c2d-"
	    "5a1e0f6b7c8d\",\"siteId\":\"site-001\",\"siteName\":\"Main Facility\",\"config\":"
	    "{\"heartbeatIntervalMs\":30000,\"sessionPollIntervalWaitingMs\":5000}}", &id), 0);
	ck_assert_str_eq(id.edge_id, "3f2b9c1e-8d4a-4b7e-9c2d-5a1e0f6b7c8d");
	ck_assert_str_eq(id.site_id, "site-001");
	ck_assert_str_eq(id.site_name, "Main Facility");
	ck_assert(id.has_config);
	ck_assert_uint_eq(id.config.set, REST_CFG_HEARTBEAT | REST_CFG_WAITING);
	ck_assert_int_eq(id.config.waiting_ms, 5000);

	ck_assert_int_eq(DEC(rest_decode_identity, "{\"edge_id\":\" 3f2b9c1e-8d4a-4b7e-9c2d-"
	    "5a1e0f6b7c8d \",\"site_id\":\" site-002 \"}", &id), 0);
	ck_assert_str_eq(id.edge_id, "3f2b9c1e-8d4a-4b7e-9c2d-5a1e0f6b7c8d");
	ck_assert_str_eq(id.site_id, "site-002");
	ck_assert_str_eq(id.site_name, "site-002");
	ck_assert(!id.has_config);

	/* camelCase wins */
	ck_assert_int_eq(DEC(rest_decode_identity, "{\"edge_id\":\"3f2b9c1e-8d4a-4b7e-9c2d-"
	    "5a1e0f6b7c8d\",\"edgeId\":\"0f2b9c1e-8d4a-4b7e-9c2d-5a1e0f6b7c8d\",\"siteId\":1}",
	    &id), 0);
	ck_assert_str_eq(id.edge_id, "0f2b9c1e-8d4a-4b7e-9c2d-5a1e0f6b7c8d");
	ck_assert_str_eq(id.site_id, "1");
	ck_assert_int_eq(DEC(rest_decode_identity, "{\"edgeId\":\"0f2b9c1e-8d4a-4b7e-9c2d-"
	    "5a1e0f6b7c8d\",\"edge_id\":\"garbage\",\"siteId\":\"s\"}", &id), 0);
	ck_assert_int_eq(DEC(rest_decode_identity, "{\"edgeId\":\"garbage\",\"edge_id\":"
	    "\"0f2b9c1e-8d4a-4b7e-9c2d-5a1e0f6b7c8d\",\"siteId\":\"s\"}", &id), -1);
	ck_assert_ptr_nonnull(strstr(err, "edgeId: \"garbage\" is not a UUID"));
}
END_TEST

START_TEST(test_identity_refusals)
{
	struct rest_identity id;

	ck_assert_int_eq(DEC(rest_decode_identity, "{\"siteId\":\"s\"}", &id), -1);
	ck_assert_str_eq(err, "edgeId: missing");
	ck_assert_int_eq(DEC(rest_decode_identity, "{\"edgeId\":\"018f2b9c-8d4a-7b7e-9c2d-"
	    "5a1e0f6b7c8d\",\"siteId\":\"s\"}", &id), -1);
	ck_assert_int_eq(DEC(rest_decode_identity, "{\"edgeId\":\"3f2b9c1e-8d4a-4b7e-9c2d-"
	    "5a1e0f6b7c8d\",\"siteId\":\"  \"}", &id), -1);
	ck_assert_str_eq(err, "siteId: missing or empty");
	ck_assert_int_eq(DEC(rest_decode_identity, "{\"edgeId\":\"3f2b9c1e-8d4a-4b7e-9c2d-"
	    "5a1e0f6b7c8d\"}", &id), -1);
	ck_assert_int_eq(DEC(rest_decode_identity, "{\"edgeId\":[1],\"siteId\":\"s\"}", &id), -1);
	ck_assert_str_eq(err, "edgeId: expected a string");
	ck_assert_int_eq(DEC(rest_decode_identity, "[]", &id), -1);
	ck_assert_int_eq(DEC(rest_decode_identity, "<html>", &id), -1);
	ck_assert_ptr_nonnull(strstr(err, "not JSON"));
	ck_assert_int_eq(rest_decode_identity("", 0, &id, err, sizeof(err)), -1);
	ck_assert_str_eq(err, "empty body");
	ck_assert_str_eq(id.edge_id, "");
}
END_TEST

START_TEST(test_config_values_bounded)
{
	struct rest_config c;

	ck_assert_int_eq(DEC(rest_decode_config, "{\"heartbeatIntervalMs\":30000,"
	    "\"sessionPollIntervalIdleMs\":120000,\"sessionPollIntervalWaitingMs\":5000,"
	    "\"sessionPollIntervalActiveMs\":30000.0,\"workHoursStart\":\"06:00\","
	    "\"maxBatchSize\":200}", &c), 0);
	ck_assert_uint_eq(c.set, REST_CFG_IDLE | REST_CFG_WAITING | REST_CFG_ACTIVE |
	    REST_CFG_HEARTBEAT | REST_CFG_BATCH);
	ck_assert_int_eq(c.idle_ms, 120000);
	ck_assert_int_eq(c.active_ms, 30000);
	ck_assert_int_eq(c.max_batch, 200);
	ck_assert_int_eq(c.skipped, 0);

	ck_assert_int_eq(DEC(rest_decode_config, "{\"heartbeatIntervalMs\":\"30000\","
	    "\"sessionPollIntervalIdleMs\":0,\"sessionPollIntervalWaitingMs\":-5,"
	    "\"sessionPollIntervalActiveMs\":1e12,\"maxBatchSize\":0,"
	    "\"sessionPollIntervalMs\":5000}", &c), 0);
	ck_assert_uint_eq(c.set, 0);
	ck_assert_int_eq(c.skipped, 5);
	ck_assert_str_eq(c.note, "sessionPollIntervalIdleMs: 0 ms outside 1000..86400000");
	ck_assert_int_eq(DEC(rest_decode_config, "{\"sessionPollIntervalWaitingMs\":999}", &c), 0);
	ck_assert_uint_eq(c.set, 0);
	/* snake_case is not read (section 2) */
	ck_assert_int_eq(DEC(rest_decode_config, "{\"heartbeat_interval_ms\":5000}", &c), 0);
	ck_assert_uint_eq(c.set, 0);
	ck_assert_int_eq(c.skipped, 0);
}
END_TEST

START_TEST(test_sessions_full_state)
{
	ck_assert_int_eq(sessions("{\"sessions\":[{\"cloudSessionId\":\"9a8b7c6d-5e4f-4a3b-8c2d-"
	    "1e0f9a8b7c6d\",\"deviceId\":\"SCALE-01\",\"animalId\":null,\"animalTag\":\"A-124\","
	    "\"animalSpecies\":\"Kuzu\",\"operatorId\":null,\"status\":\"active\"},"
	    "{\"cloudSessionId\":77,\"deviceId\":\"SCALE-02\",\"status\":\"paused\","
	    "\"animalId\":12345},{\"cloudSessionId\":\"s3\",\"deviceId\":\"SCALE-03\","
	    "\"status\":\"PENDING\"}]}"), 0);
	ck_assert_uint_eq(ss.n, 3);
	ck_assert_str_eq(ss.s[0].cloud_session_id, "9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d");
	ck_assert_str_eq(ss.s[0].animal_tag, "A-124");
	ck_assert_str_eq(ss.s[0].animal_id, "");
	ck_assert_int_eq(ss.s[0].status, REST_SESS_ACTIVE);
	ck_assert_str_eq(ss.s[1].cloud_session_id, "77");
	ck_assert_str_eq(ss.s[1].animal_id, "12345");
	ck_assert_int_eq(ss.s[1].status, REST_SESS_PAUSED);
	ck_assert_int_eq(ss.s[2].status, REST_SESS_PENDING);
	ck_assert_int_eq(ss.skipped, 0);
	ck_assert_str_eq(ss.note, "");

	ck_assert_int_eq(sessions("{\"sessions\":[]}"), 0);
	ck_assert_uint_eq(ss.n, 0);
}
END_TEST

/* REST_API.md 8.10: a 200 without "sessions" ended every session. */
START_TEST(test_sessions_missing_key_is_an_error)
{
	ck_assert_int_eq(sessions("{}"), -1);
	ck_assert_str_eq(err, "sessions: missing");
	ck_assert_int_eq(sessions("{\"sessions\":{}}"), -1);
	ck_assert_str_eq(err, "sessions: not an array");
	ck_assert_int_eq(sessions("{\"data\":{\"sessions\":[]}}"), -1);
}
END_TEST

START_TEST(test_sessions_odd_entries)
{
	ck_assert_int_eq(sessions("{\"sessions\":[1,{\"deviceId\":\"SCALE-01\"},"
	    "{\"cloudSessionId\":\"a\",\"deviceId\":\"SCALE-02\",\"status\":\"ended\"},"
	    "{\"cloudSessionId\":\"b\",\"deviceId\":\"SCALE-03\",\"status\":\"running\"},"
	    "{\"cloudSessionId\":\"c\",\"deviceId\":\"SCALE-04\",\"status\":\"paused\"},"
	    "{\"cloudSessionId\":\"d\",\"deviceId\":\"SCALE-04\",\"status\":\"active\"},"
	    "{\"cloudSessionId\":\"e\",\"deviceId\":\"SCALE-04\",\"status\":\"active\"},"
	    "{\"cloudSessionId\":\"f\",\"deviceId\":\"SCALE-05\",\"animalTag\":{}},"
	    "{\"cloudSessionId\":\"g\",\"deviceId\":\"SCALE-06\"}]}"), 0);
	ck_assert_uint_eq(ss.n, 3);
	ck_assert_int_eq(ss.skipped, 3);
	ck_assert_int_eq(ss.unknown_status, 1);
	ck_assert_int_eq(ss.duplicates, 2);
	ck_assert_str_eq(ss.note, "sessions[0]: not an object");
	ck_assert_str_eq(ss.s[0].device_id, "SCALE-03");
	ck_assert_str_eq(ss.s[1].device_id, "SCALE-04");
	ck_assert_str_eq(ss.s[1].cloud_session_id, "d");     /* active beats paused, first wins */
	ck_assert_str_eq(ss.s[2].device_id, "SCALE-06");     /* no status: active */
	ck_assert_int_eq(ss.s[2].status, REST_SESS_ACTIVE);
}
END_TEST

START_TEST(test_sessions_bounds)
{
	char big[4096] = "{\"sessions\":[";

	for (int i = 0; i < 17; i++)
		strcat(big, i ? ",{}" : "{}");
	strcat(big, "]}");
	ck_assert_int_eq(sessions(big), -1);
	ck_assert_ptr_nonnull(strstr(err, "17 entries, more than 16"));
	ck_assert_int_eq(sessions("{\"sessions\":[{\"cloudSessionId\":\"01234567890123456789012345"
	    "678901234567890123456789012345678901234567890\",\"deviceId\":\"S\"}]}"), 0);
	ck_assert_uint_eq(ss.n, 0);
	ck_assert_int_eq(ss.skipped, 1);
	ck_assert_ptr_nonnull(strstr(ss.note, "longer than 63"));
}
END_TEST

START_TEST(test_event_result)
{
	struct rest_event_result r;

	ck_assert_int_eq(DEC(rest_decode_event,
	    "{\"cloudEventId\":\"c41d\",\"status\":\"accepted\"}", &r), 0);
	ck_assert_int_eq(r.outcome, REST_DELIVERED);
	ck_assert(!r.duplicate);
	ck_assert_str_eq(r.cloud_event_id, "c41d");
	ck_assert_int_eq(DEC(rest_decode_event, "{\"cloudEventId\":7,\"status\":\"duplicate\"}",
	    &r), 0);
	ck_assert_int_eq(r.outcome, REST_DELIVERED);
	ck_assert(r.duplicate);
	ck_assert_str_eq(r.cloud_event_id, "7");
	ck_assert_int_eq(DEC(rest_decode_event, "{\"cloudEventId\":\"x\"}", &r), 0);
	ck_assert_int_eq(r.outcome, REST_DELIVERED);
	ck_assert_int_eq(DEC(rest_decode_event, "{\"status\":\"failed\",\"error\":\"unknown "
	    "device\"}", &r), 0);
	ck_assert_int_eq(r.outcome, REST_REJECTED);
	ck_assert_str_eq(r.error, "unknown device");
	ck_assert_int_eq(DEC(rest_decode_event, "{\"status\":\"failed\",\"error\":{\"message\":"
	    "\"Duplicate localEventId\"}}", &r), 0);
	ck_assert_int_eq(r.outcome, REST_DELIVERED);
	ck_assert(r.duplicate);
	ck_assert_int_eq(DEC(rest_decode_event, "{\"status\":\"failed\"}", &r), 0);
	ck_assert_int_eq(r.outcome, REST_REJECTED);
	ck_assert_str_eq(r.error, "failed (no reason given)");
	ck_assert_int_eq(DEC(rest_decode_event, "{\"status\":\"queued\"}", &r), -1);
	ck_assert_int_eq(rest_decode_event("", 0, &r, err, sizeof(err)), -1);
	ck_assert_int_eq(DEC(rest_decode_event, "<html>ok</html>", &r), -1);
	ck_assert_int_eq(r.outcome, REST_RETRY);
}
END_TEST

START_TEST(test_batch_results_matched_by_id)
{
	ck_assert_int_eq(batch("{\"results\":[" R(ID2, "duplicate") "," R(ID0, "accepted") ","
	    "{\"localEventId\":\"" ID1 "\",\"cloudEventId\":\"\",\"status\":\"failed\","
	    "\"error\":\"unknown device\"}]}"), 0);
	ck_assert_int_eq(bres[0].outcome, REST_DELIVERED);
	ck_assert_str_eq(bres[0].cloud_event_id, "c-" ID0);
	ck_assert_int_eq(bres[1].outcome, REST_REJECTED);
	ck_assert_str_eq(bres[1].error, "unknown device");
	ck_assert_int_eq(bres[2].outcome, REST_DELIVERED);
	ck_assert(bres[2].duplicate);
	ck_assert_uint_eq(bnote.delivered, 2);
	ck_assert_uint_eq(bnote.rejected, 1);
	ck_assert_uint_eq(bnote.missing, 0);
}
END_TEST

/* REST_API.md 8.7: a short answer failed every event, stored ones included. */
START_TEST(test_batch_short_answer_keeps_what_it_has)
{
	ck_assert_int_eq(batch("{\"results\":[" R(ID1, "accepted") "]}"), 0);
	ck_assert_int_eq(bres[1].outcome, REST_DELIVERED);
	ck_assert_int_eq(bres[0].outcome, REST_RETRY);
	ck_assert_int_eq(bres[2].outcome, REST_RETRY);
	ck_assert_str_eq(bres[0].error, "no result for this event");
	ck_assert_uint_eq(bnote.delivered, 1);
	ck_assert_uint_eq(bnote.missing, 2);
}
END_TEST

START_TEST(test_batch_odd_entries)
{
	ck_assert_int_eq(batch("{\"results\":[5,{\"localEventId\":\"nope\"},"
	    R("99999999-2222-4333-8444-555555555555", "accepted") ","
	    "{\"localEventId\":\"" ID0 "\",\"status\":\"failed\",\"error\":\"x\"},"
	    R(ID0, "accepted") "," R(ID0, "failed") ","
	    "{\"localEventId\":\"" ID1 "\",\"status\":\"weird\"},"
	    "{\"localEventId\":\"" ID2 "\",\"status\":\"rejected\",\"reason\":\"Duplicate event\"}"
	    "]}"), 0);
	ck_assert_int_eq(bnote.bad_entries, 2);
	ck_assert_int_eq(bnote.unknown_ids, 1);
	ck_assert_int_eq(bnote.unknown_status, 1);
	ck_assert_int_eq(bres[0].outcome, REST_DELIVERED);   /* delivered beats rejected */
	ck_assert_int_eq(bres[1].outcome, REST_RETRY);
	ck_assert_int_eq(bres[2].outcome, REST_DELIVERED);   /* "duplicate" reason */
	ck_assert_str_eq(bnote.note, "results[0].localEventId: entry not an object");
}
END_TEST

START_TEST(test_batch_unusable_answers)
{
	ck_assert_int_eq(batch("{}"), -1);
	ck_assert_str_eq(err, "results: missing");
	for (int i = 0; i < 3; i++)
		ck_assert_int_eq(bres[i].outcome, REST_RETRY);
	ck_assert_uint_eq(bnote.missing, 3);
	ck_assert_int_eq(batch("{\"results\":{}}"), -1);
	ck_assert_int_eq(batch("[" R(ID0, "accepted") "]"), -1);
	ck_assert_int_eq(bres[0].outcome, REST_RETRY);
}
END_TEST

START_TEST(test_decoder_bounds)
{
	struct rest_config c;
	char *deep = malloc(200);

	for (int i = 0; i < 100; i++) {
		deep[i] = '[';
		deep[199 - i] = ']';
	}
	ck_assert_int_eq(rest_decode_config(deep, 200, &c, err, sizeof(err)), -1);
	ck_assert_str_eq(err, "nested deeper than 32");
	free(deep);
	ck_assert_int_eq(rest_decode_config("{}", REST_MAX_RESPONSE + 1, &c, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "over"));
}
END_TEST

START_TEST(test_error_messages)
{
	char m[64];
#define EM(s) rest_error_message(s, strlen(s), m, sizeof(m))

	EM("{\"error\":\"Invalid or expired setup code\"}");
	ck_assert_str_eq(m, "Invalid or expired setup code");
	EM("{\"error\":{\"code\":\"x\",\"message\":\"no\\nway\"}}");
	ck_assert_str_eq(m, "no way");
	EM("{\"message\":\"m\"}");
	ck_assert_str_eq(m, "m");
	EM("<html>\n502</html>");
	ck_assert_str_eq(m, "<html>.502</html>");
	rest_error_message("", 0, m, sizeof(m));
	ck_assert_str_eq(m, "");
}
END_TEST

static Suite *
suite(void)
{
	Suite *s = suite_create("rest");
	TCase *u = tcase_create("urls"), *e = tcase_create("bodies"), *d = tcase_create("decode");
	TCase *p = tcase_create("policy");

	suite_add_tcase(s, u);
	suite_add_tcase(s, e);
	tcase_add_test(d, test_edge_id_rule);
	tcase_add_test(d, test_identity_camel_snake);
	tcase_add_test(d, test_identity_refusals);
	tcase_add_test(d, test_config_values_bounded);
	tcase_add_test(d, test_sessions_full_state);
	tcase_add_test(d, test_sessions_missing_key_is_an_error);
	tcase_add_test(d, test_sessions_odd_entries);
	tcase_add_test(d, test_sessions_bounds);
	tcase_add_test(d, test_event_result);
	tcase_add_test(d, test_batch_results_matched_by_id);
	tcase_add_test(d, test_batch_short_answer_keeps_what_it_has);
	tcase_add_test(d, test_batch_odd_entries);
	tcase_add_test(d, test_batch_unusable_answers);
	tcase_add_test(d, test_decoder_bounds);
	tcase_add_test(d, test_error_messages);
	suite_add_tcase(s, d);
	suite_add_tcase(s, p);
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
