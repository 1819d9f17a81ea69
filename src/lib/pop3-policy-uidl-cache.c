/* Copyright (c) 2026 pop3-policy authors, see the included COPYING file */

/* The local cache of a user's UIDL map.

   A session that loads a large map from the store moves megabytes through
   the dict server and decodes every entry; the map changes only when it is
   imported, snapshotted or cleared, which gives it a new generation (see
   pop3-policy-uidl-map.c). So the session that loads a generation from the
   store writes the decoded, frozen map into one file, and later sessions
   read that file when the store's index record (read every session) names
   the same generation and entry count. A map imported on another backend
   sharing the store has a new generation: the next session anywhere loads
   it from the store. The cache is never the authority: any doubt about it
   (missing, another generation, another byte order or format, a size or
   offset that does not add up, a checksum that does not match) makes the
   session load the map from the store and write the cache again.

   Layout, in host byte order (the cache is local; another byte order is
   refused as foreign):

     header (64 bytes): magic "PPUIDLC\0", format version, the byte-order
       mark 0x01020304, entry count, uid: entry count, entries per key
       kind, generation length, string area size, 8 reserved bytes, and
       the xxh64 checksum of everything after the header
     uint32 key_offsets[entries]     into the string area
     uint32 uidl_offsets[entries]
     uint32 sorted[entries]          entry indexes sorted by key
     struct pop3_policy_uidl_map_uid uids[uid entries]
     string area: the generation, then every key and UIDL, NUL-terminated

   The file is written under a temporary name and renamed over the old
   one, so a reader sees an old file or a new one, never a part. */

#include "lib.h"
#include "buffer.h"
#include "str.h"
#include "read-full.h"
#include "write-full.h"
#include "safe-mkstemp.h"
#include "xxh64.h"
#include "pop3-policy-uidl-cache.h"

#include <stdio.h>
#include <fcntl.h>
#include <unistd.h>
#include <sys/stat.h>

#define UIDL_CACHE_MAGIC "PPUIDLC"
#define UIDL_CACHE_VERSION 1
#define UIDL_CACHE_BYTE_ORDER 0x01020304
/* nothing a session would read whole */
#define UIDL_CACHE_MAX_SIZE (1024U * 1024 * 1024)

struct uidl_cache_header {
	char magic[8];
	uint32_t version;
	uint32_t byte_order;
	uint32_t entry_count;
	uint32_t uid_count;
	uint32_t kind_counts[POP3_POLICY_UIDL_KEY_KIND_COUNT];
	uint32_t generation_len;
	uint32_t strings_size;
	uint32_t reserved[2];
	uint64_t checksum;
};

static int
uidl_cache_parse(struct pop3_policy_uidl_map *map, unsigned char *data,
		 size_t size, const char *generation, unsigned int entry_count,
		 const char **reason_r)
{
	struct uidl_cache_header hdr;
	const uint32_t *key_offs, *uidl_offs, *sorted;
	const struct pop3_policy_uidl_map_uid *uids;
	const char *strings;
	struct pop3_policy_uidl_map_entry *entry;
	unsigned int i, n, kinds = 0;
	size_t body_size;

	if (size < sizeof(hdr)) {
		*reason_r = "corrupt: shorter than its header";
		return 0;
	}
	memcpy(&hdr, data, sizeof(hdr));
	if (memcmp(hdr.magic, UIDL_CACHE_MAGIC, sizeof(hdr.magic)) != 0 ||
	    hdr.version != UIDL_CACHE_VERSION ||
	    hdr.byte_order != UIDL_CACHE_BYTE_ORDER) {
		*reason_r = "foreign: not this format, version or byte order";
		return 0;
	}
	n = hdr.entry_count;
	if (n != entry_count) {
		*reason_r = t_strdup_printf("stale: %u entries, the store's "
					    "map has %u", n, entry_count);
		return 0;
	}
	/* every count is checked against the file size before use, in 64
	   bits, so no product can wrap */
	body_size = (uint64_t)n * 3 * sizeof(uint32_t) +
		(uint64_t)hdr.uid_count * sizeof(*uids) + hdr.strings_size;
	if ((uint64_t)size != sizeof(hdr) + (uint64_t)body_size ||
	    hdr.strings_size == 0 || hdr.uid_count > n ||
	    hdr.generation_len >= hdr.strings_size) {
		*reason_r = "corrupt: sizes do not add up";
		return 0;
	}
	if (xxh64_data(data + sizeof(hdr), body_size, 0) != hdr.checksum) {
		*reason_r = "corrupt: checksum mismatch";
		return 0;
	}
	key_offs = (const uint32_t *)(data + sizeof(hdr));
	uidl_offs = key_offs + n;
	sorted = uidl_offs + n;
	uids = (const struct pop3_policy_uidl_map_uid *)(sorted + n);
	strings = (const char *)(uids + hdr.uid_count);
	if (strings[hdr.strings_size - 1] != '\0' ||
	    strings[hdr.generation_len] != '\0' ||
	    strlen(generation) != hdr.generation_len ||
	    memcmp(strings, generation, hdr.generation_len) != 0) {
		*reason_r = "stale: another generation";
		return 0;
	}
	for (i = 0; i < POP3_POLICY_UIDL_KEY_KIND_COUNT; i++)
		kinds += hdr.kind_counts[i];
	if (kinds != n || hdr.kind_counts[POP3_POLICY_UIDL_KEY_UID] <
	    hdr.uid_count) {
		*reason_r = "corrupt: key kind counts do not add up";
		return 0;
	}
	for (i = 0; i < n; i++) {
		if (key_offs[i] >= hdr.strings_size ||
		    uidl_offs[i] >= hdr.strings_size || sorted[i] >= n) {
			*reason_r = "corrupt: an offset is out of range";
			return 0;
		}
	}
	for (i = 0; i < hdr.uid_count; i++) {
		if (uids[i].entry >= n) {
			*reason_r = "corrupt: an offset is out of range";
			return 0;
		}
	}

	/* the entries point into the file's string area, which lives in
	   the map's pool */
	p_array_init(&map->entries, map->pool, n + 1);
	for (i = 0; i < n; i++) {
		entry = array_append_space(&map->entries);
		entry->key = strings + key_offs[i];
		entry->uidl = strings + uidl_offs[i];
	}
	memcpy(map->kind_counts, hdr.kind_counts, sizeof(map->kind_counts));
	map->generation = strings;
	pop3_policy_uidl_map_set_frozen(map, sorted, uids, hdr.uid_count);
	return 1;
}

int pop3_policy_uidl_cache_read(const char *path, const char *generation,
				unsigned int entry_count,
				struct pop3_policy_uidl_map **map_r,
				const char **reason_r)
{
	struct pop3_policy_uidl_map *map;
	struct stat st;
	unsigned char *data;
	int fd, ret;

	*map_r = NULL;
	fd = open(path, O_RDONLY);
	if (fd == -1) {
		*reason_r = errno == ENOENT ? "missing" :
			t_strdup_printf("open(%s) failed: %m", path);
		return 0;
	}
	if (fstat(fd, &st) < 0) {
		*reason_r = t_strdup_printf("fstat(%s) failed: %m", path);
		i_close_fd(&fd);
		return 0;
	}
	if (st.st_size > UIDL_CACHE_MAX_SIZE) {
		*reason_r = "corrupt: too large";
		i_close_fd(&fd);
		return 0;
	}
	map = pop3_policy_uidl_map_create();
	/* the map is never built: its hash table is not needed */
	hash_table_destroy(&map->by_key);
	data = p_malloc(map->pool, st.st_size + 1);
	ret = read_full(fd, data, st.st_size);
	i_close_fd(&fd);
	if (ret <= 0) {
		*reason_r = ret == 0 ? "corrupt: shorter than its size" :
			t_strdup_printf("read(%s) failed: %m", path);
		ret = 0;
	} else {
		ret = uidl_cache_parse(map, data, st.st_size, generation,
				       entry_count, reason_r);
	}
	if (ret <= 0) {
		pop3_policy_uidl_map_free(&map);
		return 0;
	}
	*map_r = map;
	return 1;
}

static uint32_t uidl_cache_add_string(buffer_t *strings, const char *str)
{
	uint32_t off = strings->used;

	buffer_append(strings, str, strlen(str) + 1);
	return off;
}

int pop3_policy_uidl_cache_write(const char *path,
				 const struct pop3_policy_uidl_map *map,
				 const char **error_r)
{
	const struct pop3_policy_uidl_map_entry *entries;
	struct uidl_cache_header hdr;
	buffer_t *file, *strings;
	uint32_t *key_offs, *uidl_offs;
	string_t *temp_path;
	unsigned int i, n;
	size_t body_size;
	int fd, ret = 0;

	i_assert(map->frozen && map->generation != NULL);
	entries = array_get(&map->entries, &n);
	strings = buffer_create_dynamic(default_pool, 1024 * 64);
	key_offs = i_new(uint32_t, n + 1);
	uidl_offs = i_new(uint32_t, n + 1);
	(void)uidl_cache_add_string(strings, map->generation);
	for (i = 0; i < n; i++) {
		key_offs[i] = uidl_cache_add_string(strings, entries[i].key);
		uidl_offs[i] = uidl_cache_add_string(strings, entries[i].uidl);
	}

	i_zero(&hdr);
	memcpy(hdr.magic, UIDL_CACHE_MAGIC, sizeof(hdr.magic));
	hdr.version = UIDL_CACHE_VERSION;
	hdr.byte_order = UIDL_CACHE_BYTE_ORDER;
	hdr.entry_count = n;
	hdr.uid_count = map->uid_count;
	memcpy(hdr.kind_counts, map->kind_counts, sizeof(hdr.kind_counts));
	hdr.generation_len = strlen(map->generation);
	hdr.strings_size = strings->used;
	body_size = n * 3 * sizeof(uint32_t) +
		map->uid_count * sizeof(*map->uids) + strings->used;
	file = buffer_create_dynamic(default_pool, sizeof(hdr) + body_size);
	buffer_append(file, &hdr, sizeof(hdr));
	buffer_append(file, key_offs, n * sizeof(uint32_t));
	buffer_append(file, uidl_offs, n * sizeof(uint32_t));
	buffer_append(file, map->sorted, n * sizeof(uint32_t));
	buffer_append(file, map->uids, map->uid_count * sizeof(*map->uids));
	buffer_append_buf(file, strings, 0, SIZE_MAX);
	i_free(key_offs);
	i_free(uidl_offs);
	buffer_free(&strings);
	hdr.checksum = xxh64_data(CONST_PTR_OFFSET(file->data, sizeof(hdr)),
				  body_size, 0);
	buffer_write(file, 0, &hdr, sizeof(hdr));

	temp_path = t_str_new(256);
	str_printfa(temp_path, "%s.", path);
	fd = safe_mkstemp_hostpid(temp_path, 0600, (uid_t)-1, (gid_t)-1);
	if (fd == -1) {
		*error_r = t_strdup_printf("safe_mkstemp(%s) failed: %m",
					   str_c(temp_path));
		buffer_free(&file);
		return -1;
	}
	if (write_full(fd, file->data, file->used) < 0) {
		*error_r = t_strdup_printf("write(%s) failed: %m",
					   str_c(temp_path));
		ret = -1;
	}
	if (close(fd) < 0 && ret == 0) {
		*error_r = t_strdup_printf("close(%s) failed: %m",
					   str_c(temp_path));
		ret = -1;
	}
	if (ret == 0 && rename(str_c(temp_path), path) < 0) {
		*error_r = t_strdup_printf("rename(%s, %s) failed: %m",
					   str_c(temp_path), path);
		ret = -1;
	}
	if (ret < 0)
		i_unlink_if_exists(str_c(temp_path));
	buffer_free(&file);
	return ret;
}
