/* Unit tests for the pvpanic device, driven through the bus as a guest. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "bus.h"
#include "pvpanic.h"

static int panicked, crash_loaded;

static void
on_event(void *opaque, enum pvpanic_event ev)
{
	assert_ptr_equal(opaque, &panicked);
	if (ev == PVPANIC_EVENT_PANICKED)
		panicked++;
	else
		crash_loaded++;
}

static void
setup(struct bus *b, struct pvpanic *p)
{
	bus_init(b, NULL, NULL);
	panicked = crash_loaded = 0;
	pvpanic_init(p, on_event, &panicked);
	assert_int_equal(bus_register(b, BUS_PIO, PVPANIC_PORT, 1, &p->dev), 0);
}

static void
out8(struct bus *b, uint8_t v)
{
	assert_true(bus_access(b, BUS_PIO, PVPANIC_PORT, &v, 1, true));
}

static void
read_reports_the_events(void **state)
{
	struct bus b;
	struct pvpanic p;
	uint8_t v = 0;
	uint8_t w[4] = {0xff, 0xff, 0xff, 0xff};
	(void)state;
	setup(&b, &p);
	assert_true(bus_access(&b, BUS_PIO, PVPANIC_PORT, &v, 1, false));
	assert_int_equal(v, PVPANIC_PANICKED | PVPANIC_CRASH_LOADED);
	/* a 32-bit read sees the byte and zeros, not garbage */
	assert_true(bus_access(&b, BUS_PIO, PVPANIC_PORT, w, 4, false));
	assert_int_equal(w[0], 3);
	assert_int_equal(w[1] | w[2] | w[3], 0);
	/* the port next to it is nobody's */
	assert_false(bus_access(&b, BUS_PIO, PVPANIC_PORT + 1, &v, 1, false));
	assert_int_equal(v, 0xff);
	assert_int_equal(panicked + crash_loaded, 0);
}

static void
writes_make_events(void **state)
{
	struct bus b;
	struct pvpanic p;
	(void)state;
	setup(&b, &p);
	out8(&b, 0);
	out8(&b, 0xfc); /* unknown bits only */
	assert_int_equal(panicked + crash_loaded, 0);
	out8(&b, PVPANIC_CRASH_LOADED);
	assert_int_equal(crash_loaded, 1);
	assert_int_equal(panicked, 0);
	out8(&b, PVPANIC_PANICKED);
	assert_int_equal(panicked, 1);
	out8(&b, PVPANIC_PANICKED | PVPANIC_CRASH_LOADED); /* PANICKED wins */
	assert_int_equal(panicked, 2);
	assert_int_equal(crash_loaded, 1);
	/* a 16-bit write: its low byte is at the port */
	uint8_t w[2] = {PVPANIC_PANICKED, 0};
	assert_true(bus_access(&b, BUS_PIO, PVPANIC_PORT, w, 2, true));
	assert_int_equal(panicked, 3);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(read_reports_the_events),
	    cmocka_unit_test(writes_make_events),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
