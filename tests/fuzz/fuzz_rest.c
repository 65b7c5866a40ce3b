/*
 * REST responses are input the cloud (or anything between it and us)
 * controls completely. Every decoder of lib/rest must never crash, leak or
 * read out of bounds; when it accepts a body, every string it filled is
 * terminated within its buffer and every count stays within its bounds.
 * The first byte picks the decoder ('i' identity, 'c' config, 's' sessions,
 * 'e' event, 'b' batch, anything else the error message), the rest is the
 * body.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "rest/rest.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check_str(const char *s, size_t cap)
{
	if (memchr(s, '\0', cap) == NULL)
		abort();
}

static void
check_result(const struct rest_event_result *r)
{
	if (r->outcome != REST_RETRY && r->outcome != REST_DELIVERED && r->outcome != REST_REJECTED)
		abort();
	check_str(r->cloud_event_id, sizeof(r->cloud_event_id));
	check_str(r->error, sizeof(r->error));
	if (r->outcome == REST_REJECTED && r->error[0] == '\0')
		abort();        /* a final reject always says why */
}

static void
check_config(const struct rest_config *c)
{
	check_str(c->note, sizeof(c->note));
	if (((c->set & REST_CFG_IDLE) && (c->idle_ms < REST_INTERVAL_MIN_MS ||
	    c->idle_ms > REST_INTERVAL_MAX_MS)) ||
	    ((c->set & REST_CFG_HEARTBEAT) && (c->heartbeat_ms < REST_INTERVAL_MIN_MS ||
	    c->heartbeat_ms > REST_INTERVAL_MAX_MS)) ||
	    ((c->set & REST_CFG_BATCH) && (c->max_batch < 1 || c->max_batch > REST_MAX_BATCH)))
		abort();
}

/* Three ids the batch decoder matches against; corpus files use them. */
static const char *const batch_ids[] = { "b0e7f3d2-6a1c-4e5f-8b9a-0c1d2e3f4a5b",
	"e1f2a3b4-c5d6-4e7f-a8b9-c0d1e2f3a4b5", "11111111-2222-4333-8444-555555555555" };

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct rest_session sess[64];
	const char *body = (const char *)data + 1;
	size_t len = size ? size - 1 : 0;
	char err[REST_ERR_MAX], msg[128];

	if (size == 0)
		return 0;
	switch (data[0]) {
	case 'i': {
		struct rest_identity id;
		if (rest_decode_identity(body, len, &id, err, sizeof(err)) != 0) {
			check_str(err, sizeof(err));
			break;
		}
		char again[CM_ID_MAX];
		if (!rest_edge_id_valid(id.edge_id, again) || strcmp(again, id.edge_id) != 0)
			abort();
		check_str(id.site_id, sizeof(id.site_id));
		check_str(id.site_name, sizeof(id.site_name));
		if (id.site_id[0] == '\0' || id.site_name[0] == '\0')
			abort();
		if (id.has_config)
			check_config(&id.config);
		break;
	}
	case 'c': {
		struct rest_config c;
		if (rest_decode_config(body, len, &c, err, sizeof(err)) == 0)
			check_config(&c);
		break;
	}
	case 's': {
		struct rest_sessions ss = { .s = sess, .cap = 64 };
		if (rest_decode_sessions(body, len, &ss, err, sizeof(err)) != 0) {
			if (ss.n != 0)
				abort();
			break;
		}
		if (ss.n > ss.cap)
			abort();
		check_str(ss.note, sizeof(ss.note));
		for (size_t i = 0; i < ss.n; i++) {
			check_str(ss.s[i].cloud_session_id, sizeof(ss.s[i].cloud_session_id));
			check_str(ss.s[i].device_id, sizeof(ss.s[i].device_id));
			check_str(ss.s[i].animal_tag, sizeof(ss.s[i].animal_tag));
			if (ss.s[i].cloud_session_id[0] == '\0' || ss.s[i].device_id[0] == '\0')
				abort();
			if (ss.s[i].status < REST_SESS_ACTIVE || ss.s[i].status > REST_SESS_PAUSED)
				abort();
			for (size_t j = 0; j < i; j++)
				if (strcmp(ss.s[i].device_id, ss.s[j].device_id) == 0)
					abort();   /* one per device */
		}
		break;
	}
	case 'e': {
		struct rest_event_result r;
		if (rest_decode_event(body, len, &r, err, sizeof(err)) == 0) {
			check_result(&r);
			if (r.outcome == REST_RETRY)
				abort();
		}
		break;
	}
	case 'b': {
		uint8_t ids[3][CT_UUID_LEN];
		struct rest_event_result out[3];
		struct rest_batch_note note;
		for (int i = 0; i < 3; i++)
			ct_uuid_parse(batch_ids[i], ids[i]);
		int rc = rest_decode_batch(body, len, (const uint8_t (*)[CT_UUID_LEN])ids, 3, out,
		    &note, err, sizeof(err));
		for (int i = 0; i < 3; i++) {
			check_result(&out[i]);
			if (rc != 0 && out[i].outcome != REST_RETRY)
				abort();
		}
		if (note.delivered + note.rejected + note.missing != 3)
			abort();
		check_str(note.note, sizeof(note.note));
		break;
	}
	default:
		rest_error_message(body, len, msg, sizeof(msg));
		check_str(msg, sizeof(msg));
		break;
	}
	return 0;
}
