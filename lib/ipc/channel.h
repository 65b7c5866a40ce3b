/*
 * One framed channel over a Unix-domain socket, on a libevent loop: reads
 * with recvmsg (so SCM_RIGHTS fds arrive with their frame), hands every
 * complete, valid frame to the callback, and writes frames with sendmsg: at
 * once when nothing is queued before it, else queued, with write interest
 * armed only while something is.
 *
 * Bounds: the input buffer never holds more than one maximal frame plus one
 * read; the output queue is capped (CHANNEL_OUT_MAX): channel_send returns -1
 * and sends nothing when a frame would pass the cap, so callers must apply
 * back-pressure (stop reading their own inputs) instead of queueing forever.
 * A frame that fails validation is logged and dropped; the channel lives on
 * (the length was still sound). A bad length cannot be resynchronised, so it
 * closes the channel.
 */
#ifndef CT_CHANNEL_H
#define CT_CHANNEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <event2/event.h>

#include "ipc/frame.h"

#define CHANNEL_OUT_MAX  (32u * 1024 * 1024)

struct channel;
/* f == NULL means the peer is gone (EOF or a fatal error); the channel is
 * then inert and the owner should channel_free it. */
typedef void (*channel_cb)(struct channel *ch, const struct frame *f, void *arg);

/* peer: who is on the other end, for route checks (P_ANY = do not check). */
struct channel *channel_new(struct event_base *base, int fd, enum ct_proc peer,
    channel_cb cb, void *arg);
void channel_free(struct channel *ch);      /* closes the fd and any queued fds */
int  channel_send(struct channel *ch, uint16_t type, uint32_t id,
    const void *payload, size_t plen);
/* Sends a frame with one fd attached; the fd is dup'ed, caller keeps its own. */
int  channel_send_fd(struct channel *ch, uint16_t type, uint32_t id,
    const void *payload, size_t plen, int fd);
/* Forwards a received frame unchanged (header pid/id kept), fd included. */
int  channel_forward(struct channel *ch, const struct frame *f);
/* Counters for status. */
struct channel_stats {
	uint64_t frames_in, frames_out, bytes_in, bytes_out, bad_frames, send_refused;
};
const struct channel_stats *channel_stats(const struct channel *ch);
/* Write everything queued, blocking up to timeout_ms (used on shutdown). */
int  channel_flush(struct channel *ch, int timeout_ms);

#endif
