/*
 * Writes records in the real DP-401 layout (fixed widths, 170 bytes with the
 * captured company): the simulator, tests and benchmarks must send what a
 * scale sends, not a convenient approximation.
 */
#include "dp401/dp401.h"

#include <stdio.h>
#include <string.h>

size_t
dp401_format_record(const struct dp401_fmt *f, char *out, size_t cap)
{
	const char *flags = f->flags != NULL ? f->flags : "";
	int n;

	n =
	    snprintf(out, cap,
	    "%s%05u,%02d:%02d:%02d,%02d.%02d.%04d,%-16.16s,%-12.13s,%-4.4s,%-48.48s,"
	    "%010lld,%010lld,%010lld",
	    f->plu_prefix != NULL ? f->plu_prefix : "", f->plu % 100000u,
	    f->hh, f->mi, f->ss, f->dd, f->mo, f->yyyy,
	    f->product != NULL ? f->product : "",
	    f->barcode != NULL ? f->barcode : "000000000000",
	    f->code != NULL ? f->code : "0000",
	    f->operator_name != NULL ? f->operator_name : "",
	    (long long)f->gross, (long long)f->tare, (long long)f->net);
	if (n < 0 || (size_t)n >= cap)
		return 0;
	if (flags[0] != '\0') {
		for (size_t i = 0; flags[i] != '\0'; i++) {
			int k = snprintf(out + n, cap - (size_t)n, ",%c", flags[i]);
			if (k < 0 || (size_t)k >= cap - (size_t)n)
				return 0;
			n += k;
		}
		int k =
		    snprintf(out + n, cap - (size_t)n, ",%s", f->company != NULL ? f->company : "");
		if (k < 0 || (size_t)k >= cap - (size_t)n)
			return 0;
		n += k;
	}
	return (size_t)n;
}
