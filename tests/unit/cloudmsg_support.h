/*
 * What the cloudmsg tests share (test_cloudmsg.c, test_cloudmsg_decode.c,
 * test_cloudmsg_liberal.c): events made to order and the helpers that build,
 * decode and compare messages. The builders must produce the quickref's
 * field names and types; the decoder accepts what the cloud sends and
 * refuses, with the field named, what it must not trust.
 */
#ifndef CT_CLOUDMSG_SUPPORT_H
#define CT_CLOUDMSG_SUPPORT_H

/* Each test file of the group uses some of these. */
#pragma GCC diagnostic ignored "-Wunused-function"
#pragma GCC diagnostic ignored "-Wunused-variable"

#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "cloudmsg/cloudmsg.h"
#include "cm_event_tree.h"

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

/* ------------------------------------------------------------ fast path */

/* The text encoder must say exactly what the tree builder says. */
static void
assert_fast_equals_tree(const struct ct_event *ev, const char *gid)
{
	struct cm_buf b = { 0 };
	json_t *fast, *tree = tree_event_payload(ev, gid);
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

/* ---------------------------------------------------------------- decode */

static int
dec(const char *s, struct cm_msg *m, char *err)
{
	return cm_decode(s, strlen(s), m, err, CM_ERR_MAX);
}

/* ---------------------------------------------------------------- dialects */

#endif
