/* Copyright (c) 2026 pop3-policy authors, see the included COPYING file */

/* The retention move journal (pop3-policy-move-journal.c), parsed as a
   retention run reads it before its repair. */

#include "lib.h"
#include "fuzz-common.h"
#include "pop3-policy-move-journal.h"

void fuzz_one(const unsigned char *data, size_t size,
	      const char *str ATTR_UNUSED)
{
	const char *error;
	unsigned int count;

	if (pop3_policy_move_journal_parse(data, size, &count, &error) < 0)
		i_assert(error != NULL);
}
