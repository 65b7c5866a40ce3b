/*
 * What a REST cloud hears besides events and sessions (REST_API.md 4.7-4.9):
 *
 * - the scales, as the outbox tells them (device()): remembered here for
 *   the heartbeat and the session polls; POST /devices/status when one
 *   connects (and for the connected ones when the link comes up) or
 *   disconnects, fire-and-forget, at most REST_DEV_STATUS_MAX outstanding
 *   (beyond: dropped and counted; the next heartbeat carries the state).
 *   Heartbeat packets of a scale go in the heartbeat, not one request each.
 * - POST /heartbeat every heartbeatIntervalMs (/config; 30 s), the next
 *   armed when the previous finished (an interval change applies at the
 *   next one), skipped while the link is down or the edge has no identity;
 *   health is REST_API.md's rule (rest_health) made worse by the outbox's
 *   own (a full store is "degraded").
 * - POST /offline-batches/ack for each part the outbox hands over; its
 *   outcome goes back up: the batch is reconciled on 2xx only (the old
 *   client marked it so even when the ACK failed, REST_API.md 8.8).
 */
#include "cloud_rest.h"

#include <stdlib.h>
#include <string.h>

#include "log/log.h"

struct ackreq {
	uint8_t  id[CT_UUID_LEN];
	unsigned part;
};

/* ------------------------------------------------------------ scales */

static struct rest_dev *
dev_get(struct cw_tp *t, const char *id, bool *created)
{
	struct rest_dev *k;

	*created = false;
	for (int i = 0; i < t->ndevs; i++)
		if (strcmp(t->devs[i].id, id) == 0)
			return &t->devs[i];
	if (t->ndevs >= REST_DEV_MAX)
		return NULL;
	k = &t->devs[t->ndevs++];
	memset(k, 0, sizeof(*k));
	snprintf(k->id, sizeof(k->id), "%s", id);
	*created = true;
	return k;
}

static void
status_done(struct cw_tp *t, const struct http_result *r, enum rest_verdict v, void *arg)
{
	t->dev_status_out--;
}

static int
post_status(struct cw_tp *t, const struct cm_device *d, enum rest_dev_kind kind)
{
	struct rest_device_status s = { .kind = kind, .dev = *d };
	size_t len;
	char *body;
	int rc;

	if (t->link != CW_UP || t->id->edge_id[0] == '\0')
		return 0;                /* only while online (REST_API.md 4.9) */
	if (t->dev_status_out >= REST_DEV_STATUS_MAX) {
		t->dev_status_dropped++;
		return -1;
	}
	if ((body = rest_device_status_body(&s, &len)) == NULL)
		return -1;
	rc = rest_send(t, REST_DEVICE_STATUS, NULL, body, len, 0, NULL, status_done, NULL);
	free(body);
	if (rc != 0) {
		t->dev_status_dropped++;
		return -1;
	}
	t->dev_status_out++;
	t->dev_status_sent++;
	return 0;
}

int
rest_device(struct cw_tp *t, const struct cm_device *d, bool connected, enum cw_dev_change what)
{
	bool created;
	struct rest_dev *k = dev_get(t, d->device_id, &created);

	if (k != NULL) {
		if (d->global_device_id != NULL)
			snprintf(k->gid, sizeof(k->gid), "%s", d->global_device_id);
		if (d->device_type != NULL)
			snprintf(k->type, sizeof(k->type), "%s", d->device_type);
		k->connected = connected;
		if (what == CW_DEV_HEARTBEAT && d->at_ms > 0)
			k->last_hb_ms = d->at_ms;
		else if (what == CW_DEV_CONNECTED || (what == CW_DEV_ANNOUNCE && connected))
			k->last_hb_ms = ct_now_ms();
	}
	/* a scale that connects, or one not polled for yet, has its session
	 * asked for at once (REST_API.md 4.4) */
	if (what == CW_DEV_CONNECTED || (created && what != CW_DEV_ANNOUNCE))
		rest_poll_soon(t);
	switch (what) {
	case CW_DEV_ANNOUNCE:
		return connected ? post_status(t, d, REST_DEV_ONLINE) : 0;
	case CW_DEV_CONNECTED:
		return post_status(t, d, REST_DEV_ONLINE);
	case CW_DEV_HEARTBEAT:
		return 0;
	case CW_DEV_DISCONNECTED:
		return post_status(t, d, REST_DEV_DISCONNECTED);
	}
	return -1;
}

/* ------------------------------------------------------------ heartbeat */

static void
hb_done(struct cw_tp *t, const struct http_result *r, enum rest_verdict v, void *arg)
{
	t->hb_inflight = false;
	if (v == REST_V_OK)
		t->heartbeats++;
	else
		t->hb_failures++;
	if (t->link == CW_UP && !evtimer_pending(t->ev_hb, NULL))
		ct_timer_add_ms(t->ev_hb, t->heartbeat_ms);
}

static void
hb_cb(evutil_socket_t fd, short what, void *arg)
{
	struct cw_tp *t = arg;
	struct rest_hb_device *dv;
	struct rest_heartbeat h = { .version = NULL };
	struct cm_status cs;
	size_t disconnected = 0, len;
	char *body;
	int rc;

	if (t->hb_inflight || t->link != CW_UP || t->id->edge_id[0] == '\0')
		return;              /* the link's coming up arms it again */
	if ((dv = calloc((size_t)t->ndevs + 1, sizeof(*dv))) == NULL) {
		ct_timer_add_ms(t->ev_hb, t->heartbeat_ms);
		return;
	}
	for (int i = 0; i < t->ndevs; i++) {
		const struct rest_dev *k = &t->devs[i];
		dv[i] = (struct rest_hb_device){ .device_id = k->id, .global_device_id = k->gid,
		    .device_type = k->type[0] ? k->type : "disassembly",
		    .status = k->connected ? "online" : "disconnected",
		    .last_heartbeat_ms = k->last_hb_ms };
		disconnected += !k->connected;
	}
	t->up->health(t->arg, &cs);
	h.uptime_s = cs.uptime_s;
	h.health = rest_health(true, (size_t)t->ndevs, disconnected, 0);
	if (strcmp(h.health, "ok") == 0 && strcmp(cs.health, "ok") != 0)
		h.health = "degraded";
	h.devices = dv;
	h.ndevices = (size_t)t->ndevs;
	body = rest_heartbeat_body(&h, &len);
	free(dv);
	rc = body != NULL ? rest_send(t, REST_HEARTBEAT, NULL, body, len, 0, NULL, hb_done,
	    NULL) : -1;
	free(body);
	if (rc != 0) {
		t->hb_failures++;
		ct_timer_add_ms(t->ev_hb, t->heartbeat_ms);
		return;
	}
	t->hb_inflight = true;
}

/* ------------------------------------------------------------ ACKs */

static void
ack_done(struct cw_tp *t, const struct http_result *r, enum rest_verdict v, void *arg)
{
	struct ackreq *q = arg;
	bool ok = v == REST_V_OK;

	if (ok)
		t->acks_sent++;
	else
		t->acks_failed++;
	t->up->batch_acked(t->arg, q->id, q->part, ok);
	free(q);
}

int
rest_batch_ack(struct cw_tp *t, const struct cw_batch_ack *a)
{
	struct rest_batch_ack b = { .batch = a->batch, .event_ids = a->ids, .nevents = a->nids,
	    .part = a->part, .parts = a->parts };
	struct ackreq *q;
	size_t len;
	char *body;
	int rc;

	if (t->link != CW_UP || t->id->edge_id[0] == '\0')
		return -1;
	if ((q = malloc(sizeof(*q))) == NULL)
		return -1;
	memcpy(q->id, a->batch.batch_id, CT_UUID_LEN);
	q->part = a->part;
	if ((body = rest_batch_ack_body(&b, &len)) == NULL) {
		free(q);
		return -1;
	}
	rc = rest_send(t, REST_BATCH_ACK, NULL, body, len, REST_F_OWNS_ARG, NULL, ack_done, q);
	free(body);
	if (rc != 0)
		free(q);
	return rc;
}

/* ------------------------------------------------------------ life */

int
rest_health_init(struct cw_tp *t)
{
	t->ev_hb = evtimer_new(t->base, hb_cb, t);
	return t->ev_hb != NULL ? 0 : -1;
}

void
rest_health_free(struct cw_tp *t)
{
	if (t->ev_hb != NULL)
		event_free(t->ev_hb);
	t->ev_hb = NULL;
}
