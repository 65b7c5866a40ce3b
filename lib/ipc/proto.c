#include "ipc_proto.h"

#include <string.h>

static const struct ct_msg_info msgs[] = {
#define MSG(n, num, from, to_, min, max) { #n, num, from, to_, min, max },
#include "messages.def"
#undef MSG
};

const struct ct_msg_info *
ct_msg_lookup(uint16_t type)
{
	for (size_t i = 0; i < sizeof(msgs) / sizeof(msgs[0]); i++)
		if (msgs[i].type == type)
			return &msgs[i];
	return NULL;
}

const char *
ct_msg_name(uint16_t type)
{
	const struct ct_msg_info *m = ct_msg_lookup(type);
	return m ? m->name : "UNKNOWN";
}

static const char *proc_names[P_NPROC] = { "supervisor", "ingest", "store", "cloud" };

const char *
ct_proc_name(enum ct_proc p)
{
	return (unsigned)p < P_NPROC ? proc_names[p] : "?";
}

int
ct_proc_parse(const char *name, enum ct_proc *out)
{
	for (int i = P_INGEST; i < P_NPROC; i++)
		if (strcmp(name, proc_names[i]) == 0) {
			*out = (enum ct_proc)i;
			return 0;
		}
	return -1;
}
