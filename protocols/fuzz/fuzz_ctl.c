/*
 * libFuzzer target for the control channel parser: every input is one
 * packet. What decodes must re-encode to exactly the same bytes (the wire
 * format has one encoding per message), so must the header ctl_send_data()
 * puts before console data, and the table lookups must hold.
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
	if (m.type == CTL_T_CONSOLE_OUT || m.type == CTL_T_CONSOLE_IN) {
		/* ctl_send_data()'s packet is its header, then the data
		 * from where it lies: that header must be the input's. */
		const struct ctl_data *d = m.type == CTL_T_CONSOLE_OUT
					       ? &m.u.console_out
					       : &m.u.console_in;
		uint8_t hdr[CTL_HDR_LEN];
		if (ctl_encode_data_head(hdr, m.type, m.seq, d->len) != 0)
			abort();
		if (CTL_HDR_LEN + d->len != size ||
		    memcmp(hdr, data, CTL_HDR_LEN) != 0)
			abort();
	}
	return 0;
}
