/*
 * The supervisor's insides, shared by its files (each calls only those
 * below it; sup_proc.c owns the state):
 *   supervisor.c  supervisor_run: set-up order, signals, the tick, reload, stop
 *   control.c     the control socket: carnitrackctl's requests, replies by
 *                 client id (control_identity.c: identity --reset)
 *   sup_route.c   frames from workers: the supervisor's own (handshake,
 *                 liveness, replies) to the part that owns them; workers
 *                 talk to each other over direct channels (worker.c)
 *   sup_status.c  the status object, for any requester (control client, a
 *                 worker over its channel), answered through a callback
 *   sup_proc.c    the process table at run time: spawn, handshake, liveness,
 *                 restart policy and its backoff, the workers' direct
 *                 channels handed out with PEER_UP, requests to workers by
 *                 frame id
 *   sup_enable.c  workers the config turns off (shown disabled)
 *   sup_setup.c   process set-up: directories, privileges, rlimits
 *
 * Requests that wait for a worker (status, restart, identity reset) never
 * keep a pointer to whoever asked: they keep a token (a control client's
 * id) and a function to call with it, and the control socket finds the
 * client again when the answer comes (OpenBGPD control_imsg_relay finds its
 * client by pid). A client that left meanwhile gets nothing.
 */
#ifndef CT_SUPERVISOR_H
#define CT_SUPERVISOR_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <jansson.h>

#include "conf/conf.h"
#include "ipc/channel.h"
#include "ipc_proto.h"

struct sup_opts {
	const char *conf_path;
	bool        foreground;
	bool        verbose;
	const char *self_exe;     /* path to re-execute for workers */
	/* NULL when conf wants worker p, else why not (main.c's table). */
	const char *(*disabled)(enum ct_proc p, const struct ct_conf *conf);
	/* true when the daemon is ready (READY=1) without worker p running. */
	bool        (*optional)(enum ct_proc p);
};

int  supervisor_run(const struct sup_opts *o, struct ct_conf *conf, char *text, size_t textlen);

/* ------------------------------------------------------------ sup_proc.c */

enum slot_state { SLOT_STOPPED, SLOT_STARTING, SLOT_RUNNING, SLOT_BACKOFF, SLOT_FAILED,
    SLOT_DISABLED };
const char *sup_slot_state_name(enum slot_state s);

/* A restart asked for by someone who waits for its outcome. */
typedef void (*sup_restart_cb)(uint64_t token, enum ct_proc p, pid_t pid, const char *error);
struct sup_waiter {
	sup_restart_cb done;
	uint64_t       token;
};
#define SUP_MAX_WAITERS 8

/* One worker of the process table. */
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
	struct sup_waiter  waiters[SUP_MAX_WAITERS];
	int                nwaiters;
};

/* The supervisor's state: one per process. */
struct sup {
	struct event_base *base;
	struct sup_opts    opts;
	struct ct_conf    *conf;
	char              *text;          /* the config file's bytes, as validated */
	size_t             textlen;
	struct slot        slots[P_NPROC];
	bool               stopping;
	int64_t            started_ms;
	bool               notified_ready;
	uint32_t           next_id;       /* frame ids of the supervisor's requests */
	channel_cb         on_frame;      /* sup_route.c's, for every worker channel */
};
extern struct sup S;

void sup_proc_init(struct event_base *base, const struct sup_opts *o, struct ct_conf *conf,
    char *text, size_t textlen, channel_cb on_frame);
void sup_spawn(struct slot *s);
void sup_on_death(pid_t pid, int status);
/* Once a tick: deadlines (handshake, hung, stop grace), pings, backoffs. */
void sup_proc_tick(void);
/* Worker lifecycle frames (sup_route.c hands them over). */
void sup_on_hello(struct slot *s, const struct frame *f);
void sup_on_ready(struct slot *s);
void sup_on_pong(struct slot *s);
/* carnitrackctl restart: done(token, ...) once the worker runs again (or
 * failed to). -1 with err when it cannot even begin. */
int  sup_restart(enum ct_proc p, sup_restart_cb done, uint64_t token, char *err, size_t errlen);
/* Sends a request frame of `type` (payload, len bytes; NULL, 0: empty) to
 * worker p with a fresh frame id (in *id); the worker answers to the
 * supervisor with that id. -1 when p is not running. */
int  sup_ask(enum ct_proc p, uint16_t type, const void *payload, size_t len, uint32_t *id);
uint32_t sup_next_id(void);
/* SIGTERM: SHUTDOWN to every worker, waiters told; the loop ends when all
 * are gone. */
void sup_stop_all(const char *why);
/* Reload: the new config to every worker that said HELLO, a failed one
 * spawned again. */
void sup_reconfigure(void);
void sup_proc_free(void);

/* ------------------------------------------------------------ sup_enable.c */

/* NULL when the running config wants worker p, else why not. */
const char *sup_disabled_why(enum ct_proc p);
/* The slot of a worker the config turns off (not running). */
void sup_disable(struct slot *s, const char *why);
/* At start: every worker the config wants spawned, the others disabled. */
void sup_start_all(void);

/* ------------------------------------------------------------ sup_status.c */

/* The aggregated status object (stolen by done), for whoever asked: a
 * control client (token = its id) or a worker over its channel. */
typedef void (*sup_status_cb)(json_t *status, uint64_t token);
void sup_status(sup_status_cb done, uint64_t token);
void sup_status_reply(struct slot *s, const struct frame *f);   /* STATUS_REP */
void sup_status_close(void);           /* answers what is pending, on exit */
/* EDGE_STATUS_REQ: a worker (web) asks for the whole object; the answer
 * goes back to it in EDGE_STATUS_REP pieces. One at a time per worker. */
void sup_status_for_worker(struct slot *s, const struct frame *f);

/* ------------------------------------------------------------ sup_route.c */

void sup_route_frame(struct channel *ch, const struct frame *f, void *arg);

/* ------------------------------------------------------------ sup_setup.c */

/* The daemon's directories (run_dir, data_dir), made and owned by the
 * configured user; *gid is that user's group for the control socket. */
int  sup_setup_dirs(const struct ct_conf *conf, const char *conf_path, gid_t *gid,
    char *err, size_t errlen);
/* Gives up root for the configured user, then the rlimits and no-new-privs
 * every process inherits. */
int  sup_setup_drop(const struct ct_conf *conf, gid_t gid, char *err, size_t errlen);

#endif
