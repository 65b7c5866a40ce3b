/* The ct_event codec: see event_codec.h. */
#include "event/event_codec.h"

#include <string.h>

#include "ipc/pack.h"

size_t
event_encode(const struct ct_event *ev, uint8_t *buf, size_t cap)
{
	struct pack pk;

	pack_init(&pk, buf, cap);
	pack_u8(&pk, CT_EVENT_CODEC_V2);
	pack_bytes(&pk, ev->local_id, CT_UUID_LEN);
	pack_str(&pk, ev->device_id);
	pack_str(&pk, ev->source_ip);
	pack_i64(&pk, ev->received_at_ms);
	pack_i64(&pk, ev->scale_ts);
	pack_str(&pk, ev->plu);
	pack_u8(&pk, ev->plu_prefix);
	pack_str(&pk, ev->product);
	pack_str(&pk, ev->barcode);
	pack_str(&pk, ev->code);
	pack_str(&pk, ev->operator_name);
	pack_str(&pk, ev->company);
	pack_i64(&pk, ev->gross_raw);
	pack_i64(&pk, ev->tare_raw);
	pack_i64(&pk, ev->net_raw);
	pack_i64(&pk, ev->gross_g);
	pack_i64(&pk, ev->tare_g);
	pack_i64(&pk, ev->net_g);
	pack_str(&pk, ev->flags);
	pack_blob(&pk, ev->raw, ev->raw_len > CT_RAW_MAX ? CT_RAW_MAX : ev->raw_len);
	pack_u64(&pk, ev->seq);
	pack_u8(&pk, ev->offline ? 1 : 0);
	pack_str(&pk, ev->cloud_session_id);
	pack_bytes(&pk, ev->offline_batch_id, CT_UUID_LEN);
	/* version 2 */
	pack_u8(&pk, ev->kind);
	pack_u8(&pk, ev->edge_flags);
	pack_str(&pk, ev->scale_time_raw);
	pack_str(&pk, ev->scale_date_raw);
	pack_str(&pk, ev->reason);
	pack_u32(&pk, ev->line_len);
	return pack_ok(&pk) ? pk.len : 0;
}

int
event_decode(const uint8_t *buf, size_t len, struct ct_event *ev)
{
	struct unpack u;
	const uint8_t *raw;
	size_t rawn;
	uint8_t version;

	memset(ev, 0, sizeof(*ev));
	unpack_init(&u, buf, len);
	version = unpack_u8(&u);
	if (version != CT_EVENT_CODEC_V1 && version != CT_EVENT_CODEC_V2)
		return -1;
	unpack_bytes(&u, ev->local_id, CT_UUID_LEN);
	unpack_str(&u, ev->device_id, sizeof(ev->device_id));
	unpack_str(&u, ev->source_ip, sizeof(ev->source_ip));
	ev->received_at_ms = unpack_i64(&u);
	ev->scale_ts = unpack_i64(&u);
	unpack_str(&u, ev->plu, sizeof(ev->plu));
	ev->plu_prefix = unpack_u8(&u);
	unpack_str(&u, ev->product, sizeof(ev->product));
	unpack_str(&u, ev->barcode, sizeof(ev->barcode));
	unpack_str(&u, ev->code, sizeof(ev->code));
	unpack_str(&u, ev->operator_name, sizeof(ev->operator_name));
	unpack_str(&u, ev->company, sizeof(ev->company));
	ev->gross_raw = unpack_i64(&u);
	ev->tare_raw = unpack_i64(&u);
	ev->net_raw = unpack_i64(&u);
	ev->gross_g = unpack_i64(&u);
	ev->tare_g = unpack_i64(&u);
	ev->net_g = unpack_i64(&u);
	unpack_str(&u, ev->flags, sizeof(ev->flags));
	raw = unpack_blob(&u, &rawn);
	if (raw != NULL) {
		if (rawn > CT_RAW_MAX)
			return -1;
		memcpy(ev->raw, raw, rawn);
		ev->raw_len = (uint16_t)rawn;
	}
	ev->seq = unpack_u64(&u);
	ev->offline = unpack_u8(&u) != 0;
	unpack_str(&u, ev->cloud_session_id, sizeof(ev->cloud_session_id));
	unpack_bytes(&u, ev->offline_batch_id, CT_UUID_LEN);
	if (version >= CT_EVENT_CODEC_V2) {
		ev->kind = unpack_u8(&u);
		ev->edge_flags = unpack_u8(&u);
		unpack_str(&u, ev->scale_time_raw, sizeof(ev->scale_time_raw));
		unpack_str(&u, ev->scale_date_raw, sizeof(ev->scale_date_raw));
		unpack_str(&u, ev->reason, sizeof(ev->reason));
		ev->line_len = unpack_u32(&u);
		if (ev->kind != CT_EV_WEIGHING && ev->kind != CT_EV_QUARANTINED)
			return -1;
	}
	return unpack_done(&u) ? 0 : -1;
}
