/*
 * lazyfs: a FUSE pass-through file system for tests that loses what was not
 * synced, the way a power cut does (the idea of Jepsen's LazyFS), and fails
 * writes or syncs on command, the way a full or failing disk does. The edge's
 * promise is that an OK means "on disk"; this is how a test can pull the
 * plug on a disk and see whether it was.
 *
 * usage: lazyfs [-d] BACKING_DIR MOUNTPOINT
 *
 * Files live in BACKING_DIR. Each write goes through at once (so reads see
 * it), and its pre-image is kept in memory until the file is synced: fsync
 * or fdatasync of any descriptor of the file, or a write through a
 * descriptor opened O_SYNC/O_DSYNC, makes everything written to that file so
 * far durable. At unmount (the power cut) every write not made durable is
 * undone: pre-images restored newest first, the file cut back to its size at
 * its last sync. Metadata (create, rename, unlink, mkdir, truncate) is
 * durable at once; truncate is a sync point of its file.
 *
 * Commands: write one line to MOUNTPOINT/.lazyfs
 *   fail write ERRNO     every write(2) to a file fails (ENOSPC, EIO, EDQUOT)
 *   fail fsync ERRNO     every fsync/fdatasync fails
 *   fail none            no more failures
 *   fsync ignore         syncs succeed and make nothing durable (a disk that
 *                        lies: for proving a test can see a loss)
 *   fsync honour         back to normal
 *   fsync delay MS       each sync takes MS milliseconds (a slow SD card: a
 *                        power cut then often lands inside a commit)
 * Reading MOUNTPOINT/.lazyfs gives one line of figures. Runs in the
 * foreground, single-threaded; unmount with fusermount3 -u or umount.
 *
 * SIGUSR1 is the power cut itself: from that instant nothing more becomes
 * durable (a sync in progress does not finish, later writes and syncs fail
 * with EIO), so killing the programs afterwards cannot sneak a sync in; the
 * unmount that follows then loses everything not synced before the signal.
 */
#include "lazyfs.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

struct lazyfs L;
static volatile sig_atomic_t power_cut;

static void
on_power_cut(int sig)
{
	(void)sig;
	power_cut = 1;
}

static const char *
rel(const char *path)
{
	return path[1] == '\0' ? "." : path + 1;
}

static bool
is_ctl(const char *path)
{
	return strcmp(path, CTL_NAME) == 0;
}

static struct lfile *
lfile_of(int fd, const char *path, bool create)
{
	struct stat st;
	struct lfile *f;

	if (fstat(fd, &st) != 0)
		return NULL;
	for (f = L.files; f != NULL; f = f->next)
		if (f->dev == st.st_dev && f->ino == st.st_ino)
			return f;
	if (!create || (f = calloc(1, sizeof(*f))) == NULL)
		return NULL;
	f->dev = st.st_dev;
	f->ino = st.st_ino;
	snprintf(f->path, sizeof(f->path), "%s", rel(path));
	f->next = L.files;
	L.files = f;
	return f;
}

static void
forget_log(struct lfile *f)
{
	struct undo *u, *next;

	for (u = f->log; u != NULL; u = next) {
		next = u->next;
		free(u);
	}
	f->log = NULL;
	L.undo_bytes -= f->bytes;
	f->bytes = 0;
}

/* The power cut of one file: every write since its last sync undone. */
static void
drop_file(struct lfile *f)
{
	int fd;

	if (f->log == NULL)
		return;
	if ((fd = openat(L.root, f->path, O_WRONLY | O_CLOEXEC)) < 0) {
		fprintf(stderr, "lazyfs: %s: cannot undo: %s\n", f->path, strerror(errno));
		forget_log(f);
		return;
	}
	unsigned n = 0;
	for (struct undo *u = f->log; u != NULL; u = u->next) {
		if (u->len > 0 && pwrite(fd, u->old, u->len, u->off) != (ssize_t)u->len)
			fprintf(stderr, "lazyfs: %s: undo at %lld: %s\n", f->path,
			    (long long)u->off,
			    strerror(errno));
		L.lost_writes++;
		n++;
	}
	fprintf(stderr, "lazyfs: lost %u writes not synced to %s\n", n, f->path);
	if (ftruncate(fd, f->durable_size) != 0)
		fprintf(stderr, "lazyfs: %s: truncate to %lld: %s\n", f->path,
		    (long long)f->durable_size, strerror(errno));
	close(fd);
	forget_log(f);
}

/* ---- operations ---- */

static int
lz_getattr(const char *path, struct stat *st, struct fuse_file_info *fi)
{
	if (is_ctl(path)) {
		memset(st, 0, sizeof(*st));
		st->st_mode = S_IFREG | 0600;
		st->st_nlink = 1;
		return 0;
	}
	if (fi != NULL && fi->fh != 0)
		return fstat((int)fi->fh, st) == 0 ? 0 : -errno;
	return fstatat(L.root, rel(path), st, AT_SYMLINK_NOFOLLOW) == 0 ? 0 : -errno;
}

static int
lz_readdir(const char *path, void *buf, fuse_fill_dir_t fill, off_t off,
    struct fuse_file_info *fi, enum fuse_readdir_flags flags)
{
	struct dirent *de;
	DIR *d;
	int fd;

	(void)off;
	(void)fi;
	(void)flags;
	if ((fd = openat(L.root, rel(path), O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		return -errno;
	if ((d = fdopendir(fd)) == NULL) {
		close(fd);
		return -errno;
	}
	while ((de = readdir(d)) != NULL)
		if (fill(buf, de->d_name, NULL, 0, 0) != 0)
			break;
	closedir(d);
	if (strcmp(path, "/") == 0)
		fill(buf, CTL_FILE, NULL, 0, 0);
	return 0;
}

static int
lz_mkdir(const char *path, mode_t mode)
{
	return mkdirat(L.root, rel(path), mode) == 0 ? 0 : -errno;
}

static int
lz_rmdir(const char *path)
{
	return unlinkat(L.root, rel(path), AT_REMOVEDIR) == 0 ? 0 : -errno;
}

static int
lz_unlink(const char *path)
{
	struct stat st;

	if (fstatat(L.root, rel(path), &st, AT_SYMLINK_NOFOLLOW) == 0)
		for (struct lfile *f = L.files; f != NULL; f = f->next)
			if (f->dev == st.st_dev && f->ino == st.st_ino)
				forget_log(f);
	return unlinkat(L.root, rel(path), 0) == 0 ? 0 : -errno;
}

static int
lz_rename(const char *from, const char *to, unsigned int flags)
{
	if (flags != 0)
		return -EINVAL;
	if (renameat(L.root, rel(from), L.root, rel(to)) != 0)
		return -errno;
	for (struct lfile *f = L.files; f != NULL; f = f->next)
		if (strcmp(f->path, rel(from)) == 0)
			snprintf(f->path, sizeof(f->path), "%s", rel(to));
	return 0;
}

static int
lz_chmod(const char *path, mode_t mode, struct fuse_file_info *fi)
{
	(void)fi;
	return fchmodat(L.root, rel(path), mode, 0) == 0 ? 0 : -errno;
}

static int
lz_chown(const char *path, uid_t uid, gid_t gid, struct fuse_file_info *fi)
{
	(void)fi;
	return fchownat(L.root, rel(path), uid, gid, AT_SYMLINK_NOFOLLOW) == 0 ? 0 : -errno;
}

static int
lz_utimens(const char *path, const struct timespec tv[2], struct fuse_file_info *fi)
{
	(void)fi;
	return utimensat(L.root, rel(path), tv, AT_SYMLINK_NOFOLLOW) == 0 ? 0 : -errno;
}

/* A sync point of its file, then the new size. */
static int
lz_truncate(const char *path, off_t size, struct fuse_file_info *fi)
{
	int fd = fi != NULL && fi->fh != 0 ? (int)fi->fh :
	    openat(L.root, rel(path), O_WRONLY | O_CLOEXEC);
	struct lfile *f;
	int rc = 0;

	if (is_ctl(path))
		return 0;
	if (fd < 0)
		return -errno;
	if (power_cut) {
		if (fi == NULL || fi->fh == 0)
			close(fd);
		return -EIO;
	}
	if ((f = lfile_of(fd, path, false)) != NULL)
		forget_log(f);
	if (ftruncate(fd, size) != 0)
		rc = -errno;
	if (f != NULL)
		f->durable_size = size;
	if (fi == NULL || fi->fh == 0)
		close(fd);
	return rc;
}

static int
remember_fd(int fd, int flags, struct fuse_file_info *fi)
{
	if (fd >= MAX_FDS) {
		close(fd);
		return -EMFILE;
	}
	L.sync_fd[fd] = (flags & (O_SYNC | O_DSYNC)) != 0;
	fi->fh = (uint64_t)fd;
	return 0;
}

/* The backing file is opened for reading too when it is written: each
 * write reads the bytes it replaces. The kernel gives the offsets, so
 * O_APPEND stays with it. */
static int
backing_flags(int flags)
{
	int acc = (flags & O_ACCMODE) == O_RDONLY ? O_RDONLY : O_RDWR;

	return (flags & ~(O_ACCMODE | O_APPEND | O_DIRECT)) | acc | O_CLOEXEC;
}

static int
lz_create(const char *path, mode_t mode, struct fuse_file_info *fi)
{
	int fd = openat(L.root, rel(path), backing_flags(fi->flags) | O_CREAT, mode);

	return fd < 0 ? -errno : remember_fd(fd, fi->flags, fi);
}

static int
lz_open(const char *path, struct fuse_file_info *fi)
{
	int fd;

	if (is_ctl(path)) {
		fi->fh = 0;
		fi->direct_io = 1;       /* its size is 0; reads must reach us */
		return 0;
	}
	if ((fd = openat(L.root, rel(path), backing_flags(fi->flags))) < 0)
		return -errno;
	return remember_fd(fd, fi->flags, fi);
}

static int
lz_read(const char *path, char *buf, size_t size, off_t off, struct fuse_file_info *fi)
{
	ssize_t n;

	if (is_ctl(path)) {
		const char *s = lazyfs_figures();
		size_t len = strlen(s);
		if ((size_t)off >= len)
			return 0;
		n = (ssize_t)(len - (size_t)off < size ? len - (size_t)off : size);
		memcpy(buf, s + off, (size_t)n);
		return (int)n;
	}
	n = pread((int)fi->fh, buf, size, off);
	return n < 0 ? -errno : (int)n;
}

static void
make_durable(struct lfile *f)
{
	struct stat st;
	int fd;

	forget_log(f);
	if ((fd = openat(L.root, f->path, O_RDONLY | O_CLOEXEC)) >= 0) {
		if (fstat(fd, &st) == 0)
			f->durable_size = st.st_size;
		close(fd);
	}
}

static int
lz_write(const char *path, const char *buf, size_t size, off_t off, struct fuse_file_info *fi)
{
	int fd = (int)fi->fh;
	struct lfile *f;
	struct undo *u;
	struct stat st;
	size_t keep;
	ssize_t n;

	if (is_ctl(path))
		return lazyfs_command(buf, size);
	if (power_cut)
		return -EIO;
	if (L.fail_write != 0) {
		L.failed_writes++;
		return -L.fail_write;
	}
	if (fstat(fd, &st) != 0 || (f = lfile_of(fd, path, true)) == NULL)
		return -EIO;
	if (f->log == NULL)
		f->durable_size = st.st_size;
	/* the bytes this write replaces; past the end there are none (the
	 * size at the last sync takes care of growth) */
	keep = off >= st.st_size ? 0 : (size_t)(st.st_size - off) < size ?
	    (size_t)(st.st_size - off) : size;
	if (L.undo_bytes + keep > UNDO_CAP) {
		fprintf(stderr, "lazyfs: more than %llu bytes written without a sync\n", UNDO_CAP);
		return -ENOSPC;
	}
	if ((u = malloc(sizeof(*u) + keep)) == NULL)
		return -ENOMEM;
	u->off = off;
	u->len = keep;
	if (keep > 0 && pread(fd, u->old, keep, off) != (ssize_t)keep) {
		free(u);
		return -EIO;
	}
	if ((n = pwrite(fd, buf, size, off)) < 0) {
		int e = errno;
		free(u);
		return -e;
	}
	u->next = f->log;
	f->log = u;
	f->bytes += keep;
	L.undo_bytes += keep;
	L.writes++;
	if (fd < MAX_FDS && L.sync_fd[fd] && !L.ignore_fsync && !power_cut)
		make_durable(f);
	return (int)n;
}

static int
lz_fsync(const char *path, int datasync, struct fuse_file_info *fi)
{
	struct lfile *f;

	(void)datasync;
	if (is_ctl(path))
		return 0;
	if (power_cut)
		return -EIO;
	if (L.fail_fsync != 0) {
		L.failed_syncs++;
		return -L.fail_fsync;
	}
	L.syncs++;
	if (L.fsync_delay_ms > 0)
		usleep(L.fsync_delay_ms * 1000);     /* SIGUSR1 cuts it short */
	if (power_cut)
		return -EIO;
	if (!L.ignore_fsync && fi != NULL && (f = lfile_of((int)fi->fh, path, false)) != NULL)
		make_durable(f);
	return 0;
}

static int
lz_flush(const char *path, struct fuse_file_info *fi)
{
	(void)path;
	(void)fi;
	return 0;
}

static int
lz_release(const char *path, struct fuse_file_info *fi)
{
	if (!is_ctl(path) && fi->fh != 0) {
		if (fi->fh < MAX_FDS)
			L.sync_fd[fi->fh] = false;
		close((int)fi->fh);
	}
	return 0;
}

static int
lz_statfs(const char *path, struct statvfs *sv)
{
	(void)path;
	return fstatvfs(L.root, sv) == 0 ? 0 : -errno;
}

static int
lz_access(const char *path, int mask)
{
	if (is_ctl(path))
		return 0;
	return faccessat(L.root, rel(path), mask, 0) == 0 ? 0 : -errno;
}

static void *
lz_init(struct fuse_conn_info *conn, struct fuse_config *cfg)
{
	(void)conn;
	cfg->use_ino = 1;
	/* nothing cached that a test's change of mind could contradict */
	cfg->entry_timeout = cfg->attr_timeout = cfg->negative_timeout = 0;
	return NULL;
}

/* Unmount: the power cut. */
static void
lz_destroy(void *data)
{
	unsigned n = 0;
	struct lfile *f, *next;

	(void)data;
	for (f = L.files; f != NULL; f = next) {
		next = f->next;
		n += f->log != NULL;
		drop_file(f);
		free(f);
	}
	L.files = NULL;
	fprintf(stderr, "lazyfs: unmounted: %llu writes not synced were lost (%u files)\n",
	    (unsigned long long)L.lost_writes, n);
}

static const struct fuse_operations ops = {
	.getattr = lz_getattr,
	.readdir = lz_readdir,
	.mkdir = lz_mkdir,
	.rmdir = lz_rmdir,
	.unlink = lz_unlink,
	.rename = lz_rename,
	.chmod = lz_chmod,
	.chown = lz_chown,
	.utimens = lz_utimens,
	.truncate = lz_truncate,
	.create = lz_create,
	.open = lz_open,
	.read = lz_read,
	.write = lz_write,
	.fsync = lz_fsync,
	.flush = lz_flush,
	.release = lz_release,
	.statfs = lz_statfs,
	.access = lz_access,
	.init = lz_init,
	.destroy = lz_destroy,
};

int
main(int argc, char **argv)
{
	char *fargv[8];
	int fargc = 0, a = 1;
	bool debug = false;

	if (a < argc && strcmp(argv[a], "-d") == 0) {
		debug = true;
		a++;
	}
	if (argc - a != 2) {
		fprintf(stderr, "usage: lazyfs [-d] BACKING_DIR MOUNTPOINT\n");
		return 2;
	}
	if ((L.root = open(argv[a], O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
		fprintf(stderr, "lazyfs: %s: %s\n", argv[a], strerror(errno));
		return 1;
	}
	umask(0);
	{
		struct sigaction sa;

		memset(&sa, 0, sizeof(sa));
		sa.sa_handler = on_power_cut;   /* no SA_RESTART: a sync's sleep ends */
		sigemptyset(&sa.sa_mask);
		if (sigaction(SIGUSR1, &sa, NULL) != 0) {
			perror("lazyfs: sigaction");
			return 1;
		}
	}
	fargv[fargc++] = argv[0];
	fargv[fargc++] = "-f";
	fargv[fargc++] = "-s";
	if (debug)
		fargv[fargc++] = "-d";
	fargv[fargc++] = "-o";
	fargv[fargc++] = "fsname=lazyfs,subtype=lazyfs";
	fargv[fargc++] = argv[a + 1];
	fargv[fargc] = NULL;
	return fuse_main(fargc, fargv, &ops, NULL);
}
