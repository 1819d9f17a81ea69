/* Copyright (c) 2026 pop3-policy authors, see the included COPYING file */

/* The in-memory UIDL map, key -> UIDL: built entry by entry (an import, a
   map file), then frozen into sorted tables that a session looks its
   messages up in, most specific key first. */

#include "lib.h"
#include "array.h"
#include "hash.h"
#include "pop3-policy-uidl.h"

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
	map->kind_counts[pop3_policy_uidl_key_kind(key)]++;
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
