/* proto/messages.def as lookup tables: message types by number, process
 * names by id, the held types, which workers talk. */
#include "ipc_proto.h"

#include <stdio.h>
#include <string.h>

static const struct ct_msg_info msgs[] = {
#define PROC(name, num, text)
#define MSG(n, num, from, to_, min, max) { #n, num, from, to_, min, max },
#include "messages.def"
#undef MSG
#undef PROC
};

const struct ct_msg_info *
ct_msg_lookup(uint16_t type)
{
	for (size_t i = 0; i < sizeof(msgs) / sizeof(msgs[0]); i++)
		if (msgs[i].type == type)
			return &msgs[i];
	return NULL;
}

bool
ct_msg_held(uint16_t type)
{
	switch (type) {
#define PROC(name, num, text)
#define MSG(n, num, from, to_, min, max)
#define HELD(n) case CT_MSG_##n:
#include "messages.def"
#undef HELD
#undef MSG
#undef PROC
		return true;
	default:
		return false;
	}
}

bool
ct_procs_talk(enum ct_proc a, enum ct_proc b)
{
	for (size_t i = 0; i < sizeof(msgs) / sizeof(msgs[0]); i++)
		if ((msgs[i].to == a && (msgs[i].from_mask & (1u << b))) ||
		    (msgs[i].to == b && (msgs[i].from_mask & (1u << a))))
			return true;
	return false;
}

const char *
ct_msg_name(uint16_t type)
{
	const struct ct_msg_info *m = ct_msg_lookup(type);
	return m ? m->name : "UNKNOWN";
}

static const char *const proc_names[P_NPROC] = {
#define PROC(name, num, text) [num] = text,
#define MSG(n, num, from, to_, min, max)
#include "messages.def"
#undef MSG
#undef PROC
};

/* PROC numbers must run 0, 1, 2, ... for P_NPROC to count them. */
enum { PROC_LINES = 0
#define PROC(name, num, text) + 1
#define MSG(n, num, from, to_, min, max)
#include "messages.def"
#undef MSG
#undef PROC
};
_Static_assert((int)PROC_LINES == (int)P_NPROC, "PROC numbers in messages.def must be 0 .. n-1");
_Static_assert(P_NPROC <= 8, "process masks are 8 bits (ct_msg_info.from_mask)");

const char *
ct_proc_name(enum ct_proc p)
{
	return (unsigned)p < P_NPROC ? proc_names[p] : "?";
}

int
ct_proc_parse(const char *name, enum ct_proc *out)
{
	for (int i = P_WORKER_FIRST; i < P_NPROC; i++)
		if (strcmp(name, proc_names[i]) == 0) {
			*out = (enum ct_proc)i;
			return 0;
		}
	return -1;
}

void
ct_proc_list(char *out, size_t cap, const char *sep, const char *last_sep)
{
	size_t n = 0;

	out[0] = '\0';
	for (int i = P_WORKER_FIRST; i < P_NPROC && n < cap; i++) {
		const char *s = i == P_WORKER_FIRST ? "" : i + 1 == P_NPROC ? last_sep : sep;
		int k = snprintf(out + n, cap - n, "%s%s", s, proc_names[i]);
		if (k < 0)
			break;
		n += (size_t)k;
	}
}
