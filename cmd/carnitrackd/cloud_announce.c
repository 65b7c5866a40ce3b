/*
 * What the cloud is told about scales and offline batches.
 *
 * Devices: the store's devices db is the truth (the globalDeviceId is made
 * here by the events' rule, cw_global_id, not taken from the db). After each registration
 * every connected scale is announced (device_connected) afresh; after that,
 * WORK_READY(devices) makes us compare the db with what we last announced
 * and send only the differences. While the link is down nothing is queued:
 * stale heartbeats are worthless, the next registration re-announces.
 *
 * Batches: every closed batch whose end was not sent yet gets
 * offline_batch_start (unless sent before) and offline_batch_end with the
 * store's exact counts, then BATCH_REPORTED to store. Its events follow
 * through the normal stream, which waits for exactly this.
 */
#include "cloud_worker.h"

#include <string.h>

#include "log/log.h"

#define ANNOUNCE_MAX 256     /* batches reported per pass; the next pass takes the rest */

static struct cw_device *
dev_find(struct cw *c, const char *id)
{
	for (int i = 0; i < c->ndevs; i++)
		if (strcmp(c->devs[i].id, id) == 0)
			return &c->devs[i];
	return NULL;
}

int
cw_connected_scales(const struct cw *c)
{
	int n = 0;

	for (int i = 0; i < c->ndevs; i++)
		n += c->devs[i].status == DEV_CONNECTED;
	return n;
}

struct dev_pass {
	struct cw *c;
	enum cw_dev_phase phase;
};

/* The contract's device types; anything else (an older edge stored
 * "DP-401", the scale model) goes as the default. */
static const char *
device_type(const char *t)
{
	static const char *const known[] = { "disassembly", "retail", "receiving" };

	for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
		if (strcmp(t, known[i]) == 0)
			return known[i];
	return "disassembly";
}

static int
device_cb(const struct store_device *d, void *arg)
{
	struct dev_pass *p = arg;
	struct cw *c = p->c;
	struct cw_device *k = dev_find(c, d->device_id);
	char gid[CT_DEVICE_ID_MAX * 2];
	struct cm_device m = { .device_id = d->device_id, .global_device_id = gid,
	    .source_ip = d->source_ip, .device_type = device_type(d->device_type),
	    .reason = d->reason, .heartbeat_count = d->heartbeats };
	bool connected = d->status == DEV_CONNECTED;
	bool gone;

	cw_global_id(c, d->device_id, gid, sizeof(gid));
	if (k == NULL) {
		if (c->ndevs >= CW_MAX_DEVICES)
			return 0;    /* beyond the table: announced on registration only */
		k = &c->devs[c->ndevs++];
		memset(k, 0, sizeof(*k));
		snprintf(k->id, sizeof(k->id), "%s", d->device_id);
		k->status = 0;
	}
	gone = !connected && k->status == DEV_CONNECTED;
	/* Disconnects wait for the events stored before them (phase 2). */
	if (gone != (p->phase == CW_DEV_GONE) && p->phase != CW_DEV_ALL)
		return 0;
	if (p->phase == CW_DEV_ALL) {
		if (connected)
			cw_send(c, "device_connected", cm_device_connected_payload(&m));
	} else if (connected && (k->status != DEV_CONNECTED || k->connects != d->connects)) {
		cw_send(c, "device_connected", cm_device_connected_payload(&m));
	} else if (connected && d->heartbeats != k->heartbeats) {
		m.status = "online";
		m.at_ms = d->last_seen_ms;
		cw_send(c, "device_heartbeat", cm_device_heartbeat_payload(&m));
	} else if (gone) {
		m.at_ms = d->disconnected_at_ms ? d->disconnected_at_ms : ct_now_ms();
		if (m.reason == NULL || m.reason[0] == '\0')
			m.reason = store_dev_status_name(d->status);
		cw_send(c, "device_disconnected", cm_device_disconnected_payload(&m));
	}
	k->status = d->status;
	k->heartbeats = d->heartbeats;
	k->connects = d->connects;
	return 0;
}

void
cw_announce_devices(struct cw *c, enum cw_dev_phase phase)
{
	struct dev_pass p = { c, phase };

	if (c->link != CW_UP || !cw_open_store(c))
		return;
	if (store_devices_iter(c->st, device_cb, &p) != STORE_OK)
		log_warn("reading devices: %s", store_errmsg(c->st));
}

struct batch_pass {
	struct cw         *c;
	struct store_batch todo[ANNOUNCE_MAX];
	unsigned           n;
};

static int
batch_cb(const struct store_batch *b, void *arg)
{
	struct batch_pass *p = arg;

	if (b->state == BATCH_OPEN || (b->reported & CT_BATCH_END_SENT))
		return 0;
	if (cw_batch_is_reported(p->c, b->id))
		return 0;
	p->todo[p->n++] = *b;
	return p->n >= ANNOUNCE_MAX ? 1 : 0;
}

void
cw_report_batches(struct cw *c)
{
	static struct batch_pass p;   /* ~60 KiB: not on the stack */

	if (c->link != CW_UP || !cw_open_store(c))
		return;
	do {
		p.c = c;
		p.n = 0;
		if (store_batches_iter(c->st, batch_cb, &p) != STORE_OK) {
			log_warn("reading batches: %s", store_errmsg(c->st));
			return;
		}
		for (unsigned i = 0; i < p.n; i++) {
			const struct store_batch *b = &p.todo[i];
			struct cm_batch m = { .device_id = b->device_id, .started_at_ms = b->started_at_ms,
			    .ended_at_ms = b->ended_at_ms, .event_count = b->event_count,
			    .total_weight_g = b->total_weight_g, .clock_adjusted = b->clock != 0 };
			char id[CT_UUID_STR];
			uint8_t what = CT_BATCH_END_SENT;

			memcpy(m.batch_id, b->id, CT_UUID_LEN);
			if (!(b->reported & CT_BATCH_START_SENT)) {
				if (cw_send(c, "offline_batch_start", cm_offline_batch_start_payload(&m)) != 0)
					return;
				what |= CT_BATCH_START_SENT;
			}
			if (cw_send(c, "offline_batch_end", cm_offline_batch_end_payload(&m)) != 0)
				return;     /* the queue is full: the next pass tries again */
			cw_send_batch_reported(c, b->id, what);
			cw_batch_mark_reported(c, b->id);
			c->batches_reported++;
			ct_uuid_fmt(b->id, id);
			log_info("offline batch %s of %s reported: %u events, %lld g", id, b->device_id,
			    b->event_count, (long long)b->total_weight_g);
		}
	} while (p.n == ANNOUNCE_MAX);
}
