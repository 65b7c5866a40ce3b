/*
 * Cloud -> edge: bound the input, parse it, check the envelope, then copy
 * each payload field into fixed buffers. Nothing from the cloud is trusted:
 * every field is type-checked and length-checked, and the error names it.
 */
#include "cloudmsg/cloudmsg.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct {
	const char  *name;
	enum cm_type type;
} types[] = {
	{ "edge_registered", CM_EDGE_REGISTERED },
	{ "config_update",   CM_CONFIG_UPDATE },
	{ "session_started", CM_SESSION_STARTED },
	{ "session_ended",   CM_SESSION_ENDED },
	{ "session_paused",  CM_SESSION_PAUSED },
	{ "session_resumed", CM_SESSION_RESUMED },
	{ "event_ack",       CM_EVENT_ACK },
	{ "event_rejected",  CM_EVENT_REJECTED },
	{ "plu_updated",     CM_PLU_UPDATED },
	{ "ping",            CM_PING },
	{ "pong",            CM_PONG },
};

const char *
cm_type_name(enum cm_type t)
{
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
		if (types[i].type == t)
			return types[i].name;
	return "unknown";
}

static int
fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err != NULL && errlen > 0) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return -1;
}

int
cm_check_depth(const char *buf, size_t len, int max)
{
	int depth = 0;
	bool in_str = false, esc = false;

	for (size_t i = 0; i < len; i++) {
		char c = buf[i];

		if (in_str) {
			if (esc)
				esc = false;
			else if (c == '\\')
				esc = true;
			else if (c == '"')
				in_str = false;
			continue;
		}
		switch (c) {
		case '"':
			in_str = true;
			break;
		case '[': case '{':
			if (++depth > max)
				return -1;
			break;
		case ']': case '}':
			/* An unbalanced close is jansson's to report. */
			if (depth > 0)
				depth--;
			break;
		}
	}
	return 0;
}

/*
 * Copies payload.<key> into out. required: absent, null or "" is an error;
 * otherwise absent/null leaves "". A non-string or a string that does not
 * fit is always an error: silently cutting an id would ack the wrong thing.
 */
static int
get_str(const json_t *obj, const char *key, bool required, char *out, size_t cap,
    char *err, size_t errlen)
{
	const json_t *v = json_object_get(obj, key);
	size_t n;

	out[0] = '\0';
	if (v == NULL || json_is_null(v)) {
		if (required)
			return fail(err, errlen, "payload.%s: missing", key);
		return 0;
	}
	if (!json_is_string(v))
		return fail(err, errlen, "payload.%s: expected a string", key);
	n = json_string_length(v);
	if (n >= cap)
		return fail(err, errlen, "payload.%s: %zu bytes, longer than %zu", key, n, cap - 1);
	memcpy(out, json_string_value(v), n);
	out[n] = '\0';
	if (strlen(out) != n)
		return fail(err, errlen, "payload.%s: contains NUL", key);
	/* An empty id names nothing: as bad as a missing one. */
	if (required && n == 0)
		return fail(err, errlen, "payload.%s: empty", key);
	return 0;
}

static int
get_uuid(const json_t *obj, const char *key, uint8_t out[CT_UUID_LEN], char *err, size_t errlen)
{
	char s[64];

	if (get_str(obj, key, true, s, sizeof(s), err, errlen) != 0)
		return -1;
	if (ct_uuid_parse(s, out) != 0)
		return fail(err, errlen, "payload.%s: not a UUID", key);
	return 0;
}

static int
dec_identity(const json_t *p, struct cm_msg *m, char *err, size_t errlen)
{
	struct cm_identity *id = &m->u.identity;
	bool required = m->type == CM_EDGE_REGISTERED;

	if (get_str(p, "edgeId", required, id->edge_id, sizeof(id->edge_id), err, errlen) != 0 ||
	    get_str(p, "siteId", false, id->site_id, sizeof(id->site_id), err, errlen) != 0 ||
	    get_str(p, "siteName", false, id->site_name, sizeof(id->site_name), err, errlen) != 0)
		return -1;
	id->has_edge_id = id->edge_id[0] != '\0';
	return 0;
}

static int
dec_session(const json_t *p, struct cm_msg *m, char *err, size_t errlen)
{
	struct cm_session *s = &m->u.session;

	switch (m->type) {
	case CM_SESSION_STARTED: s->change = CT_SESS_STARTED; break;
	case CM_SESSION_ENDED:   s->change = CT_SESS_ENDED; break;
	case CM_SESSION_PAUSED:  s->change = CT_SESS_PAUSED; break;
	default:                 s->change = CT_SESS_RESUMED; break;
	}
	if (get_str(p, "cloudSessionId", true, s->cloud_session_id, sizeof(s->cloud_session_id), err, errlen) != 0 ||
	    get_str(p, "deviceId", true, s->device_id, sizeof(s->device_id), err, errlen) != 0)
		return -1;
	if (m->type == CM_SESSION_STARTED &&
	    (get_str(p, "animalId", false, s->animal_id, sizeof(s->animal_id), err, errlen) != 0 ||
	     get_str(p, "animalTag", false, s->animal_tag, sizeof(s->animal_tag), err, errlen) != 0 ||
	     get_str(p, "animalSpecies", false, s->animal_species, sizeof(s->animal_species), err, errlen) != 0 ||
	     get_str(p, "operatorId", false, s->operator_id, sizeof(s->operator_id), err, errlen) != 0))
		return -1;
	if (m->type == CM_SESSION_ENDED &&
	    get_str(p, "reason", false, s->reason, sizeof(s->reason), err, errlen) != 0)
		return -1;
	return 0;
}

static int
dec_ack(const json_t *p, struct cm_msg *m, char *err, size_t errlen)
{
	struct cm_ack *a = &m->u.ack;
	char status[16];

	if (get_uuid(p, "localEventId", a->local_id, err, errlen) != 0 ||
	    get_str(p, "cloudEventId", false, a->cloud_event_id, sizeof(a->cloud_event_id), err, errlen) != 0)
		return -1;
	if (get_str(p, "status", true, status, sizeof(status), err, errlen) != 0)
		return fail(err, errlen, "payload.status: expected \"accepted\" or \"duplicate\"");
	if (strcmp(status, "accepted") == 0)
		a->status = CT_ACK_ACCEPTED;
	else if (strcmp(status, "duplicate") == 0)
		a->status = CT_ACK_DUPLICATE;
	else
		return fail(err, errlen, "payload.status: expected \"accepted\" or \"duplicate\"");
	return 0;
}

static int
dec_reject(const json_t *p, struct cm_msg *m, char *err, size_t errlen)
{
	struct cm_reject *r = &m->u.reject;

	if (get_uuid(p, "localEventId", r->local_id, err, errlen) != 0)
		return -1;
	/* A reason longer than we keep is still a rejection: cut it, do not
	 * drop it (dropping would have the event re-sent forever). */
	const json_t *v = json_object_get(p, "reason");
	if (v != NULL && !json_is_null(v)) {
		if (!json_is_string(v))
			return fail(err, errlen, "payload.reason: expected a string");
		snprintf(r->reason, sizeof(r->reason), "%s", json_string_value(v));
	}
	return 0;
}

static int
dec_plu(const json_t *p, struct cm_msg *m, char *err, size_t errlen)
{
	struct cm_plu *plu = &m->u.plu;

	if (get_str(p, "pluCode", true, plu->plu_code, sizeof(plu->plu_code), err, errlen) != 0)
		return -1;
	plu->payload_json = json_dumps(p, JSON_COMPACT | JSON_PRESERVE_ORDER);
	if (plu->payload_json == NULL)
		return fail(err, errlen, "payload: out of memory");
	plu->payload_len = strlen(plu->payload_json);
	return 0;
}

int
cm_decode(const char *buf, size_t len, struct cm_msg *m, char *err, size_t errlen)
{
	if (cm_decode_ack_fast(buf, len, m) == 1)
		return 0;
	return cm_decode_tree(buf, len, m, err, errlen);
}

int
cm_decode_tree(const char *buf, size_t len, struct cm_msg *m, char *err, size_t errlen)
{
	json_t *root, *jtype, *payload, *v;
	json_error_t jerr;
	int rc = -1;

	memset(m, 0, sizeof(*m));
	if (len > CM_MAX_MSG)
		return fail(err, errlen, "message of %zu bytes exceeds the limit of %d", len, CM_MAX_MSG);
	if (cm_check_depth(buf, len, CM_MAX_DEPTH) != 0)
		return fail(err, errlen, "message nests deeper than %d", CM_MAX_DEPTH);
	root = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &jerr);
	if (root == NULL)
		return fail(err, errlen, "invalid JSON at byte %d: %s", jerr.position, jerr.text);
	if (!json_is_object(root)) {
		fail(err, errlen, "message is not a JSON object");
		goto out;
	}
	jtype = json_object_get(root, "type");
	if (jtype == NULL || !json_is_string(jtype)) {
		fail(err, errlen, "type: %s", jtype == NULL ? "missing" : "expected a string");
		goto out;
	}
	snprintf(m->type_name, sizeof(m->type_name), "%s", json_string_value(jtype));
	m->type = CM_UNKNOWN;
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
		if (strcmp(json_string_value(jtype), types[i].name) == 0)
			m->type = types[i].type;
	if ((v = json_object_get(root, "messageId")) != NULL && !json_is_null(v)) {
		if (!json_is_string(v) || json_string_length(v) >= sizeof(m->message_id)) {
			fail(err, errlen, "messageId: expected a string shorter than %zu", sizeof(m->message_id));
			goto out;
		}
		snprintf(m->message_id, sizeof(m->message_id), "%s", json_string_value(v));
	}
	if ((v = json_object_get(root, "timestamp")) != NULL && !json_is_null(v) && !json_is_string(v)) {
		fail(err, errlen, "timestamp: expected a string");
		goto out;
	}
	if (m->type == CM_UNKNOWN) {
		rc = 0;
		goto out;
	}
	payload = json_object_get(root, "payload");
	if (payload == NULL || json_is_null(payload)) {
		/* A keep-alive needs no payload; everything else does. */
		if (m->type == CM_PING || m->type == CM_PONG) {
			rc = 0;
			goto out;
		}
		fail(err, errlen, "payload: missing");
		goto out;
	}
	if (!json_is_object(payload)) {
		fail(err, errlen, "payload: expected an object");
		goto out;
	}
	switch (m->type) {
	case CM_EDGE_REGISTERED:
	case CM_CONFIG_UPDATE:
		rc = dec_identity(payload, m, err, errlen);
		break;
	case CM_SESSION_STARTED:
	case CM_SESSION_ENDED:
	case CM_SESSION_PAUSED:
	case CM_SESSION_RESUMED:
		rc = dec_session(payload, m, err, errlen);
		break;
	case CM_EVENT_ACK:
		rc = dec_ack(payload, m, err, errlen);
		break;
	case CM_EVENT_REJECTED:
		rc = dec_reject(payload, m, err, errlen);
		break;
	case CM_PLU_UPDATED:
		rc = dec_plu(payload, m, err, errlen);
		break;
	case CM_PONG:
		rc = get_str(payload, "pingId", false, m->ping_id, sizeof(m->ping_id), err, errlen);
		break;
	case CM_PING:
	case CM_UNKNOWN:
		rc = 0;
		break;
	}
out:
	json_decref(root);
	if (rc != 0) {
		cm_msg_clear(m);
		memset(m, 0, sizeof(*m));
	}
	return rc;
}

void
cm_msg_clear(struct cm_msg *m)
{
	if (m->type == CM_PLU_UPDATED) {
		free(m->u.plu.payload_json);
		m->u.plu.payload_json = NULL;
	}
}
