#ifndef POP3_POLICY_APOP_H
#define POP3_POLICY_APOP_H

/* The APOP secret record codec: AES-256-GCM (OpenSSL EVP) under a key of
   the key file, bound to the user name, key id and set time by the
   associated data, so that a record copied to another user's key or
   edited in any field fails to decrypt instead of being misread.

   Payload fields of a shared/pop3-policy/apop/<user> record (see
   pop3-policy-record.c for the record envelope):

     encrypted: <key id> <set time> <nonce hex, 12 bytes>
                <ciphertext hex> <tag hex, 16 bytes>
     plaintext: PLAIN <set time> <secret>   (only from set --plaintext)

   Secrets are 1..255 printable characters; generated secrets are
   POP3_POLICY_APOP_SECRET_GEN_LEN characters of [A-Za-z0-9] (about 190
   bits). Errors never quote a secret or key material. */

#include "pop3-policy-apop-key.h"

#define POP3_POLICY_APOP_SECRET_MAX_LEN 255
#define POP3_POLICY_APOP_SECRET_GEN_LEN 32
/* The latest set time a record may carry: 9999-12-31 23:59:59 UTC */
#define POP3_POLICY_APOP_MAX_SET_TIME 253402300799ULL

/* Returns 0 if the secret may be stored, -1 with error_r saying why not
   (empty, too long, a control character or a space at either end). */
int pop3_policy_apop_secret_validate(const char *secret, const char **error_r);
/* Returns a new random secret (data stack; clear it with safe_memset()
   after use). */
const char *pop3_policy_apop_secret_generate(void);

/* Encrypts the secret for the user under the key. Returns the record's
   payload fields (NULL-terminated, data stack). */
const char *const *
pop3_policy_apop_encrypt(const struct pop3_policy_apop_key *key,
			 const char *user, time_t set_time,
			 const char *secret);
/* Returns the payload fields of a PLAIN record (data stack). */
const char *const *
pop3_policy_apop_plain_fields(time_t set_time, const char *secret);

/* Reads the key id and set time of a record's payload fields without
   decrypting it. Returns 0, or -1 with error_r if the fields are
   malformed. */
int pop3_policy_apop_record_info(const char *const *fields,
				 const char **key_id_r, time_t *set_time_r,
				 const char **error_r);

/* Decrypts a record's payload fields for the user. ring may be NULL when no
   key file is configured (then only PLAIN records can be read). Returns 1
   with the secret in secret_r (data stack; clear it after use), 0 if the
   record is under a key id the ring does not have (key_id_r set, so the
   caller may re-read a changed key file and retry), -1 with error_r if the
   record is malformed, truncated, altered, for another user or the key is
   wrong. */
int pop3_policy_apop_decrypt(const struct pop3_policy_apop_keyring *ring,
			     const char *user, const char *const *fields,
			     const char **secret_r, const char **key_id_r,
			     const char **error_r);

#endif
