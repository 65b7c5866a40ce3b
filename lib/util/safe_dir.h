/*
 * The daemon's own directories (data_dir, run_dir), made and handed to its
 * user by root without following a link someone else planted.
 *
 * The path is walked one component at a time from / (or the working
 * directory), each opened with O_DIRECTORY relative to its parent: missing
 * components are created (0755 on the way, `mode` for the last), a symlink
 * on the way is followed only when root owns it, and the last component
 * must not be a symlink at all (O_NOFOLLOW). When a user is given (root
 * dropping to it), no directory on the way may be writable by that user,
 * or it could swap what comes after for a link of its own; a sticky one
 * (/tmp) is accepted when what comes after is not that user's. The last
 * directory is then fchown'ed and fchmod'ed through its descriptor, never
 * by name. Errors name the path and what is wrong with it.
 */
#ifndef CT_SAFE_DIR_H
#define CT_SAFE_DIR_H

#include <stddef.h>
#include <sys/types.h>

/* user NULL: no owner change and no writability check (not root, or no
 * privilege drop); the mode is set when the directory is ours. Returns an
 * O_DIRECTORY descriptor on the directory (caller closes), or -1 with err. */
int safe_dir_open(const char *path, mode_t mode, const char *user, char *err, size_t errlen);

#endif
