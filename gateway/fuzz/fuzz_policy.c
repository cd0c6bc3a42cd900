/*
 * policy.yaml loader and rights engine on arbitrary bytes: must never
 * crash, leak or hang. Whatever loads is queried for the names the seed
 * corpus uses, so the matcher runs on fuzzed rules and patterns.
 */
#include <stdint.h>
#include <stdlib.h>

#include "policy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const users[] = {"alice", "bob", "carol", "u", ""};
	static const char *const vms[] = {"web1", "web2", "db1",
					  "db2",  "v",	  ""};
	const size_t nvms = sizeof(vms) / sizeof(vms[0]);
	struct policy *pol = NULL;
	struct policy_reason why;
	struct diag d;
	size_t idx[sizeof(vms) / sizeof(vms[0])];
	char buf[256];

	diag_init(&d);
	policy_load_mem("fuzz/policy.yaml", data, size, POLICY_PARTIAL, &pol,
			&d);
	if (pol != NULL) {
		for (size_t u = 0; u < sizeof(users) / sizeof(users[0]); u++) {
			for (size_t v = 0; v < nvms; v++) {
				policy_rights(pol, users[u], vms[v], &why);
				for (int b = 0; b < POLICY_NRIGHTS; b++)
					policy_reason_str(&why, 1u << b, buf,
							  sizeof(buf));
			}
			policy_visible_vms(pol, users[u], vms, nvms, idx);
		}
		policy_check_vms(pol, vms, nvms, &d);
	}
	diag_sort(&d);
	for (size_t i = 0; i < d.n; i++)
		free(diag_format(&d.v[i]));
	policy_unref(pol);
	diag_clear(&d);
	return 0;
}
