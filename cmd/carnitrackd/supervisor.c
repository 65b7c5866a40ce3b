/*
 * The supervisor: forks and re-executes one process per worker with fd 3 as
 * its channel, routes frames between them by proto/messages.def, restarts
 * the ones that die, and answers carnitrackctl. It holds no business state.
 *
 * Restart policy (s6-like): a worker that dies after being ready for more
 * than RESTART_FAST_MS is respawned at once; one that dies before READY or
 * soon after it waits 1 s, 2 s, ... up to BACKOFF_MAX_S, and the backoff is
 * forgotten after BACKOFF_RESET_MS of health. Exit CT_EXIT_CONFIG is final
 * until a reload brings a config the worker accepts.
 */
#include "supervisor.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <event2/buffer.h>

#include "control.h"
#include "event/event.h"
#include "ipc/channel.h"
#include "ipc/pack.h"
#include "log/log.h"
#include "util/safe_dir.h"
#include "util/sdnotify.h"

#define TICK_MS            250
#define PING_EVERY_MS      2000
#define HUNG_MS            10000    /* no PONG for this long: SIGKILL */
#define HANDSHAKE_MS       10000    /* spawn -> READY */
#define RESTART_FAST_MS    1000
#define BACKOFF_MAX_S      30
#define BACKOFF_RESET_MS   60000
#define STOP_GRACE_MS      4000     /* SHUTDOWN -> SIGKILL */
#define STATUS_WAIT_MS     1000
#define MAX_WAITERS        8
#define HOLD_MAX           (8u * 1024 * 1024)

struct slot {
	enum ct_proc       id;
	pid_t              pid;
	struct channel    *ch;
	enum slot_state    state;
	bool               hello;
	int64_t            spawned_ms, ready_ms, due_ms, kill_at_ms;
	int64_t            ping_sent_ms, last_pong_ms;
	uint64_t           ping_token;
	unsigned           restarts;
	bool               has_exit;
	int                last_code, last_sig;
	char               why[192];
	int                backoff_s;
	bool               restart_now;
	struct ctl_client *waiters[MAX_WAITERS];
	int                nwaiters;
	/* Frames for this worker while it is (re)starting, delivered after
	 * its READY; bounded by HOLD_MAX, newer frames are dropped past it. */
	struct evbuffer   *held;
	uint64_t           held_dropped;
};

struct status_req {
	uint32_t           id;
	struct ctl_client *client;
	json_t            *workers[P_NPROC];
	bool               asked[P_NPROC];
	struct event      *timer;
	struct status_req *next;
};

static struct {
	struct event_base *base;
	struct sup_opts    opts;
	struct ct_conf    *conf;
	char              *text;
	size_t             textlen;
	struct slot        slots[P_NPROC];
	bool               stopping;
	int64_t            stop_deadline;
	struct event      *ev_chld, *ev_term, *ev_int, *ev_hup, *tick;
	int64_t            started_ms, started_wall_ms;
	bool               notified_ready;
	uint32_t           next_id;
	struct status_req *reqs;
	int                exit_code;
} S;

static void spawn(struct slot *s);
static void on_worker_frame(struct channel *ch, const struct frame *f, void *arg);

const char *
slot_state_name(enum slot_state st)
{
	switch (st) {
	case SLOT_STOPPED: return "stopped";
	case SLOT_STARTING: return "starting";
	case SLOT_RUNNING: return "running";
	case SLOT_BACKOFF: return "backoff";
	case SLOT_FAILED: return "failed";
	}
	return "?";
}

static int64_t now_ms(void) { return ct_now_ms_mono(); }

static void
send_ctl(struct slot *s, uint16_t type, const void *p, size_t n)
{
	if (s->ch && channel_send(s->ch, type, 0, p, n) != 0)
		log_warn("cannot send %s to %s", ct_msg_name(type), ct_proc_name(s->id));
}

static void
send_config(struct slot *s)
{
	size_t cap = S.textlen + CT_CONF_PATH + 16;
	uint8_t *buf = malloc(cap);
	struct pack pk;

	if (buf == NULL)
		return;
	pack_init(&pk, buf, cap);
	pack_str(&pk, S.opts.conf_path);
	pack_blob(&pk, S.text, S.textlen);
	if (pack_ok(&pk))
		send_ctl(s, CT_MSG_CONFIG, buf, pk.len);
	free(buf);
}

static void
tell_peers(struct slot *about, bool up)
{
	uint8_t p = (uint8_t)about->id;

	for (int i = P_INGEST; i < P_NPROC; i++) {
		struct slot *o = &S.slots[i];
		if (o != about && o->state == SLOT_RUNNING)
			send_ctl(o, up ? CT_MSG_PEER_UP : CT_MSG_PEER_DOWN, &p, 1);
	}
}

static bool
all_running(void)
{
	for (int i = P_INGEST; i < P_NPROC; i++)
		if (S.slots[i].state != SLOT_RUNNING)
			return false;
	return true;
}

static void
answer_waiters(struct slot *s, bool ok, const char *err)
{
	for (int i = 0; i < s->nwaiters; i++) {
		struct ctl_client *c = s->waiters[i];
		if (control_client_alive(c)) {
			json_t *r = ok ? json_pack("{s:b, s:s, s:i}", "ok", 1, "worker",
			    ct_proc_name(s->id), "pid", (int)s->pid)
			    : json_pack("{s:b, s:s}", "ok", 0, "error", err);
			if (r)
				control_reply(c, r);
		}
		control_client_unref(c);
	}
	s->nwaiters = 0;
}


/*
 * A worker that is restarting misses nothing sent to it meanwhile (a session
 * from the cloud, acks, events): frames wait here and go out after READY.
 * Senders still re-send what was not confirmed (PEER_UP), so the bound only
 * costs a re-send, never data. A worker that failed for good gets nothing.
 */
static void
hold_frame(struct slot *d, struct slot *from, const struct frame *f)
{
	const struct ct_msg_info *m = ct_msg_lookup(f->hdr.type);

	if (d->state == SLOT_FAILED || S.stopping || f->fd >= 0 ||
	    (d->held == NULL && (d->held = evbuffer_new()) == NULL) ||
	    evbuffer_get_length(d->held) + f->hdr.len > HOLD_MAX ||
	    frame_append(d->held, f->hdr.type, f->hdr.flags & ~CT_FRAME_F_FD, f->hdr.id,
	    f->payload, f->plen) != 0) {
		d->held_dropped++;
		log_warn("%s -> %s: %s dropped, %s is %s", ct_proc_name(from->id),
		    ct_proc_name(d->id), m ? m->name : "?", ct_proc_name(d->id), slot_state_name(d->state));
		return;
	}
	log_debug("%s -> %s: %s held until %s is ready", ct_proc_name(from->id),
	    ct_proc_name(d->id), m ? m->name : "?", ct_proc_name(d->id));
}

static void
release_held(struct slot *d)
{
	uint8_t raw[CT_FRAME_HDR_LEN];
	unsigned n = 0;

	while (d->held && d->ch && evbuffer_get_length(d->held) >= CT_FRAME_HDR_LEN) {
		struct frame f = { .fd = -1 };
		evbuffer_copyout(d->held, raw, sizeof(raw));
		frame_hdr_decode(raw, &f.hdr);
		f.plen = f.hdr.len - CT_FRAME_HDR_LEN;
		f.payload = evbuffer_pullup(d->held, f.hdr.len);
		if (f.payload == NULL)
			break;
		f.payload += CT_FRAME_HDR_LEN;
		if (channel_forward(d->ch, &f) != 0)
			log_warn("held %s for %s dropped, channel full", ct_msg_name(f.hdr.type),
			    ct_proc_name(d->id));
		evbuffer_drain(d->held, f.hdr.len);
		n++;
	}
	if (n)
		log_info("%s: delivered %u frames held while it started", ct_proc_name(d->id), n);
}

static void
on_ready(struct slot *s)
{
	uint8_t p;

	s->state = SLOT_RUNNING;
	s->ready_ms = now_ms();
	s->last_pong_ms = s->ready_ms;
	s->ping_sent_ms = 0;
	s->why[0] = '\0';
	log_info("%s ready (pid %d)", ct_proc_name(s->id), (int)s->pid);
	/* The newcomer learns who is up; the others learn it is back. */
	for (int i = P_INGEST; i < P_NPROC; i++) {
		if (i != (int)s->id && S.slots[i].state == SLOT_RUNNING) {
			p = (uint8_t)i;
			send_ctl(s, CT_MSG_PEER_UP, &p, 1);
		}
	}
	release_held(s);
	tell_peers(s, true);
	answer_waiters(s, true, NULL);
	if (!S.notified_ready && all_running()) {
		S.notified_ready = true;
		sd_notify_send("READY=1\nSTATUS=all workers running");
		log_info("all workers running");
	}
}

static void
status_req_finish(struct status_req *r)
{
	json_t *top, *arr;
	bool degraded = false;
	int64_t now = now_ms();

	for (struct status_req **pp = &S.reqs; *pp; pp = &(*pp)->next)
		if (*pp == r) {
			*pp = r->next;
			break;
		}
	event_free(r->timer);
	top = json_object();
	arr = json_array();
	if (top && arr) {
		json_object_set_new(top, "ok", json_true());
		json_object_set_new(top, "version", json_integer(1));
		json_object_set_new(top, "daemon_version", json_string(CT_VERSION));
		json_object_set_new(top, "pid", json_integer(getpid()));
		json_object_set_new(top, "uptime_s", json_integer((now - S.started_ms) / 1000));
		json_object_set_new(top, "config", json_string(S.opts.conf_path));
		for (int i = P_INGEST; i < P_NPROC; i++) {
			struct slot *s = &S.slots[i];
			json_t *w = json_object();
			char last[48] = "";
			if (w == NULL)
				continue;
			if (s->has_exit)
				snprintf(last, sizeof(last), s->last_sig ? "signal %d" : "exit %d",
				    s->last_sig ? s->last_sig : s->last_code);
			json_object_set_new(w, "name", json_string(ct_proc_name(s->id)));
			json_object_set_new(w, "pid", s->pid ? json_integer(s->pid) : json_null());
			json_object_set_new(w, "state", json_string(slot_state_name(s->state)));
			json_object_set_new(w, "uptime_s", json_integer(s->state == SLOT_RUNNING ?
			    (now - s->ready_ms) / 1000 : 0));
			json_object_set_new(w, "restarts", json_integer(s->restarts));
			json_object_set_new(w, "last_exit", last[0] ? json_string(last) : json_null());
			json_object_set_new(w, "frames_dropped", json_integer((json_int_t)s->held_dropped));
			if (s->why[0])
				json_object_set_new(w, "why", json_string(s->why));
			if (s->state == SLOT_BACKOFF)
				json_object_set_new(w, "retry_in_ms", json_integer(s->due_ms > now ?
				    s->due_ms - now : 0));
			if (r->workers[i]) {
				json_t *h = json_object_get(r->workers[i], "health");
				if (json_is_string(h) && strcmp(json_string_value(h), "ok") != 0)
					degraded = true;
				json_object_set(w, "status", r->workers[i]);
			}
			if (s->state != SLOT_RUNNING)
				degraded = true;
			json_array_append_new(arr, w);
		}
		json_object_set_new(top, "health", json_string(degraded ? "degraded" : "ok"));
		json_object_set_new(top, "workers", arr);
		arr = NULL;
		if (control_client_alive(r->client))
			control_reply(r->client, top);
		else
			json_decref(top);
	}
	json_decref(arr);
	for (int i = 0; i < P_NPROC; i++)
		json_decref(r->workers[i]);
	control_client_unref(r->client);
	free(r);
}

static void
status_timeout(evutil_socket_t fd, short what, void *arg)
{
	status_req_finish(arg);
}

void
supervisor_status(struct ctl_client *c)
{
	struct status_req *r = calloc(1, sizeof(*r));
	struct timeval tv = { STATUS_WAIT_MS / 1000, (STATUS_WAIT_MS % 1000) * 1000 };
	bool any = false;

	if (r == NULL)
		return;
	r->id = ++S.next_id ? S.next_id : ++S.next_id;
	r->client = c;
	control_client_ref(c);
	if ((r->timer = evtimer_new(S.base, status_timeout, r)) == NULL) {
		control_client_unref(c);
		free(r);
		return;
	}
	r->next = S.reqs;
	S.reqs = r;
	for (int i = P_INGEST; i < P_NPROC; i++) {
		struct slot *s = &S.slots[i];
		if (s->state == SLOT_RUNNING && s->ch &&
		    channel_send(s->ch, CT_MSG_STATUS_REQ, r->id, NULL, 0) == 0) {
			r->asked[i] = true;
			any = true;
		}
	}
	if (!any) {
		status_req_finish(r);
		return;
	}
	evtimer_add(r->timer, &tv);
}

static void
on_status_rep(struct slot *s, const struct frame *f)
{
	struct unpack u;
	const uint8_t *js;
	size_t n;
	json_error_t je;

	for (struct status_req *r = S.reqs; r; r = r->next) {
		if (r->id != f->hdr.id || !r->asked[s->id])
			continue;
		unpack_init(&u, f->payload, f->plen);
		js = unpack_blob(&u, &n);
		r->asked[s->id] = false;
		if (js && (r->workers[s->id] = json_loadb((const char *)js, n, 0, &je)) == NULL)
			log_warn("%s: unreadable STATUS_REP: %s", ct_proc_name(s->id), je.text);
		for (int i = P_INGEST; i < P_NPROC; i++)
			if (r->asked[i])
				return;
		status_req_finish(r);
		return;
	}
}

int
supervisor_ask(enum ct_proc p, uint16_t type, uint32_t *id)
{
	struct slot *s = &S.slots[p];

	*id = ++S.next_id ? S.next_id : ++S.next_id;
	if (S.stopping || s->state != SLOT_RUNNING || s->ch == NULL)
		return -1;
	return channel_send(s->ch, type, *id, NULL, 0) == 0 ? 0 : -1;
}

int
supervisor_restart(enum ct_proc p, struct ctl_client *c, char *err, size_t errlen)
{
	struct slot *s = &S.slots[p];

	if (S.stopping) {
		snprintf(err, errlen, "carnitrackd is stopping");
		return -1;
	}
	if (s->nwaiters >= MAX_WAITERS) {
		snprintf(err, errlen, "too many restarts of %s waiting", ct_proc_name(p));
		return -1;
	}
	control_client_ref(c);
	s->waiters[s->nwaiters++] = c;
	log_info("restart of %s requested by carnitrackctl", ct_proc_name(p));
	switch (s->state) {
	case SLOT_RUNNING:
	case SLOT_STARTING:
		s->restart_now = true;
		if (s->ch)
			send_ctl(s, CT_MSG_SHUTDOWN, NULL, 0);
		else
			kill(s->pid, SIGTERM);
		s->kill_at_ms = now_ms() + STOP_GRACE_MS;
		break;
	case SLOT_BACKOFF:
	case SLOT_FAILED:
	case SLOT_STOPPED:
		s->backoff_s = 0;
		spawn(s);
		break;
	}
	return 0;
}

static void
spawn(struct slot *s)
{
	int sv[2];
	pid_t pid;
	char role[32];

	s->restart_now = false;
	s->hello = false;
	s->kill_at_ms = 0;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) {
		log_errno("socketpair for %s", ct_proc_name(s->id));
		goto retry;
	}
	snprintf(role, sizeof(role), "--worker=%s", ct_proc_name(s->id));
	pid = fork();
	if (pid < 0) {
		log_errno("fork for %s", ct_proc_name(s->id));
		close(sv[0]);
		close(sv[1]);
		goto retry;
	}
	if (pid == 0) {
		const char *argv[6];
		int a = 0;
		sigset_t none;

		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		if (sv[1] == 3) {
			if (fcntl(3, F_SETFD, 0) != 0)
				_exit(127);
		} else if (dup2(sv[1], 3) != 3)
			_exit(127);
		argv[a++] = "carnitrackd";
		argv[a++] = role;
		if (S.opts.foreground)
			argv[a++] = "-f";
		if (S.opts.verbose)
			argv[a++] = "-v";
		argv[a] = NULL;
		execv(S.opts.self_exe, (char *const *)argv);
		_exit(127);
	}
	close(sv[1]);
	s->ch = channel_new(S.base, sv[0], s->id, on_worker_frame, s);
	if (s->ch == NULL) {
		log_err("cannot set up the channel to %s", ct_proc_name(s->id));
		close(sv[0]);
		kill(pid, SIGKILL);
	}
	s->pid = pid;
	s->state = SLOT_STARTING;
	s->spawned_ms = now_ms();
	log_info("started %s (pid %d)", ct_proc_name(s->id), (int)pid);
	return;
retry:
	s->state = SLOT_BACKOFF;
	s->backoff_s = s->backoff_s ? s->backoff_s * 2 : 1;
	if (s->backoff_s > BACKOFF_MAX_S)
		s->backoff_s = BACKOFF_MAX_S;
	s->due_ms = now_ms() + s->backoff_s * 1000;
}

static void
finish_if_stopped(void)
{
	for (int i = P_INGEST; i < P_NPROC; i++)
		if (S.slots[i].pid != 0)
			return;
	log_info("all workers stopped");
	event_base_loopbreak(S.base);
}

static void
on_death(struct slot *s, int status)
{
	bool was_running = s->state == SLOT_RUNNING;
	int64_t now = now_ms();

	s->has_exit = true;
	s->last_code = WIFEXITED(status) ? WEXITSTATUS(status) : 0;
	s->last_sig = WIFSIGNALED(status) ? WTERMSIG(status) : 0;
	if (s->ch) {
		channel_free(s->ch);
		s->ch = NULL;
	}
	s->pid = 0;
	if (s->last_sig)
		log_warn("%s died from signal %d", ct_proc_name(s->id), s->last_sig);
	else if (s->last_code != 0 || !S.stopping)
		log_warn("%s exited with code %d", ct_proc_name(s->id), s->last_code);
	if (was_running)
		tell_peers(s, false);
	if (S.stopping) {
		s->state = SLOT_STOPPED;
		answer_waiters(s, false, "carnitrackd is stopping");
		finish_if_stopped();
		return;
	}
	if (!s->last_sig && s->last_code == CT_EXIT_CONFIG) {
		s->state = SLOT_FAILED;
		if (s->held)
			evbuffer_drain(s->held, evbuffer_get_length(s->held));
		snprintf(s->why, sizeof(s->why), "configuration error (exit %d), see the log; "
		    "fix %s and reload (SIGHUP)", CT_EXIT_CONFIG, S.opts.conf_path);
		log_err("%s: %s; not restarting", ct_proc_name(s->id), s->why);
		answer_waiters(s, false, s->why);
		return;
	}
	if (s->restart_now || (!s->last_sig && s->last_code == CT_EXIT_RESTART) ||
	    (was_running && now - s->ready_ms > RESTART_FAST_MS)) {
		s->restarts++;
		spawn(s);
		return;
	}
	s->backoff_s = s->backoff_s ? s->backoff_s * 2 : 1;
	if (s->backoff_s > BACKOFF_MAX_S)
		s->backoff_s = BACKOFF_MAX_S;
	s->state = SLOT_BACKOFF;
	s->due_ms = now + s->backoff_s * 1000;
	if (!s->why[0])
		snprintf(s->why, sizeof(s->why), "died %s after start", was_running ?
		    "within a second" : "before READY");
	log_warn("%s restarting in %d s (%s)", ct_proc_name(s->id), s->backoff_s, s->why);
}

static void
on_sigchld(evutil_socket_t sig, short what, void *arg)
{
	for (;;) {
		int status;
		pid_t pid = waitpid(-1, &status, WNOHANG);

		if (pid <= 0)
			return;
		for (int i = P_INGEST; i < P_NPROC; i++)
			if (S.slots[i].pid == pid) {
				on_death(&S.slots[i], status);
				break;
			}
	}
}

/* A frame addressed to the supervisor itself (handshake, liveness, status). */
static void
on_control_frame(struct slot *s, const struct frame *f)
{
	switch (f->hdr.type) {
	case CT_MSG_HELLO: {
		struct unpack u;
		uint32_t ver;
		char role[32];

		unpack_init(&u, f->payload, f->plen);
		ver = unpack_u32(&u);
		unpack_str(&u, role, sizeof(role));
		if (!unpack_done(&u) || ver != CT_PROTO_VERSION ||
		    strcmp(role, ct_proc_name(s->id)) != 0) {
			log_err("%s: bad HELLO (version %u, role '%s'), killing it",
			    ct_proc_name(s->id), ver, role);
			snprintf(s->why, sizeof(s->why), "bad HELLO");
			kill(s->pid, SIGKILL);
			return;
		}
		s->hello = true;
		send_config(s);
		return;
	}
	case CT_MSG_READY:
		if (s->state == SLOT_STARTING && s->hello)
			on_ready(s);
		return;
	case CT_MSG_PONG:
		s->last_pong_ms = now_ms();
		return;
	case CT_MSG_STATUS_REP:
		on_status_rep(s, f);
		return;
	case CT_MSG_IDENTITY_RESET_DONE:
		control_identity_done(f->hdr.id, f->payload, f->plen);
		return;
	}
}

/* A frame for another worker: forwarded, or held while that one starts. */
static void
route_frame(struct slot *s, const struct frame *f)
{
	const struct ct_msg_info *m = ct_msg_lookup(f->hdr.type);
	struct slot *d;

	if (m->to >= P_NPROC || m->to == P_SUP) {
		log_warn("%s sent %s, which is not routable; dropped", ct_proc_name(s->id), m->name);
		return;
	}
	d = &S.slots[m->to];
	if (d->state != SLOT_RUNNING || d->ch == NULL) {
		hold_frame(d, s, f);
		return;
	}
	if (channel_forward(d->ch, f) != 0)
		log_warn("%s -> %s: %s dropped, channel full", ct_proc_name(s->id),
		    ct_proc_name(m->to), m->name);
}

static void
on_worker_frame(struct channel *ch, const struct frame *f, void *arg)
{
	struct slot *s = arg;

	if (f == NULL) {
		/* The process may linger; SIGCHLD does the bookkeeping. */
		if (s->ch == ch) {
			channel_free(ch);
			s->ch = NULL;
		}
		return;
	}
	/* The channel validated the type, so the lookup cannot fail. */
	if (ct_msg_lookup(f->hdr.type)->to == P_SUP)
		on_control_frame(s, f);
	else
		route_frame(s, f);
	/* The supervisor keeps no fd: forwarding took its own copy. */
	if (f->fd >= 0)
		close(f->fd);
}

static void
on_tick(evutil_socket_t fd, short what, void *arg)
{
	int64_t now = now_ms();

	for (int i = P_INGEST; i < P_NPROC; i++) {
		struct slot *s = &S.slots[i];

		if (s->pid && s->kill_at_ms && now >= s->kill_at_ms) {
			log_warn("%s did not stop in time, killing it", ct_proc_name(s->id));
			kill(s->pid, SIGKILL);
			s->kill_at_ms = 0;
		}
		if (S.stopping)
			continue;
		switch (s->state) {
		case SLOT_STARTING:
			if (now - s->spawned_ms > HANDSHAKE_MS) {
				snprintf(s->why, sizeof(s->why), "no READY within %d s", HANDSHAKE_MS / 1000);
				log_err("%s: %s, killing it", ct_proc_name(s->id), s->why);
				kill(s->pid, SIGKILL);
				s->spawned_ms = now;   /* once */
			}
			break;
		case SLOT_RUNNING:
			if (now - s->last_pong_ms > HUNG_MS) {
				snprintf(s->why, sizeof(s->why), "hung: no answer to ping for %d s",
				    HUNG_MS / 1000);
				log_err("%s: %s, killing it", ct_proc_name(s->id), s->why);
				kill(s->pid, SIGKILL);
				s->last_pong_ms = now;  /* once */
				break;
			}
			if (now - s->ping_sent_ms >= PING_EVERY_MS) {
				uint64_t tok = ++s->ping_token;
				s->ping_sent_ms = now;
				send_ctl(s, CT_MSG_PING, &tok, sizeof(tok));
			}
			if (s->backoff_s && now - s->ready_ms > BACKOFF_RESET_MS) {
				s->backoff_s = 0;
			}
			break;
		case SLOT_BACKOFF:
			if (now >= s->due_ms) {
				s->restarts++;
				spawn(s);
			}
			break;
		default:
			break;
		}
	}
}

static void
begin_stop(const char *why)
{
	if (S.stopping)
		return;
	S.stopping = true;
	log_info("stopping (%s)", why);
	sd_notify_send("STOPPING=1");
	for (int i = P_INGEST; i < P_NPROC; i++) {
		struct slot *s = &S.slots[i];
		if (s->pid) {
			if (s->ch)
				send_ctl(s, CT_MSG_SHUTDOWN, NULL, 0);
			else
				kill(s->pid, SIGTERM);
			s->kill_at_ms = now_ms() + STOP_GRACE_MS;
		} else
			s->state = SLOT_STOPPED;
		answer_waiters(s, false, "carnitrackd is stopping");
	}
	finish_if_stopped();
}

static void
reload(void)
{
	struct ct_conf *nc = malloc(sizeof(*nc));
	char *text = NULL, err[1024];
	size_t len = 0;
	enum log_level lvl;

	if (nc == NULL)
		return;
	sd_notify_send("RELOADING=1");
	if (conf_load(S.opts.conf_path, nc, &text, &len, err, sizeof(err)) != 0) {
		log_err("reload refused, keeping the running config: %s", err);
		free(nc);
		sd_notify_send("READY=1\nSTATUS=reload refused, see the log");
		return;
	}
	if (strcmp(nc->run_dir, S.conf->run_dir) || strcmp(nc->user, S.conf->user))
		log_warn("run_dir and user changes take effect when carnitrackd restarts");
	free(S.text);
	free(S.conf);
	S.conf = nc;
	S.text = text;
	S.textlen = len;
	if (!S.opts.verbose && log_level_parse(nc->log_level, &lvl) == 0)
		log_set_level(lvl);
	log_info("config reloaded from %s", S.opts.conf_path);
	for (int i = P_INGEST; i < P_NPROC; i++) {
		struct slot *s = &S.slots[i];
		if (s->hello && s->ch)
			send_config(s);
		else if (s->state == SLOT_FAILED) {
			s->why[0] = '\0';
			s->backoff_s = 0;
			spawn(s);
		}
	}
	sd_notify_send("READY=1");
}

static void
on_signal(evutil_socket_t sig, short what, void *arg)
{
	if (sig == SIGHUP)
		reload();
	else
		begin_stop(sig == SIGTERM ? "SIGTERM" : "SIGINT");
}

/*
 * Bounds every process inherits: no core files (they would hold the cloud
 * token), the fd limit raised to its hard maximum (ingest holds one per
 * scale connection), and no way to regain privileges through exec.
 */
static int
limit_process(char *err, size_t errlen)
{
	struct rlimit rl = { 0, 0 };

	if (setrlimit(RLIMIT_CORE, &rl) != 0) {
		snprintf(err, errlen, "setrlimit(RLIMIT_CORE): %s", strerror(errno));
		return -1;
	}
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max > 65536 ? 65536 : rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
			log_warn("cannot raise the open-file limit: %s", strerror(errno));
	}
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) {
		snprintf(err, errlen, "prctl(PR_SET_NO_NEW_PRIVS): %s", strerror(errno));
		return -1;
	}
	return 0;
}

/* The daemon's directories, made and handed to the user without following
 * a link (lib/util/safe_dir.c); 0750 whatever the umask. */
static int
own_dir(const char *what, const char *dir, const struct passwd *pw, char *err, size_t errlen)
{
	char why[900];
	int fd = safe_dir_open(dir, 0750, pw ? pw->pw_name : NULL, why, sizeof(why));

	if (fd < 0) {
		snprintf(err, errlen, "%s: [edge] %s: %s", S.opts.conf_path, what, why);
		return -1;
	}
	close(fd);
	return 0;
}

/* Creates the directories, opens the control socket, then gives up root. */
static int
prepare(char *err, size_t errlen)
{
	struct passwd *pw = NULL;
	gid_t gid = (gid_t)-1;

	/* What any process of ours creates is nothing to others unless it says
	 * so (the socket, the store's files set their modes explicitly). */
	umask(027);

	if (S.conf->user[0] && geteuid() == 0) {
		if ((pw = getpwnam(S.conf->user)) == NULL) {
			snprintf(err, errlen, "%s: [edge] user: no such user '%s'", S.opts.conf_path,
			    S.conf->user);
			return -1;
		}
		gid = pw->pw_gid;
	}
	if (own_dir("run_dir", S.conf->run_dir, pw, err, errlen) != 0 ||
	    own_dir("data_dir", S.conf->data_dir, pw, err, errlen) != 0)
		return -1;
	if (control_open(S.base, S.conf->run_dir, gid, err, errlen) != 0)
		return -1;
	/* getpwnam's static record may have been reused since: read it again */
	if (pw != NULL && ((pw = getpwnam(S.conf->user)) == NULL || pw->pw_gid != gid)) {
		snprintf(err, errlen, "[edge] user %s changed while starting", S.conf->user);
		return -1;
	}
	if (pw != NULL) {
		if (setgroups(0, NULL) != 0 || initgroups(pw->pw_name, pw->pw_gid) != 0 ||
		    setgid(pw->pw_gid) != 0 || setuid(pw->pw_uid) != 0) {
			snprintf(err, errlen, "cannot drop privileges to %s: %s", pw->pw_name, strerror(errno));
			return -1;
		}
		if (setuid(0) == 0) {
			snprintf(err, errlen, "privilege drop to %s did not stick", pw->pw_name);
			return -1;
		}
		log_info("running as user %s", pw->pw_name);
	} else if (S.conf->user[0]) {
		struct passwd *me = getpwuid(geteuid());
		if (me == NULL || strcmp(me->pw_name, S.conf->user) != 0)
			log_warn("not root: cannot switch to user '%s', running as '%s'", S.conf->user,
			    me ? me->pw_name : "?");
	}
	if (limit_process(err, errlen) != 0)
		return -1;
	return 0;
}

int
supervisor_run(const struct sup_opts *o, struct ct_conf *conf, char *text, size_t textlen)
{
	char err[1024];
	struct timeval tick = { 0, TICK_MS * 1000 };

	memset(&S, 0, sizeof(S));
	S.opts = *o;
	S.conf = conf;
	S.text = text;
	S.textlen = textlen;
	S.started_ms = now_ms();
	signal(SIGPIPE, SIG_IGN);
	if ((S.base = event_base_new()) == NULL) {
		log_err("event_base_new failed");
		return CT_EXIT_FAIL;
	}
	if (prepare(err, sizeof(err)) != 0) {
		log_err("%s", err);
		return CT_EXIT_FAIL;
	}
	S.ev_chld = evsignal_new(S.base, SIGCHLD, on_sigchld, NULL);
	S.ev_term = evsignal_new(S.base, SIGTERM, on_signal, NULL);
	S.ev_int = evsignal_new(S.base, SIGINT, on_signal, NULL);
	S.ev_hup = evsignal_new(S.base, SIGHUP, on_signal, NULL);
	S.tick = event_new(S.base, -1, EV_PERSIST, on_tick, NULL);
	if (!S.ev_chld || !S.ev_term || !S.ev_int || !S.ev_hup || !S.tick ||
	    event_add(S.ev_chld, NULL) || event_add(S.ev_term, NULL) || event_add(S.ev_int, NULL) ||
	    event_add(S.ev_hup, NULL) || event_add(S.tick, &tick)) {
		log_err("cannot set up signal handling");
		return CT_EXIT_FAIL;
	}
	log_info("carnitrackd %s starting, config %s, control %s", CT_VERSION, o->conf_path,
	    control_socket_path());
	for (int i = P_INGEST; i < P_NPROC; i++) {
		S.slots[i].id = (enum ct_proc)i;
		spawn(&S.slots[i]);
	}
	event_base_dispatch(S.base);
	control_close();
	while (S.reqs)
		status_req_finish(S.reqs);
	for (int i = P_INGEST; i < P_NPROC; i++) {
		if (S.slots[i].ch)
			channel_free(S.slots[i].ch);
		if (S.slots[i].held)
			evbuffer_free(S.slots[i].held);
	}
	event_free(S.ev_chld);
	event_free(S.ev_term);
	event_free(S.ev_int);
	event_free(S.ev_hup);
	event_free(S.tick);
	event_base_free(S.base);
	free(S.text);
	free(S.conf);
	log_info("stopped");
	return S.exit_code;
}
