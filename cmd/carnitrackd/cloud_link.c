/*
 * What a change of the cloud link means, decided here and nowhere else. The
 * transport judges the link and reports each state (cloud_transport.h);
 * this file turns it into the edge's behaviour:
 *
 *   up        the store hears "link up" (it closes the open offline
 *             batches), every scale and every closed batch is announced,
 *             the stream starts over from the oldest pending event;
 *   down      acks received so far go to the store, the window is
 *             forgotten (its events are re-sent on the next link and come
 *             back "duplicate" if the cloud had them), and only after
 *             offline_grace without a link does the store hear "down" and
 *             open offline batches: a short blip opens none;
 *   disabled  no cloud configured: the store hears "down" at once.
 */
#include "cloud_worker.h"

#include "log/log.h"

static const char *link_names[] = { "disabled", "retrying", "connecting", "up" };

const char *
cw_link_name(enum cw_link l)
{
	return (unsigned)l < sizeof(link_names) / sizeof(link_names[0]) ? link_names[l] : "?";
}

/* "down" once is enough; "up" always (the store closes batches on it). */
static void
tell_store(struct cw *c, bool up)
{
	if (c->link_told && c->link_told_up == up && up == false)
		return;
	cw_send_link(c, up);
	c->link_told = true;
	c->link_told_up = up;
}

static void
arm_grace(struct cw *c)
{
	struct timeval g = { c->offline_grace, 0 };

	event_add(c->ev_grace, &g);
}

static void
grace_cb(evutil_socket_t fd, short what, void *arg)
{
	struct cw *c = arg;

	if (c->link == CW_UP)
		return;
	log_warn("cloud link down for %d s (%s): offline from now on", c->offline_grace,
	    c->last_error[0] ? c->last_error : "never connected");
	tell_store(c, false);
}

static void
link_up(struct cw *c)
{
	event_del(c->ev_grace);
	c->up_since_ms = ct_now_ms();
	c->last_error[0] = '\0';
	tell_store(c, true);
	cw_stream_reset(c);
	cw_announce_devices(c, CW_DEV_ALL);
	c->devices_dirty = false;
	cw_report_batches(c);
	cw_kick(c);
}

static void
link_down(struct cw *c, bool was_up, const char *why)
{
	snprintf(c->last_error, sizeof(c->last_error), "%s", why ? why : "closed");
	cw_flush_acks(c);
	cw_stream_reset(c);
	if (was_up) {
		log_warn("cloud link lost: %s", c->last_error);
		arm_grace(c);
	} else {
		log_info("cloud connect failed: %s", c->last_error);
	}
}

void
cw_link_changed(struct cw *c, enum cw_link state, const char *why)
{
	enum cw_link was = c->link;

	c->link = state;
	switch (state) {
	case CW_UP:
		link_up(c);
		break;
	case CW_RETRYING:
		link_down(c, was == CW_UP, why);
		break;
	case CW_CONNECTING:
		break;
	case CW_DISABLED:
		log_info("%s: offline only", why ? why : "no cloud url configured");
		tell_store(c, false);
		break;
	}
}

/* Until a link comes up the store should not believe it is (its default
 * for a fresh store): it hears "down" after the grace. */
int
cw_link_start(struct cw *c)
{
	if ((c->ev_grace = evtimer_new(c->base, grace_cb, c)) == NULL)
		return -1;
	if (c->url[0] != '\0')
		arm_grace(c);
	c->tp_ops->start(c->tp);
	return 0;
}

void
cw_link_stop(struct cw *c)
{
	if (c->ev_grace != NULL)
		event_free(c->ev_grace);
	c->ev_grace = NULL;
	if (c->link != CW_DISABLED)
		c->link = CW_RETRYING;
}
