/* Control-socket request parser. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ctl/ctl_proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ctl_request r;
	char err[256];

	err[0] = '\0';
	if (ctl_request_parse((const char *)data, size, &r, err, sizeof(err)) != 0) {
		if (err[0] == '\0')
			abort();
	} else if (r.cmd != CTL_STATUS && r.cmd != CTL_RESTART && r.cmd != CTL_IDENTITY_RESET)
		abort();
	return 0;
}
