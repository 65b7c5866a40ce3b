/*
 * The cloud worker's window: the events sent to the cloud and not yet
 * answered, by localEventId, with their sequence and when they went out.
 * Fixed capacity (the configured `window`), so it can never grow: the
 * outbox asks for room before it reads. Slots, a free list, and an
 * open-addressing index (linear probing, backward-shift delete).
 */
#ifndef CT_EVENT_WINDOW_H
#define CT_EVENT_WINDOW_H

#include <stdbool.h>
#include <stdint.h>

#include "event/event.h"

struct evw_slot {
	uint8_t  id[CT_UUID_LEN];
	uint64_t seq;
	int64_t  sent_ms;                /* monotonic */
	bool     used;
};

struct ev_window {
	struct evw_slot *slots;
	uint32_t *free_list;
	int32_t  *index;                 /* slot number, -1 empty */
	uint32_t  cap, nfree, mask, n;
};
int  evw_init(struct ev_window *f, uint32_t cap);
void evw_free(struct ev_window *f);
void evw_clear(struct ev_window *f);
/* -1 when full or already present. */
int  evw_add(struct ev_window *f, const uint8_t id[CT_UUID_LEN], uint64_t seq, int64_t now);
/* true if it was in flight; *seq (may be NULL) gets its sequence. */
bool evw_remove(struct ev_window *f, const uint8_t id[CT_UUID_LEN], uint64_t *seq);
bool evw_has(const struct ev_window *f, const uint8_t id[CT_UUID_LEN]);

#endif
