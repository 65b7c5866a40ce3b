/*
 * carnitrackd: the supervisor, or with --worker=NAME one of its workers
 * (the supervisor re-executes this same binary for each).
 *
 * The process table: one entry per worker, indexed by its process id from
 * proto/messages.def (as gmid's procs[] drives its processes). A new worker
 * is a PROC line and its routes in messages.def, its worker_ops, and an
 * entry here; the supervisor spawns, connects (a direct channel to each
 * worker it has routes with), restarts and reports every process of this
 * table.
 *
 * The folder, part by part (each part's header maps its own files):
 *   supervisor.h    supervisor.c, sup_*.c, control*.c: processes, their
 *                   channels, status, set-up, the control socket
 *   worker.h        worker.c: the frame every worker runs in, and its
 *                   direct channels to the others
 *   ingest.h        ingest_*.c: the scale port
 *   store_worker.h  store_*.c: the one LMDB writer
 *   cloud_worker.h  cloud_*.c: the outbox, over cloud_transport.h's seam;
 *   cloud_ws.h      cloud_ws*.c: its WebSocket transport
 *   web_worker.c    the read-only HTTP side ([http]: /metrics, /healthz,
 *                   /status.json, the status page; lib/web does the serving)
 */
#include <getopt.h>
#include <limits.h>
#include <pwd.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "cloud_worker.h"
#include "conf/conf.h"
#include "log/log.h"
#include "supervisor.h"
#include "util/secret_file.h"
#include "web/web.h"
#include "worker.h"

#define DEFAULT_CONF "/etc/carnitrack/edge.conf"

static const struct worker_ops *const procs[P_NPROC] = {
	[P_INGEST] = &ingest_worker_ops,
	[P_STORE]  = &store_worker_ops,
	[P_CLOUD]  = &cloud_worker_ops,
	[P_WEB]    = &web_worker_ops,
};

/* For the supervisor: whether the config turns worker p off, and why. */
static const char *
proc_disabled(enum ct_proc p, const struct ct_conf *conf)
{
	return procs[p] != NULL && procs[p]->disabled != NULL ? procs[p]->disabled(conf) : NULL;
}

/* For the supervisor: the daemon is ready without worker p. */
static bool
proc_optional(enum ct_proc p)
{
	return procs[p] != NULL && procs[p]->optional;
}

/* -n: the token files as the daemon will judge them when it starts, i.e.
 * for [edge] user when run by root (the daemon drops to it), else for the
 * caller. A file the daemon would refuse makes the check fail. */
static int
check_secrets(const char *conf_path, const struct ct_conf *conf)
{
	const struct {
		const char *path, *what;
		size_t      cap;      /* the worker's own buffer: the same size limit */
	} files[] = {
		{ conf->token_file, "[cloud] token_file", CW_TOKEN_MAX },
		{ conf->http_token_file, "[http] token_file", WEB_TOKEN_MAX },
	};
	char secret[CW_TOKEN_MAX > WEB_TOKEN_MAX ? CW_TOKEN_MAX : WEB_TOKEN_MAX], err[768];
	uid_t uid = geteuid();
	gid_t gid = getegid();
	int rc = 0;

	if (conf->user[0] && uid == 0) {
		struct passwd *pw = getpwnam(conf->user);
		if (pw == NULL) {
			fprintf(stderr, "carnitrackd: %s: [edge] user: no such user '%s'\n",
			    conf_path, conf->user);
			return CT_EXIT_CONFIG;
		}
		uid = pw->pw_uid;
		gid = pw->pw_gid;
	}
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		if (files[i].path[0] == '\0')
			continue;
		if (secret_file_read_as(files[i].path, files[i].what, uid, gid, secret,
		    files[i].cap, err, sizeof(err)) != 0) {
			fprintf(stderr, "carnitrackd: %s: %s\n", conf_path, err);
			rc = CT_EXIT_CONFIG;
		}
		OPENSSL_cleanse(secret, sizeof(secret));
	}
	return rc;
}

/* -n: a [cpus] list with CPUs this machine does not have is said here, as a
 * warning (the worker runs on regardless, where it can). */
static void
check_cpus(const char *conf_path, const struct ct_conf *conf)
{
	char have[256], left[256];
	cpu_set_t here, both;

	if (sched_getaffinity(0, sizeof(here), &here) != 0)
		return;
	conf_cpus_format(&here, have, sizeof(have));
	for (int i = 0; i < CT_CONF_NCPUS; i++) {
		const struct ct_cpus *c = &conf->cpus[i];
		const char *name = conf_cpus_name(i);

		if (!c->set)
			continue;
		CPU_AND(&both, &here, &c->mask);
		if (CPU_EQUAL(&both, &c->mask))
			continue;
		if (CPU_COUNT(&both) == 0) {
			fprintf(stderr, "carnitrackd: %s: warning: [cpus] %s = %s: none of these"
			    " CPUs is available here (%s); %s will not be moved\n", conf_path,
			    name, c->text, have, name);
			continue;
		}
		conf_cpus_format(&both, left, sizeof(left));
		fprintf(stderr, "carnitrackd: %s: warning: [cpus] %s = %s: only CPUs %s of it"
		    " are available here\n", conf_path, name, c->text, left);
	}
}

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: carnitrackd [-c FILE] [-f] [-n] [-v]\n"
	    "  -c FILE  config file (default " DEFAULT_CONF ")\n"
	    "  -f       stay in the foreground, log to stderr\n"
	    "  -n       check the config and exit (0 = valid)\n"
	    "  -v       more verbose (debug log level)\n"
	    "  -V       print the version\n"
	    "See carnitrackd(8) and carnitrack-edge.conf(5).\n");
}

int
main(int argc, char **argv)
{
	const char *conf_path = DEFAULT_CONF, *worker = NULL;
	bool foreground = false, check = false, verbose = false;
	static const struct option longopts[] = {
		{ "worker", required_argument, NULL, 'W' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int ch;

	while ((ch = getopt_long(argc, argv, "c:fnvVh", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c': conf_path = optarg; break;
		case 'f': foreground = true; break;
		case 'n': check = true; break;
		case 'v': verbose = true; break;
		case 'V': printf("carnitrackd %s\n", CT_VERSION); return 0;
		case 'W': worker = optarg; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return 2;
	}
	if (worker != NULL) {
		enum ct_proc p;
		if (ct_proc_parse(worker, &p) != 0 || procs[p] == NULL) {
			fprintf(stderr, "carnitrackd: unknown worker '%s'\n", worker);
			return 2;
		}
		log_init(worker, foreground, verbose ? LOG_LVL_DEBUG : LOG_LVL_INFO);
		return worker_main(p, procs[p]);
	}

	struct ct_conf *conf = malloc(sizeof(*conf));
	char err[1024], *text = NULL, self[PATH_MAX];
	size_t len = 0;
	enum log_level lvl = LOG_LVL_INFO;
	ssize_t n;

	if (conf == NULL) {
		fprintf(stderr, "carnitrackd: out of memory\n");
		return 1;
	}
	if (conf_load(conf_path, conf, &text, &len, err, sizeof(err)) != 0) {
		fprintf(stderr, "carnitrackd: %s\n", err);
		free(conf);
		return CT_EXIT_CONFIG;
	}
	if (check) {
		int rc = check_secrets(conf_path, conf);
		check_cpus(conf_path, conf);
		if (rc == 0)
			printf("carnitrackd: %s: configuration OK\n", conf_path);
		free(text);
		free(conf);
		return rc;
	}
	log_level_parse(conf->log_level, &lvl);
	if (verbose)
		lvl = LOG_LVL_DEBUG;
	if ((n = readlink("/proc/self/exe", self, sizeof(self) - 1)) <= 0) {
		fprintf(stderr, "carnitrackd: cannot find my own executable\n");
		return 1;
	}
	self[n] = '\0';
	/* Workers read the config path again on reload: make it absolute. */
	char abspath[PATH_MAX];
	if (realpath(conf_path, abspath) == NULL) {
		fprintf(stderr, "carnitrackd: %s: cannot resolve path\n", conf_path);
		return 1;
	}
	if (!foreground && daemon(0, 0) != 0) {
		perror("carnitrackd: daemon");
		return 1;
	}
	for (int p = P_WORKER_FIRST; p < P_NPROC; p++)
		if (procs[p] == NULL) {
			fprintf(stderr,
			    "carnitrackd: process %s has no entry in the process table\n",
			    ct_proc_name((enum ct_proc)p));
			return 1;
		}
	log_init("supervisor", foreground, lvl);
	struct sup_opts o = { .conf_path = abspath, .foreground = foreground,
	    .verbose = verbose, .self_exe = self, .disabled = proc_disabled,
	    .optional = proc_optional };
	return supervisor_run(&o, conf, text, len);
}
