/*
 * The direct VNC listener (issue 11, path 2; DESIGN.md §5): viewers that
 * speak VeNCrypt reach a VM's display without SSH.
 *
 * The gateway is the RFB server a viewer meets: RFB 3.8 (or 3.7), security
 * type VeNCrypt, sub-type X509Plain: TLS 1.2 or 1.3 with the gateway's
 * server certificate (state_dir/certs, made at first start, re-read on
 * SIGHUP), then a username and password inside TLS. The username is
 * USER:VM (a policy user and the VM to view); the password is checked
 * against the user's crypt(3) hash on the worker pool, failures are slowed
 * as SSH's are (penalty.h, a counter of this listener's own) and audited.
 * With display:view on the VM, the gateway hands the VM's monitor one end
 * of a socketpair (view-only unless display:control), completes the RFB
 * handshake with the monitor's VNC server (security type None: the
 * monitor trusts the gateway's socketpair), and relays the bytes from the
 * viewer's ClientInit on, both ways, in TLS on the viewer's side.
 *
 * TLSPlain (anonymous TLS) is not offered: it needs aNULL cipher suites,
 * which TLS 1.3 does not have and which let anyone in the path read the
 * password. Classic VNC authentication is offered for one-time tickets
 * only (ticket.h), on loopback listeners.
 *
 * Bounded: at most VNCD_MAX_CONNS connections; before login the SSH
 * listener's max_startups, per_source_max_startups and login_grace_time
 * apply; a handshake holds one rfbfront (fixed size); a relay holds at
 * most VNCD_RELAY_HIGH bytes toward the monitor before it stops reading the
 * viewer. Toward the viewer it always reads the monitor (which would
 * otherwise wait, its console too) and cuts off a viewer for which more
 * than supervisor_display_backlog (at least VNCD_RELAY_HIGH) waits: one
 * that asks for one update at a time never gets there. When the monitor
 * ends the stream, what waits is sent first.
 */
#ifndef VMGATE_VNCD_H
#define VMGATE_VNCD_H

#include <stddef.h>

#define VNCD_MAX_CONNS 1024
#define VNCD_RELAY_HIGH (1u << 20)
#define VNCD_PATH "vencrypt" /* in the audit and `who` */

struct gwctx;
struct vncd;

/* Listens on the config's listen: vnc: address (which must be set), making
 * the certificates first if there are none. NULL with err on failure. */
struct vncd *vncd_new(struct gwctx *gw, char *err, size_t errlen);
/* Closes every connection; accepts NULL. */
void vncd_free(struct vncd *d);
unsigned vncd_port(const struct vncd *d);
/* The policy changed: cut viewers whose rights went away. */
void vncd_recheck(struct vncd *d);
/* Re-reads the server certificate and key for new connections; the old
 * ones stay in use on failure (0, or -1 with err). */
int vncd_reload_certs(struct vncd *d, char *err, size_t errlen);

#endif
