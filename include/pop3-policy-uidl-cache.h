#ifndef POP3_POLICY_UIDL_CACHE_H
#define POP3_POLICY_UIDL_CACHE_H

#include "pop3-policy-uidl.h"

/* A local copy of a user's frozen UIDL map, so that a session whose map
   has not changed reads one file instead of every chunk through the store
   (see the top of src/lib/pop3-policy-uidl-cache.c). The store stays the
   authority: the cache is used only when it holds the generation and entry
   count that the store's index record names in this session. */

/* The file's name in the directory the caller picks (the user's INBOX
   index directory). */
#define POP3_POLICY_UIDL_CACHE_FILE_NAME "pop3-policy-uidl-map.cache"

/* Reads the cache at path. Returns 1 with a frozen map (its generation
   set) if the file holds the map of this generation with this many
   entries; 0 with the reason in reason_r if it does not: the file is
   missing, of another generation (stale), from another build or machine
   (foreign), or damaged (corrupt). A 0 is never an error for the session:
   the caller loads the map from the store and writes a new cache. */
int pop3_policy_uidl_cache_read(const char *path, const char *generation,
				unsigned int entry_count,
				struct pop3_policy_uidl_map **map_r,
				const char **reason_r);

/* Writes the frozen map, with its generation, to path atomically (a
   temporary file renamed over it). Returns 0, or -1 with an error. */
int pop3_policy_uidl_cache_write(const char *path,
				 const struct pop3_policy_uidl_map *map,
				 const char **error_r);

#endif
