/*
 * The DP-401 acknowledgement rule of one connection, without sockets: an
 * `OK\n` answers an ack request only once every record received before that
 * request is confirmed stored. Records are numbered in arrival order; store
 * confirmations may come in any order and more than once (resends).
 *
 * Pending requests are kept as (records before it, requests) groups, in
 * arrival order. The table is bounded: when it is full, the newest group
 * absorbs the next request, which only ever makes an OK later, never early.
 *
 * Each group remembers when its first request came (the caller's clock), and
 * an optional observer hears, for each group answered, that time and how
 * many requests it held: the OK latency of status and metrics. A merged
 * group keeps its first time, so a latency is never shorter than it was.
 */
#ifndef CT_DP401_ACK_H
#define CT_DP401_ACK_H

#include <stdbool.h>
#include <stdint.h>

#define DP401_ACK_MAX_PENDING 16

struct dp401_ack {
	uint64_t received;       /* records numbered so far (1-based numbers) */
	uint64_t unconfirmed;
	int      npending;
	struct {
		uint64_t upto;       /* requests of this group follow record #upto */
		uint64_t remaining;  /* records <= upto not yet confirmed */
		uint32_t count;      /* requests in this group */
		int64_t  asked;      /* when its first request came */
	} pending[DP401_ACK_MAX_PENDING];
	/* called from dp401_ack_request/stored for each group answered */
	void   (*answered)(void *arg, int64_t asked, uint32_t count);
	void    *answered_arg;
};

void dp401_ack_init(struct dp401_ack *a);
/* A record is on its way to store: returns its number on this connection. */
uint64_t dp401_ack_record(struct dp401_ack *a);
/* An ack request arrived at `now`: returns how many OKs are due now (0 or
 * more). */
unsigned dp401_ack_request(struct dp401_ack *a, int64_t now);
/* Record #no is stored (call once per record, the caller dedupes): returns
 * how many OKs are now due. */
unsigned dp401_ack_stored(struct dp401_ack *a, uint64_t no);
/* Requests waiting for their OK. */
uint64_t dp401_ack_waiting(const struct dp401_ack *a);

#endif
