/* Copyright (c) 2026 pop3-policy authors, see the included COPYING file */

/* APOP secret records (layout in pop3-policy-apop.h).

   Worked example: `doveadm pop3-apop set -u alice` under key "2" at
   1795391833 stores

     key   shared/pop3-policy/apop/alice
     value "1\tapop\t2\t1795391833\t<24 hex>\t<2*len hex>\t<32 hex>"

   The associated data is "pop3-policy-apop-v1" NUL user NUL key id NUL
   set time (decimal), so moving a record to another user, relabelling it
   with another key id or changing its set time breaks the tag. A fresh
   random 96-bit nonce is used for every encryption; a key encrypts far
   fewer than 2^32 records, well inside GCM's random-nonce bound. */

#include "lib.h"
#include "str.h"
#include "buffer.h"
#include "hex-binary.h"
#include "randgen.h"
#include "safe-memset.h"
#include "pop3-policy-apop.h"

#include <openssl/evp.h>

#define APOP_NONCE_SIZE 12
#define APOP_TAG_SIZE 16
#define APOP_AAD_LABEL "pop3-policy-apop-v1"

static const char secret_alphabet[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

int pop3_policy_apop_secret_validate(const char *secret, const char **error_r)
{
	size_t len = strlen(secret);
	const unsigned char *p;

	if (len == 0) {
		*error_r = "APOP secret is empty";
		return -1;
	}
	if (len > POP3_POLICY_APOP_SECRET_MAX_LEN) {
		*error_r = t_strdup_printf(
			"APOP secret is longer than %u characters",
			POP3_POLICY_APOP_SECRET_MAX_LEN);
		return -1;
	}
	for (p = (const unsigned char *)secret; *p != '\0'; p++) {
		if (*p < 0x20 || *p == 0x7f) {
			*error_r = "APOP secret contains a control character";
			return -1;
		}
	}
	if (secret[0] == ' ' || secret[len-1] == ' ') {
		*error_r = "APOP secret begins or ends with a space";
		return -1;
	}
	return 0;
}

const char *pop3_policy_apop_secret_generate(void)
{
	const unsigned int alphabet_len = sizeof(secret_alphabet) - 1;
	unsigned char rnd[POP3_POLICY_APOP_SECRET_GEN_LEN * 2];
	char *secret = t_malloc0(POP3_POLICY_APOP_SECRET_GEN_LEN + 1);
	unsigned int i, n = 0;

	/* rejection sampling keeps every character uniform: 248 is the
	   largest multiple of 62 below 256 */
	while (n < POP3_POLICY_APOP_SECRET_GEN_LEN) {
		random_fill(rnd, sizeof(rnd));
		for (i = 0; i < sizeof(rnd) &&
			    n < POP3_POLICY_APOP_SECRET_GEN_LEN; i++) {
			if (rnd[i] < 248)
				secret[n++] = secret_alphabet[rnd[i] % alphabet_len];
		}
	}
	safe_memset(rnd, 0, sizeof(rnd));
	return secret;
}

static buffer_t *apop_aad(const char *user, const char *key_id,
			  const char *set_time)
{
	buffer_t *aad = t_buffer_create(128);

	buffer_append(aad, APOP_AAD_LABEL, strlen(APOP_AAD_LABEL) + 1);
	buffer_append(aad, user, strlen(user) + 1);
	buffer_append(aad, key_id, strlen(key_id) + 1);
	buffer_append(aad, set_time, strlen(set_time));
	return aad;
}

const char *const *
pop3_policy_apop_encrypt(const struct pop3_policy_apop_key *key,
			 const char *user, time_t set_time,
			 const char *secret)
{
	unsigned char nonce[APOP_NONCE_SIZE], tag[APOP_TAG_SIZE];
	size_t secret_len = strlen(secret);
	unsigned char *ct = t_malloc0(secret_len + 1);
	const char *set_time_str = dec2str(set_time);
	const char **fields;
	buffer_t *aad;
	EVP_CIPHER_CTX *ctx;
	int len, ok;

	random_fill(nonce, sizeof(nonce));
	aad = apop_aad(user, key->id, set_time_str);

	ctx = EVP_CIPHER_CTX_new();
	if (ctx == NULL)
		i_fatal_status(FATAL_OUTOFMEM, "EVP_CIPHER_CTX_new() failed");
	ok = EVP_EncryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, NULL, NULL) == 1 &&
		EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_IVLEN,
				    APOP_NONCE_SIZE, NULL) == 1 &&
		EVP_EncryptInit_ex(ctx, NULL, NULL, key->key, nonce) == 1 &&
		EVP_EncryptUpdate(ctx, NULL, &len, aad->data, aad->used) == 1 &&
		EVP_EncryptUpdate(ctx, ct, &len, (const unsigned char *)secret,
				  secret_len) == 1 &&
		(size_t)len == secret_len &&
		EVP_EncryptFinal_ex(ctx, ct + len, &len) == 1 && len == 0 &&
		EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG,
				    APOP_TAG_SIZE, tag) == 1;
	EVP_CIPHER_CTX_free(ctx);
	/* AES-GCM with valid sizes cannot fail short of a broken
	   library; never store a record that may not decrypt */
	if (!ok)
		i_panic("AES-256-GCM encryption failed in OpenSSL");

	fields = t_new(const char *, 6);
	fields[0] = t_strdup(key->id);
	fields[1] = set_time_str;
	fields[2] = binary_to_hex(nonce, sizeof(nonce));
	fields[3] = binary_to_hex(ct, secret_len);
	fields[4] = binary_to_hex(tag, sizeof(tag));
	safe_memset(ct, 0, secret_len);
	return fields;
}

const char *const *
pop3_policy_apop_plain_fields(time_t set_time, const char *secret)
{
	const char **fields = t_new(const char *, 4);

	fields[0] = POP3_POLICY_APOP_PLAIN_KEY_ID;
	fields[1] = dec2str(set_time);
	fields[2] = t_strdup(secret);
	return fields;
}

int pop3_policy_apop_record_info(const char *const *fields,
				 const char **key_id_r, time_t *set_time_r,
				 const char **error_r)
{
	unsigned int count = str_array_length(fields);
	uintmax_t set_time;

	if (count < 3) {
		*error_r = "malformed APOP record: too few fields";
		return -1;
	}
	if (strcmp(fields[0], POP3_POLICY_APOP_PLAIN_KEY_ID) != 0) {
		if (!pop3_policy_apop_key_id_is_valid(fields[0])) {
			*error_r = "malformed APOP record: invalid key id";
			return -1;
		}
		if (count < 5) {
			*error_r = "malformed APOP record: encrypted record "
				"is truncated (needs nonce, ciphertext, tag)";
			return -1;
		}
	}
	/* bounded by the last second of year 9999, so that localtime()
	   can always take it (doveadm pop3-apop status prints it) */
	if (str_to_uintmax(fields[1], &set_time) < 0 ||
	    set_time > POP3_POLICY_APOP_MAX_SET_TIME) {
		*error_r = "malformed APOP record: invalid set time";
		return -1;
	}
	*key_id_r = fields[0];
	*set_time_r = (time_t)set_time;
	return 0;
}

static int
hex_field(const char *hex, size_t want_size, buffer_t *dest,
	  const char *name, const char **error_r)
{
	if (hex_to_binary(hex, dest) < 0 ||
	    (want_size != 0 && dest->used != want_size)) {
		*error_r = t_strdup_printf(
			"malformed APOP record: bad %s field", name);
		return -1;
	}
	return 0;
}

static int
apop_decrypt_gcm(const struct pop3_policy_apop_key *key, const char *user,
		 const char *const *fields, const char **secret_r,
		 const char **error_r)
{
	buffer_t *nonce = t_buffer_create(APOP_NONCE_SIZE);
	buffer_t *ct = t_buffer_create(64);
	buffer_t *tag = t_buffer_create(APOP_TAG_SIZE);
	buffer_t *aad;
	unsigned char *pt;
	EVP_CIPHER_CTX *ctx;
	int len, final_len, ok;

	if (hex_field(fields[2], APOP_NONCE_SIZE, nonce, "nonce", error_r) < 0 ||
	    hex_field(fields[3], 0, ct, "ciphertext", error_r) < 0 ||
	    hex_field(fields[4], APOP_TAG_SIZE, tag, "tag", error_r) < 0)
		return -1;
	if (ct->used == 0 || ct->used > POP3_POLICY_APOP_SECRET_MAX_LEN) {
		*error_r = "malformed APOP record: bad ciphertext length";
		return -1;
	}
	aad = apop_aad(user, fields[0], fields[1]);
	pt = t_malloc0(ct->used + 1);

	ctx = EVP_CIPHER_CTX_new();
	if (ctx == NULL)
		i_fatal_status(FATAL_OUTOFMEM, "EVP_CIPHER_CTX_new() failed");
	ok = EVP_DecryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, NULL, NULL) == 1 &&
		EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_IVLEN,
				    APOP_NONCE_SIZE, NULL) == 1 &&
		EVP_DecryptInit_ex(ctx, NULL, NULL, key->key,
				   nonce->data) == 1 &&
		EVP_DecryptUpdate(ctx, NULL, &len, aad->data, aad->used) == 1 &&
		EVP_DecryptUpdate(ctx, pt, &len, ct->data, ct->used) == 1 &&
		EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, APOP_TAG_SIZE,
				    buffer_get_modifiable_data(tag, NULL)) == 1 &&
		EVP_DecryptFinal_ex(ctx, pt + len, &final_len) == 1;
	EVP_CIPHER_CTX_free(ctx);
	if (!ok) {
		safe_memset(pt, 0, ct->used);
		*error_r = t_strdup_printf(
			"APOP record does not decrypt under key %s (wrong key "
			"or altered record)", fields[0]);
		return -1;
	}
	if (memchr(pt, '\0', ct->used) != NULL) {
		safe_memset(pt, 0, ct->used);
		*error_r = "APOP record decrypts to an invalid secret";
		return -1;
	}
	*secret_r = (const char *)pt;
	return 0;
}

int pop3_policy_apop_decrypt(const struct pop3_policy_apop_keyring *ring,
			     const char *user, const char *const *fields,
			     const char **secret_r, const char **key_id_r,
			     const char **error_r)
{
	const struct pop3_policy_apop_key *key;
	const char *key_id;
	time_t set_time;

	if (pop3_policy_apop_record_info(fields, &key_id, &set_time,
					 error_r) < 0)
		return -1;
	*key_id_r = key_id;
	if (strcmp(key_id, POP3_POLICY_APOP_PLAIN_KEY_ID) == 0) {
		if (pop3_policy_apop_secret_validate(fields[2], error_r) < 0) {
			*error_r = t_strdup_printf(
				"malformed APOP record: %s", *error_r);
			return -1;
		}
		*secret_r = fields[2];
		return 1;
	}
	key = ring == NULL ? NULL : pop3_policy_apop_keyring_find(ring, key_id);
	if (key == NULL)
		return 0;
	if (apop_decrypt_gcm(key, user, fields, secret_r, error_r) < 0)
		return -1;
	return 1;
}
