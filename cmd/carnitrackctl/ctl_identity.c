/*
 * carnitrackctl identity [--json] | identity --reset
 *
 * Shows the edge id, site id and site name and where each came from (the
 * cloud's edge_registered, config_update or HTTP registration; the config
 * for a configured site_id), read from the store.
 *
 * --reset clears the identity so the edge registers afresh; the backlog is
 * not touched. With the daemon running it goes through the control socket
 * to the store worker (the one LMDB writer), which tells the cloud worker.
 * With the daemon stopped, carnitrackctl opens the store itself, and takes
 * care not to be led elsewhere by a planted link (it may run as root over a
 * directory the daemon's user can write): every component of data_dir and
 * data_dir/store is opened with O_NOFOLLOW (a symbolic link anywhere is
 * refused), data.mdb and lock.mdb must be regular files, and when run as
 * root it first becomes the owner of the store directory, so LMDB's own
 * opens and creations carry no more rights than the daemon's.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ctl.h"
#include "ctl/ctl_proto.h"
#include "event/event.h"
#include "store/store.h"

/* ---- show ---- */

static int
show(const struct ct_conf *conf, bool as_json)
{
	struct store_opts o = { .readonly = true };
	struct store_identity id;
	struct store *st = NULL;
	const char *site, *site_from, *name, *name_from;
	char err[600];
	int e;

	memset(&id, 0, sizeof(id));
	if ((e = store_open(&st, conf->data_dir, &o, err, sizeof(err))) != STORE_OK &&
	    e != STORE_NOTFOUND) {
		fprintf(stderr, "carnitrackctl: %s\n", err);
		return CTL_EXIT_DOWN;
	}
	if (st != NULL && (e = store_identity_get(st, &id)) != STORE_OK && e != STORE_NOTFOUND) {
		fprintf(stderr, "carnitrackctl: identity: %s\n", store_errmsg(st));
		store_close(st);
		return CTL_EXIT_DOWN;
	}
	store_close(st);
	/* The configured site wins (globalDeviceId follows it); the cloud's
	 * is used when none is configured. */
	site = conf->site_id[0] ? conf->site_id : id.site_id;
	site_from = conf->site_id[0] ? "config ([edge] site_id)" : id.site_id[0] ? id.source : "";
	name = conf->site_name[0] ? conf->site_name : id.site_name;
	name_from = conf->site_name[0] ? "config ([edge] site_name)" : id.site_name[0] ? id.source :
	    "";
	if (as_json) {
		json_t *j = json_pack("{s:s?, s:s?, s:s?, s:s?, s:s?, s:s?, s:s?}",
		    "edge_id", id.edge_id[0] ? id.edge_id : NULL,
		    "edge_id_source", id.source[0] ? id.source : NULL,
		    "site_id", site[0] ? site : NULL, "site_id_source",
		    site_from[0] ? site_from : NULL,
		    "cloud_site_id", id.site_id[0] ? id.site_id : NULL,
		    "site_name", name[0] ? name : NULL, "site_name_source",
		    name_from[0] ? name_from : NULL);
		if (j == NULL)
			return CTL_EXIT_DOWN;
		json_dumpf(j, stdout, JSON_INDENT(2));
		printf("\n");
		json_decref(j);
		return CTL_EXIT_OK;
	}
	printf("edge id:    %s", id.edge_id[0] ? id.edge_id : "none");
	if (id.source[0])
		printf("  (%s%s)", id.edge_id[0] ? "from " : "", id.source);
	else if (!id.edge_id[0])
		printf("  (the cloud has not given one yet)");
	printf("\nsite id:    %s", site[0] ? site : "none");
	if (site_from[0])
		printf("  (from %s)", site_from);
	if (conf->site_id[0] && id.site_id[0] && strcmp(id.site_id, conf->site_id) != 0)
		printf("  [the cloud calls it %s]", id.site_id);
	printf("\nsite name:  %s", name[0] ? name : "none");
	if (name_from[0])
		printf("  (from %s)", name_from);
	printf("\n");
	return CTL_EXIT_OK;
}

/* ---- reset, daemon stopped ---- */

/* Opens dir one component at a time, refusing a symbolic link anywhere.
 * Returns the directory's fd, -1 with a message. */
static int
open_nofollow(const char *dir)
{
	char buf[CT_CONF_PATH], *save = NULL;
	int fd, next;

	if (strlen(dir) >= sizeof(buf)) {
		fprintf(stderr, "carnitrackctl: %s: path too long\n", dir);
		return -1;
	}
	snprintf(buf, sizeof(buf), "%s", dir);
	if ((fd = open(dir[0] == '/' ? "/" : ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
		fprintf(stderr, "carnitrackctl: %s: %s\n", dir, strerror(errno));
		return -1;
	}
	for (char *c = strtok_r(buf, "/", &save); c != NULL; c = strtok_r(NULL, "/", &save)) {
		if (strcmp(c, ".") == 0)
			continue;
		next = openat(fd, c, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (next < 0) {
			int e = errno;
			if (e == ELOOP || e == ENOTDIR)
				fprintf(stderr,
				    "carnitrackctl: %s: '%s' is a symbolic link or not a "
				    "directory: refusing to follow it\n", dir, c);
			else
				fprintf(stderr, "carnitrackctl: %s: '%s': %s\n", dir, c,
				    strerror(e));
			close(fd);
			errno = e;
			return -1;
		}
		close(fd);
		fd = next;
	}
	return fd;
}

/* A regular file, not a link; absent is fine when may_be_absent. */
static int
regular_or_absent(int dirfd, const char *dir, const char *name, bool may_be_absent)
{
	struct stat sb;

	if (fstatat(dirfd, name, &sb, AT_SYMLINK_NOFOLLOW) != 0) {
		if (errno == ENOENT && may_be_absent)
			return 0;
		fprintf(stderr, "carnitrackctl: %s/%s: %s\n", dir, name, strerror(errno));
		return -1;
	}
	if (!S_ISREG(sb.st_mode)) {
		fprintf(stderr, "carnitrackctl: %s/%s is not a regular file (a link?): refusing\n",
		    dir, name);
		return -1;
	}
	return 0;
}

/* Root becomes the store's owner: what LMDB opens, it opens as the daemon. */
static int
become_owner(int storefd, const char *dir)
{
	struct stat sb;

	if (geteuid() != 0)
		return 0;
	if (fstat(storefd, &sb) != 0) {
		fprintf(stderr, "carnitrackctl: %s/store: %s\n", dir, strerror(errno));
		return -1;
	}
	if (sb.st_uid == 0)
		return 0;
	if (setgroups(0, NULL) != 0 || setgid(sb.st_gid) != 0 || setuid(sb.st_uid) != 0) {
		fprintf(stderr, "carnitrackctl: cannot become the owner of %s/store (uid %u): %s\n",
		    dir, (unsigned)sb.st_uid, strerror(errno));
		return -1;
	}
	return 0;
}

static int
reset_offline(const struct ct_conf *conf)
{
	struct store_opts o = { .map_size = conf->map_size };
	struct store *st = NULL;
	char err[600];
	int datafd, storefd, rc = CTL_EXIT_DOWN, e;

	if ((datafd = open_nofollow(conf->data_dir)) < 0) {
		if (errno == ENOENT) {
			printf("no store under %s: no identity to reset\n", conf->data_dir);
			return CTL_EXIT_OK;
		}
		return CTL_EXIT_DOWN;
	}
	storefd = openat(datafd, "store", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (storefd < 0) {
		if (errno == ENOENT) {
			printf("no store under %s: no identity to reset\n", conf->data_dir);
			rc = CTL_EXIT_OK;
		} else {
			fprintf(stderr, "carnitrackctl: %s/store: %s%s\n", conf->data_dir,
			    strerror(errno),
			    errno == ELOOP ||
			    errno == ENOTDIR ? " (a symbolic link: refusing)" : "");
		}
		close(datafd);
		return rc;
	}
	if (regular_or_absent(storefd, conf->data_dir, "data.mdb", false) != 0 ||
	    regular_or_absent(storefd, conf->data_dir, "lock.mdb", true) != 0 ||
	    become_owner(storefd, conf->data_dir) != 0)
		goto out;
	/* LMDB takes a path: make it relative to the directory we checked. */
	if (fchdir(datafd) != 0) {
		fprintf(stderr, "carnitrackctl: %s: %s\n", conf->data_dir, strerror(errno));
		goto out;
	}
	if ((e = store_open(&st, ".", &o, err, sizeof(err))) != STORE_OK) {
		fprintf(stderr, "carnitrackctl: %s/store: %s\n", conf->data_dir, err);
		goto out;
	}
	if ((e = store_begin(st, ct_now_ms())) != STORE_OK ||
	    (e = store_identity_put(st, "", "", "")) != STORE_OK ||
	    (e = store_identity_source_put(st, "reset by carnitrackctl (daemon stopped)")) !=
	    STORE_OK ||
	    (e = store_commit(st)) != STORE_OK) {
		fprintf(stderr, "carnitrackctl: %s/store: %s\n", conf->data_dir, store_errmsg(st));
		goto out;
	}
	printf("identity cleared in %s/store (carnitrackd not running); it registers afresh when "
	    "it starts\n", conf->data_dir);
	rc = CTL_EXIT_OK;
out:
	store_close(st);
	close(storefd);
	close(datafd);
	return rc;
}

static int
reset(const struct ct_conf *conf)
{
	bool down = false;
	json_t *r = ctl_request(json_pack("{s:i, s:s}", "version", CTL_VERSION, "cmd",
	    "identity_reset"), 10, &down);
	int rc;

	if (r == NULL)
		return down ? reset_offline(conf) : CTL_EXIT_DOWN;
	if (json_is_true(json_object_get(r, "ok"))) {
		printf("identity cleared; the edge registers afresh with the cloud now\n");
		rc = CTL_EXIT_OK;
	} else {
		fprintf(stderr, "carnitrackctl: identity --reset failed: %s\n",
		    json_string_value(json_object_get(r, "error")) ?
		    json_string_value(json_object_get(r, "error")) : "unknown error");
		rc = CTL_EXIT_DEGRADED;
	}
	json_decref(r);
	return rc;
}

int
ctl_cmd_identity(const struct ct_conf *conf, int argc, char **argv)
{
	if (argc == 1)
		return show(conf, false);
	if (argc == 2 && strcmp(argv[1], "--json") == 0)
		return show(conf, true);
	if (argc == 2 && strcmp(argv[1], "--reset") == 0)
		return reset(conf);
	fprintf(stderr, "usage: carnitrackctl identity [--json] | identity --reset\n");
	return CTL_EXIT_USAGE;
}
