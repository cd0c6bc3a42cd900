/* The audit's repeat counting (audit_end_repeat), on a real file. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "audit.h"

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

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_loop_is_counted_then_written_on_change),
	    cmocka_unit_test(test_slots_are_bounded),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
