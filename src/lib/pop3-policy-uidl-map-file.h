#ifndef POP3_POLICY_UIDL_MAP_FILE_H
#define POP3_POLICY_UIDL_MAP_FILE_H

#include "pop3-policy-uidl.h"

/* A mailbox's UIDL map, kept in one file in the INBOX's control directory
   (see the top of src/lib/pop3-policy-uidl-map-file.c for the layout). */

struct pop3_policy_state_file_perm;

/* The file's name in the INBOX's control directory */
#define POP3_POLICY_UIDL_MAP_FILE_NAME "pop3-policy-uidl.map"
/* Nothing a session would read whole */
#define POP3_POLICY_UIDL_MAP_FILE_MAX_SIZE (1024U * 1024 * 1024)

/* Parses a map file's content. Returns 0 with a frozen map (its
   generation and persisted mark set), or -1 with error_r saying what is
   wrong (format, version, byte order, sizes, offsets, checksum). */
int pop3_policy_uidl_map_file_parse(const void *data, size_t size,
				    struct pop3_policy_uidl_map **map_r,
				    const char **error_r);

/* Reads the map file at path. If persisted_uidvalidity is not 0 and the
   file is marked persisted under it (pop3_policy_uidl_map_file_mark_-
   persisted()), returns 2 without reading the entries. Otherwise returns
   1 with a frozen map, 0 if there is no file, -1 with error_r naming the
   path if it cannot be read or is damaged. */
int pop3_policy_uidl_map_file_read(const char *path,
				   uint32_t persisted_uidvalidity,
				   struct pop3_policy_uidl_map **map_r,
				   const char **error_r);

/* Writes the map (frozen first if it is not) to path atomically, under a
   new generation and without a persisted mark. Returns 0, or -1 with
   error_r; the old file stays then. */
int pop3_policy_uidl_map_file_write(const char *path,
				    const struct pop3_policy_state_file_perm *perm,
				    struct pop3_policy_uidl_map *map,
				    const char **error_r);

/* Marks the map file at path as persisted under uidvalidity: every mapped
   UIDL is now kept by the storage, and sessions of that UIDVALIDITY need
   not read the map. Only if the file still holds the map's generation:
   returns 1 if marked, 0 if the file was replaced or removed meanwhile,
   -1 with error_r. */
int pop3_policy_uidl_map_file_mark_persisted(const char *path,
		const struct pop3_policy_uidl_map *map, uint32_t uidvalidity,
		const char **error_r);

#endif
