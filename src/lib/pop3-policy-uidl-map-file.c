/* Copyright (c) 2026 pop3-policy authors, see the included COPYING file */

/* The UIDL map file of a mailbox.

   A user's UIDL map (imported or snapshotted with doveadm pop3-uidl) is
   the INBOX's state: it lives in POP3_POLICY_UIDL_MAP_FILE_NAME in the
   INBOX's control directory, which Dovecot never removes on an index
   rebuild or a new UIDVALIDITY (for maildir: the Maildir itself, next to
   dovecot-uidlist, unless CONTROL= moves it). Backends that share the
   mail storage share the file, so a map imported anywhere is served
   everywhere from the next session on. A session reads it whole, once,
   frozen as pop3_policy_uidl_map_freeze() leaves a map: lookups need no
   decoding, hashing or sorting.

   Layout, version 1, in the writer's byte order (the byte-order mark
   tells; another byte order is refused, with an error, never misread):

     header (64 bytes):
        0  magic "PPUIDLM\0"
        8  uint32 format version (1)
       12  uint32 byte-order mark 0x01020304
       16  uint32 entry count
       20  uint32 uid: entry count
       24  uint32 entries per key kind (guid, hdr, msgid, uid)
       40  uint32 generation length
       44  uint32 string area size
       48  uint32 persisted UIDVALIDITY (0: not persisted)
       52  uint32 reserved (0)
       56  uint64 xxh64 checksum of everything after the header, seeded
           with the xxh64 of the header's first 48 bytes
     uint32 key_offsets[entries]     into the string area
     uint32 uidl_offsets[entries]
     uint32 sorted[entries]          entry indexes sorted by key
     struct pop3_policy_uidl_map_uid uids[uid entries]  (4 x uint32:
                                     uidvalidity, uid, entry, order)
     string area: the generation, then every key and UIDL, NUL-terminated

   Worked example: a map of the one entry "uid:1795391833:7 UIDL-A" is
   64 + 3*4 + 16 + 46 bytes: key_offsets {15}, uidl_offsets {32}, sorted
   {0}, uids {1795391833, 7, 0, 1} and the strings "6a3c1f00-9d2e..."
   (14 bytes), "uid:1795391833:7", "UIDL-A".

   The generation is new at every write (time and random bytes); it lets
   the persisted mark be set only on the map it is about. That mark is the
   one field written in place (pwrite() of 4 aligned bytes, outside the
   checksum): a session that wrote every mapped UIDL into the storage
   (pop3_policy_uidl_persist) sets it, and later sessions of the same
   UIDVALIDITY read only the header. Everything else changes only by
   writing a new file and renaming it over the old one
   (pop3-policy-state-file.c).

   Any doubt about the file (size, offsets, counts or checksum that do not
   add up) is an error: the session fails closed rather than serve native
   UIDLs, which would make clients download everything again. */

#include "lib.h"
#include "buffer.h"
#include "hex-binary.h"
#include "ioloop.h"
#include "randgen.h"
#include "read-full.h"
#include "xxh64.h"
#include "pop3-policy-state-file.h"
#include "pop3-policy-uidl-map-file.h"

#include <fcntl.h>
#include <unistd.h>
#include <sys/stat.h>

#define UIDL_MAP_FILE_MAGIC "PPUIDLM"
#define UIDL_MAP_FILE_VERSION 1
#define UIDL_MAP_FILE_BYTE_ORDER 0x01020304

struct uidl_map_file_header {
	char magic[8];
	uint32_t version;
	uint32_t byte_order;
	uint32_t entry_count;
	uint32_t uid_count;
	uint32_t kind_counts[POP3_POLICY_UIDL_KEY_KIND_COUNT];
	uint32_t generation_len;
	uint32_t strings_size;
	/* not covered by the checksum: set in place */
	uint32_t persisted_uidvalidity;
	uint32_t reserved;
	uint64_t checksum;
};
#define UIDL_MAP_FILE_HEADER_CHECKED \
	offsetof(struct uidl_map_file_header, persisted_uidvalidity)

static uint64_t
uidl_map_file_checksum(const struct uidl_map_file_header *hdr,
		       const void *body, size_t body_size)
{
	return xxh64_data(body, body_size,
			  xxh64_data(hdr, UIDL_MAP_FILE_HEADER_CHECKED, 0));
}

/* Checks the header's identity. Returns 0, or -1 with error_r. */
static int
uidl_map_file_check_header(const struct uidl_map_file_header *hdr,
			   const char **error_r)
{
	if (memcmp(hdr->magic, UIDL_MAP_FILE_MAGIC, sizeof(hdr->magic)) != 0) {
		*error_r = "not a UIDL map file";
		return -1;
	}
	if (hdr->byte_order != UIDL_MAP_FILE_BYTE_ORDER) {
		*error_r = "written on a machine of another byte order "
			"(export it there and import it here)";
		return -1;
	}
	if (hdr->version != UIDL_MAP_FILE_VERSION) {
		*error_r = t_strdup_printf("format version %u, this build "
					   "reads version %u", hdr->version,
					   UIDL_MAP_FILE_VERSION);
		return -1;
	}
	return 0;
}

/* Where the string area starts, if the header's counts fit in size. */
static int
uidl_map_file_strings_offset(const struct uidl_map_file_header *hdr,
			     uint64_t size, uint64_t *offset_r,
			     const char **error_r)
{
	uint64_t offset;

	/* every count is checked against the file size before use, in 64
	   bits, so no product can wrap */
	offset = sizeof(*hdr) + (uint64_t)hdr->entry_count * 3 *
		sizeof(uint32_t) + (uint64_t)hdr->uid_count *
		sizeof(struct pop3_policy_uidl_map_uid);
	if (size != offset + hdr->strings_size || hdr->strings_size == 0 ||
	    hdr->uid_count > hdr->entry_count ||
	    hdr->generation_len >= hdr->strings_size) {
		*error_r = "damaged: sizes do not add up";
		return -1;
	}
	*offset_r = offset;
	return 0;
}

static int
uidl_map_file_check_sorted(const uint32_t *key_offs, const uint32_t *sorted,
			   unsigned int n, const char *strings,
			   const char **error_r)
{
	unsigned char *seen;
	unsigned int i;
	int ret = 0;

	seen = i_malloc(n / 8 + 1);
	for (i = 0; i < n && ret == 0; i++) {
		if ((seen[sorted[i] / 8] & (1 << (sorted[i] % 8))) != 0) {
			*error_r = "damaged: an entry is sorted twice";
			ret = -1;
		} else if (i > 0 && strcmp(strings + key_offs[sorted[i - 1]],
					   strings + key_offs[sorted[i]]) >= 0) {
			*error_r = "damaged: keys out of order";
			ret = -1;
		}
		seen[sorted[i] / 8] |= 1 << (sorted[i] % 8);
	}
	i_free(seen);
	return ret;
}

/* Parses data (allocated from map's pool, which keeps it: the entries
   point into it). */
static int
uidl_map_file_parse(struct pop3_policy_uidl_map *map, unsigned char *data,
		    size_t size, const char **error_r)
{
	struct uidl_map_file_header hdr;
	const uint32_t *key_offs, *uidl_offs, *sorted;
	const struct pop3_policy_uidl_map_uid *uids;
	const char *strings;
	struct pop3_policy_uidl_map_entry *entry;
	unsigned int i, n, kinds = 0;
	uint64_t strings_offset;

	if (size < sizeof(hdr)) {
		*error_r = "damaged: shorter than its header";
		return -1;
	}
	memcpy(&hdr, data, sizeof(hdr));
	if (uidl_map_file_check_header(&hdr, error_r) < 0 ||
	    uidl_map_file_strings_offset(&hdr, size, &strings_offset,
					 error_r) < 0)
		return -1;
	if (uidl_map_file_checksum(&hdr, data + sizeof(hdr),
				   size - sizeof(hdr)) != hdr.checksum) {
		*error_r = "damaged: checksum mismatch";
		return -1;
	}
	n = hdr.entry_count;
	key_offs = (const uint32_t *)(data + sizeof(hdr));
	uidl_offs = key_offs + n;
	sorted = uidl_offs + n;
	uids = (const struct pop3_policy_uidl_map_uid *)(sorted + n);
	strings = (const char *)data + strings_offset;
	if (strings[hdr.strings_size - 1] != '\0' ||
	    strings[hdr.generation_len] != '\0' ||
	    strlen(strings) != hdr.generation_len) {
		*error_r = "damaged: bad generation";
		return -1;
	}
	for (i = 0; i < POP3_POLICY_UIDL_KEY_KIND_COUNT; i++)
		kinds += hdr.kind_counts[i];
	if (kinds != n || hdr.kind_counts[POP3_POLICY_UIDL_KEY_UID] <
	    hdr.uid_count) {
		*error_r = "damaged: key kind counts do not add up";
		return -1;
	}
	for (i = 0; i < n; i++) {
		if (key_offs[i] >= hdr.strings_size ||
		    uidl_offs[i] >= hdr.strings_size || sorted[i] >= n) {
			*error_r = "damaged: an offset is out of range";
			return -1;
		}
	}
	for (i = 0; i < hdr.uid_count; i++) {
		if (uids[i].entry >= n) {
			*error_r = "damaged: an offset is out of range";
			return -1;
		}
		if (i > 0 && (uids[i - 1].uidvalidity > uids[i].uidvalidity ||
			      (uids[i - 1].uidvalidity == uids[i].uidvalidity &&
			       uids[i - 1].uid >= uids[i].uid))) {
			*error_r = "damaged: uid: entries out of order";
			return -1;
		}
	}
	/* lookups are binary searches: every entry once, keys strictly
	   ascending (so no key twice) */
	if (uidl_map_file_check_sorted(key_offs, sorted, n, strings,
				       error_r) < 0)
		return -1;

	p_array_init(&map->entries, map->pool, n + 1);
	for (i = 0; i < n; i++) {
		entry = array_append_space(&map->entries);
		entry->key = strings + key_offs[i];
		entry->uidl = strings + uidl_offs[i];
	}
	memcpy(map->kind_counts, hdr.kind_counts, sizeof(map->kind_counts));
	map->generation = strings;
	pop3_policy_uidl_map_set_frozen(map, sorted, uids, hdr.uid_count);
	return 0;
}

static struct pop3_policy_uidl_map *uidl_map_file_map_create(void)
{
	struct pop3_policy_uidl_map *map = pop3_policy_uidl_map_create();

	/* a read map is never built: its hash table is not needed */
	hash_table_destroy(&map->by_key);
	return map;
}

int pop3_policy_uidl_map_file_parse(const void *data, size_t size,
				    struct pop3_policy_uidl_map **map_r,
				    const char **error_r)
{
	struct pop3_policy_uidl_map *map = uidl_map_file_map_create();
	/* aligned for the uint32 tables, and NUL-terminated */
	unsigned char *copy = p_malloc(map->pool, size + 1);

	if (size > 0)
		memcpy(copy, data, size);
	if (uidl_map_file_parse(map, copy, size, error_r) < 0) {
		pop3_policy_uidl_map_free(&map);
		return -1;
	}
	*map_r = map;
	return 0;
}

/* Reads the header at the start of fd. Returns 0, or -1 with error_r. */
static int
uidl_map_file_read_header(int fd, const char *path,
			  struct uidl_map_file_header *hdr_r,
			  const char **error_r)
{
	ssize_t ret;

	ret = pread(fd, hdr_r, sizeof(*hdr_r), 0);
	if (ret < 0) {
		*error_r = t_strdup_printf("pread(%s) failed: %m", path);
		return -1;
	}
	if ((size_t)ret < sizeof(*hdr_r)) {
		*error_r = t_strdup_printf("%s: damaged: shorter than its "
					   "header", path);
		return -1;
	}
	if (uidl_map_file_check_header(hdr_r, error_r) < 0) {
		*error_r = t_strdup_printf("%s: %s", path, *error_r);
		return -1;
	}
	return 0;
}

int pop3_policy_uidl_map_file_read(const char *path,
				   uint32_t persisted_uidvalidity,
				   struct pop3_policy_uidl_map **map_r,
				   const char **error_r)
{
	struct pop3_policy_uidl_map *map;
	struct uidl_map_file_header hdr;
	unsigned char *data;
	size_t size;
	int fd, ret;

	*map_r = NULL;
	if (persisted_uidvalidity != 0) {
		/* the header alone tells whether the storage serves the
		   whole map already */
		fd = open(path, O_RDONLY | O_NOFOLLOW);
		if (fd == -1 && errno == ENOENT)
			return 0;
		if (fd == -1) {
			*error_r = t_strdup_printf("open(%s) failed: %m",
						   path);
			return -1;
		}
		ret = uidl_map_file_read_header(fd, path, &hdr, error_r);
		i_close_fd(&fd);
		if (ret < 0)
			return -1;
		if (hdr.persisted_uidvalidity == persisted_uidvalidity)
			return 2;
	}
	map = uidl_map_file_map_create();
	ret = pop3_policy_state_file_read(path,
		POP3_POLICY_UIDL_MAP_FILE_MAX_SIZE, map->pool, &data, &size,
		error_r);
	if (ret > 0 && uidl_map_file_parse(map, data, size, error_r) < 0) {
		*error_r = t_strdup_printf("%s: %s", path, *error_r);
		ret = -1;
	}
	if (ret <= 0) {
		pop3_policy_uidl_map_free(&map);
		return ret;
	}
	*map_r = map;
	return 1;
}

static uint32_t uidl_map_file_add_string(buffer_t *strings, const char *str)
{
	uint32_t off = strings->used;

	buffer_append(strings, str, strlen(str) + 1);
	return off;
}

static const char *uidl_map_file_new_generation(void)
{
	unsigned char rand[6];

	random_fill(rand, sizeof(rand));
	return t_strdup_printf("%lx-%s", (unsigned long)ioloop_time,
			       binary_to_hex(rand, sizeof(rand)));
}

int pop3_policy_uidl_map_file_write(const char *path,
				    const struct pop3_policy_state_file_perm *perm,
				    struct pop3_policy_uidl_map *map,
				    const char **error_r)
{
	const struct pop3_policy_uidl_map_entry *entries;
	struct uidl_map_file_header hdr;
	buffer_t *file, *strings;
	uint32_t *key_offs, *uidl_offs;
	unsigned int i, n;
	size_t body_size;
	int ret;

	pop3_policy_uidl_map_freeze(map);
	map->generation = p_strdup(map->pool, uidl_map_file_new_generation());
	entries = array_get(&map->entries, &n);
	strings = buffer_create_dynamic(default_pool, 1024 * 64);
	key_offs = i_new(uint32_t, n + 1);
	uidl_offs = i_new(uint32_t, n + 1);
	(void)uidl_map_file_add_string(strings, map->generation);
	for (i = 0; i < n; i++) {
		key_offs[i] = uidl_map_file_add_string(strings,
						       entries[i].key);
		uidl_offs[i] = uidl_map_file_add_string(strings,
							entries[i].uidl);
	}

	i_zero(&hdr);
	memcpy(hdr.magic, UIDL_MAP_FILE_MAGIC, sizeof(hdr.magic));
	hdr.version = UIDL_MAP_FILE_VERSION;
	hdr.byte_order = UIDL_MAP_FILE_BYTE_ORDER;
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
	hdr.checksum = uidl_map_file_checksum(&hdr,
		CONST_PTR_OFFSET(file->data, sizeof(hdr)), body_size);
	buffer_write(file, 0, &hdr, sizeof(hdr));

	ret = pop3_policy_state_file_write(path, perm, file->data, file->used,
					   error_r);
	buffer_free(&file);
	return ret;
}

int pop3_policy_uidl_map_file_mark_persisted(const char *path,
		const struct pop3_policy_uidl_map *map, uint32_t uidvalidity,
		const char **error_r)
{
	struct uidl_map_file_header hdr;
	struct stat st;
	uint64_t strings_offset;
	size_t gen_len;
	char *generation;
	ssize_t ret;
	int fd;

	i_assert(map->generation != NULL);
	fd = open(path, O_RDWR | O_NOFOLLOW);
	if (fd == -1 && errno == ENOENT)
		return 0;
	if (fd == -1) {
		*error_r = t_strdup_printf("open(%s) failed: %m", path);
		return -1;
	}
	if (fstat(fd, &st) < 0) {
		*error_r = t_strdup_printf("fstat(%s) failed: %m", path);
		i_close_fd(&fd);
		return -1;
	}
	if (uidl_map_file_read_header(fd, path, &hdr, error_r) < 0) {
		i_close_fd(&fd);
		return -1;
	}
	if (uidl_map_file_strings_offset(&hdr, st.st_size, &strings_offset,
					 error_r) < 0) {
		*error_r = t_strdup_printf("%s: %s", path, *error_r);
		i_close_fd(&fd);
		return -1;
	}
	/* the file may have been replaced since the map was read: the
	   mark is only true of the map it was worked out for */
	gen_len = strlen(map->generation);
	if (hdr.generation_len != gen_len) {
		i_close_fd(&fd);
		return 0;
	}
	generation = t_malloc0(gen_len + 1);
	ret = pread(fd, generation, gen_len, strings_offset);
	if (ret < 0) {
		*error_r = t_strdup_printf("pread(%s) failed: %m", path);
		i_close_fd(&fd);
		return -1;
	}
	if ((size_t)ret != gen_len ||
	    memcmp(generation, map->generation, gen_len) != 0) {
		i_close_fd(&fd);
		return 0;
	}
	hdr.persisted_uidvalidity = uidvalidity;
	ret = pwrite(fd, &hdr.persisted_uidvalidity,
		     sizeof(hdr.persisted_uidvalidity),
		     offsetof(struct uidl_map_file_header,
			      persisted_uidvalidity));
	if (ret != sizeof(hdr.persisted_uidvalidity)) {
		*error_r = ret < 0 ?
			t_strdup_printf("pwrite(%s) failed: %m", path) :
			t_strdup_printf("pwrite(%s): short write", path);
		i_close_fd(&fd);
		return -1;
	}
	if (close(fd) < 0) {
		*error_r = t_strdup_printf("close(%s) failed: %m", path);
		return -1;
	}
	return 1;
}
