/* The gateway's host keys: read, or created on first start. */
#include <libssh/libssh.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "sshd_impl.h"
#include "xmalloc.h"

/* Host keys ---------------------------------------------------------------- */

int
sshd_hostkey_load(const char *dir, const char *file, enum ssh_keytypes_e type,
		  int bits, ssh_key *out, char *err, size_t errlen)
{
	char *path = xasprintf("%s/%s", dir, file);
	char *pub = xasprintf("%s/%s.pub", dir, file);
	ssh_key key = NULL;
	int r = -1;

	if (access(path, F_OK) != 0) {
		if (ssh_pki_generate(type, bits, &key) != SSH_OK) {
			snprintf(err, errlen, "cannot generate %s", file);
			goto out;
		}
		if (ssh_pki_export_privkey_file(key, NULL, NULL, NULL, path) !=
		    SSH_OK) {
			snprintf(err, errlen, "cannot write %s", path);
			goto out;
		}
		chmod(path, 0600);
		ssh_pki_export_pubkey_file(key, pub);
		LOG("created host key %s", path);
	} else if (ssh_pki_import_privkey_file(path, NULL, NULL, NULL, &key) !=
		   SSH_OK) {
		snprintf(err, errlen, "cannot read host key %s", path);
		goto out;
	}
	*out = key;
	key = NULL; /* transferred */
	r = 0;
out:
	ssh_key_free(key);
	free(path);
	free(pub);
	return r;
}
