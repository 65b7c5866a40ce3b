/*
 * carnitrack-cloudsim --rest: POST <base>/edge/offline-batches/ack, the
 * edge's word that every event of an offline batch was delivered.
 * Idempotent by batchId: "received" the first time, "already_received"
 * with the original receivedAt after. A batch acknowledged in parts (the
 * edge's "part"/"parts", one part per 5000 eventIds) is recorded part by
 * part, each once; `batches` shows how many eventIds its parts listed and
 * how many of those name no event this cloud accepted.
 */
#include "sim_rest.h"

#include <inttypes.h>
#include <string.h>

#include "event/event.h"

/* The eventIds of one ACK part, counted once per part: how many, and how
 * many name no event this cloud accepted. */
static void
ack_ids(struct sim *s, struct batch *b, const json_t *ids)
{
	size_t i;
	json_t *e;
	uint8_t id[16];

	json_array_foreach(ids, i, e) {
		b->ack_ids++;
		if (!json_is_string(e) || ct_uuid_parse(json_string_value(e), id) != 0 ||
		    idset_get(&s->ids, id) != ID_ACCEPTED)
			b->ack_ids_unknown++;
	}
}

/* part/parts of a batch acknowledged in parts (the edge's extension), or
 * 1/1; -1 when they make no sense. */
static int
ack_part(const json_t *o, int *part, int *parts)
{
	const json_t *p = json_object_get(o, "part"), *n = json_object_get(o, "parts");

	*part = *parts = 1;
	if (p == NULL && n == NULL)
		return 0;
	if (!json_is_integer(p) || !json_is_integer(n) || json_integer_value(p) < 1 ||
	    json_integer_value(n) < json_integer_value(p) || json_integer_value(n) > 256)
		return -1;
	*part = (int)json_integer_value(p);
	*parts = (int)json_integer_value(n);
	return 0;
}

void
sim_rest_ack(struct sim_call *c)
{
	struct sim *s = c->s;
	json_t *o = sim_rest_load_object(c), *jc, *jw, *ids;
	const char *bid, *dev;
	char at[CT_ISO_MAX];
	uint8_t id[16];
	struct batch *b;
	bool repeat;
	int part, parts;

	if (o == NULL)
		return;
	bid = json_string_value(json_object_get(o, "batchId"));
	dev = json_string_value(json_object_get(o, "deviceId"));
	jc = json_object_get(o, "eventCount");
	jw = json_object_get(o, "totalWeightGrams");
	ids = json_object_get(o, "eventIds");
	if (bid == NULL || ct_uuid_parse(bid, id) != 0 || dev == NULL || !json_is_integer(jc) ||
	    !json_is_integer(jw) || (ids != NULL && !json_is_array(ids)) ||
	    ack_part(o, &part, &parts) != 0) {
		s->st.malformed++;
		sim_rest_error(c->req, 400, "batchId (UUID), deviceId, eventCount and "
		    "totalWeightGrams required; eventIds an array; part 1..parts <= 256");
		json_decref(o);
		return;
	}
	if ((b = sim_batch_get(s, id, dev)) == NULL) {
		sim_rest_error(c->req, 503, "batch table full");
		json_decref(o);
		return;
	}
	repeat = (b->parts_seen[(part - 1) / 8] & (1u << ((part - 1) % 8))) != 0;
	if (!repeat) {
		b->parts_seen[(part - 1) / 8] |= (uint8_t)(1u << ((part - 1) % 8));
		b->ack_parts_seen++;
		b->ack_parts = parts;
		ack_ids(s, b, ids);
	}
	if (b->acked_at_ms == 0) {
		b->start_seen = b->end_seen = true;
		b->event_count = json_integer_value(jc);
		b->total_weight = json_integer_value(jw);
		b->acked_at_ms = ct_now_ms();
		s->st.batches++;
		s->st.batch_events += (uint64_t)(b->event_count > 0 ? b->event_count : 0);
		s->rest->st.batch_acks++;
	} else if (repeat) {
		s->rest->st.batch_acks_repeated++;
	}
	ct_iso_from_ms(b->acked_at_ms, at);
	printf("rest: offline batch %s ack device=%s events=%" PRId64 " weight=%" PRId64
	    " part %d/%d ids=%zu%s\n", bid, dev, b->event_count, b->total_weight, part, parts,
	    json_array_size(ids), repeat ? " (again)" : "");
	sim_rest_reply_json(c->req, 200, json_pack("{s:s, s:s, s:s}", "batchId", bid, "status",
	    repeat ? "already_received" : "received", "receivedAt", at));
	json_decref(o);
}
