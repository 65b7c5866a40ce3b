/*
 * The edge's status object (carnitrackctl status --json, the web worker's
 * /status.json): the supervisor's own figures, one item per worker of the
 * process table, and in each item that worker's figures, asked for with
 * STATUS_REQ under one frame id and collected until every running worker
 * answered or STATUS_WAIT_MS passed. Any requester may ask: it passes a
 * function and a token (a control client's id), never a pointer that the
 * wait could outlive. Bounded: at most STATUS_MAX_PENDING at once.
 * A worker asks over its channel (EDGE_STATUS_REQ, the web worker): one
 * request of its at a time, answered in EDGE_STATUS_REP pieces.
 */
#include "supervisor.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "event/event.h"
#include "ipc/pack.h"
#include "log/log.h"

#define STATUS_WAIT_MS     1000
#define STATUS_MAX_PENDING 64
#define STATUS_TEXT_MAX    (1024 * 1024)    /* 4 workers x 64 KiB, with room */
#define STATUS_PIECE       (CT_FRAME_MAX_PAYLOAD - 8)

struct status_req {
	uint32_t           id;
	sup_status_cb      done;
	uint64_t           token;
	json_t            *workers[P_NPROC];
	bool               asked[P_NPROC];
	struct event      *timer;
	struct status_req *next;
};

static struct status_req *reqs;
static unsigned npending;

static json_t *
worker_item(const struct slot *s, json_t *status, int64_t now, bool *degraded)
{
	json_t *w = json_object();
	char last[48] = "";

	if (w == NULL)
		return NULL;
	if (s->has_exit)
		snprintf(last, sizeof(last), s->last_sig ? "signal %d" : "exit %d",
		    s->last_sig ? s->last_sig : s->last_code);
	json_object_set_new(w, "name", json_string(ct_proc_name(s->id)));
	json_object_set_new(w, "pid", s->pid ? json_integer(s->pid) : json_null());
	json_object_set_new(w, "state", json_string(sup_slot_state_name(s->state)));
	json_object_set_new(w, "uptime_s", json_integer(s->state == SLOT_RUNNING ?
	    (now - s->ready_ms) / 1000 : 0));
	json_object_set_new(w, "restarts", json_integer(s->restarts));
	json_object_set_new(w, "last_exit", last[0] ? json_string(last) : json_null());
	if (s->why[0])
		json_object_set_new(w, "why", json_string(s->why));
	if (s->state == SLOT_BACKOFF)
		json_object_set_new(w, "retry_in_ms", json_integer(s->due_ms > now ?
		    s->due_ms - now : 0));
	if (status != NULL) {
		json_t *h = json_object_get(status, "health");
		if (json_is_string(h) && strcmp(json_string_value(h), "ok") != 0)
			*degraded = true;
		json_object_set(w, "status", status);
	}
	if (s->state != SLOT_RUNNING && s->state != SLOT_DISABLED)
		*degraded = true;
	return w;
}

static json_t *
build(struct status_req *r)
{
	json_t *top = json_object(), *arr = json_array();
	bool degraded = false;
	int64_t now = ct_now_ms_mono();

	if (top == NULL || arr == NULL) {
		json_decref(top);
		json_decref(arr);
		return NULL;
	}
	json_object_set_new(top, "ok", json_true());
	json_object_set_new(top, "version", json_integer(1));
	json_object_set_new(top, "daemon_version", json_string(CT_VERSION));
	json_object_set_new(top, "pid", json_integer(getpid()));
	json_object_set_new(top, "uptime_s", json_integer((now - S.started_ms) / 1000));
	json_object_set_new(top, "config", json_string(S.opts.conf_path));
	for (int i = P_WORKER_FIRST; i < P_NPROC; i++) {
		json_t *w = worker_item(&S.slots[i], r->workers[i], now, &degraded);
		if (w != NULL)
			json_array_append_new(arr, w);
	}
	json_object_set_new(top, "health", json_string(degraded ? "degraded" : "ok"));
	json_object_set_new(top, "workers", arr);
	return top;
}

static void
finish(struct status_req *r)
{
	json_t *top;

	for (struct status_req **pp = &reqs; *pp; pp = &(*pp)->next)
		if (*pp == r) {
			*pp = r->next;
			break;
		}
	npending--;
	event_free(r->timer);
	if ((top = build(r)) != NULL)
		r->done(top, r->token);
	else
		log_err("out of memory building the status");
	for (int i = 0; i < P_NPROC; i++)
		json_decref(r->workers[i]);
	free(r);
}

static void
timeout_cb(evutil_socket_t fd, short what, void *arg)
{
	finish(arg);
}

void
sup_status(sup_status_cb done, uint64_t token)
{
	struct status_req *r;
	struct timeval tv = { STATUS_WAIT_MS / 1000, (STATUS_WAIT_MS % 1000) * 1000 };
	bool any = false;

	if (npending >= STATUS_MAX_PENDING || (r = calloc(1, sizeof(*r))) == NULL) {
		log_warn("status: %u requests pending, answering without the workers' figures",
		    npending);
		struct status_req none = { .done = done, .token = token };
		json_t *top = build(&none);
		if (top != NULL)
			done(top, token);
		return;
	}
	r->id = sup_next_id();
	r->done = done;
	r->token = token;
	if ((r->timer = evtimer_new(S.base, timeout_cb, r)) == NULL) {
		free(r);
		log_err("out of memory for a status request");
		return;
	}
	r->next = reqs;
	reqs = r;
	npending++;
	for (int i = P_WORKER_FIRST; i < P_NPROC; i++) {
		struct slot *s = &S.slots[i];
		if (s->state == SLOT_RUNNING && s->ch &&
		    channel_send(s->ch, CT_MSG_STATUS_REQ, r->id, NULL, 0) == 0) {
			r->asked[i] = true;
			any = true;
		}
	}
	if (!any) {
		finish(r);
		return;
	}
	evtimer_add(r->timer, &tv);
}

void
sup_status_reply(struct slot *s, const struct frame *f)
{
	struct unpack u;
	const uint8_t *js;
	size_t n;
	json_error_t je;

	for (struct status_req *r = reqs; r; r = r->next) {
		if (r->id != f->hdr.id || !r->asked[s->id])
			continue;
		unpack_init(&u, f->payload, f->plen);
		js = unpack_blob(&u, &n);
		r->asked[s->id] = false;
		if (js && (r->workers[s->id] = json_loadb((const char *)js, n, 0, &je)) == NULL)
			log_warn("%s: unreadable STATUS_REP: %s", ct_proc_name(s->id), je.text);
		for (int i = P_WORKER_FIRST; i < P_NPROC; i++)
			if (r->asked[i])
				return;
		finish(r);
		return;
	}
}

void
sup_status_close(void)
{
	while (reqs)
		finish(reqs);
}

/* ---- for a worker that asks (the web worker) ---- */

/* The pid of the worker process whose request is pending, per worker: a
 * new process of that worker (restarted meanwhile) may ask at once, and
 * the answer meant for the old one is dropped. The token carries the pid
 * (pid_max is at most 2^22), the process and the frame id. */
static pid_t worker_asking[P_NPROC];

static void
worker_done(json_t *status, uint64_t token)
{
	pid_t pid = (pid_t)(token >> 40);
	enum ct_proc p = (enum ct_proc)((token >> 32) & 0xff);
	uint32_t id = (uint32_t)token;
	struct slot *s = &S.slots[p];
	uint8_t buf[CT_FRAME_MAX_PAYLOAD];
	char *text = json_dumps(status, JSON_COMPACT);
	size_t len, off = 0;
	struct pack pk;

	json_decref(status);
	if (worker_asking[p] == pid)
		worker_asking[p] = 0;
	if (text == NULL) {
		log_err("out of memory writing the status for %s", ct_proc_name(p));
		return;
	}
	len = strlen(text);
	/* The asker may have died meanwhile; its successor asks afresh. */
	if (s->pid != pid || s->state != SLOT_RUNNING || s->ch == NULL || len > STATUS_TEXT_MAX) {
		if (len > STATUS_TEXT_MAX)
			log_err("status of %zu bytes is too large for %s", len, ct_proc_name(p));
		free(text);
		return;
	}
	do {
		size_t n = len - off < STATUS_PIECE ? len - off : STATUS_PIECE;

		pack_init(&pk, buf, sizeof(buf));
		pack_u32(&pk, (uint32_t)len);
		pack_u32(&pk, (uint32_t)off);
		pack_bytes(&pk, text + off, n);
		if (!pack_ok(&pk) || channel_send(s->ch, CT_MSG_EDGE_STATUS_REP, id, buf,
		    pk.len) != 0) {
			log_warn("status for %s not sent: channel full", ct_proc_name(p));
			break;
		}
		off += n;
	} while (off < len);
	free(text);
}

void
sup_status_for_worker(struct slot *s, const struct frame *f)
{
	if (worker_asking[s->id] == s->pid) {
		/* messages.def allows one at a time; the worker's own timeout
		 * asks again once this one is answered */
		log_debug("%s asked for the status again before its answer; ignored",
		    ct_proc_name(s->id));
		return;
	}
	worker_asking[s->id] = s->pid;
	sup_status(worker_done, (uint64_t)s->pid << 40 | (uint64_t)s->id << 32 | f->hdr.id);
}
