/* VM name patterns: what is valid, where an error points, what matches. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "vmglob.h"

static void
test_valid(void **state)
{
	static const char *const ok[] = {
	    "web1",   "*",	"web*", "w?b",	"db[12]",     "db[!12]",
	    "db[^1]", "[a-z]*", "[-a]", "[a-]", "x[0-9a-f-]", "*.example-1_",
	};
	size_t off;
	const char *msg;

	(void)state;
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		if (vmglob_check(ok[i], strlen(ok[i]), &off, &msg) != 0)
			fail_msg("'%s' rejected: %s at %zu", ok[i], msg, off);
	}
}

static void
test_invalid(void **state)
{
	static const struct {
		const char *pat;
		size_t off;
		const char *msg;
	} bad[] = {
	    {"", 0, "empty VM pattern"},
	    {"web[12", 3, "'[' without a matching ']'"},
	    {"ab[", 2, "'[' without a matching ']'"},
	    {"[a-", 0, "'[' without a matching ']'"},
	    {"db]", 2, "']' without a matching '['"},
	    {"[]x", 0, "empty set '[]'"},
	    {"x[!]", 1, "empty set '[]'"},
	    {"a b", 1, "invalid character in VM pattern"},
	    {"a/b", 1, "invalid character in VM pattern"},
	    {"web\\*", 3, "backslash escapes are not supported in VM patterns"},
	    {"[z-a]", 1, "reversed range in a set"},
	    {"[a-z/]", 4, "invalid character in a set"},
	    {"[a-/]", 3, "invalid character in a set"},
	    {"[[:alpha:]]", 1,
	     "'[' inside a set (character classes are not supported)"},
	};
	size_t off;
	const char *msg;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (vmglob_check(bad[i].pat, strlen(bad[i].pat), &off, &msg) ==
		    0)
			fail_msg("'%s' accepted", bad[i].pat);
		if (off != bad[i].off || strcmp(msg, bad[i].msg) != 0)
			fail_msg("'%s': got '%s' at %zu, want '%s' at %zu",
				 bad[i].pat, msg, off, bad[i].msg, bad[i].off);
	}
	/* a NUL inside is not part of a name either */
	assert_int_equal(vmglob_check("ab\0c", 4, &off, &msg), -1);
	assert_int_equal(off, 2);
	char longpat[300];
	memset(longpat, 'a', sizeof(longpat));
	assert_int_equal(vmglob_check(longpat, 256, &off, &msg), -1);
	assert_string_equal(msg, "VM pattern longer than 255 characters");
	assert_int_equal(vmglob_check(longpat, 255, &off, &msg), 0);
}

static void
test_match(void **state)
{
	static const struct {
		const char *pat, *name;
		bool match;
	} cases[] = {
	    {"web1", "web1", true},
	    {"web1", "web10", false},
	    {"web1", "web", false},
	    {"web*", "web", true},
	    {"web*", "web1", true},
	    {"web*", "db1", false},
	    {"*", "", true},
	    {"*", "anything", true},
	    {"*1", "web1", true},
	    {"*1", "web12", false},
	    {"w*b*1", "wxbyb1", true},
	    {"w*b*1", "wxbyb2", false},
	    {"w?b1", "web1", true},
	    {"w?b1", "wb1", false},
	    {"db[12]", "db1", true},
	    {"db[12]", "db3", false},
	    {"db[!12]", "db3", true},
	    {"db[!12]", "db1", false},
	    {"db[^12]", "db2", false},
	    {"db[0-9]", "db7", true},
	    {"db[0-9]", "dbx", false},
	    {"[-a]x", "-x", true},
	    {"[a-]x", "-x", true},
	    {"[a-]x", "bx", false},
	    {"x[0-9a-f-]", "x-", true},
	    {"x[0-9a-f-]", "xe", true},
	    {"x[0-9a-f-]", "xg", false},
	    {"**a", "ba", true},
	    {"a*", "A", false}, /* case matters */
	    {"*a*a*a", "aaa", true},
	    {"*a*a*a", "aa", false},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		if (vmglob_match(cases[i].pat, cases[i].name) != cases[i].match)
			fail_msg("'%s' vs '%s': want %s", cases[i].pat,
				 cases[i].name,
				 cases[i].match ? "match" : "no");
	}
	assert_true(vmglob_is_literal("web1"));
	assert_false(vmglob_is_literal("web?"));
	assert_false(vmglob_is_literal("web[1]"));
}

/* fnmatch backtracks exponentially on this; ours must not */
static void
test_no_blowup(void **state)
{
	char pat[256], name[65];
	size_t n = 0;
	clock_t t0;

	(void)state;
	while (n + 2 < 250) {
		pat[n++] = '*';
		pat[n++] = 'a';
	}
	pat[n++] = 'b';
	pat[n] = '\0';
	memset(name, 'a', 64);
	name[64] = '\0';
	t0 = clock();
	for (int i = 0; i < 1000; i++)
		assert_false(vmglob_match(pat, name));
	assert_true((double)(clock() - t0) / CLOCKS_PER_SEC < 5.0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_valid),
	    cmocka_unit_test(test_invalid),
	    cmocka_unit_test(test_match),
	    cmocka_unit_test(test_no_blowup),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
