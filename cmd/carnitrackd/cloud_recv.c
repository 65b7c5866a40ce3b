/*
 * Cloud -> edge messages. cm_decode has already checked every field; here
 * each message becomes what the edge does about it: a frame to store, an
 * answer to the cloud, or a change of the window. Nothing the cloud sends
 * closes the link: a bad message is logged, counted, and skipped.
 *
 * Clouds differ (issue 12): what the edge can survive it survives, says so
 * once in the log, counts in status, and keeps delivering. An answer that
 * says "duplicate" in any form means delivered.
 */
#include "cloud_worker.h"

#include <string.h>

#include "event/event.h"
#include "log/log.h"

static void
on_ack(struct cw *c, const struct cm_ack *a)
{
	cwf_remove(&c->fl, a->local_id, NULL);
	cw_queue_ack(c, a->local_id, a->status, a->cloud_event_id);
	c->acked_total++;
	c->acked_today++;
	if (a->status == CT_ACK_DUPLICATE)
		c->duplicates++;
}

static void
on_reject(struct cw *c, const struct cm_reject *r)
{
	char id[CT_UUID_STR];

	if (r->duplicate) {
		/* "Rejected: duplicate" is the cloud saying it has the event. */
		struct cm_ack a = { .status = CT_ACK_DUPLICATE };
		memcpy(a.local_id, r->local_id, CT_UUID_LEN);
		c->rejected_as_duplicate++;
		on_ack(c, &a);
		return;
	}
	cwf_remove(&c->fl, r->local_id, NULL);
	cw_queue_reject(c, r->local_id, r->reason);
	c->rejected++;
	ct_uuid_fmt(r->local_id, id);
	log_info("event %s rejected by the cloud: %s", id, r->reason[0] ? r->reason : "(no reason)");
}

static void
on_session(struct cw *c, struct cm_msg *m)
{
	struct cm_session *s = &m->u.session;

	if (s->status == CM_SESS_STATUS_OTHER && !c->session_status_logged) {
		log_warn("session_started %s with status \"%s\" (not active, pending or paused): "
		    "taken as active; said once", s->cloud_session_id, s->status_text);
		c->session_status_logged = true;
	}
	log_info("%s %s on %s%s", m->type_name, s->cloud_session_id,
	    s->device_id[0] ? s->device_id : "the scale that has it",
	    s->status == CM_SESS_STATUS_PAUSED ? " (paused: not tagging)" : "");
	cw_send_session(c, s);
}

static void
on_error(struct cw *c, const struct cm_error *e)
{
	char why[CM_NAME_MAX + 64];
	int64_t now = ct_now_ms_mono();

	c->cloud_errors++;
	snprintf(why, sizeof(why), "error message %s%s%s", e->code, e->code[0] ? ": " : "",
	    e->message);
	if (e->unknown_edge) {
		cw_identity_refused(c, why, false);
		return;
	}
	/* The same complaint over and over is said once; different ones at
	 * most CW_ERRORS_LOGGED a minute (all are counted). */
	if (now - c->errors_window_ms >= 60000) {
		c->errors_window_ms = now;
		c->errors_logged = 0;
	}
	if (strcmp(c->last_cloud_error, why) != 0 && c->errors_logged < CW_ERRORS_LOGGED) {
		c->errors_logged++;
		log_warn("the cloud reports an %s", why);
	}
	snprintf(c->last_cloud_error, sizeof(c->last_cloud_error), "%s", why);
}

static void
on_unknown(struct cw *c, const char *type)
{
	c->msgs_unknown++;
	for (unsigned i = 0; i < c->nunknown_types; i++)
		if (strcmp(c->unknown_types[i], type) == 0)
			return;
	if (c->nunknown_types < CW_UNKNOWN_TYPES) {
		snprintf(c->unknown_types[c->nunknown_types++], CM_TYPE_MAX, "%s", type);
		log_info("ignoring messages of unknown type \"%s\" from the cloud (said once per "
		    "type; counted in status)", type);
	} else if (!c->unknown_overflow_logged) {
		log_info("more than %d unknown message types from the cloud; ignoring them all",
		    CW_UNKNOWN_TYPES);
		c->unknown_overflow_logged = true;
	}
}

void
cw_on_text(struct cw *c, const char *msg, size_t len)
{
	struct cm_msg m;
	char err[CM_ERR_MAX];

	c->msgs_in++;
	/* A cloud that floods us costs a bounded amount of CPU per second.
	 * Dropping is safe: an ack we skip is answered again after a re-send
	 * (as duplicate), a session or PLU update is re-sent on reconnect. */
	int64_t now = ct_now_ms_mono();
	if (now - c->rate_window_ms >= 1000) {
		if (c->rate_all > CW_MSG_RATE_MAX || c->rate_ctl > CW_CTL_RATE_MAX)
			log_warn("cloud sent %u messages (%u not acks) in a second; dropped those over "
			    "%d / %d", c->rate_all, c->rate_ctl, CW_MSG_RATE_MAX, CW_CTL_RATE_MAX);
		c->rate_window_ms = now;
		c->rate_all = c->rate_ctl = 0;
	}
	if (++c->rate_all > CW_MSG_RATE_MAX) {
		c->msgs_rate_limited++;
		return;
	}
	if (cm_decode(msg, len, &m, err, sizeof(err)) != 0) {
		c->msgs_bad++;
		log_warn("bad message from the cloud (%zu bytes): %s", len, err);
		return;
	}
	if (m.type != CM_EVENT_ACK && m.type != CM_EVENT_REJECTED && ++c->rate_ctl > CW_CTL_RATE_MAX) {
		c->msgs_rate_limited++;
		cm_msg_clear(&m);
		return;
	}
	if (m.timestamp_unreadable) {
		c->times_unreadable++;
		if (!c->times_logged)
			log_info("the cloud's message timestamps are neither ISO 8601 nor epoch "
			    "milliseconds (first in a %s); ignored, said once", m.type_name);
		c->times_logged = true;
	}
	switch (m.type) {
	case CM_EDGE_REGISTERED:
		cw_take_identity(c, &m.u.identity, "edge_registered");
		break;
	case CM_CONFIG_UPDATE:
		cw_take_identity(c, &m.u.identity, "config_update");
		break;
	case CM_SESSION_STARTED:
	case CM_SESSION_ENDED:
	case CM_SESSION_PAUSED:
	case CM_SESSION_RESUMED:
		on_session(c, &m);
		break;
	case CM_EVENT_ACK:
		on_ack(c, &m.u.ack);
		break;
	case CM_EVENT_REJECTED:
		on_reject(c, &m.u.reject);
		break;
	case CM_PLU_UPDATED:
		cw_send_plu(c, &m.u.plu);
		break;
	case CM_PING:
		cw_send(c, "pong", cm_pong_payload(m.message_id));
		break;
	case CM_PONG:
		cw_on_pong(c);
		break;
	case CM_ERROR:
		on_error(c, &m.u.error);
		break;
	case CM_UNKNOWN:
		on_unknown(c, m.type_name);
		break;
	}
	cm_msg_clear(&m);
}

/* JSON text in a binary frame: read as text when it is UTF-8 (said once),
 * counted as bad otherwise. */
void
cw_on_binary(struct cw *c, const char *msg, size_t len)
{
	if (!cm_utf8_valid(msg, len)) {
		c->msgs_in++;
		c->msgs_bad++;
		if (!c->binary_bad_logged)
			log_warn("the cloud sent a %zu byte binary message that is not UTF-8 text; "
			    "dropped (said once, counted as bad)", len);
		c->binary_bad_logged = true;
		return;
	}
	c->msgs_binary++;
	if (!c->binary_logged)
		log_info("the cloud sends its messages in binary WebSocket frames; reading them as "
		    "text (said once)");
	c->binary_logged = true;
	cw_on_text(c, msg, len);
}
