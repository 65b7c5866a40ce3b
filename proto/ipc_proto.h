/*
 * IPC frame header, process ids and message numbers. The table itself is
 * proto/messages.def; this header turns it into enums, masks and a lookup.
 */
#ifndef CT_IPC_PROTO_H
#define CT_IPC_PROTO_H

#include <stdbool.h>
#include <stdint.h>
#include <stddef.h>

#define CT_PROTO_VERSION      1
#define CT_FRAME_HDR_LEN      16
#define CT_FRAME_MAX_PAYLOAD  (64 * 1024)
#define CT_FRAME_MAX          (CT_FRAME_HDR_LEN + CT_FRAME_MAX_PAYLOAD)

#define CT_FRAME_F_FD         0x0001   /* one fd rides with this frame */

struct ct_frame_hdr {
	uint32_t len;      /* header + payload */
	uint16_t type;
	uint16_t flags;
	uint32_t id;       /* request id for replies, 0 = none */
	uint32_t pid;      /* sender pid */
};

/* P_SUP, P_INGEST, ...: numbered in messages.def, P_SUP first (0), the
 * workers after it without gaps. */
enum ct_proc {
#define PROC(name, num, text) P_##name = num,
#define MSG(name, num, from, to, min, max)
#include "messages.def"
#undef MSG
#undef PROC
	P_NPROC, P_ANY = 15
};
enum ct_proc_mask {
#define PROC(name, num, text) F_##name = 1u << num,
#define MSG(name, num, from, to, min, max)
#include "messages.def"
#undef MSG
#undef PROC
};
#define F_WORKERS  (((1u << P_NPROC) - 1) & ~(unsigned)F_SUP)
#define P_WORKER_FIRST (P_SUP + 1)

enum ct_msg {
	CT_MSG_NONE = 0,
#define PROC(name, num, text)
#define MSG(name, num, from, to, min, max) CT_MSG_##name = num,
#include "messages.def"
#undef MSG
#undef PROC
};

struct ct_msg_info {
	const char *name;
	uint16_t    type;
	uint8_t     from_mask;
	uint8_t     to;
	uint32_t    min_payload, max_payload;
};

/* NULL for an unknown type. */
const struct ct_msg_info *ct_msg_lookup(uint16_t type);
/* Listed HELD in messages.def: kept by its sender while the receiver is down. */
bool ct_msg_held(uint16_t type);
/* Do two workers have a route between them (either way)? Then they get a
 * direct channel. */
bool ct_procs_talk(enum ct_proc a, enum ct_proc b);
const char *ct_msg_name(uint16_t type);
const char *ct_proc_name(enum ct_proc p);
/* A worker's name ("ingest", ...) to its process; -1 for anything else
 * ("supervisor" included). */
int ct_proc_parse(const char *name, enum ct_proc *out);
/* The workers' names joined for a message: "ingest, store or cloud" with
 * (", ", " or "), "ingest|store|cloud" with ("|", "|"). */
void ct_proc_list(char *out, size_t cap, const char *sep, const char *last_sep);

/* Payload enums, see messages.def. */
enum ct_refuse { CT_REFUSE_STORE_FULL = 1, CT_REFUSE_BAD_EVENT = 2, CT_REFUSE_STORE_ERROR = 3 };
enum ct_device_change { CT_DEV_CONNECTED = 1, CT_DEV_HEARTBEAT = 2, CT_DEV_DISCONNECTED = 3,
			CT_DEV_SUPERSEDED = 4, CT_DEV_STALE = 5 };
enum ct_ack { CT_ACK_ACCEPTED = 1, CT_ACK_DUPLICATE = 2 };
enum ct_session_change { CT_SESS_STARTED = 1, CT_SESS_PAUSED = 2, CT_SESS_RESUMED = 3,
    CT_SESS_ENDED = 4 };
#define CT_WORK_EVENTS   0x01
#define CT_WORK_DEVICES  0x02
#define CT_WORK_BATCHES  0x04
#define CT_WORK_IDENTITY 0x08     /* the stored identity was changed (reset): re-read it */
#define CT_ACTIVATE_CODE_MAX 128   /* carnitrackctl activate CODE, bytes */
#define CT_BATCH_START_SENT 0x01
#define CT_BATCH_END_SENT   0x02

/* Exit codes of workers and the daemon. */
#define CT_EXIT_OK        0
#define CT_EXIT_FAIL      1
#define CT_EXIT_CONFIG    78   /* EX_CONFIG: not restarted */
#define CT_EXIT_RESTART   75   /* EX_TEMPFAIL: restart me now (e.g. reload needs it) */

#endif
