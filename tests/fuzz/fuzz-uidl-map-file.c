/* Copyright (c) 2026 pop3-policy authors, see the included COPYING file */

/* The mailbox's UIDL map file (pop3-policy-uidl-map-file.c), parsed from
   a buffer as a session reads the file. So that the fuzzer gets past the
   checksum, the harness writes the right xxh64 into the header. A map the
   parser returns must answer lookups of all its entries without reading
   outside the data, and write back into a file that parses to the same
   entries. */

#include "lib.h"
#include "xxh64.h"
#include "fuzz-common.h"
#include "pop3-policy-state-file.h"
#include "pop3-policy-uidl-map-file.h"

/* the header layout (see the format at the top of the map file's source) */
#define MAP_HDR_SIZE 64
#define MAP_HDR_CHECKED 48
#define MAP_HDR_CHECKSUM_OFFSET 56

void fuzz_one(const unsigned char *data, size_t size,
	      const char *str ATTR_UNUSED)
{
	static const struct pop3_policy_state_file_perm perm = {
		.mode = 0600, .gid = (gid_t)-1, .no_fsync = TRUE,
	};
	struct pop3_policy_uidl_map *map, *map2;
	const struct pop3_policy_uidl_map_entry *entry;
	const struct pop3_policy_uidl_map_uid *uids;
	const char *error, *path, *uidl;
	unsigned char *file;
	uint64_t checksum;
	unsigned int i, count;

	file = t_malloc_no0(size + 1);
	memcpy(file, data, size);
	if (size >= MAP_HDR_SIZE) {
		checksum = xxh64_data(file + MAP_HDR_SIZE, size - MAP_HDR_SIZE,
				      xxh64_data(file, MAP_HDR_CHECKED, 0));
		memcpy(file + MAP_HDR_CHECKSUM_OFFSET, &checksum,
		       sizeof(checksum));
	}
	if (pop3_policy_uidl_map_file_parse(file, size, &map, &error) < 0) {
		i_assert(error != NULL);
		return;
	}
	i_assert(map->frozen && map->generation != NULL);
	array_foreach(&map->entries, entry) {
		(void)pop3_policy_uidl_map_lookup(map, entry->key);
		(void)strlen(entry->uidl);
	}
	for (i = 0; i < map->uid_count; i++) {
		uids = pop3_policy_uidl_map_uids(map, map->uids[i].uidvalidity,
						 &count);
		i_assert(count <= map->uid_count);
		/* every entry it gives is of the UIDVALIDITY asked for */
		while (count > 0) {
			count--;
			i_assert(uids[count].uidvalidity ==
				 map->uids[i].uidvalidity);
		}
	}
	/* written back and read again: the same entries */
	path = fuzz_write_file(POP3_POLICY_UIDL_MAP_FILE_NAME, "", 0);
	if (pop3_policy_uidl_map_file_write(path, &perm, map, &error) < 0)
		i_panic("writing a parsed map failed: %s", error);
	if (pop3_policy_uidl_map_file_read(path, 0, &map2, &error) <= 0)
		i_panic("a written map does not read back: %s", error);
	i_assert(pop3_policy_uidl_map_count(map2) ==
		 pop3_policy_uidl_map_count(map));
	array_foreach(&map->entries, entry) {
		uidl = pop3_policy_uidl_map_lookup(map2, entry->key);
		i_assert(uidl != NULL);
	}
	pop3_policy_uidl_map_free(&map2);
	pop3_policy_uidl_map_free(&map);
}
