#ifndef POP3_POLICY_UIDL_MAP_H
#define POP3_POLICY_UIDL_MAP_H

#include "pop3-policy-uidl.h"

/* The UIDL map in the store: chunk records under
   priv/pop3-policy/uidl-map/<generation>/<n>, each value under
   POP3_POLICY_UIDL_MAP_CHUNK_MAX bytes (the dict proxy protocol limits a
   line to 64 KiB), and an index record priv/pop3-policy/uidl-map naming the
   generation, chunk count and entry count. See the top of
   src/lib/pop3-policy-uidl-map.c. */

#define POP3_POLICY_UIDL_MAP_CHUNK_MAX 56000
/* how many chunk lookups a session keeps in flight at once */
#define POP3_POLICY_UIDL_MAP_PIPELINE 32

struct pop3_policy_store;

/* Encodes the map into chunk values (each a complete record, under
   POP3_POLICY_UIDL_MAP_CHUNK_MAX bytes). Returns the values (data stack). */
const char *const *
pop3_policy_uidl_map_encode_chunks(const struct pop3_policy_uidl_map *map);
/* Decodes one chunk's payload fields into map. Returns 0, or -1 with a
   reason if an entry is malformed or repeats a key. */
int pop3_policy_uidl_map_decode_chunk(struct pop3_policy_uidl_map *map,
				      const char *const *fields,
				      const char **error_r);

/* Loads the user's map: the index record, then every chunk with at most
   POP3_POLICY_UIDL_MAP_PIPELINE lookups in flight. Returns 1 with the map,
   0 if the user has no map, -1 with an error (store down, a missing or
   malformed chunk, an entry count that does not match). */
int pop3_policy_uidl_map_load(struct pop3_policy_store *store,
			      const char *user,
			      struct pop3_policy_uidl_map **map_r,
			      const char **error_r);
/* Same, but returns 2 without loading anything if the map was persisted
   (pop3_policy_uidl_map_mark_persisted()) under this UIDVALIDITY. */
int pop3_policy_uidl_map_load_unless_persisted(
	struct pop3_policy_store *store, const char *user,
	uint32_t uidvalidity, struct pop3_policy_uidl_map **map_r,
	const char **error_r);
/* Same, with a local cache of the decoded map at cache_path (NULL: none,
   see pop3-policy-uidl-cache.h): the index record is always read from the
   store; the chunks only if the cache does not hold the generation and
   entry count that the index names, and then the cache is rewritten.
   cache_note_r says where the map came from (for a debug line);
   cache_error_r is set (else NULL) if the cache could not be written, which
   is not an error for the caller. Maps are returned frozen. */
int pop3_policy_uidl_map_load_cached(struct pop3_policy_store *store,
				     const char *user, uint32_t uidvalidity,
				     const char *cache_path,
				     struct pop3_policy_uidl_map **map_r,
				     const char **cache_note_r,
				     const char **cache_error_r,
				     const char **error_r);
/* Records in the index that the map's UIDLs are now kept by the storage
   under this UIDVALIDITY. Returns 1 if recorded, 0 if the index is no
   longer the one the map was loaded from (it was replaced or cleared), -1
   on error. */
int pop3_policy_uidl_map_mark_persisted(struct pop3_policy_store *store,
					const char *user,
					const struct pop3_policy_uidl_map *map,
					uint32_t uidvalidity,
					const char **error_r);
/* Stores the map under a new generation: chunks first, then the index
   (the switch), then the old generation's chunks are removed. Returns 0 or
   -1 with an error; on error the old map stays in force. */
int pop3_policy_uidl_map_save(struct pop3_policy_store *store,
			      const char *user,
			      const struct pop3_policy_uidl_map *map,
			      const char **error_r);
/* Removes the user's map (index and chunks). Returns 1 if there was one,
   0 if not, -1 on error. */
int pop3_policy_uidl_map_clear(struct pop3_policy_store *store,
			       const char *user, const char **error_r);

#endif
