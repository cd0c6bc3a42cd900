/* vmgate.yaml: defaults, every field, every error at its line:column. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "config.h"
#include "xmalloc.h"

/* Every diagnostic, sorted, one per line. */
static char *
render(struct diag *d)
{
	char *out = xstrdup("");

	diag_sort(d);
	for (size_t i = 0; i < d->n; i++) {
		char *line = diag_format(&d->v[i]);
		char *s = xasprintf("%s%s\n", out, line);
		free(line);
		free(out);
		out = s;
	}
	return out;
}

/* Loads 'text' as NAME; returns the config (or NULL) and the messages. */
static struct config *
load_as(const char *name, const char *text, unsigned flags, int *r, char **msgs)
{
	struct config *cfg = NULL;
	struct diag d;

	diag_init(&d);
	*r = config_load_mem(name, text, strlen(text), flags, &cfg, &d);
	*msgs = render(&d);
	diag_clear(&d);
	return cfg;
}

static struct config *
load(const char *text, int *r, char **msgs)
{
	return load_as("t.yaml", text, 0, r, msgs);
}

/* The file must load with exactly these messages (and so fail if any). */
static void
expect(const char *text, const char *want)
{
	char *msgs;
	int r;
	struct config *cfg = load(text, &r, &msgs);

	if (strcmp(msgs, want) != 0) {
		/* cmocka truncates long messages: print them whole */
		fprintf(stderr, "for:\n%s\ngot:\n%s\nwant:\n%s", text, msgs,
			want);
		fail();
	}
	if (strstr(want, ": error: ") != NULL) {
		assert_int_equal(r, -1);
		assert_null(cfg);
	} else {
		assert_int_equal(r, 0);
		assert_non_null(cfg);
	}
	config_free(cfg);
	free(msgs);
}

static void
test_defaults(void **state)
{
	static const char *const empties[] = {"", "# nothing\n", "---\n",
					      "{}\n", "vms:\n"};
	(void)state;
	for (size_t i = 0; i < sizeof(empties) / sizeof(empties[0]); i++) {
		char *msgs;
		int r;
		struct config *cfg = load_as("/etc/vmgate/vmgate.yaml",
					     empties[i], 0, &r, &msgs);
		assert_int_equal(r, 0);
		assert_string_equal(msgs, "");
		assert_string_equal(cfg->ssh_host, "127.0.0.1");
		assert_int_equal(cfg->ssh_port, 2222);
		assert_string_equal(cfg->state_dir, "/etc/vmgate/state");
		assert_string_equal(cfg->policy, "/etc/vmgate/policy.yaml");
		assert_int_equal(cfg->nvms, 0);
		assert_string_equal(cfg->file, "/etc/vmgate/vmgate.yaml");
		config_free(cfg);
		free(msgs);
	}
	config_free(NULL);
}

static void
test_full(void **state)
{
	const char *text = "listen:\n"
			   "  ssh: \"[::1]:2200\"\n"
			   "state_dir: /var/lib/vmgate\n"
			   "policy: conf/policy.yaml\n"
			   "vms:\n"
			   "  web1:\n"
			   "    kernel: demo\n"
			   "    cmdline: \"console=ttyS0 quiet\"\n"
			   "    memory: 64M\n"
			   "    cpus: 1\n"
			   "    autostart: true\n"
			   "    on_crash: restart\n"
			   "    scrollback: 64K\n"
			   "    display: 1280x720\n"
			   "  db.2_x-y:\n"
			   "    kernel: images/bzImage\n"
			   "    initrd: /boot/initrd.img\n"
			   "    memory: 2G\n"
			   "    cpus: 64\n"
			   "    autostart: False\n"
			   "    on_crash: stop\n"
			   "    scrollback: 16M\n"
			   "    display: none\n"
			   "  empty:\n"
			   "  braces: {}\n";
	const struct config_vm *vm;
	char *msgs;
	int r;
	struct config *cfg = load_as("dir/vmgate.yaml", text, 0, &r, &msgs);

	(void)state;
	assert_string_equal(msgs, "");
	assert_int_equal(r, 0);
	assert_string_equal(cfg->ssh_host, "::1");
	assert_int_equal(cfg->ssh_port, 2200);
	assert_string_equal(cfg->state_dir, "/var/lib/vmgate");
	assert_string_equal(cfg->policy, "dir/conf/policy.yaml");
	assert_int_equal(cfg->nvms, 4);

	vm = &cfg->vms[0];
	assert_string_equal(vm->name, "web1");
	assert_true(vm->demo_kernel);
	assert_string_equal(vm->kernel, "demo");
	assert_null(vm->initrd);
	assert_string_equal(vm->cmdline, "console=ttyS0 quiet");
	assert_int_equal(vm->memory, 64ULL << 20);
	assert_int_equal(vm->cpus, 1);
	assert_true(vm->autostart);
	assert_int_equal(vm->on_crash, CONFIG_ON_CRASH_RESTART);
	assert_int_equal(vm->scrollback, 64 << 10);
	assert_int_equal(vm->display_w, 1280);
	assert_int_equal(vm->display_h, 720);
	assert_int_equal(vm->line, 6);
	assert_int_equal(vm->col, 3);

	vm = config_find_vm(cfg, "db.2_x-y");
	assert_ptr_equal(vm, &cfg->vms[1]);
	assert_false(vm->demo_kernel);
	assert_string_equal(vm->kernel, "dir/images/bzImage");
	assert_string_equal(vm->initrd, "/boot/initrd.img");
	assert_null(vm->cmdline);
	assert_int_equal(vm->memory, 2ULL << 30);
	assert_int_equal(vm->cpus, 64);
	assert_false(vm->autostart);
	assert_int_equal(vm->on_crash, CONFIG_ON_CRASH_STOP);
	assert_int_equal(vm->scrollback, 16 << 20);
	assert_int_equal(vm->display_w, 0);
	assert_int_equal(vm->display_h, 0);

	/* null and {} give every default */
	for (size_t i = 2; i < 4; i++) {
		vm = &cfg->vms[i];
		assert_true(vm->demo_kernel);
		assert_string_equal(vm->kernel, CONFIG_DEFAULT_KERNEL);
		assert_int_equal(vm->memory, CONFIG_DEFAULT_MEMORY);
		assert_int_equal(vm->cpus, CONFIG_DEFAULT_CPUS);
		assert_true(vm->autostart);
		assert_int_equal(vm->on_crash, CONFIG_ON_CRASH_RESTART);
		assert_int_equal(vm->scrollback, CONFIG_DEFAULT_SCROLLBACK);
		assert_int_equal(vm->display_w, 1024);
		assert_int_equal(vm->display_h, 768);
	}
	assert_null(config_find_vm(cfg, "nope"));
	config_free(cfg);
	free(msgs);

	/* no folder in the name: relative paths stay as written */
	cfg = load_as("vmgate.yaml", "policy: p.yaml\n", 0, &r, &msgs);
	assert_string_equal(cfg->policy, "p.yaml");
	assert_string_equal(cfg->state_dir, "state");
	config_free(cfg);
	free(msgs);
	cfg = load_as("/vmgate.yaml", "policy: p.yaml\n", 0, &r, &msgs);
	assert_string_equal(cfg->policy, "/p.yaml");
	config_free(cfg);
	free(msgs);
}

static void
test_listen(void **state)
{
	static const struct {
		const char *addr, *host;
		unsigned port;
	} good[] = {
	    {"127.0.0.1:2222", "127.0.0.1", 2222},
	    {"0.0.0.0:1", "0.0.0.0", 1},
	    {"[::]:65535", "::", 65535},
	    {"[fe80::1]:22", "fe80::1", 22},
	    {"localhost:2222", "localhost", 2222},
	    {"gw-1.example.org:22", "gw-1.example.org", 22},
	};
	static const struct {
		const char *addr, *want;
	} bad[] = {
	    /* the quote is at column 8, the value starts at 9 */
	    {"::1:22", "2:9: error: ssh: an IPv6 address must be written in "
		       "brackets, like [::1]:2222\n"},
	    {"host", "2:13: error: ssh: expected host:port\n"},
	    {"h:0", "2:11: error: ssh: the port must be a number from 1 to "
		    "65535\n"},
	    {"h:65536", "2:11: error: ssh: the port must be a number from 1 "
			"to 65535\n"},
	    {"h:22x", "2:11: error: ssh: the port must be a number from 1 to "
		      "65535\n"},
	    {"h:", "2:11: error: ssh: the port must be a number from 1 to "
		   "65535\n"},
	    {"h:022", "2:11: error: ssh: the port must be a number from 1 "
		      "to 65535\n"},
	    {":22", "2:9: error: ssh: missing host before ':'\n"},
	    {"[::1]22", "2:14: error: ssh: expected ':' and a port after "
			"']'\n"},
	    {"[::1", "2:9: error: ssh: '[' without a matching ']'\n"},
	    {"[zz]:22", "2:10: error: ssh: not an IPv6 address inside "
			"[...]\n"},
	    {"999.1.1.1:22", "2:9: error: ssh: not an IPv4 address\n"},
	    {"-bad-:22", "2:9: error: ssh: not a valid host name or "
			 "address\n"},
	    {"a..b:22", "2:9: error: ssh: not a valid host name or "
			"address\n"},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		char *text =
		    xasprintf("listen:\n  ssh: \"%s\"\n", good[i].addr);
		char *msgs;
		int r;
		struct config *cfg = load(text, &r, &msgs);
		if (r != 0)
			fail_msg("%s: %s", good[i].addr, msgs);
		assert_string_equal(cfg->ssh_host, good[i].host);
		assert_int_equal(cfg->ssh_port, good[i].port);
		config_free(cfg);
		free(msgs);
		free(text);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char *text = xasprintf("listen:\n  ssh: \"%s\"\n", bad[i].addr);
		char *want = xasprintf("t.yaml:%s", bad[i].want);
		expect(text, want);
		free(want);
		free(text);
	}
	expect("listen:\n  ssh: [a]\n",
	       "t.yaml:2:8: error: ssh must be a string, not a list\n");
	expect("listen: \"127.0.0.1:22\"\n",
	       "t.yaml:1:9: error: listen must be a mapping, not a string\n");
}

static void
test_sizes(void **state)
{
	static const struct {
		const char *key, *value;
		uint64_t want; /* 0: must be rejected */
	} cases[] = {
	    {"memory", "16M", 16ULL << 20},
	    {"memory", "64G", 64ULL << 30},
	    {"memory", "16384K", 16ULL << 20},
	    {"memory", "16777216", 16ULL << 20},
	    {"memory", "\"1G\"", 1ULL << 30},
	    {"memory", "15M", 0},
	    {"memory", "65G", 0},
	    {"memory", "65537M", 0},
	    {"memory", "64m", 0},
	    {"memory", "064M", 0},
	    {"memory", "-64M", 0},
	    {"memory", "64 M", 0},
	    {"memory", "M", 0},
	    {"memory", "99999999999999999999G", 0},
	    {"memory", "1T", 0},
	    /* (2^64 + 2^30) bytes: wraps to 1G if multiplied unchecked */
	    {"memory", "17179869185G", 0},
	    {"scrollback", "17592186044420M", 0},
	    {"scrollback", "4K", 4 << 10},
	    {"scrollback", "4096", 4 << 10},
	    {"scrollback", "16M", 16 << 20},
	    {"scrollback", "4097", 4097},
	    {"scrollback", "4095", 0},
	    {"scrollback", "16385K", 0},
	    /* viewer_queue: at least twice the default 64K scrollback */
	    {"viewer_queue", "128K", 128 << 10},
	    {"viewer_queue", "64M", 64 << 20},
	    {"viewer_queue", "65M", 0},
	    {"viewer_queue", "8191", 0},
	    {"cpus", "64", 64},
	    {"cpus", "65", 0},
	    {"cpus", "0", 0},
	    {"cpus", "01", 0},
	    {"cpus", "0x2", 0},
	    {"cpus", "-1", 0},
	    {"cpus", "1.0", 0},
	    {"cpus", "\"2\"", 0},
	    /* display: the width is what the table checks */
	    {"display", "640x480", 640},
	    {"display", "4096x2160", 4096},
	    {"display", "64x64", 64},
	    {"display", "4097x768", 0},
	    {"display", "1024x2161", 0},
	    {"display", "63x768", 0},
	    {"display", "1024", 0},
	    {"display", "1024x", 0},
	    {"display", "x768", 0},
	    {"display", "01024x768", 0},
	    {"display", "1024X768", 0},
	    {"display", "1024x768x", 0},
	    {"display", "-1x768", 0},
	    {"display", "[1024, 768]", 0},
	    {"display", "\"1024x768\\0\"", 0},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *text = xasprintf("vms:\n  a:\n    %s: %s\n", cases[i].key,
				       cases[i].value);
		char *msgs;
		int r;
		struct config *cfg = load(text, &r, &msgs);
		uint64_t got;
		if (cases[i].want == 0) {
			if (r == 0)
				fail_msg("%s: %s accepted", cases[i].key,
					 cases[i].value);
			/* the message points at the value */
			if (strncmp(msgs, "t.yaml:3:", 9) != 0)
				fail_msg("%s", msgs);
		} else {
			if (r != 0)
				fail_msg("%s: %s: %s", cases[i].key,
					 cases[i].value, msgs);
			got = strcmp(cases[i].key, "memory") == 0
				  ? cfg->vms[0].memory
			      : strcmp(cases[i].key, "cpus") == 0
				  ? cfg->vms[0].cpus
			      : strcmp(cases[i].key, "display") == 0
				  ? cfg->vms[0].display_w
			      : strcmp(cases[i].key, "viewer_queue") == 0
				  ? cfg->vms[0].viewer_queue
				  : cfg->vms[0].scrollback;
			assert_int_equal(got, cases[i].want);
		}
		config_free(cfg);
		free(msgs);
		free(text);
	}
	expect("vms:\n  a:\n    memory: 16385K\n",
	       "t.yaml:3:13: error: memory must be a multiple of 4K\n");
	expect("vms:\n  a:\n    display: 8000x600\n",
	       "t.yaml:3:14: error: display 8000x600: width must be 64 to "
	       "4096 and height 64 to 2160\n");
	/* the replay must fit: the error is at the VM, naming both */
	expect("vms:\n  a:\n    scrollback: 64K\n    viewer_queue: 96K\n",
	       "t.yaml:2:3: error: VM a: viewer_queue (98304 bytes) must be at "
	       "least twice its scrollback (65536 bytes): a viewer's queue "
	       "starts with the scrollback's replay\n");
	expect("vms:\n  a:\n    viewer_queue: 8K\n    scrollback: 4K\n", "");
	expect("vms:\n  a:\n    display: big\n",
	       "t.yaml:3:14: error: display must be WIDTHxHEIGHT, like "
	       "1024x768, or none\n");
}

static void
test_errors(void **state)
{
	(void)state;
	/* every error in the file, in file order, each at its node */
	expect("listen:\n"
	       "  ssh: \"127.0.0.1:22\"\n"
	       "  web: \":5900\"\n"
	       "colour: blue\n"
	       "state_dir: [a]\n"
	       "vms:\n"
	       "  web1:\n"
	       "    memroy: 64M\n"
	       "    cpus: two\n"
	       "    autostart: yes\n"
	       "    on_crash: explode\n"
	       "    kernel: {path: x}\n"
	       "    initrd: ~\n"
	       "    cmdline: 3\n"
	       "  web1: {}\n"
	       "  \"bad name\": {}\n"
	       "  .hidden: {}\n"
	       "  who: {}\n"
	       "  db1: [1]\n"
	       "  db2: 7\n",
	       "t.yaml:3:3: error: unknown key 'web' (expected one of: ssh, "
	       "vnc)\n"
	       "t.yaml:4:1: error: unknown key 'colour' (expected one of: "
	       "listen, state_dir, policy, vms, recordings, ssh, limits, vnc)\n"
	       "t.yaml:5:12: error: state_dir must be a string, not a list\n"
	       "t.yaml:8:5: error: unknown key 'memroy' (expected one of: "
	       "kernel, initrd, cmdline, memory, cpus, autostart, on_crash, "
	       "scrollback, viewer_queue, recordings, display)\n"
	       "t.yaml:9:11: error: cpus must be a number from 1 to 64\n"
	       "t.yaml:10:16: error: autostart must be true or false\n"
	       "t.yaml:11:15: error: on_crash must be restart or stop\n"
	       "t.yaml:12:13: error: kernel must be a string, not a mapping\n"
	       "t.yaml:13:13: error: initrd must be a string, not nothing "
	       "(null)\n"
	       "t.yaml:15:3: error: duplicate key 'web1' (first at line 7)\n"
	       "t.yaml:16:3: error: VM name 'bad name' may only hold letters, "
	       "digits, '.', '_' and '-'\n"
	       "t.yaml:17:3: error: VM name '.hidden' must start with a "
	       "letter or a digit\n"
	       "t.yaml:18:3: error: VM name 'who' is reserved for the gateway "
	       "command of that name\n"
	       "t.yaml:19:8: error: a VM must be a mapping of settings, not a "
	       "list\n"
	       "t.yaml:20:8: error: a VM must be a mapping of settings, not a "
	       "string\n");
	/* cmdline: 3 is a string to YAML, and fine */
	expect("vms:\n  a:\n    cmdline: 3\n", "");
	expect("vms: [a, b]\n", "t.yaml:1:6: error: vms must be a mapping of "
				"VM names to their settings, not a list\n");
	expect("- a\n", "t.yaml:1:1: error: the file must be a mapping "
			"(listen:, vms:, ...), not a list\n");
	expect("just text\n", "t.yaml:1:1: error: the file must be a mapping "
			      "(listen:, vms:, ...), not a string\n");
	expect("vms:\n  a01234567890123456789012345678901234567890123456789"
	       "01234567890123: {}\n",
	       "t.yaml:2:3: error: VM name "
	       "'a0123456789012345678901234567890123456789012345678...' is "
	       "longer than 64 characters\n");
	expect("vms:\n  a0123456789012345678901234567890123456789012345678"
	       "90123456789012: {}\n",
	       "");
}

static void
test_yaml_level(void **state)
{
	(void)state;
	expect("vms:\n  a:\n    memory: 64M\n   cpus: 2\n",
	       "t.yaml:4:4: error: syntax error: did not find expected key "
	       "(while parsing a block mapping started at 2:3)\n");
	expect("state_dir: \"unterminated\n",
	       "t.yaml:2:1: error: syntax error: found unexpected end of "
	       "stream (while scanning a quoted scalar started at 1:12)\n");
	expect("policy: a\n---\npolicy: b\n",
	       "t.yaml:2:1: error: only one YAML document is allowed\n");
	expect("base: &b {cpus: 1}\nvms:\n  a: *b\n",
	       "t.yaml:1:1: error: unknown key 'base' (expected one of: "
	       "listen, state_dir, policy, vms, recordings, ssh, limits, vnc)\n"
	       "t.yaml:3:6: error: aliases are not supported\n");
	expect("vms:\n  a:\n    cpus: !!int 2\n",
	       "t.yaml:3:11: error: tags are not supported\n");
	expect("? [a]\n: b\n",
	       "t.yaml:1:3: error: a key must be a string, not a list\n");
	expect("state_dir: \"a\\0b\"\n",
	       "t.yaml:1:12: error: state_dir contains a NUL byte\n");
	expect("state_dir: \"\xff\"\n",
	       "t.yaml:1:13: error: invalid text: invalid leading UTF-8 "
	       "octet\n");
	/* messages never carry raw control bytes from the file */
	expect("\"\\e[31m\": 1\n", "t.yaml:1:1: error: unknown key "
				   "'\\x1b[31m' (expected one of: listen, "
				   "state_dir, policy, vms, recordings, "
				   "ssh, limits, vnc)\n");

	/* nesting deeper than YAMLTREE_MAX_DEPTH */
	char deep[200] = "vms: ";
	for (int i = 0; i < 40; i++)
		strcat(deep, "[");
	expect(deep, "t.yaml:1:37: error: nesting deeper than 32 levels\n");
}

static void
test_limits(void **state)
{
	size_t cap = 16 * (CONFIG_MAX_VMS + 2) + 16, len = 0;
	char *text = xmalloc(cap), *want;
	char *msgs;
	int r;
	struct config *cfg;

	(void)state;
	len += (size_t)snprintf(text + len, cap - len, "vms:\n");
	for (int i = 0; i <= CONFIG_MAX_VMS; i++)
		len +=
		    (size_t)snprintf(text + len, cap - len, "  v%d: {}\n", i);
	cfg = load(text, &r, &msgs);
	want = xasprintf("t.yaml:%d:3: error: more than 10000 VMs\n",
			 CONFIG_MAX_VMS + 2);
	assert_string_equal(msgs, want);
	assert_int_equal(r, -1);
	free(want);
	free(msgs);
	config_free(cfg);
	free(text);

	/* file size cap, checked before parsing */
	text = xmalloc(CONFIG_MAX_FILE + 1);
	memset(text, '#', CONFIG_MAX_FILE + 1);
	struct diag d;
	diag_init(&d);
	assert_int_equal(config_load_mem("big.yaml", text, CONFIG_MAX_FILE + 1,
					 CONFIG_PARTIAL, &cfg, &d),
			 -1);
	assert_null(cfg);
	msgs = render(&d);
	assert_string_equal(
	    msgs, "big.yaml: error: file is larger than 1048576 bytes\n");
	free(msgs);
	diag_clear(&d);
	/* exactly at the cap is fine (a comment) */
	assert_int_equal(
	    config_load_mem("big.yaml", text, CONFIG_MAX_FILE, 0, &cfg, &d), 0);
	config_free(cfg);
	diag_clear(&d);
	free(text);
}

/* A file with more errors than DIAG_MAX: the rest are counted, not kept. */
static void
test_many_errors(void **state)
{
	size_t cap = 32 * 1200, len = 0;
	char *text = xmalloc(cap), *out = NULL, *last;
	size_t outlen = 0;
	struct config *cfg;
	struct diag d;
	FILE *f;

	(void)state;
	len += (size_t)snprintf(text + len, cap - len, "vms:\n");
	for (int i = 0; i < 1100; i++)
		len +=
		    (size_t)snprintf(text + len, cap - len, "  -v%d: {}\n", i);
	diag_init(&d);
	assert_int_equal(config_load_mem("t.yaml", text, len, 0, &cfg, &d), -1);
	assert_int_equal(d.n, DIAG_MAX);
	assert_int_equal(diag_errors(&d), 1100);
	f = open_memstream(&out, &outlen);
	diag_print(&d, f);
	fclose(f);
	last = strrchr(out, '(');
	assert_non_null(last);
	assert_string_equal(last, "(100 more diagnostics not shown)\n");
	free(out);
	diag_clear(&d);
	free(text);
}

static void
test_partial(void **state)
{
	char *msgs;
	int r;
	struct config *cfg = load_as(
	    "t.yaml", "policy: mine.yaml\nvms:\n  a: {cpus: 0}\n  b: {}\n",
	    CONFIG_PARTIAL, &r, &msgs);

	(void)state;
	assert_int_equal(r, -1);
	assert_string_equal(
	    msgs, "t.yaml:3:13: error: cpus must be a number from 1 to 64\n");
	assert_non_null(cfg);
	assert_string_equal(cfg->policy, "mine.yaml");
	assert_int_equal(cfg->nvms, 2);
	assert_int_equal(cfg->vms[0].cpus, CONFIG_DEFAULT_CPUS);
	config_free(cfg);
	free(msgs);

	/* a syntax error leaves nothing to report on */
	cfg = load_as("t.yaml", "vms: [\n", CONFIG_PARTIAL, &r, &msgs);
	assert_int_equal(r, -1);
	assert_null(cfg);
	free(msgs);
}

static void
test_files(void **state)
{
	char path[] = "/tmp/test_configXXXXXX";
	int fd = mkstemp(path);
	struct config *cfg;
	struct diag d;
	char *msgs, *want;

	(void)state;
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "vms:\n  a: {}\n", 13), 13);
	close(fd);
	diag_init(&d);
	assert_int_equal(config_load(path, 0, &cfg, &d), 0);
	assert_int_equal(cfg->nvms, 1);
	want = xasprintf("/tmp/%s", CONFIG_DEFAULT_POLICY);
	assert_string_equal(cfg->policy, want);
	free(want);
	config_free(cfg);
	unlink(path);

	assert_int_equal(config_load(path, CONFIG_PARTIAL, &cfg, &d), -1);
	assert_null(cfg);
	assert_int_equal(config_load("/tmp", 0, &cfg, &d), -1);
	msgs = render(&d);
	want = xasprintf("%s: error: cannot open: No such file or directory\n"
			 "/tmp: error: not a regular file\n",
			 path);
	assert_string_equal(msgs, want);
	free(want);
	free(msgs);
	diag_clear(&d);
}

/* limits:, what a logged-in user may open: defaults, values, errors. */
static void
test_user_limits(void **state)
{
	struct config *cfg;
	char *msgs;
	int r;

	(void)state;
	cfg = load("vms: {}\n", &r, &msgs);
	assert_int_equal(r, 0);
	assert_int_equal(cfg->limits.conns_per_user, 64);
	assert_int_equal(cfg->limits.sessions_per_conn, 10);
	assert_int_equal(cfg->limits.sessions_per_user, 64);
	config_free(cfg);
	free(msgs);
	cfg = load("limits:\n  max_sessions_per_user: 3\n"
		   "  max_connections_per_user: 4096\n",
		   &r, &msgs);
	assert_string_equal(msgs, "");
	assert_int_equal(r, 0);
	assert_int_equal(cfg->limits.conns_per_user, 4096);
	assert_int_equal(cfg->limits.sessions_per_conn, 10);
	assert_int_equal(cfg->limits.sessions_per_user, 3);
	config_free(cfg);
	free(msgs);
	expect("limits:\n  max_sessions_per_connection: 0\n"
	       "  max_connections_per_user: 4097\n"
	       "  max_sessions_per_user: -1\n  max_sessions: 2\n",
	       "t.yaml:2:32: error: max_sessions_per_connection must be a "
	       "number from 1 to 1024\n"
	       "t.yaml:3:29: error: max_connections_per_user must be a number "
	       "from 1 to 4096\n"
	       "t.yaml:4:26: error: max_sessions_per_user must be a number "
	       "from 1 to 65536\n"
	       "t.yaml:5:3: error: unknown key 'max_sessions' (expected one "
	       "of: max_connections_per_user, max_sessions_per_connection, "
	       "max_sessions_per_user)\n");
	expect("limits: 5\n", "t.yaml:1:9: error: limits must be a mapping "
			      "(max_connections_per_user:, "
			      "max_sessions_per_connection:, "
			      "max_sessions_per_user:), not a string\n");
}

/* recordings:, at the top and per VM: defaults, inheritance, errors. */
static void
test_recordings(void **state)
{
	const char *text =
	    "vms:\n"
	    "  a: {}\n"
	    "  b:\n"
	    "    recordings: {quota: 64K, max_file: 32K, replay: 0}\n"
	    "recordings:\n"
	    "  quota: 1G\n"
	    "  max_file: 16M\n"
	    "  max_files: 50\n";
	const struct config_recordings *ra, *rb;
	struct config *cfg;
	char *msgs;
	int r;

	(void)state;
	cfg = load("vms: {a: {}}\n", &r, &msgs);
	assert_int_equal(r, 0);
	assert_int_equal(cfg->vms[0].recordings.quota, 256ULL << 20);
	assert_int_equal(cfg->vms[0].recordings.max_file, 64ULL << 20);
	assert_int_equal(cfg->vms[0].recordings.replay, 4096);
	assert_int_equal(cfg->vms[0].recordings.max_files, 1000);
	config_free(cfg);
	free(msgs);

	/* the top-level mapping comes after vms: and still applies */
	cfg = load(text, &r, &msgs);
	assert_string_equal(msgs, "");
	assert_int_equal(r, 0);
	ra = &cfg->vms[0].recordings;
	rb = &cfg->vms[1].recordings;
	assert_int_equal(ra->quota, 1ULL << 30);
	assert_int_equal(ra->max_file, 16ULL << 20);
	assert_int_equal(ra->replay, 4096);
	assert_int_equal(ra->max_files, 50);
	assert_int_equal(rb->quota, 64ULL << 10);
	assert_int_equal(rb->max_file, 32ULL << 10);
	assert_int_equal(rb->replay, 0);
	assert_int_equal(rb->max_files, 50);
	config_free(cfg);
	free(msgs);
	cfg = load("vms:\n  b:\n    recordings: {quota: 64K, max_file: 16K}\n",
		   &r, &msgs);
	assert_int_equal(r, 0);
	assert_int_equal(cfg->vms[0].recordings.max_file, 16ULL << 10);
	config_free(cfg);
	free(msgs);

	/* b's own quota is below the max_file it inherits: an error there */
	expect("vms:\n  b:\n    recordings: {quota: 64K}\n",
	       "t.yaml:3:5: error: recordings: max_file (67108864 bytes) must "
	       "not be larger than quota (65536 bytes)\n");
	expect("recordings:\n"
	       "  quota: 1K\n"
	       "  max_file: 100G\n"
	       "  replay: 2M\n"
	       "  max_files: 0\n"
	       "  rotate: yes\n",
	       "t.yaml:2:10: error: quota must be a size from 16K to 1024G, "
	       "like 256M\n"
	       "t.yaml:3:13: error: max_file must be a size from 4K to 64G, "
	       "like 64M\n"
	       "t.yaml:4:11: error: replay must be a size from 0 to 1M, like "
	       "4K\n"
	       "t.yaml:5:14: error: max_files must be a number from 1 to "
	       "100000\n"
	       "t.yaml:6:3: error: unknown key 'rotate' (expected one of: "
	       "quota, max_file, replay, max_files)\n");
	expect("recordings: 5\n",
	       "t.yaml:1:13: error: recordings must be a mapping (quota:, "
	       "max_file:, replay:, max_files:), not a string\n");
}

/* ssh: the limits before login, their defaults and every error. */
static void
test_ssh(void **state)
{
	char *msgs;
	int r;
	struct config *cfg;

	(void)state;
	cfg = load("vms:\n", &r, &msgs);
	assert_int_equal(r, 0);
	assert_int_equal(cfg->ssh.startups_begin, 64);
	assert_int_equal(cfg->ssh.startups_rate, 30);
	assert_int_equal(cfg->ssh.startups_full, 256);
	assert_int_equal(cfg->ssh.per_source, 16);
	assert_int_equal(cfg->ssh.kex_timeout, 10);
	assert_int_equal(cfg->ssh.login_grace, 60);
	config_free(cfg);
	free(msgs);

	cfg = load("ssh:\n"
		   "  max_startups: 10:30:100\n"
		   "  per_source_max_startups: 3\n"
		   "  kex_timeout: 5\n"
		   "  login_grace_time: 5\n",
		   &r, &msgs);
	assert_int_equal(r, 0);
	assert_string_equal(msgs, "");
	assert_int_equal(cfg->ssh.startups_begin, 10);
	assert_int_equal(cfg->ssh.startups_rate, 30);
	assert_int_equal(cfg->ssh.startups_full, 100);
	assert_int_equal(cfg->ssh.per_source, 3);
	assert_int_equal(cfg->ssh.kex_timeout, 5);
	assert_int_equal(cfg->ssh.login_grace, 5);
	config_free(cfg);
	free(msgs);

	/* one number: start = full, as OpenSSH reads it */
	cfg = load("ssh: {max_startups: \"4096\"}\n", &r, &msgs);
	assert_int_equal(r, 0);
	assert_int_equal(cfg->ssh.startups_begin, 4096);
	assert_int_equal(cfg->ssh.startups_rate, 100);
	assert_int_equal(cfg->ssh.startups_full, 4096);
	config_free(cfg);
	free(msgs);
	expect("ssh: {max_startups: \"1:100:1\"}\n", "");
	expect("ssh:\n", "");

	/* each bad number where it is written */
	expect("ssh:\n"
	       "  max_startups: 0:30:100\n",
	       "t.yaml:2:17: error: max_startups: start must be a number from "
	       "1 to 4096\n");
	expect("ssh:\n"
	       "  max_startups: 10:0:100\n",
	       "t.yaml:2:20: error: max_startups: rate must be a percentage "
	       "from 1 to 100\n");
	expect("ssh:\n"
	       "  max_startups: \"10:101:100\"\n",
	       "t.yaml:2:21: error: max_startups: rate must be a percentage "
	       "from 1 to 100\n");
	expect("ssh:\n"
	       "  max_startups: 10:30:5\n",
	       "t.yaml:2:23: error: max_startups: full (5) must not be less "
	       "than start (10)\n");
	expect("ssh:\n"
	       "  max_startups: 10:30:4097\n",
	       "t.yaml:2:23: error: max_startups: full must be a number from "
	       "1 to 4096\n");
	expect("ssh:\n"
	       "  max_startups: 5000\n",
	       "t.yaml:2:17: error: max_startups: the number must be a number "
	       "from 1 to 4096\n");
	static const char *const shapes[] = {
	    "10:30", "1:2:3:4",	   "\"10:30:\"", "\":30:100\"",
	    "a:b:c", "010:30:100", "-1",	 "10 30 100",
	    "[10]",  "~",	   "10:3x:100",	 "\"\"",
	};
	for (size_t i = 0; i < sizeof(shapes) / sizeof(shapes[0]); i++) {
		char *text = xasprintf("ssh:\n  max_startups: %s\n", shapes[i]);
		char *want = xasprintf(
		    "t.yaml:2:17: error: max_startups must be "
		    "start:rate:full, like 64:30:256, or one number\n");
		expect(text, want);
		free(text);
		free(want);
	}
	expect(
	    "ssh:\n"
	    "  per_source_max_startups: 0\n"
	    "  kex_timeout: 601\n"
	    "  login_grace_time: 0\n"
	    "  LoginGraceTime: 5\n",
	    "t.yaml:2:28: error: per_source_max_startups must be a number "
	    "from 1 to 4096\n"
	    "t.yaml:3:16: error: kex_timeout (seconds) must be a number from "
	    "1 to 600\n"
	    "t.yaml:4:21: error: login_grace_time (seconds) must be a number "
	    "from 1 to 3600\n"
	    "t.yaml:5:3: error: unknown key 'LoginGraceTime' (expected one "
	    "of: max_startups, per_source_max_startups, kex_timeout, "
	    "login_grace_time)\n");
	expect("ssh:\n"
	       "  kex_timeout: 30\n"
	       "  login_grace_time: 20\n",
	       "t.yaml:1:1: error: ssh: kex_timeout (30 s) must not be longer "
	       "than login_grace_time (20 s)\n");
	/* the default login_grace_time (60) bounds kex_timeout too */
	expect("ssh: {kex_timeout: 90}\n",
	       "t.yaml:1:1: error: ssh: kex_timeout (90 s) must not be longer "
	       "than login_grace_time (60 s)\n");
	expect("ssh: 22\n",
	       "t.yaml:1:6: error: ssh must be a mapping (max_startups:, "
	       "per_source_max_startups:, kex_timeout:, login_grace_time:), "
	       "not a string\n");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_defaults),
	    cmocka_unit_test(test_full),
	    cmocka_unit_test(test_listen),
	    cmocka_unit_test(test_sizes),
	    cmocka_unit_test(test_errors),
	    cmocka_unit_test(test_yaml_level),
	    cmocka_unit_test(test_limits),
	    cmocka_unit_test(test_user_limits),
	    cmocka_unit_test(test_many_errors),
	    cmocka_unit_test(test_partial),
	    cmocka_unit_test(test_files),
	    cmocka_unit_test(test_recordings),
	    cmocka_unit_test(test_ssh),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
