/*
 * Cloud -> edge messages are the one input the cloud controls completely.
 * cm_decode must never crash, leak or read out of bounds, whatever arrives;
 * when it accepts a message, every string it filled must be terminated
 * within its buffer; and its fast event_ack path must agree with the tree
 * decoder on every input it takes. The same input is also read as an HTTP
 * registration reply (the other cloud text the edge parses).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cloudmsg/cloudmsg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check_str(const char *s, size_t cap)
{
	if (memchr(s, '\0', cap) == NULL)
		abort();
}

/* The jansson-free event_ack path must never say what the tree decoder
 * would not: same verdict, same fields. */
static void
differential(const uint8_t *data, size_t size)
{
	struct cm_msg f, t;
	char err[CM_ERR_MAX];

	memset(&f, 0x5a, sizeof(f));
	if (cm_decode_ack_fast((const char *)data, size, &f) != 1)
		return;
	if (cm_decode_tree((const char *)data, size, &t, err, sizeof(err)) != 0)
		abort();
	if (t.type != CM_EVENT_ACK || f.type != CM_EVENT_ACK ||
	    memcmp(f.u.ack.local_id, t.u.ack.local_id, CT_UUID_LEN) != 0 ||
	    f.u.ack.status != t.u.ack.status ||
	    strcmp(f.u.ack.cloud_event_id, t.u.ack.cloud_event_id) != 0 ||
	    strcmp(f.message_id, t.message_id) != 0 || strcmp(f.type_name, t.type_name) != 0 ||
	    f.sent_at_ms != t.sent_at_ms || f.timestamp_unreadable != t.timestamp_unreadable)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cm_msg m;
	char err[CM_ERR_MAX];

	struct cm_identity id;

	differential(data, size);
	if (cm_decode_registration((const char *)data, size, &id, err, sizeof(err)) == 0) {
		check_str(id.edge_id, sizeof(id.edge_id));
		check_str(id.site_id, sizeof(id.site_id));
		check_str(id.site_name, sizeof(id.site_name));
		if (!id.has_edge_id || id.edge_id[0] == '\0')
			abort();
	}
	if (cm_decode((const char *)data, size, &m, err, sizeof(err)) != 0) {
		check_str(err, sizeof(err));
		return 0;
	}
	check_str(m.type_name, sizeof(m.type_name));
	check_str(m.message_id, sizeof(m.message_id));
	if (m.timestamp_unreadable && m.sent_at_ms != -1)
		abort();   /* an unreadable time has no value */
	switch (m.type) {
	case CM_EDGE_REGISTERED:
	case CM_CONFIG_UPDATE:
		check_str(m.u.identity.edge_id, sizeof(m.u.identity.edge_id));
		check_str(m.u.identity.site_name, sizeof(m.u.identity.site_name));
		break;
	case CM_SESSION_STARTED:
	case CM_SESSION_ENDED:
	case CM_SESSION_PAUSED:
	case CM_SESSION_RESUMED:
		check_str(m.u.session.cloud_session_id, sizeof(m.u.session.cloud_session_id));
		check_str(m.u.session.device_id, sizeof(m.u.session.device_id));
		check_str(m.u.session.status_text, sizeof(m.u.session.status_text));
		/* required fields must be there: a start names its scale, the
		 * others may name only the session */
		if (m.u.session.cloud_session_id[0] == '\0' ||
		    (m.type == CM_SESSION_STARTED && m.u.session.device_id[0] == '\0'))
			abort();
		break;
	case CM_EVENT_ACK:
		if (m.u.ack.status != CT_ACK_ACCEPTED && m.u.ack.status != CT_ACK_DUPLICATE)
			abort();
		break;
	case CM_EVENT_REJECTED:
		check_str(m.u.reject.reason, sizeof(m.u.reject.reason));
		break;
	case CM_ERROR:
		check_str(m.u.error.code, sizeof(m.u.error.code));
		check_str(m.u.error.message, sizeof(m.u.error.message));
		break;
	case CM_PLU_UPDATED:
		if (m.u.plu.payload_json == NULL ||
		    strlen(m.u.plu.payload_json) != m.u.plu.payload_len)
			abort();
		break;
	default:
		break;
	}
	cm_msg_clear(&m);
	return 0;
}
