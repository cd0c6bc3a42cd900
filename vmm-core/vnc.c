#include "vnc.h"

#include "clock.h"
#include "errmsg.h"
#include "logesc.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <rfb/rfb.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

/* A number defined as a macro, as text. */
#define TEXT_(n) #n
#define TEXT(n) TEXT_(n)

struct vnc {
	struct vm *vm;
	rfbScreenInfoPtr screen;
	const struct vnc_input_ops *ops;
	void *opaque;
	int listen_fd[VNC_MAX_LISTEN];
	int nlisten;
	char *unix_path[VNC_MAX_LISTEN]; /* unlinked at the end */
	uint64_t next_frame_ms;		 /* 0: no viewer, no timer */
	unsigned frame_ms;		 /* the pace now (vnc.h) */
	unsigned still_frames;		 /* frames in a row without damage */
	unsigned settle_ms; /* not 0: the pace to resume if the next frame
			     * is still (a one-off change, vnc.h) */
	unsigned display_gen;
	uint64_t *dirty;  /* display_pages() bits */
	bool damage_full; /* vnc_damage_full(): the whole screen every frame */
};

/* libvncserver's chatter (a line per connection) is dropped; its errors
 * are logged, escaped: they can quote what a viewer sent. */
static void
quiet(const char *fmt, ...)
{
	(void)fmt;
}

static void
log_error(const char *fmt, ...)
{
	va_list ap;
	char line[400], esc[800];

	va_start(ap, fmt);
	int n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n >= sizeof(line))
		n = (int)sizeof(line) - 1;
	while (n > 0 && line[n - 1] == '\n')
		n--;
	/* A viewer the gateway hands over is on a UNIX socket, which has no
	 * host name and no TCP_NODELAY: libvncserver says so every time. */
	if (strstr(line, "getnameinfo") != NULL ||
	    strstr(line, "TCP_NODELAY") != NULL)
		return;
	logesc_mem(esc, sizeof(esc), line, (size_t)n, LOGESC_KEEP_BACKSLASH);
	fprintf(stderr, "vmgate-vmm: vnc: %s\n", esc);
}

static void
on_key(rfbBool down, rfbKeySym key, rfbClientPtr cl)
{
	struct vnc *v = cl->screen->screenData;

	if (cl->viewOnly || v->ops == NULL || v->ops->key == NULL)
		return;
	vnc_kick(v);
	v->ops->key(v->opaque, (uint32_t)key, down != 0);
}

static void
on_pointer(int buttons, int x, int y, rfbClientPtr cl)
{
	struct vnc *v = cl->screen->screenData;
	struct display *d = &v->vm->display;

	if (cl->viewOnly || v->ops == NULL || v->ops->pointer == NULL)
		return;
	x = x < 0 ? 0 : x >= (int)d->width ? (int)d->width - 1 : x;
	y = y < 0 ? 0 : y >= (int)d->height ? (int)d->height - 1 : y;
	vnc_kick(v);
	v->ops->pointer(v->opaque, x, y, (unsigned)buttons & 0xff);
}

/* The guest has no clipboard: a viewer's cut text goes nowhere. */
static void
on_cut_text(char *str, int len, rfbClientPtr cl)
{
	(void)str;
	(void)len;
	(void)cl;
}

struct vnc *
vnc_create(struct vm *vm, const char *name, const struct vnc_input_ops *ops,
	   void *opaque, char *err, size_t errlen)
{
	struct display *d = &vm->display;
	struct vnc *v;
	int argc = 1;
	char *argv[] = {(char *)"vmgate-vmm", NULL};

	if (!vm->has_display) {
		errmsg(err, errlen, "--vnc: the VM has no display (--display)");
		return NULL;
	}
	if ((v = calloc(1, sizeof(*v))) == NULL)
		goto nomem;
	v->vm = vm;
	v->ops = ops;
	v->opaque = opaque;
	v->dirty = calloc((display_pages(d) + 63) / 64, sizeof(uint64_t));
	if (v->dirty == NULL)
		goto nomem;
	rfbLog = quiet;
	rfbErr = log_error;
	rfbMaxClientWait = VNC_WRITE_WAIT_MS;
	v->screen =
	    rfbGetScreen(&argc, argv, (int)d->width, (int)d->height, 8, 3, 4);
	if (v->screen == NULL)
		goto nomem;
	rfbScreenInfoPtr s = v->screen;
	s->screenData = v;
	s->desktopName = name;
	s->frameBuffer = (char *)d->fb;
	s->paddedWidthInBytes = (int)d->stride;
	/* memory holds B, G, R, X: red is bits 16-23 of a little-endian word */
	s->serverFormat.redShift = 16;
	s->serverFormat.greenShift = 8;
	s->serverFormat.blueShift = 0;
	/* libvncserver would draw its cursor into the framebuffer, which is
	 * the guest's memory: no server-side cursor. */
	s->cursor = NULL;
	s->port = s->ipv6port = 0; /* it listens on nothing: we do */
	s->autoPort = FALSE;
	s->httpDir = NULL;
	s->alwaysShared = TRUE; /* one viewer never kicks the others out */
	s->deferUpdateTime = 0; /* we batch by frame already */
	s->deferPtrUpdateTime = 0;
	s->kbdAddEvent = on_key;
	s->ptrAddEvent = on_pointer;
	s->setXCutText = on_cut_text;
	s->permitFileTransfer = FALSE;
	rfbInitServer(s);
	v->display_gen = vm->display_gen;
	return v;
nomem:
	vnc_destroy(v);
	errmsg(err, errlen, "VNC server: out of memory");
	return NULL;
}

void
vnc_destroy(struct vnc *v)
{
	if (v == NULL)
		return;
	for (int i = 0; i < v->nlisten; i++) {
		close(v->listen_fd[i]);
		if (v->unix_path[i] != NULL)
			unlink(v->unix_path[i]);
		free(v->unix_path[i]);
	}
	if (v->screen != NULL) {
		rfbShutdownServer(v->screen, TRUE);
		v->screen->frameBuffer = NULL;
		rfbScreenCleanup(v->screen);
	}
	free(v->dirty);
	free(v);
}

static int
listen_unix(const char *path, char *err, size_t errlen)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	struct stat st;
	int fd;

	if (strlen(path) >= sizeof(sa.sun_path))
		return errmsg(err, errlen, "--vnc unix:%s: path too long",
			      path);
	memcpy(sa.sun_path, path, strlen(path) + 1);
	if (lstat(path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode))
			return errmsg(err, errlen,
				      "--vnc unix:%s: exists and is not a "
				      "socket",
				      path);
		unlink(path); /* a stale one from an earlier run */
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return errmsg(err, errlen, "socket: %s", strerror(errno));
	mode_t old = umask(0077); /* before any vCPU thread: no race */
	int r = bind(fd, (struct sockaddr *)&sa, sizeof(sa));
	umask(old);
	if (r != 0 || listen(fd, 8) != 0) {
		errmsg(err, errlen, "--vnc unix:%s: %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

static int
listen_tcp(const char *spec, char *err, size_t errlen)
{
	struct sockaddr_storage ss = {0};
	socklen_t len;
	char host[64];
	const char *colon = strrchr(spec, ':');
	char *end;
	int fd, one = 1;

	if (colon == NULL || colon == spec ||
	    (size_t)(colon - spec) >= sizeof(host))
		return errmsg(err, errlen,
			      "--vnc %s: expected HOST:PORT or unix:PATH",
			      spec);
	memcpy(host, spec, (size_t)(colon - spec));
	host[colon - spec] = '\0';
	errno = 0;
	unsigned long port = strtoul(colon + 1, &end, 10);
	if (colon[1] < '0' || colon[1] > '9' || *end != '\0' || port > 65535 ||
	    errno != 0)
		return errmsg(err, errlen, "--vnc %s: bad port", spec);
	size_t hl = strlen(host);
	if (hl >= 2 && host[0] == '[' && host[hl - 1] == ']') {
		struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&ss;
		host[hl - 1] = '\0';
		if (inet_pton(AF_INET6, host + 1, &a6->sin6_addr) != 1)
			return errmsg(err, errlen, "--vnc %s: bad address",
				      spec);
		if (!IN6_IS_ADDR_LOOPBACK(&a6->sin6_addr))
			goto not_loopback;
		a6->sin6_family = AF_INET6;
		a6->sin6_port = htons((uint16_t)port);
		len = sizeof(*a6);
	} else {
		struct sockaddr_in *a4 = (struct sockaddr_in *)&ss;
		if (inet_pton(AF_INET, host, &a4->sin_addr) != 1)
			return errmsg(err, errlen,
				      "--vnc %s: bad address (an IPv4 address "
				      "or [IPv6])",
				      spec);
		if ((ntohl(a4->sin_addr.s_addr) >> 24) != 127)
			goto not_loopback;
		a4->sin_family = AF_INET;
		a4->sin_port = htons((uint16_t)port);
		len = sizeof(*a4);
	}
	fd =
	    socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return errmsg(err, errlen, "socket: %s", strerror(errno));
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&ss, len) != 0 || listen(fd, 8) != 0) {
		errmsg(err, errlen, "--vnc %s: %s", spec, strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
not_loopback:
	return errmsg(err, errlen,
		      "--vnc %s: only a loopback address (viewers are not "
		      "authenticated here; vmgated serves the network)",
		      spec);
}

int
vnc_listen(struct vnc *v, const char *spec, char *err, size_t errlen)
{
	int fd;

	if (v->nlisten == VNC_MAX_LISTEN)
		return errmsg(err, errlen, "--vnc: at most %d listeners",
			      VNC_MAX_LISTEN);
	if (strncmp(spec, "unix:", 5) == 0) {
		if ((fd = listen_unix(spec + 5, err, errlen)) < 0)
			return -1;
		v->unix_path[v->nlisten] = strdup(spec + 5);
	} else if ((fd = listen_tcp(spec, err, errlen)) < 0) {
		return -1;
	}
	v->listen_fd[v->nlisten++] = fd;
	return 0;
}

int
vnc_clients(struct vnc *v)
{
	rfbClientIteratorPtr it = rfbGetClientIterator(v->screen);
	int n = 0;

	while (rfbClientIteratorNext(it) != NULL)
		n++;
	rfbReleaseClientIterator(it);
	return n;
}

static void ignore(void *opaque, uint32_t x1, uint32_t y1, uint32_t x2,
		   uint32_t y2);

int
vnc_adopt(struct vnc *v, int fd, bool view_only, const char **why)
{
	int big = 4 << 20;

	if (vnc_clients(v) >= VNC_MAX_CLIENTS) {
		close(fd);
		*why = "too many viewers (" TEXT(VNC_MAX_CLIENTS) " at most)";
		return -1;
	}
	/* Room for a whole update, as far as the kernel allows: wmem_max
	 * caps it (208 KiB on a stock Debian kernel, against 3 MiB for a
	 * whole screen in Raw), so the gateway takes what we write off the
	 * stream at once, up to a whole screen a viewer (session_tunnel.c,
	 * vncd.c), and a slow link does not make this loop wait (vnc.h). */
	setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &big, sizeof(big));
	/* libvncserver first waits up to 100 ms for the viewer's first
	 * bytes (is it WebSockets or TLS?), and on any failure it has closed
	 * FD itself: closing it again could close an fd opened since. */
	rfbClientPtr cl = rfbNewClient(v->screen, fd);
	if (cl == NULL) {
		*why = "the VNC server refused the viewer";
		return -1;
	}
	cl->viewOnly = view_only ? TRUE : FALSE;
	if (v->next_frame_ms == 0) {
		/* The first viewer: what the guest drew while nobody watched is
		 * in its first (whole-screen) update, so the log and the hashes
		 * start from now rather than resend it as damage. */
		v->display_gen = v->vm->display_gen;
		vm_display_dirty(v->vm, v->dirty);
		display_damage(&v->vm->display, v->dirty, ignore, NULL);
		v->frame_ms = VNC_FRAME_MS;
		v->still_frames = 0;
		v->settle_ms = 0;
		v->next_frame_ms = clock_ms() + VNC_FRAME_MS;
	}
	return 0;
}

size_t
vnc_poll(struct vnc *v, struct pollfd *p)
{
	size_t n = 0;

	for (int i = 0; i < v->nlisten; i++)
		p[n++] = (struct pollfd){v->listen_fd[i], POLLIN, 0};
	rfbClientIteratorPtr it = rfbGetClientIterator(v->screen);
	rfbClientPtr cl;
	while ((cl = rfbClientIteratorNext(it)) != NULL && n < VNC_MAX_POLLFDS)
		if (cl->sock != RFB_INVALID_SOCKET)
			p[n++] = (struct pollfd){cl->sock, POLLIN, 0};
	rfbReleaseClientIterator(it);
	return n;
}

int
vnc_timeout(struct vnc *v)
{
	if (v->next_frame_ms == 0)
		return -1;
	uint64_t now = clock_ms();
	return now >= v->next_frame_ms ? 0 : (int)(v->next_frame_ms - now);
}

static void
ignore(void *opaque, uint32_t x1, uint32_t y1, uint32_t x2, uint32_t y2)
{
	(void)opaque, (void)x1, (void)y1, (void)x2, (void)y2;
}

static void
mark(void *opaque, uint32_t x1, uint32_t y1, uint32_t x2, uint32_t y2)
{
	rfbMarkRectAsModified(opaque, (int)x1, (int)y1, (int)x2, (int)y2);
}

void
vnc_damage_full(struct vnc *v)
{
	v->damage_full = true;
}

/* One frame: what the guest wrote since the last one becomes damage.
 * Returns whether anything changed. */
static bool
frame(struct vnc *v)
{
	struct display *d = &v->vm->display;

	if (v->damage_full) {
		/* --vnc-damage full, the benchmark's peer (kvmtool's way):
		 * no log, no hashes, the whole screen every frame. */
		rfbMarkRectAsModified(v->screen, 0, 0, (int)d->width,
				      (int)d->height);
		return true;
	}
	if (v->display_gen != v->vm->display_gen) {
		/* a reset blanked the screen: all of it changed */
		v->display_gen = v->vm->display_gen;
		vm_display_dirty(v->vm, v->dirty); /* drop the old log */
		rfbMarkRectAsModified(v->screen, 0, 0, (int)d->width,
				      (int)d->height);
		return true;
	}
	return vm_display_dirty(v->vm, v->dirty) == 0 &&
	       display_damage(d, v->dirty, mark, v->screen) > 0;
}

/* The pace after a frame that found CHANGED (vnc.h). */
static void
pace(struct vnc *v, bool changed)
{
	if (changed) {
		/* Unannounced while backing off: maybe a one-off (a clock). */
		v->settle_ms = v->frame_ms > VNC_FRAME_MS && v->settle_ms == 0
				   ? v->frame_ms
				   : 0;
		v->still_frames = 0;
		v->frame_ms = VNC_FRAME_MS;
	} else if (v->settle_ms != 0) {
		/* It was: back to the pace before it, not a ramp from the
		 * fastest. */
		v->frame_ms = v->settle_ms;
		v->settle_ms = 0;
		v->still_frames = VNC_IDLE_FRAMES;
	} else if (++v->still_frames >= VNC_IDLE_FRAMES &&
		   v->frame_ms < VNC_IDLE_FRAME_MS) {
		v->frame_ms *= 2;
		if (v->frame_ms > VNC_IDLE_FRAME_MS)
			v->frame_ms = VNC_IDLE_FRAME_MS;
	}
}

void
vnc_kick(struct vnc *v)
{
	if (v == NULL || v->next_frame_ms == 0)
		return;
	v->still_frames = 0;
	v->settle_ms = 0; /* announced: more is likely to follow */
	if (v->frame_ms == VNC_FRAME_MS)
		return;
	v->frame_ms = VNC_FRAME_MS;
	uint64_t soon = clock_ms() + VNC_FRAME_MS;
	if (soon < v->next_frame_ms)
		v->next_frame_ms = soon;
}

void
vnc_service(struct vnc *v, const struct pollfd *p, size_t n)
{
	for (size_t i = 0; i < n && i < (size_t)v->nlisten; i++) {
		if (!(p[i].revents & POLLIN))
			continue;
		int fd =
		    accept4(p[i].fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
		const char *why;
		if (fd >= 0 && vnc_adopt(v, fd, false, &why) != 0)
			log_error("viewer refused: %s", why);
	}
	if (v->next_frame_ms != 0 && clock_ms() >= v->next_frame_ms) {
		pace(v, frame(v));
		v->next_frame_ms = clock_ms() + v->frame_ms;
	}
	rfbProcessEvents(v->screen, 0);
	/* A view-only viewer holding a button would own the pointer (a
	 * libvncserver grab for drags) and lock out those who may control. */
	if (v->screen->pointerClient != NULL &&
	    v->screen->pointerClient->viewOnly)
		v->screen->pointerClient = NULL;
	if (vnc_clients(v) == 0)
		v->next_frame_ms = 0;
}
