/*
 * The supervisor: forks and re-executes one process per worker of the
 * process table (main.c) with fd 3 as its channel, hands the workers that
 * talk (proto/messages.def) a direct channel to each other, restarts the
 * ones that die, and answers carnitrackctl. It holds no business state. This file is its order of
 * things: set-up (sup_setup.c, control.c), the workers (sup_proc.c), the
 * signals and the tick, reload and stop; supervisor.h maps the rest.
 */
#include "supervisor.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "control.h"
#include "event/event.h"
#include "log/log.h"
#include "util/sdnotify.h"

#define TICK_MS 250

struct sup_events {
	struct event *chld, *term, *intr, *hup, *tick;
};

static void
on_sigchld(evutil_socket_t sig, short what, void *arg)
{
	for (;;) {
		int status;
		pid_t pid = waitpid(-1, &status, WNOHANG);

		if (pid <= 0)
			return;
		sup_on_death(pid, status);
	}
}

static void
on_tick(evutil_socket_t fd, short what, void *arg)
{
	sup_proc_tick();
}

static void
reload(void)
{
	struct ct_conf *nc = malloc(sizeof(*nc));
	char *text = NULL, err[1024];
	size_t len = 0;
	enum log_level lvl;

	if (nc == NULL) {
		log_err("reload: out of memory, keeping the running config");
		return;
	}
	sd_notify_send("RELOADING=1");
	if (conf_load(S.opts.conf_path, nc, &text, &len, err, sizeof(err)) != 0) {
		log_err("reload refused, keeping the running config: %s", err);
		free(nc);
		sd_notify_send("READY=1\nSTATUS=reload refused, see the log");
		return;
	}
	if (strcmp(nc->run_dir, S.conf->run_dir) || strcmp(nc->user, S.conf->user))
		log_warn("run_dir and user changes take effect when carnitrackd restarts");
	free(S.text);
	free(S.conf);
	S.conf = nc;
	S.text = text;
	S.textlen = len;
	if (!S.opts.verbose && log_level_parse(nc->log_level, &lvl) == 0)
		log_set_level(lvl);
	log_info("config reloaded from %s", S.opts.conf_path);
	sup_reconfigure();
	sd_notify_send("READY=1");
}

static void
on_signal(evutil_socket_t sig, short what, void *arg)
{
	if (sig == SIGHUP)
		reload();
	else
		sup_stop_all(sig == SIGTERM ? "SIGTERM" : "SIGINT");
}

static int
add_events(struct sup_events *ev)
{
	struct timeval tick = { 0, TICK_MS * 1000 };

	ev->chld = evsignal_new(S.base, SIGCHLD, on_sigchld, NULL);
	ev->term = evsignal_new(S.base, SIGTERM, on_signal, NULL);
	ev->intr = evsignal_new(S.base, SIGINT, on_signal, NULL);
	ev->hup = evsignal_new(S.base, SIGHUP, on_signal, NULL);
	ev->tick = event_new(S.base, -1, EV_PERSIST, on_tick, NULL);
	if (!ev->chld || !ev->term || !ev->intr || !ev->hup || !ev->tick ||
	    event_add(ev->chld, NULL) || event_add(ev->term, NULL) || event_add(ev->intr, NULL) ||
	    event_add(ev->hup, NULL) || event_add(ev->tick, &tick))
		return -1;
	return 0;
}

static void
free_events(struct sup_events *ev)
{
	struct event *all[] = { ev->chld, ev->term, ev->intr, ev->hup, ev->tick };

	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
		if (all[i] != NULL)
			event_free(all[i]);
}

int
supervisor_run(const struct sup_opts *o, struct ct_conf *conf, char *text, size_t textlen)
{
	char err[1024];
	struct event_base *base;
	struct sup_events ev = { 0 };
	gid_t gid;
	int rc = CT_EXIT_FAIL;

	signal(SIGPIPE, SIG_IGN);
	if ((base = event_base_new()) == NULL) {
		log_err("event_base_new failed");
		return CT_EXIT_FAIL;
	}
	sup_proc_init(base, o, conf, text, textlen, sup_route_frame);
	if (sup_setup_dirs(S.conf, o->conf_path, &gid, err, sizeof(err)) != 0 ||
	    control_open(base, S.conf->run_dir, gid, err, sizeof(err)) != 0 ||
	    sup_setup_drop(S.conf, gid, err, sizeof(err)) != 0) {
		log_err("%s", err);
		goto out;
	}
	if (add_events(&ev) != 0) {
		log_err("cannot set up signal handling");
		goto out;
	}
	log_info("carnitrackd %s starting, config %s, control %s", CT_VERSION, o->conf_path,
	    control_socket_path());
	sup_start_all();
	event_base_dispatch(base);
	log_info("stopped");
	rc = CT_EXIT_OK;
out:
	control_close();
	sup_status_close();
	sup_proc_free();
	free_events(&ev);
	event_base_free(base);
	return rc;
}
