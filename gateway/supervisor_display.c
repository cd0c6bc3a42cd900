/* A VM's display: handing authorized VNC viewers to its monitor. */
#include <stdio.h>
#include <unistd.h>

#include "ctl.h"
#include "supervisor.h"
#include "supervisor_impl.h"

bool
supervisor_has_display(const struct vmproc *v)
{
	return v->run == RUN_UP && v->display_w != 0;
}

int
supervisor_display_client(struct vmproc *v, int fd, bool control,
			  const char **why)
{
	size_t len;

	if (v->run != RUN_UP) {
		*why = "is not running";
		goto fail;
	}
	if (v->display_w == 0) {
		*why = "has no display";
		goto fail;
	}
	if (++v->seq == 0)
		v->seq = 1;
	if (ctl_encode_display_client(
		v->sup->pkt, sizeof(v->sup->pkt), &len, v->seq,
		control ? CTL_DISPLAY_CONTROL : CTL_DISPLAY_VIEW) != 0) {
		*why = "could not be asked (internal error)";
		goto fail;
	}
	/* An ERROR answer (no display, too many viewers) is logged by the
	 * channel; the monitor then closes the fd, which ends the viewer. */
	supervisor_chan_send_fd(v, v->sup->pkt, len, fd);
	return 0;
fail:
	close(fd);
	return -1;
}
