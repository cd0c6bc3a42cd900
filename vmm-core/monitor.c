#include "monitor.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <termios.h>
#include <unistd.h>

#define ESCAPE_CHAR 0x1d /* Ctrl-] */
#define OUTBUF 65536

struct mon {
	struct vm *vm;
	const struct monitor_options *opt;
	int sig_fd;
	int in_open;		/* stdin still readable */
	int tty;		/* stdin is a terminal in raw mode */
	struct termios saved_tio;
	int out_flags;		/* stdout's flags before O_NONBLOCK */
	int escape_pending;
	uint8_t in[256];	/* input read but not yet taken by the UART */
	size_t in_len, in_off;
	uint8_t out[OUTBUF + 128];
	size_t out_len, out_off;
	int exit_status;	/* -1 while running */
};

static void
note(struct mon *m, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Status lines go to stderr; in raw mode they need their own CR. */
static void
note(struct mon *m, const char *fmt, ...)
{
	va_list ap;
	char line[512];

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	fprintf(stderr, "%svmgate-vmm: %s%s", m->tty ? "\r\n" : "", line,
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
			struct pollfd p = { STDOUT_FILENO, POLLOUT, 0 };
			poll(&p, 1, 1000);
			continue;
		}
		return -1;
	}
	m->out_off = m->out_len = 0;
	return 0;
}

/* Moves guest output from the console ring to our buffer. */
static void
take_output(struct mon *m)
{
	uint64_t lost;
	int was_full;

	if (m->out_len > 0)
		return; /* stdout is behind: let the console fill and push back */
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
}

static void
escape_help(struct mon *m)
{
	note(m, "escape keys: Ctrl-] .  quit   Ctrl-] b  send break   "
		"Ctrl-] Ctrl-]  send Ctrl-]   Ctrl-] ?  this help");
}

/*
 * Filters the escape sequence out of terminal input in place; returns the
 * bytes meant for the guest.
 */
static size_t
filter_escape(struct mon *m, uint8_t *buf, size_t n)
{
	size_t o = 0;

	if (!m->tty)
		return n;
	for (size_t i = 0; i < n; i++) {
		uint8_t c = buf[i];
		if (!m->escape_pending) {
			if (c == ESCAPE_CHAR)
				m->escape_pending = 1;
			else
				buf[o++] = c;
			continue;
		}
		m->escape_pending = 0;
		switch (c) {
		case '.':
			note(m, "stopped from the terminal");
			m->exit_status = MONITOR_EXIT_STOPPED;
			return o;
		case 'b':
			uart8250_send_break(&m->vm->uart);
			break;
		case ESCAPE_CHAR:
			buf[o++] = c;
			break;
		default:
			escape_help(m);
			break;
		}
	}
	return o;
}

static void
feed_input(struct mon *m)
{
	while (m->in_off < m->in_len) {
		size_t k = uart8250_receive(&m->vm->uart, m->in + m->in_off,
					    m->in_len - m->in_off);
		if (k == 0)
			return; /* guest is slow: wait for rx_space */
		m->in_off += k;
	}
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

static int
exit_status_for(const struct vm_event *ev)
{
	switch (ev->reason) {
	case VM_REASON_GUEST_POWEROFF:
		return MONITOR_EXIT_POWEROFF;
	case VM_REASON_GUEST_REBOOT:
		return MONITOR_EXIT_REBOOT;
	case VM_REASON_TRIPLE_FAULT:
		return MONITOR_EXIT_TRIPLE_FAULT;
	case VM_REASON_INTERNAL_ERROR:
		return MONITOR_EXIT_INTERNAL_ERROR;
	default:
		return MONITOR_EXIT_CRASH_OTHER;
	}
}

static void
handle_event(struct mon *m)
{
	struct vm_event ev;
	char err[256];

	if (!vm_take_event(m->vm, &ev))
		return;
	vm_stop(m->vm);
	if (ev.cpu >= 0)
		note(m, "guest %s: %s (%s; cpu %d, rip 0x%llx)",
		     vm_state_name(ev.state), vm_reason_name(ev.reason),
		     ev.detail, ev.cpu, (unsigned long long)ev.rip);
	else
		note(m, "guest %s: %s (%s)", vm_state_name(ev.state),
		     vm_reason_name(ev.reason), ev.detail);
	m->vm->state = ev.state;
	if (ev.state == VM_STATE_REBOOTING && m->opt->restart_on_reboot) {
		if (vm_start(m->vm, err, sizeof(err)) != 0) {
			note(m, "restart failed: %s", err);
			m->exit_status = MONITOR_EXIT_ERROR;
		}
		return;
	}
	m->exit_status = exit_status_for(&ev);
}

static void
handle_signal(struct mon *m)
{
	struct signalfd_siginfo si;

	if (read(m->sig_fd, &si, sizeof(si)) != sizeof(si))
		return;
	note(m, "stopped by signal %u", si.ssi_signo);
	m->exit_status = MONITOR_EXIT_STOPPED;
}

int
monitor_run(struct vm *vm, const struct monitor_options *opt)
{
	struct mon m = { .vm = vm, .opt = opt, .in_open = opt->stdio,
			 .out_flags = -1, .exit_status = -1 };
	sigset_t mask;

	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&mask);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGHUP);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	m.sig_fd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);

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
		struct pollfd p[5];
		int np = 0, i_in = -1;

		p[np++] = (struct pollfd){ vm->event_fd, POLLIN, 0 };
		p[np++] = (struct pollfd){ m.sig_fd, POLLIN, 0 };
		p[np++] = (struct pollfd){ vm->console.wake_fd, POLLIN, 0 };
		p[np++] = (struct pollfd){ vm->rx_space_fd, POLLIN, 0 };
		if (opt->stdio && m.out_len > 0) {
			p[np++] = (struct pollfd){ STDOUT_FILENO, POLLOUT, 0 };
		} else if (m.in_open && m.in_len == 0) {
			i_in = np;
			p[np++] = (struct pollfd){ STDIN_FILENO, POLLIN, 0 };
		}
		if (poll(p, (nfds_t)np, -1) < 0) {
			if (errno == EINTR)
				continue;
			note(&m, "poll: %s", strerror(errno));
			m.exit_status = MONITOR_EXIT_ERROR;
			break;
		}
		if (p[0].revents)
			handle_event(&m);
		if (p[1].revents)
			handle_signal(&m);
		if (p[3].revents) {
			uint64_t drain;
			(void)!read(vm->rx_space_fd, &drain, sizeof(drain));
			feed_input(&m);
		}
		if (i_in >= 0 && p[i_in].revents)
			read_input(&m);
		if (opt->stdio) {
			take_output(&m);
			if (flush_out(&m, 0) != 0)
				m.in_open = 0, m.out_len = m.out_off = 0;
		} else {
			/* No reader at all: keep the ring drained. */
			take_output(&m);
			m.out_len = m.out_off = 0;
		}
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
