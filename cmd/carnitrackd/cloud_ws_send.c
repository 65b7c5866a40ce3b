/*
 * What the WebSocket transport sends. Messages are wrapped in the JSON
 * envelope (lib/cloudmsg) with the edge id held by the outbox. Events are
 * encoded straight into text as the outbox adds them (cm_buf_event, no JSON
 * tree), comma-joined in one buffer, and go out as single `event` messages
 * when they are a few live ones (WS_LIVE_MAX, none of an offline batch),
 * otherwise as one `event_batch`. A send ws_client refuses (its queue is
 * full) marks the transport blocked until on_drain; the caller learns it
 * from the return value and decides.
 */
#include "cloud_ws.h"

#include <stdlib.h>
#include <string.h>

#include "log/log.h"
#include "ws/ws_client.h"

static int
ws_send_text(struct cw_tp *t, const char *text, size_t len)
{
	if (t->ws == NULL || t->link != CW_UP)
		return -1;
	if (ws_client_send_text(t->ws, text, len) != 0) {
		t->send_blocked = true;   /* on_drain clears it */
		return -1;
	}
	return 0;
}

int
ws_send(struct cw_tp *t, const char *type, json_t *payload)
{
	size_t len;
	char *text;
	int rc;

	if (t->ws == NULL || t->link != CW_UP) {
		json_decref(payload);
		return -1;
	}
	if ((text = cm_encode(type, payload, t->id->edge_id, &len)) == NULL) {
		log_err("cannot encode a %s message (out of memory)", type);
		return -1;
	}
	rc = ws_client_send_text(t->ws, text, len);
	free(text);
	if (rc != 0)
		t->send_blocked = true;   /* on_drain clears it */
	return rc;
}

void
ws_events_begin(struct cw_tp *t)
{
	cm_buf_reset(&t->body);
	t->nadded = 0;
	t->added_offline = false;
}

int
ws_event_add(struct cw_tp *t, const struct ct_event *ev, const char *global_id)
{
	if (t->nadded == t->cap_added) {
		unsigned ncap = t->cap_added ? t->cap_added * 2 : 64;
		size_t *n = realloc(t->ends, ncap * sizeof(*n));
		if (n == NULL)
			return -1;
		t->ends = n;
		t->cap_added = ncap;
	}
	if (t->body.len > 0)
		cm_buf_raw(&t->body, ",");
	cm_buf_event(&t->body, ev, global_id);
	if (t->body.oom)
		return -1;
	t->ends[t->nadded++] = t->body.len;
	t->added_offline |= ev->offline;
	return 0;
}

/* The message around body[from, to): one event, or an event_batch. */
static int
send_events(struct cw_tp *t, const char *type, size_t from, size_t to)
{
	bool batch = strcmp(type, "event_batch") == 0;

	cm_buf_reset(&t->msg);
	cm_buf_open(&t->msg, type, t->id->edge_id);
	if (batch)
		cm_buf_raw(&t->msg, "{\"events\":[");
	cm_buf_rawn(&t->msg, t->body.p + from, to - from);
	if (batch)
		cm_buf_raw(&t->msg, "]}");
	cm_buf_close(&t->msg);
	if (t->msg.oom) {
		log_err("out of memory encoding a %s message", type);
		return -1;
	}
	return ws_send_text(t, t->msg.p, t->msg.len);
}

unsigned
ws_events_send(struct cw_tp *t, unsigned how)
{
	unsigned sent = 0;

	if (t->nadded == 0 || t->body.oom)
		return 0;
	if (t->nadded <= WS_LIVE_MAX && !t->added_offline && !(how & CW_SEND_RESEND)) {
		for (unsigned i = 0; i < t->nadded; i++) {
			size_t from = i == 0 ? 0 : t->ends[i - 1] + 1;   /* past the comma */
			if (send_events(t, "event", from, t->ends[i]) != 0)
				break;
			sent++;
		}
	} else if (send_events(t, "event_batch", 0, t->body.len) == 0) {
		sent = t->nadded;
	}
	ws_events_begin(t);
	return sent;
}

void
ws_send_free(struct cw_tp *t)
{
	cm_buf_free(&t->body);
	cm_buf_free(&t->msg);
	free(t->ends);
	t->ends = NULL;
	t->cap_added = t->nadded = 0;
}
