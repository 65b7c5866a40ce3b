/*
 * The control socket (run_dir/control.sock): carnitrackctl's door into the
 * supervisor. One JSON request per line (lib/ctl/ctl_proto.h), one JSON
 * reply per line. Bounded: at most CONTROL_MAX_CLIENTS at once, one request
 * line of CTL_LINE_MAX, a client idle for CONTROL_IDLE_S is closed.
 *
 * Each client has an id, never reused while the daemon runs. Whatever waits
 * on the workers for a client (status, restart, identity reset) keeps that
 * id; control_reply() finds the client by it when the answer comes, and
 * drops the answer of a client that has gone.
 */
#ifndef CT_CONTROL_H
#define CT_CONTROL_H

#include <stdint.h>
#include <sys/types.h>
#include <event2/event.h>
#include <jansson.h>

#define CONTROL_MAX_CLIENTS 32
#define CONTROL_IDLE_S      60

int  control_open(struct event_base *base, const char *run_dir, gid_t gid, char *err,
    size_t errlen);
void control_close(void);
/* Sends one reply object (stolen) to client `id`, if it is still there, and
 * keeps the client for its next request. */
void control_reply(uint32_t id, json_t *reply);
const char *control_socket_path(void);

/* control_identity.c: identity --reset, relayed to the store worker;
 * activate CODE, relayed to the cloud worker. */
void control_identity_reset(struct event_base *base, uint32_t client);
void control_identity_done(uint32_t frame_id, const uint8_t *p, size_t n);
void control_activate(struct event_base *base, uint32_t client, const char *code);
void control_activate_done(uint32_t frame_id, const uint8_t *p, size_t n);
void control_identity_close(void);

#endif
