/*
 * Windows-1254 text fields -> UTF-8. glibc iconv does the mapping; the
 * descriptor is opened once per process (a worker has one thread).
 */
#include "dp401/dp401.h"

#include <errno.h>
#include <iconv.h>
#include <string.h>

static const char replacement[] = "\xEF\xBF\xBD";   /* U+FFFD */

static iconv_t
cd_get(void)
{
	static iconv_t cd = (iconv_t)-1;

	if (cd == (iconv_t)-1)
		cd = iconv_open("UTF-8", "WINDOWS-1254");
	return cd;
}

static bool
is_pad(uint8_t c)
{
	return c == ' ' || c == '\t';
}

/* Appends the replacement character; false if it does not fit. */
static bool
put_replacement(char **o, size_t *left)
{
	if (*left < sizeof(replacement) - 1)
		return false;
	memcpy(*o, replacement, sizeof(replacement) - 1);
	*o += sizeof(replacement) - 1;
	*left -= sizeof(replacement) - 1;
	return true;
}

int
dp401_text_to_utf8(const uint8_t *in, size_t n, char *out, size_t cap)
{
	iconv_t cd = cd_get();
	char *o = out;
	size_t left;

	if (cap == 0)
		return -1;
	while (n > 0 && is_pad(in[0])) {
		in++;
		n--;
	}
	while (n > 0 && is_pad(in[n - 1]))
		n--;
	left = cap - 1;

	while (n > 0) {
		/* Control bytes (NUL above all) never reach the C string. */
		if (in[0] < 0x20 || in[0] == 0x7f) {
			if (!put_replacement(&o, &left))
				return -1;
			in++;
			n--;
			continue;
		}
		size_t run = 0;
		while (run < n && in[run] >= 0x20 && in[run] != 0x7f)
			run++;
		if (cd == (iconv_t)-1) {
			/* No converter: keep ASCII, replace the rest. */
			for (size_t i = 0; i < run; i++) {
				if (in[i] < 0x80) {
					if (left < 1)
						return -1;
					*o++ = (char)in[i];
					left--;
				} else if (!put_replacement(&o, &left)) {
					return -1;
				}
			}
			in += run;
			n -= run;
			continue;
		}
		char *ip = (char *)(uintptr_t)in;
		size_t ileft = run;
		iconv(cd, NULL, NULL, NULL, NULL);
		while (ileft > 0) {
			if (iconv(cd, &ip, &ileft, &o, &left) != (size_t)-1)
				break;
			if (errno == E2BIG)
				return -1;
			/* EILSEQ/EINVAL: a byte the code page leaves undefined. */
			if (!put_replacement(&o, &left))
				return -1;
			ip++;
			ileft--;
		}
		in += run;
		n -= run;
	}
	*o = '\0';
	return 0;
}
