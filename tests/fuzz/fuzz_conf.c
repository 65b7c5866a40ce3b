/* Config parser: any bytes give 0 or an error with a message, never a crash. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "conf/conf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct ct_conf c;
	char err[1024];
	char *text = malloc(size + 1);

	if (text == NULL)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	err[0] = '\0';
	if (conf_parse_text("fuzz.conf", text, size, &c, err, sizeof(err)) != 0 && err[0] == '\0')
		abort();   /* every refusal must say why */
	free(text);
	return 0;
}
