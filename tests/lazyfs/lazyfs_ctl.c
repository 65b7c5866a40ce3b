/*
 * lazyfs's control file (MOUNTPOINT/.lazyfs): the commands a test writes
 * (failures to inject, syncs to ignore or slow down) and the one line of
 * figures it reads (lazyfs.c has the list).
 */
#include "lazyfs.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

static int
parse_errno(const char *s)
{
	static const struct { const char *name; int e; } names[] = {
		{ "ENOSPC", ENOSPC }, { "EIO", EIO }, { "EDQUOT", EDQUOT }, { "EROFS", EROFS },
	};
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strcmp(s, names[i].name) == 0)
			return names[i].e;
	return 0;
}

int
lazyfs_command(const char *buf, size_t n)
{
	char line[128], what[32], arg[32];
	int k;

	if (n == 0 || n >= sizeof(line))
		return -EINVAL;
	memcpy(line, buf, n);
	line[n] = '\0';
	line[strcspn(line, "\r\n")] = '\0';
	arg[0] = '\0';
	k = sscanf(line, "fail %31s %31s", what, arg);
	if (k == 1 && strcmp(what, "none") == 0) {
		L.fail_write = L.fail_fsync = 0;
	} else if (k == 2 && strcmp(what, "write") == 0 && parse_errno(arg) != 0) {
		L.fail_write = parse_errno(arg);
	} else if (k == 2 && strcmp(what, "fsync") == 0 && parse_errno(arg) != 0) {
		L.fail_fsync = parse_errno(arg);
	} else if (strcmp(line, "fsync ignore") == 0) {
		L.ignore_fsync = true;
	} else if (strcmp(line, "fsync honour") == 0) {
		L.ignore_fsync = false;
	} else if (sscanf(line, "fsync delay %u", &L.fsync_delay_ms) == 1 &&
	    L.fsync_delay_ms <= 10000) {
		;
	} else {
		fprintf(stderr, "lazyfs: unknown command '%s'\n", line);
		return -EINVAL;
	}
	fprintf(stderr, "lazyfs: %s\n", line);
	return (int)n;
}

const char *
lazyfs_figures(void)
{
	unsigned pending = 0;

	for (struct lfile *f = L.files; f != NULL; f = f->next)
		pending += f->log != NULL;
	snprintf(L.status, sizeof(L.status), "writes=%llu syncs=%llu pending_files=%u "
	    "pending_bytes=%zu failed_writes=%llu failed_syncs=%llu fail_write=%d fail_fsync=%d "
	    "ignore_fsync=%d\n", (unsigned long long)L.writes, (unsigned long long)L.syncs, pending,
	    L.undo_bytes, (unsigned long long)L.failed_writes, (unsigned long long)L.failed_syncs,
	    L.fail_write, L.fail_fsync, L.ignore_fsync);
	return L.status;
}
