/* Copyright (c) 2026 pop3-policy authors, see the included COPYING file */

/* The UIDL map cache file (pop3-policy-uidl-cache.c), read through its
   reader from a file. The input is the file; so that the fuzzer gets past
   the checksum, the harness writes the right xxh64 into the header, and
   asks for the generation and entry count the file names (when its sizes
   let it find them). A map the reader returns must answer lookups of all
   its entries without reading outside the file. */

#include "lib.h"
#include "xxh64.h"
#include "fuzz-common.h"
#include "pop3-policy-uidl-cache.h"

/* the header layout (see the format at the top of the cache's source) */
#define CACHE_HDR_SIZE 64
#define CACHE_HDR_ENTRY_COUNT_OFFSET 16
#define CACHE_HDR_UID_COUNT_OFFSET 20
#define CACHE_HDR_GENERATION_LEN_OFFSET 40
#define CACHE_HDR_CHECKSUM_OFFSET 56

static uint32_t fuzz_u32(const unsigned char *data, size_t offset)
{
	uint32_t value;

	memcpy(&value, data + offset, sizeof(value));
	return value;
}

void fuzz_one(const unsigned char *data, size_t size,
	      const char *str ATTR_UNUSED)
{
	struct pop3_policy_uidl_map *map;
	const struct pop3_policy_uidl_map_entry *entry;
	const struct pop3_policy_uidl_map_uid *uids;
	const char *generation = "", *reason, *path;
	unsigned char *file;
	uint32_t entry_count = 0, uid_count, gen_len;
	uint64_t checksum, strings_off;
	unsigned int i, count;

	file = t_malloc_no0(size + 1);
	memcpy(file, data, size);
	if (size >= CACHE_HDR_SIZE) {
		checksum = xxh64_data(file + CACHE_HDR_SIZE,
				      size - CACHE_HDR_SIZE, 0);
		memcpy(file + CACHE_HDR_CHECKSUM_OFFSET, &checksum,
		       sizeof(checksum));
		entry_count = fuzz_u32(file, CACHE_HDR_ENTRY_COUNT_OFFSET);
		uid_count = fuzz_u32(file, CACHE_HDR_UID_COUNT_OFFSET);
		gen_len = fuzz_u32(file, CACHE_HDR_GENERATION_LEN_OFFSET);
		strings_off = CACHE_HDR_SIZE + (uint64_t)entry_count * 12 +
			(uint64_t)uid_count * sizeof(*uids);
		if (strings_off + gen_len <= size)
			generation = t_strndup(file + strings_off, gen_len);
	}
	path = fuzz_write_file(POP3_POLICY_UIDL_CACHE_FILE_NAME, file, size);
	if (pop3_policy_uidl_cache_read(path, generation, entry_count, &map,
					&reason) <= 0) {
		i_assert(map == NULL && reason != NULL);
		return;
	}
	i_assert(map->frozen && strcmp(map->generation, generation) == 0);
	i_assert(pop3_policy_uidl_map_count(map) == entry_count);
	array_foreach(&map->entries, entry) {
		(void)pop3_policy_uidl_map_lookup(map, entry->key);
		(void)strlen(entry->uidl);
	}
	for (i = 0; i < map->uid_count; i++) {
		uids = pop3_policy_uidl_map_uids(map, map->uids[i].uidvalidity,
						 &count);
		i_assert(count <= map->uid_count);
	}
	pop3_policy_uidl_map_free(&map);
}
