#ifndef POP3_POLICY_UIDL_H
#define POP3_POLICY_UIDL_H

#include "array.h"
#include "hash.h"

/* UIDL remapping, the pure part: UIDL validation (RFC 1939) and message
   keys (pop3-policy-uidl-key.c), the in-memory map
   (pop3-policy-uidl-map.c), the import file and listing parsers
   (pop3-policy-uidl-import.c) and the serve-time assignment
   (pop3-policy-uidl-assign.c). Nothing here touches a mailbox or the
   store. */

/* RFC 1939 section 7: a unique-id is 1 to 70 characters in 0x21-0x7E. */
#define POP3_POLICY_UIDL_MAX_LEN 70

enum pop3_policy_uidl_key_kind {
	/* uid:<uidvalidity>:<uid> */
	POP3_POLICY_UIDL_KEY_UID = 0,
	/* guid:<Dovecot message GUID> */
	POP3_POLICY_UIDL_KEY_GUID,
	/* msgid:<Message-ID without the enclosing angle brackets> */
	POP3_POLICY_UIDL_KEY_MSGID,
	/* hdr:<sha256 hex of the normalised header block> */
	POP3_POLICY_UIDL_KEY_HDR,

	POP3_POLICY_UIDL_KEY_KIND_COUNT
};

/* Returns 0 if uidl is a valid RFC 1939 unique-id, -1 with a reason in
   error_r (which quotes no more than a sanitised prefix) if not. */
int pop3_policy_uidl_validate(const char *uidl, const char **error_r);

/* Parses and normalises a message key ("guid:...", "uid:1:2", ...).
   Returns 0 with the canonical key (data stack) and its kind, or -1 with
   a reason. Canonical forms: hdr: hex in lower case, msgid: without
   enclosing <>, uid: numbers without leading zeros. */
int pop3_policy_uidl_key_parse(const char *key, const char **canonical_r,
			       enum pop3_policy_uidl_key_kind *kind_r,
			       const char **error_r);

/* Checks that key has a known prefix and a value of 1 or more characters
   in 0x21-0x7E, without making it canonical (for keys read back from the
   store, which were canonical when written). Returns 0 with its kind, or
   -1 with a reason. */
int pop3_policy_uidl_key_check(const char *key,
			       enum pop3_policy_uidl_key_kind *kind_r,
			       const char **error_r);

/* Returns the kind of a key that pop3_policy_uidl_key_parse() or
   pop3_policy_uidl_key_check() accepted (any other key is a bug). */
enum pop3_policy_uidl_key_kind
pop3_policy_uidl_key_kind(const char *canonical);

/* Key builders (data stack). */
const char *pop3_policy_uidl_key_uid(uint32_t uidvalidity, uint32_t uid);
/* Same as pop3_policy_uidl_key_uid(), allocated from pool, without printf
   (a session makes one for every message). */
const char *pop3_policy_uidl_key_uid_pool(pool_t pool, uint32_t uidvalidity,
					  uint32_t uid);
const char *pop3_policy_uidl_key_guid(const char *guid);
/* Returns NULL if the Message-ID header value yields no usable key. */
const char *pop3_policy_uidl_key_msgid(const char *message_id);

/* Dovecot's default pop3_uidl_format. */
#define POP3_POLICY_UIDL_FORMAT_DEFAULT "%08Xu%08Xv"
/* The UIDL that format gives (data stack), as var_expand() would, without
   parsing the format: the UIDL guard works out one for each sampled
   message at every login. */
const char *pop3_policy_uidl_format_default(uint32_t uidvalidity,
					    uint32_t uid);

struct pop3_policy_uidl_map_entry {
	const char *key;
	const char *uidl;
};

/* A uid: entry of a frozen map, by number. */
struct pop3_policy_uidl_map_uid {
	uint32_t uidvalidity, uid;
	/* index of the entry in map->entries */
	uint32_t entry;
	/* 1-based position of the entry among the map's uid: entries (the
	   POP3 order the messages had) */
	uint32_t order;
};

/* A user's UIDL map: key -> UIDL. Allocated from its own pool.

   A map is built with pop3_policy_uidl_map_add() (a hash table finds
   repeated keys), then frozen for serving: pop3_policy_uidl_map_freeze()
   replaces the hash table with sorted arrays, which a session searches
   without hashing strings and which the mailbox's map file
   (pop3-policy-uidl-map-file.h) stores as they are. */
struct pop3_policy_uidl_map {
	pool_t pool;
	ARRAY(struct pop3_policy_uidl_map_entry) entries;
	/* while building (not frozen) */
	HASH_TABLE(const char *, const char *) by_key;
	/* how many entries of each key kind the map has, so that a session
	   skips computing keys no entry uses (hdr: reads every header) */
	unsigned int kind_counts[POP3_POLICY_UIDL_KEY_KIND_COUNT];
	/* the generation of the map file it was read from or written to
	   (NULL if neither) */
	const char *generation;

	/* frozen: the indexes of all entries sorted by key (strcmp), and the
	   uid: entries sorted by (uidvalidity, uid) */
	bool frozen;
	const uint32_t *sorted;
	const struct pop3_policy_uidl_map_uid *uids;
	unsigned int uid_count;
};

struct pop3_policy_uidl_map *pop3_policy_uidl_map_create(void);
void pop3_policy_uidl_map_free(struct pop3_policy_uidl_map **map);
/* Adds a canonical key. Returns 0, or -1 if the key is already there. The
   map must not be frozen. */
int pop3_policy_uidl_map_add(struct pop3_policy_uidl_map *map,
			     const char *key, const char *uidl);
/* Makes the map read-only with sorted lookup tables (does nothing if it is
   frozen already). Lookups give the same answers as before. */
void pop3_policy_uidl_map_freeze(struct pop3_policy_uidl_map *map);
/* Marks the map frozen with the given tables (allocated from its pool or
   living as long as it), for the map file, which stores them. */
void pop3_policy_uidl_map_set_frozen(struct pop3_policy_uidl_map *map,
				     const uint32_t *sorted,
				     const struct pop3_policy_uidl_map_uid *uids,
				     unsigned int uid_count);
/* Returns the UIDL of the key, or NULL. */
const char *pop3_policy_uidl_map_lookup(struct pop3_policy_uidl_map *map,
					const char *key);
/* Returns the frozen map's uid: entries of this UIDVALIDITY, sorted by
   uid, and their number in count_r (0 if none). */
const struct pop3_policy_uidl_map_uid *
pop3_policy_uidl_map_uids(const struct pop3_policy_uidl_map *map,
			  uint32_t uidvalidity, unsigned int *count_r);
unsigned int pop3_policy_uidl_map_count(const struct pop3_policy_uidl_map *map);

/* Parses an import file: lines "<key> <uidl>" (one or more SP/TAB between,
   LF or CRLF line ends); empty lines and lines starting with '#' are
   skipped. Every key is normalised, every UIDL validated; a repeated UIDL
   or key is refused. Returns 0 with a new map, or -1 with an error naming
   the first bad line's number; then no map is returned at all. */
int pop3_policy_uidl_import_parse(const char *data, size_t size,
				  struct pop3_policy_uidl_map **map_r,
				  const char **error_r);

/* The keys of one message (NULL where not computed or not available). */
struct pop3_policy_uidl_msg_keys {
	const char *uid_key, *guid_key, *msgid_key, *hdr_key;
};

/* Looks up a message in the map, most specific key first: uid:, guid:,
   msgid:, hdr:. Returns the UIDL or NULL. */
const char *
pop3_policy_uidl_map_resolve(struct pop3_policy_uidl_map *map,
			     const struct pop3_policy_uidl_msg_keys *keys);

enum pop3_policy_uidl_source {
	POP3_POLICY_UIDL_SOURCE_NATIVE = 0,
	POP3_POLICY_UIDL_SOURCE_MAP,
	/* a map entry matched, but its UIDL collided: native served */
	POP3_POLICY_UIDL_SOURCE_COLLISION,
};
const char *pop3_policy_uidl_source_name(enum pop3_policy_uidl_source source);

struct pop3_policy_uidl_assign {
	/* input: the UIDL Dovecot serves itself, and the map's (or NULL).
	   native may be NULL for a message with a mapped UIDL: if that one
	   collides, served is left NULL for the caller to fill in with the
	   native UIDL worked out then. */
	const char *native;
	const char *mapped;
	/* output */
	const char *served;
	enum pop3_policy_uidl_source source;
};

/* Decides the served UIDL of each message of a mailbox (in POP3 order).
   A mapped UIDL is served unless it equals the native UIDL of a message
   without a map entry, or the mapped UIDL of an earlier message: then that
   message falls back to its native UIDL (source COLLISION), so that served
   UIDLs stay unique. Returns the number of collisions. */
unsigned int pop3_policy_uidl_assign(struct pop3_policy_uidl_assign *msgs,
				     unsigned int count);

struct pop3_policy_uidl_listing_line {
	unsigned int line, msn;
	const char *uidl;
};
ARRAY_DEFINE_TYPE(pop3_policy_uidl_listing_line,
		  struct pop3_policy_uidl_listing_line);

/* Parses a captured POP3 "UIDL" listing: lines "<msn> <uidl>", LF or CRLF,
   optionally preceded by the "+OK" status line and ended by ".". Returns 0
   with the lines (allocated from pool), or -1 with an error naming the
   first bad line's number (a bad msn, an invalid or repeated UIDL, a
   repeated msn, text after "."). */
int pop3_policy_uidl_listing_parse(const char *data, size_t size, pool_t pool,
	ARRAY_TYPE(pop3_policy_uidl_listing_line) *lines_r,
	const char **error_r);

#endif
