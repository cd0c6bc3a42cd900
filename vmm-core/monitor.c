#include "monitor.h"
#include "errmsg.h"
#include "shot.h"
#include "vnc.h"

#include "clock.h"
#include "ctl.h"
#include "escape.h"
#include "logesc.h"
#include "rebootlimit.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

/*
 * While the guest streams output, the I/O thread stops waking for every
 * burst (one per 16-byte FIFO) and collects what arrived every COALESCE_MS
 * instead; a quiet console still wakes it at once, so an echo is not
 * delayed.
 */
#define COALESCE_MS 2
#define OUTBUF 65536

struct mon {
	struct vm *vm;
	const struct monitor_options *opt;
	int sig_fd;
	int in_open; /* stdin still readable */
	int tty;     /* stdin is a terminal in raw mode */
	struct termios saved_tio;
	int out_flags;	   /* stdout's flags before O_NONBLOCK */
	struct escape esc; /* Ctrl-] on the terminal */
	uint8_t in[256];   /* input read but not yet taken by the UART */
	size_t in_len, in_off;
	uint8_t out[OUTBUF + 128];
	size_t out_len, out_off;
	int exit_status; /* -1 while running */
	int hot;	 /* output is streaming: coalesce wake-ups */

	/* Guest resets (rebootlimit.h): a reboot loop waits until start_at
	 * (monotonic ms; 0: no start pending), the VM "rebooting" meanwhile. */
	struct rebootlimit reboots;
	int64_t start_at;

	/* Control channel (opt->ctl_fd >= 0). */
	int ctl_hello;		      /* the gateway's HELLO arrived */
	struct ctl_credit out_credit; /* console bytes the gateway takes */
	uint32_t in_granted; /* console bytes we let the gateway send */
	uint8_t pkt[CTL_MAX_MSG];
};

static void note(struct mon *m, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/*
 * Status lines go to stderr, which is the gateway's log when it runs us; in
 * raw mode they need their own CR. Whatever a line quotes (a guest's event
 * detail, a file's contents in an error) passes logesc(), the gateway's own
 * escaper, so it cannot end the line or drive a terminal.
 */
static void
note(struct mon *m, const char *fmt, ...)
{
	va_list ap;
	char line[512], esc[1024];

	va_start(ap, fmt);
	int n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (n < 0)
		n = 0;
	if ((size_t)n >= sizeof(line))
		n = (int)sizeof(line) - 1;
	logesc_mem(esc, sizeof(esc), line, (size_t)n, LOGESC_KEEP_BACKSLASH);
	fprintf(stderr, "%svmgate-vmm: %s%s", m->tty ? "\r\n" : "", esc,
		m->tty ? "\r\n" : "\n");
}

static void
tty_raw(struct mon *m)
{
	struct termios t;

	if (!m->opt->stdio || !isatty(STDIN_FILENO) ||
	    tcgetattr(STDIN_FILENO, &m->saved_tio) != 0)
		return;
	t = m->saved_tio;
	cfmakeraw(&t);
	if (tcsetattr(STDIN_FILENO, TCSAFLUSH, &t) == 0)
		m->tty = 1;
}

static void
tty_restore(struct mon *m)
{
	if (m->tty)
		tcsetattr(STDIN_FILENO, TCSAFLUSH, &m->saved_tio);
	if (m->out_flags >= 0)
		fcntl(STDOUT_FILENO, F_SETFL, m->out_flags);
}

/* Writes pending output; returns 0, or -1 if stdout is gone. */
static int
flush_out(struct mon *m, int block)
{
	while (m->out_off < m->out_len) {
		ssize_t n = write(STDOUT_FILENO, m->out + m->out_off,
				  m->out_len - m->out_off);
		if (n > 0) {
			m->out_off += (size_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN) {
			if (!block)
				return 0;
			struct pollfd p = {STDOUT_FILENO, POLLOUT, 0};
			poll(&p, 1, 1000);
			continue;
		}
		return -1;
	}
	m->out_off = m->out_len = 0;
	return 0;
}

/* Moves guest output from the console ring to our buffer. */
static size_t
take_output(struct mon *m)
{
	uint64_t lost;
	int was_full;

	if (m->out_len > 0)
		return 0; /* stdout is behind: let the console fill, push back
			   */
	size_t n = console_take(&m->vm->console, m->out + 128, OUTBUF, &lost,
				&was_full);
	if (lost > 0) {
		char mark[128];
		int k = snprintf(mark, sizeof(mark),
				 "\r\n[vmgate-vmm: %llu bytes of console "
				 "output lost: reader too slow]\r\n",
				 (unsigned long long)lost);
		memcpy(m->out + 128 - k, mark, (size_t)k);
		m->out_off = 128 - (size_t)k;
	} else {
		m->out_off = 128;
	}
	m->out_len = 128 + n;
	if (m->out_off == m->out_len)
		m->out_off = m->out_len = 0;
	if (was_full)
		uart8250_tx_kick(&m->vm->uart);
	return n;
}

static void
show_escape_help(struct mon *m)
{
	note(m, "escape keys: Ctrl-] .  quit   Ctrl-] b  send break   "
		"Ctrl-] Ctrl-]  send Ctrl-]   Ctrl-] ?  this help");
}

/*
 * Filters the escape sequence out of terminal input in place (escape.h);
 * returns the bytes meant for the guest.
 */
static size_t
filter_escape(struct mon *m, uint8_t *buf, size_t n)
{
	size_t i = 0, o = 0;

	if (!m->tty)
		return n;
	while (i < n) {
		enum escape_action act;
		size_t outn;

		i += escape_feed(&m->esc, buf + i, n - i, buf + o, &outn, &act);
		o += outn;
		switch (act) {
		case ESCAPE_NONE:
			break;
		case ESCAPE_DETACH:
			note(m, "stopped from the terminal");
			m->exit_status = VMSTATE_EXIT_STOPPED;
			return o;
		case ESCAPE_BREAK:
			uart8250_send_break(&m->vm->uart);
			break;
		case ESCAPE_RESET: /* the gateway's, not ours */
		case ESCAPE_WHO:
		case ESCAPE_HELP:
		case ESCAPE_UNKNOWN:
			show_escape_help(m);
			break;
		}
	}
	return o;
}

static void
feed_input(struct mon *m)
{
	size_t was = m->in_off;

	while (m->in_off < m->in_len) {
		size_t k = uart8250_receive(&m->vm->uart, m->in + m->in_off,
					    m->in_len - m->in_off);
		if (k == 0)
			break; /* guest is slow: wait for rx_space */
		m->in_off += k;
	}
	if (m->in_off != was)
		vnc_kick(m->opt->vnc); /* typing: the guest will draw */
	if (m->in_off == m->in_len)
		m->in_off = m->in_len = 0;
}

static void
read_input(struct mon *m)
{
	ssize_t n = read(STDIN_FILENO, m->in, sizeof(m->in));

	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return;
	if (n <= 0) {
		m->in_open = 0; /* EOF: the guest keeps running */
		return;
	}
	m->in_len = filter_escape(m, m->in, (size_t)n);
	m->in_off = 0;
	feed_input(m);
}

/* Control channel ------------------------------------------------------- */

/* The gateway is gone or broke the protocol: nothing left to serve. */
static void
ctl_fail(struct mon *m, enum ctl_errcode code, const char *why)
{
	size_t len;

	note(m, "control channel: %s", why);
	if (code != 0 &&
	    ctl_encode_error(m->pkt, sizeof(m->pkt), &len, 0, code, why) == 0)
		ctl_send(m->opt->ctl_fd, m->pkt, len, -1);
	if (m->exit_status < 0)
		m->exit_status = VMSTATE_EXIT_STOPPED;
}

static void
ctl_put(struct mon *m, size_t len)
{
	int r = ctl_send(m->opt->ctl_fd, m->pkt, len, -1);

	if (r != 0)
		ctl_fail(m, 0, ctl_strerror(r));
}

static void
ctl_send_state(struct mon *m, uint32_t seq, enum vmstate state,
	       enum vmstate_reason reason, int cpu, uint64_t rip,
	       const char *detail)
{
	size_t len;

	if (m->opt->ctl_fd < 0 || !m->ctl_hello)
		return;
	if (ctl_encode_state(m->pkt, sizeof(m->pkt), &len, seq, state, reason,
			     cpu >= 0 ? rip : 0,
			     cpu >= 0 ? (uint32_t)cpu : CTL_CPU_NONE,
			     detail) == 0)
		ctl_put(m, len);
}

/* Grants the gateway whatever UART input space it does not hold yet. */
static void
ctl_grant_input(struct mon *m)
{
	size_t room = uart8250_rx_room(&m->vm->uart), len;

	if (!m->ctl_hello || room <= m->in_granted)
		return;
	uint32_t more = (uint32_t)(room - m->in_granted);
	if (ctl_encode_console_credit(m->pkt, sizeof(m->pkt), &len, 0, more) ==
	    0) {
		m->in_granted += more;
		ctl_put(m, len);
	}
}

/* Sends guest output, as much as the gateway's credit allows. */
static size_t
ctl_flush_output(struct mon *m)
{
	size_t len, total = 0;

	while (m->ctl_hello && m->exit_status < 0 && m->out_credit.avail > 0) {
		uint8_t *data = m->pkt; /* sent from here, not copied */
		size_t cap = m->out_credit.avail < CTL_MAX_DATA
				 ? m->out_credit.avail
				 : CTL_MAX_DATA;
		uint64_t lost;
		int was_full;
		size_t n =
		    console_take(&m->vm->console, data, cap, &lost, &was_full);
		if (was_full)
			uart8250_tx_kick(&m->vm->uart);
		if (lost > 0) {
			uint8_t lp[CTL_HDR_LEN + 8];
			if (ctl_encode_console_lost(lp, sizeof(lp), &len, 0,
						    lost) == 0 &&
			    ctl_send(m->opt->ctl_fd, lp, len, -1) != 0) {
				ctl_fail(m, 0, "send failed");
				return total;
			}
		}
		if (n == 0)
			return total;
		if (ctl_credit_use(&m->out_credit, n) != 0)
			return total;
		int r = ctl_send_data(m->opt->ctl_fd, CTL_T_CONSOLE_OUT, 0,
				      data, n);
		if (r != 0) {
			ctl_fail(m, 0, ctl_strerror(r));
			return total;
		}
		total += n;
	}
	return total;
}

/*
 * Starts the guest for the gateway (at its HELLO, or a POWER RESET it asked
 * for, seq): if it cannot start, the gateway hears CRASHED with why, and
 * the monitor ends. Returns 0 once it runs.
 */
static int
ctl_start_guest(struct mon *m, uint32_t seq, enum vmstate_reason why)
{
	char err[256];

	if (vm_start(m->vm, err, sizeof(err)) != 0) {
		note(m, "%s", err);
		ctl_send_state(m, seq, VMSTATE_CRASHED, why, -1, 0, err);
		m->exit_status = VMSTATE_EXIT_ERROR;
		return -1;
	}
	rebootlimit_started(&m->reboots, (int64_t)clock_ms());
	return 0;
}

static void
ctl_power(struct mon *m, uint32_t seq, enum ctl_power action)
{
	size_t len;

	switch (action) {
	case CTL_POWER_PAUSE:
		if (m->vm->state == VMSTATE_RUNNING) {
			vm_pause(m->vm);
			ctl_send_state(m, seq, VMSTATE_PAUSED,
				       VMSTATE_REASON_HOST_REQUEST, -1, 0,
				       NULL);
			return;
		}
		break;
	case CTL_POWER_RESUME:
		if (m->vm->state == VMSTATE_PAUSED) {
			vm_resume(m->vm);
			ctl_send_state(m, seq, VMSTATE_RUNNING,
				       VMSTATE_REASON_HOST_REQUEST, -1, 0,
				       NULL);
			return;
		}
		break;
	case CTL_POWER_RESET:
		/* Also ends a reboot loop's wait: the host asked for it. */
		m->start_at = 0;
		vm_stop(m->vm);
		ctl_send_state(m, seq, VMSTATE_REBOOTING,
			       VMSTATE_REASON_HOST_REQUEST, -1, 0, "reset");
		if (ctl_start_guest(m, seq, VMSTATE_REASON_HOST_REQUEST) != 0)
			return;
		ctl_send_state(m, seq, VMSTATE_RUNNING,
			       VMSTATE_REASON_HOST_REQUEST, -1, 0, NULL);
		return;
	case CTL_POWER_POWEROFF:
		vm_stop(m->vm);
		ctl_send_state(m, seq, VMSTATE_STOPPED,
			       VMSTATE_REASON_HOST_REQUEST, -1, 0,
			       "powered off");
		m->exit_status = VMSTATE_EXIT_STOPPED;
		return;
	}
	if (ctl_encode_error(m->pkt, sizeof(m->pkt), &len, seq,
			     CTL_ERR_INVALID_STATE,
			     vmstate_name(m->vm->state)) == 0)
		ctl_put(m, len);
}

static void
ctl_hello(struct mon *m, const struct ctl_msg *msg)
{
	size_t len;

	if (msg->u.hello.role != CTL_ROLE_GATEWAY) {
		ctl_fail(m, CTL_ERR_PROTOCOL, "peer is not a gateway");
		return;
	}
	if (msg->u.hello.name.len != strlen(m->opt->name) ||
	    memcmp(msg->u.hello.name.ptr, m->opt->name,
		   msg->u.hello.name.len) != 0) {
		ctl_fail(m, CTL_ERR_NAME, "HELLO names another VM");
		return;
	}
	m->ctl_hello = 1;
	if (ctl_encode_hello(m->pkt, sizeof(m->pkt), &len, 0, CTL_ROLE_VMM,
			     m->opt->name) != 0)
		return;
	ctl_put(m, len);
	if (m->vm->has_display &&
	    ctl_encode_display_info(m->pkt, sizeof(m->pkt), &len, 0,
				    m->vm->display.width,
				    m->vm->display.height) == 0)
		ctl_put(m, len);
	/* The guest starts now (main.c): its first state, and every reset
	 * and crash after it, find the channel up. */
	if (ctl_start_guest(m, 0, VMSTATE_REASON_NONE) != 0)
		return;
	ctl_send_state(m, 0, m->vm->state, VMSTATE_REASON_NONE, -1, 0, NULL);
	ctl_grant_input(m);
}

static void
ctl_refuse(struct mon *m, uint32_t seq, enum ctl_errcode code, const char *why)
{
	size_t len;

	if (ctl_encode_error(m->pkt, sizeof(m->pkt), &len, seq, code, why) == 0)
		ctl_put(m, len);
}

/* A viewer the gateway authorized: the VNC server takes the stream. */
static void
ctl_display_client(struct mon *m, const struct ctl_msg *msg, int fd)
{
	if (m->opt->vnc == NULL) {
		close(fd);
		ctl_refuse(m, msg->seq, CTL_ERR_UNSUPPORTED, "no display");
		return;
	}
	const char *why;
	if (vnc_adopt(m->opt->vnc, fd,
		      msg->u.display_client.rights != CTL_DISPLAY_CONTROL,
		      &why) != 0)
		ctl_refuse(m, msg->seq, CTL_ERR_INVALID_STATE, why);
}

/*
 * Replaces fd's contents with a PNG of the screen: written from offset 0,
 * then cut to its length (not emptied first: the gateway's memfd is sized
 * and sealed against growth, so that a monitor cannot make it hold more).
 * Returns the length, or -1 with the reason in err.
 */
static off_t
shot_replace(struct mon *m, int fd, char *err, size_t errlen)
{
	off_t end;

	if (lseek(fd, 0, SEEK_SET) != 0 ||
	    shot_write_fd(&m->vm->display, fd, err, errlen) != 0 ||
	    (end = lseek(fd, 0, SEEK_CUR)) <= 0 || ftruncate(fd, end) != 0)
		return -1;
	return end;
}

/* A PNG into the file the gateway passed: never a pipe or socket, whose
 * reader could keep this loop waiting. */
static void
ctl_screenshot(struct mon *m, const struct ctl_msg *msg, int fd)
{
	char err[200];
	struct stat st;
	size_t len;
	off_t end;

	if (!m->vm->has_display) {
		ctl_refuse(m, msg->seq, CTL_ERR_UNSUPPORTED, "no display");
	} else if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		ctl_refuse(m, msg->seq, CTL_ERR_INTERNAL,
			   "screenshot: not a regular file");
	} else if ((end = shot_replace(m, fd, err, sizeof(err))) <= 0) {
		ctl_refuse(m, msg->seq, CTL_ERR_INTERNAL, "screenshot failed");
	} else if (ctl_encode_screenshot_done(m->pkt, sizeof(m->pkt), &len,
					      msg->seq, (uint64_t)end) == 0) {
		ctl_put(m, len);
	}
	close(fd);
}

static void
ctl_read(struct mon *m)
{
	struct ctl_msg msg;
	size_t len;
	int r, fd = -1;

	r = ctl_recv(m->opt->ctl_fd, m->pkt, sizeof(m->pkt), &len, &fd);
	if (r == CTL_E_AGAIN)
		return;
	if (r == CTL_E_EOF) {
		ctl_fail(m, 0, "gateway closed the channel");
		return;
	}
	if (r == 0)
		r = ctl_decode(m->pkt, len, &msg);
	/* An fd comes with the messages that carry one, and only then. */
	if (r == 0 && ctl_carries_fd(msg.type) != (fd >= 0))
		r = fd >= 0 ? CTL_E_UNEXPECTED_FD : CTL_E_SHORT;
	if (r != 0) {
		if (fd >= 0)
			close(fd);
		ctl_fail(
		    m, r == CTL_E_VERSION ? CTL_ERR_VERSION : CTL_ERR_PROTOCOL,
		    ctl_strerror(r));
		return;
	}
	if (fd >= 0 &&
	    (!ctl_allowed(CTL_ROLE_GATEWAY, msg.type) || !m->ctl_hello)) {
		close(fd);
		fd = -1;
	}
	if (!ctl_allowed(CTL_ROLE_GATEWAY, msg.type)) {
		ctl_fail(m, CTL_ERR_NOT_PERMITTED, "message not permitted");
		return;
	}
	if (!m->ctl_hello != (msg.type == CTL_T_HELLO)) {
		ctl_fail(m, CTL_ERR_PROTOCOL,
			 m->ctl_hello ? "second HELLO" : "expected HELLO");
		return;
	}
	switch (msg.type) {
	case CTL_T_HELLO:
		ctl_hello(m, &msg);
		break;
	case CTL_T_ERROR:
		note(m, "gateway reported error %u", msg.u.error.code);
		break;
	case CTL_T_CONSOLE_IN:
		if (msg.u.console_in.len > m->in_granted) {
			ctl_fail(m, CTL_ERR_PROTOCOL, "input beyond credit");
			return;
		}
		m->in_granted -= (uint32_t)msg.u.console_in.len;
		/* Fits: we never granted more than the queue had free. */
		uart8250_receive(&m->vm->uart, msg.u.console_in.ptr,
				 msg.u.console_in.len);
		vnc_kick(m->opt->vnc); /* typing: the guest will draw */
		break;
	case CTL_T_CONSOLE_CREDIT:
		if (ctl_credit_grant(&m->out_credit, msg.u.credit.bytes) != 0)
			ctl_fail(m, CTL_ERR_PROTOCOL, "credit overflow");
		break;
	case CTL_T_BREAK:
		uart8250_send_break(&m->vm->uart);
		break;
	case CTL_T_POWER:
		ctl_power(m, msg.seq, msg.u.power.action);
		break;
	case CTL_T_DISPLAY_CLIENT:
		ctl_display_client(m, &msg, fd);
		break;
	case CTL_T_SCREENSHOT:
		ctl_screenshot(m, &msg, fd);
		break;
	default:
		ctl_fail(m, CTL_ERR_PROTOCOL, "unexpected message");
		break;
	}
}

/* Starts the guest again after its own reset. */
static void
restart_guest(struct mon *m)
{
	char err[256];

	m->start_at = 0;
	if (vm_start(m->vm, err, sizeof(err)) != 0) {
		note(m, "restart failed: %s", err);
		m->exit_status = VMSTATE_EXIT_ERROR;
		return;
	}
	rebootlimit_started(&m->reboots, (int64_t)clock_ms());
	ctl_send_state(m, 0, VMSTATE_RUNNING, VMSTATE_REASON_GUEST_REBOOT, -1,
		       0, NULL);
}

static void
handle_event(struct mon *m)
{
	struct vm_event ev;
	char detail[CTL_TEXT_MAX];
	uint32_t wait = 0;

	if (!vm_take_event(m->vm, &ev))
		return;
	vm_stop(m->vm);
	int restart =
	    ev.state == VMSTATE_REBOOTING && m->opt->restart_on_reboot;
	if (restart)
		wait = rebootlimit_reset(&m->reboots, (int64_t)clock_ms());
	/* One line and one STATE per reset, the loop's wait in both. */
	if (wait > 0)
		snprintf(detail, sizeof(detail),
			 "%s; reboot loop: %u resets, next start in %u s",
			 ev.detail, rebootlimit_loop_resets(&m->reboots),
			 (unsigned)(wait / 1000));
	else
		snprintf(detail, sizeof(detail), "%s", ev.detail);
	if (ev.cpu >= 0)
		note(m, "guest %s: %s (%s; cpu %d, rip 0x%llx)",
		     vmstate_name(ev.state), vmstate_reason_phrase(ev.reason),
		     detail, ev.cpu, (unsigned long long)ev.rip);
	else
		note(m, "guest %s: %s (%s)", vmstate_name(ev.state),
		     vmstate_reason_phrase(ev.reason), detail);
	m->vm->state = ev.state;
	ctl_flush_output(m); /* what the guest said before it went */
	ctl_send_state(m, 0, ev.state, ev.reason, ev.cpu, ev.rip, detail);
	if (!restart) {
		m->exit_status = (int)vmstate_exit_for(ev.reason);
		return;
	}
	if (wait > 0)
		m->start_at =
		    (int64_t)clock_ms() + wait; /* the I/O loop starts it */
	else
		restart_guest(m);
}

static void
handle_signal(struct mon *m)
{
	struct signalfd_siginfo si;

	if (read(m->sig_fd, &si, sizeof(si)) != sizeof(si))
		return;
	if (si.ssi_signo == SIGUSR1) {
		char err[300];
		int fd = m->opt->screenshot_fd;
		off_t end;
		if (fd < 0 || !m->vm->has_display)
			note(m, "SIGUSR1: no --screenshot PATH to write to");
		else if ((end = shot_replace(m, fd, err, sizeof(err))) <= 0)
			note(m, "screenshot %s: failed", m->opt->screenshot);
		else
			note(m, "screenshot %s: %lld bytes", m->opt->screenshot,
			     (long long)end);
		return; /* the guest goes on */
	}
	if (si.ssi_signo == SIGUSR2) {
		vm_dump(m->vm); /* the guest goes on */
		return;
	}
	note(m, "stopped by signal %u", si.ssi_signo);
	m->exit_status = VMSTATE_EXIT_STOPPED;
}

/* A viewer's key goes to the PS/2 keyboard as the same key. */
static void
vnc_key(void *opaque, uint32_t keysym, bool down)
{
	struct vm *vm = opaque;

	i8042_key(&vm->i8042, keysym, down);
}

/*
 * VNC's pointer is absolute, with a button mask: bits 0-2 left, middle,
 * right (as I8042_BUTTON_*), bits 3 and 4 the wheel's up and down notches,
 * each a press and a release.  The PS/2 mouse reports motion: the
 * difference from where it last told the guest the pointer was.
 */
static void
vnc_pointer(void *opaque, int x, int y, unsigned buttons)
{
	struct vm *vm = opaque;
	unsigned pressed = buttons & ~vm->vnc_buttons;
	int dz = ((pressed >> 4) & 1) - ((pressed >> 3) & 1);

	vm->vnc_buttons = buttons;
	i8042_pointer_abs(&vm->i8042, &vm->vnc_pointer, x, y, dz,
			  buttons & (I8042_BUTTON_LEFT | I8042_BUTTON_MIDDLE |
				     I8042_BUTTON_RIGHT));
}

static const struct vnc_input_ops vnc_input = {
    .key = vnc_key,
    .pointer = vnc_pointer,
};

int
monitor_display(struct vm *vm, struct monitor_options *opt,
		const char *const *spec, int nspec, char *err, size_t errlen)
{
	if (!vm->has_display)
		return 0;
	if (opt->screenshot != NULL) {
		opt->screenshot_fd =
		    open(opt->screenshot,
			 O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
		if (opt->screenshot_fd < 0)
			return errmsg(err, errlen, "--screenshot %s: %s",
				      opt->screenshot, strerror(errno));
	}
	opt->vnc = vnc_create(vm, opt->name, &vnc_input, vm, err, errlen);
	if (opt->vnc == NULL)
		return -1;
	if (opt->vnc_damage_full)
		vnc_damage_full(opt->vnc);
	for (int i = 0; i < nspec; i++)
		if (vnc_listen(opt->vnc, spec[i], err, errlen) != 0)
			return -1;
	return 0;
}

int
monitor_run(struct vm *vm, const struct monitor_options *opt)
{
	struct mon m = {.vm = vm,
			.opt = opt,
			.in_open = opt->stdio,
			.out_flags = -1,
			.exit_status = -1};
	sigset_t mask;

	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&mask);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGHUP);
	sigaddset(&mask, SIGUSR1);
	sigaddset(&mask, SIGUSR2);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	m.sig_fd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);

	/* main() just started it; under a gateway, ctl_hello() starts it */
	rebootlimit_init(&m.reboots, (int64_t)clock_ms());
	tty_raw(&m);
	if (opt->stdio) {
		m.out_flags = fcntl(STDOUT_FILENO, F_GETFL);
		if (m.out_flags >= 0)
			fcntl(STDOUT_FILENO, F_SETFL, m.out_flags | O_NONBLOCK);
		if (m.tty)
			note(&m, "console on this terminal; Ctrl-] . quits, "
				 "Ctrl-] ? for help");
	}

	while (m.exit_status < 0) {
		struct pollfd p[6 + VNC_MAX_POLLFDS];
		int np = 0, i_in = -1, i_ctl = -1, i_vnc;

		p[np++] = (struct pollfd){vm->event_fd, POLLIN, 0};
		p[np++] = (struct pollfd){m.sig_fd, POLLIN, 0};
		/* The wake fd is left out (a never-ready -1 keeps the indices
		 * fixed) while hot, where a timeout does the waking, and while
		 * the reader cannot take more, or it would spin. */
		int can_take = opt->stdio	  ? m.out_len == 0
			       : opt->ctl_fd >= 0 ? m.out_credit.avail > 0
						  : 1;
		p[np++] = (struct pollfd){
		    !m.hot && can_take ? vm->console.wake_fd : -1, POLLIN, 0};
		p[np++] = (struct pollfd){vm->rx_space_fd, POLLIN, 0};
		if (opt->stdio && m.out_len > 0) {
			p[np++] = (struct pollfd){STDOUT_FILENO, POLLOUT, 0};
		} else if (m.in_open && m.in_len == 0) {
			i_in = np;
			p[np++] = (struct pollfd){STDIN_FILENO, POLLIN, 0};
		}
		if (opt->ctl_fd >= 0) {
			i_ctl = np;
			p[np++] = (struct pollfd){opt->ctl_fd, POLLIN, 0};
		}
		int timeout = m.hot ? COALESCE_MS : -1;
		i_vnc = np;
		if (opt->vnc != NULL) {
			np += (int)vnc_poll(opt->vnc, p + np);
			int t = vnc_timeout(opt->vnc);
			if (t >= 0 && (timeout < 0 || t < timeout))
				timeout = t;
		}
		if (m.start_at > 0) {
			int64_t left = m.start_at - (int64_t)clock_ms();
			if (left < 0)
				left = 0;
			if (timeout < 0 || left < timeout)
				timeout = (int)left;
		}
		if (poll(p, (nfds_t)np, timeout) < 0) {
			if (errno == EINTR)
				continue;
			note(&m, "poll: %s", strerror(errno));
			m.exit_status = VMSTATE_EXIT_ERROR;
			break;
		}
		if (p[0].revents)
			handle_event(&m);
		if (m.start_at > 0 && m.exit_status < 0 &&
		    (int64_t)clock_ms() >= m.start_at)
			restart_guest(&m);
		if (p[1].revents)
			handle_signal(&m);
		if (p[3].revents) {
			uint64_t drain;
			(void)!read(vm->rx_space_fd, &drain, sizeof(drain));
			feed_input(&m);
			if (opt->ctl_fd >= 0)
				ctl_grant_input(&m);
		}
		if (i_ctl >= 0 && p[i_ctl].revents)
			ctl_read(&m);
		if (i_in >= 0 && p[i_in].revents)
			read_input(&m);
		if (opt->vnc != NULL)
			vnc_service(opt->vnc, p + i_vnc, (size_t)(np - i_vnc));
		size_t moved;
		if (opt->stdio) {
			moved = take_output(&m);
			if (flush_out(&m, 0) != 0)
				m.in_open = 0, m.out_len = m.out_off = 0;
		} else if (opt->ctl_fd >= 0) {
			moved = ctl_flush_output(&m);
		} else {
			/* No reader at all: keep the ring drained. */
			moved = take_output(&m);
			m.out_len = m.out_off = 0;
		}
		m.hot = moved > 0;
		if (m.hot) /* console output usually comes with drawing */
			vnc_kick(opt->vnc);
	}

	/* Whatever the guest printed before it ended is still shown. */
	vm_stop(vm);
	if (opt->stdio) {
		while (flush_out(&m, 1) == 0) {
			take_output(&m);
			if (m.out_len == 0)
				break;
		}
	}
	tty_restore(&m);
	if (m.sig_fd >= 0)
		close(m.sig_fd);
	return m.exit_status;
}
