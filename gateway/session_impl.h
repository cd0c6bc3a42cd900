/*
 * What the session files share (session.c: the libssh glue and the
 * session's life; session_cmd.c: the command kind; session_console.c: the
 * console kind). Not for other modules: they use session.h.
 */
#ifndef VMGATE_SESSION_IMPL_H
#define VMGATE_SESSION_IMPL_H

#include <libssh/callbacks.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "escape.h"
#include "json.h"
#include "session.h"
#include "supervisor.h"

struct hub_client;
struct policy_reason;
struct record;
struct vmproc;

/* How long and how much a viewer may overflow before it is cut off. */
#define OVERFLOW_LIMIT_MS 10000
#define OVERFLOW_LIMIT_BYTES (4u << 20)
#define WRITE_CHUNK 32768

/*
 * The most client data libssh may hold unread for one channel. libssh keeps
 * what a client sends past the channel window instead of refusing it
 * (0.10), and its window is its own: 32000 bytes at open, reopened to
 * 1,280,000 whenever the window plus what it holds falls under 640,000.
 * A client that respects that window can make it hold 1,920,000 bytes at
 * most (2 MiB in libssh 0.11, which refuses the excess itself), so more
 * than this was sent past the window: we end the connection, as OpenSSH's
 * "peer ignored channel window" does.
 */
#define CHANNEL_HOLD_MAX (2u << 20)

struct session;

/*
 * A session kind (STYLE.md: tables of function pointers, not switches;
 * Dropbear struct ChanType): what a session does once it knows what it is.
 * The command kind runs one command and exits; the console kind relays a
 * VM's serial console; VNC tunnels and web sockets join as further kinds.
 * A NULL operation does nothing.
 */
struct session_kind {
	const char *name;
	/* A byte stream (a direct-tcpip channel): no exit status, no stderr
	 * line when it ends. */
	bool stream;
	/*
	 * The rights a session of this kind needs on its VM (s->vm), checked
	 * when it opens and again on every policy change (session_recheck):
	 * without right_view it ends ("revoked"), without right_input it
	 * goes read-only. 0: none (a command is checked once, by its table
	 * entry in command.h).
	 */
	unsigned right_view;
	unsigned right_input;
	/* The session has become this kind (session_open; s->vm and
	 * s->readonly set, rights checked): start it. On failure it refuses
	 * (session_cmd_refuse) itself. */
	void (*open)(struct session *s);
	/* Input from the client; returns bytes consumed. */
	size_t (*input)(struct session *s, const uint8_t *p, size_t n);
	/* The SSH side may take more output (window grew, socket drained). */
	void (*output_ready)(struct session *s);
	/* The client's terminal changed size (s->width, s->height). */
	void (*window_change)(struct session *s);
	/* A policy change took right_input away (s->readonly is set). */
	void (*readonly)(struct session *s);
	/* The client will send no more (channel EOF). */
	void (*eof)(struct session *s);
	/* Tears down kind-specific state (idempotent). */
	void (*close)(struct session *s);
};

struct session {
	struct gwctx *gw;
	struct session_peer peer;
	ssh_session ss;
	ssh_channel ch;
	struct ssh_channel_callbacks_struct cb;
	unsigned long id;
	const struct session_kind *kind;
	bool started;
	bool finished;	  /* channel closed by us; waiting to be freed */
	bool closing;	  /* close_ev scheduled */
	bool peer_closed; /* the client closed its side */
	bool violated;	  /* sent past the window: the connection ends */
	bool in_input;	  /* filtering client bytes (see hc_input_ready) */
	int exit_status;
	char *end_msg; /* stderr line to send when closing */
	const char *end_reason;
	struct event *close_ev;
	/* terminal */
	bool pty;
	char term[64];
	unsigned width, height;
	/* command output, sent in order, then exit */
	struct json out;
	size_t out_off;
	bool out_then_exit;
	bool power_pending;
	/* console */
	struct vmproc *vm;
	struct hub_client *hc;
	bool readonly;
	bool attached;
	struct escape esc;
	uint8_t inbuf[1024];
	size_t inlen, inoff;
	/* Client bytes read out of libssh, not filtered yet: after inbuf,
	 * before what libssh still holds. */
	uint8_t *held;
	size_t heldlen, heldoff;
	size_t ssh_pending; /* client bytes libssh still holds for us */
	struct record *rec;
	char *rec_path;
	uint64_t bytes_in, bytes_out;
	/* VNC tunnel: our end of the stream handed to the monitor */
	int tfd;
	struct event *trev, *twev;
	struct evbuffer *tout; /* the monitor's bytes not in the channel yet */
	size_t tout_max;       /* more in tout: cut off (session_tunnel.c) */
	bool teof;	  /* the client sent EOF: shut down once held is out */
	const char *tend; /* the monitor's side ended: why, once tout is out */
	struct event *tlinger; /* ... and tout moved not for a while: cut off */
	struct supervisor_viewer viewer; /* listed by `who` while open */
	char *refusal; /* VNC tunnel refused: what the viewer is told */
};

/* session.c */
/* audit_decision() for this session's user, address and id: 0, or -1 if
 * the line could not be written (then refuse: fail closed). */
int session_audit_decision(struct session *s, const char *vm, unsigned right,
			   unsigned rights, const struct policy_reason *why,
			   const char *action);
/*
 * Reads all the client bytes libssh holds for s (s->ssh_pending) into
 * s->held at once: a partial read would make libssh 0.10 reopen its window
 * in full whatever it still holds, so a client that respects the window
 * could make the gateway hold without end; emptying it keeps libssh's
 * window plus what it holds under CHANNEL_HOLD_MAX, and what is held no
 * larger than that. false if nothing was pending (or held already).
 */
bool session_hold_pending(struct session *s);
/* The session becomes kind k and opens (k->open). */
void session_open(struct session *s, const struct session_kind *k);
/* The line ending for this session's terminal: "\r\n" with a pty. */
const char *session_nl(const struct session *s);
/* libssh has output: ask the connection to flush it. */
void session_kick(struct session *s);
/* Ends the session on a later loop pass, with an optional stderr line. */
void session_kill(struct session *s, int status, const char *reason,
		  const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* session_cmd.c */
extern const struct session_kind session_cmd_kind;
/* session_console.c */
extern const struct session_kind session_console_kind;
/* session_tunnel.c */
extern const struct session_kind session_tunnel_kind;
/* session_cmd.c */
/* Parses and runs the exec (or shell, cmdline NULL) request. */
void session_cmd_start(struct session *s, const char *cmdline, size_t len);
/* Writes a refusal: one line on stderr, exit status 1. */
void session_cmd_refuse(struct session *s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* supervisor_power()'s callback; arg is the session. */
void session_cmd_power_done(void *arg, bool ok, const char *msg);

#endif
