/*
 * The scale port: the listener, one object per scale connection, what each
 * parsed packet means for identity and liveness, and closing. Events leave
 * through iw_event() (ingest_worker.c); OKs come back via
 * iw_conn_send_oks().
 *
 * A connection is freed only outside its own read callback: closing from
 * inside the parser's callbacks marks it and the read callback finishes the
 * job, so the parser never runs on freed memory.
 */
#include "ingest.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>

#include "log/log.h"

#define REJECT_LOG_BUDGET 10          /* rejected-line log lines per conn per minute */
#define DUPLICATE_WINDOW_MS (60 * 1000)

/* A few log lines per reason and window, then silence: a flood of refused
 * connections must not become a flood of syslog. */
static bool
log_allowed(struct log_limit *l)
{
	int64_t now = ct_now_ms_mono();

	if (now - l->window_ms > 10000) {
		l->window_ms = now;
		l->n = 0;
	}
	return l->n++ < 10;
}

struct conn_ext {
	bool     in_callback;
	bool     close_pending, close_announce;
	char     close_reason[128];
	int      reject_budget;
	bool     refusal_logged;      /* a refused registration, once per connection */
	/* Any byte keeps a scale alive (DP401.md), but a peer that trickles
	 * bytes forming no packet would hold its slot forever: it must send
	 * one valid packet per close_after heartbeat periods. */
	int64_t  last_valid_mono;
};

/* Extension kept next to each conn (ingest.h keeps the shared part small). */
struct conn_full {
	struct iw_conn     c;
	struct conn_ext x;
};

static struct conn_ext *
ext(struct iw_conn *c)
{
	return &((struct conn_full *)c)->x;
}

static void really_close(struct iw_conn *c, const char *reason, bool announce);

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

static void
dev_detach(struct iw_conn *c, const char *reason, bool announce)
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
		dev_detach(c, why, true);
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
	if (!ext(c)->refusal_logged) {
		ext(c)->refusal_logged = true;
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
	struct conn_ext *x = ext(c);

	if (x->reject_budget <= 0)
		return false;
	if (--x->reject_budget == 0) {
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
		iw_device_count_event(c->dev, ev.received_at_ms / 1000);
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
			shown[k++] = it->line[i] >= 0x20 && it->line[i] < 0x7f ? (char)it->line[i] : '?';
		shown[k] = '\0';
		log_warn("scale %s (%s): line quarantined (not a record: %s): \"%s%s\"",
		    c->device_id, c->addr, it->reason, shown, k < it->line_len ? "..." : "");
	}
	iw_event(in, c, &ev);
}

static void
on_item(void *arg, const struct dp401_item *it)
{
	struct iw_conn *c = arg;
	struct iw *in = c->in;
	unsigned due;

	if (ext(c)->close_pending)
		return;
	if (it->kind != DP401_REJECTED)
		ext(c)->last_valid_mono = ct_now_ms_mono();
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
		if ((due = dp401_ack_request(&c->ack)) > 0)
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

/* ---- socket callbacks ---- */

static void
mark_alive(struct iw_conn *c)
{
	c->last_rx_mono = ct_now_ms_mono();
	if (c->stale) {
		c->stale = false;
		if (c->dev != NULL && c->dev->conn == c) {
			c->dev->status = IW_DEV_ONLINE;
			iw_device_frame(c->in, CT_DEV_HEARTBEAT, c->device_id, c, "alive again");
		}
	}
}

/* Caller sets in_callback: the parser's callbacks may ask to close. */
static void
drain_input(struct iw_conn *c)
{
	struct evbuffer *inb = bufferevent_get_input(c->bev);
	uint8_t buf[IW_READ_MAX];
	int n;

	while (!ext(c)->close_pending && (n = evbuffer_remove(inb, buf, sizeof(buf))) > 0) {
		mark_alive(c);
		if (c->dev != NULL)
			c->dev->last_seen_ms = ct_now_ms();
		dp401_feed(&c->parser, buf, (size_t)n);
	}
}

static void
read_cb(struct bufferevent *bev, void *arg)
{
	struct iw_conn *c = arg;
	struct conn_ext *x = ext(c);

	(void)bev;
	x->in_callback = true;
	drain_input(c);
	x->in_callback = false;
	if (x->close_pending)
		really_close(c, x->close_reason, x->close_announce);
}

static void
event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct iw_conn *c = arg;
	struct conn_ext *x = ext(c);
	char reason[128];

	(void)bev;
	if (!(what & (BEV_EVENT_EOF | BEV_EVENT_ERROR)))
		return;
	if (what & BEV_EVENT_EOF) {
		snprintf(reason, sizeof(reason), "closed by the scale");
		x->in_callback = true;
		drain_input(c);
		/* A record missing only its line end is still the scale's data. */
		if (!x->close_pending)
			dp401_finish(&c->parser);
		x->in_callback = false;
	} else {
		snprintf(reason, sizeof(reason), "connection error: %s",
		    evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()));
	}
	if (x->close_pending)
		really_close(c, x->close_reason, x->close_announce);
	else
		really_close(c, reason, true);
}

void
iw_conn_send_oks(struct iw_conn *c, unsigned n)
{
	struct evbuffer *out;

	if (c->bev == NULL || ext(c)->close_pending)
		return;
	out = bufferevent_get_output(c->bev);
	for (unsigned i = 0; i < n; i++)
		if (evbuffer_add(out, DP401_OK_REPLY, 3) != 0) {
			iw_conn_close(c, "out of memory queueing OK", true);
			return;
		}
	c->ok_since_last = true;
	c->in->c.oks_sent += n;
	if (evbuffer_get_length(out) > IW_OUT_MAX)
		iw_conn_close(c, "scale does not read its OKs", true);
}

static void
really_close(struct iw_conn *c, const char *reason, bool announce)
{
	struct iw *in = c->in;
	struct iw_qev *e;

	/* Its unconfirmed events stay queued: received data is stored even
	 * if the scale never hears the OK. */
	while ((e = TAILQ_FIRST(&c->evs)) != NULL) {
		TAILQ_REMOVE(&c->evs, e, of_conn);
		e->conn = NULL;
	}
	if (c->id_kind != IW_ID_NONE || c->records > 0)
		log_info("scale %s (%s) %s: %s", c->id_kind != IW_ID_NONE ? c->device_id : "?",
		    c->addr, announce ? "disconnected" : "connection closed", reason);
	else
		log_debug("connection %s closed: %s", c->addr, reason);
	dev_detach(c, reason, announce);
	in->c.rejected_lines += c->parser.cnt.rejected_lines;
	in->c.overflow_lines += c->parser.cnt.overflow_lines;
	in->c.split_lines += c->parser.cnt.split_lines;
	in->c.discarded_bytes += c->parser.cnt.discarded_bytes;
	in->c.inner_heartbeats += c->parser.cnt.inner_heartbeats;
	in->c.garbage_bytes += c->parser.cnt.garbage_bytes;
	in->c.heartbeats += c->parser.cnt.heartbeats;
	in->c.registrations += c->parser.cnt.registrations;
	in->c.ack_requests += c->parser.cnt.ack_requests;
	if (c->bev != NULL)
		bufferevent_free(c->bev);
	c->bev = NULL;
	TAILQ_REMOVE(&in->conns, c, link);
	in->nconns--;
	free((struct conn_full *)c);
}

void
iw_conn_close(struct iw_conn *c, const char *reason, bool announce)
{
	struct conn_ext *x = ext(c);

	if (x->close_pending)
		return;
	if (x->in_callback) {
		x->close_pending = true;
		x->close_announce = announce;
		snprintf(x->close_reason, sizeof(x->close_reason), "%s", reason);
		if (c->bev != NULL)
			bufferevent_disable(c->bev, EV_READ);
		return;
	}
	really_close(c, reason, announce);
}

/* ---- accepting ---- */

/* IPv4 clients of a dual-stack socket come as ::ffff:a.b.c.d; the edge
 * speaks of them (ids, address mapping, logs) as a.b.c.d. */
static void
unmap_v4(struct sockaddr_storage *ss, socklen_t *len)
{
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;
	struct sockaddr_in s4;

	if (ss->ss_family != AF_INET6 || !IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr))
		return;
	memset(&s4, 0, sizeof(s4));
	s4.sin_family = AF_INET;
	s4.sin_port = s6->sin6_port;
	memcpy(&s4.sin_addr, &s6->sin6_addr.s6_addr[12], 4);
	memcpy(ss, &s4, sizeof(s4));
	*len = sizeof(s4);
}

static void
addr_text(const struct sockaddr_storage *ss, char *ip, size_t iplen, char *addr, size_t alen)
{
	unsigned port = 0;

	ip[0] = '\0';
	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *s4 = (const struct sockaddr_in *)ss;
		inet_ntop(AF_INET, &s4->sin_addr, ip, (socklen_t)iplen);
		port = ntohs(s4->sin_port);
		snprintf(addr, alen, "%s:%u", ip, port);
	} else if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)ss;
		inet_ntop(AF_INET6, &s6->sin6_addr, ip, (socklen_t)iplen);
		port = ntohs(s6->sin6_port);
		snprintf(addr, alen, "[%s]:%u", ip, port);
	} else {
		snprintf(ip, iplen, "?");
		snprintf(addr, alen, "?");
	}
}

static int
count_from(struct iw *in, const char *ip)
{
	struct iw_conn *c;
	int n = 0;

	TAILQ_FOREACH(c, &in->conns, link)
		if (strcmp(c->ip, ip) == 0)
			n++;
	return n;
}

static void
accept_cb(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa, int salen,
    void *arg)
{
	struct iw *in = arg;
	const struct ct_conf *conf = iw_conf(in);
	struct sockaddr_storage ss;
	socklen_t len = (socklen_t)salen;
	char ip[CT_IP_MAX], addr[CT_IP_MAX + 8];
	struct conn_full *cf;
	struct iw_conn *c;

	(void)l;
	memset(&ss, 0, sizeof(ss));
	memcpy(&ss, sa, len < sizeof(ss) ? len : sizeof(ss));
	unmap_v4(&ss, &len);
	addr_text(&ss, ip, sizeof(ip), addr, sizeof(addr));
	if (in->stopping || conf == NULL) {
		close(fd);
		return;
	}
	if (!conf_allowed(conf, (struct sockaddr *)&ss)) {
		in->c.refused_allow++;
		if (log_allowed(&in->ll_refused))
			log_warn("connection from %s refused: not in [scales] allow", addr);
		close(fd);
		return;
	}
	if (in->nconns >= conf->max_connections) {
		in->c.refused_full++;
		if (log_allowed(&in->ll_refused))
			log_warn("connection from %s refused: max_connections (%d) reached", addr,
			    conf->max_connections);
		close(fd);
		return;
	}
	if (conf->max_per_ip > 0 && count_from(in, ip) >= conf->max_per_ip) {
		in->c.refused_per_ip++;
		if (log_allowed(&in->ll_refused))
			log_warn("connection from %s refused: max_per_ip (%d) reached", addr,
			    conf->max_per_ip);
		close(fd);
		return;
	}
	if ((cf = calloc(1, sizeof(*cf))) == NULL) {
		log_err("out of memory accepting %s", addr);
		close(fd);
		return;
	}
	c = &cf->c;
	c->in = in;
	memcpy(&c->sa, &ss, sizeof(ss));
	snprintf(c->ip, sizeof(c->ip), "%s", ip);
	snprintf(c->addr, sizeof(c->addr), "%s", addr);
	c->since_ms = ct_now_ms();
	c->last_rx_mono = ct_now_ms_mono();
	TAILQ_INIT(&c->evs);
	cf->x.reject_budget = REJECT_LOG_BUDGET;
	cf->x.last_valid_mono = c->last_rx_mono;
	dp401_init(&c->parser, conf->weight_unit_grams, on_item, c);
	dp401_ack_init(&c->ack);
	if ((c->bev = bufferevent_socket_new(in->base, fd, BEV_OPT_CLOSE_ON_FREE)) == NULL) {
		log_err("cannot set up connection from %s", addr);
		close(fd);
		free(cf);
		return;
	}
	bufferevent_setcb(c->bev, read_cb, NULL, event_cb, c);
	/* One read is at most IW_READ_MAX: bounds what a paused
	 * connection still hands over, and keeps one scale from hogging. */
	bufferevent_setwatermark(c->bev, EV_READ, 0, IW_READ_MAX);
	bufferevent_enable(c->bev, in->paused ? EV_WRITE : EV_READ | EV_WRITE);
	TAILQ_INSERT_TAIL(&in->conns, c, link);
	in->nconns++;
	in->c.accepted++;
	log_debug("connection from %s", addr);
}

static void
accept_retry_cb(evutil_socket_t fd, short what, void *arg)
{
	struct iw *in = arg;

	(void)fd;
	(void)what;
	if (in->listener != NULL && !in->stopping)
		evconnlistener_enable(in->listener);
}

static void
accept_error_cb(struct evconnlistener *l, void *arg)
{
	struct iw *in = arg;
	int err = EVUTIL_SOCKET_ERROR();
	struct timeval tv = { 1, 0 };

	/* Out of fds: back off for a second instead of spinning on accept. */
	if (log_allowed(&in->ll_accept_err))
		log_warn("accept on %s: %s; pausing accept for 1 s", in->listen,
		    evutil_socket_error_to_string(err));
	evconnlistener_disable(l);
	evtimer_add(in->accept_retry_ev, &tv);
}

/* "host:port", "[v6]:port" or ":port" (all addresses, IPv4 and IPv6). */
static int
parse_listen(const char *s, struct sockaddr_storage *ss, socklen_t *len, bool *dual)
{
	const char *colon = strrchr(s, ':');
	char host[64], *end;
	long port;

	memset(ss, 0, sizeof(*ss));
	*dual = false;
	if (colon == NULL || (size_t)(colon - s) >= sizeof(host))
		return -1;
	errno = 0;
	port = strtol(colon + 1, &end, 10);
	if (*end != '\0' || end == colon + 1 || errno != 0 || port < 1 || port > 65535)
		return -1;
	memcpy(host, s, (size_t)(colon - s));
	host[colon - s] = '\0';
	if (host[0] == '\0' || host[0] == '[') {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;
		size_t n = strlen(host);
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((uint16_t)port);
		if (n == 0) {
			s6->sin6_addr = in6addr_any;
		} else {
			if (n < 3 || host[n - 1] != ']')
				return -1;
			host[n - 1] = '\0';
			if (inet_pton(AF_INET6, host + 1, &s6->sin6_addr) != 1)
				return -1;
		}
		*dual = IN6_IS_ADDR_UNSPECIFIED(&s6->sin6_addr);
		*len = sizeof(*s6);
		return 0;
	}
	struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
	s4->sin_family = AF_INET;
	s4->sin_port = htons((uint16_t)port);
	if (inet_pton(AF_INET, host, &s4->sin_addr) != 1)
		return -1;
	*len = sizeof(*s4);
	return 0;
}

int
iw_listen(struct iw *in, const char *where, char *err, size_t errlen)
{
	struct sockaddr_storage ss;
	socklen_t len;
	bool dual;
	int fd, one = 1, zero = 0;
	struct evconnlistener *l;

	if (parse_listen(where, &ss, &len, &dual) != 0) {
		snprintf(err, errlen, "listen = %s: not host:port", where);
		return -1;
	}
	if ((fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)) < 0) {
		snprintf(err, errlen, "socket for %s: %s", where, strerror(errno));
		return -1;
	}
	/* [::] serves IPv4 too, whatever net.ipv6.bindv6only says. A deep
	 * backlog: after an edge restart every bridge reconnects at once, and
	 * an overflowed queue costs each of them seconds of SYN-ACK backoff. */
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
	    (dual && setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero)) != 0)) {
		snprintf(err, errlen, "listen on %s: %s", where, strerror(errno));
		close(fd);
		return -1;
	}
	int rc = bind(fd, (struct sockaddr *)&ss, len);
	if (rc != 0 && errno == EADDRINUSE && in->listener != NULL) {
		/* A reload moving between addresses of the same port: the old
		 * socket holds it. Let go of it, and take it back on failure. */
		char old[sizeof(in->listen)];
		snprintf(old, sizeof(old), "%s", in->listen);
		iw_listen_close(in);
		rc = bind(fd, (struct sockaddr *)&ss, len);
		if (rc != 0) {
			int saved = errno;
			char err2[256];
			close(fd);
			if (iw_listen(in, old, err2, sizeof(err2)) != 0)
				log_err("cannot listen on the old address again: %s", err2);
			snprintf(err, errlen, "listen on %s: %s", where, strerror(saved));
			return -1;
		}
	}
	if (rc != 0 || listen(fd, 1024) != 0) {
		snprintf(err, errlen, "listen on %s: %s", where, strerror(errno));
		close(fd);
		return -1;
	}
	/* Backlog 0: listen() is done; -1 would make libevent redo it with 128. */
	if ((l = evconnlistener_new(in->base, accept_cb, in, LEV_OPT_CLOSE_ON_FREE, 0, fd)) == NULL) {
		snprintf(err, errlen, "listen on %s: cannot set up the listener", where);
		close(fd);
		return -1;
	}
	evconnlistener_set_error_cb(l, accept_error_cb);
	if (in->accept_retry_ev == NULL &&
	    (in->accept_retry_ev = evtimer_new(in->base, accept_retry_cb, in)) == NULL) {
		evconnlistener_free(l);
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	iw_listen_close(in);
	in->listener = l;
	snprintf(in->listen, sizeof(in->listen), "%s", where);
	log_info("listening for scales on %s", where);
	return 0;
}

void
iw_listen_close(struct iw *in)
{
	if (in->listener != NULL) {
		evconnlistener_free(in->listener);
		in->listener = NULL;
	}
}

void
iw_set_paused(struct iw *in, bool paused)
{
	struct iw_conn *c;
	int64_t now = ct_now_ms_mono();

	if (in->paused == paused)
		return;
	in->paused = paused;
	TAILQ_FOREACH(c, &in->conns, link) {
		if (c->bev == NULL || ext(c)->close_pending)
			continue;
		if (paused) {
			bufferevent_disable(c->bev, EV_READ);
		} else {
			/* Their silence was ours: do not count it against them. */
			c->last_rx_mono = now;
			bufferevent_enable(c->bev, EV_READ);
		}
	}
}

void
iw_liveness(struct iw *in)
{
	const struct ct_conf *conf = iw_conf(in);
	int64_t now = ct_now_ms_mono(), hb, stale_ms, close_ms;
	struct iw_conn *c, *next;
	char why[128];

	if (conf == NULL)
		return;
	hb = (int64_t)conf->heartbeat_interval * 1000;
	stale_ms = hb * conf->stale_after;
	close_ms = hb * conf->close_after;
	bool new_minute = now - in->budget_reset_ms >= 60000;
	if (new_minute)
		in->budget_reset_ms = now;
	for (c = TAILQ_FIRST(&in->conns); c != NULL; c = next) {
		next = TAILQ_NEXT(c, link);
		struct conn_ext *x = ext(c);
		if (new_minute)
			x->reject_budget = REJECT_LOG_BUDGET;
		if (in->paused || x->close_pending)
			continue;
		int64_t idle = now - c->last_rx_mono;
		int64_t invalid = now - x->last_valid_mono;
		if (idle >= close_ms) {
			snprintf(why, sizeof(why), "nothing received for %lld s",
			    (long long)(idle / 1000));
			in->c.closed_idle++;
			iw_conn_close(c, why, true);
		} else if (invalid >= close_ms) {
			snprintf(why, sizeof(why), "no valid DP-401 packet for %lld s, only garbage",
			    (long long)(invalid / 1000));
			if (c->id_kind == IW_ID_NONE)   /* registered ones are logged by iw_conn_close */
				log_info("connection %s closed: %s", c->addr, why);
			in->c.closed_idle++;
			iw_conn_close(c, why, true);
		} else if (idle >= stale_ms && !c->stale) {
			c->stale = true;
			if (c->dev != NULL && c->dev->conn == c) {
				c->dev->status = IW_DEV_STALE;
				log_info("scale %s (%s) stale: nothing received for %lld s",
				    c->device_id, c->addr, (long long)(idle / 1000));
				iw_device_frame(in, CT_DEV_STALE, c->device_id, c, "heartbeats missed");
			}
		}
	}
}

void
iw_conn_apply_config(struct iw *in, const struct ct_conf *conf)
{
	struct iw_conn *c, *next;

	for (c = TAILQ_FIRST(&in->conns); c != NULL; c = next) {
		next = TAILQ_NEXT(c, link);
		if (!conf_allowed(conf, (struct sockaddr *)&c->sa)) {
			iw_conn_close(c, "no longer in [scales] allow", true);
			continue;
		}
		if (c->id_kind != IW_ID_NONE)
			dp401_set_unit(&c->parser, conf_scale_unit(conf, c->device_id));
		else
			dp401_set_unit(&c->parser, conf->weight_unit_grams);
	}
}

void
iw_conn_close_all(struct iw *in, const char *reason)
{
	struct iw_conn *c;

	while ((c = TAILQ_FIRST(&in->conns)) != NULL)
		really_close(c, reason, true);
}

void
iw_conn_counters(struct iw *in, struct dp401_counters *sum)
{
	struct iw_conn *c;

	memset(sum, 0, sizeof(*sum));
	TAILQ_FOREACH(c, &in->conns, link) {
		sum->rejected_lines += c->parser.cnt.rejected_lines;
		sum->overflow_lines += c->parser.cnt.overflow_lines;
		sum->split_lines += c->parser.cnt.split_lines;
		sum->discarded_bytes += c->parser.cnt.discarded_bytes;
		sum->inner_heartbeats += c->parser.cnt.inner_heartbeats;
		sum->garbage_bytes += c->parser.cnt.garbage_bytes;
		sum->heartbeats += c->parser.cnt.heartbeats;
		sum->registrations += c->parser.cnt.registrations;
		sum->ack_requests += c->parser.cnt.ack_requests;
	}
}
