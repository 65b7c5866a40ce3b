/*
 * carnitrackctl identity --reset while the daemon runs: the request goes to
 * the store worker, the one LMDB writer, as IDENTITY_RESET; its answer
 * (IDENTITY_RESET_DONE, after the commit) goes back to the client. The
 * store also tells the cloud worker (WORK_READY identity), which forgets
 * the identity and registers afresh. Bounded: CONTROL_RESETS_MAX pending,
 * each answered within CONTROL_RESET_WAIT_S or told it timed out.
 */
#include "control.h"

#include <stdlib.h>

#include "ipc/pack.h"
#include "ipc_proto.h"
#include "log/log.h"
#include "supervisor.h"

#define CONTROL_RESETS_MAX   4
#define CONTROL_RESET_WAIT_S 5

struct reset {
	uint32_t      id;             /* the IDENTITY_RESET frame's */
	uint32_t      client;         /* the control client's */
	struct event *timer;
	bool          used;
};

static struct reset resets[CONTROL_RESETS_MAX];

static void
answer(struct reset *r, bool ok, const char *error)
{
	json_t *rep = json_pack("{s:b, s:i}", "ok", ok, "version", 1);

	if (rep != NULL && !ok)
		json_object_set_new(rep, "error", json_string(error));
	if (rep != NULL)
		control_reply(r->client, rep);
	event_free(r->timer);
	r->used = false;
}

static void
timeout_cb(evutil_socket_t fd, short what, void *arg)
{
	answer(arg, false, "the store worker did not answer in time; the reset may still "
	    "happen (see carnitrackctl identity)");
}

void
control_identity_reset(struct event_base *base, uint32_t client)
{
	struct timeval tv = { CONTROL_RESET_WAIT_S, 0 };
	struct reset *r = NULL;
	json_t *rep;
	const char *why = NULL;

	for (int i = 0; i < CONTROL_RESETS_MAX && r == NULL; i++)
		if (!resets[i].used)
			r = &resets[i];
	if (r == NULL)
		why = "too many identity resets waiting";
	else if ((r->timer = evtimer_new(base, timeout_cb, r)) == NULL)
		why = "out of memory";
	else if (sup_ask(P_STORE, CT_MSG_IDENTITY_RESET, &r->id) != 0) {
		event_free(r->timer);
		why =
		    "the store worker is not running; try again when carnitrackctl status shows it "
		    "running";
	}
	if (why != NULL) {
		if ((rep = json_pack("{s:b, s:s, s:i}", "ok", 0, "error", why, "version", 1)) !=
		    NULL)
			control_reply(client, rep);
		return;
	}
	r->used = true;
	r->client = client;
	evtimer_add(r->timer, &tv);
	log_info("identity reset requested by carnitrackctl");
}

void
control_identity_done(uint32_t frame_id, const uint8_t *p, size_t n)
{
	struct unpack u;
	char text[256];
	bool ok;

	unpack_init(&u, p, n);
	ok = unpack_u8(&u) != 0;
	unpack_str(&u, text, sizeof(text));
	if (!unpack_done(&u)) {
		log_warn("IDENTITY_RESET_DONE malformed, dropped");
		return;
	}
	for (int i = 0; i < CONTROL_RESETS_MAX; i++)
		if (resets[i].used && resets[i].id == frame_id) {
			answer(&resets[i], ok, text);
			return;
		}
}

void
control_identity_close(void)
{
	for (int i = 0; i < CONTROL_RESETS_MAX; i++)
		if (resets[i].used)
			answer(&resets[i], false, "carnitrackd is stopping");
}
