/*
 * carnitrackctl: talks to carnitrackd over its control socket (status,
 * restart) and reads the LMDB store read-only (devices, sessions, batches,
 * events).
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"

#define DEFAULT_CONF "/etc/carnitrack/edge.conf"

const char *ctl_socket;

static const struct ctl_command commands[] = {
	{ "status",   ctl_cmd_status,   "status [--json]" },
	{ "restart",  ctl_cmd_restart,  "restart ingest|store|cloud|web" },
	{ "devices",  ctl_cmd_devices,  "devices [--json]" },
	{ "sessions", ctl_cmd_sessions, "sessions [--json]" },
	{ "batches",  ctl_cmd_batches,  "batches [--json]" },
	{ "events",   ctl_cmd_events,   "events [--pending | --invalid] [--limit N] [--json]" },
	{ "identity", ctl_cmd_identity, "identity [--json] | identity --reset" },
	{ "activate", ctl_cmd_activate, "activate CODE" },
};

static void
usage(FILE *f)
{
	fprintf(f, "usage: carnitrackctl [-c FILE | -s SOCKET] COMMAND [ARGS]\n"
	    "  -c FILE    config file (default " DEFAULT_CONF "), for run_dir and data_dir\n"
	    "  -s SOCKET  control socket (default: run_dir/control.sock from the config)\n"
	    "commands:\n");
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(f, "  %s\n", commands[i].usage);
	fprintf(f, "See carnitrackctl(8).\n");
}

int
main(int argc, char **argv)
{
	const char *conf_path = NULL;
	static char sockbuf[CT_CONF_PATH + 32];
	struct ct_conf *conf;
	char err[1024];
	int ch;

	while ((ch = getopt(argc, argv, "+c:s:hV")) != -1) {
		switch (ch) {
		case 'c': conf_path = optarg; break;
		case 's': ctl_socket = optarg; break;
		case 'V': printf("carnitrackctl %s\n", CT_VERSION); return 0;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return CTL_EXIT_USAGE;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return CTL_EXIT_USAGE;
	}
	if ((conf = malloc(sizeof(*conf))) == NULL)
		return CTL_EXIT_DOWN;
	/* With -s and no -c, the config is optional (defaults apply). */
	if (conf_path == NULL && ctl_socket != NULL)
		conf_defaults(conf);
	else if (conf_load(conf_path ? conf_path : DEFAULT_CONF, conf, NULL, NULL, err,
	    sizeof(err)) != 0) {
		fprintf(stderr, "carnitrackctl: %s\n", err);
		free(conf);
		return CTL_EXIT_DOWN;
	}
	if (ctl_socket == NULL) {
		snprintf(sockbuf, sizeof(sockbuf), "%s/control.sock", conf->run_dir);
		ctl_socket = sockbuf;
	}
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (strcmp(argv[optind], commands[i].name) == 0) {
			int r = commands[i].fn(conf, argc - optind, argv + optind);
			free(conf);
			return r;
		}
	fprintf(stderr, "carnitrackctl: unknown command '%s'\n", argv[optind]);
	usage(stderr);
	free(conf);
	return CTL_EXIT_USAGE;
}
