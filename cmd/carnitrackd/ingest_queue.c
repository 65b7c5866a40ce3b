/*
 * Events ingest has handed (or will hand) to store and not yet seen
 * confirmed: a FIFO for sending and re-sending in arrival order, and an
 * index by localEventId for EVENT_STORED. Entries hold the encoded event so
 * a resend costs no re-encoding. The bound is enforced by the caller
 * (IW_QUEUE_HIGH stops reading); the index grows with the queue.
 */
#include "ingest.h"

#include <stdlib.h>
#include <string.h>

#include "event/event_codec.h"
#include "log/log.h"

#define QUEUE_MIN_CAP 1024

static size_t
slot_of(const struct iw_queue *q, const uint8_t id[CT_UUID_LEN])
{
	uint64_t h;

	/* Ids are random (UUIDv4): their first bytes are already a hash. */
	memcpy(&h, id, sizeof(h));
	return (size_t)(h * 0x9E3779B97F4A7C15ull >> 20) & (q->cap - 1);
}

static void
index_put(struct iw_queue *q, struct iw_qev *e)
{
	size_t i = slot_of(q, e->id);

	while (q->slots[i] != NULL)
		i = (i + 1) & (q->cap - 1);
	q->slots[i] = e;
}

static int
index_grow(struct iw_queue *q)
{
	size_t ncap = q->cap * 2;
	struct iw_qev **ns = calloc(ncap, sizeof(*ns)), **old = q->slots;
	size_t ocap = q->cap;

	if (ns == NULL)
		return -1;
	q->slots = ns;
	q->cap = ncap;
	for (size_t i = 0; i < ocap; i++)
		if (old[i] != NULL)
			index_put(q, old[i]);
	free(old);
	return 0;
}

int
iw_queue_init(struct iw_queue *q)
{
	memset(q, 0, sizeof(*q));
	TAILQ_INIT(&q->all);
	q->cap = QUEUE_MIN_CAP;
	q->slots = calloc(q->cap, sizeof(*q->slots));
	return q->slots == NULL ? -1 : 0;
}

void
iw_queue_free(struct iw_queue *q)
{
	struct iw_qev *e;

	while ((e = TAILQ_FIRST(&q->all)) != NULL) {
		TAILQ_REMOVE(&q->all, e, all);
		free(e);
	}
	free(q->slots);
	q->slots = NULL;
	q->n = 0;
}

struct iw_qev *
iw_queue_add(struct iw_queue *q, const struct ct_event *ev)
{
	uint8_t buf[CT_EVENT_ENC_MAX];
	size_t n = event_encode(ev, buf, sizeof(buf));
	struct iw_qev *e;

	/* every field is bounded to fit CT_EVENT_ENC_MAX */
	if (n == 0)
		fatalx("event for %s does not encode", ev->device_id);
	if ((q->n + 1) * 2 > q->cap && index_grow(q) != 0)
		return NULL;
	if ((e = calloc(1, sizeof(*e) + n)) == NULL)
		return NULL;
	memcpy(e->id, ev->local_id, CT_UUID_LEN);
	memcpy(e->enc, buf, n);
	e->enc_len = (uint16_t)n;
	TAILQ_INSERT_TAIL(&q->all, e, all);
	index_put(q, e);
	q->n++;
	return e;
}

struct iw_qev *
iw_queue_find(struct iw_queue *q, const uint8_t id[CT_UUID_LEN])
{
	size_t i = slot_of(q, id);

	while (q->slots[i] != NULL) {
		if (memcmp(q->slots[i]->id, id, CT_UUID_LEN) == 0)
			return q->slots[i];
		i = (i + 1) & (q->cap - 1);
	}
	return NULL;
}

/* Linear probing deletion by backward shift: no tombstones to age. */
static void
index_del(struct iw_queue *q, struct iw_qev *e)
{
	size_t mask = q->cap - 1, i = slot_of(q, e->id), j;

	while (q->slots[i] != e) {
		if (q->slots[i] == NULL)
			return;
		i = (i + 1) & mask;
	}
	q->slots[i] = NULL;
	j = i;
	for (;;) {
		j = (j + 1) & mask;
		if (q->slots[j] == NULL)
			return;
		size_t home = slot_of(q, q->slots[j]->id);
		/* Move slots[j] back to i unless its home lies cyclically in (i, j]. */
		bool stays = i <= j ? (home > i && home <= j) : (home > i || home <= j);
		if (!stays) {
			q->slots[i] = q->slots[j];
			q->slots[j] = NULL;
			i = j;
		}
	}
}

void
iw_queue_remove(struct iw_queue *q, struct iw_qev *e)
{
	index_del(q, e);
	TAILQ_REMOVE(&q->all, e, all);
	if (e->conn != NULL)
		TAILQ_REMOVE(&e->conn->evs, e, of_conn);
	q->n--;
	free(e);
}
