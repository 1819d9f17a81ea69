/* Copyright (c) 2026 pop3-policy authors, see the included COPYING file */

/* UIDL remapping, pure part: UIDL validation (RFC 1939 section 7), message
   keys, the import file parser, the in-memory map and the serve-time
   assignment that keeps served UIDLs unique.

   Import file, one entry a line:

     <key> SP <uidl>         e.g.  guid:0b8d1c2f5a3e6f11 000000016b038130
                                   uid:1795391833:17 AAQ123
                                   msgid:<a1@example.com> 1f0c3
                                   hdr:9f86d0...(64 hex) UID7-1

   The key ends at the first SP or TAB; one or more SP/TAB separate it from
   the UIDL, which runs to the end of the line (a trailing CR is dropped), so
   a UIDL with a trailing space is refused rather than silently trimmed.
   Empty lines and lines starting with '#' are skipped. The first bad line
   makes the whole file fail: nothing of it is imported. */

#include "lib.h"
#include "str.h"
#include "strnum.h"
#include "str-sanitize.h"
#include "pop3-policy-uidl.h"

#include <ctype.h>

HASH_TABLE_DEFINE_TYPE(uidl_lines, const char *, void *);
HASH_TABLE_DEFINE_TYPE(uidl_msns, void *, void *);

static const char *const key_prefixes[POP3_POLICY_UIDL_KEY_KIND_COUNT] = {
	[POP3_POLICY_UIDL_KEY_UID] = "uid:",
	[POP3_POLICY_UIDL_KEY_GUID] = "guid:",
	[POP3_POLICY_UIDL_KEY_MSGID] = "msgid:",
	[POP3_POLICY_UIDL_KEY_HDR] = "hdr:",
};

int pop3_policy_uidl_validate(const char *uidl, const char **error_r)
{
	size_t i, len = strlen(uidl);

	if (len == 0) {
		*error_r = "UIDL is empty (RFC 1939 needs 1 to 70 characters)";
		return -1;
	}
	if (len > POP3_POLICY_UIDL_MAX_LEN) {
		*error_r = t_strdup_printf(
			"UIDL is %zu characters long (RFC 1939 allows at most %u)",
			len, POP3_POLICY_UIDL_MAX_LEN);
		return -1;
	}
	for (i = 0; i < len; i++) {
		unsigned char c = uidl[i];

		if (c < 0x21 || c > 0x7e) {
			*error_r = t_strdup_printf(
				"UIDL has character 0x%02x at position %zu "
				"(RFC 1939 allows only 0x21-0x7E)", c, i + 1);
			return -1;
		}
	}
	return 0;
}

static bool is_printable_word(const char *s)
{
	for (; *s != '\0'; s++) {
		if ((unsigned char)*s < 0x21 || (unsigned char)*s > 0x7e)
			return FALSE;
	}
	return TRUE;
}

const char *pop3_policy_uidl_key_uid(uint32_t uidvalidity, uint32_t uid)
{
	return t_strdup_printf("uid:%u:%u", uidvalidity, uid);
}

const char *pop3_policy_uidl_format_default(uint32_t uidvalidity,
					    uint32_t uid)
{
	static const char hex[] = "0123456789abcdef";
	char *uidl = t_malloc_no0(8 + 8 + 1);
	unsigned int i;

	for (i = 0; i < 8; i++) {
		uidl[i] = hex[(uid >> (28 - 4 * i)) & 0xf];
		uidl[8 + i] = hex[(uidvalidity >> (28 - 4 * i)) & 0xf];
	}
	uidl[16] = '\0';
	return uidl;
}

const char *pop3_policy_uidl_key_uid_pool(pool_t pool, uint32_t uidvalidity,
					  uint32_t uid)
{
	char buf[4 + 10 + 1 + 10 + 1], digits[10];
	unsigned int len = 0, n, i;
	const uint32_t nums[2] = { uidvalidity, uid };

	memcpy(buf, "uid:", 4);
	len = 4;
	for (i = 0; i < 2; i++) {
		uint32_t v = nums[i];

		n = 0;
		do {
			digits[n++] = '0' + v % 10;
			v /= 10;
		} while (v > 0);
		while (n > 0)
			buf[len++] = digits[--n];
		if (i == 0)
			buf[len++] = ':';
	}
	return p_strndup(pool, buf, len);
}

const char *pop3_policy_uidl_key_guid(const char *guid)
{
	return t_strconcat("guid:", guid, NULL);
}

const char *pop3_policy_uidl_key_msgid(const char *message_id)
{
	const char *p, *end;

	/* trim whitespace (folded headers leave some) and one pair of <> */
	p = message_id;
	while (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')
		p++;
	end = p + strlen(p);
	while (end > p && (end[-1] == ' ' || end[-1] == '\t' ||
			   end[-1] == '\r' || end[-1] == '\n'))
		end--;
	if (end - p >= 2 && *p == '<' && end[-1] == '>') {
		p++;
		end--;
	}
	if (end == p)
		return NULL;
	p = t_strdup_until(p, end);
	if (!is_printable_word(p))
		return NULL;
	return t_strconcat("msgid:", p, NULL);
}

static int key_parse_uid(const char *value, const char **canonical_r,
			 const char **error_r)
{
	const char *p;
	uint32_t uidvalidity, uid;

	p = strchr(value, ':');
	if (p == NULL ||
	    str_to_uint32(t_strdup_until(value, p), &uidvalidity) < 0 ||
	    str_to_uint32(p + 1, &uid) < 0 || uidvalidity == 0 || uid == 0) {
		*error_r = "uid: key must be uid:<uidvalidity>:<uid> with "
			"two non-zero 32-bit decimal numbers";
		return -1;
	}
	*canonical_r = pop3_policy_uidl_key_uid(uidvalidity, uid);
	return 0;
}

static int key_parse_hdr(const char *value, const char **canonical_r,
			 const char **error_r)
{
	size_t i, len = strlen(value);

	if (len != 64) {
		*error_r = t_strdup_printf(
			"hdr: key must be 64 hex digits (SHA-256), not %zu "
			"characters", len);
		return -1;
	}
	for (i = 0; i < len; i++) {
		if (!i_isxdigit(value[i])) {
			*error_r = "hdr: key has a character that is not a hex digit";
			return -1;
		}
	}
	*canonical_r = t_strconcat("hdr:", t_str_lcase(value), NULL);
	return 0;
}

int pop3_policy_uidl_key_parse(const char *key, const char **canonical_r,
			       enum pop3_policy_uidl_key_kind *kind_r,
			       const char **error_r)
{
	enum pop3_policy_uidl_key_kind kind;
	const char *value = NULL;

	for (kind = 0; kind < POP3_POLICY_UIDL_KEY_KIND_COUNT; kind++) {
		if (str_begins(key, key_prefixes[kind])) {
			value = key + strlen(key_prefixes[kind]);
			break;
		}
	}
	if (value == NULL) {
		*error_r = t_strdup_printf(
			"unknown key '%s' (expected guid:, hdr:, msgid: or uid:)",
			str_sanitize(key, 40));
		return -1;
	}
	if (value[0] == '\0') {
		*error_r = t_strdup_printf("%s key has no value",
					   key_prefixes[kind]);
		return -1;
	}
	if (!is_printable_word(value)) {
		*error_r = "key has a character outside 0x21-0x7E";
		return -1;
	}
	*kind_r = kind;
	switch (kind) {
	case POP3_POLICY_UIDL_KEY_UID:
		return key_parse_uid(value, canonical_r, error_r);
	case POP3_POLICY_UIDL_KEY_HDR:
		return key_parse_hdr(value, canonical_r, error_r);
	case POP3_POLICY_UIDL_KEY_MSGID:
		*canonical_r = pop3_policy_uidl_key_msgid(value);
		if (*canonical_r == NULL) {
			*error_r = "msgid: key is empty inside its <>";
			return -1;
		}
		return 0;
	case POP3_POLICY_UIDL_KEY_GUID:
		*canonical_r = t_strdup(key);
		return 0;
	case POP3_POLICY_UIDL_KEY_KIND_COUNT:
		break;
	}
	i_unreached();
}

int pop3_policy_uidl_key_check(const char *key,
			       enum pop3_policy_uidl_key_kind *kind_r,
			       const char **error_r)
{
	enum pop3_policy_uidl_key_kind kind;
	size_t len;

	for (kind = 0; kind < POP3_POLICY_UIDL_KEY_KIND_COUNT; kind++) {
		len = strlen(key_prefixes[kind]);
		if (strncmp(key, key_prefixes[kind], len) == 0)
			break;
	}
	if (kind == POP3_POLICY_UIDL_KEY_KIND_COUNT) {
		*error_r = "unknown key kind";
		return -1;
	}
	if (key[len] == '\0' || !is_printable_word(key + len)) {
		*error_r = "key has no value or a character outside 0x21-0x7E";
		return -1;
	}
	if (kind == POP3_POLICY_UIDL_KEY_HDR &&
	    (strlen(key + len) != 64 ||
	     strspn(key + len, "0123456789abcdef") != 64)) {
		*error_r = "hdr: key is not 64 lower-case hex digits";
		return -1;
	}
	if (kind == POP3_POLICY_UIDL_KEY_UID) {
		const char *p = key + len;
		size_t n1 = strspn(p, "0123456789");

		if (n1 == 0 || p[n1] != ':' ||
		    strspn(p + n1 + 1, "0123456789") != strlen(p + n1 + 1) ||
		    p[n1 + 1] == '\0') {
			*error_r = "uid: key is not uid:<uidvalidity>:<uid>";
			return -1;
		}
	}
	*kind_r = kind;
	return 0;
}

static enum pop3_policy_uidl_key_kind key_kind(const char *canonical)
{
	enum pop3_policy_uidl_key_kind kind;

	for (kind = 0; kind < POP3_POLICY_UIDL_KEY_KIND_COUNT; kind++) {
		if (str_begins(canonical, key_prefixes[kind]))
			return kind;
	}
	i_unreached();
}

struct pop3_policy_uidl_map *pop3_policy_uidl_map_create(void)
{
	struct pop3_policy_uidl_map *map;
	pool_t pool;

	pool = pool_alloconly_create("pop3-policy uidl map", 4096);
	map = p_new(pool, struct pop3_policy_uidl_map, 1);
	map->pool = pool;
	p_array_init(&map->entries, pool, 64);
	hash_table_create(&map->by_key, pool, 0, str_hash, strcmp);
	return map;
}

void pop3_policy_uidl_map_free(struct pop3_policy_uidl_map **_map)
{
	struct pop3_policy_uidl_map *map = *_map;

	if (map == NULL)
		return;
	*_map = NULL;
	if (hash_table_is_created(map->by_key))
		hash_table_destroy(&map->by_key);
	pool_unref(&map->pool);
}

int pop3_policy_uidl_map_add(struct pop3_policy_uidl_map *map,
			     const char *key, const char *uidl)
{
	struct pop3_policy_uidl_map_entry *entry;

	i_assert(!map->frozen);
	if (hash_table_lookup(map->by_key, key) != NULL)
		return -1;
	entry = array_append_space(&map->entries);
	entry->key = p_strdup(map->pool, key);
	entry->uidl = p_strdup(map->pool, uidl);
	hash_table_insert(map->by_key, entry->key, entry->uidl);
	map->kind_counts[key_kind(key)]++;
	return 0;
}

struct uidl_sort_key {
	const char *key;
	uint32_t idx;
};

static int uidl_sort_key_cmp(const struct uidl_sort_key *k1,
			     const struct uidl_sort_key *k2)
{
	return strcmp(k1->key, k2->key);
}

static int uidl_map_uid_cmp(const struct pop3_policy_uidl_map_uid *u1,
			    const struct pop3_policy_uidl_map_uid *u2)
{
	if (u1->uidvalidity != u2->uidvalidity)
		return u1->uidvalidity < u2->uidvalidity ? -1 : 1;
	if (u1->uid != u2->uid)
		return u1->uid < u2->uid ? -1 : 1;
	return 0;
}

/* Parses a canonical uid: key (checked at import or load). */
static bool uidl_key_uid_numbers(const char *key, uint32_t *uidvalidity_r,
				 uint32_t *uid_r)
{
	const char *p = key + 4, *end;

	/* leading zeros: not canonical, as a string it matched nothing */
	if (p[0] == '0' || str_parse_uint32(p, uidvalidity_r, &end) < 0 ||
	    *end != ':' || end[1] == '0')
		return FALSE;
	return str_to_uint32(end + 1, uid_r) == 0;
}

void pop3_policy_uidl_map_freeze(struct pop3_policy_uidl_map *map)
{
	const struct pop3_policy_uidl_map_entry *entries;
	struct uidl_sort_key *keys;
	struct pop3_policy_uidl_map_uid *uids;
	uint32_t *sorted;
	unsigned int i, count, uid_count = 0;

	if (map->frozen)
		return;
	entries = array_get(&map->entries, &count);
	keys = i_new(struct uidl_sort_key, count + 1);
	for (i = 0; i < count; i++) {
		keys[i].key = entries[i].key;
		keys[i].idx = i;
	}
	qsort(keys, count, sizeof(*keys),
	      (int (*)(const void *, const void *))uidl_sort_key_cmp);
	sorted = p_new(map->pool, uint32_t, count + 1);
	for (i = 0; i < count; i++)
		sorted[i] = keys[i].idx;
	i_free(keys);

	uids = p_new(map->pool, struct pop3_policy_uidl_map_uid,
		     map->kind_counts[POP3_POLICY_UIDL_KEY_UID] + 1);
	for (i = 0; i < count; i++) {
		struct pop3_policy_uidl_map_uid *u = &uids[uid_count];

		if (strncmp(entries[i].key, "uid:", 4) != 0)
			continue;
		i_assert(uid_count < map->kind_counts[POP3_POLICY_UIDL_KEY_UID]);
		if (!uidl_key_uid_numbers(entries[i].key, &u->uidvalidity,
					  &u->uid)) {
			/* a non-canonical key matches no message */
			continue;
		}
		u->entry = i;
		u->order = ++uid_count;
	}
	qsort(uids, uid_count, sizeof(*uids),
	      (int (*)(const void *, const void *))uidl_map_uid_cmp);

	pop3_policy_uidl_map_set_frozen(map, sorted, uids, uid_count);
	if (hash_table_is_created(map->by_key))
		hash_table_destroy(&map->by_key);
}

void pop3_policy_uidl_map_set_frozen(struct pop3_policy_uidl_map *map,
				     const uint32_t *sorted,
				     const struct pop3_policy_uidl_map_uid *uids,
				     unsigned int uid_count)
{
	map->sorted = sorted;
	map->uids = uids;
	map->uid_count = uid_count;
	map->frozen = TRUE;
}

static const char *
uidl_map_lookup_sorted(const struct pop3_policy_uidl_map *map,
		       const char *key)
{
	const struct pop3_policy_uidl_map_entry *entries;
	unsigned int count, lo = 0, hi, mid;
	int cmp;

	entries = array_get(&map->entries, &count);
	hi = count;
	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		cmp = strcmp(key, entries[map->sorted[mid]].key);
		if (cmp == 0)
			return entries[map->sorted[mid]].uidl;
		if (cmp < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return NULL;
}

const char *pop3_policy_uidl_map_lookup(struct pop3_policy_uidl_map *map,
					const char *key)
{
	if (map->frozen)
		return uidl_map_lookup_sorted(map, key);
	return hash_table_lookup(map->by_key, key);
}

const struct pop3_policy_uidl_map_uid *
pop3_policy_uidl_map_uids(const struct pop3_policy_uidl_map *map,
			  uint32_t uidvalidity, unsigned int *count_r)
{
	unsigned int lo = 0, hi = map->uid_count, mid, first;

	i_assert(map->frozen);
	/* the first entry of this UIDVALIDITY */
	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (map->uids[mid].uidvalidity < uidvalidity)
			lo = mid + 1;
		else
			hi = mid;
	}
	first = lo;
	hi = map->uid_count;
	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (map->uids[mid].uidvalidity <= uidvalidity)
			lo = mid + 1;
		else
			hi = mid;
	}
	*count_r = lo - first;
	return map->uids + first;
}

unsigned int pop3_policy_uidl_map_count(const struct pop3_policy_uidl_map *map)
{
	return array_count(&map->entries);
}

static int
import_line(struct pop3_policy_uidl_map *map,
	    HASH_TABLE_TYPE(uidl_lines) uidls, const char *line,
	    unsigned int line_num, const char **error_r)
{
	enum pop3_policy_uidl_key_kind kind;
	const char *p, *key, *uidl, *canonical, *error;
	void *prev_line;

	p = line;
	while (*p != '\0' && *p != ' ' && *p != '\t')
		p++;
	key = t_strdup_until(line, p);
	while (*p == ' ' || *p == '\t')
		p++;
	uidl = p;

	if (pop3_policy_uidl_key_parse(key, &canonical, &kind, &error) < 0) {
		*error_r = t_strdup_printf("line %u: %s", line_num, error);
		return -1;
	}
	if (pop3_policy_uidl_validate(uidl, &error) < 0) {
		*error_r = t_strdup_printf("line %u: %s", line_num, error);
		return -1;
	}
	prev_line = hash_table_lookup(uidls, uidl);
	if (prev_line != NULL) {
		*error_r = t_strdup_printf(
			"line %u: UIDL %s repeats the one of line %u "
			"(UIDLs must be unique)", line_num, uidl,
			POINTER_CAST_TO(prev_line, unsigned int));
		return -1;
	}
	if (pop3_policy_uidl_map_add(map, canonical, uidl) < 0) {
		*error_r = t_strdup_printf(
			"line %u: key %s appears twice", line_num,
			str_sanitize(canonical, 80));
		return -1;
	}
	/* the map's copy outlives this data stack frame */
	hash_table_insert(uidls, pop3_policy_uidl_map_lookup(map, canonical),
			  POINTER_CAST(line_num));
	return 0;
}

int pop3_policy_uidl_import_parse(const char *data, size_t size,
				  struct pop3_policy_uidl_map **map_r,
				  const char **error_r)
{
	struct pop3_policy_uidl_map *map;
	HASH_TABLE_TYPE(uidl_lines) uidls;
	const char *p = data, *end = data + size, *nl, *line;
	unsigned int line_num = 0;
	int ret = 0;

	map = pop3_policy_uidl_map_create();
	hash_table_create(&uidls, default_pool, 0, str_hash, strcmp);
	while (p < end && ret == 0) {
		size_t len;

		line_num++;
		nl = memchr(p, '\n', end - p);
		len = (nl == NULL ? end : nl) - p;
		if (len > 0 && p[len-1] == '\r')
			len--;
		T_BEGIN {
			line = t_strndup(p, len);
			if (memchr(p, '\0', len) != NULL) {
				*error_r = t_strdup_printf(
					"line %u: contains a NUL byte",
					line_num);
				ret = -1;
			} else if (line[0] != '\0' && line[0] != '#') {
				ret = import_line(map, uidls, line, line_num,
						  error_r);
			}
		} T_END_PASS_STR_IF(ret < 0, error_r);
		p = nl == NULL ? end : nl + 1;
	}
	hash_table_destroy(&uidls);
	if (ret < 0) {
		pop3_policy_uidl_map_free(&map);
		return -1;
	}
	*map_r = map;
	return 0;
}

const char *
pop3_policy_uidl_map_resolve(struct pop3_policy_uidl_map *map,
			     const struct pop3_policy_uidl_msg_keys *keys)
{
	const char *const order[] = {
		keys->uid_key, keys->guid_key, keys->msgid_key, keys->hdr_key
	};
	const char *uidl;
	unsigned int i;

	for (i = 0; i < N_ELEMENTS(order); i++) {
		if (order[i] == NULL)
			continue;
		uidl = pop3_policy_uidl_map_lookup(map, order[i]);
		if (uidl != NULL)
			return uidl;
	}
	return NULL;
}

const char *pop3_policy_uidl_source_name(enum pop3_policy_uidl_source source)
{
	switch (source) {
	case POP3_POLICY_UIDL_SOURCE_NATIVE:
		return "native";
	case POP3_POLICY_UIDL_SOURCE_MAP:
		return "map";
	case POP3_POLICY_UIDL_SOURCE_COLLISION:
		return "collision";
	}
	i_unreached();
}

/* The set of UIDLs taken so far in pop3_policy_uidl_assign(): open
   addressing over a power-of-two table of (64-bit hash, string), sized for
   every message at once, so that the 100,000 strings of a large mailbox
   cost one probe each and no allocation. */
struct uidl_taken_slot {
	uint64_t hash;
	const char *uidl;
};

static uint64_t uidl_taken_hash(const char *s)
{
	uint64_t h = 14695981039346656037ULL;

	for (; *s != '\0'; s++) {
		h ^= (unsigned char)*s;
		h *= 1099511628211ULL;
	}
	return h;
}

/* Returns TRUE if uidl was taken already; else takes it. */
static bool uidl_taken_add(struct uidl_taken_slot *slots, size_t mask,
			   const char *uidl)
{
	uint64_t hash = uidl_taken_hash(uidl);
	size_t i = (size_t)(hash ^ (hash >> 32)) & mask;

	while (slots[i].uidl != NULL) {
		if (slots[i].hash == hash && strcmp(slots[i].uidl, uidl) == 0)
			return TRUE;
		i = (i + 1) & mask;
	}
	slots[i].hash = hash;
	slots[i].uidl = uidl;
	return FALSE;
}

unsigned int pop3_policy_uidl_assign(struct pop3_policy_uidl_assign *msgs,
				     unsigned int count)
{
	struct uidl_taken_slot *slots;
	size_t size = 16;
	unsigned int i, collisions = 0;

	/* at most half full */
	while (size < (size_t)count * 2)
		size *= 2;
	slots = i_new(struct uidl_taken_slot, size);
	/* native UIDLs of unmapped messages are served as they are, so a
	   mapped UIDL may not take one of them */
	for (i = 0; i < count; i++) {
		if (msgs[i].mapped == NULL)
			(void)uidl_taken_add(slots, size - 1, msgs[i].native);
	}
	for (i = 0; i < count; i++) {
		if (msgs[i].mapped == NULL) {
			msgs[i].served = msgs[i].native;
			msgs[i].source = POP3_POLICY_UIDL_SOURCE_NATIVE;
		} else if (uidl_taken_add(slots, size - 1, msgs[i].mapped)) {
			msgs[i].served = msgs[i].native;
			msgs[i].source = POP3_POLICY_UIDL_SOURCE_COLLISION;
			collisions++;
		} else {
			msgs[i].served = msgs[i].mapped;
			msgs[i].source = POP3_POLICY_UIDL_SOURCE_MAP;
		}
	}
	i_free(slots);
	return collisions;
}

static int
listing_line(const char *line, unsigned int line_num, pool_t pool,
	     ARRAY_TYPE(pop3_policy_uidl_listing_line) *lines,
	     HASH_TABLE_TYPE(uidl_lines) uidls,
	     HASH_TABLE_TYPE(uidl_msns) msns, const char **error_r)
{
	struct pop3_policy_uidl_listing_line *l;
	const char *p, *error;
	unsigned int msn, prev;

	p = strchr(line, ' ');
	if (p == NULL || str_to_uint(t_strdup_until(line, p), &msn) < 0 ||
	    msn == 0) {
		*error_r = t_strdup_printf("line %u: expected "
			"\"<message number> <uidl>\"", line_num);
		return -1;
	}
	p++;
	if (pop3_policy_uidl_validate(p, &error) < 0) {
		*error_r = t_strdup_printf("line %u: %s", line_num, error);
		return -1;
	}
	prev = POINTER_CAST_TO(hash_table_lookup(uidls, p), unsigned int);
	if (prev != 0) {
		*error_r = t_strdup_printf("line %u: UIDL %s repeats the one "
			"of line %u", line_num, p, prev);
		return -1;
	}
	prev = POINTER_CAST_TO(hash_table_lookup(msns, POINTER_CAST(msn)),
			       unsigned int);
	if (prev != 0) {
		*error_r = t_strdup_printf("line %u: message number %u "
			"repeats the one of line %u", line_num, msn, prev);
		return -1;
	}
	hash_table_insert(msns, POINTER_CAST(msn), POINTER_CAST(line_num));
	l = array_append_space(lines);
	l->line = line_num;
	l->msn = msn;
	l->uidl = p_strdup(pool, p);
	hash_table_insert(uidls, l->uidl, POINTER_CAST(line_num));
	return 0;
}

int pop3_policy_uidl_listing_parse(const char *data, size_t size, pool_t pool,
	ARRAY_TYPE(pop3_policy_uidl_listing_line) *lines_r,
	const char **error_r)
{
	HASH_TABLE_TYPE(uidl_lines) uidls;
	HASH_TABLE_TYPE(uidl_msns) msns;
	const char *p = data, *end = data + size, *nl;
	unsigned int line_num = 0;
	bool ended = FALSE;
	int ret = 0;

	p_array_init(lines_r, pool, 64);
	hash_table_create(&uidls, default_pool, 0, str_hash, strcmp);
	hash_table_create_direct(&msns, default_pool, 0);
	while (p < end && ret == 0) {
		size_t len;

		line_num++;
		nl = memchr(p, '\n', end - p);
		len = (nl == NULL ? end : nl) - p;
		if (len > 0 && p[len-1] == '\r')
			len--;
		T_BEGIN {
			const char *line = t_strndup(p, len);

			if (memchr(p, '\0', len) != NULL) {
				*error_r = t_strdup_printf(
					"line %u: contains a NUL byte",
					line_num);
				ret = -1;
			} else if (line[0] == '\0') {
				/* empty lines are skipped */
			} else if (ended) {
				*error_r = t_strdup_printf("line %u: text "
					"after the final \".\"", line_num);
				ret = -1;
			} else if (strcmp(line, ".") == 0) {
				ended = TRUE;
			} else if (line_num == 1 && str_begins(line, "+OK")) {
				/* the status line of the capture */
			} else {
				ret = listing_line(line, line_num, pool,
						   lines_r, uidls, msns,
						   error_r);
			}
		} T_END_PASS_STR_IF(ret < 0, error_r);
		p = nl == NULL ? end : nl + 1;
	}
	hash_table_destroy(&uidls);
	hash_table_destroy(&msns);
	return ret;
}
