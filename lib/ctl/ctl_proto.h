/*
 * carnitrackctl <-> supervisor protocol over run_dir/control.sock: one JSON
 * object per line each way. Request: {"version":1,"cmd":"status"} or
 * {"version":1,"cmd":"restart","worker":"cloud"} or
 * {"version":1,"cmd":"identity_reset"} or {"version":1,"cmd":"activate",
 * "code":"CT-7K2P-9QXD"}. Reply: an object with "ok": true/false, "error"
 * when false, and "message" when a success has something to say. A request line is at most
 * CTL_LINE_MAX bytes; longer input is an error and the client is closed.
 */
#ifndef CT_CTL_PROTO_H
#define CT_CTL_PROTO_H

#include <stddef.h>

#include "ipc_proto.h"

#define CTL_LINE_MAX     4096
#define CTL_VERSION      1

enum ctl_cmd { CTL_STATUS = 1, CTL_RESTART = 2, CTL_IDENTITY_RESET = 3, CTL_ACTIVATE = 4 };

struct ctl_request {
	int  version;
	enum ctl_cmd cmd;
	char worker[16];
	char code[CT_ACTIVATE_CODE_MAX + 1];   /* activate: printable, not empty */
};

/* 0 on success; -1 with a message naming what is wrong. */
int ctl_request_parse(const char *line, size_t len, struct ctl_request *req,
    char *err, size_t errlen);

#endif
