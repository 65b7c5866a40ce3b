/*
 * The cloud's side of the protocol, in memory: sessions per scale, event
 * dedupe by localEventId, PLU rejection, offline batch records, and the
 * dispatch of what the edge sends. Registration is sim_register.c; how
 * messages are spelled (ids, timestamps, frames, acks) is sim_dialect.c,
 * whose default acks need no JSON tree: the benchmark pushes tens of
 * thousands of events a second through here.
 */
#include "sim.h"

#include <inttypes.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "cloudmsg/cloudmsg.h"
#include "event/event.h"

void
sim_new_message_id(struct sim *s, char out[40])
{
	uint8_t id[16];
	uint64_t n = ++s->msg_seq;

	memcpy(id, s->msg_base, 8);
	for (int i = 0; i < 8; i++)
		id[8 + i] = (uint8_t)(n >> (56 - 8 * i));
	id[6] = (id[6] & 0x0f) | 0x40;
	ct_uuid_fmt(id, out);
}

/* ---------------------------------------------------------------- sessions */

static struct session *
session_find(struct sim *s, const char *device)
{
	for (int i = 0; i < s->nsessions; i++)
		if (strcmp(s->sessions[i].device_id, device) == 0)
			return &s->sessions[i];
	return NULL;
}

json_t *
sim_session_started_payload(struct sim *s, const struct session *se)
{
	json_t *p = json_pack("{s:o, s:s, s:o, s:s, s:s, s:o}",
	    s->o.session_id_alias ? "sessionId" : "cloudSessionId", sim_id(s, se->id),
	    "deviceId", se->device_id, "animalId", sim_id(s, se->animal_id),
	    "animalTag", se->animal_tag, "animalSpecies", "Dana",
	    "operatorId", sim_id(s, se->operator_id));

	/* The alias dialect's cloud also says how the session stands. */
	if (p != NULL && s->o.session_id_alias)
		json_object_set_new(p, "status", json_string(se->paused ? "paused" : "active"));
	return p;
}

/* session_ended/paused/resumed; the alias dialect names the session only. */
json_t *
sim_session_ref_payload(struct sim *s, const struct session *se, const char *reason)
{
	json_t *p = json_object();

	if (p == NULL)
		return NULL;
	if (s->o.session_id_alias) {
		json_object_set_new(p, "sessionId", sim_id(s, se->id));
	} else {
		json_object_set_new(p, "cloudSessionId", sim_id(s, se->id));
		json_object_set_new(p, "deviceId", json_string(se->device_id));
	}
	if (reason != NULL)
		json_object_set_new(p, "reason", json_string(reason));
	return p;
}

int
sim_session_end(struct sim *s, const char *device, const char *reason, char *err, size_t errlen)
{
	struct session *se = session_find(s, device);

	if (se == NULL) {
		snprintf(err, errlen, "no session on %s", device);
		return -1;
	}
	sim_broadcast(s, "session_ended", sim_session_ref_payload(s, se, reason));
	printf("session ended device=%s session=%s reason=%s\n", se->device_id, se->id, reason);
	*se = s->sessions[--s->nsessions];
	return 0;
}

int
sim_session_start(struct sim *s, const char *device, const char *tag, char *err, size_t errlen)
{
	struct session *se;
	char e2[64];

	if (strlen(device) >= sizeof(se->device_id) ||
	    (tag && strlen(tag) >= sizeof(se->animal_tag))) {
		snprintf(err, errlen, "device or tag too long");
		return -1;
	}
	if (session_find(s, device) != NULL)
		sim_session_end(s, device, "replaced", e2, sizeof(e2));
	if (s->nsessions >= SIM_MAX_SESSIONS) {
		snprintf(err, errlen, "session table full (%d)", SIM_MAX_SESSIONS);
		return -1;
	}
	se = &s->sessions[s->nsessions++];
	memset(se, 0, sizeof(*se));
	snprintf(se->device_id, sizeof(se->device_id), "%s", device);
	sim_new_id(s, se->id);
	sim_new_id(s, se->animal_id);
	sim_new_id(s, se->operator_id);
	if (tag != NULL && *tag != '\0')
		snprintf(se->animal_tag, sizeof(se->animal_tag), "%s", tag);
	else
		snprintf(se->animal_tag, sizeof(se->animal_tag), "A-%03d", s->nsessions);
	sim_broadcast(s, "session_started", sim_session_started_payload(s, se));
	printf("session started device=%s session=%s tag=%s\n", se->device_id, se->id,
	    se->animal_tag);
	return 0;
}

int
sim_session_pause(struct sim *s, const char *device, bool pause, char *err, size_t errlen)
{
	int n = 0;

	for (int i = 0; i < s->nsessions; i++) {
		struct session *se = &s->sessions[i];
		if (device != NULL && strcmp(se->device_id, device) != 0)
			continue;
		if (se->paused == pause)
			continue;
		se->paused = pause;
		sim_broadcast(s, pause ? "session_paused" : "session_resumed",
		    sim_session_ref_payload(s, se, NULL));
		printf("session %s device=%s session=%s\n", pause ? "paused" : "resumed",
		    se->device_id, se->id);
		n++;
	}
	if (n == 0) {
		snprintf(err, errlen, "no session to %s%s%s", pause ? "pause" : "resume",
		    device ? " on " : "", device ? device : "");
		return -1;
	}
	return 0;
}

/* ---------------------------------------------------------------- batches */

struct batch *
sim_batch_get(struct sim *s, const uint8_t id[16], const char *device)
{
	static int last = -1;

	if (last >= 0 && last < s->nbatches && memcmp(s->batches[last].id, id, 16) == 0)
		return &s->batches[last];
	for (int i = s->nbatches - 1; i >= 0; i--)
		if (memcmp(s->batches[i].id, id, 16) == 0) {
			last = i;
			return &s->batches[i];
		}
	if (s->nbatches >= SIM_MAX_BATCHES)
		return NULL;     /* counted as unrecorded by the caller's print */
	struct batch *b = &s->batches[s->nbatches];
	memset(b, 0, sizeof(*b));
	memcpy(b->id, id, 16);
	snprintf(b->device_id, sizeof(b->device_id), "%s", device ? device : "");
	last = s->nbatches++;
	return b;
}

static const char *
jstr(const json_t *o, const char *k)
{
	return json_string_value(json_object_get(o, k));
}

static void
on_batch_msg(struct conn *c, json_t *p, bool end)
{
	struct sim *s = c->sim;
	const char *bid = jstr(p, "batchId"), *dev = jstr(p, "deviceId");
	uint8_t id[16];
	struct batch *b;

	if (bid == NULL || ct_uuid_parse(bid, id) != 0 || dev == NULL) {
		s->st.malformed++;
		printf("conn=%llu offline_batch_%s without a valid batchId/deviceId\n",
		    (unsigned long long)c->id, end ? "end" : "start");
		return;
	}
	if ((b = sim_batch_get(s, id, dev)) == NULL) {
		printf("batch table full, %s not recorded\n", bid);
		return;
	}
	if (!end) {
		b->start_seen = true;
		return;
	}
	json_t *jc = json_object_get(p, "eventCount"), *jw = json_object_get(p, "totalWeightGrams");
	if (!json_is_integer(jc) || !json_is_integer(jw)) {
		s->st.malformed++;
		printf("conn=%llu offline_batch_end %s: eventCount/totalWeightGrams not integers\n",
		    (unsigned long long)c->id, bid);
		return;
	}
	if (b->end_seen) {
		if (b->event_count != json_integer_value(jc) ||
		    b->total_weight != json_integer_value(jw))
			printf("batch %s re-reported with different counts: %" PRId64 "/%" PRId64
			    " then %" PRId64 "/%" PRId64 "\n", bid, b->event_count, b->total_weight,
			    (int64_t)json_integer_value(jc), (int64_t)json_integer_value(jw));
		return;
	}
	b->end_seen = true;
	b->event_count = json_integer_value(jc);
	b->total_weight = json_integer_value(jw);
	s->st.batches++;
	s->st.batch_events += (uint64_t)(b->event_count > 0 ? b->event_count : 0);
}

/* ---------------------------------------------------------------- events */

static void
send_reject(struct conn *c, const char *local_id, const char *reason)
{
	sim_send(c, "event_rejected", json_pack("{s:s, s:s}", "localEventId", local_id,
	    "reason", reason));
}

static bool
plu_rejected(const struct sim *s, const char *plu)
{
	for (int i = 0; i < s->o.nreject_plu; i++)
		if (strcmp(s->o.reject_plu[i], plu) == 0)
			return true;
	return false;
}

void
sim_event_from_json(json_t *j, struct cm_scan_event *ev)
{
	json_t *jw = json_object_get(j, "weightGrams");

	memset(ev, 0, offsetof(struct cm_scan_event, lid_buf));
	ev->lid = jstr(j, "localEventId");
	ev->dev = jstr(j, "deviceId");
	ev->plu = jstr(j, "pluCode");
	ev->sess = jstr(j, "cloudSessionId");
	ev->bid = jstr(j, "offlineBatchId");
	ev->weight_ok = json_is_integer(jw);
	ev->weight = ev->weight_ok ? json_integer_value(jw) : 0;
	ev->offline = json_is_true(json_object_get(j, "offlineMode"));
}

enum sim_verdict
sim_judge_event(struct sim *s, uint64_t conn_id, const struct cm_scan_event *e, uint8_t id[16],
    const char **why)
{
	const char *lid = e->lid, *dev = e->dev, *plu = e->plu, *sess = e->sess, *bid = e->bid;
	const char *outcome, *bad = NULL;
	enum sim_verdict v;
	uint8_t bidb[16];
	int64_t w;
	int prev;

	*why = NULL;
	s->st.events++;
	if (lid == NULL) {
		s->st.malformed++;
		printf("conn=%llu event without localEventId (ignored)\n",
		    (unsigned long long)conn_id);
		*why = "missing localEventId";
		return SIM_MALFORMED;
	}
	if (ct_uuid_parse(lid, id) != 0)
		bad = "invalid localEventId";
	else if (dev == NULL || *dev == '\0')
		bad = "missing deviceId";
	else if (plu == NULL)
		bad = "missing pluCode";
	else if (!e->weight_ok)
		bad = "missing weightGrams";
	else if (bid != NULL && ct_uuid_parse(bid, bidb) != 0)
		bad = "invalid offlineBatchId";
	if (bad != NULL) {
		s->st.malformed++;
		printf("event conn=%llu id=%s rejected: %s\n", (unsigned long long)conn_id, lid,
		    bad);
		*why = bad;
		return SIM_MALFORMED;
	}
	w = e->weight;
	prev = idset_get(&s->ids, id);
	if (prev == ID_ACCEPTED) {
		s->st.duplicates++;
		outcome = "duplicate";
		v = SIM_DUPLICATE;
	} else if (prev == ID_REJECTED) {
		s->st.rejected_again++;
		outcome = "rejected";
		*why = "Invalid PLU code";
		v = SIM_REJECTED;
	} else if (plu_rejected(s, plu)) {
		if (idset_put(&s->ids, id, ID_REJECTED) != 0) {
			printf("out of memory for the id set\n");
			*why = "out of memory";
			return SIM_LOST;
		}
		s->st.rejected++;
		outcome = "rejected";
		*why = "Invalid PLU code";
		v = SIM_REJECTED;
	} else {
		if (idset_put(&s->ids, id, ID_ACCEPTED) != 0) {
			printf("out of memory for the id set\n");
			*why = "out of memory";
			return SIM_LOST;
		}
		s->st.accepted++;
		outcome = "accepted";
		v = SIM_ACCEPTED;
		if (sess != NULL)
			s->st.tagged++;
		if (e->offline)
			s->st.offline_events++;
		if (bid != NULL) {
			struct batch *b = sim_batch_get(s, bidb, dev);
			if (b != NULL) {
				b->recv_events++;
				b->recv_weight += w;
			}
			s->st.batch_events_received++;
		}
	}
	if (!s->o.quiet)
		printf("event conn=%llu id=%s device=%s plu=%s weight=%" PRId64
		    " session=%s batch=%s -> %s\n", (unsigned long long)conn_id, lid, dev, plu, w,
		    sess ? sess : "-", bid ? bid : "-", outcome);
	if (s->event_log != NULL)
		fprintf(s->event_log, "%s %s %s %" PRId64 " %s %s\n", lid, outcome, dev, w,
		    sess ? sess : "-", bid ? bid : "-");
	if (s->o.auto_session && session_find(s, dev) == NULL) {
		char err[64];
		sim_session_start(s, dev, NULL, err, sizeof(err));
	}
	return v;
}

/* The WebSocket answer to one event. */
static void
process_event(struct conn *c, const struct cm_scan_event *e)
{
	struct sim *s = c->sim;
	uint8_t id[16];
	const char *why;

	switch (sim_judge_event(s, c->id, e, id, &why)) {
	case SIM_ACCEPTED:
		if (s->acking)
			sim_send_ack(c, id, false);
		break;
	case SIM_DUPLICATE:
		if (s->acking)
			sim_send_ack(c, id, true);
		break;
	case SIM_REJECTED:
		send_reject(c, e->lid, why);
		break;
	case SIM_MALFORMED:
		if (e->lid != NULL)
			send_reject(c, e->lid, why);
		break;
	case SIM_LOST:
		break;
	}
}

/* ---------------------------------------------------------------- messages */

void
sim_on_open(struct conn *c)
{
	(void)c;   /* the edge speaks first: register */
}

static void
print_msg(struct conn *c, const char *type, json_t *payload)
{
	char *p = payload ? json_dumps(payload, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;

	printf("recv conn=%llu %s %s\n", (unsigned long long)c->id, type, p ? p : "{}");
	free(p);
}

void
sim_on_text(struct conn *c, const char *msg, size_t len)
{
	struct sim *s = c->sim;
	json_error_t jerr;
	json_t *root, *p;
	const char *type;
	struct cm_scan_event one;
	bool batch;
	int n;

	s->st.messages++;
	/* The stream's messages, by the thousand: without a tree. */
	if ((n = cm_scan_events(msg, len, &batch, s->scan, CM_SCAN_MAX)) >= 0) {
		if (batch && !s->o.quiet)
			printf("recv conn=%llu event_batch n=%d\n", (unsigned long long)c->id, n);
		for (int i = 0; i < n; i++)
			process_event(c, &s->scan[i]);
		return;
	}
	root = json_loadb(msg, len, 0, &jerr);
	if (root == NULL || !json_is_object(root) || (type = jstr(root, "type")) == NULL) {
		s->st.malformed++;
		printf("recv conn=%llu malformed message (%zu bytes): %s\n",
		    (unsigned long long)c->id,
		    len, root == NULL ? jerr.text : "no type");
		json_decref(root);
		return;
	}
	p = json_object_get(root, "payload");
	if (strcmp(type, "event") == 0) {
		if (json_is_object(p)) {
			sim_event_from_json(p, &one);
			process_event(c, &one);
		} else {
			s->st.malformed++;
		}
	} else if (strcmp(type, "event_batch") == 0) {
		json_t *evs = json_object_get(p, "events");
		size_t i;
		json_t *ev;
		if (!s->o.quiet)
			printf("recv conn=%llu event_batch n=%zu\n", (unsigned long long)c->id,
			    json_array_size(evs));
		json_array_foreach(evs, i, ev) {
			if (json_is_object(ev)) {
				sim_event_from_json(ev, &one);
				process_event(c, &one);
			} else {
				s->st.malformed++;
			}
		}
	} else if (strcmp(type, "register") == 0) {
		print_msg(c, type, p);
		if (json_is_object(p))
			sim_on_register(c, p);
	} else if (strcmp(type, "ping") == 0) {
		const char *mid = jstr(root, "messageId");
		sim_send(c, "pong", cm_pong_payload(mid));
		if (!s->o.quiet)
			print_msg(c, type, p);
	} else {
		print_msg(c, type, p);
		if (strcmp(type, "offline_batch_start") == 0 && json_is_object(p))
			on_batch_msg(c, p, false);
		else if (strcmp(type, "offline_batch_end") == 0 && json_is_object(p))
			on_batch_msg(c, p, true);
		else if (strcmp(type, "device_connected") == 0 && s->o.auto_session) {
			const char *dev = jstr(p, "deviceId");
			char err[64];
			if (dev != NULL && *dev != '\0' && session_find(s, dev) == NULL)
				sim_session_start(s, dev, NULL, err, sizeof(err));
		}
	}
	json_decref(root);
}

/* ---------------------------------------------------------------- reports */

void
sim_stats_json(struct sim *s, struct evbuffer *out)
{
	const struct sim_stats *t = &s->st;

	evbuffer_add_printf(out,
	    "{\"accepted\":%" PRIu64 ",\"duplicates\":%" PRIu64 ",\"rejected\":%" PRIu64
	    ",\"rejected_again\":%" PRIu64 ",\"batches\":%" PRIu64 ",\"batch_events\":%" PRIu64
	    ",\"batch_events_received\":%" PRIu64 ",\"events\":%" PRIu64 ",\"tagged\":%" PRIu64
	    ",\"offline_events\":%" PRIu64 ",\"malformed\":%" PRIu64 ",\"messages\":%" PRIu64
	    ",\"connects\":%" PRIu64 ",\"registers\":%" PRIu64 ",\"unauthorized\":%" PRIu64
	    ",\"ws_pings\":%" PRIu64 ",\"http_registers\":%" PRIu64 ",\"unknown_edge_refusals\":%"
	    PRIu64
	    ",\"edges\":%d,\"connections\":%d,\"sessions\":%d,\"listening\":%s,\"acking\":%s",
	    t->accepted, t->duplicates, t->rejected, t->rejected_again, t->batches, t->batch_events,
	    t->batch_events_received, t->events, t->tagged, t->offline_events, t->malformed,
	    t->messages, t->connects, t->registers, t->unauthorized, t->pings, t->http_registers,
	    t->unknown_edge_refusals, s->nedges, sim_nconns(s),
	    s->nsessions, s->lis || sim_rest_listening(s) ? "true" : "false",
	    s->acking ? "true" : "false");
	sim_rest_stats_json(s, out);
	evbuffer_add_printf(out, "}\n");
}

/* One JSON line; device ids come from the edge, so let jansson escape. */
static void
add_json_line(struct evbuffer *out, json_t *o)
{
	char *t = o ? json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;

	if (t != NULL)
		evbuffer_add_printf(out, "%s\n", t);
	free(t);
	json_decref(o);
}

void
sim_batches_json(struct sim *s, struct evbuffer *out)
{
	for (int i = 0; i < s->nbatches; i++) {
		const struct batch *b = &s->batches[i];
		char id[CT_UUID_STR];
		ct_uuid_fmt(b->id, id);
		json_t *j = json_pack("{s:s, s:s, s:b, s:b, s:I, s:I, s:I, s:I}", "batchId", id,
		    "deviceId", b->device_id, "start", b->start_seen, "end", b->end_seen,
		    "eventCount", (json_int_t)b->event_count, "totalWeightGrams",
		    (json_int_t)b->total_weight,
		    "received", (json_int_t)b->recv_events, "receivedWeightGrams",
		    (json_int_t)b->recv_weight);
		/* REST: what its ACK listed (all parts), beside what arrived */
		if (j != NULL && b->acked_at_ms != 0 && b->ack_parts > 0) {
			json_object_set_new(j, "ackIds", json_integer(b->ack_ids));
			json_object_set_new(j, "ackIdsUnknown", json_integer(b->ack_ids_unknown));
			json_object_set_new(j, "ackParts", json_integer(b->ack_parts));
			json_object_set_new(j, "ackPartsReceived", json_integer(b->ack_parts_seen));
		}
		add_json_line(out, j);
	}
	evbuffer_add_printf(out, "end batches=%d\n", s->nbatches);
}

void
sim_sessions_json(struct sim *s, struct evbuffer *out)
{
	for (int i = 0; i < s->nsessions; i++) {
		const struct session *se = &s->sessions[i];
		add_json_line(out, json_pack("{s:s, s:s, s:s, s:s}", "deviceId", se->device_id,
		    "cloudSessionId", se->id, "animalTag", se->animal_tag,
		    "status", se->paused ? "paused" : "active"));
	}
	evbuffer_add_printf(out, "end sessions=%d\n", s->nsessions);
}

void
sim_summary(struct sim *s)
{
	printf("cloudsim: accepted=%" PRIu64 " duplicates=%" PRIu64 " rejected=%" PRIu64
	    " batches=%" PRIu64 " batch_events=%" PRIu64 "\n", s->st.accepted, s->st.duplicates,
	    s->st.rejected, s->st.batches, s->st.batch_events);
	fflush(stdout);
}
