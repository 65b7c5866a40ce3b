/* Stage stamps for the benchmark (trace.h). */
#include "util/trace.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log/log.h"
#include "util/clock.h"

#define TRACE_BUF (64 * 1024)

static FILE *trace_f;
static char *trace_buf;

static const char *const names[CT_ST_COUNT] = {
#define CT_STAGE_NAME(name, text) [CT_ST_##name] = text,
	CT_STAGES(CT_STAGE_NAME)
#undef CT_STAGE_NAME
};

void
ct_trace_open(const char *name)
{
	const char *dir = getenv(CT_TRACE_ENV);
	char path[4096];

	if (dir == NULL || dir[0] == '\0' || trace_f != NULL)
		return;
	if (snprintf(path, sizeof(path), "%s/%s.%d.trace", dir, name, (int)getpid()) >=
	    (int)sizeof(path)) {
		log_warn("%s=%s: path too long, no stage stamps", CT_TRACE_ENV, dir);
		return;
	}
	if ((trace_f = fopen(path, "we")) == NULL) {
		log_warn("%s: cannot open %s: %s; no stage stamps", CT_TRACE_ENV, path,
		    strerror(errno));
		return;
	}
	/* a buffer of our own: written out when full, not at every line */
	if ((trace_buf = malloc(TRACE_BUF)) != NULL &&
	    setvbuf(trace_f, trace_buf, _IOFBF, TRACE_BUF) != 0) {
		free(trace_buf);
		trace_buf = NULL;
	}
	log_info("stage stamps to %s (%s)", path, CT_TRACE_ENV);
}

bool
ct_trace_on(void)
{
	return trace_f != NULL;
}

void
ct_trace_at(int64_t ns, enum ct_stage st, const uint8_t id[16], const char *dev,
    const char *barcode)
{
	static const char hex[] = "0123456789abcdef";
	char h[33];

	if (trace_f == NULL || (unsigned)st >= CT_ST_COUNT)
		return;
	for (int i = 0; i < 16; i++) {
		h[2 * i] = hex[id[i] >> 4];
		h[2 * i + 1] = hex[id[i] & 15];
	}
	h[32] = '\0';
	/* a stamp that cannot be written is a sample less, nothing more */
	if (dev != NULL && barcode != NULL)
		(void)fprintf(trace_f, "%lld %s %s %s %s\n", (long long)ns, names[st], h, dev,
		    barcode);
	else
		(void)fprintf(trace_f, "%lld %s %s\n", (long long)ns, names[st], h);
}

void
ct_trace(enum ct_stage st, const uint8_t id[16])
{
	if (trace_f != NULL)
		ct_trace_at(ct_now_ns_mono(), st, id, NULL, NULL);
}

void
ct_trace_close(void)
{
	if (trace_f == NULL)
		return;
	if (fclose(trace_f) != 0)
		log_warn("%s: writing the stage stamps: %s", CT_TRACE_ENV, strerror(errno));
	trace_f = NULL;
	free(trace_buf);
	trace_buf = NULL;
}
