/*
 * The frame every worker runs in (worker.c): fd 3 to the supervisor, one
 * libevent loop, PR_SET_PDEATHSIG, the HELLO -> CONFIG -> READY handshake,
 * PING/PONG, STATUS_REQ/REP, SHUTDOWN, SIGTERM, exit when fd 3 closes, and
 * the direct channels to the other workers that PEER_UP brings.
 * A worker (ingest_worker.c, store_worker.c, cloud_worker.c, web_worker.c)
 * fills in ops.
 */
#ifndef CT_WORKER_H
#define CT_WORKER_H

#include <stdbool.h>
#include <event2/event.h>
#include <jansson.h>

#include "conf/conf.h"
#include "ipc/frame.h"
#include "ipc_proto.h"
#include "util/trace.h"

struct worker;

#define WORKER_RETRY (-2)
/* Bytes of HELD frames (messages.def) kept for one peer while it is down. */
#define WORKER_HOLD_MAX (2u * 1024 * 1024)

struct worker_ops {
	/* Run by the supervisor, not the worker: NULL when the config wants
	 * this worker, else why not (e.g. "[http] listen is empty"); such a
	 * worker is not started and shows as disabled. May be NULL: always on. */
	const char *(*disabled)(const struct ct_conf *conf);
	/* The daemon is ready (systemd READY=1) without it: a worker off the
	 * write path (web), whose port held by another program must not keep
	 * the scales' service from starting. Its state still counts in health. */
	bool optional;
	/* Called with the validated config before READY (first = true) and on
	 * every reload. Return 0; or -1 after logging, which makes the worker
	 * exit with CT_EXIT_CONFIG on first start (not restarted) and keep the
	 * old config on reload. Return WORKER_RETRY for a failure that may
	 * pass (a port still held, an interface not up yet): the worker exits
	 * with CT_EXIT_FAIL and the supervisor tries again with backoff.
	 * A reload that needs a restart may call worker_exit(w, CT_EXIT_RESTART). */
	int  (*configure)(struct worker *w, const struct ct_conf *conf, bool first);
	/* A routed frame from another worker (everything but the control
	 * types, which worker.c handles). */
	void (*frame)(struct worker *w, const struct frame *f);
	/* PEER_DOWN / PEER_UP about another worker. */
	void (*peer)(struct worker *w, enum ct_proc peer, bool up);
	/* Add this worker's figures to the status object. */
	void (*status)(struct worker *w, json_t *obj);
	/* SHUTDOWN or SIGTERM: finish what is in hand (commit, flush) and call
	 * worker_exit(w, 0). May be NULL: the worker exits at once. */
	void (*shutdown)(struct worker *w);
};

/* Runs worker `proc` (main.c's process table gives its ops); returns the
 * exit code. */
int  worker_main(enum ct_proc proc, const struct worker_ops *ops);

struct event_base   *worker_base(struct worker *w);
const struct ct_conf *worker_conf(struct worker *w);
/* Send a frame where its type's route goes: to another worker over the
 * direct channel, to the supervisor over fd 3. 0 when it is on its way, or
 * held for a peer that is down (a HELD type). -1 when it is not sent: the
 * channel's output queue is full (apply back-pressure, retry later), or the
 * peer is down and the type is not held (send it again on PEER_UP). */
int    worker_send(struct worker *w, uint16_t type, uint32_t id, const void *p, size_t n);
/* Can the peer worker be sent to now: up as last told by PEER_UP/PEER_DOWN,
 * and its channel open (it closes the moment the peer dies)? */
bool   worker_peer_up(struct worker *w, enum ct_proc peer);
void   worker_exit(struct worker *w, int code);
/* Private data of the concrete worker. */
void   worker_set_data(struct worker *w, void *data);
void  *worker_data(struct worker *w);

/* The workers, for main.c's process table. */
extern const struct worker_ops ingest_worker_ops, store_worker_ops, cloud_worker_ops,
    web_worker_ops;

#endif
