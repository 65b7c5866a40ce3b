/*
 * lazyfs's state, shared by its two files: lazyfs.c (the FUSE file system:
 * pass-through, pre-images kept until a sync, undone at unmount) and
 * lazyfs_ctl.c (the control file's commands and figures).
 */
#ifndef CT_LAZYFS_H
#define CT_LAZYFS_H

#define FUSE_USE_VERSION 31
#include <fuse.h>

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define CTL_FILE  ".lazyfs"
#define CTL_NAME  "/" CTL_FILE
#define MAX_FDS   65536
#define UNDO_CAP  (1024ull * 1024 * 1024)    /* pre-images held at most */

struct undo {
	off_t        off;
	size_t       len;
	struct undo *next;          /* older */
	uint8_t      old[];
};

struct lfile {
	dev_t         dev;
	ino_t         ino;
	char          path[PATH_MAX];   /* relative to the backing dir */
	off_t         durable_size;     /* at the last sync */
	struct undo  *log;              /* newest first; NULL: all durable */
	size_t        bytes;
	struct lfile *next;
};

struct lazyfs {
	int           root;             /* backing dir */
	struct lfile *files;
	size_t        undo_bytes;
	int           fail_write, fail_fsync;
	bool          ignore_fsync;
	unsigned      fsync_delay_ms;
	bool          sync_fd[MAX_FDS]; /* opened O_SYNC/O_DSYNC */
	char          status[256];
	uint64_t      writes, syncs, failed_writes, failed_syncs, lost_writes;
};
extern struct lazyfs L;

/* lazyfs_ctl.c: a command line written to the control file (its length, or
 * -errno), and the figures it reads back. */
int lazyfs_command(const char *buf, size_t n);
const char *lazyfs_figures(void);

#endif
