/*
 * IPC frame decoding: a byte stream is cut into frames the way channel.c
 * does it, each header checked against the message table, and EVENT
 * payloads decoded with the event codec. Nothing may read out of bounds.
 */
#include <stdint.h>
#include <string.h>

#include "event/event_codec.h"
#include "ipc/frame.h"
#include "ipc/pack.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	enum ct_proc from;

	if (size < 1)
		return 0;
	from = (enum ct_proc)(data[0] % P_NPROC);
	data++;
	size--;
	while (size >= CT_FRAME_HDR_LEN) {
		struct ct_frame_hdr h;
		frame_hdr_decode(data, &h);
		if (h.len < CT_FRAME_HDR_LEN || h.len > CT_FRAME_MAX || h.len > size)
			break;
		if (frame_check(&h, from) == FRAME_OK && h.type == CT_MSG_EVENT) {
			struct unpack u;
			struct ct_event ev;
			uint16_t n;

			unpack_init(&u, data + CT_FRAME_HDR_LEN, h.len - CT_FRAME_HDR_LEN);
			n = unpack_u16(&u);
			for (uint16_t i = 0; i < n && unpack_ok(&u); i++) {
				size_t len;
				const uint8_t *rec = unpack_blob(&u, &len);
				if (rec != NULL)
					(void)event_decode(rec, len, &ev);
			}
		}
		data += h.len;
		size -= h.len;
	}
	return 0;
}
