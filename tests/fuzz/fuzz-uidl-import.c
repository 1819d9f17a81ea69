/* Copyright (c) 2026 pop3-policy authors, see the included COPYING file */

/* The UIDL import file parser (pop3-policy-uidl-import.c). A map it
   returns must answer every one of its entries, before and after
   freezing (pop3-policy-uidl-map.c), and
   survive the map file's layout (pop3-policy-uidl-map-file.c, written and
   parsed back in memory) unchanged. */

#include "lib.h"
#include "fuzz-common.h"
#include "pop3-policy-state-file.h"
#include "pop3-policy-uidl.h"
#include "pop3-policy-uidl-map-file.h"

static void fuzz_map_check(struct pop3_policy_uidl_map *map)
{
	const struct pop3_policy_uidl_map_entry *entry;
	const char *uidl;

	array_foreach(&map->entries, entry) {
		uidl = pop3_policy_uidl_map_lookup(map, entry->key);
		i_assert(uidl != NULL && strcmp(uidl, entry->uidl) == 0);
	}
}

static void fuzz_map_file(struct pop3_policy_uidl_map *map)
{
	static const struct pop3_policy_state_file_perm perm = {
		.mode = 0600, .gid = (gid_t)-1, .no_fsync = TRUE,
	};
	struct pop3_policy_uidl_map *map2;
	const struct pop3_policy_uidl_map_entry *entry;
	const char *path, *error, *uidl;

	path = fuzz_write_file(POP3_POLICY_UIDL_MAP_FILE_NAME, "", 0);
	if (pop3_policy_uidl_map_file_write(path, &perm, map, &error) < 0)
		i_panic("writing the map failed: %s", error);
	if (pop3_policy_uidl_map_file_read(path, 0, &map2, &error) <= 0)
		i_panic("the map file does not read back: %s", error);
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
	/* writing freezes the map */
	fuzz_map_file(map);
	fuzz_map_check(map);
	pop3_policy_uidl_map_free(&map);
}
