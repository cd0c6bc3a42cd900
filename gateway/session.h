/*
 * One SSH session channel of an authenticated user: a command (list,
 * status, power, who, help) or a VM's console, attached to its hub.
 *
 * The kinds are tables of function pointers (struct session_kind in
 * session_impl.h: the command kind in session_cmd.c, the console kind in
 * session_console.c; what each command is and needs is command.h's table).
 * sshd.c owns the connection and hands each session the channel
 * requests of its channel; the session replies to them itself. A session
 * never frees itself: when it has finished (channel closed or to be closed)
 * it calls the done hook, and the connection frees it on a later loop pass
 * with session_free().
 *
 * What a client can make a session hold is bounded: unread client data is
 * left with libssh, which holds at most its window's worth for a client that
 * respects the window; a client that sends past it is reported with the
 * abort hook and its further data is discarded. A console session also
 * holds what it read from libssh and the VM could not take yet: never more
 * than libssh held (session_impl.h, CHANNEL_HOLD_MAX).
 */
#ifndef VMGATE_SESSION_H
#define VMGATE_SESSION_H

#include <libssh/libssh.h>
#include <libssh/server.h>
#include <stdbool.h>

#include "command.h"

struct gwctx;
struct session;
struct vmproc;

struct session_peer {
	const char *user;	 /* authenticated, checked name */
	const char *addr;	 /* "ip:port" */
	void (*done)(void *arg); /* a session finished: reap soon */
	void (*kick)(void *arg); /* libssh has output: flush it */
	/* A packet is about to be written. Packets written in one loop pass
	 * after the first go out together (sshd.c, sess_batch). */
	void (*batch)(void *arg);
	/* The client broke the protocol: end the connection on a later loop
	 * pass, logging and telling the client why (one line). */
	void (*abort)(void *arg, const char *why);
	void *arg;
};

/*
 * libssh writes a packet at once only while it believes the socket
 * writable, and forgets that after every write until its own poll reports
 * POLLOUT again; meanwhile packets wait in its buffer for a loop round.
 * This tells it what a zero-timeout poll of its socket says, so the next
 * packet goes out in the same pass (sshd.c, before a close). Returns
 * whether the socket is writable.
 */
bool session_may_write(ssh_session ss);
/*
 * May the session write a packet now? Only while libssh would send it at
 * once, so its buffer holds one write at most: it says so by not flagging
 * SSH_WRITE_PENDING, which it does after every send until its own poll, a
 * loop round later; then a zero-timeout poll of ours (session_may_write)
 * answers. Without that poll, the second of one connection's channels to
 * write in a loop pass (a console's echo to each of its viewers) waited
 * for the next round: one round, with its epoll_ctl, poll and setsockopt,
 * per viewer (issue 9's fan-out).
 */
bool session_can_write(struct session *s);

/* peer's strings must outlive the session. */
struct session *session_new(struct gwctx *gw, const struct session_peer *peer,
			    ssh_session ss, ssh_channel ch, unsigned long id);
/* Frees, detaching from the hub and closing the channel if still open. */
void session_free(struct session *s);

ssh_channel session_channel(const struct session *s);
/* A channel request for this session's channel; replies to it, frees msg. */
void session_request(struct session *s, ssh_message msg);
/* The SSH side may take more output (window grew, socket drained). */
void session_pump(struct session *s);
/* Closed on both sides: free it. A session we closed stays (and counts)
 * until the client closes its side of the channel too. */
bool session_finished(const struct session *s);
/* The policy changed: end or downgrade as the new rights say. */
void session_recheck(struct session *s);
/*
 * Ends the session on a later loop pass: 'msg' (one line, without its line
 * ending) on the channel's stderr, exit status 1, then EOF and close.
 * 'reason' (static) is what session_end audits. Nothing if already ending.
 */
void session_end(struct session *s, const char *reason, const char *msg);

/* The one port a direct-tcpip channel may name: VM:5900, its display. */
#define SESSION_TUNNEL_PORT 5900
/*
 * Whether user (from addr) may open a VNC tunnel (a direct-tcpip channel)
 * to host:port: NULL and *vm, *control set if so, else why not (in buf, one
 * line). The policy decision is audited.
 */
const char *session_tunnel_check(struct gwctx *gw, const char *user,
				 const char *addr, const char *host, int port,
				 struct vmproc **vm, bool *control, char *buf,
				 size_t size);
/* s (a new session on an accepted direct-tcpip channel) relays v's
 * display. */
void session_tunnel_start(struct session *s, struct vmproc *v, bool control);
/*
 * s (a new session on an accepted direct-tcpip channel to some VM:5900)
 * tells the viewer WHY it may not see that display, the RFB way: the
 * server's version, then for the version the viewer answers a failed
 * security handshake with WHY as its reason (RFB 3.3: type 0; 3.7 and
 * 3.8: no types), which viewers print; then the channel closes. libssh
 * 0.10 can refuse a channel only without text, which OpenSSH shows as
 * "administratively prohibited", so a refusal of a VM's display is told
 * this way instead.
 */
void session_tunnel_refuse(struct session *s, const char *why);

/*
 * The handlers of command.h's command_table (command_run_fn): session_cmd.c
 * and, for attach, session_console.c.
 */
command_run_fn session_cmd_list, session_cmd_status, session_cmd_who,
    session_cmd_power, session_cmd_reload, session_cmd_help,
    session_cmd_screenshot, session_cmd_vnc_ticket, session_console_attach;

#endif
