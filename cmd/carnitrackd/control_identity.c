/*
 * carnitrackctl's identity requests while the daemon runs, each relayed to
 * the worker that can act and answered when it has:
 *   identity --reset  to the store worker, the one LMDB writer, as
 *                     IDENTITY_RESET; answered by IDENTITY_RESET_DONE after
 *                     the commit. The store also tells the cloud worker
 *                     (WORK_READY identity), which registers afresh.
 *   activate CODE     to the cloud worker as ACTIVATE (a REST cloud's setup
 *                     code, REST_API.md 4.2); answered by ACTIVATE_DONE once
 *                     the cloud did (the identity is stored by then).
 * Bounded: CONTROL_ASKS_MAX pending, each answered within its wait or told
 * it timed out.
 */
#include "control.h"

#include <stdlib.h>
#include <string.h>

#include "ipc/pack.h"
#include "ipc_proto.h"
#include "log/log.h"
#include "supervisor.h"

#define CONTROL_ASKS_MAX        4
#define CONTROL_RESET_WAIT_S    5
#define CONTROL_ACTIVATE_WAIT_S 25     /* one attempt of lib/http's 10 s, and slack */

enum ask_kind { ASK_RESET, ASK_ACTIVATE };

struct ask {
	enum ask_kind kind;
	uint32_t      id;             /* the request frame's */
	uint32_t      client;         /* the control client's */
	struct event *timer;
	bool          used;
};

static struct ask asks[CONTROL_ASKS_MAX];

static void
answer(struct ask *a, bool ok, const char *text)
{
	json_t *rep = json_pack("{s:b, s:i}", "ok", ok, "version", 1);

	if (rep != NULL && text != NULL && text[0] != '\0')
		json_object_set_new(rep, ok ? "message" : "error", json_string(text));
	if (rep != NULL)
		control_reply(a->client, rep);
	event_free(a->timer);
	a->used = false;
}

static void
timeout_cb(evutil_socket_t fd, short what, void *arg)
{
	struct ask *a = arg;

	answer(a, false, a->kind == ASK_RESET ? "the store worker did not answer in time; the "
	    "reset may still happen (see carnitrackctl identity)" : "the cloud did not answer "
	    "in time; see carnitrackctl identity and the log");
}

static void
refuse(uint32_t client, const char *why)
{
	json_t *rep = json_pack("{s:b, s:s, s:i}", "ok", 0, "error", why, "version", 1);

	if (rep != NULL)
		control_reply(client, rep);
}

static void
ask(struct event_base *base, uint32_t client, enum ask_kind kind, const void *payload,
    size_t len)
{
	struct timeval tv = { kind == ASK_RESET ? CONTROL_RESET_WAIT_S :
	    CONTROL_ACTIVATE_WAIT_S, 0 };
	enum ct_proc to = kind == ASK_RESET ? P_STORE : P_CLOUD;
	struct ask *a = NULL;

	for (int i = 0; i < CONTROL_ASKS_MAX && a == NULL; i++)
		if (!asks[i].used)
			a = &asks[i];
	if (a == NULL) {
		refuse(client, "too many identity requests waiting");
		return;
	}
	if ((a->timer = evtimer_new(base, timeout_cb, a)) == NULL) {
		refuse(client, "out of memory");
		return;
	}
	if (sup_ask(to, kind == ASK_RESET ? CT_MSG_IDENTITY_RESET : CT_MSG_ACTIVATE, payload,
	    len, &a->id) != 0) {
		event_free(a->timer);
		refuse(client, kind == ASK_RESET ? "the store worker is not running; try again "
		    "when carnitrackctl status shows it running" : "the cloud worker is not "
		    "running; try again when carnitrackctl status shows it running");
		return;
	}
	a->kind = kind;
	a->used = true;
	a->client = client;
	evtimer_add(a->timer, &tv);
}

void
control_identity_reset(struct event_base *base, uint32_t client)
{
	ask(base, client, ASK_RESET, NULL, 0);
	log_info("identity reset requested by carnitrackctl");
}

void
control_activate(struct event_base *base, uint32_t client, const char *code)
{
	uint8_t buf[2 + CT_ACTIVATE_CODE_MAX];
	struct pack pk;

	pack_init(&pk, buf, sizeof(buf));
	pack_str(&pk, code);
	if (!pack_ok(&pk)) {
		refuse(client, "setup code too long");
		return;
	}
	ask(base, client, ASK_ACTIVATE, buf, pk.len);
	log_info("activation with a setup code requested by carnitrackctl");
}

static void
done(enum ask_kind kind, uint32_t frame_id, const uint8_t *p, size_t n)
{
	struct unpack u;
	char text[512];
	bool ok;

	unpack_init(&u, p, n);
	ok = unpack_u8(&u) != 0;
	unpack_str(&u, text, sizeof(text));
	if (!unpack_done(&u)) {
		log_warn("%s malformed, dropped", kind == ASK_RESET ? "IDENTITY_RESET_DONE" :
		    "ACTIVATE_DONE");
		return;
	}
	for (int i = 0; i < CONTROL_ASKS_MAX; i++)
		if (asks[i].used && asks[i].kind == kind && asks[i].id == frame_id) {
			answer(&asks[i], ok, text);
			return;
		}
}

void
control_identity_done(uint32_t frame_id, const uint8_t *p, size_t n)
{
	done(ASK_RESET, frame_id, p, n);
}

void
control_activate_done(uint32_t frame_id, const uint8_t *p, size_t n)
{
	done(ASK_ACTIVATE, frame_id, p, n);
}

void
control_identity_close(void)
{
	for (int i = 0; i < CONTROL_ASKS_MAX; i++)
		if (asks[i].used)
			answer(&asks[i], false, "carnitrackd is stopping");
}
