/*
 * The window of events sent and not yet answered (event_window.h). Acks
 * find their event by localEventId in O(1): ids are random UUIDv4s, so
 * their first 8 bytes are the hash.
 */
#include "event/event_window.h"

#include <stdlib.h>
#include <string.h>

static uint32_t
home(const struct ev_window *f, const uint8_t id[CT_UUID_LEN])
{
	uint64_t h;

	memcpy(&h, id, sizeof(h));
	h ^= h >> 29;
	h *= 0xbf58476d1ce4e5b9ULL;
	h ^= h >> 32;
	return (uint32_t)h & f->mask;
}

int
evw_init(struct ev_window *f, uint32_t cap)
{
	uint32_t icap = 16;

	memset(f, 0, sizeof(*f));
	while (icap < cap * 2)
		icap <<= 1;
	f->slots = calloc(cap, sizeof(*f->slots));
	f->free_list = calloc(cap, sizeof(*f->free_list));
	f->index = malloc(icap * sizeof(*f->index));
	if (f->slots == NULL || f->free_list == NULL || f->index == NULL) {
		evw_free(f);
		return -1;
	}
	f->cap = cap;
	f->mask = icap - 1;
	evw_clear(f);
	return 0;
}

void
evw_free(struct ev_window *f)
{
	free(f->slots);
	free(f->free_list);
	free(f->index);
	memset(f, 0, sizeof(*f));
}

void
evw_clear(struct ev_window *f)
{
	for (uint32_t i = 0; i <= f->mask; i++)
		f->index[i] = -1;
	for (uint32_t i = 0; i < f->cap; i++) {
		f->slots[i].used = false;
		f->free_list[i] = f->cap - 1 - i;
	}
	f->nfree = f->cap;
	f->n = 0;
}

/* Index position of id, or -1. */
static int64_t
find(const struct ev_window *f, const uint8_t id[CT_UUID_LEN])
{
	for (uint32_t i = home(f, id);; i = (i + 1) & f->mask) {
		int32_t s = f->index[i];
		if (s < 0)
			return -1;
		if (memcmp(f->slots[s].id, id, CT_UUID_LEN) == 0)
			return i;
	}
}

bool
evw_has(const struct ev_window *f, const uint8_t id[CT_UUID_LEN])
{
	return f->cap > 0 && find(f, id) >= 0;
}

int
evw_add(struct ev_window *f, const uint8_t id[CT_UUID_LEN], uint64_t seq, int64_t now)
{
	uint32_t i, s;

	if (f->nfree == 0 || find(f, id) >= 0)
		return -1;
	s = f->free_list[--f->nfree];
	memcpy(f->slots[s].id, id, CT_UUID_LEN);
	f->slots[s].seq = seq;
	f->slots[s].sent_ms = now;
	f->slots[s].used = true;
	for (i = home(f, id); f->index[i] >= 0; i = (i + 1) & f->mask)
		;
	f->index[i] = (int32_t)s;
	f->n++;
	return 0;
}

bool
evw_remove(struct ev_window *f, const uint8_t id[CT_UUID_LEN], uint64_t *seq)
{
	int64_t at = f->cap > 0 ? find(f, id) : -1;
	uint32_t i, j;
	int32_t s;

	if (at < 0)
		return false;
	i = (uint32_t)at;
	s = f->index[i];
	if (seq != NULL)
		*seq = f->slots[s].seq;
	f->slots[s].used = false;
	f->free_list[f->nfree++] = (uint32_t)s;
	f->n--;
	/* Backward-shift deletion keeps every probe chain unbroken without
	 * tombstones. */
	for (j = i;;) {
		j = (j + 1) & f->mask;
		if (f->index[j] < 0)
			break;
		uint32_t k = home(f, f->slots[f->index[j]].id);
		bool movable = (j > i) ? (k <= i || k > j) : (k <= i && k > j);
		if (movable) {
			f->index[i] = f->index[j];
			i = j;
		}
	}
	f->index[i] = -1;
	return true;
}
