/* Copyright (c) 2026 pop3-policy authors, see the included COPYING file */

/* The frozen map and its local cache (pop3-policy-uidl-cache.c), against a
   file: store in a temporary directory.

   Checks: a frozen map answers every lookup as the built one did, and its
   uid: table gives each UIDVALIDITY's entries in uid order with their
   POP3 order; the cache reads back the same map; a cache that is missing,
   of another generation or entry count, foreign, truncated or damaged is
   refused (never a wrong map); loading through the cache gives the store's
   map in every case: first from the store (cache written), then from the
   cache, and after a new save (as another backend sharing the store would
   do it) from the store again, never the old cache. */

#include "lib.h"
#include "ioloop.h"
#include "str.h"
#include "unlink-directory.h"
#include "dict.h"
#include "test-common.h"
#include "pop3-policy-store.h"
#include "pop3-policy-uidl-map.h"
#include "pop3-policy-uidl-cache.h"

#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>
#include <sys/stat.h>

#define TEST_USER "uidl-cache-user"

static const char *tmpdir;

/* count entries of all kinds; uid: keys of two UIDVALIDITYs, in an order
   that is not uid order */
static struct pop3_policy_uidl_map *test_map(unsigned int count,
					     const char *salt)
{
	struct pop3_policy_uidl_map *map = pop3_policy_uidl_map_create();
	unsigned int i;

	for (i = 0; i < count; i++) T_BEGIN {
		const char *key;

		switch (i % 5) {
		case 0:
			key = t_strdup_printf("uid:1795391833:%u",
					      count - i);
			break;
		case 1:
			key = t_strdup_printf("uid:7:%u", i + 1);
			break;
		case 2:
			key = t_strdup_printf("guid:%032x", i);
			break;
		case 3:
			key = t_strdup_printf("msgid:m%u@example.com", i);
			break;
		default:
			key = t_strdup_printf("hdr:%064x", i);
			break;
		}
		i_assert(pop3_policy_uidl_map_add(map, key,
			t_strdup_printf("%s%08x", salt, i)) == 0);
	} T_END;
	return map;
}

/* TRUE if every entry of m1 has the same UIDL in m2 and the counts and
   key kind counts agree. */
static bool maps_equal(struct pop3_policy_uidl_map *m1,
		       struct pop3_policy_uidl_map *m2)
{
	const struct pop3_policy_uidl_map_entry *entry;
	const char *uidl;

	if (pop3_policy_uidl_map_count(m1) != pop3_policy_uidl_map_count(m2) ||
	    memcmp(m1->kind_counts, m2->kind_counts,
		   sizeof(m1->kind_counts)) != 0)
		return FALSE;
	array_foreach(&m1->entries, entry) {
		uidl = pop3_policy_uidl_map_lookup(m2, entry->key);
		if (uidl == NULL || strcmp(uidl, entry->uidl) != 0)
			return FALSE;
	}
	return TRUE;
}

static void test_uidl_map_freeze(void)
{
	struct pop3_policy_uidl_map *built, *frozen;
	const struct pop3_policy_uidl_map_uid *uids;
	const struct pop3_policy_uidl_map_entry *entries;
	unsigned int i, count;
	bool sorted = TRUE, orders = TRUE;

	test_begin("uidl map freeze");
	built = test_map(10000, "A");
	frozen = test_map(10000, "A");
	pop3_policy_uidl_map_freeze(frozen);
	pop3_policy_uidl_map_freeze(frozen);
	test_assert(frozen->frozen);
	test_assert(maps_equal(built, frozen));
	test_assert(pop3_policy_uidl_map_lookup(frozen, "guid:none") == NULL);
	test_assert(pop3_policy_uidl_map_lookup(frozen, "") == NULL);
	test_assert(pop3_policy_uidl_map_lookup(frozen, "zzz") == NULL);

	/* uid: entries of UIDVALIDITY 1795391833, in uid order, each with
	   its place among the map's uid: entries */
	entries = array_front(&frozen->entries);
	uids = pop3_policy_uidl_map_uids(frozen, 1795391833, &count);
	test_assert(count == 2000);
	for (i = 0; i < count; i++) {
		if (i > 0 && uids[i - 1].uid >= uids[i].uid)
			sorted = FALSE;
		if (uids[i].uidvalidity != 1795391833 ||
		    strcmp(entries[uids[i].entry].key,
			   t_strdup_printf("uid:1795391833:%u",
					   uids[i].uid)) != 0)
			orders = FALSE;
		/* entry i*5 has uid count-5i and is the (2i+1)th uid: entry,
		   so uid u is at entry (10000-u)/5 with order 2*that+1 */
		if (uids[i].order != 2 * ((10000 - uids[i].uid) / 5) + 1)
			orders = FALSE;
	}
	test_assert(sorted);
	test_assert(orders);
	uids = pop3_policy_uidl_map_uids(frozen, 7, &count);
	test_assert(count == 2000 && uids[0].uid == 2 && uids[0].order == 2);
	(void)pop3_policy_uidl_map_uids(frozen, 8, &count);
	test_assert(count == 0);
	(void)pop3_policy_uidl_map_uids(frozen, 1, &count);
	test_assert(count == 0);
	pop3_policy_uidl_map_free(&built);
	pop3_policy_uidl_map_free(&frozen);

	/* a uid: key that is not canonical matched nothing as a string and
	   matches nothing as a number */
	frozen = pop3_policy_uidl_map_create();
	test_assert(pop3_policy_uidl_map_add(frozen, "uid:7:01", "X") == 0);
	test_assert(pop3_policy_uidl_map_add(frozen, "uid:7:2", "Y") == 0);
	pop3_policy_uidl_map_freeze(frozen);
	uids = pop3_policy_uidl_map_uids(frozen, 7, &count);
	test_assert(count == 1 && uids[0].uid == 2);
	pop3_policy_uidl_map_free(&frozen);

	/* the empty map */
	frozen = pop3_policy_uidl_map_create();
	pop3_policy_uidl_map_freeze(frozen);
	test_assert(pop3_policy_uidl_map_lookup(frozen, "uid:7:2") == NULL);
	(void)pop3_policy_uidl_map_uids(frozen, 7, &count);
	test_assert(count == 0);
	pop3_policy_uidl_map_free(&frozen);
	test_end();
}

static void write_bytes(const char *path, const void *data, size_t size)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);

	if (fd == -1 || write(fd, data, size) != (ssize_t)size)
		i_fatal("write(%s): %m", path);
	i_close_fd(&fd);
}

static void *read_bytes(const char *path, size_t *size_r)
{
	struct stat st;
	void *data;
	int fd = open(path, O_RDONLY);

	if (fd == -1 || fstat(fd, &st) < 0)
		i_fatal("open(%s): %m", path);
	data = i_malloc(st.st_size + 1);
	if (read(fd, data, st.st_size) != st.st_size)
		i_fatal("read(%s): %m", path);
	i_close_fd(&fd);
	*size_r = st.st_size;
	return data;
}

/* Returns the cache read's result (1 or 0) and its reason. */
static int read_cache(const char *path, const char *generation,
		      unsigned int count, const char **reason_r)
{
	struct pop3_policy_uidl_map *map;
	int ret;

	*reason_r = "";
	ret = pop3_policy_uidl_cache_read(path, generation, count, &map,
					  reason_r);
	test_assert((ret == 1) == (map != NULL));
	pop3_policy_uidl_map_free(&map);
	return ret;
}

static void test_uidl_cache_file(void)
{
	const char *path = t_strdup_printf("%s/cache-file", tmpdir);
	struct pop3_policy_uidl_map *map, *read;
	const char *error, *reason;
	unsigned char *data;
	size_t size;
	int ret;

	test_begin("uidl cache file");
	map = test_map(20000, "C");
	map->generation = "gen-1";
	pop3_policy_uidl_map_freeze(map);
	test_assert(pop3_policy_uidl_cache_write(path, map, &error) == 0);

	ret = pop3_policy_uidl_cache_read(path, "gen-1", 20000, &read,
					  &reason);
	test_assert(ret == 1);
	if (ret == 1) {
		const struct pop3_policy_uidl_map_uid *u1, *u2;
		unsigned int c1, c2;

		test_assert(read->frozen);
		test_assert(strcmp(read->generation, "gen-1") == 0);
		test_assert(maps_equal(map, read));
		test_assert(maps_equal(read, map));
		u1 = pop3_policy_uidl_map_uids(map, 7, &c1);
		u2 = pop3_policy_uidl_map_uids(read, 7, &c2);
		test_assert(c1 == c2 && c1 > 0 &&
			    memcmp(u1, u2, sizeof(*u1) * c1) == 0);
		pop3_policy_uidl_map_free(&read);
	}

	/* stale: another generation, or another entry count */
	test_assert(read_cache(path, "gen-2", 20000, &reason) == 0);
	test_assert(str_begins(reason, "stale"));
	test_assert(read_cache(path, "gen-", 20000, &reason) == 0);
	test_assert(read_cache(path, "gen-1", 20001, &reason) == 0);
	test_assert(str_begins(reason, "stale"));

	data = read_bytes(path, &size);
	/* a damaged byte anywhere after the header: a UIDL, an offset */
	data[size - 3] ^= 0x01;
	write_bytes(path, data, size);
	test_assert(read_cache(path, "gen-1", 20000, &reason) == 0);
	test_assert(strcmp(reason, "corrupt: checksum mismatch") == 0);
	data[size - 3] ^= 0x01;
	data[64 + 4 * 20000 + 1] ^= 0x80;
	write_bytes(path, data, size);
	test_assert(read_cache(path, "gen-1", 20000, &reason) == 0);
	test_assert(str_begins(reason, "corrupt"));
	data[64 + 4 * 20000 + 1] ^= 0x80;
	/* truncated, or with bytes appended */
	write_bytes(path, data, size - 1);
	test_assert(read_cache(path, "gen-1", 20000, &reason) == 0);
	test_assert(str_begins(reason, "corrupt"));
	write_bytes(path, data, 10);
	test_assert(read_cache(path, "gen-1", 20000, &reason) == 0);
	write_bytes(path, data, 0);
	test_assert(read_cache(path, "gen-1", 20000, &reason) == 0);
	{
		unsigned char *longer = i_malloc(size + 8);

		memcpy(longer, data, size);
		write_bytes(path, longer, size + 8);
		test_assert(read_cache(path, "gen-1", 20000, &reason) == 0);
		i_free(longer);
	}
	/* foreign: another byte order (or format version) */
	data[12] ^= 0xff;
	write_bytes(path, data, size);
	test_assert(read_cache(path, "gen-1", 20000, &reason) == 0);
	test_assert(str_begins(reason, "foreign"));
	data[12] ^= 0xff;
	data[8] = 99;
	write_bytes(path, data, size);
	test_assert(read_cache(path, "gen-1", 20000, &reason) == 0);
	test_assert(str_begins(reason, "foreign"));
	data[8] = 1;
	/* the intact file is read again */
	write_bytes(path, data, size);
	test_assert(read_cache(path, "gen-1", 20000, &reason) == 1);
	i_free(data);

	/* missing */
	i_unlink(path);
	test_assert(read_cache(path, "gen-1", 20000, &reason) == 0);
	test_assert(strcmp(reason, "missing") == 0);
	/* the empty map (a snapshot of an empty mailbox) */
	read = pop3_policy_uidl_map_create();
	read->generation = "gen-0";
	pop3_policy_uidl_map_freeze(read);
	test_assert(pop3_policy_uidl_cache_write(path, read, &error) == 0);
	pop3_policy_uidl_map_free(&read);
	test_assert(pop3_policy_uidl_cache_read(path, "gen-0", 0, &read,
						&reason) == 1);
	test_assert(read != NULL && pop3_policy_uidl_map_count(read) == 0 &&
		    pop3_policy_uidl_map_lookup(read, "uid:7:2") == NULL);
	pop3_policy_uidl_map_free(&read);
	i_unlink(path);

	/* a directory that cannot take it */
	test_assert(pop3_policy_uidl_cache_write(
		t_strdup_printf("%s/no-such-dir/cache", tmpdir), map,
		&error) < 0);
	pop3_policy_uidl_map_free(&map);
	test_end();
}

static struct pop3_policy_store *store_open(void)
{
	struct pop3_policy_store_settings set;
	struct pop3_policy_store *store;
	const char *error;

	i_zero(&set);
	set.uri = t_strdup_printf("file:%s/store.dict", tmpdir);
	set.base_dir = tmpdir;
	if (pop3_policy_store_init(&set, &store, &error) < 0)
		i_fatal("test-uidl-cache: %s", error);
	return store;
}

/* Loads through the cache; returns the map (or NULL) and the note. */
static struct pop3_policy_uidl_map *
load_cached(struct pop3_policy_store *store, const char *cache_path,
	    const char **note_r, const char **cache_error_r)
{
	struct pop3_policy_uidl_map *map;
	const char *error;
	int ret;

	ret = pop3_policy_uidl_map_load_cached(store, TEST_USER, 0, cache_path,
					       &map, note_r, cache_error_r,
					       &error);
	if (ret < 0)
		i_error("load: %s", error);
	test_assert(ret == 1 && map != NULL && map->frozen);
	return map;
}

static void test_uidl_cache_load(void)
{
	struct pop3_policy_store *store = store_open();
	const char *cache_path = t_strdup_printf("%s/%s", tmpdir,
		POP3_POLICY_UIDL_CACHE_FILE_NAME);
	struct pop3_policy_uidl_map *map1, *map2, *loaded;
	const char *error, *note, *cache_error;
	unsigned char *data;
	size_t size;

	test_begin("uidl map loaded through the cache");
	map1 = test_map(5000, "ONE");
	test_assert(pop3_policy_uidl_map_save(store, TEST_USER, map1,
					      &error) == 0);
	/* missing: from the store, cache written */
	loaded = load_cached(store, cache_path, &note, &cache_error);
	test_assert(strstr(note, "loaded from the store (cache missing)") != NULL);
	test_assert(cache_error == NULL);
	test_assert(loaded != NULL && maps_equal(map1, loaded));
	pop3_policy_uidl_map_free(&loaded);
	/* then from the cache */
	loaded = load_cached(store, cache_path, &note, &cache_error);
	test_assert(strcmp(note, "read from the local cache") == 0);
	test_assert(loaded != NULL && maps_equal(map1, loaded));
	pop3_policy_uidl_map_free(&loaded);

	/* a new map saved (by this or another backend sharing the store):
	   the old cache is stale, the new map is served */
	map2 = test_map(5000, "TWO");
	test_assert(pop3_policy_uidl_map_save(store, TEST_USER, map2,
					      &error) == 0);
	loaded = load_cached(store, cache_path, &note, &cache_error);
	test_assert(strstr(note, "(cache stale") != NULL);
	test_assert(loaded != NULL && maps_equal(map2, loaded));
	pop3_policy_uidl_map_free(&loaded);
	loaded = load_cached(store, cache_path, &note, &cache_error);
	test_assert(strcmp(note, "read from the local cache") == 0);
	test_assert(loaded != NULL && maps_equal(map2, loaded));
	pop3_policy_uidl_map_free(&loaded);

	/* damaged: from the store, and rewritten */
	data = read_bytes(cache_path, &size);
	data[size / 2] ^= 0x20;
	write_bytes(cache_path, data, size);
	i_free(data);
	loaded = load_cached(store, cache_path, &note, &cache_error);
	test_assert(strstr(note, "(cache corrupt") != NULL);
	test_assert(loaded != NULL && maps_equal(map2, loaded));
	pop3_policy_uidl_map_free(&loaded);
	loaded = load_cached(store, cache_path, &note, &cache_error);
	test_assert(strcmp(note, "read from the local cache") == 0);
	pop3_policy_uidl_map_free(&loaded);

	/* a cache that cannot be written: the map all the same */
	loaded = load_cached(store, t_strdup_printf("%s/none/cache", tmpdir),
			     &note, &cache_error);
	test_assert(cache_error != NULL);
	test_assert(loaded != NULL && maps_equal(map2, loaded));
	pop3_policy_uidl_map_free(&loaded);

	/* cleared: no map, whatever the cache holds */
	test_assert(pop3_policy_uidl_map_clear(store, TEST_USER, &error) == 1);
	test_assert(pop3_policy_uidl_map_load_cached(store, TEST_USER, 0,
		cache_path, &loaded, &note, &cache_error, &error) == 0);
	test_assert(loaded == NULL);

	pop3_policy_uidl_map_free(&map1);
	pop3_policy_uidl_map_free(&map2);
	pop3_policy_store_deinit(&store);
	test_end();
}

int main(void)
{
	static void (*const test_functions[])(void) = {
		test_uidl_map_freeze,
		test_uidl_cache_file,
		test_uidl_cache_load,
		NULL
	};
	struct ioloop *ioloop;
	char path[] = "/tmp/test-uidl-cache.XXXXXX";
	const char *error;
	int ret;

	lib_init();
	ioloop = io_loop_create();
	dict_drivers_register_builtin();
	if (mkdtemp(path) == NULL)
		i_fatal("mkdtemp(%s): %m", path);
	tmpdir = path;
	ret = test_run(test_functions);
	if (unlink_directory(tmpdir, UNLINK_DIRECTORY_FLAG_RMDIR, &error) < 0)
		i_error("%s", error);
	dict_drivers_unregister_builtin();
	io_loop_destroy(&ioloop);
	lib_deinit();
	return ret;
}
