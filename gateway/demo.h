/*
 * The built-in default: `vmgated --demo DIR` runs two demo-guest VMs under a
 * demo policy, with everything kept in DIR:
 *
 *	DIR/vmgate.yaml		demo1 and demo2, ssh on 127.0.0.1:2222
 *	DIR/policy.yaml		user "demo": demo1 read/write, power and
 *				its display; demo2 read-only, its
 *				display view-only
 *	DIR/demo_key{,.pub}	the demo user's ed25519 key pair
 *	DIR/state/		host keys, audit.log, recordings/
 *	DIR/known_hosts		the gateway's host keys, for ssh
 *
 * Files that exist are kept as they are, so an admin may edit the demo's
 * config and policy and start it again (or send SIGHUP for the policy).
 *
 * Whoever can write to DIR decides the demo's policy, so DIR and DIR/state
 * (and state/recordings) must be folders, not symbolic links, owned by the
 * gateway's uid or root (or the uid in VMGATE_DEMO_OWNER: tools/kvmbox's
 * shares show the host's owner) and not writable by group or others; the
 * files kept (vmgate.yaml, policy.yaml, demo_key.pub) must be regular files
 * under the same rule. Every file the demo writes is created with
 * O_EXCL|O_NOFOLLOW; one that replaces another (a private key without its
 * .pub, known_hosts) is written aside and renamed over it.
 */
#ifndef VMGATE_DEMO_H
#define VMGATE_DEMO_H

#include <stddef.h>
#include <stdio.h>

/*
 * Creates DIR (0700) and whichever of the files above is missing (not
 * known_hosts, which needs the host keys), after checking DIR as above. On
 * success returns 0 and sets *config_path (malloc'd) to DIR/vmgate.yaml; on
 * failure (or a folder or file that breaks the rule) returns -1 with a
 * message in err naming the path, what is wrong and how to fix it.
 */
int demo_prepare(const char *dir, char **config_path, char *err, size_t errlen);

/*
 * The gateway is listening on host:port with its host keys in state_dir:
 * checks DIR again, writes DIR/known_hosts (a new file renamed over the old)
 * and prints to out the ssh commands that reach the demo VMs. Returns 0, or
 * -1 with a message in err.
 */
int demo_announce(const char *dir, const char *state_dir, const char *host,
		  unsigned port, FILE *out, char *err, size_t errlen);

#endif
