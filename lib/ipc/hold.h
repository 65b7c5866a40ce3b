/*
 * Frames kept for a peer that is down, in order, until a channel to it is
 * back (proto/messages.def says which types are held and why). Bounded:
 * past the cap a frame is refused and counted, never queued; the
 * sender's own re-sends on PEER_UP cover what a full hold lost.
 */
#ifndef CT_HOLD_H
#define CT_HOLD_H

#include <stddef.h>
#include <stdint.h>
#include <event2/buffer.h>

#include "ipc/channel.h"

struct frame_hold {
	struct evbuffer *buf;       /* encoded frames; NULL until the first */
	size_t           max;       /* bytes */
	unsigned         n;
	uint64_t         dropped;   /* refused at the cap (or out of memory) */
};

void frame_hold_init(struct frame_hold *h, size_t max);
/* 0 held; -1 refused (counted in dropped). */
int  frame_hold_add(struct frame_hold *h, uint16_t type, uint32_t id, const void *p,
    size_t n);
/* Sends every held frame on ch, oldest first; returns how many went. A
 * frame the channel refuses is dropped and counted. */
unsigned frame_hold_release(struct frame_hold *h, struct channel *ch);
void frame_hold_free(struct frame_hold *h);

#endif
