/*
 * The control socket (run_dir/control.sock): carnitrackctl's door into the
 * supervisor. One JSON request per line (lib/ctl/ctl_proto.h), one JSON
 * reply per line. Bounded: at most CONTROL_MAX_CLIENTS at once, one request
 * line of CTL_LINE_MAX, a client idle for CONTROL_IDLE_S is closed.
 */
#ifndef CT_CONTROL_H
#define CT_CONTROL_H

#include <stdint.h>
#include <sys/types.h>
#include <event2/event.h>
#include <jansson.h>

#define CONTROL_MAX_CLIENTS 32
#define CONTROL_IDLE_S      60

struct ctl_client;

int  control_open(struct event_base *base, const char *run_dir, gid_t gid, char *err, size_t errlen);
void control_close(void);
/* Sends one reply object (stolen) and keeps the client for the next request. */
void control_reply(struct ctl_client *c, json_t *reply);
/* A client may go away while a reply is pending; the supervisor asks. */
void control_client_ref(struct ctl_client *c);
void control_client_unref(struct ctl_client *c);
int  control_client_alive(const struct ctl_client *c);
const char *control_socket_path(void);

/* control_identity.c: identity --reset, relayed to the store worker. */
void control_identity_reset(struct event_base *base, struct ctl_client *c);
void control_identity_done(uint32_t id, const uint8_t *p, size_t n);
void control_identity_close(void);

#endif
