/* Copyright (c) 2026 pop3-policy authors, see the included COPYING file */

/* A UIDL map chunk record (pop3-policy-uidl-map.c) as a session loads it
   from the store: the envelope, then its entries. The entries it adds
   must be found again, before and after freezing. */

#include "lib.h"
#include "fuzz-common.h"
#include "pop3-policy-record.h"
#include "pop3-policy-uidl-map.h"

void fuzz_one(const unsigned char *data ATTR_UNUSED, size_t size ATTR_UNUSED,
	      const char *str)
{
	struct pop3_policy_uidl_map *map;
	const struct pop3_policy_uidl_map_entry *entry;
	const char *const *fields, *error;
	unsigned int pass;

	if (pop3_policy_record_decode(POP3_POLICY_RECORD_UIDL_MAP_CHUNK, str,
				      &fields, &error) < 0)
		return;
	map = pop3_policy_uidl_map_create();
	if (pop3_policy_uidl_map_decode_chunk(map, fields, &error) < 0)
		i_assert(error != NULL);
	else {
		for (pass = 0; pass < 2; pass++) {
			array_foreach(&map->entries, entry) {
				i_assert(pop3_policy_uidl_map_lookup(map,
					entry->key) != NULL);
			}
			pop3_policy_uidl_map_freeze(map);
		}
	}
	pop3_policy_uidl_map_free(&map);
}
