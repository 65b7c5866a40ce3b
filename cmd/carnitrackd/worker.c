/*
 * The process frame shared by the workers. A worker is born by re-exec
 * from the supervisor with fd 3 as its channel; it dies when fd 3 closes,
 * when the supervisor dies (PR_SET_PDEATHSIG), or on SHUTDOWN.
 *
 * Workers that have routes between them talk directly: PEER_UP brings the
 * worker's end of a socketpair the supervisor made for the two (OpenSMTPD
 * setup_peers, gmid proc_open), and worker_send puts a frame on the
 * channel its type's route names. While a peer is down there is no channel
 * to it: a type listed HELD in messages.def is kept (bounded) and goes out
 * first on the next channel, any other is refused and its sender sends it
 * again on PEER_UP (messages.def says who does what). The supervisor
 * carries only its own frames: the handshake, liveness, status, control.
 */
#include "worker.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "ipc/channel.h"
#include "ipc/hold.h"
#include "ipc/pack.h"
#include "log/log.h"
#include "event/event.h"
#include "worker_cpus.h"

#define WORKER_FD 3

struct worker;

/* Another worker, as this one sees it. */
struct wpeer {
	struct worker     *w;
	enum ct_proc       id;
	bool               up;        /* as told by PEER_UP / PEER_DOWN */
	bool               talks;     /* messages.def has a route between us */
	struct channel    *ch;        /* the direct channel; NULL while it is down */
	struct frame_hold  hold;      /* HELD frames waiting for the next channel */
	uint64_t           refused;   /* sends refused: channel full */
};

struct worker {
	enum ct_proc       proc;
	const struct worker_ops *ops;
	struct event_base *base;
	struct channel    *ch;
	struct ct_conf    *conf;
	bool               configured, stopping;
	struct wpeer       peers[P_NPROC];
	struct event      *ev_term, *ev_int, *ev_hup;
	int                exit_code;
	void              *data;
	int64_t            started_ms;
	struct worker_cpus cpus;
};

struct event_base *worker_base(struct worker *w) { return w->base; }
const struct ct_conf *worker_conf(struct worker *w) { return w->conf; }
void worker_set_data(struct worker *w, void *d) { w->data = d; }
void *worker_data(struct worker *w) { return w->data; }

bool
worker_peer_up(struct worker *w, enum ct_proc p)
{
	const struct wpeer *pe = (unsigned)p < P_NPROC ? &w->peers[p] : NULL;

	/* a peer we talk to is reachable only while its channel is open: it
	 * closes the moment the peer dies, before the supervisor's PEER_DOWN */
	return pe != NULL && pe->up && (!pe->talks || pe->ch != NULL);
}

int
worker_send(struct worker *w, uint16_t type, uint32_t id, const void *p, size_t n)
{
	const struct ct_msg_info *m = ct_msg_lookup(type);
	struct wpeer *pe;

	if (m == NULL || m->to == P_SUP || m->to >= P_NPROC || m->to == w->proc)
		return w->ch != NULL ? channel_send(w->ch, type, id, p, n) : -1;
	pe = &w->peers[m->to];
	if (pe->ch != NULL) {
		if (channel_send(pe->ch, type, id, p, n) == 0)
			return 0;
		pe->refused++;
		return -1;
	}
	if (!ct_msg_held(type))
		return -1;             /* its sender sends it again on PEER_UP */
	if (frame_hold_add(&pe->hold, type, id, p, n) != 0) {
		if (pe->hold.dropped == 1 || pe->hold.dropped % 1000 == 0)
			log_warn("%s for %s dropped: %s is down and %zu bytes are held for it "
			    "already (%llu dropped)", ct_msg_name(type), ct_proc_name(pe->id),
			    ct_proc_name(pe->id), (size_t)WORKER_HOLD_MAX,
			    (unsigned long long)pe->hold.dropped);
		return -1;
	}
	return 0;
}

void
worker_exit(struct worker *w, int code)
{
	w->exit_code = code;
	/* what the last turn produced (replies, confirmations) still goes */
	for (int i = P_WORKER_FIRST; i < P_NPROC; i++)
		if (w->peers[i].ch != NULL)
			channel_flush(w->peers[i].ch, 1000);
	if (w->ch)
		channel_flush(w->ch, 1000);
	event_base_loopbreak(w->base);
}

/* ---- direct channels to the other workers ---- */

static void
peer_close(struct wpeer *pe)
{
	if (pe->ch != NULL) {
		channel_free(pe->ch);
		pe->ch = NULL;
	}
}

static void
on_peer_frame(struct channel *ch, const struct frame *f, void *arg)
{
	struct wpeer *pe = arg;
	struct worker *w = pe->w;
	const struct ct_msg_info *m;

	if (f == NULL) {
		/* the peer is gone; the supervisor's PEER_DOWN follows */
		log_debug("channel to %s closed", ct_proc_name(pe->id));
		if (pe->ch == ch)
			peer_close(pe);
		return;
	}
	if (f->fd >= 0)
		close(f->fd);         /* no message between workers takes an fd */
	/* the channel checked the type, the size and that this peer may send
	 * it; here, that it is for us */
	m = ct_msg_lookup(f->hdr.type);
	if (m == NULL || m->to != w->proc || w->ops->frame == NULL || !w->configured) {
		log_warn("%s from %s is not for %s, dropped", ct_msg_name(f->hdr.type),
		    ct_proc_name(pe->id), ct_proc_name(w->proc));
		return;
	}
	w->ops->frame(w, f);
}

/* PEER_UP with the channel to that worker: held frames go out first, so
 * they keep their order before anything sent from now on. */
static void
peer_open(struct wpeer *pe, int fd)
{
	unsigned n;

	peer_close(pe);
	if ((pe->ch = channel_new(pe->w->base, fd, pe->id, on_peer_frame, pe)) == NULL) {
		close(fd);         /* the caller finds no channel and says so */
		return;
	}
	if ((n = frame_hold_release(&pe->hold, pe->ch)) > 0)
		log_info("%s: delivered %u frames held while it was down", ct_proc_name(pe->id),
		    n);
}

static void
begin_shutdown(struct worker *w, const char *why)
{
	if (w->stopping)
		return;
	w->stopping = true;
	log_info("stopping (%s)", why);
	if (w->ops->shutdown && w->configured)
		w->ops->shutdown(w);
	else
		worker_exit(w, CT_EXIT_OK);
}

static void
on_config(struct worker *w, const struct frame *f)
{
	struct unpack u;
	char path[CT_CONF_PATH], err[1024];
	const uint8_t *text;
	size_t tlen;
	struct ct_conf *nc;
	enum log_level lvl;

	unpack_init(&u, f->payload, f->plen);
	unpack_str(&u, path, sizeof(path));
	text = unpack_blob(&u, &tlen);
	if (!unpack_done(&u)) {
		log_err("CONFIG frame malformed, ignored");
		return;
	}
	if ((nc = malloc(sizeof(*nc))) == NULL) {
		log_err("out of memory reading config");
		return;
	}
	if (conf_parse_text(path, (const char *)text, tlen, nc, err, sizeof(err)) != 0) {
		/* The supervisor validated this text; disagreement is a bug or skew. */
		log_err("config refused: %s", err);
		free(nc);
		if (!w->configured)
			worker_exit(w, CT_EXIT_CONFIG);
		return;
	}
	if (log_level_parse(nc->log_level, &lvl) == 0)
		log_set_level(lvl);
	int rc = w->ops->configure ? w->ops->configure(w, nc, !w->configured) : 0;
	if (rc != 0) {
		free(nc);
		if (!w->configured && rc == WORKER_RETRY) {
			log_err("start-up failed, exiting to be restarted");
			worker_exit(w, CT_EXIT_FAIL);
		} else if (!w->configured) {
			log_err("configuration failed, exiting");
			worker_exit(w, CT_EXIT_CONFIG);
		} else
			log_warn("reloaded config refused, keeping the old one");
		return;
	}
	free(w->conf);
	w->conf = nc;
	worker_cpus_apply(&w->cpus, ct_proc_name(w->proc), nc);
	if (!w->configured) {
		w->configured = true;
		if (channel_send(w->ch, CT_MSG_READY, 0, NULL, 0) != 0)
			log_err("cannot send READY");
		log_info("ready");
	} else
		log_info("config reloaded");
}

static void
on_status(struct worker *w, const struct frame *f)
{
	json_t *o = json_object();
	char *s;
	uint8_t buf[CT_FRAME_MAX_PAYLOAD];
	struct pack pk;
	uint64_t dropped = 0, held = 0;

	if (o == NULL)
		return;
	for (int i = P_WORKER_FIRST; i < P_NPROC; i++) {
		dropped += w->peers[i].hold.dropped + w->peers[i].refused;
		held += w->peers[i].hold.n;
	}
	json_object_set_new(o, "pid", json_integer(getpid()));
	json_object_set_new(o, "uptime_s", json_integer((ct_now_ms_mono() - w->started_ms) / 1000));
	/* frames for another worker this one could not hand over (its hold
	 * full while that one was down, or the channel full), and held now */
	json_object_set_new(o, "frames_dropped", json_integer((json_int_t)dropped));
	json_object_set_new(o, "frames_held", json_integer((json_int_t)held));
	worker_cpus_status(&w->cpus, o);
	if (w->ops->status && w->configured)
		w->ops->status(w, o);
	s = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	if (s == NULL)
		return;
	pack_init(&pk, buf, sizeof(buf));
	pack_str(&pk, s);
	free(s);
	if (!pack_ok(&pk)) {
		log_warn("status too large for one frame, sending a summary");
		pack_init(&pk, buf, sizeof(buf));
		pack_str(&pk, "{\"error\":\"status too large\"}");
	}
	channel_send(w->ch, CT_MSG_STATUS_REP, f->hdr.id, buf, pk.len);
}

static void
on_frame(struct channel *ch, const struct frame *f, void *arg)
{
	struct worker *w = arg;

	if (f == NULL) {
		log_info("supervisor channel closed");
		w->ch = NULL;
		channel_free(ch);
		begin_shutdown(w, "supervisor gone");
		/* Nobody is left to wait for: do not let a slow drain hang us. */
		if (w->exit_code == 0)
			event_base_loopexit(w->base, &(struct timeval){ 3, 0 });
		return;
	}
	if (f->fd >= 0 && f->hdr.type != CT_MSG_PEER_UP) {
		/* Only PEER_UP brings an fd; never keep one we did not ask for. */
		close(f->fd);
	}
	switch (f->hdr.type) {
	case CT_MSG_CONFIG:
		on_config(w, f);
		return;
	case CT_MSG_PING:
		channel_send(ch, CT_MSG_PONG, f->hdr.id, f->payload, f->plen);
		return;
	case CT_MSG_STATUS_REQ:
		on_status(w, f);
		return;
	case CT_MSG_SHUTDOWN:
		begin_shutdown(w, "asked by supervisor");
		return;
	case CT_MSG_PEER_DOWN:
	case CT_MSG_PEER_UP: {
		uint8_t p = f->payload[0];
		bool up = f->hdr.type == CT_MSG_PEER_UP;
		if (p >= P_NPROC || p == P_SUP || p == w->proc) {
			log_warn("%s for unknown process %u", ct_msg_name(f->hdr.type), p);
			if (f->fd >= 0)
				close(f->fd);
			return;
		}
		struct wpeer *pe = &w->peers[p];
		if (up && f->fd >= 0)
			peer_open(pe, f->fd);
		else if (!up)
			peer_close(pe);
		if (up && pe->talks && pe->ch == NULL) {
			/* nothing would reach it: start over (the supervisor's backoff) */
			log_err("PEER_UP for %s without a usable channel to it; exiting to be "
			    "restarted", ct_proc_name(p));
			worker_exit(w, CT_EXIT_FAIL);
			return;
		}
		pe->up = up;
		log_debug("peer %s is %s", ct_proc_name(p), up ? "up" : "down");
		if (w->ops->peer && w->configured)
			w->ops->peer(w, (enum ct_proc)p, up);
		return;
	}
	default:
		break;
	}
	if (!w->configured) {
		log_warn("%s before configuration, dropped", ct_msg_name(f->hdr.type));
		return;
	}
	const struct ct_msg_info *m = ct_msg_lookup(f->hdr.type);
	if (m == NULL || m->to != w->proc || w->ops->frame == NULL) {
		log_warn("frame %s is not for %s, dropped", ct_msg_name(f->hdr.type),
		    ct_proc_name(w->proc));
		return;
	}
	w->ops->frame(w, f);
}

static void
on_signal(evutil_socket_t sig, short what, void *arg)
{
	struct worker *w = arg;

	if (sig == SIGHUP)
		return;   /* reload comes from the supervisor as CONFIG */
	begin_shutdown(w, sig == SIGTERM ? "SIGTERM" : "SIGINT");
}

int
worker_main(enum ct_proc proc, const struct worker_ops *ops)
{
	struct worker w;
	uint8_t hello[64];
	struct pack pk;
	pid_t parent = getppid();

	memset(&w, 0, sizeof(w));
	w.proc = proc;
	w.ops = ops;
	for (int i = 0; i < P_NPROC; i++) {
		w.peers[i].w = &w;
		w.peers[i].id = (enum ct_proc)i;
		w.peers[i].talks = i != P_SUP && i != (int)proc && ct_procs_talk(proc, i);
		frame_hold_init(&w.peers[i].hold, WORKER_HOLD_MAX);
	}
	/* Testing aid (carnitrackd(8), ENVIRONMENT): a worker that always dies
	 * young, to exercise the supervisor's backoff. */
	const char *tf = getenv("CARNITRACKD_TEST_FAIL");
	if (tf && strcmp(tf, ct_proc_name(proc)) == 0) {
		log_err("failing on purpose (CARNITRACKD_TEST_FAIL=%s)", tf);
		return CT_EXIT_FAIL;
	}
	w.started_ms = ct_now_ms_mono();
	worker_cpus_init(&w.cpus);
	ct_trace_open(ct_proc_name(proc));
	/* The supervisor dying must take us with it, even if fd 3 is stuck. */
	if (prctl(PR_SET_PDEATHSIG, SIGTERM) != 0)
		log_errno("prctl(PR_SET_PDEATHSIG)");
	if (getppid() != parent || parent == 1) {
		log_err("supervisor already gone");
		return CT_EXIT_FAIL;
	}
	signal(SIGPIPE, SIG_IGN);
	if ((w.base = event_base_new()) == NULL) {
		log_err("event_base_new failed");
		return CT_EXIT_FAIL;
	}
	if ((w.ch = channel_new(w.base, WORKER_FD, P_SUP, on_frame, &w)) == NULL) {
		log_err("fd %d is not a usable channel", WORKER_FD);
		return CT_EXIT_FAIL;
	}
	w.ev_term = evsignal_new(w.base, SIGTERM, on_signal, &w);
	w.ev_int = evsignal_new(w.base, SIGINT, on_signal, &w);
	w.ev_hup = evsignal_new(w.base, SIGHUP, on_signal, &w);
	if (!w.ev_term || !w.ev_int || !w.ev_hup || event_add(w.ev_term, NULL) ||
	    event_add(w.ev_int, NULL) || event_add(w.ev_hup, NULL)) {
		log_err("cannot install signal handlers");
		return CT_EXIT_FAIL;
	}
	pack_init(&pk, hello, sizeof(hello));
	pack_u32(&pk, CT_PROTO_VERSION);
	pack_str(&pk, ct_proc_name(proc));
	if (channel_send(w.ch, CT_MSG_HELLO, 0, hello, pk.len) != 0) {
		log_err("cannot send HELLO");
		return CT_EXIT_FAIL;
	}
	event_base_dispatch(w.base);
	for (int i = 0; i < P_NPROC; i++) {
		peer_close(&w.peers[i]);
		frame_hold_free(&w.peers[i].hold);
	}
	if (w.ch)
		channel_free(w.ch);
	event_free(w.ev_term);
	event_free(w.ev_int);
	event_free(w.ev_hup);
	event_base_free(w.base);
	free(w.conf);
	ct_trace_close();
	log_debug("exit %d", w.exit_code);
	return w.exit_code;
}
