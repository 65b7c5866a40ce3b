/*
 * The process table at run time: one slot per worker, each forked and
 * re-executed with fd 3 as its channel, and the policy that keeps it
 * running.
 *
 * Restart policy (s6-like): a worker that dies after being ready for more
 * than RESTART_FAST_MS is respawned at once; one that dies before READY or
 * soon after it waits 1 s, 2 s, ... up to BACKOFF_MAX_S (backoff(), the one
 * place that computes it), and the backoff is forgotten after
 * BACKOFF_RESET_MS of health. Exit CT_EXIT_CONFIG is final until a reload
 * brings a config the worker accepts; CT_EXIT_RESTART asks for a respawn now.
 * A worker the config turns off (sup_enable.c) is not started, and a
 * reload that turns it on or off starts or stops it.
 */
#include "supervisor.h"

#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "event/event.h"
#include "ipc/pack.h"
#include "log/log.h"
#include "util/sdnotify.h"

#define PING_EVERY_MS      2000
#define HUNG_MS            10000    /* no PONG for this long: SIGKILL */
#define HANDSHAKE_MS       10000    /* spawn -> READY */
#define RESTART_FAST_MS    1000
#define BACKOFF_MAX_S      30
#define BACKOFF_RESET_MS   60000
#define STOP_GRACE_MS      4000     /* SHUTDOWN -> SIGKILL */

struct sup S;

const char *
sup_slot_state_name(enum slot_state st)
{
	switch (st) {
	case SLOT_STOPPED: return "stopped";
	case SLOT_STARTING: return "starting";
	case SLOT_RUNNING: return "running";
	case SLOT_BACKOFF: return "backoff";
	case SLOT_FAILED: return "failed";
	case SLOT_DISABLED: return "disabled";
	}
	return "?";
}

void
sup_proc_init(struct event_base *base, const struct sup_opts *o, struct ct_conf *conf,
    char *text, size_t textlen, channel_cb on_frame)
{
	memset(&S, 0, sizeof(S));
	S.base = base;
	S.opts = *o;
	S.conf = conf;
	S.text = text;
	S.textlen = textlen;
	S.on_frame = on_frame;
	S.started_ms = ct_now_ms_mono();
	for (int i = P_WORKER_FIRST; i < P_NPROC; i++)
		S.slots[i].id = (enum ct_proc)i;
}

uint32_t
sup_next_id(void)
{
	if (++S.next_id == 0)
		S.next_id = 1;
	return S.next_id;
}

static void
send_ctl(struct slot *s, uint16_t type, const void *p, size_t n)
{
	if (s->ch && channel_send(s->ch, type, 0, p, n) != 0)
		log_warn("cannot send %s to %s", ct_msg_name(type), ct_proc_name(s->id));
}

static void
sup_send_config(struct slot *s)
{
	size_t cap = S.textlen + CT_CONF_PATH + 16;
	uint8_t *buf = malloc(cap);
	struct pack pk;

	if (buf == NULL) {
		log_err("out of memory sending the config to %s", ct_proc_name(s->id));
		return;
	}
	pack_init(&pk, buf, cap);
	pack_str(&pk, S.opts.conf_path);
	pack_blob(&pk, S.text, S.textlen);
	if (pack_ok(&pk))
		send_ctl(s, CT_MSG_CONFIG, buf, pk.len);
	free(buf);
}

/* The others learn that a worker is gone (their channel to it has closed). */
static void
tell_peers_down(struct slot *about)
{
	uint8_t p = (uint8_t)about->id;

	for (int i = P_WORKER_FIRST; i < P_NPROC; i++) {
		struct slot *o = &S.slots[i];
		if (o != about && o->state == SLOT_RUNNING)
			send_ctl(o, CT_MSG_PEER_DOWN, &p, 1);
	}
}

static bool
all_running(void)
{
	for (int i = P_WORKER_FIRST; i < P_NPROC; i++)
		if (S.slots[i].state != SLOT_RUNNING && S.slots[i].state != SLOT_DISABLED)
			return false;
	return true;
}

/* Ready for systemd: every worker runs but those turned off and those
 * the daemon is ready without (web: its port may be held a while). */
static bool
ready_to_serve(void)
{
	for (int i = P_WORKER_FIRST; i < P_NPROC; i++)
		if (S.slots[i].state != SLOT_RUNNING && S.slots[i].state != SLOT_DISABLED &&
		    (S.opts.optional == NULL || !S.opts.optional((enum ct_proc)i)))
			return false;
	return true;
}

static void
answer_waiters(struct slot *s, const char *error)
{
	for (int i = 0; i < s->nwaiters; i++)
		s->waiters[i].done(s->waiters[i].token, s->id, s->pid, error);
	s->nwaiters = 0;
}

/* The one backoff: 1 s, doubling to BACKOFF_MAX_S. */
static void
backoff(struct slot *s, int64_t now)
{
	s->backoff_s = s->backoff_s ? s->backoff_s * 2 : 1;
	if (s->backoff_s > BACKOFF_MAX_S)
		s->backoff_s = BACKOFF_MAX_S;
	s->state = SLOT_BACKOFF;
	s->due_ms = now + s->backoff_s * 1000;
}

/*
 * The newcomer s and a running worker o learn of each other with PEER_UP;
 * two that have routes between them (messages.def) also get the two ends
 * of a fresh socketpair, their direct channel (OpenSMTPD setup_peers, gmid
 * proc_open). Frames between workers never pass through here: while one is
 * down its peers hold or drop what is for it (messages.def, HELD).
 */
static int
introduce(struct slot *s, struct slot *o)
{
	uint8_t ps = (uint8_t)s->id, po = (uint8_t)o->id;
	int sv[2] = { -1, -1 }, rc = 0;

	if (ct_procs_talk(s->id, o->id) &&
	    socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) {
		log_errno("socketpair for %s and %s", ct_proc_name(s->id), ct_proc_name(o->id));
		return -1;
	}
	/* each send takes its own copy of the fd */
	if (channel_send_fd(s->ch, CT_MSG_PEER_UP, 0, &po, 1, sv[0]) != 0 ||
	    channel_send_fd(o->ch, CT_MSG_PEER_UP, 0, &ps, 1, sv[1]) != 0) {
		log_err("cannot tell %s and %s about each other", ct_proc_name(s->id),
		    ct_proc_name(o->id));
		rc = -1;
	}
	if (sv[0] >= 0) {
		close(sv[0]);
		close(sv[1]);
	}
	return rc;
}

void
sup_on_hello(struct slot *s, const struct frame *f)
{
	struct unpack u;
	uint32_t ver;
	char role[32];

	unpack_init(&u, f->payload, f->plen);
	ver = unpack_u32(&u);
	unpack_str(&u, role, sizeof(role));
	if (!unpack_done(&u) || ver != CT_PROTO_VERSION || strcmp(role, ct_proc_name(s->id)) != 0) {
		log_err("%s: bad HELLO (version %u, role '%s'), killing it", ct_proc_name(s->id),
		    ver,
		    role);
		snprintf(s->why, sizeof(s->why), "bad HELLO");
		kill(s->pid, SIGKILL);
		return;
	}
	s->hello = true;
	sup_send_config(s);
}

void
sup_on_ready(struct slot *s)
{
	if (s->state != SLOT_STARTING || !s->hello)
		return;
	s->state = SLOT_RUNNING;
	s->ready_ms = ct_now_ms_mono();
	s->last_pong_ms = s->ready_ms;
	s->ping_sent_ms = 0;
	s->why[0] = '\0';
	log_info("%s ready (pid %d)", ct_proc_name(s->id), (int)s->pid);
	/* The newcomer learns who is up, the others that it is back, and the
	 * pairs that talk get their channel. */
	for (int i = P_WORKER_FIRST; i < P_NPROC; i++) {
		struct slot *o = &S.slots[i];
		if (o == s || o->state != SLOT_RUNNING || o->ch == NULL)
			continue;
		if (introduce(s, o) != 0) {
			/* without its channels it is of no use: start it again */
			snprintf(s->why, sizeof(s->why), "no channel to %s", ct_proc_name(o->id));
			log_err("%s: %s, killing it", ct_proc_name(s->id), s->why);
			kill(s->pid, SIGKILL);
			return;
		}
	}
	answer_waiters(s, NULL);
	if (!S.notified_ready && ready_to_serve()) {
		S.notified_ready = true;
		sd_notify_send("READY=1\nSTATUS=workers running");
		log_info("%s", all_running() ? "all workers running" :
		    "ready: the workers on the write path run, an optional one is not up yet");
	}
}

void
sup_on_pong(struct slot *s)
{
	s->last_pong_ms = ct_now_ms_mono();
}

int
sup_ask(enum ct_proc p, uint16_t type, const void *payload, size_t len, uint32_t *id)
{
	struct slot *s = &S.slots[p];

	*id = sup_next_id();
	if (S.stopping || s->state != SLOT_RUNNING || s->ch == NULL)
		return -1;
	return channel_send(s->ch, type, *id, payload, len) == 0 ? 0 : -1;
}

/* Asks a running (or starting) worker to stop so that it is respawned. */
static void
stop_slot(struct slot *s)
{
	if (s->ch)
		send_ctl(s, CT_MSG_SHUTDOWN, NULL, 0);
	else
		kill(s->pid, SIGTERM);
	s->kill_at_ms = ct_now_ms_mono() + STOP_GRACE_MS;
}

int
sup_restart(enum ct_proc p, sup_restart_cb done, uint64_t token, char *err, size_t errlen)
{
	struct slot *s = &S.slots[p];

	if (S.stopping) {
		snprintf(err, errlen, "carnitrackd is stopping");
		return -1;
	}
	if (s->nwaiters >= SUP_MAX_WAITERS) {
		snprintf(err, errlen, "too many restarts of %s waiting", ct_proc_name(p));
		return -1;
	}
	if (sup_disabled_why(p) != NULL) {
		snprintf(err, errlen, "%s is disabled: %s", ct_proc_name(p), sup_disabled_why(p));
		return -1;
	}
	s->waiters[s->nwaiters++] = (struct sup_waiter){ done, token };
	log_info("restart of %s requested by carnitrackctl", ct_proc_name(p));
	switch (s->state) {
	case SLOT_RUNNING:
	case SLOT_STARTING:
		s->restart_now = true;
		stop_slot(s);
		break;
	case SLOT_BACKOFF:
	case SLOT_FAILED:
	case SLOT_STOPPED:
	case SLOT_DISABLED:
		s->backoff_s = 0;
		sup_spawn(s);
		break;
	}
	return 0;
}

static void
exec_worker(struct slot *s, int fd)
{
	const char *argv[6];
	char role[32];
	int a = 0;
	sigset_t none;

	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	if (fd == 3) {
		if (fcntl(3, F_SETFD, 0) != 0)
			_exit(127);
	} else if (dup2(fd, 3) != 3)
		_exit(127);
	snprintf(role, sizeof(role), "--worker=%s", ct_proc_name(s->id));
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

void
sup_spawn(struct slot *s)
{
	int sv[2];
	pid_t pid;

	s->restart_now = false;
	s->hello = false;
	s->kill_at_ms = 0;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) {
		log_errno("socketpair for %s", ct_proc_name(s->id));
		backoff(s, ct_now_ms_mono());
		return;
	}
	if ((pid = fork()) < 0) {
		log_errno("fork for %s", ct_proc_name(s->id));
		close(sv[0]);
		close(sv[1]);
		backoff(s, ct_now_ms_mono());
		return;
	}
	if (pid == 0)
		exec_worker(s, sv[1]);
	close(sv[1]);
	s->ch = channel_new(S.base, sv[0], s->id, S.on_frame, s);
	if (s->ch == NULL) {
		log_err("cannot set up the channel to %s", ct_proc_name(s->id));
		close(sv[0]);
		kill(pid, SIGKILL);
	}
	s->pid = pid;
	s->state = SLOT_STARTING;
	s->spawned_ms = ct_now_ms_mono();
	log_info("started %s (pid %d)", ct_proc_name(s->id), (int)pid);
}

static void
finish_if_stopped(void)
{
	for (int i = P_WORKER_FIRST; i < P_NPROC; i++)
		if (S.slots[i].pid != 0)
			return;
	log_info("all workers stopped");
	event_base_loopbreak(S.base);
}

static void
on_death(struct slot *s, int status)
{
	bool was_running = s->state == SLOT_RUNNING;
	int64_t now = ct_now_ms_mono();

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
		tell_peers_down(s);
	if (S.stopping) {
		s->state = SLOT_STOPPED;
		answer_waiters(s, "carnitrackd is stopping");
		finish_if_stopped();
		return;
	}
	if (sup_disabled_why(s->id) != NULL) {
		/* a reload turned it off and it stopped as asked */
		sup_disable(s, sup_disabled_why(s->id));
		answer_waiters(s, s->why);
		return;
	}
	if (!s->last_sig && s->last_code == CT_EXIT_CONFIG) {
		s->state = SLOT_FAILED;
		snprintf(s->why, sizeof(s->why), "configuration error (exit %d), see the log; "
		    "fix %s and reload (SIGHUP)", CT_EXIT_CONFIG, S.opts.conf_path);
		log_err("%s: %s; not restarting", ct_proc_name(s->id), s->why);
		answer_waiters(s, s->why);
		return;
	}
	if (s->restart_now || (!s->last_sig && s->last_code == CT_EXIT_RESTART) ||
	    (was_running && now - s->ready_ms > RESTART_FAST_MS)) {
		s->restarts++;
		sup_spawn(s);
		return;
	}
	backoff(s, now);
	if (!s->why[0])
		snprintf(s->why, sizeof(s->why), "died %s after start", was_running ?
		    "within a second" : "before READY");
	log_warn("%s restarting in %d s (%s)", ct_proc_name(s->id), s->backoff_s, s->why);
}

void
sup_on_death(pid_t pid, int status)
{
	for (int i = P_WORKER_FIRST; i < P_NPROC; i++)
		if (S.slots[i].pid == pid) {
			on_death(&S.slots[i], status);
			return;
		}
}

/* A deadline passed: kill the worker once, and say why. */
static void
kill_once(struct slot *s, int64_t *stamp, int64_t now, const char *fmt, int secs)
{
	snprintf(s->why, sizeof(s->why), fmt, secs);
	log_err("%s: %s, killing it", ct_proc_name(s->id), s->why);
	kill(s->pid, SIGKILL);
	*stamp = now;
}

void
sup_proc_tick(void)
{
	int64_t now = ct_now_ms_mono();

	for (int i = P_WORKER_FIRST; i < P_NPROC; i++) {
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
			if (now - s->spawned_ms > HANDSHAKE_MS)
				kill_once(s, &s->spawned_ms, now, "no READY within %d s",
				    HANDSHAKE_MS / 1000);
			break;
		case SLOT_RUNNING:
			if (now - s->last_pong_ms > HUNG_MS) {
				kill_once(s, &s->last_pong_ms, now,
				    "hung: no answer to ping for %d s",
				    HUNG_MS / 1000);
				break;
			}
			if (now - s->ping_sent_ms >= PING_EVERY_MS) {
				uint64_t tok = ++s->ping_token;
				s->ping_sent_ms = now;
				send_ctl(s, CT_MSG_PING, &tok, sizeof(tok));
			}
			if (s->backoff_s && now - s->ready_ms > BACKOFF_RESET_MS)
				s->backoff_s = 0;
			break;
		case SLOT_BACKOFF:
			if (now >= s->due_ms) {
				s->restarts++;
				sup_spawn(s);
			}
			break;
		default:
			break;
		}
	}
}

void
sup_stop_all(const char *why)
{
	if (S.stopping)
		return;
	S.stopping = true;
	log_info("stopping (%s)", why);
	sd_notify_send("STOPPING=1");
	for (int i = P_WORKER_FIRST; i < P_NPROC; i++) {
		struct slot *s = &S.slots[i];
		if (s->pid)
			stop_slot(s);
		else
			s->state = SLOT_STOPPED;
		answer_waiters(s, "carnitrackd is stopping");
	}
	finish_if_stopped();
}

void
sup_reconfigure(void)
{
	for (int i = P_WORKER_FIRST; i < P_NPROC; i++) {
		struct slot *s = &S.slots[i];
		const char *why = sup_disabled_why(s->id);

		if (why != NULL && s->pid != 0) {
			log_info("%s turned off by the new config (%s): stopping it",
			    ct_proc_name(s->id), why);
			stop_slot(s);
		} else if (why != NULL)
			sup_disable(s, why);
		else if (s->state == SLOT_DISABLED) {
			log_info("%s turned on by the new config", ct_proc_name(s->id));
			s->why[0] = '\0';
			sup_spawn(s);
		} else if (s->hello && s->ch)
			sup_send_config(s);
		else if (s->state == SLOT_FAILED) {
			s->why[0] = '\0';
			s->backoff_s = 0;
			sup_spawn(s);
		}
	}
}

void
sup_proc_free(void)
{
	for (int i = P_WORKER_FIRST; i < P_NPROC; i++) {
		if (S.slots[i].ch)
			channel_free(S.slots[i].ch);
		S.slots[i].ch = NULL;
	}
	free(S.text);
	free(S.conf);
	S.text = NULL;
	S.conf = NULL;
}
