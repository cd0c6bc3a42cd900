#include "config.h"

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include "xmalloc.h"
#include "yamltree.h"

/* VM names that would read as a gateway command in "ssh host NAME". */
static const char *const config_reserved_names[] = {
    "list", "status", "power", "who", "vnc-ticket", "help",
};

struct config_ctx {
	struct yamltree *t;
	struct config *cfg;
	char *basedir; /* directory part of the file name, NULL if none */
	bool vms_capped;
};

const char *
config_name_problem(const char *name, size_t len)
{
	if (len == 0)
		return "is empty";
	if (len > CONFIG_MAX_NAME)
		return "is longer than 64 characters";
	for (size_t i = 0; i < len; i++) {
		char c = name[i];
		bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			     (c >= '0' && c <= '9');
		if (i == 0 && !alnum)
			return "must start with a letter or a digit";
		if (!alnum && c != '.' && c != '_' && c != '-')
			return "may only hold letters, digits, '.', '_' and "
			       "'-'";
	}
	return NULL;
}

static char *
config_join(const struct config_ctx *c, const char *path)
{
	if (path[0] == '/' || c->basedir == NULL)
		return xstrdup(path);
	if (strcmp(c->basedir, "/") == 0)
		return xasprintf("/%s", path);
	return xasprintf("%s/%s", c->basedir, path);
}

static bool
config_path(struct config_ctx *c, const struct yamltree_node *n,
	    const char *what, char **out)
{
	if (!yamltree_want_string(c->t, n, what, CONFIG_MAX_PATH))
		return false;
	free(*out);
	*out = config_join(c, n->str);
	return true;
}

/* "64M" -> 67108864; K, M, G are powers of 1024, no suffix is bytes. */
static bool
config_size(struct config_ctx *c, const struct yamltree_node *n,
	    const char *what, uint64_t min, uint64_t max, uint64_t align,
	    const char *range, const char *example, uint64_t *out)
{
	uint64_t v = 0, mult = 1;
	size_t len = n->len;
	bool ok = n->type == YAMLTREE_SCALAR && !yamltree_is_null(n) && len > 0;

	if (n->type == YAMLTREE_INVALID)
		return false;
	if (ok) {
		switch (n->str[len - 1]) {
		case 'K':
			mult = 1ULL << 10;
			len--;
			break;
		case 'M':
			mult = 1ULL << 20;
			len--;
			break;
		case 'G':
			mult = 1ULL << 30;
			len--;
			break;
		}
		ok = len > 0 && len <= 12 && (n->str[0] != '0' || len == 1);
	}
	for (size_t i = 0; ok && i < len; i++) {
		if (n->str[i] < '0' || n->str[i] > '9')
			ok = false;
		else
			v = v * 10 + (uint64_t)(n->str[i] - '0');
	}
	/* 12 digits times 2^30 can wrap around 64 bits: compare first */
	if (ok && v > max / mult)
		ok = false;
	v *= mult;
	if (!ok || v < min || v > max) {
		yamltree_error(c->t, n, "%s must be a size from %s, like %s",
			       what, range, example);
		return false;
	}
	if (v % align != 0) {
		yamltree_error(c->t, n, "%s must be a multiple of 4K", what);
		return false;
	}
	*out = v;
	return true;
}

static bool
config_hostname_ok(const char *h, size_t len)
{
	size_t label = 0;

	if (len == 0 || len > 253)
		return false;
	for (size_t i = 0; i < len; i++) {
		char ch = h[i];
		if (ch == '.') {
			if (label == 0 || h[i - 1] == '-')
				return false;
			label = 0;
			continue;
		}
		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		      (ch >= '0' && ch <= '9') || ch == '-'))
			return false;
		if (ch == '-' && label == 0)
			return false;
		if (++label > 63)
			return false;
	}
	return label > 0 && h[len - 1] != '-';
}

/*
 * "host:port" or "[v6]:port". On failure returns a message and sets *erroff
 * to the offending byte.
 */
static const char *
config_parse_hostport(const char *s, size_t len, char **hostp, uint16_t *portp,
		      size_t *erroff)
{
	const char *colon, *port;
	char *host = NULL;
	const char *problem = NULL;
	unsigned long v = 0;
	size_t plen;
	unsigned char addr[16];

	*erroff = 0;
	if (s[0] == '[') {
		const char *close = memchr(s, ']', len);
		if (close == NULL) {
			problem = "'[' without a matching ']'";
			goto out;
		}
		host = xstrndup(s + 1, (size_t)(close - s - 1));
		if (inet_pton(AF_INET6, host, addr) != 1) {
			*erroff = 1;
			problem = "not an IPv6 address inside [...]";
			goto out;
		}
		colon = close + 1;
		if (colon == s + len || *colon != ':') {
			*erroff = (size_t)(colon - s);
			problem = "expected ':' and a port after ']'";
			goto out;
		}
	} else {
		colon = memrchr(s, ':', len);
		if (colon == NULL) {
			*erroff = len;
			problem = "expected host:port";
			goto out;
		}
		if (memchr(s, ':', (size_t)(colon - s)) != NULL) {
			problem = "an IPv6 address must be written in "
				  "brackets, like [::1]:2222";
			goto out;
		}
		host = xstrndup(s, (size_t)(colon - s));
		if (host[0] == '\0') {
			problem = "missing host before ':'";
			goto out;
		}
		if (strspn(host, "0123456789.") == strlen(host)) {
			if (inet_pton(AF_INET, host, addr) != 1) {
				problem = "not an IPv4 address";
				goto out;
			}
		} else if (!config_hostname_ok(host, strlen(host))) {
			problem = "not a valid host name or address";
			goto out;
		}
	}
	port = colon + 1;
	plen = len - (size_t)(port - s);
	for (size_t i = 0; i < plen; i++) {
		if (port[i] < '0' || port[i] > '9' || i >= 5) {
			v = 0;
			break;
		}
		v = v * 10 + (unsigned long)(port[i] - '0');
	}
	if (plen == 0 || v == 0 || v > 65535 || port[0] == '0') {
		*erroff = (size_t)(port - s);
		problem = "the port must be a number from 1 to 65535";
		goto out;
	}
	*hostp = host;
	host = NULL; /* transferred */
	*portp = (uint16_t)v;
out:
	free(host);
	return problem;
}

static void
listen_addr(struct config_ctx *c, struct yamltree_node *n, const char *name,
	    char **hostp, uint16_t *portp)
{
	const char *problem;
	char *host = NULL;
	uint16_t port;
	size_t off;
	unsigned line, col;

	if (!yamltree_want_string(c->t, n, name, 300))
		return;
	problem = config_parse_hostport(n->str, n->len, &host, &port, &off);
	if (problem != NULL) {
		yamltree_scalar_pos(n, off, &line, &col);
		yamltree_error_at(c->t, line, col, "%s: %s", name, problem);
		return;
	}
	free(*hostp);
	*hostp = host;
	*portp = port;
}

static void
listen_ssh(void *ctx, void *obj, struct yamltree_node *key,
	   struct yamltree_node *n)
{
	struct config *cfg = obj;

	(void)key;
	listen_addr(ctx, n, "ssh", &cfg->ssh_host, &cfg->ssh_port);
}

static void
listen_vnc(void *ctx, void *obj, struct yamltree_node *key,
	   struct yamltree_node *n)
{
	struct config *cfg = obj;

	(void)key;
	listen_addr(ctx, n, "vnc", &cfg->vnc_host, &cfg->vnc_port);
}

static const struct yamltree_field listen_fields[] = {
    {"ssh", listen_ssh, NULL},
    {"vnc", listen_vnc, NULL},
};

static void
top_listen(void *ctx, void *obj, struct yamltree_node *key,
	   struct yamltree_node *n)
{
	struct config_ctx *c = ctx;

	(void)key;
	if (!yamltree_want(c->t, n, YAMLTREE_MAPPING, "listen", "a mapping"))
		return;
	yamltree_fields(c->t, n, listen_fields,
			sizeof(listen_fields) / sizeof(listen_fields[0]), ctx,
			obj);
}

static void
top_state_dir(void *ctx, void *obj, struct yamltree_node *key,
	      struct yamltree_node *n)
{
	struct config *cfg = obj;

	(void)key;
	config_path(ctx, n, "state_dir", &cfg->state_dir);
}

static void
top_policy(void *ctx, void *obj, struct yamltree_node *key,
	   struct yamltree_node *n)
{
	struct config *cfg = obj;

	(void)key;
	config_path(ctx, n, "policy", &cfg->policy);
}

static void
vm_kernel(void *ctx, void *obj, struct yamltree_node *key,
	  struct yamltree_node *n)
{
	struct config_vm *vm = obj;

	(void)key;
	if (n->type == YAMLTREE_SCALAR && strcmp(n->str, "demo") == 0 &&
	    n->len == 4) {
		vm->demo_kernel = true;
		free(vm->kernel);
		vm->kernel = xstrdup("demo");
		return;
	}
	if (config_path(ctx, n, "kernel", &vm->kernel))
		vm->demo_kernel = false;
}

static void
vm_initrd(void *ctx, void *obj, struct yamltree_node *key,
	  struct yamltree_node *n)
{
	struct config_vm *vm = obj;

	(void)key;
	config_path(ctx, n, "initrd", &vm->initrd);
}

static void
vm_cmdline(void *ctx, void *obj, struct yamltree_node *key,
	   struct yamltree_node *n)
{
	struct config_ctx *c = ctx;
	struct config_vm *vm = obj;

	(void)key;
	if (!yamltree_want_string(c->t, n, "cmdline", CONFIG_MAX_CMDLINE))
		return;
	free(vm->cmdline);
	vm->cmdline = xstrdup(n->str);
}

static void
vm_memory(void *ctx, void *obj, struct yamltree_node *key,
	  struct yamltree_node *n)
{
	struct config_vm *vm = obj;

	(void)key;
	config_size(ctx, n, "memory", CONFIG_MIN_MEMORY, CONFIG_MAX_MEMORY,
		    4096, "16M to 64G", "64M", &vm->memory);
}

static void
vm_autostart(void *ctx, void *obj, struct yamltree_node *key,
	     struct yamltree_node *n)
{
	struct config_ctx *c = ctx;
	struct config_vm *vm = obj;

	(void)key;
	yamltree_want_bool(c->t, n, "autostart", &vm->autostart);
}

static void
vm_on_crash(void *ctx, void *obj, struct yamltree_node *key,
	    struct yamltree_node *n)
{
	struct config_ctx *c = ctx;
	struct config_vm *vm = obj;

	(void)key;
	if (n->type == YAMLTREE_INVALID)
		return;
	if (n->type == YAMLTREE_SCALAR && strcmp(n->str, "restart") == 0 &&
	    n->len == 7)
		vm->on_crash = CONFIG_ON_CRASH_RESTART;
	else if (n->type == YAMLTREE_SCALAR && strcmp(n->str, "stop") == 0 &&
		 n->len == 4)
		vm->on_crash = CONFIG_ON_CRASH_STOP;
	else
		yamltree_error(c->t, n, "on_crash must be restart or stop");
}

/* A byte count of a VM into *out, if it is one within [min, max]. */
static void
vm_size(void *ctx, struct yamltree_node *n, const char *what, uint64_t min,
	uint64_t max, const char *range, const char *example, size_t *out)
{
	uint64_t v;

	if (config_size(ctx, n, what, min, max, 1, range, example, &v))
		*out = (size_t)v;
}

static void
vm_scrollback(void *ctx, void *obj, struct yamltree_node *key,
	      struct yamltree_node *n)
{
	(void)key;
	vm_size(ctx, n, "scrollback", CONFIG_MIN_SCROLLBACK,
		CONFIG_MAX_SCROLLBACK, "4K to 16M", "64K",
		&((struct config_vm *)obj)->scrollback);
}

static void
vm_viewer_queue(void *ctx, void *obj, struct yamltree_node *key,
		struct yamltree_node *n)
{
	(void)key;
	vm_size(ctx, n, "viewer_queue", CONFIG_MIN_VIEWER_QUEUE,
		CONFIG_MAX_VIEWER_QUEUE, "8K to 64M", "256K",
		&((struct config_vm *)obj)->viewer_queue);
}

/* One decimal dimension of display: at s[0..len), no sign, no leading 0. */
static long
config_dimension(const char *s, size_t len)
{
	long v = 0;

	if (len == 0 || len > 4 || s[0] == '0')
		return -1;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v;
}

static void
vm_display(void *ctx, void *obj, struct yamltree_node *key,
	   struct yamltree_node *n)
{
	struct config_ctx *c = ctx;
	struct config_vm *vm = obj;
	const char *x;
	long w, h;

	(void)key;
	if (n->type == YAMLTREE_INVALID)
		return;
	if (n->type == YAMLTREE_SCALAR && n->len == 4 &&
	    strcmp(n->str, "none") == 0) {
		vm->display_w = vm->display_h = 0;
		return;
	}
	if (n->type != YAMLTREE_SCALAR || strlen(n->str) != n->len ||
	    (x = strchr(n->str, 'x')) == NULL ||
	    (w = config_dimension(n->str, (size_t)(x - n->str))) < 0 ||
	    (h = config_dimension(x + 1, strlen(x + 1))) < 0) {
		yamltree_error(c->t, n,
			       "display must be WIDTHxHEIGHT, like 1024x768, "
			       "or none");
		return;
	}
	if (w < CONFIG_MIN_DISPLAY || w > CONFIG_MAX_DISPLAY_W ||
	    h < CONFIG_MIN_DISPLAY || h > CONFIG_MAX_DISPLAY_H) {
		yamltree_error(c->t, n,
			       "display %ldx%ld: width must be %d to %d and "
			       "height %d to %d",
			       w, h, CONFIG_MIN_DISPLAY, CONFIG_MAX_DISPLAY_W,
			       CONFIG_MIN_DISPLAY, CONFIG_MAX_DISPLAY_H);
		return;
	}
	vm->display_w = (unsigned)w;
	vm->display_h = (unsigned)h;
}

static void
rec_quota(void *ctx, void *obj, struct yamltree_node *key,
	  struct yamltree_node *n)
{
	struct config_recordings *rec = obj;

	(void)key;
	if (config_size(ctx, n, "quota", CONFIG_MIN_REC_QUOTA,
			CONFIG_MAX_REC_QUOTA, 1, "16K to 1024G", "256M",
			&rec->quota))
		rec->set |= CONFIG_REC_QUOTA;
}

static void
rec_max_file(void *ctx, void *obj, struct yamltree_node *key,
	     struct yamltree_node *n)
{
	struct config_recordings *rec = obj;

	(void)key;
	if (config_size(ctx, n, "max_file", CONFIG_MIN_REC_MAX_FILE,
			CONFIG_MAX_REC_MAX_FILE, 1, "4K to 64G", "64M",
			&rec->max_file))
		rec->set |= CONFIG_REC_MAX_FILE;
}

static void
rec_replay(void *ctx, void *obj, struct yamltree_node *key,
	   struct yamltree_node *n)
{
	struct config_recordings *rec = obj;

	(void)key;
	if (config_size(ctx, n, "replay", 0, CONFIG_MAX_REC_REPLAY, 1,
			"0 to 1M", "4K", &rec->replay))
		rec->set |= CONFIG_REC_REPLAY;
}

static void
rec_max_files(void *ctx, void *obj, struct yamltree_node *key,
	      struct yamltree_node *n)
{
	struct config_ctx *c = ctx;
	struct config_recordings *rec = obj;
	uint64_t v;

	(void)key;
	if (yamltree_want_uint(c->t, n, "max_files", 1,
			       CONFIG_MAX_REC_MAX_FILES, &v)) {
		rec->max_files = (unsigned)v;
		rec->set |= CONFIG_REC_MAX_FILES;
	}
}

static const struct yamltree_field rec_fields[] = {
    {"quota", rec_quota, NULL},
    {"max_file", rec_max_file, NULL},
    {"replay", rec_replay, NULL},
    {"max_files", rec_max_files, NULL},
};

/* A recordings: mapping, at the top or in a VM. */
static void
config_recordings(struct config_ctx *c, struct config_recordings *rec,
		  struct yamltree_node *key, struct yamltree_node *n)
{
	rec->line = key->line;
	rec->col = key->col;
	if (!yamltree_want(c->t, n, YAMLTREE_MAPPING, "recordings",
			   "a mapping (quota:, max_file:, replay:, "
			   "max_files:)"))
		return;
	yamltree_fields(c->t, n, rec_fields,
			sizeof(rec_fields) / sizeof(rec_fields[0]), c, rec);
}

/* Fills what 'rec' does not set from 'from'; then max_file <= quota. */
static void
config_recordings_resolve(struct config_ctx *c, struct config_recordings *rec,
			  const struct config_recordings *from)
{
	if (!(rec->set & CONFIG_REC_QUOTA))
		rec->quota = from->quota;
	if (!(rec->set & CONFIG_REC_MAX_FILE))
		rec->max_file = from->max_file;
	if (!(rec->set & CONFIG_REC_REPLAY))
		rec->replay = from->replay;
	if (!(rec->set & CONFIG_REC_MAX_FILES))
		rec->max_files = from->max_files;
	if (rec->line != 0 && rec->max_file > rec->quota)
		yamltree_error_at(c->t, rec->line, rec->col,
				  "recordings: max_file (%llu bytes) must not "
				  "be larger than quota (%llu bytes)",
				  (unsigned long long)rec->max_file,
				  (unsigned long long)rec->quota);
}

static void
vm_recordings(void *ctx, void *obj, struct yamltree_node *key,
	      struct yamltree_node *n)
{
	struct config_vm *vm = obj;

	config_recordings(ctx, &vm->recordings, key, n);
}

static const struct yamltree_field vm_fields[] = {
    {"kernel", vm_kernel, NULL},
    {"initrd", vm_initrd, NULL},
    {"cmdline", vm_cmdline, NULL},
    {"memory", vm_memory, NULL},
    YAMLTREE_UINT("cpus", "cpus", 1, CONFIG_MAX_CPUS, struct config_vm, cpus),
    {"autostart", vm_autostart, NULL},
    {"on_crash", vm_on_crash, NULL},
    {"scrollback", vm_scrollback, NULL},
    {"viewer_queue", vm_viewer_queue, NULL},
    {"recordings", vm_recordings, NULL},
    {"display", vm_display, NULL},
};

static void
top_vms(void *ctx, void *obj, struct yamltree_node *key,
	struct yamltree_node *n)
{
	struct config_ctx *c = ctx;
	struct config *cfg = obj;
	char q[DIAG_QUOTE_MAX];
	size_t npairs;

	(void)key;
	if (!yamltree_want(c->t, n, YAMLTREE_MAPPING, "vms",
			   "a mapping of VM names to their settings"))
		return;
	npairs = yamltree_npairs(n);
	cfg->vms = xcalloc(npairs, sizeof(*cfg->vms));
	for (size_t i = 0; i < npairs; i++) {
		struct yamltree_node *k = yamltree_key(n, i);
		struct yamltree_node *v = yamltree_value(n, i);
		const char *problem = config_name_problem(k->str, k->len);
		struct config_vm *vm;
		bool reserved = false;

		if (cfg->nvms == CONFIG_MAX_VMS) {
			yamltree_error(c->t, k, "more than %d VMs",
				       CONFIG_MAX_VMS);
			break;
		}
		if (problem != NULL) {
			yamltree_error(c->t, k, "VM name %s %s",
				       diag_quote(q, k->str, k->len), problem);
			continue;
		}
		for (size_t r = 0; r < sizeof(config_reserved_names) /
					   sizeof(config_reserved_names[0]);
		     r++)
			if (strcmp(k->str, config_reserved_names[r]) == 0)
				reserved = true;
		if (reserved) {
			yamltree_error(c->t, k,
				       "VM name %s is reserved for the "
				       "gateway command of that name",
				       diag_quote(q, k->str, k->len));
			continue;
		}
		vm = &cfg->vms[cfg->nvms++];
		vm->name = xstrdup(k->str);
		vm->demo_kernel = true;
		vm->kernel = xstrdup(CONFIG_DEFAULT_KERNEL);
		vm->memory = CONFIG_DEFAULT_MEMORY;
		vm->cpus = CONFIG_DEFAULT_CPUS;
		vm->autostart = CONFIG_DEFAULT_AUTOSTART;
		vm->on_crash = CONFIG_ON_CRASH_RESTART;
		vm->scrollback = CONFIG_DEFAULT_SCROLLBACK;
		vm->display_w = CONFIG_DEFAULT_DISPLAY_W;
		vm->display_h = CONFIG_DEFAULT_DISPLAY_H;
		vm->line = k->line;
		vm->col = k->col;
		if (!yamltree_want(c->t, v, YAMLTREE_MAPPING, "a VM",
				   "a mapping of settings"))
			continue;
		yamltree_fields(c->t, v, vm_fields,
				sizeof(vm_fields) / sizeof(vm_fields[0]), c,
				vm);
		if (vm->viewer_queue != 0 &&
		    vm->viewer_queue / 2 < vm->scrollback)
			yamltree_error(
			    c->t, k,
			    "VM %s: viewer_queue (%zu bytes) must be "
			    "at least twice its scrollback (%zu "
			    "bytes): a viewer's queue starts with "
			    "the scrollback's replay",
			    vm->name, vm->viewer_queue, vm->scrollback);
	}
}

static void
top_recordings(void *ctx, void *obj, struct yamltree_node *key,
	       struct yamltree_node *n)
{
	struct config *cfg = obj;

	config_recordings(ctx, &cfg->recordings, key, n);
}

/*
 * One number of max_startups at s[0..len): decimal, no sign or leading zero,
 * at most 4 digits. Returns -1 if it is not one.
 */
static long
config_startups_number(const char *s, size_t len)
{
	long v = 0;

	if (len == 0 || len > 4 || (s[0] == '0' && len > 1))
		return -1;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v;
}

/* "start:rate:full" or "N" (start = full = N, as OpenSSH reads it). */
static void
ssh_max_startups(void *ctx, void *obj, struct yamltree_node *key,
		 struct yamltree_node *n)
{
	static const char *const part[] = {"start", "rate", "full"};
	struct config_ctx *c = ctx;
	struct config_ssh *ssh = obj;
	const char *s;
	size_t off[3], len[3], nparts = 0, i = 0;
	long v[3];
	unsigned line, col;

	(void)key;
	if (n->type == YAMLTREE_INVALID)
		return;
	if (n->type != YAMLTREE_SCALAR || yamltree_is_null(n) ||
	    memchr(n->str, '\0', n->len) != NULL)
		goto shape;
	s = n->str;
	while (nparts < 3) {
		const char *colon = memchr(s + i, ':', n->len - i);
		size_t end = colon ? (size_t)(colon - s) : n->len;
		off[nparts] = i;
		len[nparts] = end - i;
		nparts++;
		if (colon == NULL)
			break;
		i = end + 1;
		if (nparts == 3)
			goto shape; /* a fourth part */
	}
	if (nparts == 2)
		goto shape;
	for (i = 0; i < nparts; i++)
		if ((v[i] = config_startups_number(s + off[i], len[i])) < 0)
			goto shape;
	if (nparts == 1) {
		v[2] = v[0];
		v[1] = 100;
		off[2] = off[0];
	}
	/* Each number is reported where it is written. */
	for (i = 0; i < 3; i++) {
		long min = i == 2 ? v[0] : 1;
		long max = i == 1 ? 100 : CONFIG_MAX_CONNS;
		if (v[i] >= min && v[i] <= max)
			continue;
		yamltree_scalar_pos(n, off[i], &line, &col);
		if (i == 1)
			yamltree_error_at(c->t, line, col,
					  "max_startups: rate must be a "
					  "percentage from 1 to 100");
		else if (i == 2 && nparts == 3 && v[2] >= 1 &&
			 v[2] <= CONFIG_MAX_CONNS)
			yamltree_error_at(c->t, line, col,
					  "max_startups: full (%ld) must not "
					  "be less than start (%ld)",
					  v[2], v[0]);
		else
			yamltree_error_at(c->t, line, col,
					  "max_startups: %s must be a number "
					  "from 1 to %d",
					  nparts == 1 ? "the number" : part[i],
					  CONFIG_MAX_CONNS);
		return;
	}
	ssh->startups_begin = (unsigned)v[0];
	ssh->startups_rate = (unsigned)v[1];
	ssh->startups_full = (unsigned)v[2];
	return;
shape:
	yamltree_error(c->t, n,
		       "max_startups must be start:rate:full, like 64:30:256, "
		       "or one number");
}

static const struct yamltree_field ssh_fields[] = {
    {"max_startups", ssh_max_startups, NULL},
    YAMLTREE_UINT("per_source_max_startups", "per_source_max_startups", 1,
		  CONFIG_MAX_CONNS, struct config_ssh, per_source),
    YAMLTREE_UINT("kex_timeout", "kex_timeout (seconds)", 1,
		  CONFIG_MAX_KEX_TIMEOUT, struct config_ssh, kex_timeout),
    YAMLTREE_UINT("login_grace_time", "login_grace_time (seconds)", 1,
		  CONFIG_MAX_LOGIN_GRACE, struct config_ssh, login_grace),
};

static void
top_ssh(void *ctx, void *obj, struct yamltree_node *key,
	struct yamltree_node *n)
{
	struct config_ctx *c = ctx;
	struct config *cfg = obj;

	cfg->ssh.line = key->line;
	cfg->ssh.col = key->col;
	if (!yamltree_want(c->t, n, YAMLTREE_MAPPING, "ssh",
			   "a mapping (max_startups:, "
			   "per_source_max_startups:, kex_timeout:, "
			   "login_grace_time:)"))
		return;
	yamltree_fields(c->t, n, ssh_fields,
			sizeof(ssh_fields) / sizeof(ssh_fields[0]), c,
			&cfg->ssh);
	if (cfg->ssh.kex_timeout > cfg->ssh.login_grace)
		yamltree_error_at(c->t, key->line, key->col,
				  "ssh: kex_timeout (%u s) must not be longer "
				  "than login_grace_time (%u s)",
				  cfg->ssh.kex_timeout, cfg->ssh.login_grace);
}

static const struct yamltree_field limits_fields[] = {
    YAMLTREE_UINT("max_connections_per_user", "max_connections_per_user", 1,
		  CONFIG_MAX_CONNS_PER_USER, struct config_limits,
		  conns_per_user),
    YAMLTREE_UINT("max_sessions_per_connection", "max_sessions_per_connection",
		  1, CONFIG_MAX_SESSIONS_PER_CONN, struct config_limits,
		  sessions_per_conn),
    YAMLTREE_UINT("max_sessions_per_user", "max_sessions_per_user", 1,
		  CONFIG_MAX_SESSIONS_PER_USER, struct config_limits,
		  sessions_per_user),
};

static void
vnc_tickets(void *ctx, void *obj, struct yamltree_node *key,
	    struct yamltree_node *n)
{
	struct config_ctx *c = ctx;
	struct config_vnc *v = obj;

	(void)key;
	yamltree_want_bool(c->t, n, "tickets", &v->tickets);
}

static const struct yamltree_field vnc_fields[] = {
    {"tickets", vnc_tickets, NULL},
    YAMLTREE_UINT("ticket_lifetime", "ticket_lifetime (seconds)", 1,
		  CONFIG_MAX_TICKET_LIFETIME, struct config_vnc,
		  ticket_lifetime),
};

static void
top_vnc(void *ctx, void *obj, struct yamltree_node *key,
	struct yamltree_node *n)
{
	struct config_ctx *c = ctx;
	struct config *cfg = obj;

	(void)key;
	if (!yamltree_want(c->t, n, YAMLTREE_MAPPING, "vnc",
			   "a mapping (tickets:, ticket_lifetime:)"))
		return;
	yamltree_fields(c->t, n, vnc_fields,
			sizeof(vnc_fields) / sizeof(vnc_fields[0]), c,
			&cfg->vnc);
}

static void
top_limits(void *ctx, void *obj, struct yamltree_node *key,
	   struct yamltree_node *n)
{
	struct config_ctx *c = ctx;
	struct config *cfg = obj;

	(void)key;
	if (!yamltree_want(c->t, n, YAMLTREE_MAPPING, "limits",
			   "a mapping (max_connections_per_user:, "
			   "max_sessions_per_connection:, "
			   "max_sessions_per_user:)"))
		return;
	yamltree_fields(c->t, n, limits_fields,
			sizeof(limits_fields) / sizeof(limits_fields[0]), c,
			&cfg->limits);
}

static const struct yamltree_field top_fields[] = {
    {"listen", top_listen, NULL},	  {"state_dir", top_state_dir, NULL},
    {"policy", top_policy, NULL},	  {"vms", top_vms, NULL},
    {"recordings", top_recordings, NULL}, {"ssh", top_ssh, NULL},
    {"limits", top_limits, NULL},	  {"vnc", top_vnc, NULL},
};

void
config_free(struct config *cfg)
{
	if (cfg == NULL)
		return;
	for (size_t i = 0; i < cfg->nvms; i++) {
		free(cfg->vms[i].name);
		free(cfg->vms[i].kernel);
		free(cfg->vms[i].initrd);
		free(cfg->vms[i].cmdline);
	}
	free(cfg->vms);
	free(cfg->file);
	free(cfg->ssh_host);
	free(cfg->vnc_host);
	free(cfg->state_dir);
	free(cfg->policy);
	free(cfg);
}

int
config_load_mem(const char *name, const void *buf, size_t len, unsigned flags,
		struct config **cfgp, struct diag *d)
{
	struct config_ctx c = {0};
	struct config *cfg = xcalloc(1, sizeof(*cfg));
	const struct config_recordings defaults = {
	    .quota = CONFIG_DEFAULT_REC_QUOTA,
	    .max_file = CONFIG_DEFAULT_REC_MAX_FILE,
	    .replay = CONFIG_DEFAULT_REC_REPLAY,
	    .max_files = CONFIG_DEFAULT_REC_MAX_FILES,
	};
	const char *slash = strrchr(name, '/');
	size_t errors_before = diag_errors(d);
	int r = -1;

	*cfgp = NULL;
	if (slash != NULL)
		c.basedir = slash == name
				? xstrdup("/")
				: xstrndup(name, (size_t)(slash - name));
	c.cfg = cfg;
	cfg->file = xstrdup(name);
	cfg->ssh_host = xstrdup(CONFIG_DEFAULT_SSH_HOST);
	cfg->ssh_port = CONFIG_DEFAULT_SSH_PORT;
	cfg->state_dir = config_join(&c, CONFIG_DEFAULT_STATE_DIR);
	cfg->policy = config_join(&c, CONFIG_DEFAULT_POLICY);
	cfg->ssh = (struct config_ssh){
	    .startups_begin = CONFIG_DEFAULT_STARTUPS_BEGIN,
	    .startups_rate = CONFIG_DEFAULT_STARTUPS_RATE,
	    .startups_full = CONFIG_DEFAULT_STARTUPS_FULL,
	    .per_source = CONFIG_DEFAULT_PER_SOURCE,
	    .kex_timeout = CONFIG_DEFAULT_KEX_TIMEOUT,
	    .login_grace = CONFIG_DEFAULT_LOGIN_GRACE,
	};
	cfg->vnc.ticket_lifetime = CONFIG_DEFAULT_TICKET_LIFETIME;
	cfg->limits.conns_per_user = CONFIG_DEFAULT_CONNS_PER_USER;
	cfg->limits.sessions_per_conn = CONFIG_DEFAULT_SESSIONS_PER_CONN;
	cfg->limits.sessions_per_user = CONFIG_DEFAULT_SESSIONS_PER_USER;
	if (len > CONFIG_MAX_FILE) {
		diag_error(d, name, 0, 0, "file is larger than %d bytes",
			   CONFIG_MAX_FILE);
		flags &= ~(unsigned)CONFIG_PARTIAL;
		goto out;
	}
	if (yamltree_parse(name, buf, len, d, &c.t) != 0) {
		flags &= ~(unsigned)CONFIG_PARTIAL; /* nothing was read */
		goto out;
	}
	if (c.t->root != NULL && !yamltree_is_null(c.t->root)) {
		if (c.t->root->type != YAMLTREE_MAPPING) {
			if (c.t->root->type != YAMLTREE_INVALID)
				yamltree_error(c.t, c.t->root,
					       "the file must be a mapping "
					       "(listen:, vms:, ...), not %s",
					       yamltree_describe(c.t->root));
			flags &= ~(unsigned)CONFIG_PARTIAL;
			goto out;
		}
		yamltree_fields(c.t, c.t->root, top_fields,
				sizeof(top_fields) / sizeof(top_fields[0]), &c,
				cfg);
	}
	/* Resolved after the whole file: recordings: may follow vms:. */
	config_recordings_resolve(&c, &cfg->recordings, &defaults);
	for (size_t i = 0; i < cfg->nvms; i++)
		config_recordings_resolve(&c, &cfg->vms[i].recordings,
					  &cfg->recordings);
	if (diag_errors(d) == errors_before)
		r = 0;
out:
	if (r == 0 || (flags & CONFIG_PARTIAL)) {
		*cfgp = cfg;
		cfg = NULL; /* transferred */
	}
	config_free(cfg);
	yamltree_free(c.t);
	free(c.basedir);
	return r;
}

int
config_load(const char *path, unsigned flags, struct config **cfgp,
	    struct diag *d)
{
	char *buf = NULL;
	size_t len;
	int r = -1;

	*cfgp = NULL;
	if (yamltree_read_file(path, CONFIG_MAX_FILE, &buf, &len, d) != 0)
		goto out;
	r = config_load_mem(path, buf, len, flags, cfgp, d);
out:
	free(buf);
	return r;
}

const struct config_vm *
config_find_vm(const struct config *cfg, const char *name)
{
	for (size_t i = 0; i < cfg->nvms; i++)
		if (strcmp(cfg->vms[i].name, name) == 0)
			return &cfg->vms[i];
	return NULL;
}
