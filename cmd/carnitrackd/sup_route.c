/*
 * Frames from the workers. The channel has validated each frame against
 * proto/messages.def (type, sender, size); a frame for the supervisor goes
 * to the part that owns it: the handshake and liveness to sup_proc.c,
 * STATUS_REP and EDGE_STATUS_REQ (the web worker asking for the whole
 * status) to sup_status.c, the answers to an identity reset or an
 * activation to control_identity.c. Workers send each other's frames over
 * their direct channels (worker.c, handed out by sup_proc.c), never through
 * here. The supervisor keeps no fd a frame brings: it is closed here.
 */
#include "supervisor.h"

#include <unistd.h>

#include "control.h"
#include "log/log.h"

/* A frame addressed to the supervisor itself. */
static void
for_supervisor(struct slot *s, const struct frame *f)
{
	switch (f->hdr.type) {
	case CT_MSG_HELLO:
		sup_on_hello(s, f);
		return;
	case CT_MSG_READY:
		sup_on_ready(s);
		return;
	case CT_MSG_PONG:
		sup_on_pong(s);
		return;
	case CT_MSG_STATUS_REP:
		sup_status_reply(s, f);
		return;
	case CT_MSG_EDGE_STATUS_REQ:
		sup_status_for_worker(s, f);
		return;
	case CT_MSG_IDENTITY_RESET_DONE:
		control_identity_done(f->hdr.id, f->payload, f->plen);
		return;
	case CT_MSG_ACTIVATE_DONE:
		control_activate_done(f->hdr.id, f->payload, f->plen);
		return;
	}
	/* messages.def routes a type to P_SUP that nothing here handles */
	fatalx("%s sent %s to the supervisor, which has no handler for it (messages.def and "
	    "sup_route.c disagree)", ct_proc_name(s->id), ct_msg_name(f->hdr.type));
}

void
sup_route_frame(struct channel *ch, const struct frame *f, void *arg)
{
	struct slot *s = arg;
	const struct ct_msg_info *m;

	if (f == NULL) {
		/* The process may linger; SIGCHLD does the bookkeeping. */
		if (s->ch == ch) {
			channel_free(ch);
			s->ch = NULL;
		}
		return;
	}
	/* The channel validated the type, so the lookup cannot fail. */
	if ((m = ct_msg_lookup(f->hdr.type)) == NULL)
		fatalx("channel from %s passed frame type %u, which messages.def does not know",
		    ct_proc_name(s->id), f->hdr.type);
	if (m->to == P_SUP)
		for_supervisor(s, f);
	else    /* worker.c sends these on the direct channel: out of step */
		log_err("%s sent %s to the supervisor, which carries no frames between "
		    "workers; dropped", ct_proc_name(s->id), m->name);
	if (f->fd >= 0)
		close(f->fd);
}
