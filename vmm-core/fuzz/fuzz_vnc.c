/*
 * Fuzz target: any bytes from a VNC viewer, as the monitor's VNC side gets
 * them (vnc.c over libvncserver, a viewer on a socketpair as the gateway
 * hands them over).  The first byte chooses view-only or control; the rest
 * is what the viewer sends, then it hangs up.  Checked: no crash, no leak
 * (ASan), the viewer is gone afterwards (nothing held), and a view-only
 * viewer's bytes never become a key or a pointer event.
 */
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <rfb/rfb.h>

#include "vm.h"
#include "vnc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static unsigned long inputs; /* key and pointer events that got through */

static void
on_key(void *opaque, uint32_t keysym, bool down)
{
	(void)opaque;
	(void)keysym;
	(void)down;
	inputs++;
}

static void
on_pointer(void *opaque, int x, int y, unsigned buttons)
{
	(void)opaque;
	if (x < 0 || y < 0 || x >= 64 || y >= 64 || buttons > 0xff)
		abort(); /* vnc.c clamps to the screen */
	inputs++;
}

static const struct vnc_input_ops ops = {on_key, on_pointer};

static void
quiet(const char *fmt, ...)
{
	(void)fmt;
}

/* Serves until the viewer is gone, reading what the server sends so its
 * writes never wait (a bounded number of turns: each ends in a read). */
static void
serve(struct vnc *v, int peer)
{
	char sink[65536];

	for (int turn = 0; turn < 256 && vnc_clients(v) > 0; turn++) {
		struct pollfd p[VNC_MAX_POLLFDS];
		size_t n = vnc_poll(v, p);
		poll(p, (nfds_t)n, 0);
		vnc_service(v, p, n);
		while (read(peer, sink, sizeof(sink)) > 0)
			;
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct vm vm;
	static struct vnc *v;
	char err[200];
	int sv[2];

	if (v == NULL) {
		/* A VM with a small display and no KVM: the dirty log is
		 * never there, so every frame scans all of it. */
		signal(SIGPIPE,
		       SIG_IGN); /* as the monitor: a hang-up is EPIPE */
		vm.vm_fd = -1;
		if (display_create(&vm.display, 64, 64) != 0)
			abort();
		vm.has_display = 1;
		v = vnc_create(&vm, "fuzz", &ops, NULL, err, sizeof(err));
		if (v == NULL)
			abort();
		rfbErr = quiet; /* a line per bad input is not a finding */
	}
	if (size == 0 || size > 65536)
		return 0;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0,
		       sv) != 0)
		abort();
	bool view_only = data[0] & 1;
	unsigned long before = inputs;
	/* All of it is there before the server starts (the socket holds
	 * 64 KiB): libvncserver's first look for WebSockets or TLS sees it. */
	if (size > 1 && write(sv[1], data + 1, size - 1) != (ssize_t)(size - 1))
		abort();
	shutdown(sv[1], SHUT_WR);
	const char *why;
	if (vnc_adopt(v, sv[0], view_only, &why) != 0) {
		close(sv[1]);
		return 0; /* refused at once (a WebSockets or TLS start) */
	}
	serve(v, sv[1]);
	close(sv[1]);
	serve(v, -1);
	if (vnc_clients(v) != 0)
		abort(); /* a viewer that hung up is still held */
	if (view_only && inputs != before)
		abort(); /* a view-only viewer's input reached the guest */
	return 0;
}
