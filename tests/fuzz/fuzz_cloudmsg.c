/*
 * Cloud -> edge messages are the one input the cloud controls completely.
 * cm_decode must never crash, leak or read out of bounds, whatever arrives;
 * when it accepts a message, every string it filled must be terminated
 * within its buffer.
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

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cm_msg m;
	char err[CM_ERR_MAX];

	if (cm_decode((const char *)data, size, &m, err, sizeof(err)) != 0) {
		check_str(err, sizeof(err));
		return 0;
	}
	check_str(m.type_name, sizeof(m.type_name));
	check_str(m.message_id, sizeof(m.message_id));
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
		if (m.u.session.cloud_session_id[0] == '\0' || m.u.session.device_id[0] == '\0')
			abort();   /* required fields must be there */
		break;
	case CM_EVENT_ACK:
		if (m.u.ack.status != CT_ACK_ACCEPTED && m.u.ack.status != CT_ACK_DUPLICATE)
			abort();
		break;
	case CM_EVENT_REJECTED:
		check_str(m.u.reject.reason, sizeof(m.u.reject.reason));
		break;
	case CM_PLU_UPDATED:
		if (m.u.plu.payload_json == NULL || strlen(m.u.plu.payload_json) != m.u.plu.payload_len)
			abort();
		break;
	default:
		break;
	}
	cm_msg_clear(&m);
	return 0;
}
