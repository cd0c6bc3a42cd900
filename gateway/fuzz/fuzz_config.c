/*
 * vmgate.yaml loader on arbitrary bytes: must never crash, leak or hang,
 * whatever the file holds. Partial loading is on so that the code for
 * "report and carry on" runs too.
 */
#include <stdint.h>
#include <stdlib.h>

#include "config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct config *cfg = NULL;
	struct diag d;

	diag_init(&d);
	config_load_mem("fuzz/vmgate.yaml", data, size, CONFIG_PARTIAL, &cfg,
			&d);
	diag_sort(&d);
	for (size_t i = 0; i < d.n; i++)
		free(diag_format(&d.v[i]));
	if (cfg != NULL)
		(void)config_find_vm(cfg, "web1");
	config_free(cfg);
	diag_clear(&d);
	return 0;
}
