/*
 * Reading a secret (a bearer token) from a file the way a credential must
 * be read, for every token_file of the edge ([cloud], [http]).
 *
 * The file is refused, with a message naming the file and what is wrong:
 *  - when it is not a regular file, or larger than the caller's buffer;
 *  - when it is owned by anyone but root or the reading process's user
 *    (another owner could loosen its mode at any time);
 *  - when anyone outside its owner and the process's group may read or
 *    write it: any permission for others, or group permissions while the
 *    file's group is not the process's (the message gives the mode and the
 *    chmod/chgrp that fixes it);
 *  - when the path is a symlink whose owner differs from its target's
 *    owner, or is neither root nor the process's user: a link planted by
 *    someone else cannot point the daemon at another owner's file.
 * The secret is the first line without trailing blanks; it must be
 * non-empty printable ASCII without spaces (it goes into an HTTP header).
 * Nothing of its content is ever put into an error message.
 */
#ifndef CT_SECRET_FILE_H
#define CT_SECRET_FILE_H

#include <stddef.h>
#include <sys/types.h>

/* 0: out holds the secret (NUL-terminated, at most cap - 1 bytes).
 * -1: err says why, out is emptied. what names the setting in messages,
 * e.g. "[cloud] token_file". */
int secret_file_read(const char *path, const char *what, char *out, size_t cap,
    char *err, size_t errlen);
/* The same checks judged for the user uid and group gid instead of the
 * calling process (carnitrackd -n run by root for a daemon that runs as
 * its service user); the file is still opened by the caller. */
int secret_file_read_as(const char *path, const char *what, uid_t uid, gid_t gid,
    char *out, size_t cap, char *err, size_t errlen);

#endif
