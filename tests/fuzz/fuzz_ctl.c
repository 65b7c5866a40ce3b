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
	} else if (r.cmd == CTL_ACTIVATE) {
		/* a setup code is 1..CT_ACTIVATE_CODE_MAX bytes, no control character */
		size_t n = strnlen(r.code, sizeof(r.code));
		if (n == 0 || n > CT_ACTIVATE_CODE_MAX)
			abort();
		for (size_t i = 0; i < n; i++)
			if ((unsigned char)r.code[i] < 0x20 || r.code[i] == 0x7f)
				abort();
	} else if (r.cmd != CTL_STATUS && r.cmd != CTL_RESTART && r.cmd != CTL_IDENTITY_RESET) {
		abort();
	}
	return 0;
}
