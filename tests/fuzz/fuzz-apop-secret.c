/* Copyright (c) 2026 pop3-policy authors, see the included COPYING file */

/* APOP secret validation (pop3-policy-apop.c): a secret it accepts is
   1..255 bytes and survives a PLAIN record: the envelope, then reading
   it without a key ring. */

#include "lib.h"
#include "fuzz-common.h"
#include "pop3-policy-record.h"
#include "pop3-policy-apop.h"

void fuzz_one(const unsigned char *data ATTR_UNUSED, size_t size ATTR_UNUSED,
	      const char *str)
{
	const char *const *fields, *secret, *key_id, *error;

	if (pop3_policy_apop_secret_validate(str, &error) < 0) {
		i_assert(error != NULL);
		return;
	}
	i_assert(str[0] != '\0' &&
		 strlen(str) <= POP3_POLICY_APOP_SECRET_MAX_LEN);
	i_assert(pop3_policy_record_decode(POP3_POLICY_RECORD_APOP,
		pop3_policy_record_encode(POP3_POLICY_RECORD_APOP,
			pop3_policy_apop_plain_fields(1795391833, str)),
		&fields, &error) == 0);
	if (pop3_policy_apop_decrypt(NULL, "alice", fields, &secret,
				     &key_id, &error) != 1)
		i_panic("PLAIN record of a valid secret: %s", error);
	i_assert(strcmp(secret, str) == 0);
}
