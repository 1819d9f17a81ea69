/* Copyright (c) 2026 pop3-policy authors, see the included COPYING file */

/* The record envelope (pop3-policy-record.c): any value read from the
   store, decoded as every kind. A record that decodes must encode back
   into a record that decodes to the same fields. */

#include "lib.h"
#include "fuzz-common.h"
#include "pop3-policy-record.h"

static void fuzz_record_kind(enum pop3_policy_record_kind kind,
			     const char *record)
{
	const char *const *fields, *const *fields2, *error;
	unsigned int i;

	if (pop3_policy_record_decode(kind, record, &fields, &error) < 0) {
		i_assert(error != NULL);
		return;
	}
	i_assert(str_array_length(fields) >=
		 pop3_policy_record_kind_min_fields(kind));
	i_assert(pop3_policy_record_decode(kind,
		pop3_policy_record_encode(kind, fields),
		&fields2, &error) == 0);
	for (i = 0; fields[i] != NULL; i++)
		i_assert(fields2[i] != NULL && strcmp(fields[i], fields2[i]) == 0);
	i_assert(fields2[i] == NULL);
}

void fuzz_one(const unsigned char *data ATTR_UNUSED, size_t size ATTR_UNUSED,
	      const char *str)
{
	enum pop3_policy_record_kind kind;

	for (kind = 0; kind < POP3_POLICY_RECORD_KIND_COUNT; kind++)
		fuzz_record_kind(kind, str);
}
