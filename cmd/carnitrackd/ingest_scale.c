/*
 * What a scale's parsed packets mean (the parser's callback for each
 * connection): registration and the identity a connection goes by (a
 * registered id, an address mapping, or UNREGISTERED-<ip>), a record turned
 * into an event, a line that does not decode kept in quarantine, heartbeats
 * and OK requests. Closing from here is deferred to the end of the read
 * callback (ingest_conn.c), so the parser never runs on freed memory.
 */
#include "ingest.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include "log/log.h"

#define DUPLICATE_WINDOW_MS (60 * 1000)

/* ---- identity ---- */

/* ---- identity ---- */

static void
dev_attach(struct iw_conn *c, struct iw_device *d)
{
	c->dev = d;
	d->conn = c;
	d->nconns++;
	snprintf(d->address, sizeof(d->address), "%s", c->addr);
	d->last_seen_ms = ct_now_ms();
	if (d->status == IW_DEV_OFFLINE)
		d->connected_since_ms = d->last_seen_ms;
	d->status = IW_DEV_ONLINE;
}

void
iw_dev_detach(struct iw_conn *c, const char *reason, bool announce)
{
	struct iw_device *d = c->dev;

	if (d == NULL)
		return;
	c->dev = NULL;
	if (d->nconns > 0)
		d->nconns--;
	if (d->conn == c)
		d->conn = NULL;
	d->last_seen_ms = ct_now_ms();
	if (d->nconns == 0) {
		d->status = IW_DEV_OFFLINE;
		d->connected_since_ms = 0;
		if (announce)
			iw_device_frame(c->in, CT_DEV_DISCONNECTED, d->id, c, reason);
	}
}

static void
set_identity(struct iw_conn *c, const char *id, enum iw_id_kind kind)
{
	struct iw *in = c->in;
	struct iw_device *d;
	struct iw_conn *old = NULL;
	char why[160];

	if (c->id_kind != IW_ID_NONE && strcmp(c->device_id, id) == 0) {
		if (kind == IW_ID_REGISTERED)
			c->id_kind = kind;
		return;
	}
	if (c->id_kind != IW_ID_NONE) {
		snprintf(why, sizeof(why), "identified as %s", id);
		log_info("scale %s (%s): %s", c->device_id, c->addr, why);
		iw_dev_detach(c, why, true);
	}
	c->id_kind = kind;
	snprintf(c->device_id, sizeof(c->device_id), "%s", id);
	dp401_set_unit(&c->parser, conf_scale_unit(iw_conf(in), id));
	if ((d = iw_device_get(in, id, true)) == NULL) {
		/* Its events still carry the id; only the status row is missing. */
		log_warn("scale %s (%s): device table full, not shown in status", id, c->addr);
		iw_device_frame(in, CT_DEV_CONNECTED, id, c, "");
		return;
	}
	/* Provisional ids are per address and may be shared by several
	 * connections; a real scale id belongs to one connection at a time. */
	if (kind != IW_ID_PROVISIONAL && d->conn != NULL && d->conn != c)
		old = d->conn;
	dev_attach(c, d);
	if (old == NULL) {
		log_info("scale %s connected from %s%s", id, c->addr,
		    kind == IW_ID_MAPPED ? " (address mapping)" :
		    kind == IW_ID_PROVISIONAL ? " (not registered)" : "");
		iw_device_frame(in, CT_DEV_CONNECTED, id, c, "");
		return;
	}
	int64_t now = ct_now_ms_mono();
	if (strcmp(old->ip, c->ip) != 0 && d->supersedes > 0 &&
	    now - d->last_supersede_ms < DUPLICATE_WINDOW_MS) {
		if (!d->duplicate)
			log_warn("duplicate scale id %s: %s and %s keep taking it over (two scales"
			    " configured alike?)", id, old->addr, c->addr);
		d->duplicate = true;
		in->c.duplicates++;
	}
	d->supersedes++;
	d->last_supersede_ms = now;
	in->c.superseded++;
	snprintf(why, sizeof(why), "superseded by a new connection from %s", c->addr);
	if (strcmp(old->ip, c->ip) != 0) {
		/* Not the bridge reconnecting: another address took the id. Allowed
		 * (no [scale] address says otherwise: DHCP moves scales), but said
		 * loudly; what each connection sent keeps its own address. */
		in->c.id_moves++;
		snprintf(d->moved_from, sizeof(d->moved_from), "%s", old->addr);
		d->moved_at_ms = ct_now_ms();
		log_warn("scale %s: id moved from %s to %s: a connection from another address"
		    " registered as %s and takes over (set [scale %s] address to refuse that);"
		    " records keep the address they came from", id, old->addr, c->addr, id, id);
	}
	log_info("scale %s: %s, closing %s", id, why, old->addr);
	/* The scale never left: no disconnect, one SUPERSEDED notice. */
	iw_conn_close(old, why, false);
	iw_device_frame(in, CT_DEV_SUPERSEDED, id, c, why);
}

static bool
same_ip(const char *a, const char *b)
{
	uint8_t x[16], y[16];

	if (inet_pton(AF_INET, a, x) == 1 && inet_pton(AF_INET, b, y) == 1)
		return memcmp(x, y, 4) == 0;
	if (inet_pton(AF_INET6, a, x) == 1 && inet_pton(AF_INET6, b, y) == 1)
		return memcmp(x, y, 16) == 0;
	return strcmp(a, b) == 0;
}

static void identify(struct iw_conn *c);

/*
 * A registration. When [scale SCALE-nn] address is set, the id belongs to
 * that address: a registration from elsewhere is refused (and logged once per
 * connection), and the connection goes on under what its own address says
 * (a mapping, or UNREGISTERED-<ip>), so its data is kept and the real scale
 * keeps its id and connection.
 */
static void
register_scale(struct iw_conn *c, const char *id)
{
	const struct ct_conf *conf = iw_conf(c->in);
	const struct ct_scale_conf *sc = conf != NULL ? conf_scale_by_id(conf, id) : NULL;
	struct iw_device *d;

	if (sc == NULL || sc->address[0] == '\0' || same_ip(sc->address, c->ip)) {
		set_identity(c, id, IW_ID_REGISTERED);
		return;
	}
	c->in->c.registrations_refused++;
	if ((d = iw_device_get(c->in, id, true)) != NULL) {
		d->refused_registrations++;
		snprintf(d->refused_from, sizeof(d->refused_from), "%s", c->addr);
		d->refused_at_ms = ct_now_ms();
	}
	if (!c->refusal_logged) {
		c->refusal_logged = true;
		log_warn("scale %s: registration from %s refused: [scale %s] address is %s; what"
		    " this connection sends is kept under its own address", id, c->addr, id,
		    sc->address);
	}
	identify(c);
}

/* Data before registration: configured address mapping, else provisional. */
static void
identify(struct iw_conn *c)
{
	const struct ct_scale_conf *sc;
	char id[CT_DEVICE_ID_MAX];

	if (c->id_kind != IW_ID_NONE)
		return;
	if ((sc = conf_scale_by_addr(iw_conf(c->in), c->ip)) != NULL) {
		set_identity(c, sc->id, IW_ID_MAPPED);
		return;
	}
	snprintf(id, sizeof(id), "UNREGISTERED-%s", c->ip);
	set_identity(c, id, IW_ID_PROVISIONAL);
}

/* ---- parsed packets ---- */

/* ---- parsed packets ---- */

/* The edge's side of a kept line: id, scale, address, time of arrival. */
static int
stamp(struct iw_conn *c, struct ct_event *ev)
{
	if (ct_uuid_new(ev->local_id) != 0) {
		log_err("scale %s: no random bytes for an event id; closing so the scale keeps"
		    " its data", c->device_id);
		iw_conn_close(c, "internal error", true);
		return -1;
	}
	snprintf(ev->device_id, sizeof(ev->device_id), "%s", c->device_id);
	snprintf(ev->source_ip, sizeof(ev->source_ip), "%s", c->ip);
	ev->received_at_ms = ct_now_ms();
	return 0;
}

/* A few log lines per connection and minute, then silence. */
static bool
may_log(struct iw_conn *c)
{

	if (c->reject_budget <= 0)
		return false;
	if (--c->reject_budget == 0) {
		log_warn("scale %s (%s): more lines quarantined or kept with a bad time; not"
		    " logging them for a minute", c->id_kind != IW_ID_NONE ? c->device_id : "?",
		    c->addr);
		return false;
	}
	return true;
}

static void
on_record(struct iw_conn *c, const struct dp401_item *it)
{
	struct iw *in = c->in;
	struct ct_event ev;

	identify(c);
	if (c->have_last && c->ok_since_last &&
	    dp401_is_confirmation(&c->last, it->ev, DP401_CONFIRM_SKEW_S)) {
		/* The scale repeats what it was just told OK for. */
		c->confirmations_skipped++;
		in->c.confirmations_skipped++;
		c->ok_since_last = false;
		log_debug("scale %s: P\" confirmation of PLU %s not stored again", c->device_id,
		    it->ev->plu);
		return;
	}
	ev = *it->ev;
	if (stamp(c, &ev) != 0)
		return;
	if (ev.edge_flags & CT_EVF_SCALE_TS_INVALID) {
		/* A bad clock, not a bad weighing: kept, timed by the edge. */
		ev.scale_ts = ev.received_at_ms / 1000;
		in->c.invalid_times++;
		if (may_log(c))
			log_warn("scale %s (%s): record with an impossible time \"%s %s\" kept with"
			    " the edge's receive time (PLU %s, net %lld)", c->device_id, c->addr,
			    ev.scale_time_raw, ev.scale_date_raw, ev.plu, (long long)ev.net_raw);
	}
	c->last = ev;
	c->have_last = true;
	c->ok_since_last = false;
	c->records++;
	if (c->dev != NULL)
		iw_device_count_event(c->dev, &ev);
	iw_event(in, c, &ev);
}

/*
 * A record-shaped line that does not decode. The scale deletes what it is
 * told OK for, so it is kept (quarantined: stored, never sent to the cloud)
 * and counted in the OK ledger like a record.
 */
static void
on_rejected(struct iw_conn *c, const struct dp401_item *it)
{
	struct iw *in = c->in;
	struct ct_event ev;
	size_t n = it->line_len < CT_RAW_MAX ? it->line_len : CT_RAW_MAX;
	char shown[96];
	size_t k = 0;

	identify(c);
	memset(&ev, 0, sizeof(ev));
	ev.kind = CT_EV_QUARANTINED;
	if (stamp(c, &ev) != 0)
		return;
	memcpy(ev.raw, it->line, n);
	ev.raw_len = (uint16_t)n;
	ev.line_len = it->line_len > UINT32_MAX ? UINT32_MAX : (uint32_t)it->line_len;
	snprintf(ev.reason, sizeof(ev.reason), "%s%s", it->reason,
	    n < it->line_len ? "; its first bytes kept" : "");
	c->rejected++;
	if (c->dev != NULL)
		c->dev->rejected_lines++;
	if (may_log(c)) {
		for (size_t i = 0; i < it->line_len && k + 4 < sizeof(shown); i++)
			shown[k++] = it->line[i] >= 0x20 &&
			    it->line[i] < 0x7f ? (char)it->line[i] : '?';
		shown[k] = '\0';
		log_warn("scale %s (%s): line quarantined (not a record: %s): \"%s%s\"",
		    c->device_id, c->addr, it->reason, shown, k < it->line_len ? "..." : "");
	}
	iw_event(in, c, &ev);
}

void
iw_scale_item(void *arg, const struct dp401_item *it)
{
	struct iw_conn *c = arg;
	struct iw *in = c->in;
	unsigned due;

	if (c->close_pending)
		return;
	if (it->kind != DP401_REJECTED)
		c->last_valid_mono = ct_now_ms_mono();
	switch (it->kind) {
	case DP401_REGISTER:
		register_scale(c, it->scale_id);
		break;
	case DP401_HEARTBEAT:
		identify(c);
		c->heartbeats++;
		if (c->dev != NULL) {
			c->dev->heartbeats++;
			c->dev->last_heartbeat_ms = ct_now_ms();
		}
		if (c->id_kind != IW_ID_NONE)
			iw_device_frame(in, CT_DEV_HEARTBEAT, c->device_id, c, "");
		break;
	case DP401_ACK_REQUEST:
		if ((due = dp401_ack_request(&c->ack, ct_now_ns_mono())) > 0)
			iw_conn_send_oks(c, due);
		break;
	case DP401_RECORD:
		on_record(c, it);
		break;
	case DP401_REJECTED:
		on_rejected(c, it);
		break;
	}
}
