/* One control request line parsed and checked (ctl_proto.h). */
#include "ctl/ctl_proto.h"

#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "ipc_proto.h"

int
ctl_request_parse(const char *line, size_t len, struct ctl_request *req, char *err, size_t errlen)
{
	json_error_t je;
	json_t *o, *v;
	const char *cmd;

	memset(req, 0, sizeof(*req));
	if (len > CTL_LINE_MAX) {
		snprintf(err, errlen, "request longer than %d bytes", CTL_LINE_MAX);
		return -1;
	}
	o = json_loadb(line, len, JSON_REJECT_DUPLICATES, &je);
	if (o == NULL) {
		snprintf(err, errlen, "request is not JSON: %s (column %d)", je.text, je.column);
		return -1;
	}
	if (!json_is_object(o)) {
		snprintf(err, errlen, "request is not a JSON object");
		goto bad;
	}
	v = json_object_get(o, "version");
	if (!json_is_integer(v)) {
		snprintf(err, errlen, "request has no integer \"version\"");
		goto bad;
	}
	req->version = (int)json_integer_value(v);
	if (req->version != CTL_VERSION) {
		snprintf(err, errlen,
		    "version mismatch: carnitrackctl speaks %lld, carnitrackd speaks %d; "
		    "use the carnitrackctl that came with this carnitrackd",
		    (long long)json_integer_value(v), CTL_VERSION);
		goto bad;
	}
	v = json_object_get(o, "cmd");
	if (!json_is_string(v)) {
		snprintf(err, errlen, "request has no string \"cmd\"");
		goto bad;
	}
	cmd = json_string_value(v);
	if (strcmp(cmd, "status") == 0)
		req->cmd = CTL_STATUS;
	else if (strcmp(cmd, "identity_reset") == 0)
		req->cmd = CTL_IDENTITY_RESET;
	else if (strcmp(cmd, "activate") == 0) {
		const char *code;

		req->cmd = CTL_ACTIVATE;
		v = json_object_get(o, "code");
		if (!json_is_string(v) || json_string_length(v) == 0 ||
		    json_string_length(v) > CT_ACTIVATE_CODE_MAX) {
			snprintf(err, errlen, "activate needs \"code\": 1 to %d characters",
			    CT_ACTIVATE_CODE_MAX);
			goto bad;
		}
		code = json_string_value(v);
		for (const char *c = code; *c; c++)
			if ((unsigned char)*c < 0x20 || *c == 0x7f) {
				snprintf(err, errlen, "activate: the code has a control character");
				goto bad;
			}
		memcpy(req->code, code, json_string_length(v) + 1);
	}
	else if (strcmp(cmd, "restart") == 0) {
		char names[128];
		enum ct_proc p;

		req->cmd = CTL_RESTART;
		ct_proc_list(names, sizeof(names), ", ", " or ");
		v = json_object_get(o, "worker");
		if (!json_is_string(v) || json_string_length(v) >= sizeof(req->worker)) {
			snprintf(err, errlen, "restart needs \"worker\": %s", names);
			goto bad;
		}
		memcpy(req->worker, json_string_value(v), json_string_length(v) + 1);
		if (ct_proc_parse(req->worker, &p) != 0) {
			snprintf(err, errlen, "unknown worker '%s' (%s)", req->worker, names);
			goto bad;
		}
	} else {
		snprintf(err, errlen, "unknown command '%.64s'", cmd);
		goto bad;
	}
	json_decref(o);
	return 0;
bad:
	json_decref(o);
	return -1;
}
