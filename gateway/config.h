/*
 * vmgate.yaml: where the gateway listens, where it keeps its state, which
 * policy file it applies and which VMs it runs.
 *
 *	listen:
 *	  ssh: "127.0.0.1:2222"		host:port or [v6]:port
 *	  vnc: "127.0.0.1:5900"		optional: VNC with TLS (VeNCrypt
 *					X509Plain), VM chosen by the login
 *					name USER:VM; no listener without it
 *	state_dir: /var/lib/vmgate	relative: to the config file's folder
 *	policy: policy.yaml		relative: to the config file's folder
 *	vms:
 *	  web1:				name: [A-Za-z0-9][A-Za-z0-9._-]{0,63}
 *	    kernel: demo		"demo" (built-in guest) or a path
 *	    initrd: /path		optional
 *	    cmdline: "console=ttyS0"	optional
 *	    memory: 64M			K/M/G suffix, 16M..64G, 4K multiple
 *	    cpus: 1			1..64
 *	    autostart: true
 *	    on_crash: restart		restart | stop
 *	    scrollback: 64K		4K..16M
 *	    display: 1024x768		WIDTHxHEIGHT (64x64..4096x2160) or none
 *	    recordings: {...}		this VM's own, see below
 *	recordings:			every VM's, unless it sets its own
 *	  quota: 256M			16K..1024G, the VM's recordings
 *	  max_file: 64M			4K..64G, one recording (<= quota)
 *	  replay: 4K			0..1M of scrollback a recording
 *					starts with
 *	  max_files: 1000		1..100000 files of the VM
 *	ssh:				limits before login (sshd.c)
 *	  max_startups: 64:30:256	start:rate:full, or one number
 *					(= start = full), 1..4096
 *	  per_source_max_startups: 16	1..4096, per IPv4 address and
 *					per IPv6 /64
 *	  kex_timeout: 10		1..600 s from connect to key
 *					exchange done
 *	  login_grace_time: 60		1..3600 s from connect to login,
 *					>= kex_timeout
 *	vnc:				the VNC listener (vncd.h)
 *	  tickets: false		one-time tickets for classic VNC
 *					authentication (ticket.h), offered
 *					only on a loopback listen: vnc:
 *	  ticket_lifetime: 60		1..3600 s
 *	limits:				what a logged-in user may open (sshd.c)
 *	  max_connections_per_user: 64	1..4096 connections at once
 *	  max_sessions_per_connection: 10  1..1024 channels on one
 *					connection (OpenSSH's MaxSessions)
 *	  max_sessions_per_user: 64	1..65536 channels over all of the
 *					user's connections
 *
 * A VM's recordings: mapping may set some of the keys; the others come from
 * the top-level one, then from the defaults.
 * Every key is optional and has the default given by the CONFIG_DEFAULT_*
 * macros below; an unknown key, a wrong type, a duplicate key or a value out
 * of range is an error reported at its FILE:LINE:COLUMN. Everything is read
 * as untrusted input: at most CONFIG_MAX_FILE bytes and CONFIG_MAX_VMS VMs.
 */
#ifndef VMGATE_CONFIG_H
#define VMGATE_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "diag.h"

#define CONFIG_MAX_FILE (1024 * 1024)
#define CONFIG_MAX_VMS 10000
#define CONFIG_MAX_NAME 64
#define CONFIG_MAX_PATH 4095
#define CONFIG_MAX_CMDLINE 2047

#define CONFIG_DEFAULT_SSH_HOST "127.0.0.1"
#define CONFIG_DEFAULT_SSH_PORT 2222
#define CONFIG_DEFAULT_STATE_DIR "state"
#define CONFIG_DEFAULT_POLICY "policy.yaml"
#define CONFIG_DEFAULT_KERNEL "demo"
#define CONFIG_DEFAULT_MEMORY (64ULL << 20)
#define CONFIG_DEFAULT_CPUS 1
#define CONFIG_DEFAULT_AUTOSTART true
#define CONFIG_DEFAULT_SCROLLBACK (64 << 10)

#define CONFIG_DEFAULT_REC_QUOTA (256ULL << 20)
#define CONFIG_DEFAULT_REC_MAX_FILE (64ULL << 20)
#define CONFIG_DEFAULT_REC_REPLAY (4ULL << 10)
#define CONFIG_DEFAULT_REC_MAX_FILES 1000

#define CONFIG_DEFAULT_STARTUPS_BEGIN 64
#define CONFIG_DEFAULT_STARTUPS_RATE 30
#define CONFIG_DEFAULT_STARTUPS_FULL 256
#define CONFIG_DEFAULT_PER_SOURCE 16
#define CONFIG_DEFAULT_KEX_TIMEOUT 10
#define CONFIG_DEFAULT_LOGIN_GRACE 60
#define CONFIG_DEFAULT_CONNS_PER_USER 64
#define CONFIG_DEFAULT_SESSIONS_PER_CONN 10
#define CONFIG_DEFAULT_SESSIONS_PER_USER 64

#define CONFIG_MIN_MEMORY (16ULL << 20)
#define CONFIG_MAX_MEMORY (64ULL << 30)
#define CONFIG_MAX_CPUS 64
/* The monitor's framebuffer (vmm-core/display.h says the same). */
#define CONFIG_DEFAULT_DISPLAY_W 1024
#define CONFIG_DEFAULT_DISPLAY_H 768
#define CONFIG_MIN_DISPLAY 64
#define CONFIG_MAX_DISPLAY_W 4096
#define CONFIG_MAX_DISPLAY_H 2160
#define CONFIG_MIN_SCROLLBACK (4 << 10)
#define CONFIG_MAX_SCROLLBACK (16 << 20)
/* A console viewer's output queue: at least twice the scrollback (its
 * replay must fit, with room), at most this. */
#define CONFIG_MIN_VIEWER_QUEUE (8 << 10)
#define CONFIG_MAX_VIEWER_QUEUE (64 << 20)
#define CONFIG_MIN_REC_QUOTA (16ULL << 10)
#define CONFIG_MAX_REC_QUOTA (1024ULL << 30)
#define CONFIG_MIN_REC_MAX_FILE (4ULL << 10)
#define CONFIG_MAX_REC_MAX_FILE (64ULL << 30)
#define CONFIG_MAX_REC_REPLAY (1ULL << 20)
#define CONFIG_MAX_REC_MAX_FILES 100000
#define CONFIG_MAX_CONNS 4096 /* all of the gateway's connections (sshd.c) */
#define CONFIG_MAX_KEX_TIMEOUT 600
#define CONFIG_MAX_LOGIN_GRACE 3600
#define CONFIG_MAX_CONNS_PER_USER CONFIG_MAX_CONNS
#define CONFIG_MAX_SESSIONS_PER_CONN 1024
#define CONFIG_MAX_SESSIONS_PER_USER 65536

/* config_load flags */
#define CONFIG_PARTIAL 0x1 /* on errors, still return what was read */

enum config_on_crash {
	CONFIG_ON_CRASH_RESTART,
	CONFIG_ON_CRASH_STOP,
};

/* How much of a VM's console the recordings folder may hold (record.h). */
struct config_recordings {
	uint64_t quota;	    /* bytes, all of the VM's recordings */
	uint64_t max_file;  /* bytes, one recording; <= quota */
	uint64_t replay;    /* scrollback bytes a recording starts with */
	unsigned max_files; /* files of the VM */
	unsigned set;	    /* CONFIG_REC_* given in this mapping */
	unsigned line, col; /* of the recordings: key, 0 if none */
};
#define CONFIG_REC_QUOTA 0x1
#define CONFIG_REC_MAX_FILE 0x2
#define CONFIG_REC_REPLAY 0x4
#define CONFIG_REC_MAX_FILES 0x8

/*
 * Connections that have not logged in yet (sshd.c), as OpenSSH's MaxStartups,
 * PerSourceMaxStartups and LoginGraceTime: past startups_begin of them a new
 * connection is refused with probability startups_rate % rising linearly to
 * 100 % at startups_full; a source (an IPv4 address, an IPv6 /64) may have
 * per_source of them; one is closed kex_timeout seconds after it connected if
 * its key exchange is not done, login_grace seconds after if it has not
 * logged in.
 */
#define CONFIG_DEFAULT_TICKET_LIFETIME 60
#define CONFIG_MAX_TICKET_LIFETIME 3600

struct config_vnc {
	bool tickets;
	unsigned ticket_lifetime; /* seconds */
};

struct config_ssh {
	unsigned startups_begin, startups_rate, startups_full;
	unsigned per_source;
	unsigned kex_timeout; /* seconds */
	unsigned login_grace; /* seconds, >= kex_timeout */
	unsigned line, col;   /* of the ssh: key, 0 if none */
};

/*
 * What one user may hold open after login. Each session (channel) can make
 * the gateway hold a bounded amount of unread client input (session.h), so
 * these also bound the memory one user can tie up.
 */
struct config_limits {
	unsigned conns_per_user;
	unsigned sessions_per_conn;
	unsigned sessions_per_user;
};

struct config_vm {
	char *name;
	bool demo_kernel; /* kernel is the built-in demo guest */
	char *kernel;	  /* "demo" or a path joined to the config folder */
	char *initrd;	  /* NULL: none */
	char *cmdline;	  /* NULL: the monitor's default */
	uint64_t memory;  /* bytes */
	unsigned cpus;
	bool autostart;
	enum config_on_crash on_crash;
	size_t scrollback;   /* bytes */
	size_t viewer_queue; /* bytes; 0: the hub's default (hub_new) */
	unsigned display_w, display_h;	     /* 0: no display */
	struct config_recordings recordings; /* resolved: every key set */
	unsigned line, col; /* where the VM is named, for cross-checks */
};

/* Owns every string and the vms array; free with config_free. */
struct config {
	char *file;	/* path as given to config_load */
	char *ssh_host; /* without brackets: "127.0.0.1", "::1", "localhost" */
	uint16_t ssh_port;
	char *vnc_host; /* NULL: no VNC listener */
	uint16_t vnc_port;
	char *state_dir; /* joined to the config folder if relative */
	char *policy;	 /* joined to the config folder if relative */
	struct config_recordings recordings; /* top level, defaults filled */
	struct config_ssh ssh;		     /* defaults filled */
	struct config_vnc vnc;		     /* defaults filled */
	struct config_limits limits;	     /* defaults filled */
	struct config_vm *vms;		     /* in file order */
	size_t nvms;
};

/*
 * Reads and checks the file at 'path'. Returns 0 with *cfgp set when there
 * is no error (warnings may be in d). Returns -1 with every error in d and
 * *cfgp NULL, or with CONFIG_PARTIAL, *cfgp holding what could be read
 * (erroneous values left at their defaults; only good for reporting, as
 * vmgatectl check does) unless the file could not be read or parsed at all. A
 * relative path in the file is joined to the directory part of 'path', as text:
 * pass an absolute 'path' if the result must survive a chdir.
 */
int config_load(const char *path, unsigned flags, struct config **cfgp,
		struct diag *d);

/*
 * Same on a buffer of len bytes (need not be NUL-terminated); 'name' is the
 * file name used in messages and for joining relative paths.
 */
int config_load_mem(const char *name, const void *buf, size_t len,
		    unsigned flags, struct config **cfgp, struct diag *d);

/* Accepts NULL. */
void config_free(struct config *cfg);

/* The VM of that name, or NULL. */
const struct config_vm *config_find_vm(const struct config *cfg,
				       const char *name);

/*
 * Checks a user, group or VM name: 1..64 characters of [A-Za-z0-9._-],
 * starting with a letter or digit. Returns NULL if fine, else why not.
 */
const char *config_name_problem(const char *name, size_t len);

#endif
