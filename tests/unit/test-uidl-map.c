/* Copyright (c) 2026 pop3-policy authors, see the included COPYING file */

/* The UIDL map codec and its round trip through a real store.

     test-uidl-map                        file: in a temporary directory
     test-uidl-map <dict-uri> <base_dir>  e.g. proxy::pop3policy (used by
                                          tests/integration/test-uidl-scale)

   Checks: chunks of a 100,000-entry map stay under the dict proxy line
   limit and decode back to the same map; hostile chunks are refused; a map
   saved to the store loads back whole with pipelined lookups, a new save
   removes the old generation's chunks, a missing chunk or an index whose
   entry count does not match is an error (never a smaller map), clear
   removes it all. */

#include "lib.h"
#include "ioloop.h"
#include "str.h"
#include "time-util.h"
#include "unlink-directory.h"
#include "dict.h"
#include "test-common.h"
#include "pop3-policy-store.h"
#include "pop3-policy-uidl-map.h"

#include <stdio.h>
#include <unistd.h>

#define BIG_COUNT 100000
#define TEST_USER "uidl-map-user"

static const char *store_uri, *store_base_dir;

static struct pop3_policy_uidl_map *big_map(unsigned int count,
					    const char *salt)
{
	struct pop3_policy_uidl_map *map = pop3_policy_uidl_map_create();
	unsigned int i;

	for (i = 0; i < count; i++) T_BEGIN {
		const char *key;

		switch (i % 4) {
		case 0:
			key = t_strdup_printf("uid:1795391833:%u", i + 1);
			break;
		case 1:
			key = t_strdup_printf("guid:%032x", i);
			break;
		case 2:
			key = t_strdup_printf("msgid:m%u.%s@example.com", i,
					      salt);
			break;
		default:
			key = t_strdup_printf("hdr:%064x", i);
			break;
		}
		i_assert(pop3_policy_uidl_map_add(map, key,
			t_strdup_printf("%s%08x%08x", salt, i, i * 7)) == 0);
	} T_END;
	return map;
}

static bool maps_equal(struct pop3_policy_uidl_map *m1,
		       struct pop3_policy_uidl_map *m2)
{
	const struct pop3_policy_uidl_map_entry *entry;
	const char *uidl;

	if (pop3_policy_uidl_map_count(m1) != pop3_policy_uidl_map_count(m2))
		return FALSE;
	array_foreach(&m1->entries, entry) {
		uidl = pop3_policy_uidl_map_lookup(m2, entry->key);
		if (uidl == NULL || strcmp(uidl, entry->uidl) != 0)
			return FALSE;
	}
	return TRUE;
}

static void test_uidl_map_codec(void)
{
	struct pop3_policy_uidl_map *map, *map2;
	const char *const *chunks, *const *fields, *error;
	unsigned int i, count;
	bool sizes_ok = TRUE, decode_ok = TRUE;

	test_begin("uidl map codec: 100,000 entries in chunks");
	map = big_map(BIG_COUNT, "A");
	chunks = pop3_policy_uidl_map_encode_chunks(map);
	count = str_array_length(chunks);
	test_assert(count > 50);
	map2 = pop3_policy_uidl_map_create();
	for (i = 0; i < count; i++) {
		if (strlen(chunks[i]) >= POP3_POLICY_UIDL_MAP_CHUNK_MAX ||
		    strlen(chunks[i]) >= POP3_POLICY_STORE_MAX_VALUE_SIZE)
			sizes_ok = FALSE;
		if (pop3_policy_record_decode(POP3_POLICY_RECORD_UIDL_MAP_CHUNK,
					      chunks[i], &fields, &error) < 0 ||
		    pop3_policy_uidl_map_decode_chunk(map2, fields,
						      &error) < 0)
			decode_ok = FALSE;
	}
	test_assert(sizes_ok);
	test_assert(decode_ok);
	test_assert(maps_equal(map, map2));
	pop3_policy_uidl_map_free(&map);
	pop3_policy_uidl_map_free(&map2);

	/* the empty map has no chunks */
	map = pop3_policy_uidl_map_create();
	test_assert(str_array_length(pop3_policy_uidl_map_encode_chunks(map)) == 0);
	pop3_policy_uidl_map_free(&map);
	test_end();
}

static void test_uidl_map_hostile_chunks(void)
{
	static const char *const bad[][3] = {
		{ "guid:abc", NULL },
		{ "guid:abc ", NULL },
		{ "nokind:abc U1", NULL },
		{ "guid:abc U 1", NULL },
		{ "guid:abc U1", "guid:abc U2", NULL },
		{ "hdr:00 U1", NULL },
		{ "uid:1 U1", NULL },
		{ "uid:1:x U1", NULL },
		{ "uid:1: U1", NULL },
		{ "guid:abc 1234567890123456789012345678901234567890"
		  "1234567890123456789012345678901", NULL },
	};
	struct pop3_policy_uidl_map *map;
	const char *error;
	unsigned int i;

	test_begin("uidl map hostile chunks");
	for (i = 0; i < N_ELEMENTS(bad); i++) {
		map = pop3_policy_uidl_map_create();
		test_assert_idx(pop3_policy_uidl_map_decode_chunk(map, bad[i],
							&error) < 0, i);
		pop3_policy_uidl_map_free(&map);
	}
	test_end();
}

static struct pop3_policy_store *store_open(void)
{
	struct pop3_policy_store_settings set;
	struct pop3_policy_store *store;
	const char *error;

	i_zero(&set);
	set.uri = store_uri;
	set.base_dir = store_base_dir;
	if (pop3_policy_store_init(&set, &store, &error) < 0)
		i_fatal("test-uidl-map: %s", error);
	return store;
}

static void test_uidl_map_store(void)
{
	struct pop3_policy_store *store = store_open();
	struct pop3_policy_uidl_map *map, *loaded = NULL, *map2;
	const char *const *fields, *error, *generation, *idx[4];
	struct timeval t1, t2;
	int ret;

	test_begin("uidl map store round trip (100,000 entries)");
	(void)pop3_policy_uidl_map_clear(store, TEST_USER, &error);
	test_assert(pop3_policy_uidl_map_load(store, TEST_USER, &loaded,
					      &error) == 0);

	map = big_map(BIG_COUNT, "A");
	ret = pop3_policy_uidl_map_save(store, TEST_USER, map, &error);
	if (ret < 0)
		i_error("save: %s", error);
	test_assert(ret == 0);
	i_gettimeofday(&t1);
	ret = pop3_policy_uidl_map_load(store, TEST_USER, &loaded, &error);
	i_gettimeofday(&t2);
	if (ret < 0)
		i_error("load: %s", error);
	test_assert(ret == 1);
	test_assert(ret == 1 && maps_equal(map, loaded));
	printf("uidl map: loaded %u entries from %s in %d ms\n",
	       BIG_COUNT, store_uri, timeval_diff_msecs(&t2, &t1));
	pop3_policy_uidl_map_free(&loaded);

	/* a new generation replaces the old one, whose chunks go away */
	test_assert(pop3_policy_store_lookup(store,
		POP3_POLICY_RECORD_UIDL_MAP_INDEX, TEST_USER, &fields,
		&error) == 1);
	generation = t_strdup(fields[0]);
	map2 = big_map(10, "B");
	test_assert(pop3_policy_uidl_map_save(store, TEST_USER, map2,
					      &error) == 0);
	test_assert(pop3_policy_store_lookup_key(store,
		POP3_POLICY_RECORD_UIDL_MAP_CHUNK, TEST_USER,
		pop3_policy_store_uidl_chunk_key(generation, 0), &fields,
		&error) == 0);
	test_assert(pop3_policy_uidl_map_load(store, TEST_USER, &loaded,
					      &error) == 1);
	test_assert(loaded != NULL && maps_equal(map2, loaded));
	pop3_policy_uidl_map_free(&loaded);

	/* an index that promises more entries than the chunks hold */
	test_assert(pop3_policy_store_lookup(store,
		POP3_POLICY_RECORD_UIDL_MAP_INDEX, TEST_USER, &fields,
		&error) == 1);
	generation = t_strdup(fields[0]);
	idx[0] = generation; idx[1] = "1"; idx[2] = "11"; idx[3] = NULL;
	test_assert(pop3_policy_store_set(store,
		POP3_POLICY_RECORD_UIDL_MAP_INDEX, TEST_USER, idx, &error) == 0);
	test_assert(pop3_policy_uidl_map_load(store, TEST_USER, &loaded,
					      &error) == -1);
	test_assert(strstr(error, "10 entries, its index says 11") != NULL);
	/* a missing chunk */
	idx[1] = "2"; idx[2] = "10";
	test_assert(pop3_policy_store_set(store,
		POP3_POLICY_RECORD_UIDL_MAP_INDEX, TEST_USER, idx, &error) == 0);
	test_assert(pop3_policy_uidl_map_load(store, TEST_USER, &loaded,
					      &error) == -1);
	test_assert(strstr(error, "chunk is missing") != NULL);
	/* a malformed index */
	idx[1] = "x";
	test_assert(pop3_policy_store_set(store,
		POP3_POLICY_RECORD_UIDL_MAP_INDEX, TEST_USER, idx, &error) == 0);
	test_assert(pop3_policy_uidl_map_load(store, TEST_USER, &loaded,
					      &error) == -1);
	/* clear works on a broken map too */
	test_assert(pop3_policy_uidl_map_clear(store, TEST_USER, &error) == 1);
	test_assert(pop3_policy_uidl_map_load(store, TEST_USER, &loaded,
					      &error) == 0);
	test_assert(pop3_policy_uidl_map_clear(store, TEST_USER, &error) == 0);

	pop3_policy_uidl_map_free(&map);
	pop3_policy_uidl_map_free(&map2);
	pop3_policy_store_deinit(&store);
	test_end();
}

int main(int argc, char *argv[])
{
	static void (*const test_functions[])(void) = {
		test_uidl_map_codec,
		test_uidl_map_hostile_chunks,
		test_uidl_map_store,
		NULL
	};
	struct ioloop *ioloop;
	const char *tmpdir = NULL, *error;
	int ret;

	lib_init();
	ioloop = io_loop_create();
	dict_drivers_register_builtin();
	if (argc == 3) {
		store_uri = argv[1];
		store_base_dir = argv[2];
	} else if (argc == 1) {
		char path[] = "/tmp/test-uidl-map.XXXXXX";

		if (mkdtemp(path) == NULL)
			i_fatal("mkdtemp(%s): %m", path);
		tmpdir = t_strdup(path);
		store_uri = t_strdup_printf("file:%s/store.dict", tmpdir);
		store_base_dir = tmpdir;
	} else {
		fprintf(stderr, "Usage: test-uidl-map [<dict-uri> <base_dir>]\n");
		return 2;
	}
	ret = test_run(test_functions);
	if (tmpdir != NULL && unlink_directory(tmpdir,
			UNLINK_DIRECTORY_FLAG_RMDIR, &error) < 0)
		i_error("%s", error);
	dict_drivers_unregister_builtin();
	io_loop_destroy(&ioloop);
	lib_deinit();
	return ret;
}
