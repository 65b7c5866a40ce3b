/*
 * Sessions for scales this edge does not know. The store keeps a session
 * only for a scale that is configured ([scale SCALE-nn]) or has been seen
 * (a row in devices), so a cloud that sends session_started for random
 * device ids cannot fill the map (issue 15 item 5). The cloud sends the
 * active sessions when the edge registers, often before the scales have
 * connected: the latest session of an unknown scale is held here, in a
 * fixed table, and stored the moment that scale appears (its DEVICE frame
 * or its first event, in the same transaction and before the event, which
 * the session then tags). When the table is full the oldest entry makes
 * room; a store worker restart forgets the table (the cloud re-sends active
 * sessions at its next registration).
 */
#include "store_worker.h"

#include <string.h>

#include "log/log.h"

static bool
device_known(struct sw *s, const char *device_id)
{
	struct store_device d;

	return conf_scale_by_id(worker_conf(s->w), device_id) != NULL ||
	    store_device_get(s->st, device_id, &d) == STORE_OK;
}

/* The held entry a message is about: by scale, or by session id for a
 * pause, resume or end that names only the session. */
static struct sw_held *
find(struct sw *s, const struct store_session_msg *m)
{
	for (unsigned i = 0; i < s->nheld; i++)
		if (m->device_id[0] != '\0' ? strcmp(s->held[i].m.device_id, m->device_id) == 0 :
		    strcmp(s->held[i].m.cloud_session_id, m->cloud_session_id) == 0)
			return &s->held[i];
	return NULL;
}

bool
sw_held_wants(struct sw *s, const struct store_session_msg *m)
{
	if (m->device_id[0] != '\0')
		return !device_known(s, m->device_id);
	return m->cloud_session_id[0] != '\0' && find(s, m) != NULL;
}

static void
drop(struct sw *s, struct sw_held *h)
{
	*h = s->held[--s->nheld];
}

/* Notes once a minute at most: a flood of unknown ids is one line a minute. */
static void
note(struct sw *s, const struct store_session_msg *m, const char *what)
{
	int64_t now = ct_now_ms();

	if (now - s->held_logged_ms < 60000)
		return;
	s->held_logged_ms = now;
	log_warn("session %s for %s, a scale this edge has not seen: %s (%u held, %llu dropped "
	    "so far)", m->cloud_session_id, m->device_id, what, s->nheld,
	    (unsigned long long)s->sessions_dropped);
}

void
sw_held_session(struct sw *s, const struct store_session_msg *m)
{
	struct sw_held *h = find(s, m);

	switch (m->kind) {
	case CT_SESS_STARTED:
		if (h == NULL && s->nheld == SW_HELD_MAX) {
			unsigned oldest = 0;
			for (unsigned i = 1; i < s->nheld; i++)
				if (s->held[i].seq < s->held[oldest].seq)
					oldest = i;
			drop(s, &s->held[oldest]);
			s->sessions_dropped++;
		}
		if (h == NULL)
			h = &s->held[s->nheld++];
		h->m = *m;
		h->paused = false;
		h->seq = ++s->held_seq;
		note(s, m, "held until it connects");
		return;
	case CT_SESS_PAUSED:
	case CT_SESS_RESUMED:
	case CT_SESS_ENDED:
		if (h == NULL || (m->cloud_session_id[0] != '\0' &&
		    strcmp(m->cloud_session_id, h->m.cloud_session_id) != 0))
			return;      /* nothing held for it: as a late message for a known scale */
		if (m->kind == CT_SESS_ENDED)
			drop(s, h);
		else
			h->paused = m->kind == CT_SESS_PAUSED;
		return;
	}
}

int
sw_held_apply(struct sw *s, const char *device_id)
{
	struct store_session_msg pause, key;
	struct sw_held *h;
	int e;

	if (s->nheld == 0)
		return STORE_OK;
	memset(&key, 0, sizeof(key));
	snprintf(key.device_id, sizeof(key.device_id), "%s", device_id);
	if ((h = find(s, &key)) == NULL || h->stored)
		return STORE_OK;
	if ((e = store_session_apply(s->st, &h->m)) == STORE_OK && h->paused) {
		memset(&pause, 0, sizeof(pause));
		pause.kind = CT_SESS_PAUSED;
		snprintf(pause.device_id, sizeof(pause.device_id), "%s", h->m.device_id);
		e = store_session_apply(s->st, &pause);
	}
	if (e != STORE_OK) {
		log_warn("held session of %s: %s", device_id, store_errmsg(s->st));
		drop(s, h);
		return e;
	}
	/* removed once the transaction is committed (sw_held_settle) */
	h->stored = true;
	return STORE_OK;
}

void
sw_held_settle(struct sw *s, bool committed)
{
	for (unsigned i = 0; i < s->nheld;) {
		struct sw_held *h = &s->held[i];

		if (!h->stored) {
			i++;
		} else if (committed) {
			log_info("session %s of %s, held until the scale was seen, stored",
			    h->m.cloud_session_id, h->m.device_id);
			drop(s, h);
		} else {
			h->stored = false;
			i++;
		}
	}
}
