/*
 * lib/cloudmsg: the envelope and payload builders produce the quickref's
 * field names and types; the decoder accepts what the cloud sends and
 * refuses, with the field named, what it must not trust.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "cloudmsg/cloudmsg.h"

static const char *ID1 = "0b6f7a1e-3c2d-4e5f-8a9b-0c1d2e3f4a5b";

/* Encodes, then parses the text back for inspection. */
static json_t *
roundtrip(const char *type, json_t *payload, const char *edge_id)
{
	size_t len = 0;
	char *s = cm_encode(type, payload, edge_id, &len);
	json_t *j;

	ck_assert_ptr_nonnull(s);
	ck_assert_uint_eq(len, strlen(s));
	j = json_loads(s, 0, NULL);
	ck_assert_ptr_nonnull(j);
	free(s);
	return j;
}

static const char *
pstr(json_t *env, const char *key)
{
	json_t *v = json_object_get(json_object_get(env, "payload"), key);
	ck_assert_msg(json_is_string(v), "payload.%s is not a string", key);
	return json_string_value(v);
}

static bool
pnull(json_t *env, const char *key)
{
	json_t *v = json_object_get(json_object_get(env, "payload"), key);
	return v != NULL && json_is_null(v);
}

static json_int_t
pint(json_t *env, const char *key)
{
	json_t *v = json_object_get(json_object_get(env, "payload"), key);
	ck_assert_msg(json_is_integer(v), "payload.%s is not an integer", key);
	return json_integer_value(v);
}

static void
sample_event(struct ct_event *ev)
{
	memset(ev, 0, sizeof(*ev));
	ck_assert_int_eq(ct_uuid_parse(ID1, ev->local_id), 0);
	strcpy(ev->device_id, "SCALE-01");
	ev->received_at_ms = 1769767200123LL;   /* 2026-01-30T10:00:00.123Z */
	ev->scale_ts = 1769767200;
	strcpy(ev->plu, "00001");
	strcpy(ev->product, "KIYMA \xc5\x9e");  /* "KIYMA Ş" in UTF-8 */
	strcpy(ev->barcode, "1234567890123");
	strcpy(ev->operator_name, "AHMET");
	ev->gross_g = 1700;
	ev->tare_g = 200;
	ev->net_g = 1500;
}

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
	j = roundtrip("event", cm_event_payload(&ev, "SITE01-SCALE-01"), NULL);
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
	ck_assert_int_eq(ct_uuid_parse("11111111-2222-4333-8444-555555555555", ev.offline_batch_id), 0);
	j = roundtrip("event", cm_event_payload(&ev, NULL), NULL);
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
	j = roundtrip("event", cm_event_payload(&ev, NULL), NULL);
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
		json_array_append_new(arr, cm_event_payload(&ev, NULL));
	json_t *j = roundtrip("event_batch", cm_event_batch_payload(arr), NULL);
	ck_assert_uint_eq(json_array_size(json_object_get(json_object_get(j, "payload"), "events")), 3);
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

/* ------------------------------------------------------------ fast path */

/* The text encoder must say exactly what the tree builder says. */
static void
assert_fast_equals_tree(const struct ct_event *ev, const char *gid)
{
	struct cm_buf b = { 0 };
	json_t *fast, *tree = cm_event_payload(ev, gid);
	json_error_t e;

	cm_buf_event(&b, ev, gid);
	ck_assert(!b.oom);
	fast = json_loadb(b.p, b.len, 0, &e);
	ck_assert_msg(fast != NULL, "fast output does not parse: %s: %s", e.text, b.p);
	ck_assert_msg(json_equal(fast, tree), "fast %s", b.p);
	json_decref(fast);
	json_decref(tree);
	cm_buf_free(&b);
}

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
	j = roundtrip("event", cm_event_payload(&ev, NULL), NULL);
	ck_assert_ptr_null(json_object_get(json_object_get(j, "payload"), "scaleTimestampInvalid"));
	ck_assert_ptr_null(json_object_get(json_object_get(j, "payload"), "scaleTimestampRaw"));
	json_decref(j);
	ev.edge_flags |= CT_EVF_SCALE_TS_INVALID;
	strcpy(ev.scale_time_raw, "24:00:00");
	strcpy(ev.scale_date_raw, "31.02.2026");
	j = roundtrip("event", cm_event_payload(&ev, NULL), NULL);
	ck_assert(json_is_true(json_object_get(json_object_get(j, "payload"), "scaleTimestampInvalid")));
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
	ck_assert_uint_eq(json_array_size(json_object_get(json_object_get(j, "payload"), "events")), 3);
	json_decref(j);
	cm_buf_reset(&b);
	ck_assert_uint_eq(b.len, 0);
	cm_buf_free(&b);
}
END_TEST

/* ---------------------------------------------------------------- decode */

static int
dec(const char *s, struct cm_msg *m, char *err)
{
	return cm_decode(s, strlen(s), m, err, CM_ERR_MAX);
}

START_TEST(test_decode_edge_registered)
{
	struct cm_msg m;
	char err[CM_ERR_MAX] = "";

	ck_assert_int_eq(dec("{\"type\":\"edge_registered\",\"payload\":{\"edgeId\":\"e-uuid\","
	    "\"siteId\":\"site-01\"},\"timestamp\":\"2026-01-30T10:00:00Z\",\"messageId\":\"m1\"}", &m, err), 0);
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

	ck_assert_int_eq(dec("{\"type\":\"edge_registered\",\"payload\":{\"siteId\":\"s\"}}", &m, err), -1);
	ck_assert_str_eq(err, "payload.edgeId: missing");
}
END_TEST

START_TEST(test_decode_config_update_edge_id_optional)
{
	struct cm_msg m;
	char err[CM_ERR_MAX] = "";

	ck_assert_int_eq(dec("{\"type\":\"config_update\",\"payload\":{\"pingInterval\":30}}", &m, err), 0);
	ck_assert_int_eq(m.type, CM_CONFIG_UPDATE);
	ck_assert(!m.u.identity.has_edge_id);
	ck_assert_int_eq(dec("{\"type\":\"config_update\",\"payload\":{\"edgeId\":\"e2\"}}", &m, err), 0);
	ck_assert(m.u.identity.has_edge_id);
	ck_assert_str_eq(m.u.identity.edge_id, "e2");
}
END_TEST

START_TEST(test_decode_session_started_all_fields)
{
	struct cm_msg m;
	char err[CM_ERR_MAX] = "";

	ck_assert_int_eq(dec("{\"type\":\"session_started\",\"payload\":{\"cloudSessionId\":\"session-uuid\","
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
	ck_assert_int_eq(dec("{\"type\":\"session_paused\",\"payload\":{\"cloudSessionId\":\"s\",\"deviceId\":\"D\"}}", &m, err), 0);
	ck_assert_int_eq(m.u.session.change, CT_SESS_PAUSED);
	ck_assert_int_eq(dec("{\"type\":\"session_resumed\",\"payload\":{\"cloudSessionId\":\"s\",\"deviceId\":\"D\"}}", &m, err), 0);
	ck_assert_int_eq(m.u.session.change, CT_SESS_RESUMED);
}
END_TEST

START_TEST(test_decode_session_start_without_device_fails)
{
	struct cm_msg m;
	char err[CM_ERR_MAX] = "";

	ck_assert_int_eq(dec("{\"type\":\"session_started\",\"payload\":{\"cloudSessionId\":\"s\"}}", &m, err), -1);
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
		snprintf(buf, sizeof(buf), "{\"type\":\"%s\",\"payload\":{\"cloudSessionId\":\"s-1\"}}",
		    types[i]);
		ck_assert_msg(dec(buf, &m, err) == 0, "%s: %s", types[i], err);
		ck_assert_str_eq(m.u.session.cloud_session_id, "s-1");
		ck_assert_str_eq(m.u.session.device_id, "");
		snprintf(buf, sizeof(buf), "{\"type\":\"%s\",\"payload\":{\"cloudSessionId\":\"s-1\","
		    "\"deviceId\":null}}", types[i]);
		ck_assert_int_eq(dec(buf, &m, err), 0);
	}
}
END_TEST

START_TEST(test_decode_session_empty_device_fails)
{
	struct cm_msg m;
	char err[CM_ERR_MAX] = "";

	ck_assert_int_eq(dec("{\"type\":\"session_ended\",\"payload\":{\"cloudSessionId\":\"s\",\"deviceId\":\"\"}}", &m, err), -1);
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
	snprintf(buf, sizeof(buf), "{\"type\":\"session_started\",\"payload\":{\"cloudSessionId\":\"%s\",\"deviceId\":\"D\"}}", longid);
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
	ck_assert_int_eq(dec("{\"type\":\"event_ack\",\"payload\":{\"localEventId\":\"0b6f7a1e-3c2d-4e5f-8a9b-0c1d2e3f4a5b\","
	    "\"cloudEventId\":\"cloud-event-uuid\",\"status\":\"accepted\"}}", &m, err), 0);
	ck_assert_int_eq(m.type, CM_EVENT_ACK);
	ck_assert_int_eq(m.u.ack.status, CT_ACK_ACCEPTED);
	ck_assert_mem_eq(m.u.ack.local_id, want, CT_UUID_LEN);
	ck_assert_str_eq(m.u.ack.cloud_event_id, "cloud-event-uuid");
	ck_assert_int_eq(dec("{\"type\":\"event_ack\",\"payload\":{\"localEventId\":\"0B6F7A1E-3C2D-4E5F-8A9B-0C1D2E3F4A5B\","
	    "\"cloudEventId\":\"existing\",\"status\":\"duplicate\"}}", &m, err), 0);
	ck_assert_int_eq(m.u.ack.status, CT_ACK_DUPLICATE);
	ck_assert_mem_eq(m.u.ack.local_id, want, CT_UUID_LEN);
}
END_TEST

START_TEST(test_ack_fast_path_takes_the_plain_ack)
{
	struct cm_msg m;
	const char *s = " {\"type\":\"event_ack\",\n\"payload\":{\"status\":\"duplicate\",\"localEventId\":"
	    "\"0b6f7a1e-3c2d-4e5f-8a9b-0c1d2e3f4a5b\",\"cloudEventId\":\"c-1\"},\"messageId\":\"m-9\","
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
		"{\"type\":\"event_ack\",\"x\":\"1\",\"payload\":{\"localEventId\":\"0b6f7a1e-3c2d-4e5f-8a9b-0c1d2e3f4a5b\",\"status\":\"accepted\"}}",
		/* escape in a value */
		"{\"type\":\"event_ack\",\"payload\":{\"localEventId\":\"0b6f7a1e-3c2d-4e5f-8a9b-0c1d2e3f4a5b\",\"status\":\"acc\\u0065pted\"}}",
		/* duplicate key */
		"{\"type\":\"event_ack\",\"type\":\"event_ack\",\"payload\":{\"localEventId\":\"0b6f7a1e-3c2d-4e5f-8a9b-0c1d2e3f4a5b\",\"status\":\"accepted\"}}",
		/* null value */
		"{\"type\":\"event_ack\",\"payload\":{\"localEventId\":\"0b6f7a1e-3c2d-4e5f-8a9b-0c1d2e3f4a5b\",\"cloudEventId\":null,\"status\":\"accepted\"}}",
		/* bad status, bad id, another type, trailing garbage */
		"{\"type\":\"event_ack\",\"payload\":{\"localEventId\":\"0b6f7a1e-3c2d-4e5f-8a9b-0c1d2e3f4a5b\",\"status\":\"maybe\"}}",
		"{\"type\":\"event_ack\",\"payload\":{\"localEventId\":\"x\",\"status\":\"accepted\"}}",
		"{\"type\":\"ping\",\"payload\":{\"localEventId\":\"0b6f7a1e-3c2d-4e5f-8a9b-0c1d2e3f4a5b\",\"status\":\"accepted\"}}",
		"{\"type\":\"event_ack\",\"payload\":{\"localEventId\":\"0b6f7a1e-3c2d-4e5f-8a9b-0c1d2e3f4a5b\",\"status\":\"accepted\"}}x",
	};
	struct cm_msg m;

	for (size_t i = 0; i < sizeof(declined) / sizeof(declined[0]); i++)
		ck_assert_msg(cm_decode_ack_fast(declined[i], strlen(declined[i]), &m) == 0, "took #%zu", i);
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

	ck_assert_int_eq(dec("{\"type\":\"event_ack\",\"payload\":{\"localEventId\":\"0b6f7a1e-3c2d-4e5f-8a9b-0c1d2e3f4a5b\","
	    "\"status\":\"maybe\"}}", &m, err), -1);
	ck_assert_str_eq(err, "payload.status: expected \"accepted\" or \"duplicate\"");
	ck_assert_int_eq(dec("{\"type\":\"event_ack\",\"payload\":{\"localEventId\":\"0b6f7a1e-3c2d-4e5f-8a9b-0c1d2e3f4a5b\","
	    "\"status\":1}}", &m, err), -1);
	ck_assert_str_eq(err, "payload.status: expected \"accepted\" or \"duplicate\"");
}
END_TEST

START_TEST(test_decode_event_ack_bad_local_id_fails)
{
	struct cm_msg m;
	char err[CM_ERR_MAX] = "";

	ck_assert_int_eq(dec("{\"type\":\"event_ack\",\"payload\":{\"localEventId\":\"edge-event-uuid\","
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

	ck_assert_int_eq(dec("{\"type\":\"event_rejected\",\"payload\":{\"localEventId\":\"0b6f7a1e-3c2d-4e5f-8a9b-0c1d2e3f4a5b\","
	    "\"reason\":\"Invalid PLU code\"}}", &m, err), 0);
	ck_assert_int_eq(m.type, CM_EVENT_REJECTED);
	ck_assert_str_eq(m.u.reject.reason, "Invalid PLU code");
}
END_TEST

START_TEST(test_decode_plu_updated_keeps_payload_json)
{
	struct cm_msg m;
	char err[CM_ERR_MAX] = "";

	ck_assert_int_eq(dec("{\"type\":\"plu_updated\",\"payload\":{\"pluCode\":\"00001\",\"name\":\"KIYMA\",\"price\":420.5}}", &m, err), 0);
	ck_assert_int_eq(m.type, CM_PLU_UPDATED);
	ck_assert_str_eq(m.u.plu.plu_code, "00001");
	ck_assert_str_eq(m.u.plu.payload_json, "{\"pluCode\":\"00001\",\"name\":\"KIYMA\",\"price\":420.5}");
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

	ck_assert_int_eq(dec("{\"type\":\"session_ended\",\"payload\":{\"cloudSessionId\":\"a\\u0000b\",\"deviceId\":\"D\"}}", &m, err), -1);
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

/* ---------------------------------------------------------------- dialects */

START_TEST(test_decode_ids_as_numbers)
{
	struct cm_msg m;
	char err[CM_ERR_MAX] = "";

	ck_assert_int_eq(dec("{\"type\":\"event_ack\",\"messageId\":9001,\"payload\":{\"localEventId\":"
	    "\"0b6f7a1e-3c2d-4e5f-8a9b-0c1d2e3f4a5b\",\"cloudEventId\":12345,\"status\":\"accepted\"}}",
	    &m, err), 0);
	ck_assert_int_eq(m.type, CM_EVENT_ACK);
	ck_assert_str_eq(m.u.ack.cloud_event_id, "12345");
	ck_assert_str_eq(m.message_id, "9001");
	ck_assert_int_eq(dec("{\"type\":\"session_started\",\"payload\":{\"cloudSessionId\":77,"
	    "\"deviceId\":\"SCALE-01\",\"animalId\":-5,\"operatorId\":3}}", &m, err), 0);
	ck_assert_str_eq(m.u.session.cloud_session_id, "77");
	ck_assert_str_eq(m.u.session.animal_id, "-5");
	ck_assert_str_eq(m.u.session.operator_id, "3");
	ck_assert_int_eq(dec("{\"type\":\"edge_registered\",\"payload\":{\"edgeId\":42,\"siteId\":7}}",
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

	ck_assert_int_eq(dec("{\"type\":\"session_ended\",\"payload\":{\"cloudSessionId\":1.5}}", &m, err), -1);
	ck_assert_str_eq(err, "payload.cloudSessionId: expected a string or an integer");
	ck_assert_int_eq(dec("{\"type\":\"event_ack\",\"payload\":{\"localEventId\":"
	    "\"0b6f7a1e-3c2d-4e5f-8a9b-0c1d2e3f4a5b\",\"cloudEventId\":true}}", &m, err), -1);
	ck_assert_str_eq(err, "payload.cloudEventId: expected a string or an integer");
	/* localEventId is ours: a number is never it */
	ck_assert_int_eq(dec("{\"type\":\"event_ack\",\"payload\":{\"localEventId\":12}}", &m, err), -1);
}
END_TEST

START_TEST(test_decode_envelope_timestamp_forms)
{
	struct cm_msg m;
	char err[CM_ERR_MAX] = "";

	ck_assert_int_eq(dec("{\"type\":\"ping\",\"timestamp\":\"2026-01-30T10:00:00.123Z\"}", &m, err), 0);
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
	ck_assert_int_eq(dec("{\"type\":\"session_paused\",\"payload\":{\"sessionId\":31}}", &m, err), 0);
	ck_assert_str_eq(m.u.session.cloud_session_id, "31");
	/* both: the contract's name wins */
	ck_assert_int_eq(dec("{\"type\":\"session_ended\",\"payload\":{\"sessionId\":\"b\","
	    "\"cloudSessionId\":\"a\"}}", &m, err), 0);
	ck_assert_str_eq(m.u.session.cloud_session_id, "a");
	ck_assert_int_eq(dec("{\"type\":\"session_ended\",\"payload\":{\"reason\":\"x\"}}", &m, err), -1);
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
		snprintf(buf, sizeof(buf), "{\"type\":\"session_started\",\"payload\":{\"cloudSessionId\":"
		    "\"s\",\"deviceId\":\"SCALE-01\"%s}}", cases[i].json);
		ck_assert_msg(dec(buf, &m, err) == 0, "#%zu: %s", i, err);
		ck_assert_msg(m.u.session.status == cases[i].st, "#%zu: %d", i, (int)m.u.session.status);
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
		"{\"type\":\"event_ack\",\"payload\":{\"localEventId\":\"0b6f7a1e-3c2d-4e5f-8a9b-0c1d2e3f4a5b\","
		"\"status\":\"accepted\"},\"timestamp\":\"2026-01-30T10:00:00.123Z\"}",
		"{\"type\":\"event_ack\",\"payload\":{\"localEventId\":\"0b6f7a1e-3c2d-4e5f-8a9b-0c1d2e3f4a5b\","
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
	    "\"0b6f7a1e-3c2d-4e5f-8a9b-0c1d2e3f4a5b\",\"reason\":\"Duplicate event\"}}", &m, err), 0);
	ck_assert(m.u.reject.duplicate);
	ck_assert_int_eq(dec("{\"type\":\"event_rejected\",\"payload\":{\"localEventId\":"
	    "\"0b6f7a1e-3c2d-4e5f-8a9b-0c1d2e3f4a5b\",\"reason\":\"already stored\","
	    "\"code\":\"DUPLICATE_EVENT\"}}", &m, err), 0);
	ck_assert(m.u.reject.duplicate);
	ck_assert_int_eq(dec("{\"type\":\"event_rejected\",\"payload\":{\"localEventId\":"
	    "\"0b6f7a1e-3c2d-4e5f-8a9b-0c1d2e3f4a5b\",\"reason\":\"Invalid PLU code\"}}", &m, err), 0);
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
	ck_assert_int_eq(dec("{\"type\":\"error\",\"payload\":{\"code\":500,\"error\":\"database down\"}}",
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
	    "\"0b6f7a1e-3c2d-4e5f-8a9b-0c1d2e3f4a5b\",\"status\":\"accepted\",\"processedAt\":[1,2],"
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
