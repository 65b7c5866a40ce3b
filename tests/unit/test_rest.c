/*
 * lib/rest: base URL normalisation (REST_API.md section 1), request bodies
 * (sections 4 and 5, the event object held to the WebSocket encoder's),
 * response decoders with their bounds and the section 8 bugs they must not
 * repeat (items 7 and 10), and the identity recovery rules of section 3.2.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "rest/rest.h"

static char err[256];

/* ---- URLs ---- */

static void
base_is(const char *url, const char *api, const char *edge)
{
	struct rest_base b;

	ck_assert_msg(rest_base_parse(url, &b, err, sizeof(err)) == 0, "%s: %s", url, err);
	ck_assert_str_eq(b.api, api);
	ck_assert_str_eq(b.edge, edge);
}

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

/* ---- bodies ---- */

/* len by pointer: the builder's call is evaluated before it is read */
static json_t *
parsed(char *s, const size_t *len)
{
	json_t *j;

	ck_assert_ptr_nonnull(s);
	ck_assert_uint_eq(strlen(s), *len);
	j = json_loads(s, 0, NULL);
	ck_assert_ptr_nonnull(j);
	free(s);
	return j;
}

static void
json_is(json_t *got, const char *want)
{
	json_t *w = json_loads(want, 0, NULL);
	char *g = json_dumps(got, JSON_COMPACT | JSON_SORT_KEYS);

	ck_assert_ptr_nonnull(w);
	ck_assert_msg(json_equal(got, w), "got %s", g);
	free(g);
	json_decref(w);
	json_decref(got);
}

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

static void
sample_event(struct ct_event *ev)
{
	memset(ev, 0, sizeof(*ev));
	ct_uuid_parse("b0e7f3d2-6a1c-4e5f-8b9a-0c1d2e3f4a5b", ev->local_id);
	strcpy(ev->device_id, "SCALE-01");
	ev->received_at_ms = 1769743518431;
	ev->scale_ts = 1769743517;
	strcpy(ev->plu, "00004");
	strcpy(ev->product, "BONF\xc4\xb0LE");
	strcpy(ev->barcode, "000000000004");
	ev->net_g = 1400;
	ev->gross_g = 1500;
	ev->tare_g = 100;
	ev->offline = true;
	ct_uuid_parse("7c6d5e4f-3a2b-4c1d-a0e9-f8e7d6c5b4a3", ev->offline_batch_id);
}

/* Section 5's twelve keys, with the values of the WebSocket encoder. */
START_TEST(test_event_body_is_the_websocket_event)
{
	static const char *const keys[] = { "localEventId", "deviceId", "globalDeviceId",
		"cloudSessionId", "offlineMode", "offlineBatchId", "pluCode", "productName",
		"weightGrams", "barcode", "scaleTimestamp", "receivedAt" };
	struct cm_buf b = { 0 };
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
	tree = cm_event_payload(&ev, "site-001-SCALE-01");
	ck_assert(json_equal(j, tree));
	json_decref(tree);
	json_decref(j);

	cm_buf_reset(&b);
	rest_batch_body(&b, (const struct ct_event[]){ ev, ev }, NULL, 2);
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

/* ---- decoders ---- */

#define DEC(fn, s, ...) fn(s, strlen(s), __VA_ARGS__, err, sizeof(err))

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

static struct rest_session sess_buf[16];
static struct rest_sessions ss;

static int
sessions(const char *s)
{
	ss.s = sess_buf;
	ss.cap = 16;
	return rest_decode_sessions(s, strlen(s), &ss, err, sizeof(err));
}

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

static uint8_t bids[3][CT_UUID_LEN];
static struct rest_event_result bres[3];
static struct rest_batch_note bnote;

static int
batch(const char *s)
{
	ct_uuid_parse("b0e7f3d2-6a1c-4e5f-8b9a-0c1d2e3f4a5b", bids[0]);
	ct_uuid_parse("e1f2a3b4-c5d6-4e7f-a8b9-c0d1e2f3a4b5", bids[1]);
	ct_uuid_parse("11111111-2222-4333-8444-555555555555", bids[2]);
	return rest_decode_batch(s, strlen(s), (const uint8_t (*)[CT_UUID_LEN])bids, 3, bres,
	    &bnote, err, sizeof(err));
}

#define R(id, st) \
	"{\"localEventId\":\"" id "\",\"cloudEventId\":\"c-" id "\",\"status\":\"" st "\"}"
#define ID0 "b0e7f3d2-6a1c-4e5f-8b9a-0c1d2e3f4a5b"
#define ID1 "e1f2a3b4-c5d6-4e7f-a8b9-c0d1e2f3a4b5"
#define ID2 "11111111-2222-4333-8444-555555555555"

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

/* ---- identity recovery ---- */

#define AR(st, body) rest_auth_rejected(st, body, strlen(body))
#define RF(st, body) rest_register_retry_fresh(st, body, strlen(body))

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
