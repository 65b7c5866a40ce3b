#ifndef CT_CTL_H
#define CT_CTL_H

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

/* Control socket path in use (-s, or run_dir/control.sock). */
extern const char *ctl_socket;

#endif
