/*
 * Making the daemon's directories without following planted links (see
 * safe_dir.h): a component-by-component walk with openat, every change of
 * owner or mode through a descriptor.
 */
#include "util/safe_dir.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define GROUPS_MAX 64

struct who {
	bool  check;                 /* a user to hand the directory to */
	uid_t uid;
	gid_t gid, groups[GROUPS_MAX];
	int   ngroups;
	char  name[64];
};

static int
fail(char *err, size_t errlen, int fd, const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static int
fail(char *err, size_t errlen, int fd, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	if (fd >= 0)
		close(fd);
	return -1;
}

static int
lookup(const char *user, struct who *w, char *err, size_t errlen)
{
	struct passwd pw, *res = NULL;
	char buf[4096];

	memset(w, 0, sizeof(*w));
	if (user == NULL)
		return 0;
	if (getpwnam_r(user, &pw, buf, sizeof(buf), &res) != 0 || res == NULL)
		return fail(err, errlen, -1, "no such user '%s'", user);
	w->uid = pw.pw_uid;
	w->gid = pw.pw_gid;
	snprintf(w->name, sizeof(w->name), "%s", pw.pw_name);
	w->ngroups = GROUPS_MAX;
	if (getgrouplist(pw.pw_name, pw.pw_gid, w->groups, &w->ngroups) < 0)
		return fail(err, errlen, -1, "user %s is in more than %d groups", user, GROUPS_MAX);
	w->check = w->uid != 0;      /* root "dropping" to root gains nothing */
	return 0;
}

/* By the permission class that applies to the user (owner, group, other). */
static bool
writable_by(const struct stat *st, const struct who *w)
{
	if (st->st_uid == w->uid)
		return (st->st_mode & S_IWUSR) != 0;
	for (int i = 0; i < w->ngroups; i++)
		if (w->groups[i] == st->st_gid)
			return (st->st_mode & S_IWGRP) != 0;
	return (st->st_mode & S_IWOTH) != 0;
}

/* dir (at shown) holds entry: may the user swap entry for something of its
 * own? Only if it can write dir, and dir is not sticky (/tmp) with an entry
 * someone else owns, which the sticky bit keeps from being renamed. Asked
 * before the entry is opened (entry NULL: only a sticky dir may pass) and
 * after. */
static int
check_swap(const struct stat *dir, const struct stat *entry, const char *shown,
    const struct who *w, const char *path, char *err, size_t errlen)
{
	if (!w->check || !writable_by(dir, w))
		return 0;
	if ((dir->st_mode & S_ISVTX) && (entry == NULL || entry->st_uid != w->uid))
		return 0;
	return fail(err, errlen, -1, "%s is writable by user %s, who could put a link of its own "
	    "in place of %s: refusing it (make %s root's and not writable by %s, or choose "
	    "another path)", shown, w->name, path, shown, w->name);
}

/* Opens comp in dfd as a directory; creates it when missing. */
static int
step(int dfd, const char *comp, bool last, mode_t mode, const char *shown, char *err,
    size_t errlen)
{
	struct stat lst;
	char owner[64];
	int fd, flags = O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW;

	if ((fd = openat(dfd, comp, flags)) >= 0)
		return fd;
	if (errno == ENOENT) {
		if (mkdirat(dfd, comp, last ? mode : 0755) != 0 && errno != EEXIST)
			return fail(err, errlen, -1, "%s: mkdir: %s", shown, strerror(errno));
		if ((fd = openat(dfd, comp, flags)) < 0)
			return fail(err, errlen, -1, "%s: %s", shown, strerror(errno));
		/* made by us: the umask must not keep the daemon's user out */
		if (!last && fchmod(fd, 0755) != 0)
			return fail(err, errlen, fd, "%s: chmod: %s", shown, strerror(errno));
		return fd;
	}
	if (errno != ELOOP && errno != ENOTDIR)
		return fail(err, errlen, -1, "%s: %s", shown, strerror(errno));
	if (fstatat(dfd, comp, &lst, AT_SYMLINK_NOFOLLOW) != 0)
		return fail(err, errlen, -1, "%s: %s", shown, strerror(errno));
	if (!S_ISLNK(lst.st_mode))
		return fail(err, errlen, -1, "%s is not a directory", shown);
	if (last)
		return fail(err, errlen, -1,
		    "%s is a symbolic link: refusing it (it could point at "
		    "any directory; give the real path)", shown);
	if (lst.st_uid != 0) {
		struct passwd pw, *res = NULL;
		char buf[1024];
		if (getpwuid_r(lst.st_uid, &pw, buf, sizeof(buf), &res) == 0 && res != NULL)
			snprintf(owner, sizeof(owner), "%s", res->pw_name);
		else
			snprintf(owner, sizeof(owner), "uid %u", (unsigned)lst.st_uid);
		return fail(err, errlen, -1,
		    "%s is a symbolic link owned by %s: refusing to follow "
		    "it (only root's links are followed)", shown, owner);
	}
	if ((fd = openat(dfd, comp, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		return fail(err, errlen, -1, "%s: %s", shown, strerror(errno));
	return fd;
}

int
safe_dir_open(const char *path, mode_t mode, const char *user, char *err, size_t errlen)
{
	char buf[PATH_MAX], shown[PATH_MAX] = "", parent[PATH_MAX];
	struct stat st, dst;
	struct who w;
	char *save = NULL, *comp, *next;
	int dfd, walked = 0;

	if (lookup(user, &w, err, errlen) != 0)
		return -1;
	if ((size_t)snprintf(buf, sizeof(buf), "%s", path) >= sizeof(buf) || path[0] == '\0')
		return fail(err, errlen, -1, "%s: empty or too long a path", path);
	if ((dfd = open(path[0] == '/' ? "/" : ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		return fail(err, errlen, -1, "%s: %s", path[0] == '/' ? "/" : ".", strerror(errno));
	snprintf(shown, sizeof(shown), "%s", path[0] == '/' ? "/" : ".");
	if (fstat(dfd, &dst) != 0)
		return fail(err, errlen, dfd, "%s: %s", shown, strerror(errno));
	if (path[0] == '/')
		shown[0] = '\0';
	comp = strtok_r(buf, "/", &save);
	while (comp != NULL) {
		int fd;

		next = strtok_r(NULL, "/", &save);
		if (strcmp(comp, ".") == 0) {
			comp = next;
			continue;
		}
		if (strcmp(comp, "..") == 0)
			return fail(err, errlen, dfd, "%s: a path with '..' is not accepted", path);
		snprintf(parent, sizeof(parent), "%s", shown[0] ? shown : "/");
		if (strcmp(shown, ".") == 0)
			shown[0] = '\0';
		snprintf(shown + strlen(shown), sizeof(shown) - strlen(shown), "%s%s",
		    shown[0] == '\0' && path[0] != '/' ? "" : "/", comp);
		if (check_swap(&dst, NULL, parent, &w, path, err, errlen) != 0) {
			close(dfd);
			return -1;
		}
		fd = step(dfd, comp, next == NULL, mode, shown, err, errlen);
		close(dfd);
		if (fd < 0)
			return -1;
		dfd = fd;
		if (fstat(dfd, &st) != 0)
			return fail(err, errlen, dfd, "%s: %s", shown, strerror(errno));
		if (check_swap(&dst, &st, parent, &w, path, err, errlen) != 0) {
			close(dfd);
			return -1;
		}
		dst = st;
		comp = next;
		walked++;
	}
	if (walked == 0)
		return fail(err, errlen, dfd, "%s: not a directory of its own", path);
	st = dst;
	if (user != NULL && (st.st_uid != w.uid || st.st_gid != w.gid) &&
	    fchown(dfd, w.uid, w.gid) != 0)
		return fail(err, errlen, dfd, "%s: chown to %s: %s", path, w.name, strerror(errno));
	if ((user != NULL || st.st_uid == geteuid()) && (st.st_mode & 07777) != mode &&
	    fchmod(dfd, mode) != 0)
		return fail(err, errlen, dfd, "%s: chmod %04o: %s", path, (unsigned)mode,
		    strerror(errno));
	return dfd;
}
