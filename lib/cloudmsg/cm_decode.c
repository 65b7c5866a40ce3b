/*
 * Cloud -> edge: bound the input, parse it, check the envelope, then copy
 * each payload field into fixed buffers. Nothing from the cloud is trusted:
 * every field is type-checked and length-checked, and the error names it.
 * What is accepted beyond the quick reference's exact shapes is listed in
 * cloudmsg.h ("decoding"); the field readers are in cm_field.c.
 */
#include "cloudmsg/cloudmsg.h"
#include "cloudmsg/cm_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

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
	{ "error",           CM_ERROR },
};

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

static int
get_uuid(const json_t *obj, const char *key, uint8_t out[CT_UUID_LEN], char *err, size_t errlen)
{
	char s[64];

	if (cm_get_str(obj, key, true, s, sizeof(s), err, errlen) != 0)
		return -1;
	if (ct_uuid_parse(s, out) != 0)
		return cm_fail(err, errlen, "payload.%s: not a UUID", key);
	return 0;
}

static const char *const k_edge_id[] = { "edgeId", "edge_id", NULL };
static const char *const k_site_id[] = { "siteId", "site_id", NULL };
static const char *const k_session_id[] = { "cloudSessionId", "sessionId", NULL };

int
cm_dec_identity(const json_t *p, bool required, struct cm_identity *id, char *err, size_t errlen)
{
	static const char *const k_site_name[] = { "siteName", "site_name", NULL };
	const json_t *v = NULL;

	if (cm_get_id_any(p, k_edge_id, required, id->edge_id, sizeof(id->edge_id), err, errlen) !=
	    0 ||
	    cm_get_id_any(p, k_site_id, false, id->site_id, sizeof(id->site_id), err, errlen) != 0)
		return -1;
	/* A display name longer than we keep is cut, not a reason to lose
	 * the identity that came with it. */
	for (size_t i = 0; k_site_name[i] != NULL && (v == NULL || json_is_null(v)); i++)
		v = json_object_get(p, k_site_name[i]);
	id->site_name[0] = '\0';
	if (v != NULL && !json_is_null(v)) {
		if (!json_is_string(v))
			return cm_fail(err, errlen, "payload.siteName: expected a string");
		snprintf(id->site_name, sizeof(id->site_name), "%s", json_string_value(v));
	}
	id->has_edge_id = id->edge_id[0] != '\0';
	return 0;
}

static int
dec_session_status(const json_t *p, struct cm_session *s, char *err, size_t errlen)
{
	static const struct { const char *word; enum cm_session_status st; } words[] = {
		{ "active", CM_SESS_STATUS_ACTIVE }, { "pending", CM_SESS_STATUS_PENDING },
		{ "paused", CM_SESS_STATUS_PAUSED },
	};
	const json_t *v = json_object_get(p, "status");

	s->status = CM_SESS_STATUS_NONE;
	if (v == NULL || json_is_null(v))
		return 0;
	if (!json_is_string(v))
		return cm_fail(err, errlen, "payload.status: expected a string");
	snprintf(s->status_text, sizeof(s->status_text), "%s", json_string_value(v));
	s->status = CM_SESS_STATUS_OTHER;
	for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++)
		if (strcasecmp(json_string_value(v), words[i].word) == 0)
			s->status = words[i].st;
	return 0;
}

static int
dec_session(const json_t *p, struct cm_msg *m, char *err, size_t errlen)
{
	struct cm_session *s = &m->u.session;
	bool started = m->type == CM_SESSION_STARTED;

	switch (m->type) {
	case CM_SESSION_STARTED: s->change = CT_SESS_STARTED; break;
	case CM_SESSION_ENDED:   s->change = CT_SESS_ENDED; break;
	case CM_SESSION_PAUSED:  s->change = CT_SESS_PAUSED; break;
	default:                 s->change = CT_SESS_RESUMED; break;
	}
	/* A start must say which scale; the others name a session the store
	 * can find by its id alone. */
	if (cm_get_id_any(p, k_session_id, true, s->cloud_session_id, sizeof(s->cloud_session_id),
	        err, errlen) != 0 ||
	    cm_get_str(p, "deviceId", started, s->device_id, sizeof(s->device_id), err, errlen) !=
	    0)
		return -1;
	if (!started && json_object_get(p, "deviceId") != NULL && s->device_id[0] == '\0' &&
	    !json_is_null(json_object_get(p, "deviceId")))
		return cm_fail(err, errlen, "payload.deviceId: empty");
	if (started &&
	    (cm_get_id(p, "animalId", false, s->animal_id, sizeof(s->animal_id), err, errlen) !=
	    0 ||
	     cm_get_str(p, "animalTag", false, s->animal_tag, sizeof(s->animal_tag), err, errlen) !=
	         0 ||
	     cm_get_str(p, "animalSpecies", false, s->animal_species, sizeof(s->animal_species),
	         err, errlen) != 0 ||
	     cm_get_id(p, "operatorId", false, s->operator_id, sizeof(s->operator_id), err,
	         errlen) != 0 ||
	     dec_session_status(p, s, err, errlen) != 0))
		return -1;
	if (m->type == CM_SESSION_ENDED &&
	    cm_get_str(p, "reason", false, s->reason, sizeof(s->reason), err, errlen) != 0)
		return -1;
	return 0;
}

static int
dec_ack(const json_t *p, struct cm_msg *m, char *err, size_t errlen)
{
	static const char bad[] = "payload.status: expected \"accepted\" or \"duplicate\"";
	struct cm_ack *a = &m->u.ack;
	const json_t *v;

	if (get_uuid(p, "localEventId", a->local_id, err, errlen) != 0 ||
	    cm_get_id(p, "cloudEventId", false, a->cloud_event_id, sizeof(a->cloud_event_id), err,
	    errlen) != 0)
		return -1;
	/* An ack is an ack: without a status it says accepted. Any other word
	 * is refused, not guessed: marking an event delivered is final. */
	v = json_object_get(p, "status");
	if (v == NULL || json_is_null(v))
		a->status = CT_ACK_ACCEPTED;
	else if (!json_is_string(v))
		return cm_fail(err, errlen, "%s", bad);
	else if (strcasecmp(json_string_value(v), "accepted") == 0)
		a->status = CT_ACK_ACCEPTED;
	else if (strcasecmp(json_string_value(v), "duplicate") == 0)
		a->status = CT_ACK_DUPLICATE;
	else
		return cm_fail(err, errlen, "%s", bad);
	return 0;
}

/* A free-text field: cut to fit rather than refused. */
static int
get_text(const json_t *p, const char *key, char *out, size_t cap, char *err, size_t errlen)
{
	const json_t *v = json_object_get(p, key);

	out[0] = '\0';
	if (v == NULL || json_is_null(v))
		return 0;
	if (!json_is_string(v))
		return cm_fail(err, errlen, "payload.%s: expected a string", key);
	snprintf(out, cap, "%s", json_string_value(v));
	return 0;
}

static int
dec_reject(const json_t *p, struct cm_msg *m, char *err, size_t errlen)
{
	struct cm_reject *r = &m->u.reject;
	char code[CM_ID_MAX], status[CM_ID_MAX];

	if (get_uuid(p, "localEventId", r->local_id, err, errlen) != 0)
		return -1;
	/* A reason longer than we keep is still a rejection: cut it, do not
	 * drop it (dropping would have the event re-sent forever). */
	if (get_text(p, "reason", r->reason, sizeof(r->reason), err, errlen) != 0 ||
	    get_text(p, "code", code, sizeof(code), err, errlen) != 0 ||
	    get_text(p, "status", status, sizeof(status), err, errlen) != 0)
		return -1;
	/* A cloud that answers a re-sent event "rejected: duplicate" has it. */
	r->duplicate = cm_contains(r->reason, "duplicate") || cm_contains(code, "duplicate") ||
	    cm_contains(status, "duplicate");
	return 0;
}

/* Anything that says what went wrong, whatever the cloud called it: a
 * code (text or number) and a message, both cut to fit. Never fails. */
static void
dec_error(const json_t *p, struct cm_msg *m)
{
	static const char *const unknown[] = { "unknown edge", "unknown_edge", "invalid edge",
	    "invalid_edge", "edge not found", "edge_not_found", "edge not registered",
	    "edge_not_registered", "unregistered edge", NULL };
	static const char *const texts[] = { "message", "error", "reason", "detail", NULL };
	struct cm_error *e = &m->u.error;
	const json_t *v;

	if (json_is_string(p)) {
		snprintf(e->message, sizeof(e->message), "%s", json_string_value(p));
	} else {
		v = json_object_get(p, "code");
		if (json_is_string(v))
			snprintf(e->code, sizeof(e->code), "%s", json_string_value(v));
		else if (json_is_integer(v))
			snprintf(e->code, sizeof(e->code), "%lld",
			    (long long)json_integer_value(v));
		for (size_t i = 0; texts[i] != NULL && e->message[0] == '\0'; i++)
			if (json_is_string(v = json_object_get(p, texts[i])))
				snprintf(e->message, sizeof(e->message), "%s",
				    json_string_value(v));
	}
	for (size_t i = 0; unknown[i] != NULL; i++)
		if (cm_contains(e->code, unknown[i]) || cm_contains(e->message, unknown[i]))
			e->unknown_edge = true;
}

static int
dec_plu(const json_t *p, struct cm_msg *m, char *err, size_t errlen)
{
	struct cm_plu *plu = &m->u.plu;

	if (cm_get_str(p, "pluCode", true, plu->plu_code, sizeof(plu->plu_code), err, errlen) != 0)
		return -1;
	plu->payload_json = json_dumps(p, JSON_COMPACT | JSON_PRESERVE_ORDER);
	if (plu->payload_json == NULL)
		return cm_fail(err, errlen, "payload: out of memory");
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
		return cm_fail(err, errlen, "message of %zu bytes exceeds the limit of %d", len,
		    CM_MAX_MSG);
	if (cm_check_depth(buf, len, CM_MAX_DEPTH) != 0)
		return cm_fail(err, errlen, "message nests deeper than %d", CM_MAX_DEPTH);
	root = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &jerr);
	if (root == NULL)
		return cm_fail(err, errlen, "invalid JSON at byte %d: %s", jerr.position,
		    jerr.text);
	if (!json_is_object(root)) {
		cm_fail(err, errlen, "message is not a JSON object");
		goto out;
	}
	jtype = json_object_get(root, "type");
	if (jtype == NULL || !json_is_string(jtype)) {
		cm_fail(err, errlen, "type: %s", jtype == NULL ? "missing" : "expected a string");
		goto out;
	}
	snprintf(m->type_name, sizeof(m->type_name), "%s", json_string_value(jtype));
	m->type = CM_UNKNOWN;
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
		if (strcmp(json_string_value(jtype), types[i].name) == 0)
			m->type = types[i].type;
	if ((v = json_object_get(root, "messageId")) != NULL && !json_is_null(v) &&
	    cm_get_id(root, "messageId", false, m->message_id, sizeof(m->message_id), err,
	    errlen) != 0) {
		cm_fail(err, errlen, "messageId: expected a string or an integer shorter than %zu",
		    sizeof(m->message_id));
		goto out;
	}
	/* We act on no cloud time: an unreadable one is noted, not fatal. */
	m->sent_at_ms = -1;
	if ((v = json_object_get(root, "timestamp")) != NULL && !json_is_null(v) &&
	    (m->sent_at_ms = cm_time_ms(v)) < 0) {
		m->sent_at_ms = -1;
		m->timestamp_unreadable = true;
	}
	if (m->type == CM_UNKNOWN) {
		rc = 0;
		goto out;
	}
	payload = json_object_get(root, "payload");
	if (payload == NULL || json_is_null(payload)) {
		/* A keep-alive needs no payload; everything else does. An
		 * error may carry its code and message in the envelope. */
		if (m->type == CM_ERROR) {
			dec_error(root, m);
			rc = 0;
			goto out;
		}
		if (m->type == CM_PING || m->type == CM_PONG) {
			rc = 0;
			goto out;
		}
		cm_fail(err, errlen, "payload: missing");
		goto out;
	}
	if (!json_is_object(payload) && !(m->type == CM_ERROR && json_is_string(payload))) {
		cm_fail(err, errlen, "payload: expected an object");
		goto out;
	}
	switch (m->type) {
	case CM_EDGE_REGISTERED:
	case CM_CONFIG_UPDATE:
		/* config_update is also the cloud's way of saying other things */
		rc = cm_dec_identity(payload, m->type == CM_EDGE_REGISTERED, &m->u.identity,
		    err, errlen);
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
		rc =
		    cm_get_id(payload, "pingId", false, m->ping_id, sizeof(m->ping_id), err,
		    errlen);
		break;
	case CM_ERROR:
		dec_error(payload, m);
		rc = 0;
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
