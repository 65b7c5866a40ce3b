/*
 * Per-connection OK accounting: see dp401_ack.h for the rule.
 */
#include "dp401/dp401_ack.h"

#include <string.h>

void
dp401_ack_init(struct dp401_ack *a)
{
	memset(a, 0, sizeof(*a));
}

uint64_t
dp401_ack_record(struct dp401_ack *a)
{
	a->unconfirmed++;
	return ++a->received;
}

/* Answers every group at the head whose records are all stored. */
static unsigned
pop_ready(struct dp401_ack *a)
{
	unsigned due = 0;
	int k = 0;

	while (k < a->npending && a->pending[k].remaining == 0) {
		if (a->answered != NULL)
			a->answered(a->answered_arg, a->pending[k].asked, a->pending[k].count);
		due += a->pending[k++].count;
	}
	if (k > 0) {
		memmove(&a->pending[0], &a->pending[k],
		    (size_t)(a->npending - k) * sizeof(a->pending[0]));
		a->npending -= k;
	}
	return due;
}

unsigned
dp401_ack_request(struct dp401_ack *a, int64_t now)
{
	int last = a->npending - 1;

	if (last >= 0 && a->pending[last].upto == a->received) {
		a->pending[last].count++;          /* no record in between */
	} else if (a->npending == DP401_ACK_MAX_PENDING) {
		/* Full: the newest group waits for this request's records too. */
		a->pending[last].upto = a->received;
		a->pending[last].remaining = a->unconfirmed;
		a->pending[last].count++;
	} else {
		a->pending[a->npending].upto = a->received;
		a->pending[a->npending].remaining = a->unconfirmed;
		a->pending[a->npending].count = 1;
		a->pending[a->npending].asked = now;
		a->npending++;
	}
	return pop_ready(a);
}

unsigned
dp401_ack_stored(struct dp401_ack *a, uint64_t no)
{
	if (no == 0 || no > a->received || a->unconfirmed == 0)
		return 0;
	a->unconfirmed--;
	for (int i = 0; i < a->npending; i++)
		if (a->pending[i].upto >= no && a->pending[i].remaining > 0)
			a->pending[i].remaining--;
	return pop_ready(a);
}

uint64_t
dp401_ack_waiting(const struct dp401_ack *a)
{
	uint64_t n = 0;

	for (int i = 0; i < a->npending; i++)
		n += a->pending[i].count;
	return n;
}
