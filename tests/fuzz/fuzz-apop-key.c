/* Copyright (c) 2026 pop3-policy authors, see the included COPYING file */

/* The APOP key file parser (pop3-policy-apop-key.c), through its reader
   from a file of mode 0600. A ring it returns has a valid newest key that
   it finds by id, and is not stale right after the read. */

#include "lib.h"
#include "fuzz-common.h"
#include "pop3-policy-apop-key.h"

void fuzz_one(const unsigned char *data, size_t size,
	      const char *str ATTR_UNUSED)
{
	struct pop3_policy_apop_keyring *ring;
	const struct pop3_policy_apop_key *newest;
	const char *path, *error;

	path = fuzz_write_file("apop.keys", data, size);
	if (pop3_policy_apop_keyring_read(path, &ring, &error) < 0) {
		i_assert(error != NULL);
		return;
	}
	i_assert(pop3_policy_apop_keyring_count(ring) > 0);
	newest = pop3_policy_apop_keyring_newest(ring);
	i_assert(pop3_policy_apop_key_id_is_valid(newest->id));
	i_assert(pop3_policy_apop_keyring_find(ring, newest->id) == newest);
	i_assert(pop3_policy_apop_keyring_find(ring,
		POP3_POLICY_APOP_PLAIN_KEY_ID) == NULL);
	i_assert(!pop3_policy_apop_keyring_is_stale(ring, path));
	pop3_policy_apop_keyring_free(&ring);
}
