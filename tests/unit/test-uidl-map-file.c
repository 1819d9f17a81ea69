/* Copyright (c) 2026 pop3-policy authors, see the included COPYING file */

/* The frozen map, the mailbox's UIDL map file
   (pop3-policy-uidl-map-file.c) and its UIDL guard file
   (pop3-policy-uidl-guard-file.c), in a temporary directory.

   Checks: a frozen map answers every lookup as the built one did, and its
   uid: table gives each UIDVALIDITY's entries in uid order with their
   POP3 order; the map file reads back the same map; a map file that is
   truncated, longer, damaged anywhere, of another byte order or version,
   or not a regular file is an error naming the path (never a wrong map,
   never "no map"); a missing one is no map; the persisted mark is set
   only on the map it is about and makes a read of that UIDVALIDITY skip
   the entries; the guard file round-trips a sketch and refuses every
   damage the same way. */

#include "lib.h"
#include "xxh64.h"
#include "ioloop.h"
#include "str.h"
#include "unlink-directory.h"
#include "test-common.h"
#include "pop3-policy-state-file.h"
#include "pop3-policy-uidl-map-file.h"
#include "pop3-policy-uidl-guard-file.h"

#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>
#include <sys/stat.h>

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

static const struct pop3_policy_state_file_perm test_perm = {
	.mode = 0600,
	.gid = (gid_t)-1,
};

/* Returns the map file read's result; an error must name the path and
   contain error_part. */
static int read_map(const char *path, uint32_t persisted,
		    const char *error_part)
{
	struct pop3_policy_uidl_map *map;
	const char *error = NULL;
	int ret;

	ret = pop3_policy_uidl_map_file_read(path, persisted, &map, &error);
	test_assert((ret == 1) == (map != NULL));
	if (ret < 0) {
		test_assert(error != NULL && strstr(error, path) != NULL);
		if (error_part != NULL &&
		    (error == NULL || strstr(error, error_part) == NULL)) {
			i_warning("'%s' lacks '%s'", error, error_part);
			test_assert(FALSE);
		}
	}
	pop3_policy_uidl_map_free(&map);
	return ret;
}

static void test_uidl_map_file(void)
{
	const char *path = t_strdup_printf("%s/%s", tmpdir,
					   POP3_POLICY_UIDL_MAP_FILE_NAME);
	struct pop3_policy_uidl_map *map, *read;
	const char *error, *generation;
	unsigned char *data;
	size_t size;
	int ret;

	test_begin("uidl map file");
	map = test_map(20000, "C");
	test_assert(pop3_policy_uidl_map_file_write(path, &test_perm, map,
						    &error) == 0);
	test_assert(map->frozen && map->generation != NULL);
	ret = pop3_policy_uidl_map_file_read(path, 0, &read, &error);
	test_assert(ret == 1);
	if (ret == 1) {
		const struct pop3_policy_uidl_map_uid *u1, *u2;
		unsigned int c1, c2;

		test_assert(read->frozen);
		test_assert(strcmp(read->generation, map->generation) == 0);
		test_assert(maps_equal(map, read));
		test_assert(maps_equal(read, map));
		u1 = pop3_policy_uidl_map_uids(map, 7, &c1);
		u2 = pop3_policy_uidl_map_uids(read, 7, &c2);
		test_assert(c1 == c2 && c1 > 0 &&
			    memcmp(u1, u2, sizeof(*u1) * c1) == 0);
		pop3_policy_uidl_map_free(&read);
	}

	data = read_bytes(path, &size);
	/* the same bytes through the buffer parser */
	test_assert(pop3_policy_uidl_map_file_parse(data, size, &read,
						    &error) == 0);
	test_assert(read != NULL && maps_equal(map, read));
	pop3_policy_uidl_map_free(&read);
	/* a damaged byte anywhere after the header: a UIDL, an offset */
	data[size - 3] ^= 0x01;
	write_bytes(path, data, size);
	test_assert(read_map(path, 0, "checksum mismatch") == -1);
	data[size - 3] ^= 0x01;
	data[64 + 4 * 20000 + 1] ^= 0x80;
	write_bytes(path, data, size);
	test_assert(read_map(path, 0, "damaged") == -1);
	data[64 + 4 * 20000 + 1] ^= 0x80;
	/* a damaged count in the header */
	data[24] ^= 0x01;
	write_bytes(path, data, size);
	test_assert(read_map(path, 0, "damaged") == -1);
	data[24] ^= 0x01;
	/* truncated, or with bytes appended */
	write_bytes(path, data, size - 1);
	test_assert(read_map(path, 0, "damaged") == -1);
	write_bytes(path, data, 10);
	test_assert(read_map(path, 0, "shorter than its header") == -1);
	write_bytes(path, data, 0);
	test_assert(read_map(path, 0, "damaged") == -1);
	{
		unsigned char *longer = i_malloc(size + 8);

		memcpy(longer, data, size);
		write_bytes(path, longer, size + 8);
		test_assert(read_map(path, 0, "damaged") == -1);
		i_free(longer);
	}
	/* another byte order, format version, or no map file at all */
	data[12] ^= 0xff;
	write_bytes(path, data, size);
	test_assert(read_map(path, 0, "byte order") == -1);
	data[12] ^= 0xff;
	data[8] = 99;
	write_bytes(path, data, size);
	test_assert(read_map(path, 0, "format version 99") == -1);
	test_assert(read_map(path, 7, "format version 99") == -1);
	data[8] = 1;
	data[0] = 'X';
	write_bytes(path, data, size);
	test_assert(read_map(path, 0, "not a UIDL map file") == -1);
	data[0] = 'P';
	/* a sorted table out of order, or naming an entry twice, with a
	   checksum that matches (a file made by hand): lookups are binary
	   searches, so it is refused */
	{
		uint32_t *sorted = (uint32_t *)(data + 64 + 2 * 4 * 20000);
		uint32_t first = sorted[0], second = sorted[1];
		uint64_t sum;

		sorted[0] = second;
		sorted[1] = first;
		sum = xxh64_data(data + 64, size - 64, xxh64_data(data, 48, 0));
		memcpy(data + 56, &sum, sizeof(sum));
		write_bytes(path, data, size);
		test_assert(read_map(path, 0, "keys out of order") == -1);
		sorted[0] = first;
		sum = xxh64_data(data + 64, size - 64, xxh64_data(data, 48, 0));
		memcpy(data + 56, &sum, sizeof(sum));
		write_bytes(path, data, size);
		test_assert(read_map(path, 0, "sorted twice") == -1);
		sorted[1] = second;
		sum = xxh64_data(data + 64, size - 64, xxh64_data(data, 48, 0));
		memcpy(data + 56, &sum, sizeof(sum));
	}
	/* the intact file is read again */
	write_bytes(path, data, size);
	test_assert(read_map(path, 0, NULL) == 1);
	i_free(data);

	/* persisted: only the map it is about, and only its UIDVALIDITY */
	test_assert(read_map(path, 1795391833, NULL) == 1);
	test_assert(pop3_policy_uidl_map_file_mark_persisted(path, map,
		1795391833, &error) == 1);
	test_assert(read_map(path, 1795391833, NULL) == 2);
	test_assert(read_map(path, 1795391834, NULL) == 1);
	test_assert(read_map(path, 0, NULL) == 1);
	generation = t_strdup(map->generation);
	read = test_map(100, "D");
	test_assert(pop3_policy_uidl_map_file_write(path, &test_perm, read,
						    &error) == 0);
	test_assert(strcmp(read->generation, generation) != 0);
	/* replaced meanwhile: the old map's mark is refused */
	test_assert(pop3_policy_uidl_map_file_mark_persisted(path, map,
		1795391833, &error) == 0);
	test_assert(read_map(path, 1795391833, NULL) == 1);
	pop3_policy_uidl_map_free(&read);

	/* missing: no map, also for the persisted check and the mark */
	i_unlink(path);
	test_assert(read_map(path, 0, NULL) == 0);
	test_assert(read_map(path, 7, NULL) == 0);
	test_assert(pop3_policy_uidl_map_file_mark_persisted(path, map, 7,
							     &error) == 0);
	/* not a regular file: a symlink is not followed, a directory is
	   not read */
	if (symlink("/etc/passwd", path) < 0)
		i_fatal("symlink(%s): %m", path);
	test_assert(read_map(path, 0, NULL) == -1);
	test_assert(read_map(path, 7, NULL) == -1);
	i_unlink(path);
	if (mkdir(path, 0700) < 0)
		i_fatal("mkdir(%s): %m", path);
	test_assert(read_map(path, 0, "not a regular file") == -1);
	if (rmdir(path) < 0)
		i_fatal("rmdir(%s): %m", path);

	/* the empty map (a snapshot of an empty mailbox) */
	read = pop3_policy_uidl_map_create();
	test_assert(pop3_policy_uidl_map_file_write(path, &test_perm, read,
						    &error) == 0);
	pop3_policy_uidl_map_free(&read);
	test_assert(pop3_policy_uidl_map_file_read(path, 0, &read,
						   &error) == 1);
	test_assert(read != NULL && pop3_policy_uidl_map_count(read) == 0 &&
		    pop3_policy_uidl_map_lookup(read, "uid:7:2") == NULL);
	pop3_policy_uidl_map_free(&read);
	i_unlink(path);

	/* a directory that cannot take it: an error, nothing left */
	test_assert(pop3_policy_uidl_map_file_write(
		t_strdup_printf("%s/no-such-dir/map", tmpdir), &test_perm,
		map, &error) < 0);
	pop3_policy_uidl_map_free(&map);
	test_end();
}

static void test_sketch(struct pop3_policy_uidl_guard_sketch *sketch,
			unsigned int count)
{
	struct pop3_policy_uidl_guard_sample sample;
	unsigned int i;

	t_array_init(&sketch->samples, POP3_POLICY_UIDL_GUARD_SAMPLES);
	sketch->uidvalidity = 1795391833;
	for (i = 0; i < count; i++) {
		sample.uid = i * 7 + 1;
		sample.guid_hash = 0x0123456789abcdefULL * (i + 1);
		sample.uidl_hash = 0xfedcba9876543210ULL ^ i;
		array_push_back(&sketch->samples, &sample);
	}
}

static int decode_guard(const char *data, size_t size,
			const char *error_part)
{
	struct pop3_policy_uidl_guard_sketch sketch;
	const char *error = NULL;
	int ret;

	t_array_init(&sketch.samples, POP3_POLICY_UIDL_GUARD_SAMPLES);
	ret = pop3_policy_uidl_guard_file_decode(data, size, &sketch, &error);
	if (ret < 0 && error_part != NULL &&
	    (error == NULL || strstr(error, error_part) == NULL)) {
		i_warning("'%s' lacks '%s'", error, error_part);
		test_assert(FALSE);
	}
	return ret;
}

static void test_uidl_guard_file(void)
{
	const char *path = t_strdup_printf("%s/%s", tmpdir,
					   POP3_POLICY_UIDL_GUARD_FILE_NAME);
	struct pop3_policy_uidl_guard_sketch sketch, read;
	const char *data, *error;
	char *copy;
	size_t len;

	test_begin("uidl guard file");
	test_sketch(&sketch, POP3_POLICY_UIDL_GUARD_SAMPLES);
	t_array_init(&read.samples, POP3_POLICY_UIDL_GUARD_SAMPLES);
	test_assert(pop3_policy_uidl_guard_file_read(path, &read,
						     &error) == 0);
	test_assert(pop3_policy_uidl_guard_file_write(path, &test_perm,
						      &sketch, &error) == 0);
	test_assert(pop3_policy_uidl_guard_file_read(path, &read,
						     &error) == 1);
	test_assert(pop3_policy_uidl_guard_sketch_equals(&sketch, &read));
	test_assert(read.uidvalidity == 1795391833);

	/* an empty mailbox's sketch */
	test_sketch(&sketch, 0);
	data = pop3_policy_uidl_guard_file_encode(&sketch);
	test_assert(decode_guard(data, strlen(data), NULL) == 0);

	test_sketch(&sketch, 3);
	data = pop3_policy_uidl_guard_file_encode(&sketch);
	len = strlen(data);
	test_assert(str_begins(data, "PPUIDLG 1 "));
	test_assert(decode_guard(data, len, NULL) == 0);
	copy = t_strdup_noconst(data);
	/* every single flipped bit of the sketch line is caught */
	for (size_t i = strchr(copy, '\n') - copy + 1; i < len; i++) {
		copy[i] ^= 0x01;
		test_assert_idx(decode_guard(copy, len, NULL) < 0, i);
		copy[i] ^= 0x01;
	}
	copy[len - 5] ^= 0x01;
	test_assert(decode_guard(copy, len, "checksum mismatch") < 0);
	copy[len - 5] ^= 0x01;
	test_assert(decode_guard(data, len - 1, "checksum mismatch") < 0);
	test_assert(decode_guard(data, 12, "no header line") < 0);
	test_assert(decode_guard("", 0, "no header line") < 0);
	test_assert(decode_guard(t_strconcat(data, "x\n", NULL), len + 2,
				 NULL) < 0);
	test_assert(decode_guard("PPUIDLG 2 0000000000000000\n", 27,
				 "format version 2") < 0);
	test_assert(decode_guard("PPUIDLX 1 0\n1\n", 14,
				 "not a UIDL guard file") < 0);
	copy[3] = '\0';
	test_assert(decode_guard(copy, len, "NUL") < 0);
	/* a sketch line that parses but breaks the sketch's rules, with a
	   checksum that matches */
	{
		const char *line = "2\t7:00:00\t1\n";
		const char *file = t_strdup_printf("PPUIDLG 1 %016"PRIx64"\n%s",
			xxh64_data(line, strlen(line), 0), line);

		test_assert(decode_guard(file, strlen(file),
					 "malformed UIDL guard") < 0);
	}

	/* damaged on disk: an error naming the path */
	write_bytes(path, copy, len);
	error = NULL;
	test_assert(pop3_policy_uidl_guard_file_read(path, &read,
						     &error) == -1);
	test_assert(error != NULL && strstr(error, path) != NULL);
	i_unlink(path);
	test_end();
}

int main(void)
{
	static void (*const test_functions[])(void) = {
		test_uidl_map_freeze,
		test_uidl_map_file,
		test_uidl_guard_file,
		NULL
	};
	struct ioloop *ioloop;
	char path[] = "/tmp/test-uidl-map-file.XXXXXX";
	const char *error;
	int ret;

	lib_init();
	ioloop = io_loop_create();
	if (mkdtemp(path) == NULL)
		i_fatal("mkdtemp(%s): %m", path);
	tmpdir = path;
	ret = test_run(test_functions);
	if (unlink_directory(tmpdir, UNLINK_DIRECTORY_FLAG_RMDIR, &error) < 0)
		i_error("%s", error);
	io_loop_destroy(&ioloop);
	lib_deinit();
	return ret;
}
