/* The SSH exec string parser on arbitrary bytes. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "command.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct command c;
	char err[128];

	if (command_parse((const char *)data, size, &c, err, sizeof(err)) ==
	    0) {
		if (c.kind != COMMAND_LIST && c.kind != COMMAND_HELP &&
		    c.kind != COMMAND_RELOAD &&
		    (c.vm[0] == '\0' || strlen(c.vm) > 64))
			__builtin_trap();
		if (c.kind == COMMAND_RELOAD && c.vm[0] != '\0')
			__builtin_trap();
		if (c.entry == NULL || c.entry->kind != c.kind)
			__builtin_trap();
	} else if (memchr(err, '\0', sizeof(err)) == NULL) {
		__builtin_trap();
	}
	return 0;
}
