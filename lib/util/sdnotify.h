/* Tells systemd about readiness when NOTIFY_SOCKET is set: one datagram,
 * e.g. "READY=1" or "STATUS=...". No-op (returns 0) without the variable. */
#ifndef CT_SDNOTIFY_H
#define CT_SDNOTIFY_H
int sd_notify_send(const char *msg);
#endif
