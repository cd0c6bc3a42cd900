/*
 * libFuzzer target for the control channel parser: every input is one
 * packet. What decodes must re-encode to exactly the same bytes (the wire
 * format has one encoding per message), and the table lookups must hold.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"

static uint8_t out[CTL_MAX_MSG];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ctl_msg m;
	size_t len = 0;
	int r;

	r = ctl_decode(data, size, &m);
	(void)ctl_strerror(r);
	if (r != 0)
		return 0;
	(void)ctl_type_name(m.type);
	if (!ctl_allowed(CTL_ROLE_GATEWAY, m.type) &&
	    !ctl_allowed(CTL_ROLE_VMM, m.type))
		abort(); /* decoded a type that nobody may send */
	if (ctl_encode(&m, out, sizeof(out), &len) != 0)
		abort(); /* decoded but cannot be re-encoded */
	if (len != size || memcmp(out, data, size) != 0)
		abort(); /* re-encoding differs from the input */
	return 0;
}
