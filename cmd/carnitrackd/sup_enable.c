/*
 * Workers the config turns off: the process table's `disabled` (main.c,
 * e.g. the web worker with an empty [http] listen) says which and why. Such
 * a worker is not started; its slot shows "disabled" with the reason, which
 * is no fault (health stays ok). sup_proc.c starts or stops it when a
 * reload turns it on or off.
 */
#include "supervisor.h"

#include <stdio.h>

#include "log/log.h"

const char *
sup_disabled_why(enum ct_proc p)
{
	return S.opts.disabled != NULL && S.conf != NULL ? S.opts.disabled(p, S.conf) : NULL;
}

void
sup_disable(struct slot *s, const char *why)
{
	if (s->state != SLOT_DISABLED)
		log_info("%s is off: %s", ct_proc_name(s->id), why);
	s->state = SLOT_DISABLED;
	s->backoff_s = 0;
	snprintf(s->why, sizeof(s->why), "%s", why);
}

void
sup_start_all(void)
{
	for (int i = P_WORKER_FIRST; i < P_NPROC; i++) {
		const char *why = sup_disabled_why((enum ct_proc)i);

		if (why != NULL)
			sup_disable(&S.slots[i], why);
		else
			sup_spawn(&S.slots[i]);
	}
}
