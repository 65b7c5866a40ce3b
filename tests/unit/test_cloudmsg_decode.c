/*
 * lib/cloudmsg, decoding each cloud -> edge message of the quickref:
 * registration, sessions, acks (and the fast ack path), rejections, PLU,
 * ping, unknown types.
 */
#include "cloudmsg_support.h"

START_TEST(test_decode_edge_registered)
{
	struct cm_msg m;
	char err[CM_ERR_MAX] = "";

	ck_assert_int_eq(dec("{\"type\":\"edge_registered\",\"payload\":{\"edgeId\":\"e-uuid\","
	    "\"siteId\":\"site-01\"},\"timestamp\":\"2026-01-30T10:00:00Z\",\"messageId\":\"m1\"}",
	    &m, err), 0);
	ck_assert_int_eq(m.type, CM_EDGE_REGISTERED);
	ck_assert(m.u.identity.has_edge_id);
	ck_assert_str_eq(m.u.identity.edge_id, "e-uuid");
	ck_assert_str_eq(m.u.identity.site_id, "site-01");
	ck_assert_str_eq(m.u.identity.site_name, "");
	ck_assert_str_eq(m.message_id, "m1");
	cm_msg_clear(&m);
}
END_TEST

START_TEST(test_decode_edge_registered_without_edge_id_fails)
{
	struct cm_msg m;
	char err[CM_ERR_MAX] = "";

	ck_assert_int_eq(dec("{\"type\":\"edge_registered\",\"payload\":{\"siteId\":\"s\"}}", &m,
	    err), -1);
	ck_assert_str_eq(err, "payload.edgeId: missing");
}
END_TEST

START_TEST(test_decode_config_update_edge_id_optional)
{
	struct cm_msg m;
	char err[CM_ERR_MAX] = "";

	ck_assert_int_eq(dec("{\"type\":\"config_update\",\"payload\":{\"pingInterval\":30}}", &m,
	    err), 0);
	ck_assert_int_eq(m.type, CM_CONFIG_UPDATE);
	ck_assert(!m.u.identity.has_edge_id);
	ck_assert_int_eq(dec("{\"type\":\"config_update\",\"payload\":{\"edgeId\":\"e2\"}}", &m,
	    err), 0);
	ck_assert(m.u.identity.has_edge_id);
	ck_assert_str_eq(m.u.identity.edge_id, "e2");
}
END_TEST

START_TEST(test_decode_session_started_all_fields)
{
	struct cm_msg m;
	char err[CM_ERR_MAX] = "";

	ck_assert_int_eq(dec("{\"type\":\"session_started\",\"payload\":{\"cloudSessionId\":"
	    "\"session-uuid\","
	    "\"deviceId\":\"SCALE-01\",\"animalId\":\"animal-uuid\",\"animalTag\":\"A-123\","
	    "\"animalSpecies\":\"Dana\",\"operatorId\":\"operator-uuid\"}}", &m, err), 0);
	ck_assert_int_eq(m.type, CM_SESSION_STARTED);
	ck_assert_int_eq(m.u.session.change, CT_SESS_STARTED);
	ck_assert_str_eq(m.u.session.cloud_session_id, "session-uuid");
	ck_assert_str_eq(m.u.session.device_id, "SCALE-01");
	ck_assert_str_eq(m.u.session.animal_id, "animal-uuid");
	ck_assert_str_eq(m.u.session.animal_tag, "A-123");
	ck_assert_str_eq(m.u.session.animal_species, "Dana");
	ck_assert_str_eq(m.u.session.operator_id, "operator-uuid");
}
END_TEST

START_TEST(test_decode_session_started_null_optionals)
{
	struct cm_msg m;
	char err[CM_ERR_MAX] = "";

	ck_assert_int_eq(dec("{\"type\":\"session_started\",\"payload\":{\"cloudSessionId\":\"s\","
	    "\"deviceId\":\"SCALE-01\",\"animalTag\":null}}", &m, err), 0);
	ck_assert_str_eq(m.u.session.animal_tag, "");
}
END_TEST

START_TEST(test_decode_session_ended_paused_resumed)
{
	struct cm_msg m;
	char err[CM_ERR_MAX] = "";

	ck_assert_int_eq(dec("{\"type\":\"session_ended\",\"payload\":{\"cloudSessionId\":\"s\","
	    "\"deviceId\":\"SCALE-01\",\"reason\":\"completed\"}}", &m, err), 0);
	ck_assert_int_eq(m.u.session.change, CT_SESS_ENDED);
	ck_assert_str_eq(m.u.session.reason, "completed");
	ck_assert_int_eq(dec("{\"type\":\"session_paused\",\"payload\":{\"cloudSessionId\":\"s\","
	    "\"deviceId\":\"D\"}}", &m, err), 0);
	ck_assert_int_eq(m.u.session.change, CT_SESS_PAUSED);
	ck_assert_int_eq(dec("{\"type\":\"session_resumed\",\"payload\":{\"cloudSessionId\":\"s\","
	    "\"deviceId\":\"D\"}}", &m, err), 0);
	ck_assert_int_eq(m.u.session.change, CT_SESS_RESUMED);
}
END_TEST

START_TEST(test_decode_session_start_without_device_fails)
{
	struct cm_msg m;
	char err[CM_ERR_MAX] = "";

	ck_assert_int_eq(dec("{\"type\":\"session_started\",\"payload\":{\"cloudSessionId\":"
	    "\"s\"}}", &m, err), -1);
	ck_assert_str_eq(err, "payload.deviceId: missing");
}
END_TEST

/* The other session messages name the session; the store finds its scale. */
START_TEST(test_decode_session_end_pause_resume_without_device)
{
	static const char *const types[] = { "session_ended", "session_paused", "session_resumed" };
	struct cm_msg m;
	char err[CM_ERR_MAX] = "", buf[256];

	for (size_t i = 0; i < 3; i++) {
		snprintf(buf, sizeof(buf),
		    "{\"type\":\"%s\",\"payload\":{\"cloudSessionId\":\"s-1\"}}",
		    types[i]);
		ck_assert_msg(dec(buf, &m, err) == 0, "%s: %s", types[i], err);
		ck_assert_str_eq(m.u.session.cloud_session_id, "s-1");
		ck_assert_str_eq(m.u.session.device_id, "");
		snprintf(buf, sizeof(buf),
		    "{\"type\":\"%s\",\"payload\":{\"cloudSessionId\":\"s-1\","
		    "\"deviceId\":null}}", types[i]);
		ck_assert_int_eq(dec(buf, &m, err), 0);
	}
}
END_TEST

START_TEST(test_decode_session_empty_device_fails)
{
	struct cm_msg m;
	char err[CM_ERR_MAX] = "";

	ck_assert_int_eq(dec("{\"type\":\"session_ended\",\"payload\":{\"cloudSessionId\":\"s\","
	    "\"deviceId\":\"\"}}", &m, err), -1);
	ck_assert_str_eq(err, "payload.deviceId: empty");
}
END_TEST

START_TEST(test_decode_session_id_too_long_fails)
{
	struct cm_msg m;
	char err[CM_ERR_MAX] = "", buf[512];
	char longid[100];

	memset(longid, 'x', sizeof(longid) - 1);
	longid[sizeof(longid) - 1] = '\0';
	snprintf(buf, sizeof(buf),
	    "{\"type\":\"session_started\",\"payload\":{\"cloudSessionId\":\"%s\",\"deviceId\":"
	    "\"D\"}}", longid);
	ck_assert_int_eq(dec(buf, &m, err), -1);
	ck_assert_msg(strstr(err, "payload.cloudSessionId:") == err, "%s", err);
}
END_TEST

START_TEST(test_decode_event_ack_accepted_and_duplicate)
{
	struct cm_msg m;
	char err[CM_ERR_MAX] = "";
	uint8_t want[CT_UUID_LEN];

	ct_uuid_parse(ID1, want);
	ck_assert_int_eq(dec("{\"type\":\"event_ack\",\"payload\":{\"localEventId\":"
	    "\"0b6f7a1e-3c2d-4e5f-8a9b-0c1d2e3f4a5b\","
	    "\"cloudEventId\":\"cloud-event-uuid\",\"status\":\"accepted\"}}", &m, err), 0);
	ck_assert_int_eq(m.type, CM_EVENT_ACK);
	ck_assert_int_eq(m.u.ack.status, CT_ACK_ACCEPTED);
	ck_assert_mem_eq(m.u.ack.local_id, want, CT_UUID_LEN);
	ck_assert_str_eq(m.u.ack.cloud_event_id, "cloud-event-uuid");
	ck_assert_int_eq(dec("{\"type\":\"event_ack\",\"payload\":{\"localEventId\":"
	    "\"0B6F7A1E-3C2D-4E5F-8A9B-0C1D2E3F4A5B\","
	    "\"cloudEventId\":\"existing\",\"status\":\"duplicate\"}}", &m, err), 0);
	ck_assert_int_eq(m.u.ack.status, CT_ACK_DUPLICATE);
	ck_assert_mem_eq(m.u.ack.local_id, want, CT_UUID_LEN);
}
END_TEST

START_TEST(test_ack_fast_path_takes_the_plain_ack)
{
	struct cm_msg m;
	const char *s =
	    " {\"type\":\"event_ack\",\n\"payload\":{\"status\":\"duplicate\",\"localEventId\":"
	    "\"0b6f7a1e-3c2d-4e5f-8a9b-0c1d2e3f4a5b\",\"cloudEventId\":\"c-1\"},\"messageId\":"
	    "\"m-9\","
	    "\"timestamp\":\"2026-01-30T10:00:00Z\",\"edgeId\":\"e\"} ";
	uint8_t want[CT_UUID_LEN];

	ct_uuid_parse(ID1, want);
	ck_assert_int_eq(cm_decode_ack_fast(s, strlen(s), &m), 1);
	ck_assert_int_eq(m.type, CM_EVENT_ACK);
	ck_assert_int_eq(m.u.ack.status, CT_ACK_DUPLICATE);
	ck_assert_mem_eq(m.u.ack.local_id, want, CT_UUID_LEN);
	ck_assert_str_eq(m.u.ack.cloud_event_id, "c-1");
	ck_assert_str_eq(m.message_id, "m-9");
	ck_assert_str_eq(m.type_name, "event_ack");
}
END_TEST

START_TEST(test_ack_fast_path_leaves_the_unusual_to_jansson)
{
	static const char *const declined[] = {
		/* unknown key */
		"{\"type\":\"event_ack\",\"x\":\"1\",\"payload\":{\"localEventId\":"
		    "\"0b6f7a1e-3c2d-4e5f-8a9b-0c1d2e3f4a5b\",\"status\":\"accepted\"}}",
		/* escape in a value */
		"{\"type\":\"event_ack\",\"payload\":{\"localEventId\":"
		    "\"0b6f7a1e-3c2d-4e5f-8a9b-0c1d2e3f4a5b\",\"status\":\"acc\\u0065pted\"}}",
		/* duplicate key */
		"{\"type\":\"event_ack\",\"type\":\"event_ack\",\"payload\":{\"localEventId\":"
		    "\"0b6f7a1e-3c2d-4e5f-8a9b-0c1d2e3f4a5b\",\"status\":\"accepted\"}}",
		/* null value */
		"{\"type\":\"event_ack\",\"payload\":{\"localEventId\":"
		    "\"0b6f7a1e-3c2d-4e5f-8a9b-0c1d2e3f4a5b\",\"cloudEventId\":null,\"status\":"
		    "\"accepted\"}}",
		/* bad status, bad id, another type, trailing garbage */
		"{\"type\":\"event_ack\",\"payload\":{\"localEventId\":"
		    "\"0b6f7a1e-3c2d-4e5f-8a9b-0c1d2e3f4a5b\",\"status\":\"maybe\"}}",
		"{\"type\":\"event_ack\",\"payload\":{\"localEventId\":\"x\",\"status\":"
		    "\"accepted\"}}",
		"{\"type\":\"ping\",\"payload\":{\"localEventId\":"
		    "\"0b6f7a1e-3c2d-4e5f-8a9b-0c1d2e3f4a5b\",\"status\":\"accepted\"}}",
		"{\"type\":\"event_ack\",\"payload\":{\"localEventId\":"
		    "\"0b6f7a1e-3c2d-4e5f-8a9b-0c1d2e3f4a5b\",\"status\":\"accepted\"}}x",
	};
	struct cm_msg m;

	for (size_t i = 0; i < sizeof(declined) / sizeof(declined[0]); i++)
		ck_assert_msg(cm_decode_ack_fast(declined[i], strlen(declined[i]), &m) == 0,
		    "took #%zu", i);
	/* ... and the full decoder still answers them as before */
	char err[CM_ERR_MAX];
	ck_assert_int_eq(cm_decode(declined[1], strlen(declined[1]), &m, err, sizeof(err)), 0);
	ck_assert_int_eq(m.u.ack.status, CT_ACK_ACCEPTED);
	ck_assert_int_eq(cm_decode(declined[2], strlen(declined[2]), &m, err, sizeof(err)), -1);
}
END_TEST

START_TEST(test_decode_event_ack_bad_status_fails)
{
	struct cm_msg m;
	char err[CM_ERR_MAX] = "";

	ck_assert_int_eq(dec("{\"type\":\"event_ack\",\"payload\":{\"localEventId\":"
	    "\"0b6f7a1e-3c2d-4e5f-8a9b-0c1d2e3f4a5b\","
	    "\"status\":\"maybe\"}}", &m, err), -1);
	ck_assert_str_eq(err, "payload.status: expected \"accepted\" or \"duplicate\"");
	ck_assert_int_eq(dec("{\"type\":\"event_ack\",\"payload\":{\"localEventId\":"
	    "\"0b6f7a1e-3c2d-4e5f-8a9b-0c1d2e3f4a5b\","
	    "\"status\":1}}", &m, err), -1);
	ck_assert_str_eq(err, "payload.status: expected \"accepted\" or \"duplicate\"");
}
END_TEST

START_TEST(test_decode_event_ack_bad_local_id_fails)
{
	struct cm_msg m;
	char err[CM_ERR_MAX] = "";

	ck_assert_int_eq(dec("{\"type\":\"event_ack\",\"payload\":{\"localEventId\":"
	    "\"edge-event-uuid\","
	    "\"status\":\"accepted\"}}", &m, err), -1);
	ck_assert_str_eq(err, "payload.localEventId: not a UUID");
	ck_assert_int_eq(dec("{\"type\":\"event_ack\",\"payload\":{\"localEventId\":7,"
	    "\"status\":\"accepted\"}}", &m, err), -1);
	ck_assert_str_eq(err, "payload.localEventId: expected a string");
}
END_TEST

START_TEST(test_decode_event_rejected_keeps_reason)
{
	struct cm_msg m;
	char err[CM_ERR_MAX] = "";

	ck_assert_int_eq(dec("{\"type\":\"event_rejected\",\"payload\":{\"localEventId\":"
	    "\"0b6f7a1e-3c2d-4e5f-8a9b-0c1d2e3f4a5b\","
	    "\"reason\":\"Invalid PLU code\"}}", &m, err), 0);
	ck_assert_int_eq(m.type, CM_EVENT_REJECTED);
	ck_assert_str_eq(m.u.reject.reason, "Invalid PLU code");
}
END_TEST

START_TEST(test_decode_plu_updated_keeps_payload_json)
{
	struct cm_msg m;
	char err[CM_ERR_MAX] = "";

	ck_assert_int_eq(dec("{\"type\":\"plu_updated\",\"payload\":{\"pluCode\":\"00001\","
	    "\"name\":\"KIYMA\",\"price\":420.5}}", &m, err), 0);
	ck_assert_int_eq(m.type, CM_PLU_UPDATED);
	ck_assert_str_eq(m.u.plu.plu_code, "00001");
	ck_assert_str_eq(m.u.plu.payload_json,
	    "{\"pluCode\":\"00001\",\"name\":\"KIYMA\",\"price\":420.5}");
	ck_assert_uint_eq(m.u.plu.payload_len, strlen(m.u.plu.payload_json));
	cm_msg_clear(&m);
	ck_assert_ptr_null(m.u.plu.payload_json);
}
END_TEST

START_TEST(test_decode_ping_without_payload)
{
	struct cm_msg m;
	char err[CM_ERR_MAX] = "";

	ck_assert_int_eq(dec("{\"type\":\"ping\"}", &m, err), 0);
	ck_assert_int_eq(m.type, CM_PING);
	ck_assert_int_eq(dec("{\"type\":\"pong\",\"payload\":{\"pingId\":\"abc\"}}", &m, err), 0);
	ck_assert_int_eq(m.type, CM_PONG);
	ck_assert_str_eq(m.ping_id, "abc");
}
END_TEST

START_TEST(test_decode_unknown_type_is_reported_not_failed)
{
	struct cm_msg m;
	char err[CM_ERR_MAX] = "";

	ck_assert_int_eq(dec("{\"type\":\"firmware_update\",\"payload\":[1,2]}", &m, err), 0);
	ck_assert_int_eq(m.type, CM_UNKNOWN);
	ck_assert_str_eq(m.type_name, "firmware_update");
}
END_TEST

static Suite *
suite(void)
{
	Suite *s = suite_create("cloudmsg");
	TCase *enc = tcase_create("encode"), *d = tcase_create("decode");

	tcase_add_test(d, test_decode_edge_registered);
	tcase_add_test(d, test_decode_edge_registered_without_edge_id_fails);
	tcase_add_test(d, test_decode_config_update_edge_id_optional);
	tcase_add_test(d, test_decode_session_started_all_fields);
	tcase_add_test(d, test_decode_session_started_null_optionals);
	tcase_add_test(d, test_decode_session_ended_paused_resumed);
	tcase_add_test(d, test_decode_session_start_without_device_fails);
	tcase_add_test(d, test_decode_session_end_pause_resume_without_device);
	tcase_add_test(d, test_decode_session_empty_device_fails);
	tcase_add_test(d, test_decode_session_id_too_long_fails);
	tcase_add_test(d, test_decode_event_ack_accepted_and_duplicate);
	tcase_add_test(d, test_ack_fast_path_takes_the_plain_ack);
	tcase_add_test(d, test_ack_fast_path_leaves_the_unusual_to_jansson);
	tcase_add_test(d, test_decode_event_ack_bad_status_fails);
	tcase_add_test(d, test_decode_event_ack_bad_local_id_fails);
	tcase_add_test(d, test_decode_event_rejected_keeps_reason);
	tcase_add_test(d, test_decode_plu_updated_keeps_payload_json);
	tcase_add_test(d, test_decode_ping_without_payload);
	tcase_add_test(d, test_decode_unknown_type_is_reported_not_failed);
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
