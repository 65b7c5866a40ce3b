/*
 * Edge -> cloud: the envelope and one builder per payload. Field names are
 * the quickref's, spelled exactly; absent optional values are JSON null,
 * never "" (the cloud's columns are nullable, not empty-string).
 */
#include "cloudmsg/cloudmsg.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* jansson refuses invalid UTF-8. Our strings come from the scale (converted
 * from cp1254, so valid) or the config; should one still be bad, send it with
 * the offending bytes replaced rather than lose the whole message. */
json_t *
cm_jstr(const char *s)
{
	json_t *j;
	char *copy;
	size_t n;

	if (s == NULL)
		return json_null();
	if ((j = json_string(s)) != NULL)
		return j;
	n = strlen(s);
	if ((copy = malloc(n + 1)) == NULL)
		return NULL;
	for (size_t i = 0; i <= n; i++)
		copy[i] = ((unsigned char)s[i] & 0x80) ? '?' : s[i];
	j = json_string(copy);
	free(copy);
	return j;
}

/* "" and NULL are both "not known" -> null. */
json_t *
cm_jstr_or_null(const char *s)
{
	return (s == NULL || *s == '\0') ? json_null() : cm_jstr(s);
}

static json_t *
jiso_ms(int64_t ms)
{
	char iso[CT_ISO_MAX];

	ct_iso_from_ms(ms, iso);
	return json_string(iso);
}

static json_t *
juuid(const uint8_t id[CT_UUID_LEN])
{
	char s[CT_UUID_STR];

	if (ct_uuid_is_nil(id))
		return json_null();
	ct_uuid_fmt(id, s);
	return json_string(s);
}

/* json_object_set_new steals the value and fails on NULL, so a failed
 * allocation anywhere shows up as one failed set. */
static bool
put(json_t *o, const char *k, json_t *v)
{
	return json_object_set_new_nocheck(o, k, v) == 0;
}

static json_t *
finish(json_t *o, bool ok)
{
	if (!ok) {
		json_decref(o);
		return NULL;
	}
	return o;
}

char *
cm_encode(const char *type, json_t *payload, const char *edge_id, size_t *len)
{
	json_t *env;
	uint8_t id[CT_UUID_LEN];
	char ids[CT_UUID_STR];
	char *out;
	bool ok;

	if (payload == NULL)
		return NULL;
	if ((env = json_object()) == NULL) {
		json_decref(payload);
		return NULL;
	}
	if (ct_uuid_new(id) != 0) {
		json_decref(payload);
		json_decref(env);
		return NULL;
	}
	ct_uuid_fmt(id, ids);
	ok = put(env, "type", json_string(type));
	ok = put(env, "payload", payload) && ok;
	ok = put(env, "timestamp", jiso_ms(ct_now_ms())) && ok;
	ok = put(env, "messageId", json_string(ids)) && ok;
	if (edge_id != NULL && *edge_id != '\0')
		ok = put(env, "edgeId", cm_jstr(edge_id)) && ok;
	out = ok ? json_dumps(env, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
	json_decref(env);
	if (out != NULL && len != NULL)
		*len = strlen(out);
	return out;
}

json_t *
cm_register_payload(const struct cm_register *r)
{
	json_t *o = json_object(), *caps = json_array();
	bool ok = o != NULL && caps != NULL;

	for (size_t i = 0; ok && i < r->ncapabilities; i++)
		ok = json_array_append_new(caps, cm_jstr(r->capabilities[i])) == 0;
	if (o == NULL) {
		json_decref(caps);
		return NULL;
	}
	ok = put(o, "edgeId", cm_jstr_or_null(r->edge_id)) && ok;
	ok = put(o, "siteId", cm_jstr_or_null(r->site_id)) && ok;
	ok = put(o, "siteName", cm_jstr_or_null(r->site_name)) && ok;
	ok = put(o, "version", cm_jstr(r->version ? r->version : "")) && ok;
	ok = put(o, "capabilities", caps) && ok;
	return finish(o, ok);
}

void
cm_global_device_id(const char *site_id, const char *device_id, char *out, size_t cap)
{
	if (site_id == NULL || *site_id == '\0')
		snprintf(out, cap, "%s", device_id);
	else
		snprintf(out, cap, "%s-%s", site_id, device_id);
}

json_t *
cm_device_connected_payload(const struct cm_device *d)
{
	json_t *o = json_object();
	bool ok = o != NULL;

	if (!ok)
		return NULL;
	ok = put(o, "deviceId", cm_jstr(d->device_id)) && ok;
	ok = put(o, "globalDeviceId", cm_jstr_or_null(d->global_device_id)) && ok;
	ok = put(o, "sourceIp", cm_jstr_or_null(d->source_ip)) && ok;
	ok = put(o, "deviceType", cm_jstr_or_null(d->device_type)) && ok;
	return finish(o, ok);
}

json_t *
cm_device_disconnected_payload(const struct cm_device *d)
{
	json_t *o = json_object();
	bool ok = o != NULL;

	if (!ok)
		return NULL;
	ok = put(o, "deviceId", cm_jstr(d->device_id)) && ok;
	ok = put(o, "reason", cm_jstr_or_null(d->reason)) && ok;
	ok = put(o, "timestamp", jiso_ms(d->at_ms)) && ok;
	return finish(o, ok);
}

json_t *
cm_device_heartbeat_payload(const struct cm_device *d)
{
	json_t *o = json_object();
	bool ok = o != NULL;

	if (!ok)
		return NULL;
	ok = put(o, "deviceId", cm_jstr(d->device_id)) && ok;
	ok = put(o, "globalDeviceId", cm_jstr_or_null(d->global_device_id)) && ok;
	ok = put(o, "status", cm_jstr(d->status ? d->status : "online")) && ok;
	ok = put(o, "heartbeatCount", json_integer(d->heartbeat_count)) && ok;
	ok = put(o, "timestamp", jiso_ms(d->at_ms)) && ok;
	return finish(o, ok);
}

json_t *
cm_offline_batch_start_payload(const struct cm_batch *b)
{
	json_t *o = json_object();
	bool ok = o != NULL;

	if (!ok)
		return NULL;
	ok = put(o, "batchId", juuid(b->batch_id)) && ok;
	ok = put(o, "deviceId", cm_jstr(b->device_id)) && ok;
	ok = put(o, "startedAt", jiso_ms(b->started_at_ms)) && ok;
	return finish(o, ok);
}

json_t *
cm_offline_batch_end_payload(const struct cm_batch *b)
{
	json_t *o = json_object();
	bool ok = o != NULL;

	if (!ok)
		return NULL;
	ok = put(o, "batchId", juuid(b->batch_id)) && ok;
	ok = put(o, "deviceId", cm_jstr(b->device_id)) && ok;
	ok = put(o, "startedAt", jiso_ms(b->started_at_ms)) && ok;
	ok = put(o, "endedAt", jiso_ms(b->ended_at_ms)) && ok;
	ok = put(o, "eventCount", json_integer((json_int_t)b->event_count)) && ok;
	ok = put(o, "totalWeightGrams", json_integer(b->total_weight_g)) && ok;
	ok = put(o, "clockAdjusted", json_boolean(b->clock_adjusted)) && ok;
	return finish(o, ok);
}

json_t *
cm_ping_payload(void)
{
	return json_object();
}

json_t *
cm_pong_payload(const char *ping_id)
{
	json_t *o = json_object();

	if (o == NULL || ping_id == NULL || *ping_id == '\0')
		return o;
	return finish(o, put(o, "pingId", cm_jstr(ping_id)));
}

json_t *
cm_status_payload(const struct cm_status *s)
{
	json_t *o = json_object();
	bool ok = o != NULL;

	if (!ok)
		return NULL;
	ok = put(o, "version", cm_jstr(s->version ? s->version : "")) && ok;
	ok = put(o, "uptimeSeconds", json_integer(s->uptime_s)) && ok;
	ok = put(o, "health", cm_jstr(s->health ? s->health : "ok")) && ok;
	ok = put(o, "backlog", json_integer((json_int_t)s->backlog)) && ok;
	ok = put(o, "scales", json_integer(s->scales)) && ok;
	ok = put(o, "inFlight", json_integer(s->in_flight)) && ok;
	ok = put(o, "acknowledgedToday", json_integer((json_int_t)s->acked_today)) && ok;
	return finish(o, ok);
}
