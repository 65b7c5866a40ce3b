/*
 * carnitrackctl's insides: the commands (main.c's table), the control
 * socket client (ctl_client.c: status, restart), the store read directly
 * (ctl_store.c), identity (ctl_identity.c), a REST cloud's setup code
 * (ctl_activate.c), and --json output (ctl_json.c).
 */
#ifndef CT_CTL_H
#define CT_CTL_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "conf/conf.h"

/* Exit codes: status uses all three. */
#define CTL_EXIT_OK        0
#define CTL_EXIT_DEGRADED  1
#define CTL_EXIT_DOWN      2
#define CTL_EXIT_USAGE     64

/* A command gets the parsed config (for data_dir, run_dir) and its own
 * arguments (argv[0] is the command name). */
typedef int (*ctl_fn)(const struct ct_conf *conf, int argc, char **argv);

struct ctl_command {
	const char *name;
	ctl_fn      fn;
	const char *usage;
};

int ctl_cmd_status(const struct ct_conf *conf, int argc, char **argv);
int ctl_cmd_restart(const struct ct_conf *conf, int argc, char **argv);
/* ctl_store.c: read LMDB directly (read-only). */
int ctl_cmd_devices(const struct ct_conf *conf, int argc, char **argv);
int ctl_cmd_sessions(const struct ct_conf *conf, int argc, char **argv);
int ctl_cmd_batches(const struct ct_conf *conf, int argc, char **argv);
int ctl_cmd_events(const struct ct_conf *conf, int argc, char **argv);

/* ctl_json.c: --json output of the listing commands, one document each:
 * {"<head keys>":..., "<key>":[item, item, ...], "error": only on failure}. */
struct ctl_out {
	bool json;
	long n;          /* items written */
	bool failed;     /* an item could not be built */
};
void ctl_json_begin(struct ctl_out *o, const char *key, json_t *head);   /* steals head */
void ctl_json_item(struct ctl_out *o, json_t *item);                     /* steals item */
void ctl_json_end(struct ctl_out *o, const char *error);
json_t *ctl_jtime_ms(int64_t ms);           /* ISO 8601 UTC with ms; <= 0 -> null */
json_t *ctl_juuid(const uint8_t id[16]);    /* nil -> null */

/* ctl_identity.c */
int ctl_cmd_identity(const struct ct_conf *conf, int argc, char **argv);
/* ctl_activate.c */
int ctl_cmd_activate(const struct ct_conf *conf, int argc, char **argv);

/* Control socket path in use (-s, or run_dir/control.sock). */
extern const char *ctl_socket;
/* One request (stolen) to carnitrackd, one reply; NULL (said on stderr) on
 * any failure. ctl_request: when the daemon is not running, *down is set
 * and nothing is said. */
json_t *ctl_request(json_t *req, int timeout_s, bool *down);

#endif
