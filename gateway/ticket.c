#include "ticket.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/provider.h>
#include <openssl/rand.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xmalloc.h"

struct ticket {
	struct ticket *next;
	char pw[TICKET_LEN + 1];
	char user[CONFIG_MAX_NAME + 1];
	char vm[CONFIG_MAX_NAME + 1];
	uint64_t expires_ms;
};

struct tickets {
	OSSL_LIB_CTX *lib;
	OSSL_PROVIDER *legacy, *dflt;
	EVP_CIPHER *des;
	unsigned lifetime_s;
	struct ticket *list; /* newest first */
	size_t n;
};

struct tickets *
tickets_new(unsigned lifetime_s, char *err, size_t errlen)
{
	struct tickets *t = xcalloc(1, sizeof(*t));

	t->lifetime_s = lifetime_s;
	t->lib = OSSL_LIB_CTX_new();
	if (t->lib != NULL) {
		t->legacy = OSSL_PROVIDER_load(t->lib, "legacy");
		t->dflt = OSSL_PROVIDER_load(t->lib, "default");
	}
	if (t->legacy == NULL || t->dflt == NULL ||
	    (t->des = EVP_CIPHER_fetch(t->lib, "DES-ECB", NULL)) == NULL) {
		snprintf(err, errlen,
			 "VNC tickets need DES from OpenSSL's legacy provider, "
			 "which could not be loaded");
		tickets_free(t);
		return NULL;
	}
	return t;
}

static void
ticket_drop(struct tickets *t, struct ticket **pp)
{
	struct ticket *k = *pp;

	*pp = k->next;
	OPENSSL_cleanse(k, sizeof(*k));
	free(k);
	t->n--;
}

void
tickets_free(struct tickets *t)
{
	if (t == NULL)
		return;
	while (t->list)
		ticket_drop(t, &t->list);
	EVP_CIPHER_free(t->des);
	OSSL_PROVIDER_unload(t->legacy);
	OSSL_PROVIDER_unload(t->dflt);
	OSSL_LIB_CTX_free(t->lib);
	free(t);
}

static void
expire(struct tickets *t, uint64_t now_ms)
{
	for (struct ticket **pp = &t->list; *pp;)
		if ((*pp)->expires_ms <= now_ms)
			ticket_drop(t, pp);
		else
			pp = &(*pp)->next;
}

size_t
tickets_count(struct tickets *t, uint64_t now_ms)
{
	expire(t, now_ms);
	return t->n;
}

int
tickets_issue(struct tickets *t, const char *user, const char *vm,
	      uint64_t now_ms, char pw[TICKET_LEN + 1], char *err,
	      size_t errlen)
{
	/* No look-alikes (0/O, 1/l/I): people may type it. */
	static const char alphabet[] = "abcdefghijkmnopqrstuvwxyz"
				       "ABCDEFGHJKLMNPQRSTUVWXYZ23456789";
	uint8_t rnd[TICKET_LEN];
	size_t mine = 0;
	struct ticket **oldest = NULL;

	expire(t, now_ms);
	for (struct ticket **pp = &t->list; *pp; pp = &(*pp)->next)
		if (strcmp((*pp)->user, user) == 0) {
			mine++;
			oldest = pp;
		}
	if (mine >= TICKET_PER_USER)
		ticket_drop(t, oldest);
	if (t->n >= TICKET_MAX) {
		snprintf(err, errlen, "%d tickets are live; try again later",
			 TICKET_MAX);
		return -1;
	}
	/* Bytes under 4 x the alphabet map evenly onto it (the rest are
	 * drawn again). */
	for (size_t i = 0; i < TICKET_LEN;) {
		if (RAND_bytes(rnd, 1) != 1) {
			snprintf(err, errlen, "no random bytes");
			return -1;
		}
		if (rnd[0] < 4 * (sizeof(alphabet) - 1))
			pw[i++] = alphabet[rnd[0] % (sizeof(alphabet) - 1)];
	}
	pw[TICKET_LEN] = '\0';
	struct ticket *k = xcalloc(1, sizeof(*k));
	memcpy(k->pw, pw, sizeof(k->pw));
	snprintf(k->user, sizeof(k->user), "%s", user);
	snprintf(k->vm, sizeof(k->vm), "%s", vm);
	k->expires_ms = now_ms + (uint64_t)t->lifetime_s * 1000;
	k->next = t->list;
	t->list = k;
	t->n++;
	OPENSSL_cleanse(rnd, sizeof(rnd));
	return 0;
}

int
tickets_vnc_response(struct tickets *t, const char *pw,
		     const uint8_t *challenge, uint8_t *response)
{
	uint8_t key[8] = {0};
	int len = 0, fin = 0, ok;
	size_t n = strnlen(pw, sizeof(key));

	for (size_t i = 0; i < n; i++) {
		uint8_t b = (uint8_t)pw[i], r = 0;
		for (int bit = 0; bit < 8; bit++)
			if (b & (1u << bit))
				r |= (uint8_t)(0x80u >> bit);
		key[i] = r;
	}
	EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
	ok = ctx != NULL &&
	     EVP_EncryptInit_ex2(ctx, t->des, key, NULL, NULL) == 1 &&
	     EVP_CIPHER_CTX_set_padding(ctx, 0) == 1 &&
	     EVP_EncryptUpdate(ctx, response, &len, challenge,
			       TICKET_CHALLENGE_LEN) == 1 &&
	     EVP_EncryptFinal_ex(ctx, response + len, &fin) == 1 &&
	     len + fin == TICKET_CHALLENGE_LEN;
	EVP_CIPHER_CTX_free(ctx);
	OPENSSL_cleanse(key, sizeof(key));
	return ok ? 0 : -1;
}

int
tickets_redeem(struct tickets *t, const uint8_t *challenge,
	       const uint8_t *response, uint64_t now_ms,
	       char user[CONFIG_MAX_NAME + 1], char vm[CONFIG_MAX_NAME + 1])
{
	uint8_t want[TICKET_CHALLENGE_LEN];

	expire(t, now_ms);
	for (struct ticket **pp = &t->list; *pp; pp = &(*pp)->next) {
		if (tickets_vnc_response(t, (*pp)->pw, challenge, want) != 0)
			continue;
		bool match = CRYPTO_memcmp(want, response, sizeof(want)) == 0;
		OPENSSL_cleanse(want, sizeof(want));
		if (match) {
			memcpy(user, (*pp)->user, CONFIG_MAX_NAME + 1);
			memcpy(vm, (*pp)->vm, CONFIG_MAX_NAME + 1);
			ticket_drop(t, pp);
			return 0;
		}
	}
	return -1;
}
