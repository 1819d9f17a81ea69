#ifndef POP3_POLICY_APOP_KEY_H
#define POP3_POLICY_APOP_KEY_H

/* The APOP key file: the AES-256 keys that encrypt APOP secrets at rest.

   A text file, one key a line, newest last:

     # comment
     <key id> <64 hex digits: 32 random bytes>

   A key id is 1..32 characters of [A-Za-z0-9._-]; "PLAIN" is reserved for
   unencrypted records. The file must be a regular file owned by the
   reading user or root, and neither readable nor writable by group or
   others: a key anyone can read protects nothing, so a looser file is
   refused, never used. Keys are kept in memory that is cleared on free. */

#include <sys/types.h>

#define POP3_POLICY_APOP_KEY_SIZE 32
#define POP3_POLICY_APOP_KEY_ID_MAX_LEN 32
#define POP3_POLICY_APOP_PLAIN_KEY_ID "PLAIN"

struct pop3_policy_apop_key {
	char id[POP3_POLICY_APOP_KEY_ID_MAX_LEN + 1];
	unsigned char key[POP3_POLICY_APOP_KEY_SIZE];
};

struct pop3_policy_apop_keyring;

/* Returns TRUE if the string is a valid key id (and not "PLAIN"). */
bool pop3_policy_apop_key_id_is_valid(const char *id);

/* Reads the key file. Returns 0 on success, -1 with error_r naming the file
   and what is wrong (missing, not a regular file, wrong owner, loose
   permissions, a bad line with its number, a duplicate id, no key). Never
   quotes key material. */
int pop3_policy_apop_keyring_read(const char *path,
				  struct pop3_policy_apop_keyring **ring_r,
				  const char **error_r);
/* Clears the keys and frees the ring. NULL is ignored. */
void pop3_policy_apop_keyring_free(struct pop3_policy_apop_keyring **ring);

/* Returns the newest key (the last line); never NULL. */
const struct pop3_policy_apop_key *
pop3_policy_apop_keyring_newest(const struct pop3_policy_apop_keyring *ring);
/* Returns the key with the id, or NULL if the ring has none. */
const struct pop3_policy_apop_key *
pop3_policy_apop_keyring_find(const struct pop3_policy_apop_keyring *ring,
			      const char *id);
/* Returns the number of keys in the ring. */
unsigned int
pop3_policy_apop_keyring_count(const struct pop3_policy_apop_keyring *ring);
/* Returns TRUE if the file at path is no longer the one the ring was read
   from (other inode, size, modification or change time, or gone): a
   reader re-reads it then, which also re-checks its permissions after a
   chmod or chown. */
bool pop3_policy_apop_keyring_is_stale(const struct pop3_policy_apop_keyring *ring,
				       const char *path);

/* Appends a new random key to the key file, creating the file (mode 0600)
   if it does not exist; the existing file must pass the same checks as in
   pop3_policy_apop_keyring_read(). The file is replaced atomically (write
   to a temporary file, fsync, rename), so readers see the old or the new
   file, never half of one; writers are serialised with an fcntl lock
   on "<path>.lock", so concurrent adds keep every key. The new id is one
   more than the largest numeric id in the file ("1" for a new file).
   Returns 0 with the new id in new_id_r (data stack), -1 with error_r. */
int pop3_policy_apop_keyfile_add_key(const char *path, const char **new_id_r,
				     const char **error_r);

#endif
