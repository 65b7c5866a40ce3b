/*
 * Cloud -> edge messages of the WebSocket link. cm_decode has already
 * checked every field; here each message becomes what the contract says it
 * is: a result of an event, a session or PLU change, an identity, a pong,
 * each handed up (struct cw_up). Nothing the cloud sends closes the link: a
 * bad message is logged, counted, and skipped.
 *
 * Clouds differ (issue 12): what the edge can survive it survives, says so
 * once in the log, counts in status, and keeps delivering. An answer that
 * says "duplicate" in any form means delivered.
 */
#include "cloud_ws.h"

#include <string.h>

#include "event/event.h"
#include "log/log.h"

static void
on_ack(struct cw_tp *t, const struct cm_ack *a)
{
	struct cw_result r = { .outcome = CW_DELIVERED, .ack = a->status,
	    .cloud_id = a->cloud_event_id };

	memcpy(r.id, a->local_id, CT_UUID_LEN);
	t->up->results(t->arg, &r, 1);
}

static void
on_reject(struct cw_tp *t, const struct cm_reject *rj)
{
	struct cw_result r = { .outcome = CW_REJECTED, .reason = rj->reason };

	memcpy(r.id, rj->local_id, CT_UUID_LEN);
	if (rj->duplicate) {
		/* "Rejected: duplicate" is the cloud saying it has the event. */
		r.outcome = CW_DELIVERED;
		r.ack = CT_ACK_DUPLICATE;
		r.cloud_id = "";
		r.reason = NULL;
		t->rejected_as_duplicate++;
	}
	t->up->results(t->arg, &r, 1);
}

static void
on_session(struct cw_tp *t, const struct cm_msg *m)
{
	const struct cm_session *s = &m->u.session;

	if (s->status == CM_SESS_STATUS_OTHER && !t->session_status_logged) {
		log_warn("session_started %s with status \"%s\" (not active, pending or paused): "
		    "taken as active; said once", s->cloud_session_id, s->status_text);
		t->session_status_logged = true;
	}
	log_info("%s %s on %s%s", m->type_name, s->cloud_session_id,
	    s->device_id[0] ? s->device_id : "the scale that has it",
	    s->status == CM_SESS_STATUS_PAUSED ? " (paused: not tagging)" : "");
	t->up->session(t->arg, s);
}

static void
on_error(struct cw_tp *t, const struct cm_error *e)
{
	char why[CM_NAME_MAX + 64];
	int64_t now = ct_now_ms_mono();

	t->cloud_errors++;
	snprintf(why, sizeof(why), "error message %s%s%s", e->code, e->code[0] ? ": " : "",
	    e->message);
	if (e->unknown_edge) {
		ws_identity_refused(t, why, false);
		return;
	}
	/* The same complaint over and over is said once; different ones at
	 * most WS_ERRORS_LOGGED a minute (all are counted). */
	if (now - t->errors_window_ms >= 60000) {
		t->errors_window_ms = now;
		t->errors_logged = 0;
	}
	if (strcmp(t->last_cloud_error, why) != 0 && t->errors_logged < WS_ERRORS_LOGGED) {
		t->errors_logged++;
		log_warn("the cloud reports an %s", why);
	}
	snprintf(t->last_cloud_error, sizeof(t->last_cloud_error), "%s", why);
}

static void
on_unknown(struct cw_tp *t, const char *type)
{
	t->msgs_unknown++;
	for (unsigned i = 0; i < t->nunknown_types; i++)
		if (strcmp(t->unknown_types[i], type) == 0)
			return;
	if (t->nunknown_types < WS_UNKNOWN_TYPES) {
		snprintf(t->unknown_types[t->nunknown_types++], CM_TYPE_MAX, "%s", type);
		log_info("ignoring messages of unknown type \"%s\" from the cloud (said once per "
		    "type; counted in status)", type);
	} else if (!t->unknown_overflow_logged) {
		log_info("more than %d unknown message types from the cloud; ignoring them all",
		    WS_UNKNOWN_TYPES);
		t->unknown_overflow_logged = true;
	}
}

/* A cloud that floods us costs a bounded amount of CPU per second. Dropping
 * is safe: an ack we skip is answered again after a re-send (as duplicate),
 * a session or PLU update is re-sent on reconnect. false: drop it. */
static bool
within_rate(struct cw_tp *t)
{
	int64_t now = ct_now_ms_mono();

	if (now - t->rate_window_ms >= 1000) {
		if (t->rate_all > WS_MSG_RATE_MAX || t->rate_ctl > WS_CTL_RATE_MAX)
			log_warn("cloud sent %u messages (%u not acks) in a second; dropped those "
			    "over "
			    "%d / %d", t->rate_all, t->rate_ctl, WS_MSG_RATE_MAX, WS_CTL_RATE_MAX);
		t->rate_window_ms = now;
		t->rate_all = t->rate_ctl = 0;
	}
	if (++t->rate_all > WS_MSG_RATE_MAX) {
		t->msgs_rate_limited++;
		return false;
	}
	return true;
}

static enum ws_recv
dispatch(struct cw_tp *t, struct cm_msg *m)
{
	switch (m->type) {
	case CM_EDGE_REGISTERED:
		ws_take_identity(t, &m->u.identity, "edge_registered");
		break;
	case CM_CONFIG_UPDATE:
		ws_take_identity(t, &m->u.identity, "config_update");
		break;
	case CM_SESSION_STARTED:
	case CM_SESSION_ENDED:
	case CM_SESSION_PAUSED:
	case CM_SESSION_RESUMED:
		on_session(t, m);
		break;
	case CM_EVENT_ACK:
		on_ack(t, &m->u.ack);
		break;
	case CM_EVENT_REJECTED:
		on_reject(t, &m->u.reject);
		break;
	case CM_PLU_UPDATED:
		t->up->plu(t->arg, &m->u.plu);
		break;
	case CM_PING:
		ws_send(t, "pong", cm_pong_payload(m->message_id));
		break;
	case CM_PONG:
		return WS_RECV_PONG;
	case CM_ERROR:
		on_error(t, &m->u.error);
		break;
	case CM_UNKNOWN:
		on_unknown(t, m->type_name);
		break;
	}
	return WS_RECV_OK;
}

enum ws_recv
ws_on_text(struct cw_tp *t, const char *msg, size_t len)
{
	struct cm_msg m;
	char err[CM_ERR_MAX];
	enum ws_recv rc;

	t->msgs_in++;
	if (!within_rate(t))
		return WS_RECV_OK;
	if (cm_decode(msg, len, &m, err, sizeof(err)) != 0) {
		t->msgs_bad++;
		log_warn("bad message from the cloud (%zu bytes): %s", len, err);
		return WS_RECV_OK;
	}
	if (m.type != CM_EVENT_ACK && m.type != CM_EVENT_REJECTED &&
	    ++t->rate_ctl > WS_CTL_RATE_MAX) {
		t->msgs_rate_limited++;
		cm_msg_clear(&m);
		return WS_RECV_OK;
	}
	if (m.timestamp_unreadable) {
		t->times_unreadable++;
		if (!t->times_logged)
			log_info("the cloud's message timestamps are neither ISO 8601 nor epoch "
			    "milliseconds (first in a %s); ignored, said once", m.type_name);
		t->times_logged = true;
	}
	rc = dispatch(t, &m);
	cm_msg_clear(&m);
	return rc;
}

/* JSON text in a binary frame: read as text when it is UTF-8 (said once),
 * counted as bad otherwise. */
enum ws_recv
ws_on_binary(struct cw_tp *t, const char *msg, size_t len)
{
	if (!cm_utf8_valid(msg, len)) {
		t->msgs_in++;
		t->msgs_bad++;
		if (!t->binary_bad_logged)
			log_warn("the cloud sent a %zu byte binary message that is not UTF-8 text; "
			    "dropped (said once, counted as bad)", len);
		t->binary_bad_logged = true;
		return WS_RECV_OK;
	}
	t->msgs_binary++;
	if (!t->binary_logged)
		log_info("the cloud sends its messages in binary WebSocket frames; reading them as "
		    "text (said once)");
	t->binary_logged = true;
	return ws_on_text(t, msg, len);
}
