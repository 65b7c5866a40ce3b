/*
 * One place for reading a token file safely (see secret_file.h): every
 * daemon that takes a bearer token from a file gets the same checks and
 * the same messages.
 */
#include "util/secret_file.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>

static int
refuse(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static int
refuse(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -1;
}

static void
user_name(uid_t uid, char *buf, size_t len)
{
	struct passwd pw, *res = NULL;
	char tmp[1024];

	if (getpwuid_r(uid, &pw, tmp, sizeof(tmp), &res) == 0 && res != NULL)
		snprintf(buf, len, "%s", res->pw_name);
	else
		snprintf(buf, len, "uid %u", (unsigned)uid);
}

static void
group_name(gid_t gid, char *buf, size_t len)
{
	struct group gr, *res = NULL;
	char tmp[1024];

	if (getgrgid_r(gid, &gr, tmp, sizeof(tmp), &res) == 0 && res != NULL)
		snprintf(buf, len, "%s", res->gr_name);
	else
		snprintf(buf, len, "gid %u", (unsigned)gid);
}

/* Whom the checks are for: the process, or the user secret_file_read_as
 * names. */
struct who {
	uid_t uid;
	gid_t gid;
};

static bool
owner_ok(const struct who *w, uid_t uid)
{
	return uid == 0 || uid == w->uid;
}

/* Who may read or write the open file, by its mode, owner and group. */
static int
check_access(const struct who *w, const char *path, const char *what, const struct stat *st,
    char *err, size_t errlen)
{
	unsigned mode = (unsigned)(st->st_mode & 07777);
	char me[64], grp[64], own[64];

	user_name(w->uid, me, sizeof(me));
	group_name(w->gid, grp, sizeof(grp));
	if (!owner_ok(w, st->st_uid)) {
		user_name(st->st_uid, own, sizeof(own));
		return refuse(err, errlen, "%s %s is owned by %s: it must belong to root or %s, "
		    "who alone may change its mode", what, path, own, me);
	}
	if (mode & (S_IROTH | S_IWOTH))
		return refuse(err, errlen, "%s %s is %s by others (mode %04o): refusing to use it; "
		    "chmod o-rwx %s", what, path, (mode & S_IROTH) && (mode & S_IWOTH) ?
		    "readable and writable" : mode & S_IROTH ? "readable" : "writable", mode, path);
	if ((mode & (S_IRGRP | S_IWGRP)) && st->st_gid != w->gid) {
		group_name(st->st_gid, own, sizeof(own));
		return refuse(err, errlen,
		    "%s %s is %s by group %s, not %s's group %s (mode %04o): "
		    "refusing to use it; chgrp %s %s, or chmod g-rw %s", what, path,
		    (mode & S_IRGRP) && (mode & S_IWGRP) ? "readable and writable" :
		    mode & S_IRGRP ? "readable" : "writable", own, me, grp, mode, grp, path, path);
	}
	return 0;
}

/* Opens path; a symlink only when it and its target share an owner that
 * is root or us. */
static int
open_secret(const struct who *w, const char *path, const char *what, struct stat *st,
    char *err, size_t errlen)
{
	struct stat ln, ln2;
	char own[64], town[64];
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY)) >= 0)
		goto opened;
	if (errno != ELOOP)
		return refuse(err, errlen, "%s %s: %s", what, path, strerror(errno));
	if (lstat(path, &ln) != 0)
		return refuse(err, errlen, "%s %s: %s", what, path, strerror(errno));
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY)) < 0)
		return refuse(err, errlen, "%s %s: %s", what, path, strerror(errno));
	if (fstat(fd, st) != 0 || lstat(path, &ln2) != 0 || ln2.st_ino != ln.st_ino ||
	    ln2.st_dev != ln.st_dev) {
		close(fd);
		return refuse(err, errlen, "%s %s: the symlink changed while it was opened", what,
		    path);
	}
	if (!owner_ok(w, ln.st_uid) || ln.st_uid != st->st_uid) {
		user_name(ln.st_uid, own, sizeof(own));
		user_name(st->st_uid, town, sizeof(town));
		close(fd);
		return refuse(err, errlen, "%s %s is a symlink owned by %s to a file owned by %s: "
		    "refusing to follow it (the link and its file must belong to the same owner, "
		    "root or the daemon's user)", what, path, own, town);
	}
	return fd;
opened:
	if (fstat(fd, st) != 0) {
		int e = errno;
		close(fd);
		return refuse(err, errlen, "%s %s: %s", what, path, strerror(e));
	}
	return fd;
}

int
secret_file_read(const char *path, const char *what, char *out, size_t cap, char *err,
    size_t errlen)
{
	return secret_file_read_as(path, what, geteuid(), getegid(), out, cap, err, errlen);
}

int
secret_file_read_as(const char *path, const char *what, uid_t uid, gid_t gid, char *out,
    size_t cap, char *err, size_t errlen)
{
	const struct who w = { uid, gid };
	struct stat st;
	ssize_t n;
	size_t len;
	int fd;

	out[0] = '\0';
	if (cap < 2)
		return refuse(err, errlen, "%s %s: no room for a token", what, path);
	if ((fd = open_secret(&w, path, what, &st, err, errlen)) < 0)
		return -1;
	if (!S_ISREG(st.st_mode)) {
		close(fd);
		return refuse(err, errlen, "%s %s: not a regular file", what, path);
	}
	if (check_access(&w, path, what, &st, err, errlen) != 0) {
		close(fd);
		return -1;
	}
	if (st.st_size >= (off_t)cap) {
		close(fd);
		return refuse(err, errlen, "%s %s is %lld bytes: more than a token (at most %zu)",
		    what, path, (long long)st.st_size, cap - 1);
	}
	do
		n = read(fd, out, cap - 1);
	while (n < 0 && errno == EINTR);
	if (n < 0) {
		int e = errno;
		close(fd);
		out[0] = '\0';
		return refuse(err, errlen, "%s %s: %s", what, path, strerror(e));
	}
	close(fd);
	out[n] = '\0';
	out[strcspn(out, "\r\n")] = '\0';
	len = strlen(out);
	while (len > 0 && (out[len - 1] == ' ' || out[len - 1] == '\t'))
		out[--len] = '\0';
	if (len == 0)
		return refuse(err, errlen, "%s %s is empty", what, path);
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)out[i] < 0x21 || (unsigned char)out[i] > 0x7e) {
			OPENSSL_cleanse(out, cap);
			out[0] = '\0';
			return refuse(err, errlen,
			    "%s %s: the token has a space or control character",
			    what, path);
		}
	return 0;
}
