#ifndef CT_SUPERVISOR_H
#define CT_SUPERVISOR_H

#include <stdbool.h>
#include <sys/types.h>
#include <event2/event.h>
#include <jansson.h>

#include "conf/conf.h"
#include "ipc_proto.h"

enum slot_state { SLOT_STOPPED, SLOT_STARTING, SLOT_RUNNING, SLOT_BACKOFF, SLOT_FAILED };

struct sup_opts {
	const char *conf_path;
	bool        foreground;
	bool        verbose;
	const char *self_exe;     /* path to re-execute for workers */
};

int  supervisor_run(const struct sup_opts *o, struct ct_conf *conf, char *text, size_t textlen);

/* Used by control.c. */
struct ctl_client;
void supervisor_status(struct ctl_client *c);
int  supervisor_restart(enum ct_proc p, struct ctl_client *c, char *err, size_t errlen);
/* Sends an empty request frame of `type` to worker p with a fresh frame id
 * (in *id); the worker answers to the supervisor. -1 when p is not running. */
int  supervisor_ask(enum ct_proc p, uint16_t type, uint32_t *id);
const char *slot_state_name(enum slot_state s);

#endif
