#ifndef CT_FDUTIL_H
#define CT_FDUTIL_H
/* dup with FD_CLOEXEC set; -1 and errno on failure. */
int fcntl_dupfd_cloexec(int fd);
#endif
