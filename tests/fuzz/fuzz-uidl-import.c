/* Copyright (c) 2026 pop3-policy authors, see the included COPYING file */

/* The UIDL import file parser (pop3-policy-uidl.c). A map it returns
   must answer every one of its entries, before and after freezing, and
   survive the store's chunk codec (pop3-policy-uidl-map.c) unchanged. */

#include "lib.h"
#include "fuzz-common.h"
#include "pop3-policy-record.h"
#include "pop3-policy-uidl.h"
#include "pop3-policy-uidl-map.h"

static void fuzz_map_check(struct pop3_policy_uidl_map *map)
{
	const struct pop3_policy_uidl_map_entry *entry;
	const char *uidl;

	array_foreach(&map->entries, entry) {
		uidl = pop3_policy_uidl_map_lookup(map, entry->key);
		i_assert(uidl != NULL && strcmp(uidl, entry->uidl) == 0);
	}
}

static void fuzz_map_chunks(struct pop3_policy_uidl_map *map)
{
	struct pop3_policy_uidl_map *map2 = pop3_policy_uidl_map_create();
	const char *const *chunks, *const *fields, *error;
	const struct pop3_policy_uidl_map_entry *entry;
	const char *uidl;

	for (chunks = pop3_policy_uidl_map_encode_chunks(map);
	     *chunks != NULL; chunks++) {
		i_assert(strlen(*chunks) < POP3_POLICY_UIDL_MAP_CHUNK_MAX);
		i_assert(pop3_policy_record_decode(
			POP3_POLICY_RECORD_UIDL_MAP_CHUNK, *chunks,
			&fields, &error) == 0);
		if (pop3_policy_uidl_map_decode_chunk(map2, fields,
						      &error) < 0)
			i_panic("chunk does not decode: %s", error);
	}
	i_assert(pop3_policy_uidl_map_count(map2) ==
		 pop3_policy_uidl_map_count(map));
	array_foreach(&map->entries, entry) {
		uidl = pop3_policy_uidl_map_lookup(map2, entry->key);
		i_assert(uidl != NULL && strcmp(uidl, entry->uidl) == 0);
	}
	pop3_policy_uidl_map_free(&map2);
}

void fuzz_one(const unsigned char *data, size_t size,
	      const char *str ATTR_UNUSED)
{
	struct pop3_policy_uidl_map *map;
	const char *error;

	if (pop3_policy_uidl_import_parse((const char *)data, size,
					  &map, &error) < 0) {
		i_assert(error != NULL);
		return;
	}
	fuzz_map_check(map);
	fuzz_map_chunks(map);
	pop3_policy_uidl_map_freeze(map);
	fuzz_map_check(map);
	pop3_policy_uidl_map_free(&map);
}
