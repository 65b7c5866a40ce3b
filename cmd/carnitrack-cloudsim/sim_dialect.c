/*
 * Dialects: the ways real clouds written against CLOUD_INTEGRATION_QUICKREF.md
 * differ from this one, each behind one option (issue 12), so the edge can be
 * tested against every one of them:
 *   --numeric-ids        cloudEventId, cloudSessionId, animalId, operatorId,
 *                        messageId as JSON integers
 *   --binary-frames      every message in a binary WebSocket frame
 *   --epoch-timestamps   envelope "timestamp" as epoch milliseconds
 *   --session-id-alias   "sessionId" for cloudSessionId; session_ended /
 *                        paused / resumed without deviceId; session_started
 *                        with "status"
 *   --no-dedupe          a re-sent event is answered event_rejected "duplicate"
 *   --register-reply     see sim_register.c
 * Everything this cloud sends goes through here, so an option holds for
 * every message. Without options the fast ack path of the benchmark stays.
 */
#include "sim.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "event/event.h"

static const char *const reply_names[] = { "edge_registered", "config_update", "none", "http" };

const char *
sim_reply_name(enum sim_reply r)
{
	return (unsigned)r < 4 ? reply_names[r] : "?";
}

int
sim_reply_parse(const char *s, enum sim_reply *out)
{
	for (unsigned i = 0; i < 4; i++)
		if (strcmp(s, reply_names[i]) == 0) {
			*out = (enum sim_reply)i;
			return 0;
		}
	return -1;
}

json_t *
sim_id(const struct sim *s, const char *text)
{
	char *end;
	long long v;

	if (text == NULL || *text == '\0')
		return json_null();
	if (s->o.numeric_ids) {
		v = strtoll(text, &end, 10);
		if (*end == '\0')
			return json_integer(v);
	}
	return json_string(text);
}

void
sim_new_id(struct sim *s, char out[40])
{
	uint8_t id[16];

	if (s->o.numeric_ids) {
		snprintf(out, 40, "%" PRIu64, 1000 + ++s->next_numeric_id);
		return;
	}
	ct_uuid_new(id);
	ct_uuid_fmt(id, out);
}

static char *
sim_encode(struct sim *s, const char *type, json_t *payload, size_t *len)
{
	json_t *env;
	char mid[40], ts[CT_ISO_MAX], *out;

	if (payload == NULL)
		return NULL;
	if ((env = json_object()) == NULL) {
		json_decref(payload);
		return NULL;
	}
	json_object_set_new(env, "type", json_string(type));
	json_object_set_new(env, "payload", payload);
	if (s->o.epoch_timestamps) {
		json_object_set_new(env, "timestamp", json_integer(ct_now_ms()));
	} else {
		ct_iso_from_ms(ct_now_ms(), ts);
		json_object_set_new(env, "timestamp", json_string(ts));
	}
	if (s->o.numeric_ids) {
		json_object_set_new(env, "messageId", json_integer((json_int_t)++s->msg_seq));
	} else {
		sim_new_message_id(s, mid);
		json_object_set_new(env, "messageId", json_string(mid));
	}
	out = json_dumps(env, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(env);
	if (out != NULL && len != NULL)
		*len = strlen(out);
	return out;
}

void
sim_send(struct conn *c, const char *type, json_t *payload)
{
	size_t len;
	char *text = sim_encode(c->sim, type, payload, &len);

	if (text == NULL)
		return;
	sim_conn_send(c, text, len);
	free(text);
}

void
sim_broadcast(struct sim *s, const char *type, json_t *payload)
{
	size_t len;
	char *text = sim_encode(s, type, payload, &len);

	if (text == NULL)
		return;
	for (int i = 0; i < SIM_MAX_CONNS; i++)
		if (s->conns[i] != NULL && s->conns[i]->registered)
			sim_conn_send(s->conns[i], text, len);
	free(text);
}

/* The same cloudEventId every time for the same event, as a database's
 * existing row would give, without storing it. */
void
sim_cloud_event_id(const struct sim *s, const uint8_t id[16], char out[CT_UUID_STR])
{
	uint8_t cid[16];

	for (int i = 0; i < 16; i++)
		cid[i] = id[i] ^ s->cloud_key[i];
	if (s->o.numeric_ids) {
		uint64_t v = 0;
		for (int i = 0; i < 6; i++)
			v = v << 8 | cid[i];
		snprintf(out, CT_UUID_STR, "%" PRIu64, v + 1);
		return;
	}
	cid[6] = (cid[6] & 0x0f) | 0x40;
	cid[8] = (cid[8] & 0x3f) | 0x80;
	ct_uuid_fmt(cid, out);
}

void
sim_send_ack(struct conn *c, const uint8_t id[16], bool dup)
{
	struct sim *s = c->sim;
	char lid[CT_UUID_STR], cids[CT_UUID_STR], mid[40], ts[CT_ISO_MAX], buf[384];
	int n;

	ct_uuid_fmt(id, lid);
	if (dup && s->o.no_dedupe) {
		/* A cloud whose unique index refuses the second insert. */
		sim_send(c, "event_rejected", json_pack("{s:s, s:s}", "localEventId", lid,
		    "reason", "duplicate: event already exists"));
		return;
	}
	sim_cloud_event_id(s, id, cids);
	if (s->o.numeric_ids || s->o.epoch_timestamps) {
		sim_send(c, "event_ack", json_pack("{s:s, s:o, s:s}", "localEventId", lid,
		    "cloudEventId", sim_id(s, cids), "status", dup ? "duplicate" : "accepted"));
		return;
	}
	/* The benchmark's path: no JSON tree per ack. */
	sim_new_message_id(s, mid);
	ct_iso_from_ms(ct_now_ms(), ts);
	n =
	    snprintf(buf, sizeof(buf),
	    "{\"type\":\"event_ack\",\"payload\":{\"localEventId\":\"%s\","
	    "\"cloudEventId\":\"%s\",\"status\":\"%s\"},\"timestamp\":\"%s\",\"messageId\":\"%s\"}",
	    lid, cids, dup ? "duplicate" : "accepted", ts, mid);
	sim_conn_send(c, buf, (size_t)n);
}
