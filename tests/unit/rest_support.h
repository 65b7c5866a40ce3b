/*
 * What the lib/rest tests share (test_rest.c, test_rest_decode.c): the
 * error buffer and the helpers that build and decode bodies.
 */
#ifndef CT_REST_SUPPORT_H
#define CT_REST_SUPPORT_H

/* Each test file of the group uses some of these. */
#pragma GCC diagnostic ignored "-Wunused-function"
#pragma GCC diagnostic ignored "-Wunused-variable"

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

/* ---- decoders ---- */

#define DEC(fn, s, ...) fn(s, strlen(s), __VA_ARGS__, err, sizeof(err))

static struct rest_session sess_buf[16];
static struct rest_sessions ss;

static int
sessions(const char *s)
{
	ss.s = sess_buf;
	ss.cap = 16;
	return rest_decode_sessions(s, strlen(s), &ss, err, sizeof(err));
}

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

/* ---- identity recovery ---- */

#define AR(st, body) rest_auth_rejected(st, body, strlen(body))
#define RF(st, body) rest_register_retry_fresh(st, body, strlen(body))

#endif
