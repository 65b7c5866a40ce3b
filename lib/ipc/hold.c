/* Frames kept for a peer that is down (hold.h). */
#include "ipc/hold.h"

#include <string.h>

#include "ipc/frame.h"

void
frame_hold_init(struct frame_hold *h, size_t max)
{
	memset(h, 0, sizeof(*h));
	h->max = max;
}

int
frame_hold_add(struct frame_hold *h, uint16_t type, uint32_t id, const void *p, size_t n)
{
	size_t have = h->buf != NULL ? evbuffer_get_length(h->buf) : 0;

	if (have + CT_FRAME_HDR_LEN + n > h->max ||
	    (h->buf == NULL && (h->buf = evbuffer_new()) == NULL) ||
	    frame_append(h->buf, type, 0, id, p, n) != 0) {
		h->dropped++;
		return -1;
	}
	h->n++;
	return 0;
}

unsigned
frame_hold_release(struct frame_hold *h, struct channel *ch)
{
	uint8_t raw[CT_FRAME_HDR_LEN];
	unsigned sent = 0;

	while (h->buf != NULL && evbuffer_get_length(h->buf) >= CT_FRAME_HDR_LEN) {
		struct frame f = { .fd = -1 };

		evbuffer_copyout(h->buf, raw, sizeof(raw));
		frame_hdr_decode(raw, &f.hdr);
		f.plen = f.hdr.len - CT_FRAME_HDR_LEN;
		/* our own encoding: whole frames, lengths sound */
		if ((f.payload = evbuffer_pullup(h->buf, f.hdr.len)) == NULL) {
			h->dropped += h->n;
			evbuffer_drain(h->buf, evbuffer_get_length(h->buf));
			break;
		}
		f.payload += CT_FRAME_HDR_LEN;
		if (channel_forward(ch, &f) == 0)
			sent++;
		else
			h->dropped++;
		evbuffer_drain(h->buf, f.hdr.len);
		h->n--;
	}
	h->n = 0;
	return sent;
}

void
frame_hold_free(struct frame_hold *h)
{
	if (h->buf != NULL)
		evbuffer_free(h->buf);
	h->buf = NULL;
	h->n = 0;
}
