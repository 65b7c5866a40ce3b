/*
 * A worker's own CPU placement from [cpus] (conf_cpus.c): applied on every
 * accepted config, undone when the entry goes, reported in status.
 */
#ifndef CT_WORKER_CPUS_H
#define CT_WORKER_CPUS_H

#include <jansson.h>
#include <sched.h>
#include <stdbool.h>

#include "conf/conf.h"

struct worker_cpus {
	bool      have_orig;      /* the placement inherited at start is known */
	cpu_set_t orig;
	bool      pinned;         /* a [cpus] list is in force */
	char      applied[64];    /* the list last applied or tried, "" = none */
	char      error[192];     /* why the last one was not applied, "" = it was */
};

void worker_cpus_init(struct worker_cpus *wc);
void worker_cpus_apply(struct worker_cpus *wc, const char *worker, const struct ct_conf *c);
/* "cpus": where it may run now; "cpus_error" while a list could not apply */
void worker_cpus_status(const struct worker_cpus *wc, json_t *o);

#endif
