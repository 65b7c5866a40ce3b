/*
 * Frame codec: header encode/decode and validation against proto/messages.def.
 * frame_parse() takes complete frames out of a libevent buffer; partial
 * frames stay in the buffer until the rest arrives.
 */
#ifndef CT_FRAME_H
#define CT_FRAME_H

#include <stdbool.h>
#include <stdint.h>
#include <event2/buffer.h>

#include "ipc_proto.h"

struct frame {
	struct ct_frame_hdr hdr;
	const uint8_t *payload;     /* valid during the callback only */
	size_t         plen;
	int            fd;          /* -1 unless CT_FRAME_F_FD; receiver owns it */
};

enum frame_err {
	FRAME_OK = 0,
	FRAME_NEED_MORE,     /* not a whole frame yet */
	FRAME_BAD_LENGTH,    /* len < header, > cap, or outside the type's bounds */
	FRAME_UNKNOWN_TYPE,
	FRAME_BAD_ROUTE,     /* sender not allowed to send this type */
};
const char *frame_err_str(enum frame_err e);

void frame_hdr_encode(const struct ct_frame_hdr *h, uint8_t out[CT_FRAME_HDR_LEN]);
void frame_hdr_decode(const uint8_t in[CT_FRAME_HDR_LEN], struct ct_frame_hdr *h);
/* Checks length and type; with from != P_ANY also the route. */
enum frame_err frame_check(const struct ct_frame_hdr *h, enum ct_proc from);
/* Appends a frame to buf; -1 if the payload exceeds the cap. */
int frame_append(struct evbuffer *buf, uint16_t type, uint16_t flags, uint32_t id,
    const void *payload, size_t plen);

#endif
