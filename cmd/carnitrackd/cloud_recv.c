/*
 * Cloud -> edge messages. cm_decode has already checked every field; here
 * each message becomes what the edge does about it: a frame to store, an
 * answer to the cloud, or a change of the window. Nothing the cloud sends
 * closes the link: a bad message is logged, counted, and skipped.
 */
#include "cloud_worker.h"

#include <string.h>

#include "event/event.h"
#include "log/log.h"

static void
on_identity(struct cw *c, const struct cm_identity *id, bool registered)
{
	bool changed = false;

	if (id->has_edge_id && strcmp(id->edge_id, c->edge_id) != 0) {
		if (strlen(id->edge_id) >= sizeof(c->edge_id)) {
			log_warn("cloud sent an edgeId of %zu bytes (max %zu); ignored",
			    strlen(id->edge_id), sizeof(c->edge_id) - 1);
		} else {
			if (c->edge_id[0] != '\0')
				log_warn("cloud changed our edgeId from %s to %s", c->edge_id, id->edge_id);
			snprintf(c->edge_id, sizeof(c->edge_id), "%s", id->edge_id);
			changed = true;
		}
	}
	if (id->site_id[0] != '\0' && strcmp(id->site_id, c->site_id) != 0 &&
	    strlen(id->site_id) < sizeof(c->site_id)) {
		snprintf(c->site_id, sizeof(c->site_id), "%s", id->site_id);
		changed = true;
	}
	if (id->site_name[0] != '\0' && strcmp(id->site_name, c->site_name) != 0) {
		snprintf(c->site_name, sizeof(c->site_name), "%s", id->site_name);
		changed = true;
	}
	if (registered) {
		if (c->link == CW_REGISTERING)
			cw_on_registered(c);      /* sends IDENTITY */
		else if (changed)
			cw_send_identity(c);
	} else if (changed) {
		cw_send_identity(c);
	}
}

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

	cwf_remove(&c->fl, r->local_id, NULL);
	cw_queue_reject(c, r->local_id, r->reason);
	c->rejected++;
	ct_uuid_fmt(r->local_id, id);
	log_info("event %s rejected by the cloud: %s", id, r->reason[0] ? r->reason : "(no reason)");
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
	switch (m.type) {
	case CM_EDGE_REGISTERED:
		on_identity(c, &m.u.identity, true);
		break;
	case CM_CONFIG_UPDATE:
		on_identity(c, &m.u.identity, false);
		break;
	case CM_SESSION_STARTED:
	case CM_SESSION_ENDED:
	case CM_SESSION_PAUSED:
	case CM_SESSION_RESUMED:
		log_info("%s %s on %s", m.type_name, m.u.session.cloud_session_id, m.u.session.device_id);
		cw_send_session(c, &m.u.session);
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
	case CM_UNKNOWN:
		c->msgs_unknown++;
		log_info("ignoring a message of unknown type \"%s\" from the cloud", m.type_name);
		break;
	}
	cm_msg_clear(&m);
}
