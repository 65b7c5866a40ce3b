/*
 * Fuzzes the upgrade response parser: the first bytes a (possibly hostile)
 * cloud endpoint sends us. The first input byte picks the read size so the
 * incremental paths (header end straddling reads) get exercised too.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ws/ws_upgrade.h"

/* The RFC 6455 sample key, so seeds can carry a valid accept value. */
#define KEY "dGhlIHNhbXBsZSBub25jZQ=="

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct ws_upgrade_parser p;
	char err[256];
	size_t chunk, off = 0, total_used = 0;
	enum ws_upgrade_result r = WS_UPGRADE_MORE;

	if (size == 0)
		return 0;
	chunk = (size_t)data[0] + 1;
	data++;
	size--;
	ws_upgrade_parser_init(&p, KEY);
	while (off < size && r == WS_UPGRADE_MORE) {
		size_t n = size - off < chunk ? size - off : chunk, used = 0;
		err[0] = '\0';
		r = ws_upgrade_parse(&p, data + off, n, &used, err, sizeof(err));
		if (used > n)
			abort();
		if (r == WS_UPGRADE_MORE && used != n)
			abort();
		if (r == WS_UPGRADE_ERROR && (err[0] == '\0' || strlen(err) >= sizeof(err)))
			abort();
		total_used += used;
		off += n;
	}
	if (r == WS_UPGRADE_DONE && (total_used < 4 || total_used > WS_UPGRADE_MAX_HDR ||
	    memcmp(data + total_used - 4, "\r\n\r\n", 4) != 0))
		abort();
	return 0;
}
