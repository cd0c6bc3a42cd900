/* The audit on a real file: repeat counting (audit_end_repeat), and each
 * typed event's line, parsed back. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "audit.h"
#include "diag.h"
#include "policy.h"

static char path[64];

static struct audit *
open_log(void)
{
	snprintf(path, sizeof(path), "/tmp/test_audit.XXXXXX");
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	close(fd);
	struct audit *a = audit_open(path, NULL);
	assert_non_null(a);
	return a;
}

/* The file's lines, in a buffer the caller frees; *n is how many. */
static char *
read_log(size_t *n)
{
	FILE *f = fopen(path, "r");
	static char buf[1 << 20];
	size_t len;

	assert_non_null(f);
	len = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[len] = '\0';
	*n = 0;
	for (size_t i = 0; i < len; i++)
		if (buf[i] == '\n')
			(*n)++;
	return strdup(buf);
}

static void
vm_line(struct audit *a, const char *vm, const char *state, int i)
{
	char detail[32];
	struct json *j = audit_begin(a, "vm");

	snprintf(detail, sizeof(detail), "reset %d", i);
	json_kstr(j, "vm", vm);
	json_kstr(j, "state", state);
	json_kstr(j, "detail", detail);
	assert_int_equal(audit_end_repeat(a, vm, state), 0);
}

/* The n-th line (0-based) of text, NUL-terminated in a static buffer. */
static const char *
line_at(const char *text, size_t n)
{
	static char l[4096];

	while (n-- > 0)
		text = strchr(text, '\n') + 1;
	size_t len = (size_t)(strchr(text, '\n') - text);
	assert_true(len < sizeof(l));
	memcpy(l, text, len);
	l[len] = '\0';
	return l;
}

static void
test_loop_is_counted_then_written_on_change(void **state)
{
	struct audit *a = open_log();
	size_t n;
	char *t;

	(void)state;
	for (int i = 0; i < 1000; i++) {
		vm_line(a, "web1", "rebooting", i);
		vm_line(a, "web1", "running", i);
	}
	t = read_log(&n);
	assert_int_equal(n, 2); /* the first of each kind */
	assert_non_null(strstr(line_at(t, 0), "\"detail\":\"reset 0\""));
	free(t);
	/* Another VM is not held up by web1's counts. */
	vm_line(a, "web2", "rebooting", 0);
	t = read_log(&n);
	assert_int_equal(n, 3);
	free(t);
	/* web1 stops: its counts go out first, then the stop. */
	vm_line(a, "web1", "stopped", 0);
	t = read_log(&n);
	assert_int_equal(n, 6);
	const char *l = line_at(t, 3);
	assert_non_null(strstr(l, "\"state\":\"rebooting\""));
	assert_non_null(strstr(l, "\"detail\":\"reset 999\""));
	assert_non_null(strstr(l, "\"repeat\":999,\"first\":\""));
	assert_non_null(strstr(line_at(t, 4), "\"state\":\"running\""));
	assert_non_null(strstr(line_at(t, 4), "\"repeat\":999,"));
	assert_non_null(strstr(line_at(t, 5), "\"state\":\"stopped\""));
	assert_null(strstr(line_at(t, 5), "repeat"));
	assert_true(strncmp(line_at(t, 5), "{\"ts\":\"", 7) == 0);
	free(t);
	/* Counts pending at close are written, not lost. */
	vm_line(a, "web2", "rebooting", 1);
	vm_line(a, "web2", "rebooting", 2);
	audit_close(a);
	t = read_log(&n);
	assert_int_equal(n, 7);
	assert_non_null(strstr(line_at(t, 6), "\"detail\":\"reset 2\""));
	assert_non_null(strstr(line_at(t, 6), "\"repeat\":2,"));
	free(t);
	unlink(path);
}

static void
test_slots_are_bounded(void **state)
{
	struct audit *a = open_log();
	char vm[32];
	size_t n;
	char *t;

	(void)state;
	/* Twice as many VMs as slots, each repeating: the oldest slots are
	 * written out as new ones come, none is lost. */
	for (int i = 0; i < 2 * AUDIT_REPEAT_SLOTS; i++) {
		snprintf(vm, sizeof(vm), "vm%d", i);
		vm_line(a, vm, "rebooting", 0);
		vm_line(a, vm, "rebooting", 1);
	}
	t = read_log(&n);
	/* Each VM's first line, and the counts of the first half. */
	assert_int_equal(n, 2 * AUDIT_REPEAT_SLOTS + AUDIT_REPEAT_SLOTS);
	free(t);
	audit_close(a);
	t = read_log(&n);
	assert_int_equal(n, 4 * AUDIT_REPEAT_SLOTS);
	free(t);
	unlink(path);
}

/*
 * A flat JSON object, parsed: its members in order, each key and raw value
 * (a string value with its quotes, as written). Fails the test on anything
 * that is not one flat object on one line.
 */
#define MAXF 16
struct flat {
	size_t n;
	char key[MAXF][64];
	char val[MAXF][512];
};

static const char *
take_string(const char *p, char *out, size_t size, bool quotes)
{
	size_t o = 0;

	assert_true(*p == '"');
	if (quotes)
		out[o++] = *p;
	p++;
	while (*p != '"') {
		assert_true(*p != '\0' && o + 3 < size);
		if (*p == '\\') {
			if (quotes)
				out[o++] = *p;
			p++;
			assert_true(*p != '\0');
		}
		out[o++] = *p++;
	}
	if (quotes)
		out[o++] = '"';
	out[o] = '\0';
	return p + 1;
}

static void
parse_flat(const char *line, struct flat *f)
{
	const char *p = line;

	memset(f, 0, sizeof(*f));
	assert_true(*p++ == '{');
	while (*p != '}') {
		assert_true(f->n < MAXF);
		p = take_string(p, f->key[f->n], sizeof(f->key[0]), false);
		assert_true(*p++ == ':');
		if (*p == '"') {
			p = take_string(p, f->val[f->n], sizeof(f->val[0]),
					true);
		} else {
			size_t o = 0;
			while (*p != ',' && *p != '}') {
				assert_true(*p != '\0' &&
					    o + 1 < sizeof(f->val[0]));
				f->val[f->n][o++] = *p++;
			}
			f->val[f->n][o] = '\0';
		}
		f->n++;
		if (*p == ',')
			p++;
		else
			assert_true(*p == '}');
	}
	assert_string_equal(p, "}");
}

/*
 * The last line of the log is event ev with exactly the members in
 * want[] ("key", "raw value", ... NULL), in that order, after ts and event.
 */
static void
assert_last(const char *ev, const char *const *want)
{
	size_t n, i;
	char *text = read_log(&n);
	struct flat f;
	char evq[64];

	assert_true(n > 0);
	parse_flat(line_at(text, n - 1), &f);
	free(text);
	assert_true(f.n >= 2);
	assert_string_equal(f.key[0], "ts");
	assert_int_equal(strlen(f.val[0]),
			 strlen("\"2024-05-01T12:00:00.123Z\""));
	assert_string_equal(f.key[1], "event");
	snprintf(evq, sizeof(evq), "\"%s\"", ev);
	assert_string_equal(f.val[1], evq);
	for (i = 0; want[2 * i] != NULL; i++) {
		assert_true(2 + i < f.n);
		assert_string_equal(f.key[2 + i], want[2 * i]);
		assert_string_equal(f.val[2 + i], want[2 * i + 1]);
	}
	assert_int_equal(f.n, 2 + i);
}

static void
test_auth(void **state)
{
	struct audit *a = open_log();
	char longname[80];

	(void)state;
	assert_int_equal(audit_auth(a, "alice", "publickey", "success", NULL,
				    "10.0.0.1:4000", "SHA256:abc"),
			 0);
	assert_last("auth",
		    (const char *[]){"user", "\"alice\"", "method",
				     "\"publickey\"", "result", "\"success\"",
				     "addr", "\"10.0.0.1:4000\"", "key",
				     "\"SHA256:abc\"", NULL});
	assert_int_equal(audit_auth(a, "alice", "password", "refused",
				    "alice has 2 connections", "[::1]:4001",
				    NULL),
			 0);
	assert_last("auth",
		    (const char *[]){"user", "\"alice\"", "method",
				     "\"password\"", "result", "\"refused\"",
				     "reason", "\"alice has 2 connections\"",
				     "addr", "\"[::1]:4001\"", NULL});
	/* a peer's name before login: cut to AUDIT_MAX_NAME, and said so */
	memset(longname, 'x', 70);
	longname[70] = '\0';
	assert_int_equal(audit_auth(a, longname, "none", "failure", NULL,
				    "10.0.0.2:1", NULL),
			 0);
	char cut[AUDIT_MAX_NAME + 3];
	cut[0] = '"';
	memset(cut + 1, 'x', AUDIT_MAX_NAME);
	cut[AUDIT_MAX_NAME + 1] = '"';
	cut[AUDIT_MAX_NAME + 2] = '\0';
	assert_last("auth",
		    (const char *[]){"user", cut, "user_cut", "true", "method",
				     "\"none\"", "result", "\"failure\"",
				     "addr", "\"10.0.0.2:1\"", NULL});
	audit_close(a);
	unlink(path);
}

static void
test_decision(void **state)
{
	static const char yaml[] =
	    "users:\n"
	    "  alice: { keys: [\"ssh-ed25519 "
	    "AAAAC3NzaC1lZDI1NTE5AAAAIOsqFhJf7r9qcgBJGxGd2nl1rtd7NEtZXRcMn+"
	    "ZuUR9b alice@test\"] }\n"
	    "rules:\n"
	    "  - allow: [console:write]\n"
	    "    to: [user:alice]\n"
	    "    vms: [\"web*\"]\n";
	struct audit *a = open_log();
	struct policy *pol = NULL;
	struct policy_reason why;
	struct diag d;
	unsigned r;

	(void)state;
	diag_init(&d);
	assert_int_equal(
	    policy_load_mem("p.yaml", yaml, sizeof(yaml) - 1, 0, &pol, &d), 0);
	diag_clear(&d);
	r = policy_rights(pol, "alice", "web1", &why);
	assert_int_equal(audit_decision(a, "alice", "web1",
					POLICY_CONSOLE_WRITE, r, &why, "attach",
					"10.0.0.1:4000", 7),
			 0);
	assert_last("decision",
		    (const char *[]){
			"user", "\"alice\"", "vm", "\"web1\"", "right",
			"\"console:write\"", "allowed", "true", "reason",
			"\"p.yaml:4 rule 1 allow\"", "action", "\"attach\"",
			"addr", "\"10.0.0.1:4000\"", "session", "7", NULL});
	assert_int_equal(audit_decision(a, "alice", "web1", POLICY_POWER, r,
					&why, "reset", "10.0.0.1:4000", 8),
			 0);
	assert_last("decision",
		    (const char *[]){"user", "\"alice\"", "vm", "\"web1\"",
				     "right", "\"power\"", "allowed", "false",
				     "reason", "\"default deny\"", "action",
				     "\"reset\"", "addr", "\"10.0.0.1:4000\"",
				     "session", "8", NULL});
	policy_unref(pol);
	audit_close(a);
	unlink(path);
}

static void
test_sessions_and_power(void **state)
{
	struct audit *a = open_log();

	(void)state;
	assert_int_equal(audit_session_start(a, 3, "bob", "db1", "read-only",
					     "10.0.0.3:22", true,
					     "/r/db1-1.cast"),
			 0);
	assert_last("session_start",
		    (const char *[]){"session", "3", "user", "\"bob\"", "vm",
				     "\"db1\"", "mode", "\"read-only\"", "addr",
				     "\"10.0.0.3:22\"", "pty", "true",
				     "recording", "\"/r/db1-1.cast\"", NULL});
	/* no recording: null, as the README says */
	assert_int_equal(audit_session_start(a, 4, "bob", "db1", "interactive",
					     "10.0.0.3:22", false, NULL),
			 0);
	assert_last("session_start",
		    (const char *[]){"session", "4", "user", "\"bob\"", "vm",
				     "\"db1\"", "mode", "\"interactive\"",
				     "addr", "\"10.0.0.3:22\"", "pty", "false",
				     "recording", "null", NULL});
	assert_int_equal(audit_session_end(a, 3, "bob", "db1", 12, 3456,
					   "detached", "10.0.0.3:22"),
			 0);
	assert_last("session_end",
		    (const char *[]){"session", "3", "user", "\"bob\"", "vm",
				     "\"db1\"", "bytes_in", "12", "bytes_out",
				     "3456", "reason", "\"detached\"", "addr",
				     "\"10.0.0.3:22\"", NULL});
	assert_int_equal(audit_power(a, "alice", "web1", "reset"), 0);
	assert_last("power", (const char *[]){"user", "\"alice\"", "vm",
					      "\"web1\"", "action", "\"reset\"",
					      "result", "\"requested\"", NULL});
	assert_int_equal(
	    audit_power_result(a, "alice", "web1", false, "web1 is crashed"),
	    0);
	assert_last("power",
		    (const char *[]){"user", "\"alice\"", "vm", "\"web1\"",
				     "ok", "false", "result",
				     "\"web1 is crashed\"", NULL});
	assert_int_equal(audit_recording_rotated(a, 3, "/r/old.cast", 1048576),
			 0);
	assert_last("recording_rotated",
		    (const char *[]){"session", "3", "file", "\"/r/old.cast\"",
				     "bytes", "1048576", NULL});
	audit_close(a);
	unlink(path);
}

static void
test_reload_revoked_vm_daemon(void **state)
{
	struct audit *a = open_log();

	(void)state;
	assert_int_equal(audit_reload(a, true, "/etc/p.yaml", NULL, 3, 5), 0);
	assert_last("reload",
		    (const char *[]){"ok", "true", "policy", "\"/etc/p.yaml\"",
				     "users", "3", "rules", "5", NULL});
	assert_int_equal(
	    audit_reload(a, false, "/etc/p.yaml", "p.yaml:3:1: bad", 0, 0), 0);
	assert_last("reload",
		    (const char *[]){"ok", "false", "policy", "\"/etc/p.yaml\"",
				     "error", "\"p.yaml:3:1: bad\"", NULL});
	assert_int_equal(audit_revoked(a, "carol", "10.0.0.4:9", "SHA256:k",
				       "key removed from the policy", 2),
			 0);
	assert_last(
	    "revoked",
	    (const char *[]){"user", "\"carol\"", "addr", "\"10.0.0.4:9\"",
			     "method", "\"publickey\"", "key", "\"SHA256:k\"",
			     "reason", "\"key removed from the policy\"",
			     "sessions", "2", NULL});
	assert_int_equal(audit_revoked(a, "carol", "10.0.0.4:9", NULL,
				       "password changed", 0),
			 0);
	assert_last("revoked",
		    (const char *[]){"user", "\"carol\"", "addr",
				     "\"10.0.0.4:9\"", "method", "\"password\"",
				     "reason", "\"password changed\"",
				     "sessions", "0", NULL});
	assert_int_equal(audit_vm(a, "web1", "running", "monitor started"), 0);
	assert_last("vm",
		    (const char *[]){"vm", "\"web1\"", "state", "\"running\"",
				     "detail", "\"monitor started\"", NULL});
	assert_int_equal(audit_daemon_start(a, 1234, 2222, 4), 0);
	assert_last("daemon",
		    (const char *[]){"what", "\"start\"", "pid", "1234",
				     "ssh_port", "2222", "vms", "4", NULL});
	assert_int_equal(audit_daemon_stop(a), 0);
	assert_last("daemon", (const char *[]){"what", "\"stop\"", NULL});
	audit_close(a);
	unlink(path);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_loop_is_counted_then_written_on_change),
	    cmocka_unit_test(test_slots_are_bounded),
	    cmocka_unit_test(test_auth),
	    cmocka_unit_test(test_decision),
	    cmocka_unit_test(test_sessions_and_power),
	    cmocka_unit_test(test_reload_revoked_vm_daemon),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
