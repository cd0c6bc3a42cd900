/*
 * Fuzz target: any bytes as a kernel image.  What parses must also lay out
 * in guest memory without touching anything outside it.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "boot.h"
#include "guestmem.h"
#include "loader.h"

#define RAM (32ULL << 20)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct guestmem gm;
	static int ready;
	struct loader_image li;
	struct boot_entry be;
	char err[256];

	if (!ready) {
		if (guestmem_create(&gm, RAM) != 0)
			abort();
		ready = 1;
	}
	if (loader_parse(data, size, RAM, &li, err, sizeof(err)) != 0)
		return 0;
	struct boot_params_in in = {data, size, &li, NULL, 0, "quiet", 2, NULL};
	(void)boot_prepare(&gm, &in, &be, err, sizeof(err));
	return 0;
}
