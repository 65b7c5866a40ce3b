/* The frame header on the wire and its check against messages.def (frame.h). */
#include "ipc/frame.h"

#include <string.h>
#include <unistd.h>

const char *
frame_err_str(enum frame_err e)
{
	switch (e) {
	case FRAME_OK: return "ok";
	case FRAME_NEED_MORE: return "incomplete frame";
	case FRAME_BAD_LENGTH: return "bad frame length";
	case FRAME_UNKNOWN_TYPE: return "unknown frame type";
	case FRAME_BAD_ROUTE: return "frame on the wrong route";
	}
	return "?";
}

void
frame_hdr_encode(const struct ct_frame_hdr *h, uint8_t out[CT_FRAME_HDR_LEN])
{
	memcpy(out, &h->len, 4);
	memcpy(out + 4, &h->type, 2);
	memcpy(out + 6, &h->flags, 2);
	memcpy(out + 8, &h->id, 4);
	memcpy(out + 12, &h->pid, 4);
}

void
frame_hdr_decode(const uint8_t in[CT_FRAME_HDR_LEN], struct ct_frame_hdr *h)
{
	memcpy(&h->len, in, 4);
	memcpy(&h->type, in + 4, 2);
	memcpy(&h->flags, in + 6, 2);
	memcpy(&h->id, in + 8, 4);
	memcpy(&h->pid, in + 12, 4);
}

enum frame_err
frame_check(const struct ct_frame_hdr *h, enum ct_proc from)
{
	const struct ct_msg_info *m;
	uint32_t plen;

	if (h->len < CT_FRAME_HDR_LEN || h->len > CT_FRAME_MAX)
		return FRAME_BAD_LENGTH;
	if ((m = ct_msg_lookup(h->type)) == NULL)
		return FRAME_UNKNOWN_TYPE;
	plen = h->len - CT_FRAME_HDR_LEN;
	if (plen < m->min_payload || plen > m->max_payload)
		return FRAME_BAD_LENGTH;
	if (from != P_ANY && (m->from_mask & (1u << from)) == 0)
		return FRAME_BAD_ROUTE;
	return FRAME_OK;
}

int
frame_append(struct evbuffer *buf, uint16_t type, uint16_t flags, uint32_t id,
    const void *payload, size_t plen)
{
	struct ct_frame_hdr h;
	uint8_t raw[CT_FRAME_HDR_LEN];

	if (plen > CT_FRAME_MAX_PAYLOAD)
		return -1;
	h.len = (uint32_t)(CT_FRAME_HDR_LEN + plen);
	h.type = type;
	h.flags = flags;
	h.id = id;
	h.pid = (uint32_t)getpid();
	frame_hdr_encode(&h, raw);
	if (evbuffer_add(buf, raw, sizeof(raw)) != 0)
		return -1;
	if (plen && evbuffer_add(buf, payload, plen) != 0)
		return -1;
	return 0;
}
