/*
 * What the cloud is told about scales. The store's devices db is the truth
 * (the globalDeviceId is made here by the events' rule, cw_global_id, not
 * taken from the db). When the link comes up every scale is announced
 * (CW_DEV_ANNOUNCE) afresh; after that, WORK_READY(devices) makes us compare
 * the db with what we last announced and hand the transport only the
 * differences: connects and heartbeats before the events of the loop turn,
 * disconnects after them. While the link is down nothing is queued: stale
 * heartbeats are worthless, the next link re-announces.
 */
#include "cloud_worker.h"

#include <stdio.h>
#include <string.h>

#include "log/log.h"

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

/* What changed since the last pass: -1 when this phase does not tell it
 * (the scale is looked at again in the other phase), 0 nothing to say, 1
 * *what to say. */
static int
change_of(const struct dev_pass *p, const struct store_device *d, const struct cw_device *k,
    enum cw_dev_change *what)
{
	bool connected = d->status == DEV_CONNECTED;
	bool gone = !connected && k->status == DEV_CONNECTED;

	if (p->phase == CW_DEV_ALL) {
		*what = CW_DEV_ANNOUNCE;
		return 1;
	}
	/* Disconnects wait for the events stored before them (phase GONE). */
	if (gone != (p->phase == CW_DEV_GONE))
		return -1;
	if (connected && (k->status != DEV_CONNECTED || k->connects != d->connects))
		*what = CW_DEV_CONNECTED;
	else if (connected && d->heartbeats != k->heartbeats)
		*what = CW_DEV_HEARTBEAT;
	else if (gone)
		*what = CW_DEV_DISCONNECTED;
	else
		return 0;
	return 1;
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
	enum cw_dev_change what;
	int change;

	cw_global_id(c, d->device_id, gid, sizeof(gid));
	if (k == NULL) {
		if (c->ndevs >= CW_MAX_DEVICES)
			return 0;    /* beyond the table: announced when the link comes up only */
		k = &c->devs[c->ndevs++];
		memset(k, 0, sizeof(*k));
		snprintf(k->id, sizeof(k->id), "%s", d->device_id);
	}
	if ((change = change_of(p, d, k, &what)) < 0)
		return 0;
	if (change > 0) {
		if (what == CW_DEV_HEARTBEAT) {
			m.status = "online";
			m.at_ms = d->last_seen_ms;
		} else if (what == CW_DEV_DISCONNECTED) {
			m.at_ms = d->disconnected_at_ms ? d->disconnected_at_ms : ct_now_ms();
			if (m.reason == NULL || m.reason[0] == '\0')
				m.reason = store_dev_status_name(d->status);
		}
		/* A change the transport could not take is not retried: the
		 * next link announces every scale again. */
		(void)c->tp_ops->device(c->tp, &m, d->status == DEV_CONNECTED, what);
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
