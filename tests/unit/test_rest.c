/*
 * lib/rest: base URL normalisation (REST_API.md section 1), request bodies
 * (sections 4 and 5, the event object held to the WebSocket encoder's),
 * and the identity recovery rules of section 3.2. (The decoders:
 * test_rest_decode.c.)
 */
#include "cm_event_tree.h"
#include "rest_support.h"

START_TEST(test_base_normalisation)
{
	base_is("https://api.carnitrack.com/api/v1", "/api/v1", "/api/v1/edge");
	base_is("https://api.carnitrack.com/api/v1/", "/api/v1", "/api/v1/edge");
	base_is("https://api.carnitrack.com/api/v1/edge", "/api/v1", "/api/v1/edge");
	base_is("https://api.carnitrack.com/api/v1/EDGE/", "/api/v1", "/api/v1/edge");
	base_is("http://127.0.0.1:4000/api/v1//", "/api/v1", "/api/v1/edge");
	base_is("http://127.0.0.1:4000", "", "/edge");
	base_is("http://127.0.0.1:4000/", "", "/edge");
	base_is("http://127.0.0.1:4000/edge", "", "/edge");
	/* only one /edge is stripped */
	base_is("http://h/x/edge/edge", "/x/edge", "/x/edge/edge");
	base_is("http://h/x/hedge", "/x/hedge", "/x/hedge/edge");
}
END_TEST

START_TEST(test_endpoint_paths)
{
	struct rest_base b;
	char p[256];

	ck_assert_int_eq(rest_base_parse("https://c/api/v1/edge/", &b, err, sizeof(err)), 0);
	ck_assert_int_eq(rest_path(&b, REST_REGISTER, p, sizeof(p)), 0);
	ck_assert_str_eq(p, "/api/v1/edge/register");
	ck_assert_int_eq(rest_path(&b, REST_EVENTS_BATCH, p, sizeof(p)), 0);
	ck_assert_str_eq(p, "/api/v1/edge/events/batch");
	ck_assert_int_eq(rest_path(&b, REST_BATCH_ACK, p, sizeof(p)), 0);
	ck_assert_str_eq(p, "/api/v1/edge/offline-batches/ack");
	ck_assert_int_eq(rest_path(&b, REST_DEVICE_STATUS, p, sizeof(p)), 0);
	ck_assert_str_eq(p, "/api/v1/edge/devices/status");
	ck_assert_int_eq(rest_path(&b, REST_HEARTBEAT, p, sizeof(p)), 0);
	ck_assert_str_eq(p, "/api/v1/edge/heartbeat");
	ck_assert_int_eq(rest_path(&b, REST_CONFIG, p, sizeof(p)), 0);
	ck_assert_str_eq(p, "/api/v1/edge/config");
	/* section 8 item 2: /activate beside /edge, whatever the URL said */
	ck_assert_int_eq(rest_path(&b, REST_ACTIVATE, p, sizeof(p)), 0);
	ck_assert_str_eq(p, "/api/v1/activate");
	ck_assert_int_eq(rest_path(&b, REST_EVENTS, p, 10), -1);
}
END_TEST

START_TEST(test_sessions_query)
{
	struct rest_base b;
	const char *ids[] = { "SCALE-01", "SCALE-02", "a b,c" };
	char p[256];

	ck_assert_int_eq(rest_base_parse("http://c/api/v1", &b, err, sizeof(err)), 0);
	ck_assert_int_eq(rest_sessions_path(&b, ids, 2, p, sizeof(p)), 0);
	ck_assert_str_eq(p, "/api/v1/edge/sessions?device_ids=SCALE-01,SCALE-02");
	ck_assert_int_eq(rest_sessions_path(&b, ids, 3, p, sizeof(p)), 0);
	ck_assert_str_eq(p, "/api/v1/edge/sessions?device_ids=SCALE-01,SCALE-02,a%20b%2Cc");
	ck_assert_int_eq(rest_sessions_path(&b, ids, 0, p, sizeof(p)), -1);
	ck_assert_int_eq(rest_sessions_path(&b, ids, 2, p, 40), -1);
}
END_TEST

START_TEST(test_bad_base_urls)
{
	struct rest_base b;

	ck_assert_int_eq(rest_base_parse("ws://c/api/v1", &b, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "http:// or https://"));
	ck_assert_int_eq(rest_base_parse("https://c/api/v1?x=1", &b, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "query"));
	ck_assert_int_eq(rest_base_parse("", &b, err, sizeof(err)), -1);
}
END_TEST

START_TEST(test_register_and_activate_bodies)
{
	size_t n;
	char *s;

	s = rest_register_body(NULL, "site-001", "Main Facility", &n);
	json_is(parsed(s, &n), "{\"edgeId\":null,\"siteId\":\"site-001\","
	    "\"siteName\":\"Main Facility\","
	    "\"version\":\"0.3.0\",\"capabilities\":[\"rest\",\"tcp\"]}");
	s = rest_register_body("3f2b9c1e-8d4a-4b7e-9c2d-5a1e0f6b7c8d", "", NULL, &n);
	json_is(parsed(s, &n), "{\"edgeId\":\"3f2b9c1e-8d4a-4b7e-9c2d-5a1e0f6b7c8d\","
	    "\"siteId\":null,"
	    "\"siteName\":null,\"version\":\"0.3.0\",\"capabilities\":[\"rest\",\"tcp\"]}");
	s = rest_activate_body("  CT-7K2P-9QXD \n", &n);
	json_is(parsed(s, &n), "{\"code\":\"CT-7K2P-9QXD\",\"version\":\"0.3.0\","
	    "\"capabilities\":[\"weighing\"]}");
}
END_TEST

/* Section 5's twelve keys, with the values of the WebSocket encoder. */
START_TEST(test_event_body_is_the_websocket_event)
{
	static const char *const keys[] = { "localEventId", "deviceId", "globalDeviceId",
		"cloudSessionId", "offlineMode", "offlineBatchId", "pluCode", "productName",
		"weightGrams", "barcode", "scaleTimestamp", "receivedAt" };
	struct cm_buf b = { 0 }, body = { 0 };
	struct ct_event ev;
	json_t *j, *tree;

	sample_event(&ev);
	rest_event_body(&b, &ev, "site-001-SCALE-01");
	ck_assert(!b.oom);
	j = json_loadb(b.p, b.len, 0, NULL);
	ck_assert_ptr_nonnull(j);
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		ck_assert_msg(json_object_get(j, keys[i]) != NULL, "%s missing", keys[i]);
	ck_assert(json_is_null(json_object_get(j, "cloudSessionId")));
	ck_assert_int_eq(json_integer_value(json_object_get(j, "weightGrams")), 1400);
	ck_assert_str_eq(json_string_value(json_object_get(j, "receivedAt")),
	    "2026-01-30T03:25:18.431Z");
	tree = tree_event_payload(&ev, "site-001-SCALE-01");
	ck_assert(json_equal(j, tree));
	json_decref(tree);
	json_decref(j);

	cm_buf_reset(&b);
	rest_event_body(&b, &ev, NULL);
	cm_buf_raw(&b, ",");
	rest_event_body(&b, &ev, NULL);
	rest_batch_wrap(&body, b.p, b.len);
	cm_buf_free(&b);
	b = body;
	j = json_loadb(b.p, b.len, 0, NULL);
	ck_assert_ptr_nonnull(j);
	ck_assert_uint_eq(json_array_size(json_object_get(j, "events")), 2);
	ck_assert_str_eq(json_string_value(json_object_get(json_array_get(json_object_get(j,
	    "events"), 1), "globalDeviceId")), "SCALE-01");
	json_decref(j);
	cm_buf_free(&b);
}
END_TEST

START_TEST(test_batch_ack_body)
{
	uint8_t ids[2][CT_UUID_LEN];
	struct rest_batch_ack a = { .event_ids = (const uint8_t (*)[CT_UUID_LEN])ids,
		.nevents = 2 };
	size_t n;

	ct_uuid_parse("7c6d5e4f-3a2b-4c1d-a0e9-f8e7d6c5b4a3", a.batch.batch_id);
	a.batch.device_id = "SCALE-01";
	a.batch.started_at_ms = 1772438404512;
	a.batch.ended_at_ms = 1772440879077;
	a.batch.event_count = 2;
	a.batch.total_weight_g = 3900;
	ct_uuid_parse("b0e7f3d2-6a1c-4e5f-8b9a-0c1d2e3f4a5b", ids[0]);
	ct_uuid_parse("e1f2a3b4-c5d6-4e7f-a8b9-c0d1e2f3a4b5", ids[1]);
	json_is(parsed(rest_batch_ack_body(&a, &n), &n),
	    "{\"batchId\":\"7c6d5e4f-3a2b-4c1d-a0e9-f8e7d6c5b4a3\",\"deviceId\":\"SCALE-01\","
	    "\"eventIds\":[\"b0e7f3d2-6a1c-4e5f-8b9a-0c1d2e3f4a5b\","
	    "\"e1f2a3b4-c5d6-4e7f-a8b9-c0d1e2f3a4b5\"],\"eventCount\":2,\"totalWeightGrams\":3900,"
	    "\"startedAt\":\"2026-03-02T08:00:04.512Z\",\"endedAt\":\"2026-03-02T08:41:19.077Z\","
	    "\"clockAdjusted\":false}");       /* the extra field of offline_batch_end */
	/* a batch acknowledged in parts: each a whole body, its slice, part/parts */
	a.nevents = 1;
	a.event_ids = (const uint8_t (*)[CT_UUID_LEN])ids[1];
	a.part = 2;
	a.parts = 2;
	json_is(parsed(rest_batch_ack_body(&a, &n), &n),
	    "{\"batchId\":\"7c6d5e4f-3a2b-4c1d-a0e9-f8e7d6c5b4a3\",\"deviceId\":\"SCALE-01\","
	    "\"eventIds\":[\"e1f2a3b4-c5d6-4e7f-a8b9-c0d1e2f3a4b5\"],\"eventCount\":2,"
	    "\"totalWeightGrams\":3900,\"startedAt\":\"2026-03-02T08:00:04.512Z\","
	    "\"endedAt\":\"2026-03-02T08:41:19.077Z\",\"clockAdjusted\":false,\"part\":2,"
	    "\"parts\":2}");
}
END_TEST

START_TEST(test_heartbeat_body_and_health)
{
	struct rest_hb_device d[2] = {
		{ "SCALE-01", "site-001-SCALE-01", "disassembly", "online", 1772442870120,
		  1772442838004 },
		{ "SCALE-02", NULL, "disassembly", "disconnected", 0, 0 },
	};
	struct rest_heartbeat h = { NULL, 5423, NULL, d, 2 };
	size_t n;

	h.health = rest_health(true, 2, 1, 0);
	json_is(parsed(rest_heartbeat_body(&h, &n), &n),
	    "{\"version\":\"0.3.0\",\"uptimeSec\":5423,\"health\":\"degraded\",\"devices\":["
	    "{\"deviceId\":\"SCALE-01\",\"globalDeviceId\":\"site-001-SCALE-01\","
	    "\"deviceType\":\"disassembly\",\"status\":\"online\","
	    "\"lastHeartbeatAt\":\"2026-03-02T09:14:30.120Z\","
	    "\"lastEventAt\":\"2026-03-02T09:13:58.004Z\"},"
	    "{\"deviceId\":\"SCALE-02\",\"deviceType\":\"disassembly\",\"status\":\"disconnected\","
	    "\"lastHeartbeatAt\":\"1970-01-01T00:00:00.000Z\"}],\"printers\":[]}");
	ck_assert_str_eq(rest_health(false, 0, 0, 0), "error");
	ck_assert_str_eq(rest_health(true, 0, 0, 0), "ok");
	ck_assert_str_eq(rest_health(true, 2, 2, 0), "error");
	ck_assert_str_eq(rest_health(true, 2, 0, 1), "degraded");
	ck_assert_str_eq(rest_health(true, 2, 0, 0), "ok");
}
END_TEST

START_TEST(test_device_status_shapes)
{
	struct rest_device_status d = { .kind = REST_DEV_ONLINE, .event_count = 17 };
	size_t n;

	d.dev.device_id = "SCALE-01";
	d.dev.global_device_id = "site-001-SCALE-01";
	d.dev.source_ip = "10.0.0.7";
	d.dev.device_type = "disassembly";
	d.dev.heartbeat_count = 42;
	d.dev.at_ms = 1772442870120;
	json_is(parsed(rest_device_status_body(&d, &n), &n),
	    "{\"deviceId\":\"SCALE-01\",\"globalDeviceId\":\"site-001-SCALE-01\",\"sourceIp\":"
	    "\"10.0.0.7\",\"deviceType\":\"disassembly\",\"status\":\"online\","
	    "\"heartbeatCount\":42,\"eventCount\":17}");
	d.kind = REST_DEV_HEARTBEAT;
	d.dev.status = "online";
	json_is(parsed(rest_device_status_body(&d, &n), &n),
	    "{\"deviceId\":\"SCALE-01\",\"status\":\"online\",\"heartbeatCount\":42,"
	    "\"eventCount\":17,"
	    "\"globalDeviceId\":\"site-001-SCALE-01\",\"timestamp\":\"2026-03-02T09:14:30.120Z\"}");
	d.kind = REST_DEV_DISCONNECTED;
	d.dev.reason = "Socket closed";
	json_is(parsed(rest_device_status_body(&d, &n), &n),
	    "{\"deviceId\":\"SCALE-01\",\"status\":\"disconnected\",\"heartbeatCount\":0,"
	    "\"eventCount\":0,\"reason\":\"Socket closed\","
	    "\"timestamp\":\"2026-03-02T09:14:30.120Z\"}");
}
END_TEST

START_TEST(test_auth_rejected_words)
{
	ck_assert(AR(401, "{\"error\":\"Missing X-Edge-Id\"}"));
	ck_assert(AR(401, "{\"error\":\"unknown_edge\"}"));
	ck_assert(AR(404, "{\"error\":\"Unknown edge 3f2b\"}"));
	ck_assert(AR(401, "{\"error\":\"INVALID_EDGE\"}"));
	ck_assert(AR(401, "invalid edge"));
	ck_assert(AR(404, "header x-edge-id not recognised"));
	ck_assert(!AR(403, "{\"error\":\"unknown_edge\"}"));
	ck_assert(!AR(400, "{\"error\":\"unknown_edge\"}"));
	ck_assert(!AR(401, "{\"error\":\"token expired\"}"));
	ck_assert(!AR(404, "{\"error\":\"Not found\"}"));
	ck_assert(!AR(401, ""));
	ck_assert(!rest_auth_rejected(401, NULL, 0));
	/* the body is bounded by len, not by a NUL */
	ck_assert(!rest_auth_rejected(401, "unknown_edge", 7));
}
END_TEST

START_TEST(test_register_retry_rules)
{
	ck_assert(RF(400, "{\"error\":\"Invalid edgeId format; must be a valid UUID\"}"));
	ck_assert(RF(400, "bad uuid"));
	ck_assert(RF(400, "EDGE"));
	ck_assert(!RF(400, "{\"error\":\"siteName too long\"}"));
	ck_assert(RF(404, ""));
	ck_assert(RF(404, "{\"error\":\"Edge not found\"}"));
	ck_assert(RF(500, "record Not Found"));
	ck_assert(RF(409, "not found"));
	ck_assert(!RF(401, "invalid edge"));
	ck_assert(!RF(403, "edge"));
	ck_assert(!RF(409, "conflict"));
	ck_assert(!RF(429, ""));
	ck_assert(!RF(503, "edge"));
	ck_assert(!RF(200, "not found"));
}
END_TEST

START_TEST(test_auth_actions)
{
	const char *b = "{\"error\":\"unknown_edge\"}";
	size_t n = strlen(b);

	ck_assert_int_eq(rest_auth_action(400, b, n, "e1", "e1", false, false), REST_AUTH_NONE);
	ck_assert_int_eq(rest_auth_action(401, b, n, "e1", "e1", false, false), REST_AUTH_START);
	ck_assert_int_eq(rest_auth_action(401, b, n, "e1", "e1", true, false), REST_AUTH_WAIT);
	ck_assert_int_eq(rest_auth_action(401, b, n, "e1", "", true, false), REST_AUTH_WAIT);
	ck_assert_int_eq(rest_auth_action(401, b, n, "e1", "", false, false), REST_AUTH_START);
	ck_assert_int_eq(rest_auth_action(401, b, n, "e1", "e2", false, false), REST_AUTH_REPEAT);
	ck_assert_int_eq(rest_auth_action(401, b, n, NULL, "e2", true, false), REST_AUTH_REPEAT);
	ck_assert_int_eq(rest_auth_action(401, b, n, "e2", "e2", false, true), REST_AUTH_GIVE_UP);
}
END_TEST

static Suite *
suite(void)
{
	Suite *s = suite_create("rest");
	TCase *u = tcase_create("urls"), *e = tcase_create("bodies"), *d = tcase_create("decode");
	TCase *p = tcase_create("policy");

	tcase_add_test(u, test_base_normalisation);
	tcase_add_test(u, test_endpoint_paths);
	tcase_add_test(u, test_sessions_query);
	tcase_add_test(u, test_bad_base_urls);
	suite_add_tcase(s, u);
	tcase_add_test(e, test_register_and_activate_bodies);
	tcase_add_test(e, test_event_body_is_the_websocket_event);
	tcase_add_test(e, test_batch_ack_body);
	tcase_add_test(e, test_heartbeat_body_and_health);
	tcase_add_test(e, test_device_status_shapes);
	suite_add_tcase(s, e);
	suite_add_tcase(s, d);
	tcase_add_test(p, test_auth_rejected_words);
	tcase_add_test(p, test_register_retry_rules);
	tcase_add_test(p, test_auth_actions);
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
