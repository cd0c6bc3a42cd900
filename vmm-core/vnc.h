/*
 * vnc: the VM's display served to VNC viewers by libvncserver, driven from
 * the monitor's own poll loop (libvncserver's background threads are not
 * used: they race with the client list).
 *
 * Viewers arrive two ways: on a listening socket the monitor opened itself
 * (standalone debugging: vnc_listen, loopback TCP or a UNIX socket), or as
 * an already-connected stream handed over by the gateway (vnc_adopt), which
 * has authenticated and authorized the user and says whether the viewer may
 * only watch.  A view-only viewer's keys, pointer and clipboard never reach
 * the guest: libvncserver drops them, and the callbacks check again.
 *
 * Updates: while anyone watches, every frame the monitor reads the
 * framebuffer's dirty log and marks what changed (display.h); libvncserver
 * sends it to each viewer that asked for an update, in the encodings it
 * has (Tight, ZRLE, Hextile, CopyRect, Raw...).  The pixels go out from the
 * guest's framebuffer itself, never copied.  No viewer: no timer, no work.
 *
 * Frames come every VNC_FRAME_MS while the screen changes.  After
 * VNC_IDLE_FRAMES frames in a row found nothing, the interval doubles up
 * to VNC_IDLE_FRAME_MS, so a still screen costs the loop two or three
 * wake-ups a second rather than 62 (each one a KVM_GET_DIRTY_LOG).
 * Anything that usually comes before drawing brings the fast pace back at
 * once (vnc_kick: the guest wrote to its console, someone typed, a viewer
 * sent a key or moved the pointer), so echo and typing are not delayed; a
 * change nothing announced (a clock) shows within VNC_IDLE_FRAME_MS, and
 * is followed by one VNC_FRAME_MS frame: if that finds nothing, it was a
 * one-off (the clock's second) and the slow pace resumes at once, instead
 * of ramping up from the fastest again (which cost the idle loop about ten
 * frames a second with the clock).
 *
 * A viewer that stops reading blocks the loop and is then disconnected:
 * libvncserver 0.9.14 waits for room in steps of 5 s and gives up after
 * the step that reaches VNC_WRITE_WAIT_MS, so after 5 s (the gateway always
 * reads the streams it relays, and cuts off a viewer that asks for more than
 * one screen without reading: gateway/session_tunnel.c); there are at most
 * VNC_MAX_CLIENTS viewers.
 */
#ifndef VMGATE_VNC_H
#define VMGATE_VNC_H

#include "vm.h"

#include <poll.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define VNC_FRAME_MS 16
#define VNC_IDLE_FRAMES 4
#define VNC_IDLE_FRAME_MS 500
#define VNC_WRITE_WAIT_MS 200
#define VNC_MAX_CLIENTS 64
#define VNC_MAX_LISTEN 4
#define VNC_MAX_POLLFDS (VNC_MAX_LISTEN + VNC_MAX_CLIENTS + 1)

/* Where viewers' input goes (the VM's keyboard and mouse); called on the
 * monitor's thread, only for viewers that may control. */
struct vnc_input_ops {
	void (*key)(void *opaque, uint32_t keysym, bool down);
	void (*pointer)(void *opaque, int x, int y, unsigned buttons);
};

struct vnc;

/* A server for VM's display (VM must have one), named NAME for viewers.
 * Returns NULL with the reason in ERR. */
struct vnc *vnc_create(struct vm *vm, const char *name,
		       const struct vnc_input_ops *ops, void *opaque, char *err,
		       size_t errlen);
void vnc_destroy(struct vnc *v);

/*
 * Listens on SPEC: "HOST:PORT" with a loopback IPv4 or [IPv6] address
 * (viewers are not authenticated: the network path is the gateway's), or
 * "unix:PATH" (created 0600; a stale socket there is replaced, anything
 * else is refused).  Returns 0, or -1 with the reason in ERR.
 */
int vnc_listen(struct vnc *v, const char *spec, char *err, size_t errlen);

/*
 * Serves a connected stream FD (the VNC server speaks first); takes it.
 * Returns 0, or -1 (FD closed) with the reason in *WHY: VNC_MAX_CLIENTS
 * are connected, or libvncserver refused the viewer (its first bytes, or
 * no memory).  libvncserver (0.9.14) waits up to 100 ms here for the
 * viewer's first bytes, to tell WebSockets and TLS from RFB: a new viewer
 * costs the loop that once.
 */
int vnc_adopt(struct vnc *v, int fd, bool view_only, const char **why);

/*
 * Debugging and benchmarks only (vmgate-vmm --vnc-damage full): from now
 * on every frame marks the whole screen modified, as kvmtool's VNC loop
 * does, instead of what the dirty log and the span hashes find.  Viewers
 * then get the whole screen every frame; the guest sees no difference.
 */
void vnc_damage_full(struct vnc *v);

/* Something that usually comes before the guest draws happened (console
 * output or input): the next frame is at most VNC_FRAME_MS away. */
void vnc_kick(struct vnc *v);

/* Viewers connected now. */
int vnc_clients(struct vnc *v);

/*
 * The poll loop's part: vnc_poll() fills at most VNC_MAX_POLLFDS entries
 * of P and returns how many; vnc_timeout() is the longest the loop may
 * sleep (ms, -1 for ever); vnc_service() is called after every poll with
 * the same entries, whatever woke the loop.
 */
size_t vnc_poll(struct vnc *v, struct pollfd *p);
int vnc_timeout(struct vnc *v);
void vnc_service(struct vnc *v, const struct pollfd *p, size_t n);

#endif
