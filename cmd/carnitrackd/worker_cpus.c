/*
 * [cpus] for the worker that runs this code. A list that cannot apply (no
 * CPU of it exists or is allowed here) leaves the worker where it is,
 * logged once per list and shown in status: placement is a tuning, never a
 * reason to stop taking weighings.
 */
#include "worker_cpus.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "log/log.h"

void
worker_cpus_init(struct worker_cpus *wc)
{
	memset(wc, 0, sizeof(*wc));
	if (sched_getaffinity(0, sizeof(wc->orig), &wc->orig) == 0)
		wc->have_orig = true;
	else
		log_warn("sched_getaffinity: %s ([cpus] removed later cannot be undone)",
		    strerror(errno));
}

static void
current(char *buf, size_t cap)
{
	cpu_set_t now;

	if (sched_getaffinity(0, sizeof(now), &now) != 0 ||
	    conf_cpus_format(&now, buf, cap) == 0)
		snprintf(buf, cap, "?");
}

static void
unpin(struct worker_cpus *wc, const char *worker)
{
	char now[256];

	if (!wc->pinned)
		return;
	if (!wc->have_orig || sched_setaffinity(0, sizeof(wc->orig), &wc->orig) != 0) {
		log_warn("[cpus] %s removed, but the placement from before cannot be restored"
		    " (%s): restart the worker to undo it", worker,
		    wc->have_orig ? strerror(errno) : "not known");
		return;
	}
	wc->pinned = false;
	current(now, sizeof(now));
	log_info("[cpus] %s removed: runs on CPUs %s again", worker, now);
}

void
worker_cpus_apply(struct worker_cpus *wc, const char *worker, const struct ct_conf *c)
{
	const struct ct_cpus *want = conf_worker_cpus(c, worker);
	bool same = want != NULL && strcmp(want->text, wc->applied) == 0;
	bool was_ok = wc->error[0] == '\0';
	char now[256];
	cpu_set_t got;

	if (want == NULL) {
		unpin(wc, worker);
		wc->applied[0] = wc->error[0] = '\0';
		return;
	}
	if (sched_setaffinity(0, sizeof(want->mask), &want->mask) != 0) {
		int e = errno;

		current(now, sizeof(now));
		snprintf(wc->error, sizeof(wc->error), "%s (runs on %s)", strerror(e), now);
		if (!same || was_ok)
			log_warn("[cpus] %s = %s not applied: %s; runs on CPUs %s", worker,
			    want->text, strerror(e), now);
		snprintf(wc->applied, sizeof(wc->applied), "%s", want->text);
		return;
	}
	wc->pinned = true;
	wc->error[0] = '\0';
	snprintf(wc->applied, sizeof(wc->applied), "%s", want->text);
	if (same && was_ok)
		return;
	current(now, sizeof(now));
	/* the kernel keeps only the CPUs that exist and are allowed here */
	if (sched_getaffinity(0, sizeof(got), &got) == 0 && !CPU_EQUAL(&got, &want->mask))
		log_warn("[cpus] %s = %s: only CPUs %s of it are available here; runs on"
		    " those", worker, want->text, now);
	else
		log_info("runs on CPUs %s ([cpus] %s)", now, worker);
}

void
worker_cpus_status(const struct worker_cpus *wc, json_t *o)
{
	char now[256];

	current(now, sizeof(now));
	json_object_set_new(o, "cpus", json_string(now));
	if (wc->error[0] != '\0')
		json_object_set_new(o, "cpus_error", json_string(wc->error));
}
