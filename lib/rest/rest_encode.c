/*
 * Request bodies of the REST API (REST_API.md sections 4 and 5), built on
 * lib/cloudmsg's builders where the WebSocket contract has the same object,
 * so both transports send the same bytes for the same thing.
 */
#include "rest/rest.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const rest_caps[] = { "rest", "tcp" };

static json_t *
jiso(int64_t ms)
{
	char iso[CT_ISO_MAX];

	ct_iso_from_ms(ms, iso);
	return json_string(iso);
}

static bool
put(json_t *o, const char *k, json_t *v)
{
	return json_object_set_new_nocheck(o, k, v) == 0;
}

/* Serialises and frees o; NULL if o is NULL or ok is false. */
static char *
dump(json_t *o, bool ok, size_t *len)
{
	char *s = (o != NULL && ok) ? json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;

	json_decref(o);
	if (s != NULL && len != NULL)
		*len = strlen(s);
	return s;
}

char *
rest_register_body(const char *edge_id, const char *site_id, const char *site_name, size_t *len)
{
	struct cm_register r = { edge_id, site_id, site_name, REST_VERSION, rest_caps, 2 };

	return dump(cm_register_payload(&r), true, len);
}

char *
rest_activate_body(const char *code, size_t *len)
{
	json_t *o = json_object(), *caps = json_array();
	char trimmed[128];
	size_t n;
	bool ok;

	while (code != NULL && (*code == ' ' || *code == '\t'))
		code++;
	snprintf(trimmed, sizeof(trimmed), "%s", code ? code : "");
	n = strlen(trimmed);
	while (n > 0 && (trimmed[n - 1] == ' ' || trimmed[n - 1] == '\t' || trimmed[n - 1] == '\n'))
		trimmed[--n] = '\0';
	ok = o != NULL && caps != NULL && json_array_append_new(caps, json_string("weighing")) == 0;
	if (o == NULL) {
		json_decref(caps);
		return NULL;
	}
	ok = put(o, "code", cm_jstr(trimmed)) && ok;
	ok = put(o, "version", json_string(REST_VERSION)) && ok;
	ok = put(o, "capabilities", caps) && ok;
	return dump(o, ok, len);
}

void
rest_event_body(struct cm_buf *b, const struct ct_event *ev, const char *gid)
{
	cm_buf_event(b, ev, gid);
}

void
rest_batch_wrap(struct cm_buf *out, const char *events, size_t len)
{
	cm_buf_reset(out);
	cm_buf_raw(out, "{\"events\":[");
	cm_buf_rawn(out, events, len);
	cm_buf_raw(out, "]}");
}

void
rest_batch_of(struct cm_buf *out, const struct ct_event *ev, size_t n)
{
	struct cm_buf joined = { 0 };

	for (size_t i = 0; i < n; i++) {
		if (i > 0)
			cm_buf_raw(&joined, ",");
		rest_event_body(&joined, &ev[i], NULL);
	}
	rest_batch_wrap(out, joined.p != NULL ? joined.p : "", joined.len);
	out->oom |= joined.oom;
	cm_buf_free(&joined);
}

char *
rest_batch_ack_body(const struct rest_batch_ack *a, size_t *len)
{
	json_t *o = cm_offline_batch_end_payload(&a->batch), *ids = json_array();
	char s[CT_UUID_STR];
	bool ok = o != NULL && ids != NULL;

	for (size_t i = 0; ok && i < a->nevents; i++) {
		ct_uuid_fmt(a->event_ids[i], s);
		ok = json_array_append_new(ids, json_string(s)) == 0;
	}
	if (o == NULL) {
		json_decref(ids);
		return NULL;
	}
	ok = put(o, "eventIds", ids) && ok;
	if (a->parts > 1) {
		ok = put(o, "part", json_integer(a->part)) && ok;
		ok = put(o, "parts", json_integer(a->parts)) && ok;
	}
	return dump(o, ok, len);
}

const char *
rest_health(bool online, size_t scales, size_t disconnected, size_t stale)
{
	if (!online || (scales > 0 && disconnected >= scales))
		return "error";
	if (disconnected > 0 || stale > 0)
		return "degraded";
	return "ok";
}

char *
rest_heartbeat_body(const struct rest_heartbeat *h, size_t *len)
{
	json_t *o = json_object(), *devs = json_array(), *printers = json_array();
	bool ok = o != NULL && devs != NULL && printers != NULL;

	for (size_t i = 0; ok && i < h->ndevices; i++) {
		const struct rest_hb_device *d = &h->devices[i];
		json_t *e = json_object();
		ok = e != NULL;
		ok = ok && put(e, "deviceId", cm_jstr(d->device_id));
		if (ok && d->global_device_id != NULL && *d->global_device_id != '\0')
			ok = put(e, "globalDeviceId", cm_jstr(d->global_device_id));
		ok = ok && put(e, "deviceType",
		    cm_jstr(d->device_type ? d->device_type : "disassembly"));
		ok = ok && put(e, "status", cm_jstr(d->status ? d->status : "unknown"));
		ok = ok && put(e, "lastHeartbeatAt", jiso(d->last_heartbeat_ms));
		if (ok && d->last_event_ms > 0)
			ok = put(e, "lastEventAt", jiso(d->last_event_ms));
		if (e != NULL && json_array_append_new(devs, e) != 0)
			ok = false;
	}
	if (o == NULL) {
		json_decref(devs);
		json_decref(printers);
		return NULL;
	}
	ok = put(o, "version", cm_jstr(h->version ? h->version : REST_VERSION)) && ok;
	ok = put(o, "uptimeSec", json_integer(h->uptime_s)) && ok;
	ok = put(o, "health", cm_jstr(h->health ? h->health : "ok")) && ok;
	ok = put(o, "devices", devs) && ok;
	ok = put(o, "printers", printers) && ok;
	return dump(o, ok, len);
}

char *
rest_device_status_body(const struct rest_device_status *d, size_t *len)
{
	json_t *o = NULL;
	bool ok;

	switch (d->kind) {
	case REST_DEV_ONLINE:
		o = cm_device_connected_payload(&d->dev);
		ok = o != NULL && put(o, "status", json_string("online"));
		break;
	case REST_DEV_HEARTBEAT:
		o = cm_device_heartbeat_payload(&d->dev);
		ok = o != NULL;
		break;
	case REST_DEV_DISCONNECTED:
		o = cm_device_disconnected_payload(&d->dev);
		ok = o != NULL && put(o, "status", json_string("disconnected"));
		break;
	default:
		return NULL;
	}
	if (ok) {
		bool gone = d->kind == REST_DEV_DISCONNECTED;
		ok = put(o, "heartbeatCount", json_integer(gone ? 0 : d->dev.heartbeat_count));
		ok = put(o, "eventCount", json_integer(gone ? 0 : d->event_count)) && ok;
	}
	return dump(o, ok, len);
}
