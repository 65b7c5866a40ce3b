/*
 * What the supervisor does to itself before it starts any worker, in this
 * order (supervisor.c): the directories, made and handed to the configured
 * user; then (control.c) the control socket, while still root; then the
 * privileges given up for that user and the bounds every process inherits.
 */
#include "supervisor.h"

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log/log.h"
#include "util/safe_dir.h"

/* The daemon's directories, made and handed to the user without following
 * a link (lib/util/safe_dir.c); 0750 whatever the umask. */
static int
own_dir(const char *conf_path, const char *what, const char *dir, const struct passwd *pw,
    char *err, size_t errlen)
{
	char why[900];
	int fd = safe_dir_open(dir, 0750, pw ? pw->pw_name : NULL, why, sizeof(why));

	if (fd < 0) {
		snprintf(err, errlen, "%s: [edge] %s: %s", conf_path, what, why);
		return -1;
	}
	close(fd);
	return 0;
}

int
sup_setup_dirs(const struct ct_conf *conf, const char *conf_path, gid_t *gid, char *err,
    size_t errlen)
{
	struct passwd *pw = NULL;

	/* What any process of ours creates is nothing to others unless it says
	 * so (the socket, the store's files set their modes explicitly). */
	umask(027);
	*gid = (gid_t)-1;
	if (conf->user[0] && geteuid() == 0) {
		if ((pw = getpwnam(conf->user)) == NULL) {
			snprintf(err, errlen, "%s: [edge] user: no such user '%s'", conf_path,
			    conf->user);
			return -1;
		}
		*gid = pw->pw_gid;
	}
	if (own_dir(conf_path, "run_dir", conf->run_dir, pw, err, errlen) != 0 ||
	    own_dir(conf_path, "data_dir", conf->data_dir, pw, err, errlen) != 0)
		return -1;
	return 0;
}

/*
 * Bounds every process inherits: no core files (they would hold the cloud
 * token), the fd limit raised to its hard maximum (ingest holds one per
 * scale connection), and no way to regain privileges through exec.
 */
static int
limit_process(char *err, size_t errlen)
{
	struct rlimit rl = { 0, 0 };

	if (setrlimit(RLIMIT_CORE, &rl) != 0) {
		snprintf(err, errlen, "setrlimit(RLIMIT_CORE): %s", strerror(errno));
		return -1;
	}
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max > 65536 ? 65536 : rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
			log_warn("cannot raise the open-file limit: %s", strerror(errno));
	}
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) {
		snprintf(err, errlen, "prctl(PR_SET_NO_NEW_PRIVS): %s", strerror(errno));
		return -1;
	}
	return 0;
}

int
sup_setup_drop(const struct ct_conf *conf, gid_t gid, char *err, size_t errlen)
{
	struct passwd *pw = NULL;

	/* getpwnam's static record may have been reused since: read it again */
	if (gid != (gid_t)-1 && ((pw = getpwnam(conf->user)) == NULL || pw->pw_gid != gid)) {
		snprintf(err, errlen, "[edge] user %s changed while starting", conf->user);
		return -1;
	}
	if (pw != NULL) {
		if (setgroups(0, NULL) != 0 || initgroups(pw->pw_name, pw->pw_gid) != 0 ||
		    setgid(pw->pw_gid) != 0 || setuid(pw->pw_uid) != 0) {
			snprintf(err, errlen, "cannot drop privileges to %s: %s", pw->pw_name,
			    strerror(errno));
			return -1;
		}
		if (setuid(0) == 0) {
			snprintf(err, errlen, "privilege drop to %s did not stick", pw->pw_name);
			return -1;
		}
		log_info("running as user %s", pw->pw_name);
	} else if (conf->user[0]) {
		struct passwd *me = getpwuid(geteuid());
		if (me == NULL || strcmp(me->pw_name, conf->user) != 0)
			log_warn("not root: cannot switch to user '%s', running as '%s'",
			    conf->user,
			    me ? me->pw_name : "?");
	}
	return limit_process(err, errlen);
}
