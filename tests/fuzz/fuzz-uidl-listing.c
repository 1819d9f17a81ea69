/* Copyright (c) 2026 pop3-policy authors, see the included COPYING file */

/* The parser of a captured POP3 UIDL listing
   (pop3-policy-uidl-import.c). Every line it returns holds a valid
   UIDL. */

#include "lib.h"
#include "fuzz-common.h"
#include "pop3-policy-uidl.h"

void fuzz_one(const unsigned char *data, size_t size,
	      const char *str ATTR_UNUSED)
{
	ARRAY_TYPE(pop3_policy_uidl_listing_line) lines;
	const struct pop3_policy_uidl_listing_line *line;
	const char *error;
	pool_t pool;

	pool = pool_alloconly_create("fuzz listing", 1024);
	if (pop3_policy_uidl_listing_parse((const char *)data, size, pool,
					   &lines, &error) < 0) {
		i_assert(error != NULL);
	} else {
		array_foreach(&lines, line) {
			i_assert(line->line > 0);
			i_assert(pop3_policy_uidl_validate(line->uidl,
							   &error) == 0);
		}
	}
	pool_unref(&pool);
}
