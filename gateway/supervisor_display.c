/* A VM's display: handing authorized VNC viewers to its monitor, and
 * screenshots. */
#include <fcntl.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "ctl.h"
#include "supervisor.h"
#include "supervisor_impl.h"

void
supervisor_viewer_add(struct vmproc *v, struct supervisor_viewer *w)
{
	w->next = v->viewers;
	if (w->next)
		w->next->prevp = &w->next;
	w->prevp = &v->viewers;
	v->viewers = w;
}

void
supervisor_viewer_remove(struct supervisor_viewer *w)
{
	if (w->prevp == NULL)
		return;
	*w->prevp = w->next;
	if (w->next)
		w->next->prevp = w->prevp;
	w->prevp = NULL;
	w->next = NULL;
}

const struct supervisor_viewer *
supervisor_viewers(const struct vmproc *v)
{
	return v->viewers;
}

size_t
supervisor_nviewers(const struct vmproc *v)
{
	size_t n = 0;

	for (const struct supervisor_viewer *w = v->viewers; w; w = w->next)
		n++;
	return n;
}

bool
supervisor_has_display(const struct vmproc *v)
{
	return v->run == RUN_UP && v->display_w != 0;
}

size_t
supervisor_display_backlog(const struct vmproc *v)
{
	return 2 * (size_t)v->cfg->display_w * v->cfg->display_h * 4 +
	       (64u << 10);
}

const char *
supervisor_display_problem(const struct vmproc *v)
{
	if (v->cfg->display_w == 0)
		return "has no display";
	/* A monitor that is up but has not said DISPLAY_INFO yet is still
	 * starting (or died before it could). */
	if (!supervisor_has_display(v))
		return "is not running";
	return NULL;
}

int
supervisor_display_client(struct vmproc *v, int fd, bool control,
			  const char **why)
{
	size_t len;

	if ((*why = supervisor_display_problem(v)) != NULL)
		goto fail;
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

int
supervisor_screenshot(struct vmproc *v, supervisor_shot_cb cb, void *arg,
		      const char **why)
{
	size_t len;
	/* A PNG of raw RGB rows (filter byte each) with zlib's stored-block
	 * overhead stays well under 4 bytes a pixel plus this. */
	uint64_t max = (uint64_t)v->display_w * v->display_h * 4 + 65536;

	if ((*why = supervisor_display_problem(v)) != NULL)
		return -1;
	int fd =
	    memfd_create("vmgate-screenshot", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (fd < 0 || ftruncate(fd, (off_t)max) != 0 ||
	    fcntl(fd, F_ADD_SEALS, F_SEAL_GROW | F_SEAL_SEAL) != 0) {
		*why = "could not be asked (memfd failed)";
		if (fd >= 0)
			close(fd);
		return -1;
	}
	if (++v->seq == 0)
		v->seq = 1;
	if (ctl_encode_screenshot(v->sup->pkt, sizeof(v->sup->pkt), &len,
				  v->seq) != 0) {
		close(fd);
		*why = "could not be asked (internal error)";
		return -1;
	}
	int theirs = dup(fd);
	if (theirs < 0) {
		close(fd);
		*why = "could not be asked (dup failed)";
		return -1;
	}
	struct pending *p =
	    supervisor_pending_add(v, v->seq, "screenshot", NULL, arg);
	p->shot = cb;
	p->fd = fd;
	p->max = max;
	supervisor_chan_send_fd(v, v->sup->pkt, len, theirs);
	return 0;
}

/* SCREENSHOT_DONE: the PNG is in the memfd of the request with this seq. */
int
supervisor_screenshot_done(struct vmproc *v, uint32_t seq, uint64_t bytes)
{
	struct pending *p = supervisor_pending_find(v, seq);
	struct stat st;

	if (p == NULL || p->shot == NULL)
		return 0; /* cancelled or timed out meanwhile */
	if (bytes > p->max || fstat(p->fd, &st) != 0 ||
	    (uint64_t)st.st_size != bytes) {
		supervisor_power_answer(v, seq, false,
					"the monitor's screenshot is not "
					"the size it said");
		return 0;
	}
	p->done = true;
	p->bytes = bytes;
	supervisor_power_answer(v, seq, true, NULL);
	return 0;
}
