/*
 * lib/cloudmsg, encoding: the envelope, every edge -> cloud payload of the
 * quickref, and the fast event encoder held to the tree builder.
 * (Decoding: test_cloudmsg_decode.c, test_cloudmsg_liberal.c.)
 */
#include "cloudmsg_support.h"

START_TEST(test_envelope_has_type_payload_timestamp_message_id)
{
	json_t *j = roundtrip("ping", cm_ping_payload(), NULL);

	ck_assert_str_eq(json_string_value(json_object_get(j, "type")), "ping");
	ck_assert(json_is_object(json_object_get(j, "payload")));
	ck_assert(json_is_string(json_object_get(j, "timestamp")));
	ck_assert_uint_eq(strlen(json_string_value(json_object_get(j, "messageId"))), 36);
	ck_assert_ptr_null(json_object_get(j, "edgeId"));
	json_decref(j);
}
END_TEST

START_TEST(test_envelope_carries_edge_id_when_known)
{
	json_t *j = roundtrip("ping", cm_ping_payload(), "edge-7");

	ck_assert_str_eq(json_string_value(json_object_get(j, "edgeId")), "edge-7");
	json_decref(j);
}
END_TEST

START_TEST(test_encode_null_payload_fails)
{
	ck_assert_ptr_null(cm_encode("ping", NULL, NULL, NULL));
}
END_TEST

START_TEST(test_register_first_time_has_null_edge_id)
{
	const char *caps[] = { "event_batch", "offline_batches" };
	struct cm_register r = { NULL, "SITE01", "Plant 1", "0.1.0", caps, 2 };
	json_t *j = roundtrip("register", cm_register_payload(&r), NULL);

	ck_assert(pnull(j, "edgeId"));
	ck_assert_str_eq(pstr(j, "siteId"), "SITE01");
	ck_assert_str_eq(pstr(j, "siteName"), "Plant 1");
	ck_assert_str_eq(pstr(j, "version"), "0.1.0");
	json_t *c = json_object_get(json_object_get(j, "payload"), "capabilities");
	ck_assert_uint_eq(json_array_size(c), 2);
	ck_assert_str_eq(json_string_value(json_array_get(c, 1)), "offline_batches");
	json_decref(j);
}
END_TEST

START_TEST(test_register_again_sends_edge_id)
{
	struct cm_register r = { "e-1", "", "x", "0.1.0", NULL, 0 };
	json_t *j = roundtrip("register", cm_register_payload(&r), "e-1");

	ck_assert_str_eq(pstr(j, "edgeId"), "e-1");
	ck_assert(pnull(j, "siteId"));
	json_decref(j);
}
END_TEST

START_TEST(test_event_payload_matches_quickref_schema)
{
	struct ct_event ev;
	json_t *j;

	sample_event(&ev);
	strcpy(ev.cloud_session_id, "sess-9");
	j = roundtrip("event", tree_event_payload(&ev, "SITE01-SCALE-01"), NULL);
	ck_assert_str_eq(pstr(j, "localEventId"), ID1);
	ck_assert_str_eq(pstr(j, "deviceId"), "SCALE-01");
	ck_assert_str_eq(pstr(j, "globalDeviceId"), "SITE01-SCALE-01");
	ck_assert_str_eq(pstr(j, "cloudSessionId"), "sess-9");
	ck_assert(json_is_false(json_object_get(json_object_get(j, "payload"), "offlineMode")));
	ck_assert(pnull(j, "offlineBatchId"));
	ck_assert_str_eq(pstr(j, "pluCode"), "00001");
	ck_assert_str_eq(pstr(j, "productName"), "KIYMA \xc5\x9e");
	ck_assert_int_eq(pint(j, "weightGrams"), 1500);
	ck_assert_int_eq(pint(j, "grossGrams"), 1700);
	ck_assert_int_eq(pint(j, "tareGrams"), 200);
	ck_assert_str_eq(pstr(j, "barcode"), "1234567890123");
	ck_assert_str_eq(pstr(j, "scaleTimestamp"), "2026-01-30T10:00:00Z");
	ck_assert_str_eq(pstr(j, "receivedAt"), "2026-01-30T10:00:00.123Z");
	ck_assert_str_eq(pstr(j, "operator"), "AHMET");
	json_decref(j);
}
END_TEST

START_TEST(test_offline_event_has_batch_id_and_null_session)
{
	struct ct_event ev;
	json_t *j;

	sample_event(&ev);
	ev.offline = true;
	ck_assert_int_eq(ct_uuid_parse("11111111-2222-4333-8444-555555555555", ev.offline_batch_id),
	    0);
	j = roundtrip("event", tree_event_payload(&ev, NULL), NULL);
	ck_assert(json_is_true(json_object_get(json_object_get(j, "payload"), "offlineMode")));
	ck_assert_str_eq(pstr(j, "offlineBatchId"), "11111111-2222-4333-8444-555555555555");
	ck_assert(pnull(j, "cloudSessionId"));
	ck_assert_str_eq(pstr(j, "globalDeviceId"), "SCALE-01");
	json_decref(j);
}
END_TEST

START_TEST(test_event_with_invalid_utf8_is_still_sent)
{
	struct ct_event ev;
	json_t *j;

	sample_event(&ev);
	strcpy(ev.product, "BAD\xff\xfe");
	j = roundtrip("event", tree_event_payload(&ev, NULL), NULL);
	ck_assert_str_eq(pstr(j, "productName"), "BAD??");
	json_decref(j);
}
END_TEST

START_TEST(test_event_batch_wraps_events_array)
{
	struct ct_event ev;
	json_t *arr = json_array();

	sample_event(&ev);
	for (int i = 0; i < 3; i++)
		json_array_append_new(arr, tree_event_payload(&ev, NULL));
	json_t *j = roundtrip("event_batch", tree_event_batch_payload(arr), NULL);
	ck_assert_uint_eq(json_array_size(json_object_get(json_object_get(j, "payload"), "events")),
	    3);
	json_decref(j);
}
END_TEST

START_TEST(test_offline_batch_end_has_exact_counts)
{
	struct cm_batch b = { .device_id = "SCALE-02", .started_at_ms = 1769767200000LL,
	    .ended_at_ms = 1769768100000LL, .event_count = 25, .total_weight_g = 37500 };
	json_t *j;

	ck_assert_int_eq(ct_uuid_parse(ID1, b.batch_id), 0);
	j = roundtrip("offline_batch_end", cm_offline_batch_end_payload(&b), NULL);
	ck_assert_str_eq(pstr(j, "batchId"), ID1);
	ck_assert_str_eq(pstr(j, "deviceId"), "SCALE-02");
	ck_assert_str_eq(pstr(j, "startedAt"), "2026-01-30T10:00:00.000Z");
	ck_assert_str_eq(pstr(j, "endedAt"), "2026-01-30T10:15:00.000Z");
	ck_assert_int_eq(pint(j, "eventCount"), 25);
	ck_assert_int_eq(pint(j, "totalWeightGrams"), 37500);
	ck_assert(json_is_false(json_object_get(json_object_get(j, "payload"), "clockAdjusted")));
	json_decref(j);
	b.clock_adjusted = true;
	j = roundtrip("offline_batch_end", cm_offline_batch_end_payload(&b), NULL);
	ck_assert(json_is_true(json_object_get(json_object_get(j, "payload"), "clockAdjusted")));
	json_decref(j);
	j = roundtrip("offline_batch_start", cm_offline_batch_start_payload(&b), NULL);
	ck_assert_str_eq(pstr(j, "batchId"), ID1);
	ck_assert_ptr_null(json_object_get(json_object_get(j, "payload"), "eventCount"));
	json_decref(j);
}
END_TEST

START_TEST(test_device_messages_fields)
{
	struct cm_device d = { "SCALE-01", "S-SCALE-01", "10.0.0.7", "DP-401", "timeout",
	    "online", 42, 1769767200000LL };
	json_t *j = roundtrip("device_connected", cm_device_connected_payload(&d), NULL);

	ck_assert_str_eq(pstr(j, "globalDeviceId"), "S-SCALE-01");
	ck_assert_str_eq(pstr(j, "sourceIp"), "10.0.0.7");
	ck_assert_str_eq(pstr(j, "deviceType"), "DP-401");
	json_decref(j);
	j = roundtrip("device_disconnected", cm_device_disconnected_payload(&d), NULL);
	ck_assert_str_eq(pstr(j, "reason"), "timeout");
	ck_assert_str_eq(pstr(j, "timestamp"), "2026-01-30T10:00:00.000Z");
	json_decref(j);
	j = roundtrip("device_heartbeat", cm_device_heartbeat_payload(&d), NULL);
	ck_assert_int_eq(pint(j, "heartbeatCount"), 42);
	ck_assert_str_eq(pstr(j, "status"), "online");
	json_decref(j);
}
END_TEST

START_TEST(test_global_device_id_joins_site_and_scale)
{
	char g[64];

	cm_global_device_id("SITE01", "SCALE-01", g, sizeof(g));
	ck_assert_str_eq(g, "SITE01-SCALE-01");
	cm_global_device_id("", "SCALE-01", g, sizeof(g));
	ck_assert_str_eq(g, "SCALE-01");
}
END_TEST

START_TEST(test_status_and_pong_payloads)
{
	struct cm_status s = { "0.1.0", 61, "ok", 7, 3, 2, 99 };
	json_t *j = roundtrip("status", cm_status_payload(&s), NULL);

	ck_assert_int_eq(pint(j, "backlog"), 7);
	ck_assert_int_eq(pint(j, "scales"), 3);
	ck_assert_int_eq(pint(j, "uptimeSeconds"), 61);
	json_decref(j);
	j = roundtrip("pong", cm_pong_payload("p-1"), NULL);
	ck_assert_str_eq(pstr(j, "pingId"), "p-1");
	json_decref(j);
}
END_TEST

START_TEST(test_fast_event_equals_tree_event)
{
	struct ct_event ev;

	sample_event(&ev);
	assert_fast_equals_tree(&ev, "SITE01-SCALE-01");
	strcpy(ev.cloud_session_id, "sess-9");
	assert_fast_equals_tree(&ev, NULL);
}
END_TEST

START_TEST(test_fast_offline_event_equals_tree_event)
{
	struct ct_event ev;

	sample_event(&ev);
	ev.offline = true;
	ct_uuid_parse("11111111-2222-4333-8444-555555555555", ev.offline_batch_id);
	ev.operator_name[0] = '\0';
	ev.net_g = -25;
	assert_fast_equals_tree(&ev, "G");
}
END_TEST

START_TEST(test_fast_escapes_like_jansson)
{
	struct ct_event ev;

	sample_event(&ev);
	strcpy(ev.product, "a\"b\\c\n\t\x01/\xc4\x9f");   /* quote, backslash, controls, ğ */
	strcpy(ev.barcode, "\x7f");
	assert_fast_equals_tree(&ev, NULL);
}
END_TEST

/* A scale with a bad clock: the edge's time, and two more fields saying so
 * (issue 15); none of them on a normal event. */
START_TEST(test_event_invalid_scale_time_extra_fields)
{
	struct ct_event ev;
	json_t *j;

	sample_event(&ev);
	j = roundtrip("event", tree_event_payload(&ev, NULL), NULL);
	ck_assert_ptr_null(json_object_get(json_object_get(j, "payload"), "scaleTimestampInvalid"));
	ck_assert_ptr_null(json_object_get(json_object_get(j, "payload"), "scaleTimestampRaw"));
	json_decref(j);
	ev.edge_flags |= CT_EVF_SCALE_TS_INVALID;
	strcpy(ev.scale_time_raw, "24:00:00");
	strcpy(ev.scale_date_raw, "31.02.2026");
	j = roundtrip("event", tree_event_payload(&ev, NULL), NULL);
	ck_assert(json_is_true(json_object_get(json_object_get(j, "payload"),
	    "scaleTimestampInvalid")));
	ck_assert_str_eq(pstr(j, "scaleTimestampRaw"), "24:00:00 31.02.2026");
	json_decref(j);
	assert_fast_equals_tree(&ev, NULL);
}
END_TEST

START_TEST(test_fast_invalid_utf8_replaced_like_tree)
{
	struct ct_event ev;

	sample_event(&ev);
	strcpy(ev.product, "BAD\xff\xfe \xc4\x9f");        /* invalid: every high byte goes */
	strcpy(ev.operator_name, "\xed\xa0\x80");            /* a surrogate: invalid too */
	assert_fast_equals_tree(&ev, NULL);
}
END_TEST

START_TEST(test_fast_batch_envelope_parses_and_decodes)
{
	struct cm_buf b = { 0 };
	struct ct_event ev;
	json_t *j;

	sample_event(&ev);
	cm_buf_open(&b, "event_batch", "edge-1");
	cm_buf_raw(&b, "{\"events\":[");
	for (int i = 0; i < 3; i++) {
		if (i > 0)
			cm_buf_raw(&b, ",");
		cm_buf_event(&b, &ev, NULL);
	}
	cm_buf_raw(&b, "]}");
	cm_buf_close(&b);
	j = json_loadb(b.p, b.len, JSON_REJECT_DUPLICATES, NULL);
	ck_assert_msg(j != NULL, "%s", b.p);
	ck_assert_str_eq(json_string_value(json_object_get(j, "type")), "event_batch");
	ck_assert_str_eq(json_string_value(json_object_get(j, "edgeId")), "edge-1");
	ck_assert_uint_eq(strlen(json_string_value(json_object_get(j, "messageId"))), 36);
	ck_assert(json_is_string(json_object_get(j, "timestamp")));
	ck_assert_uint_eq(json_array_size(json_object_get(json_object_get(j, "payload"), "events")),
	    3);
	json_decref(j);
	cm_buf_reset(&b);
	ck_assert_uint_eq(b.len, 0);
	cm_buf_free(&b);
}
END_TEST

static Suite *
suite(void)
{
	Suite *s = suite_create("cloudmsg");
	TCase *enc = tcase_create("encode"), *d = tcase_create("decode");

	tcase_add_test(enc, test_envelope_has_type_payload_timestamp_message_id);
	tcase_add_test(enc, test_envelope_carries_edge_id_when_known);
	tcase_add_test(enc, test_encode_null_payload_fails);
	tcase_add_test(enc, test_register_first_time_has_null_edge_id);
	tcase_add_test(enc, test_register_again_sends_edge_id);
	tcase_add_test(enc, test_event_payload_matches_quickref_schema);
	tcase_add_test(enc, test_offline_event_has_batch_id_and_null_session);
	tcase_add_test(enc, test_event_with_invalid_utf8_is_still_sent);
	tcase_add_test(enc, test_event_batch_wraps_events_array);
	tcase_add_test(enc, test_offline_batch_end_has_exact_counts);
	tcase_add_test(enc, test_device_messages_fields);
	tcase_add_test(enc, test_global_device_id_joins_site_and_scale);
	tcase_add_test(enc, test_status_and_pong_payloads);
	tcase_add_test(enc, test_fast_event_equals_tree_event);
	tcase_add_test(enc, test_fast_offline_event_equals_tree_event);
	tcase_add_test(enc, test_fast_escapes_like_jansson);
	tcase_add_test(enc, test_fast_invalid_utf8_replaced_like_tree);
	tcase_add_test(enc, test_event_invalid_scale_time_extra_fields);
	tcase_add_test(enc, test_fast_batch_envelope_parses_and_decodes);
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
