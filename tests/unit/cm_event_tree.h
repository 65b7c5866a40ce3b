/*
 * The event payload built as a JSON tree, field by field, the plain way:
 * the reference that the stream's fast encoder (cm_buf_event) and the REST
 * event body are held to, json_equal, by test_cloudmsg*.c and test_rest.c.
 * The Event Payload schema of the quickref, plus grossGrams, tareGrams,
 * operator; weightGrams is the net weight. A record whose date/time the
 * scale got impossible (CT_EVF_SCALE_TS_INVALID) has the edge's receive
 * time as scaleTimestamp and two more fields: scaleTimestampInvalid: true
 * and scaleTimestampRaw, the scale's "HH:MM:SS DD.MM.YYYY" text.
 */
#ifndef CT_CM_EVENT_TREE_H
#define CT_CM_EVENT_TREE_H

#include <stdbool.h>
#include <stdio.h>

#include <jansson.h>

#include "cloudmsg/cloudmsg.h"
#include "event/event.h"

static inline bool
tput(json_t *o, const char *k, json_t *v)
{
	return json_object_set_new_nocheck(o, k, v) == 0;
}

static inline json_t *
tfinish(json_t *o, bool ok)
{
	if (!ok) {
		json_decref(o);
		return NULL;
	}
	return o;
}

static inline json_t *
tjiso_ms(int64_t ms)
{
	char iso[CT_ISO_MAX];

	ct_iso_from_ms(ms, iso);
	return json_string(iso);
}

static inline json_t *
tjuuid(const uint8_t id[CT_UUID_LEN])
{
	char s[CT_UUID_STR];

	if (ct_uuid_is_nil(id))
		return json_null();
	ct_uuid_fmt(id, s);
	return json_string(s);
}

static inline json_t *
tree_event_payload(const struct ct_event *ev, const char *global_device_id)
{
	json_t *o = json_object();
	char id[CT_UUID_STR], ts[CT_ISO_MAX];
	bool ok = o != NULL;

	if (!ok)
		return NULL;
	ct_uuid_fmt(ev->local_id, id);
	ct_iso_from_sec(ev->scale_ts, ts);
	ok = tput(o, "localEventId", json_string(id)) && ok;
	ok = tput(o, "deviceId", cm_jstr(ev->device_id)) && ok;
	ok =
	    tput(o, "globalDeviceId",
	    cm_jstr(global_device_id ? global_device_id : ev->device_id)) && ok;
	ok = tput(o, "cloudSessionId", cm_jstr_or_null(ev->cloud_session_id)) && ok;
	ok = tput(o, "offlineMode", json_boolean(ev->offline)) && ok;
	ok = tput(o, "offlineBatchId", tjuuid(ev->offline_batch_id)) && ok;
	ok = tput(o, "pluCode", cm_jstr(ev->plu)) && ok;
	ok = tput(o, "productName", cm_jstr(ev->product)) && ok;
	ok = tput(o, "weightGrams", json_integer(ev->net_g)) && ok;
	ok = tput(o, "barcode", cm_jstr(ev->barcode)) && ok;
	ok = tput(o, "scaleTimestamp", json_string(ts)) && ok;
	ok = tput(o, "receivedAt", tjiso_ms(ev->received_at_ms)) && ok;
	ok = tput(o, "grossGrams", json_integer(ev->gross_g)) && ok;
	ok = tput(o, "tareGrams", json_integer(ev->tare_g)) && ok;
	ok = tput(o, "operator", cm_jstr_or_null(ev->operator_name)) && ok;
	if (ev->edge_flags & CT_EVF_SCALE_TS_INVALID) {
		char raw[2 * CT_TS_RAW_MAX + 2];

		snprintf(raw, sizeof(raw), "%s %s", ev->scale_time_raw, ev->scale_date_raw);
		ok = tput(o, "scaleTimestampInvalid", json_true()) && ok;
		ok = tput(o, "scaleTimestampRaw", cm_jstr(raw)) && ok;
	}
	return tfinish(o, ok);
}

/* {"events": events}; steals events (a JSON array). */
static inline json_t *
tree_event_batch_payload(json_t *events)
{
	json_t *o;

	if (events == NULL)
		return NULL;
	if ((o = json_object()) == NULL) {
		json_decref(events);
		return NULL;
	}
	return tfinish(o, tput(o, "events", events));
}

#endif
