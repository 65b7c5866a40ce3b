/*
 * One simulated scale: its TCP connection and the state machine of what a
 * DP-401 bridge sends. All transitions go through the functions below; the
 * state names say what the scale is waiting for.
 *
 * Records identify themselves so tests can match them exactly:
 *   barcode = 2-digit scale id + 10-digit record number (12 digits)
 *   net     = scale id * 1,000,000 + record number % 1,000,000
 *   tare    = 1000, gross = net + tare, PLU = 1 + (record number - 1) % 50
 */
#include "sim.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>

#include "dp401/dp401.h"

#define RETRY_MS      200
#define DRAIN_MS      3000
#define PUMP_HIGH     (64 * 1024)   /* flat-out mode: keep this much queued */
#define TICK_BACKLOG  (1024 * 1024) /* paced mode: skip ticks beyond this */

enum scale_state {
	ST_IDLE = 0,        /* not started */
	ST_CONNECTING,
	ST_SENDING,         /* records going out (paced or flat out) */
	ST_AWAIT_OK,        /* controlled: record + prompt sent */
	ST_AWAIT_FINAL_OK,  /* --wait-ok: final prompt sent */
	ST_DRAINING,        /* our side shut down, waiting for the edge's EOF */
	ST_RETRY,           /* waiting to reconnect */
	ST_DONE,
};

struct scale {
	struct sim         *sim;
	int                 index, id;
	char                name[16];
	enum scale_state    state;
	struct bufferevent *bev;
	struct event       *hb_ev, *send_ev, *retry_ev, *drain_ev;
	long                seq;           /* records sent so far */
	bool                stopping;
	bool                rec_pending;   /* controlled: last record not yet OK'd */
	bool                final_prompt;  /* --wait-ok: final prompt not yet answered */
	bool                final_ok;
	bool                up;            /* connected (counted in totals) */
	char                rec[CT_RAW_MAX];
	size_t              rec_len;
	char                barcode[16];
	int                 ok_match;      /* bytes of "OK\n" matched so far */
};

static void next_step(struct scale *s);
static void connect_now(struct scale *s);

static void
vlog(struct scale *s, const char *what)
{
	if (s->sim->o.verbose)
		fprintf(stderr, "dp401-sim: %s: %s\n", s->name, what);
}

static void
put(struct scale *s, const void *p, size_t n)
{
	if (s->bev != NULL && bufferevent_write(s->bev, p, n) != 0)
		fprintf(stderr, "dp401-sim: %s: write failed\n", s->name);
}

static void
put_str(struct scale *s, const char *str)
{
	put(s, str, strlen(str));
}

/* Stray bytes that can start no packet (no digits, P, S, H, K, CR, LF): a
 * bridge's noise must cost the edge nothing but a counter. */
static void
put_garbage(struct scale *s)
{
	static const char junk[] = "\x01\x7f#~!xyz\xff";
	char g[3];
	int n = 1 + rand() % 3;

	for (int i = 0; i < n; i++)
		g[i] = junk[rand() % (int)(sizeof(junk) - 1)];
	put(s, g, (size_t)n);
}

static void
build_record(struct scale *s, long no)
{
	const struct sim_opts *o = &s->sim->o;
	time_t now = time(NULL);
	struct tm tm;
	int64_t net = (int64_t)s->id * 1000000 + no % 1000000;

	localtime_r(&now, &tm);
	snprintf(s->barcode, sizeof(s->barcode), "%02d%010ld", s->id % 100, no % 10000000000L);
	struct dp401_fmt f = {
		.plu = 1 + (unsigned)((no - 1) % 50),
		.hh = tm.tm_hour, .mi = tm.tm_min, .ss = tm.tm_sec,
		.dd = tm.tm_mday, .mo = tm.tm_mon + 1, .yyyy = tm.tm_year + 1900,
		/* Windows-1254: Ç C7, Ğ D0, İ DD, Ö D6, Ş DE, Ü DC */
		.product = o->turkish ? "\xC7\xD0 \xDD\xD6\xDE\xDC" : "KIYMA",
		.barcode = s->barcode, .code = "0000",
		.operator_name = o->turkish ? "\xDE\xDCKR\xDC \xC7\x41\xD0" : "KAAN",
		.gross = net + 1000, .tare = 1000, .net = net,
		.flags = "2021N",
		.company = o->turkish ? "\xDDZM\xDDR \xD6Z ET A.\xDE." : "KORKUT KAAN BALTA",
	};
	s->rec_len = dp401_format_record(&f, s->rec, sizeof(s->rec));
	s->sim->t.net_total_g += net * o->unit;
}

static void
send_record(struct scale *s)
{
	if (s->sim->o.garbage)
		put_garbage(s);
	put(s, s->rec, s->rec_len);
	put_str(s, "\r\n");
}

static void
send_new_record(struct scale *s)
{
	s->seq++;
	build_record(s, s->seq);
	send_record(s);
	s->sim->t.sent++;
}

static bool
all_sent(const struct scale *s)
{
	return s->sim->o.records > 0 && s->seq >= s->sim->o.records;
}

static void
drop_bev(struct scale *s)
{
	if (s->bev != NULL) {
		bufferevent_free(s->bev);
		s->bev = NULL;
	}
	if (s->up) {
		s->up = false;
		s->sim->t.connected--;
	}
}

static void
finish(struct scale *s, bool ok)
{
	if (s->state == ST_DONE)
		return;
	drop_bev(s);
	evtimer_del(s->hb_ev);
	evtimer_del(s->send_ev);
	evtimer_del(s->retry_ev);
	evtimer_del(s->drain_ev);
	s->state = ST_DONE;
	vlog(s, ok ? "done" : "failed");
	sim_scale_finished(s->sim, s, ok);
}

static bool
succeeded(const struct scale *s)
{
	const struct sim_opts *o = &s->sim->o;

	if (o->idle)
		return true;
	if (o->records > 0 && s->seq < o->records)
		return false;
	return !s->rec_pending && (!o->wait_ok || s->final_ok);
}

static void
start_drain(struct scale *s)
{
	struct timeval tv = { DRAIN_MS / 1000, (DRAIN_MS % 1000) * 1000 };

	s->state = ST_DRAINING;
	evtimer_del(s->hb_ev);
	evtimer_del(s->send_ev);
	evtimer_add(s->drain_ev, &tv);
	/* Half-close once everything is written: the edge sees EOF, reads the
	 * rest, and closes; closing outright could reset unread data. */
	if (evbuffer_get_length(bufferevent_get_output(s->bev)) == 0)
		shutdown(bufferevent_getfd(s->bev), SHUT_WR);
}

static void
wind_up(struct scale *s)
{
	if (s->sim->o.wait_ok && !s->sim->o.idle) {
		s->state = ST_AWAIT_FINAL_OK;
		s->final_prompt = true;
		put_str(s, DP401_ACK_TOKEN);
		vlog(s, "final prompt sent");
		return;
	}
	start_drain(s);
}

static void
send_tick(evutil_socket_t fd, short what, void *arg)
{
	struct scale *s = arg;
	const struct sim_opts *o = &s->sim->o;

	(void)fd;
	(void)what;
	if (s->bev == NULL)
		return;
	if (o->controlled) {
		if (s->stopping || all_sent(s)) {
			wind_up(s);
			return;
		}
		send_new_record(s);
		put_str(s, DP401_ACK_TOKEN);
		s->rec_pending = true;
		s->state = ST_AWAIT_OK;
		return;
	}
	if (o->rate > 0) {
		if (evbuffer_get_length(bufferevent_get_output(s->bev)) < TICK_BACKLOG)
			send_new_record(s);
	} else {
		while (!all_sent(s) && !s->stopping &&
		    evbuffer_get_length(bufferevent_get_output(s->bev)) < PUMP_HIGH)
			send_new_record(s);
	}
	if (s->stopping || all_sent(s)) {
		evtimer_del(s->send_ev);
		wind_up(s);
	}
}

static struct timeval
interval(double sec)
{
	struct timeval tv;

	tv.tv_sec = (time_t)sec;
	tv.tv_usec = (suseconds_t)((sec - (double)tv.tv_sec) * 1e6);
	return tv;
}

/* Decides what the scale does next from its state and progress. */
static void
next_step(struct scale *s)
{
	const struct sim_opts *o = &s->sim->o;
	struct timeval tv = { 0, 0 };

	if (o->idle) {
		s->state = ST_SENDING;    /* connected, silent */
		if (s->stopping)
			finish(s, true);
		return;
	}
	if (s->stopping || all_sent(s)) {
		wind_up(s);
		return;
	}
	s->state = ST_SENDING;
	if (o->controlled) {
		if (o->rate > 0)
			tv = interval(1.0 / o->rate);
		event_del(s->send_ev);
		event_assign(s->send_ev, s->sim->base, -1, 0, send_tick, s);
		evtimer_add(s->send_ev, &tv);
		return;
	}
	event_del(s->send_ev);
	event_assign(s->send_ev, s->sim->base, -1, EV_PERSIST, send_tick, s);
	if (o->rate > 0) {
		tv = interval(1.0 / o->rate);
		evtimer_add(s->send_ev, &tv);
	} else {
		send_tick(-1, 0, s);    /* the write callback keeps the pump going */
	}
}

static void
on_ok(struct scale *s)
{
	struct sim *sim = s->sim;

	sim->t.oks++;
	switch (s->state) {
	case ST_AWAIT_OK:
		sim->t.confirmed++;
		if (sim->o.ok_log != NULL)
			fprintf(sim->o.ok_log, "%s %s\n", s->name, s->barcode);
		/* The scale repeats the acknowledged record with a P" prefix. */
		if (sim->o.garbage)
			put_garbage(s);
		put_str(s, "P\"");
		put(s, s->rec, s->rec_len);
		put_str(s, "\r\n");
		s->rec_pending = false;
		next_step(s);
		break;
	case ST_AWAIT_FINAL_OK:
		sim->t.confirmed++;
		vlog(s, "final OK");
		s->final_prompt = false;
		s->final_ok = true;
		start_drain(s);
		break;
	default:
		break;   /* e.g. ack_mode = every_record: counted only */
	}
}

static void
read_cb(struct bufferevent *bev, void *arg)
{
	struct scale *s = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	static const char ok[] = DP401_OK_REPLY;
	uint8_t buf[512];
	size_t n;

	while ((n = evbuffer_remove(in, buf, sizeof(buf))) > 0 && n != (size_t)-1) {
		for (size_t i = 0; i < n; i++) {
			if (buf[i] == (uint8_t)ok[s->ok_match]) {
				if (++s->ok_match == 3) {
					s->ok_match = 0;
					on_ok(s);
					if (s->bev == NULL)
						return;
				}
			} else {
				s->sim->t.unexpected++;
				s->ok_match = buf[i] == 'O' ? 1 : 0;
			}
		}
	}
}

static void
write_cb(struct bufferevent *bev, void *arg)
{
	struct scale *s = arg;

	if (s->state == ST_DRAINING) {
		shutdown(bufferevent_getfd(bev), SHUT_WR);
		return;
	}
	if (s->state == ST_SENDING && !s->sim->o.controlled && s->sim->o.rate <= 0)
		send_tick(-1, 0, s);
}

static void
schedule_retry(struct scale *s)
{
	struct timeval tv = { 0, RETRY_MS * 1000 };

	s->state = ST_RETRY;
	evtimer_add(s->retry_ev, &tv);
}

/* The connection is gone: a real bridge reconnects on its own. */
static void
on_drop(struct scale *s, const char *why)
{
	struct sim *sim = s->sim;
	bool was_connected = s->up;

	if (s->state == ST_DRAINING) {
		finish(s, succeeded(s));
		return;
	}
	sim->t.errors++;
	if (sim->o.verbose)
		fprintf(stderr, "dp401-sim: %s: connection %s: %s\n", s->name,
		    was_connected ? "lost" : "failed", why);
	drop_bev(s);
	evtimer_del(s->hb_ev);
	evtimer_del(s->send_ev);
	bool more = (!all_sent(s) && !s->stopping) || s->rec_pending || s->final_prompt;
	if (sim->o.reconnect && more) {
		schedule_retry(s);
		return;
	}
	s->state = ST_DONE;
	sim_scale_finished(sim, s, false);
}

static void
event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct scale *s = arg;
	struct timeval hb;

	if (what & BEV_EVENT_CONNECTED) {
		int one = 1;
		/* Prompt and P" copy are small writes in a ping-pong: without
		 * NODELAY, Nagle and delayed ACKs cost 40 ms per record. */
		(void)setsockopt(bufferevent_getfd(bev), IPPROTO_TCP, TCP_NODELAY, &one,
		    sizeof(one));
		s->up = true;
		s->sim->t.connected++;
		sim_scale_connected(s->sim);
		vlog(s, "connected");
		s->ok_match = 0;
		if (!s->sim->o.idle) {
			if (!s->sim->o.no_register)
				put_str(s, s->name);
			if (s->sim->o.hb_s > 0) {
				hb = interval(s->sim->o.hb_s);
				evtimer_add(s->hb_ev, &hb);
			}
		}
		if (s->final_prompt) {
			put_str(s, DP401_ACK_TOKEN);
			s->state = ST_AWAIT_FINAL_OK;
			return;
		}
		if (s->rec_pending) {
			/* No OK came for it: a scale keeps it and sends it again. */
			s->sim->t.resent++;
			send_record(s);
			put_str(s, DP401_ACK_TOKEN);
			s->state = ST_AWAIT_OK;
			return;
		}
		next_step(s);
		return;
	}
	if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR)) {
		int err = EVUTIL_SOCKET_ERROR();
		on_drop(s, (what & BEV_EVENT_EOF) ? "closed by the edge"
		    : evutil_socket_error_to_string(err));
	}
}

static void
hb_tick(evutil_socket_t fd, short what, void *arg)
{
	struct scale *s = arg;

	(void)fd;
	(void)what;
	if (s->bev != NULL && s->state != ST_DRAINING && s->state != ST_CONNECTING) {
		if (s->sim->o.garbage)
			put_garbage(s);
		put_str(s, "HB");
	}
}

static void
retry_tick(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	connect_now(arg);
}

static void
drain_tick(evutil_socket_t fd, short what, void *arg)
{
	struct scale *s = arg;

	(void)fd;
	(void)what;
	vlog(s, "edge did not close after our EOF; closing");
	finish(s, succeeded(s));
}

static void
connect_now(struct scale *s)
{
	struct sim *sim = s->sim;
	enum scale_state prev = s->state;

	s->bev = bufferevent_socket_new(sim->base, -1, BEV_OPT_CLOSE_ON_FREE);
	if (s->bev == NULL) {
		fprintf(stderr, "dp401-sim: %s: bufferevent_socket_new failed\n", s->name);
		sim->t.errors++;
		s->state = ST_DONE;
		sim_scale_finished(sim, s, false);
		return;
	}
	if (prev == ST_RETRY)
		sim->t.reconnects++;
	s->state = ST_CONNECTING;
	bufferevent_setcb(s->bev, read_cb, write_cb, event_cb, s);
	if (bufferevent_enable(s->bev, EV_READ | EV_WRITE) != 0 ||
	    bufferevent_socket_connect(s->bev, (struct sockaddr *)&sim->o.addr,
		(int)sim->o.addrlen) != 0) {
		/* bufferevent_socket_connect has already reported via event_cb
		 * for some failures; the bev is freed in on_drop either way. */
		if (s->bev != NULL)
			on_drop(s, "connect failed");
	}
}

struct scale *
scale_new(struct sim *sim, int index)
{
	struct scale *s = calloc(1, sizeof(*s));

	if (s == NULL)
		return NULL;
	s->sim = sim;
	s->index = index;
	s->id = sim->o.first_id + index;
	snprintf(s->name, sizeof(s->name), "SCALE-%02d", s->id % 100);
	s->hb_ev = evtimer_new(sim->base, hb_tick, s);
	s->send_ev = event_new(sim->base, -1, 0, send_tick, s);
	s->retry_ev = evtimer_new(sim->base, retry_tick, s);
	s->drain_ev = evtimer_new(sim->base, drain_tick, s);
	if (s->hb_ev == NULL || s->send_ev == NULL || s->retry_ev == NULL || s->drain_ev == NULL) {
		scale_free(s);
		return NULL;
	}
	/* Heartbeats repeat for as long as the connection lives. */
	event_del(s->hb_ev);
	event_assign(s->hb_ev, sim->base, -1, EV_PERSIST, hb_tick, s);
	return s;
}

void
scale_free(struct scale *s)
{
	if (s == NULL)
		return;
	if (s->bev != NULL)
		bufferevent_free(s->bev);
	if (s->hb_ev != NULL)
		event_free(s->hb_ev);
	if (s->send_ev != NULL)
		event_free(s->send_ev);
	if (s->retry_ev != NULL)
		event_free(s->retry_ev);
	if (s->drain_ev != NULL)
		event_free(s->drain_ev);
	free(s);
}

void
scale_start(struct scale *s)
{
	connect_now(s);
}

void
scale_stop(struct scale *s)
{
	if (s->state == ST_DONE || s->stopping)
		return;
	s->stopping = true;
	switch (s->state) {
	case ST_SENDING:
		evtimer_del(s->send_ev);
		if (s->sim->o.idle)
			finish(s, true);
		else
			wind_up(s);
		break;
	case ST_RETRY:
	case ST_CONNECTING:
		if (!s->rec_pending && !s->sim->o.wait_ok)
			finish(s, succeeded(s));
		break;
	default:
		break;   /* waiting for an OK or the edge's EOF: let it finish */
	}
}

void
scale_abort(struct scale *s)
{
	finish(s, false);
}
