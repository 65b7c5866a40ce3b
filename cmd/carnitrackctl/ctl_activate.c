/*
 * carnitrackctl activate CODE: trade a setup code from the CarniTrack cloud
 * for this edge's identity (REST_API.md 4.2, [cloud] transport = rest). The
 * code goes over the control socket to the cloud worker, which posts it to
 * <api>/activate once (a setup code is single-use: never resent) and keeps
 * the identity the cloud gives; the answer, or the cloud's own words for a
 * refusal, is printed. The daemon must be running.
 */
#include <stdio.h>
#include <string.h>

#include "ctl.h"
#include "ctl/ctl_proto.h"

#define CTL_ACTIVATE_WAIT_S 30      /* the daemon answers within 25 s */

int
ctl_cmd_activate(const struct ct_conf *conf, int argc, char **argv)
{
	bool down = false;
	const char *msg;
	json_t *r;
	int rc;

	if (argc != 2 || argv[1][0] == '\0' || argv[1][0] == '-') {
		fprintf(stderr, "usage: carnitrackctl activate CODE\n");
		return CTL_EXIT_USAGE;
	}
	if (strlen(argv[1]) > CT_ACTIVATE_CODE_MAX) {
		fprintf(stderr, "carnitrackctl: a setup code is at most %d characters\n",
		    CT_ACTIVATE_CODE_MAX);
		return CTL_EXIT_USAGE;
	}
	r = ctl_request(json_pack("{s:i, s:s, s:s}", "version", CTL_VERSION, "cmd", "activate",
	    "code", argv[1]), CTL_ACTIVATE_WAIT_S, &down);
	if (r == NULL) {
		if (down)
			fprintf(stderr, "carnitrackctl: carnitrackd is not running (%s); start it, "
			    "then activate\n", ctl_socket);
		return CTL_EXIT_DOWN;
	}
	if (json_is_true(json_object_get(r, "ok"))) {
		msg = json_string_value(json_object_get(r, "message"));
		printf("%s\n", msg ? msg : "activated");
		rc = CTL_EXIT_OK;
	} else {
		msg = json_string_value(json_object_get(r, "error"));
		fprintf(stderr, "carnitrackctl: activate failed: %s\n",
		    msg ? msg : "unknown error");
		rc = CTL_EXIT_DEGRADED;
	}
	json_decref(r);
	return rc;
}
