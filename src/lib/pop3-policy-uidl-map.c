/* Copyright (c) 2026 pop3-policy authors, see the included COPYING file */

/* The UIDL map in the store.

   The dict proxy protocol ends a line at 64 KiB, and redis: has no
   iteration, so a map is stored as chunk records under generation-named
   keys plus one small index record that says which generation is in force:

     priv/pop3-policy/uidl-map                index: generation, chunk count,
                                              entry count
     priv/pop3-policy/uidl-map/<gen>/<n>      chunk n (0-based): one payload
                                              field per entry, "<key> <uidl>"

   Worked example, a map of three entries in one chunk, generation
   "65f1c2a0-3b1c":

     priv/pop3-policy/uidl-map
       "1\tuidl-map\t65f1c2a0-3b1c\t1\t3"
     priv/pop3-policy/uidl-map/65f1c2a0-3b1c/0
       "1\tuidl-map-chunk\tuid:1795391833:1 AAA1\tguid:0b8d... 0000016b\t..."

   Each chunk record is under POP3_POLICY_UIDL_MAP_CHUNK_MAX bytes as
   encoded. Keys and UIDLs are printable ASCII without spaces (validated at
   import), so the SP inside a field is unambiguous.

   With pop3_policy_uidl_persist, a session that has written the served
   UIDLs into the storage appends a fourth field to the index: the
   UIDVALIDITY they were written under. Later sessions of that UIDVALIDITY
   skip the chunks (the storage serves the UIDLs); a new UIDVALIDITY (a lost
   dovecot-uidlist) makes them load and apply the map again, and a new
   import writes an index without the field.

   A new map is written as: chunks of a new generation, then the index
   (the switch), then the old generation's chunks are removed. A reader
   sees the old map or the new one, never a mix; a failure before the
   index write leaves orphan chunks but the old map in force. A reader
   checks the entry count, so a missing chunk is an error, not a smaller
   map.

   A POP3 session reads the chunks only when its local cache of the
   decoded map (pop3-policy-uidl-cache.c) does not hold the generation and
   entry count the index names: every new map has a new generation, so a
   map saved through any backend sharing the store is read from the store
   at the next session everywhere. */

#include "lib.h"
#include "str.h"
#include "strnum.h"
#include "strescape.h"
#include "ioloop.h"
#include "randgen.h"
#include "hex-binary.h"
#include "pop3-policy-store.h"
#include "pop3-policy-uidl-map.h"
#include "pop3-policy-uidl-cache.h"

const char *const *
pop3_policy_uidl_map_encode_chunks(const struct pop3_policy_uidl_map *map)
{
	ARRAY_TYPE(const_string) chunks, fields;
	const struct pop3_policy_uidl_map_entry *entry;
	const char *const *fp;
	const char *field, *chunk, *null = NULL;
	size_t size = 0;

	t_array_init(&chunks, 8);
	t_array_init(&fields, 1024);
	array_foreach(&map->entries, entry) {
		field = t_strconcat(entry->key, " ", entry->uidl, NULL);
		/* +1 for the TAB; the record's head is under 32 bytes and
		   escaping may double a byte in the worst case */
		if (size > 0 &&
		    size + 2 * strlen(field) + 1 + 32 >
		    POP3_POLICY_UIDL_MAP_CHUNK_MAX) {
			array_append_zero(&fields);
			chunk = t_strdup(pop3_policy_record_encode(
				POP3_POLICY_RECORD_UIDL_MAP_CHUNK,
				array_front(&fields)));
			array_push_back(&chunks, &chunk);
			array_clear(&fields);
			size = 0;
		}
		array_push_back(&fields, &field);
		size += 2 * strlen(field) + 1;
	}
	if (array_count(&fields) > 0) {
		array_append_zero(&fields);
		chunk = t_strdup(pop3_policy_record_encode(
			POP3_POLICY_RECORD_UIDL_MAP_CHUNK,
			array_front(&fields)));
		array_push_back(&chunks, &chunk);
	}
	array_push_back(&chunks, &null);
	fp = array_front(&chunks);
	return fp;
}

int pop3_policy_uidl_map_decode_chunk(struct pop3_policy_uidl_map *map,
				      const char *const *fields,
				      const char **error_r)
{
	enum pop3_policy_uidl_key_kind kind;
	const char *sp, *key, *uidl, *error;
	unsigned int i;

	for (i = 0; fields[i] != NULL; i++) {
		sp = strchr(fields[i], ' ');
		if (sp == NULL) {
			*error_r = t_strdup_printf(
				"entry %u of a chunk has no space", i + 1);
			return -1;
		}
		key = t_strdup_until(fields[i], sp);
		uidl = sp + 1;
		/* keys were made canonical at import: here it is enough
		   that they are well formed (a non-canonical one would match
		   nothing) */
		if (pop3_policy_uidl_key_check(key, &kind, &error) < 0 ||
		    pop3_policy_uidl_validate(uidl, &error) < 0) {
			*error_r = t_strdup_printf(
				"entry %u of a chunk is invalid: %s",
				i + 1, error);
			return -1;
		}
		if (pop3_policy_uidl_map_add(map, key, uidl) < 0) {
			*error_r = t_strdup_printf(
				"entry %u of a chunk repeats a key", i + 1);
			return -1;
		}
	}
	return 0;
}

struct uidl_map_index {
	const char *generation;
	unsigned int chunks, entries;
	/* 0, or the UIDVALIDITY under which the map was persisted */
	uint32_t persisted_uidvalidity;
};

static int
uidl_map_index_lookup(struct pop3_policy_store *store, const char *user,
		      struct uidl_map_index *index_r, const char **error_r)
{
	const char *const *fields;
	int ret;

	ret = pop3_policy_store_lookup(store, POP3_POLICY_RECORD_UIDL_MAP_INDEX,
				       user, &fields, error_r);
	if (ret <= 0)
		return ret;
	index_r->generation = fields[0];
	index_r->persisted_uidvalidity = 0;
	if (fields[0][0] == '\0' ||
	    str_to_uint(fields[1], &index_r->chunks) < 0 ||
	    str_to_uint(fields[2], &index_r->entries) < 0 ||
	    (fields[3] != NULL &&
	     str_to_uint32(fields[3], &index_r->persisted_uidvalidity) < 0)) {
		*error_r = t_strdup_printf(
			"pop3-policy store: user %s: key %s: malformed UIDL "
			"map index", user, pop3_policy_store_key(
				POP3_POLICY_RECORD_UIDL_MAP_INDEX, user));
		return -1;
	}
	return 1;
}

int pop3_policy_uidl_map_load(struct pop3_policy_store *store,
			      const char *user,
			      struct pop3_policy_uidl_map **map_r,
			      const char **error_r)
{
	return pop3_policy_uidl_map_load_unless_persisted(store, user, 0,
							  map_r, error_r);
}

/* Loads every chunk of the index's generation, with at most
   POP3_POLICY_UIDL_MAP_PIPELINE lookups in flight; returns 0 with a frozen
   map or -1. */
static int
uidl_map_load_chunks(struct pop3_policy_store *store, const char *user,
		     const struct uidl_map_index *_index,
		     struct pop3_policy_uidl_map **map_r, const char **error_r)
{
	struct uidl_map_index index = *_index;
	struct pop3_policy_uidl_map *map;
	struct pop3_policy_store_result *results;
	const char **keys, *error;
	unsigned int first, i, count;
	int ret;

	map = pop3_policy_uidl_map_create();
	map->generation = p_strdup(map->pool, index.generation);
	for (first = 0; first < index.chunks; first += count) {
		count = I_MIN(index.chunks - first,
			      POP3_POLICY_UIDL_MAP_PIPELINE);
		T_BEGIN {
			keys = t_new(const char *, count);
			for (i = 0; i < count; i++) {
				keys[i] = pop3_policy_store_uidl_chunk_key(
					index.generation, first + i);
			}
			ret = pop3_policy_store_lookup_keys(store,
				POP3_POLICY_RECORD_UIDL_MAP_CHUNK, user,
				keys, count, &results, &error);
			for (i = 0; i < count && ret == 0; i++) {
				if (results[i].fields == NULL) {
					error = t_strdup_printf(
						"pop3-policy store: user %s: "
						"key %s: UIDL map chunk is "
						"missing", user, keys[i]);
					ret = -1;
				} else if (pop3_policy_uidl_map_decode_chunk(
					map, results[i].fields, &error) < 0) {
					error = t_strdup_printf(
						"pop3-policy store: user %s: "
						"key %s: %s", user, keys[i],
						error);
					ret = -1;
				}
			}
		} T_END_PASS_STR_IF(ret < 0, &error);
		if (ret < 0) {
			*error_r = error;
			pop3_policy_uidl_map_free(&map);
			return -1;
		}
	}
	if (pop3_policy_uidl_map_count(map) != index.entries) {
		*error_r = t_strdup_printf(
			"pop3-policy store: user %s: UIDL map has %u entries, "
			"its index says %u", user,
			pop3_policy_uidl_map_count(map), index.entries);
		pop3_policy_uidl_map_free(&map);
		return -1;
	}
	pop3_policy_uidl_map_freeze(map);
	*map_r = map;
	return 0;
}

int pop3_policy_uidl_map_load_unless_persisted(
	struct pop3_policy_store *store, const char *user,
	uint32_t uidvalidity, struct pop3_policy_uidl_map **map_r,
	const char **error_r)
{
	const char *note, *cache_error;

	return pop3_policy_uidl_map_load_cached(store, user, uidvalidity, NULL,
						map_r, &note, &cache_error,
						error_r);
}

int pop3_policy_uidl_map_load_cached(struct pop3_policy_store *store,
				     const char *user, uint32_t uidvalidity,
				     const char *cache_path,
				     struct pop3_policy_uidl_map **map_r,
				     const char **cache_note_r,
				     const char **cache_error_r,
				     const char **error_r)
{
	struct uidl_map_index index;
	const char *reason;
	int ret;

	*map_r = NULL;
	*cache_note_r = "not used";
	*cache_error_r = NULL;
	ret = uidl_map_index_lookup(store, user, &index, error_r);
	if (ret <= 0)
		return ret;
	if (uidvalidity != 0 && index.persisted_uidvalidity == uidvalidity)
		return 2;
	if (cache_path != NULL &&
	    pop3_policy_uidl_cache_read(cache_path, index.generation,
					index.entries, map_r, &reason) > 0) {
		*cache_note_r = "read from the local cache";
		return 1;
	}
	if (uidl_map_load_chunks(store, user, &index, map_r, error_r) < 0)
		return -1;
	if (cache_path == NULL)
		return 1;
	if (pop3_policy_uidl_cache_write(cache_path, *map_r,
					 cache_error_r) < 0) {
		*cache_note_r = t_strdup_printf("loaded from the store (cache "
			"%s), cache not written", reason);
	} else {
		*cache_note_r = t_strdup_printf("loaded from the store (cache "
			"%s), cache written", reason);
	}
	return 1;
}

static const char *uidl_map_new_generation(void)
{
	unsigned char rand[6];

	random_fill(rand, sizeof(rand));
	return t_strdup_printf("%lx-%s", (unsigned long)ioloop_time,
			       binary_to_hex(rand, sizeof(rand)));
}

static int
uidl_map_remove_chunks(struct pop3_policy_store *store, const char *user,
		       const struct uidl_map_index *index,
		       const char **error_r)
{
	unsigned int i;

	for (i = 0; i < index->chunks; i++) {
		if (pop3_policy_store_unset_key(store, user,
				pop3_policy_store_uidl_chunk_key(
					index->generation, i), error_r) < 0)
			return -1;
	}
	return 0;
}

int pop3_policy_uidl_map_save(struct pop3_policy_store *store,
			      const char *user,
			      const struct pop3_policy_uidl_map *map,
			      const char **error_r)
{
	struct uidl_map_index old_index;
	const char *const *chunks, *const *fields, *generation, *error;
	const char *index_fields[4];
	unsigned int i, count;
	int ret;

	ret = uidl_map_index_lookup(store, user, &old_index, &error);
	if (ret < 0) {
		/* an unreadable old index must not stop a new map: its
		   chunks are left behind, which loses nothing */
		i_zero(&old_index);
	} else if (ret == 0) {
		i_zero(&old_index);
	}

	generation = uidl_map_new_generation();
	chunks = pop3_policy_uidl_map_encode_chunks(map);
	count = str_array_length(chunks);
	for (i = 0; i < count; i++) {
		if (pop3_policy_record_decode(POP3_POLICY_RECORD_UIDL_MAP_CHUNK,
					      chunks[i], &fields, error_r) < 0)
			i_unreached();
		if (pop3_policy_store_set_key(store,
				POP3_POLICY_RECORD_UIDL_MAP_CHUNK, user,
				pop3_policy_store_uidl_chunk_key(generation, i),
				fields, error_r) < 0)
			return -1;
	}
	index_fields[0] = generation;
	index_fields[1] = dec2str(count);
	index_fields[2] = t_strdup(dec2str(pop3_policy_uidl_map_count(map)));
	index_fields[3] = NULL;
	if (pop3_policy_store_set(store, POP3_POLICY_RECORD_UIDL_MAP_INDEX,
				  user, index_fields, error_r) < 0)
		return -1;
	if (old_index.generation != NULL &&
	    uidl_map_remove_chunks(store, user, &old_index, &error) < 0) {
		/* the new map is in force; stale chunks cost only space */
		i_warning("%s (stale UIDL map chunks left behind)", error);
	}
	return 0;
}

int pop3_policy_uidl_map_mark_persisted(struct pop3_policy_store *store,
					const char *user,
					const struct pop3_policy_uidl_map *map,
					uint32_t uidvalidity,
					const char **error_r)
{
	struct uidl_map_index index;
	const char *fields[5];
	int ret;

	ret = uidl_map_index_lookup(store, user, &index, error_r);
	if (ret < 0)
		return -1;
	if (ret == 0 || map->generation == NULL ||
	    strcmp(index.generation, map->generation) != 0) {
		/* replaced or cleared meanwhile: the new map is not
		   persisted yet */
		return 0;
	}
	fields[0] = index.generation;
	fields[1] = t_strdup(dec2str(index.chunks));
	fields[2] = t_strdup(dec2str(index.entries));
	fields[3] = t_strdup(dec2str(uidvalidity));
	fields[4] = NULL;
	if (pop3_policy_store_set(store, POP3_POLICY_RECORD_UIDL_MAP_INDEX,
				  user, fields, error_r) < 0)
		return -1;
	return 1;
}

int pop3_policy_uidl_map_clear(struct pop3_policy_store *store,
			       const char *user, const char **error_r)
{
	struct uidl_map_index index;
	const char *error;
	int ret;

	ret = uidl_map_index_lookup(store, user, &index, &error);
	if (ret < 0) {
		/* remove the index anyway: clear must work on a broken map */
		i_zero(&index);
	}
	if (pop3_policy_store_unset(store, POP3_POLICY_RECORD_UIDL_MAP_INDEX,
				    user, error_r) < 0)
		return -1;
	if (ret > 0 && uidl_map_remove_chunks(store, user, &index,
					      error_r) < 0)
		return -1;
	return ret < 0 ? 1 : ret;
}
