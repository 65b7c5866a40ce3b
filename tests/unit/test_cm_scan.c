/*
 * carnitrack-cloudsim's tree-free event scanner (lib/cloudmsg/cm_scan.c)
 * must read every message it accepts exactly as jansson does,
 * and leave to jansson whatever jansson would refuse. Checked on the edge's
 * own encoder output and on a few thousand seeded mutations of it, for the
 * WebSocket messages and for the REST bodies (cm_scan_rest: an event
 * object, or {"events":[...]}, as lib/rest writes them).
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "cloudmsg/cm_scan.h"
#include "cloudmsg/cloudmsg.h"
#include "rest/rest.h"

static struct cm_scan_event out[64];

static bool
same_str(const char *a, json_t *j)
{
	const char *b = json_string_value(j);

	if (a == NULL || b == NULL)
		return a == b;
	return strlen(b) == json_string_length(j) && strcmp(a, b) == 0;
}

/* If the scanner accepted msg, jansson must agree field by field. */
static void
check_against_jansson(const char *msg, size_t len)
{
	bool batch = false;
	int n = cm_scan_events(msg, len, &batch, out, 64);
	json_t *root, *evs, *one = NULL;
	size_t k;

	if (n < 0)
		return;
	root = json_loadb(msg, len, 0, NULL);
	ck_assert_msg(root != NULL, "scanner took what jansson refuses: %.*s", (int)len, msg);
	if (batch) {
		evs = json_object_get(json_object_get(root, "payload"), "events");
		ck_assert(json_is_array(evs));
		k = json_array_size(evs);
	} else {
		one = json_object_get(root, "payload");
		evs = NULL;
		k = 1;
	}
	ck_assert_uint_eq(k, (size_t)n);
	for (int i = 0; i < n; i++) {
		json_t *e = evs ? json_array_get(evs, (size_t)i) : one;
		json_t *w = json_object_get(e, "weightGrams");
		ck_assert(json_is_object(e));
		ck_assert(same_str(out[i].lid, json_object_get(e, "localEventId")));
		ck_assert(same_str(out[i].dev, json_object_get(e, "deviceId")));
		ck_assert(same_str(out[i].plu, json_object_get(e, "pluCode")));
		ck_assert(same_str(out[i].sess, json_object_get(e, "cloudSessionId")));
		ck_assert(same_str(out[i].bid, json_object_get(e, "offlineBatchId")));
		ck_assert_int_eq(out[i].weight_ok, json_is_integer(w));
		if (out[i].weight_ok)
			ck_assert_int_eq(out[i].weight, json_integer_value(w));
		ck_assert_int_eq(out[i].offline, json_is_true(json_object_get(e, "offlineMode")));
	}
	json_decref(root);
}

static void
sample(struct ct_event *ev, unsigned i)
{
	memset(ev, 0, sizeof(*ev));
	ct_uuid_new(ev->local_id);
	snprintf(ev->device_id, sizeof(ev->device_id), "SCALE-%02u", i % 7);
	snprintf(ev->plu, sizeof(ev->plu), "%05u", i);
	snprintf(ev->product, sizeof(ev->product), i % 2 ? "KIYMA \xc5\x9e\"\\" : "KU\x01");
	ev->net_g = (int64_t)i * 1000 - 3;
	ev->received_at_ms = 1769767200123LL;
	ev->scale_ts = 1769767200;
	ev->offline = i % 3 == 0;
	if (ev->offline)
		ct_uuid_new(ev->offline_batch_id);
	else if (i % 3 == 1)
		strcpy(ev->cloud_session_id, "sess-1");
}

static size_t
batch_text(struct cm_buf *b, unsigned n, unsigned seed)
{
	struct ct_event ev;

	cm_buf_reset(b);
	cm_buf_open(b, n == 1 ? "event" : "event_batch", "edge");
	if (n != 1)
		cm_buf_raw(b, "{\"events\":[");
	for (unsigned i = 0; i < n; i++) {
		if (i > 0)
			cm_buf_raw(b, ",");
		sample(&ev, seed + i);
		cm_buf_event(b, &ev, NULL);
	}
	if (n != 1)
		cm_buf_raw(b, "]}");
	cm_buf_close(b);
	return b->len;
}

START_TEST(test_scanner_reads_the_edge_encoder_output)
{
	struct cm_buf b = { 0 };
	bool batch;

	batch_text(&b, 12, 1);
	ck_assert_int_eq(cm_scan_events(b.p, b.len, &batch, out, 64), 12);
	ck_assert(batch);
	check_against_jansson(b.p, b.len);
	batch_text(&b, 1, 5);
	ck_assert_int_eq(cm_scan_events(b.p, b.len, &batch, out, 64), 1);
	ck_assert(!batch);
	check_against_jansson(b.p, b.len);
	cm_buf_free(&b);
}
END_TEST

START_TEST(test_scanner_declines_what_it_is_not_sure_of)
{
	static const char *const declined[] = {
		/* escape in a field */
		"{\"type\":\"event\",\"payload\":{\"localEventId\":\"a\\u0041\"}}",
		/* not an integer */
		"{\"type\":\"event\",\"payload\":{\"weightGrams\":1.5}}",
		"{\"type\":\"event\",\"payload\":{\"weightGrams\":99999999999999999999}}",
		"{\"type\":\"event\",\"payload\":{\"deviceId\":1}}",
		/* repeated */
		"{\"type\":\"event\",\"payload\":{\"deviceId\":\"a\",\"deviceId\":\"b\"}}",
		"{\"type\":\"event_batch\",\"payload\":{\"events\":[1]}}",
		"{\"type\":\"event_batch\",\"payload\":{\"x\":1,\"events\":[]}}",
		"{\"type\":\"ping\",\"payload\":{}}",
		"{\"type\":\"event\",\"payload\":{}} x",
		/* bad UTF-8 */
		"{\"type\":\"event\",\"payload\":{\"p\":\"\xff\"}}",
	};
	bool batch;

	for (size_t i = 0; i < sizeof(declined) / sizeof(declined[0]); i++)
		ck_assert_msg(cm_scan_events(declined[i], strlen(declined[i]), &batch, out, 64) ==
		    -1,
		    "took #%zu", i);
}
END_TEST

START_TEST(test_scanner_agrees_with_jansson_on_mutations)
{
	struct cm_buf b = { 0 };
	static const char alphabet[] = "{}[]\",:\\ 0123456789-.eEtrufalsn\x80\xc5\x9e";
	unsigned seed = 12345, taken = 0;
	char *m;

	for (int round = 0; round < 4000; round++) {
		size_t len = batch_text(&b, 1 + (unsigned)round % 4, (unsigned)round);
		if ((m = malloc(len)) == NULL)
			ck_abort();
		memcpy(m, b.p, len);
		for (int k = 0; k < 1 + round % 3; k++) {
			seed = seed * 1103515245u + 12345u;
			size_t at = (seed >> 8) % len;
			seed = seed * 1103515245u + 12345u;
			m[at] = alphabet[(seed >> 8) % (sizeof(alphabet) - 1)];
		}
		bool batch;
		if (cm_scan_events(m, len, &batch, out, 64) >= 0)
			taken++;
		check_against_jansson(m, len);
		free(m);
	}
	ck_assert_uint_gt(taken, 100);     /* the test did exercise the scanner */
	cm_buf_free(&b);
}
END_TEST

/* The REST twin of check_against_jansson: body is an event or {"events"}. */
static void
check_rest_against_jansson(const char *body, size_t len, bool batch)
{
	int n = cm_scan_rest(body, len, batch, out, 64);
	json_t *root, *evs;

	if (n < 0)
		return;
	root = json_loadb(body, len, 0, NULL);
	ck_assert_msg(root != NULL, "scanner took what jansson refuses: %.*s", (int)len, body);
	evs = batch ? json_object_get(root, "events") : NULL;
	ck_assert_uint_eq(batch ? json_array_size(evs) : 1, (size_t)n);
	for (int i = 0; i < n; i++) {
		json_t *e = batch ? json_array_get(evs, (size_t)i) : root;
		json_t *w = json_object_get(e, "weightGrams");
		ck_assert(same_str(out[i].lid, json_object_get(e, "localEventId")));
		ck_assert(same_str(out[i].dev, json_object_get(e, "deviceId")));
		ck_assert(same_str(out[i].plu, json_object_get(e, "pluCode")));
		ck_assert(same_str(out[i].bid, json_object_get(e, "offlineBatchId")));
		ck_assert_int_eq(out[i].weight_ok, json_is_integer(w));
	}
	json_decref(root);
}

static size_t
rest_text(struct cm_buf *b, unsigned n, unsigned seed, bool batch)
{
	struct ct_event ev[8];

	cm_buf_reset(b);
	for (unsigned i = 0; i < n && i < 8; i++)
		sample(&ev[i], seed + i);
	if (batch)
		rest_batch_of(b, ev, n);
	else
		rest_event_body(b, &ev[0], NULL);
	return b->len;
}

START_TEST(test_rest_bodies_scanned_as_jansson_reads_them)
{
	static const char alphabet[] = "{}[]\",:\\ 0123456789-.e";
	struct cm_buf b = { 0 };
	unsigned seed = 777, taken = 0;
	char *m;

	rest_text(&b, 5, 1, true);
	ck_assert_int_eq(cm_scan_rest(b.p, b.len, true, out, 64), 5);
	check_rest_against_jansson(b.p, b.len, true);
	ck_assert_int_eq(cm_scan_rest(b.p, b.len, true, out, 4), -1);    /* over max */
	/* as one event: an object without the fields (judged malformed) */
	ck_assert_int_eq(cm_scan_rest(b.p, b.len, false, out, 64), 1);
	ck_assert_ptr_null(out[0].lid);
	rest_text(&b, 1, 2, false);
	ck_assert_int_eq(cm_scan_rest(b.p, b.len, false, out, 64), 1);
	check_rest_against_jansson(b.p, b.len, false);
	ck_assert_int_eq(cm_scan_rest("{\"events\":[]}", 13, true, out, 64), 0);
	ck_assert_int_eq(cm_scan_rest("{\"events\":[]} x", 15, true, out, 64), -1);
	for (int round = 0; round < 3000; round++) {
		bool batch = round % 2 == 0;
		size_t len = rest_text(&b, 1 + (unsigned)round % 4, (unsigned)round, batch);
		if ((m = malloc(len)) == NULL)
			ck_abort();
		memcpy(m, b.p, len);
		seed = seed * 1103515245u + 12345u;
		m[(seed >> 8) % len] = alphabet[(seed >> 16) % (sizeof(alphabet) - 1)];
		if (cm_scan_rest(m, len, batch, out, 64) >= 0)
			taken++;
		check_rest_against_jansson(m, len, batch);
		free(m);
	}
	ck_assert_uint_gt(taken, 100);
	cm_buf_free(&b);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("cloudsim scanner");
	TCase *tc = tcase_create("scan");
	SRunner *sr;
	int failed;

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_scanner_reads_the_edge_encoder_output);
	tcase_add_test(tc, test_scanner_declines_what_it_is_not_sure_of);
	tcase_add_test(tc, test_scanner_agrees_with_jansson_on_mutations);
	tcase_add_test(tc, test_rest_bodies_scanned_as_jansson_reads_them);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
