/*
 * What every part of vmgated shares: the loop, the configuration, the
 * current policy, and the services. One instance, owned by main().
 *
 * policy is replaced on SIGHUP (gwctx.policy = new; the old one is unref'd);
 * whoever needs a policy across loop passes takes its own reference.
 */
#ifndef VMGATE_GWCTX_H
#define VMGATE_GWCTX_H

struct event_base;
struct config;
struct policy;
struct supervisor;
struct audit;
struct worker;
struct sshd;
struct vncd;
struct tickets;

#include <stddef.h>

struct gwctx {
	struct event_base *base;
	struct config *cfg;
	struct policy *policy;
	struct supervisor *sup;
	struct audit *audit;
	struct worker *worker;
	struct sshd *sshd;
	struct vncd *vncd;	 /* NULL: no listen: vnc: */
	struct tickets *tickets; /* NULL: vnc: tickets: false */
	char *rec_dir;		 /* state_dir/recordings */
	/* Re-reads the policy file as SIGHUP does. Returns 0, or -1 (the old
	 * policy stays) with the first error in err. */
	int (*reload)(struct gwctx *gw, char *err, size_t errlen);
};

#endif
