/*
 * The cloud's memory of localEventIds (its UNIQUE column): open addressing
 * over 16-byte keys, grown by doubling at 50% load. The edge's ids are
 * random UUIDv4s, a hostile test's need not be: the first 8 bytes are mixed.
 */
#include "sim.h"

#include <stdlib.h>
#include <string.h>

static size_t
slot_of(const uint8_t id[16], size_t cap)
{
	uint64_t h;

	memcpy(&h, id, 8);
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdULL;
	h ^= h >> 33;
	return (size_t)(h & (cap - 1));
}

int
idset_init(struct idset *s)
{
	s->cap = 1u << 16;
	s->n = 0;
	s->keys = calloc(s->cap, 16);
	s->state = calloc(s->cap, 1);
	if (s->keys == NULL || s->state == NULL) {
		idset_free(s);
		return -1;
	}
	return 0;
}

void
idset_free(struct idset *s)
{
	free(s->keys);
	free(s->state);
	s->keys = NULL;
	s->state = NULL;
	s->cap = s->n = 0;
}

int
idset_get(const struct idset *s, const uint8_t id[16])
{
	for (size_t i = slot_of(id, s->cap);; i = (i + 1) & (s->cap - 1)) {
		if (s->state[i] == 0)
			return 0;
		if (memcmp(s->keys + i * 16, id, 16) == 0)
			return s->state[i];
	}
}

static void
place(uint8_t *keys, uint8_t *state, size_t cap, const uint8_t id[16], int st)
{
	size_t i = slot_of(id, cap);

	while (state[i] != 0 && memcmp(keys + i * 16, id, 16) != 0)
		i = (i + 1) & (cap - 1);
	memcpy(keys + i * 16, id, 16);
	state[i] = (uint8_t)st;
}

int
idset_put(struct idset *s, const uint8_t id[16], int st)
{
	if ((s->n + 1) * 2 > s->cap) {
		size_t ncap = s->cap * 2;
		uint8_t *nk = calloc(ncap, 16), *ns = calloc(ncap, 1);

		if (nk == NULL || ns == NULL) {
			free(nk);
			free(ns);
			return -1;
		}
		for (size_t i = 0; i < s->cap; i++)
			if (s->state[i] != 0)
				place(nk, ns, ncap, s->keys + i * 16, s->state[i]);
		free(s->keys);
		free(s->state);
		s->keys = nk;
		s->state = ns;
		s->cap = ncap;
	}
	if (idset_get(s, id) == 0)
		s->n++;
	place(s->keys, s->state, s->cap, id, st);
	return 0;
}
