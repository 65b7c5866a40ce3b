/*
 * Test helper: writes a small, known store under DATA_DIR for the
 * carnitrackctl store commands (tests/integration/test_store_ctl.sh):
 *   SCALE-01: device connected, session sess-1 (tag A-123), 3 online events
 *             of 1000, 1001, 1002 g (the first accepted, the second rejected)
 *   SCALE-02: 2 offline events of 500 g in one batch, then the link is back
 *             (batch closed)
 * Usage: store_fill DATA_DIR
 */
#include <stdio.h>
#include <string.h>

#include "event/event.h"
#include "store/store.h"

static int
put(struct store *st, const char *dev, int64_t g, bool online, struct ct_event *ev)
{
	bool dup;

	memset(ev, 0, sizeof(*ev));
	ct_uuid_new(ev->local_id);
	snprintf(ev->device_id, sizeof(ev->device_id), "%s", dev);
	snprintf(ev->plu, sizeof(ev->plu), "00001");
	ev->received_at_ms = ct_now_ms();
	ev->scale_ts = ev->received_at_ms / 1000;
	ev->net_g = g;
	return store_put_event(st, ev, online, &dup);
}

int
main(int argc, char **argv)
{
	struct store_opts o = { .map_size = 16 << 20, .site_id = "SITE01" };
	struct store_session_msg sm = { .kind = CT_SESS_STARTED };
	struct store_device_msg dm = { .kind = CT_DEV_CONNECTED };
	struct ct_event ev[5];
	struct store *st;
	char err[600];
	int e = 0;

	if (argc != 2) {
		fprintf(stderr, "usage: store_fill DATA_DIR\n");
		return 64;
	}
	if (store_open(&st, argv[1], &o, err, sizeof(err)) != STORE_OK) {
		fprintf(stderr, "store_fill: %s\n", err);
		return 1;
	}
	snprintf(sm.device_id, sizeof(sm.device_id), "SCALE-01");
	snprintf(sm.cloud_session_id, sizeof(sm.cloud_session_id), "sess-1");
	snprintf(sm.animal_tag, sizeof(sm.animal_tag), "A-123");
	snprintf(dm.device_id, sizeof(dm.device_id), "SCALE-01");
	snprintf(dm.source_ip, sizeof(dm.source_ip), "127.0.0.1");
	dm.at_ms = ct_now_ms();
	e |= store_begin(st, ct_now_ms());
	e |= store_session_apply(st, &sm);
	e |= store_device_apply(st, &dm);
	e |= put(st, "SCALE-01", 1000, true, &ev[0]);
	e |= put(st, "SCALE-01", 1001, true, &ev[1]);
	e |= put(st, "SCALE-01", 1002, true, &ev[2]);
	e |= put(st, "SCALE-02", 500, false, &ev[3]);
	e |= put(st, "SCALE-02", 500, false, &ev[4]);
	e |= store_commit(st);
	e |= store_begin(st, ct_now_ms());
	e |= store_ack(st, ev[0].local_id, CT_ACK_ACCEPTED, "cloud-ev-1");
	e |= store_reject(st, ev[1].local_id, "Invalid PLU code");
	e |= store_close_open_batches(st, NULL, NULL, NULL);
	e |= store_commit(st);
	if (e != 0) {
		fprintf(stderr, "store_fill: %s\n", store_errmsg(st));
		store_close(st);
		return 1;
	}
	store_close(st);
	return 0;
}
