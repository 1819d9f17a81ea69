/* Copyright (c) 2026 pop3-policy authors, see the included COPYING file */

/* The retention move journal (pop3-policy-move-journal.c), in a temporary
   directory.

   Checks: a written journal reads back the same (kind, both mailboxes
   with tabs in their names, UIDVALIDITYs, UIDNEXT, every UID and GUID,
   an empty GUID included) and leaves no temporary file; a missing
   journal is "none"; a truncated journal, another version, an unknown
   kind, a UID of 0 and a line longer than the reader's limit are errors
   naming the file and the line, never a journal. */

#include "lib.h"
#include "array.h"
#include "str.h"
#include "unlink-directory.h"
#include "test-common.h"
#include "pop3-policy-move-journal.h"

#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>
#include <sys/stat.h>

static const char *tmpdir;

static void test_write_file(const char *path, const char *contents)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);

	if (fd == -1 || write(fd, contents, strlen(contents)) < 0 ||
	    close(fd) < 0)
		i_fatal("writing %s failed: %m", path);
}

static void test_move_journal_round_trip(void)
{
	const char *path = t_strconcat(tmpdir, "/journal", NULL);
	struct pop3_policy_move_journal j, r;
	const struct pop3_policy_moved_msg *m;
	struct pop3_policy_moved_msg msg;
	const char *error;
	struct stat st;
	pool_t pool;

	test_begin("move journal round trip");
	pool = pool_alloconly_create("test move journal", 1024);
	i_zero(&j);
	j.kind = POP3_POLICY_MOVE_RESTORE;
	j.src_name = "Quarantine\twith tab";
	j.src_uidvalidity = 4294967295U;
	j.dest_name = "INBOX";
	j.dest_uidvalidity = 1700000000;
	j.dest_uidnext = 42;
	p_array_init(&j.msgs, pool, 4);
	msg.uid = 3;
	msg.guid = "1b2c0f31c2d5e26521000000e1c4a9c3";
	array_push_back(&j.msgs, &msg);
	msg.uid = 4294967295U;
	msg.guid = "";
	array_push_back(&j.msgs, &msg);

	test_assert(pop3_policy_move_journal_write(path, &j, TRUE,
						   &error) == 0);
	test_assert(stat(t_strconcat(path, ".tmp", NULL), &st) < 0 &&
		    errno == ENOENT);
	test_assert(pop3_policy_move_journal_read(path, pool, &r,
						  &error) == 1);
	test_assert(r.kind == POP3_POLICY_MOVE_RESTORE);
	test_assert_strcmp(r.src_name, "Quarantine\twith tab");
	test_assert(r.src_uidvalidity == 4294967295U);
	test_assert_strcmp(r.dest_name, "INBOX");
	test_assert(r.dest_uidvalidity == 1700000000);
	test_assert(r.dest_uidnext == 42);
	test_assert(array_count(&r.msgs) == 2);
	if (array_count(&r.msgs) == 2) {
		m = array_idx(&r.msgs, 0);
		test_assert(m->uid == 3);
		test_assert_strcmp(m->guid,
				   "1b2c0f31c2d5e26521000000e1c4a9c3");
		m = array_idx(&r.msgs, 1);
		test_assert(m->uid == 4294967295U);
		test_assert_strcmp(m->guid, "");
	}
	test_assert_strcmp(pop3_policy_move_kind_name(r.kind), "restore");

	i_unlink(path);
	test_assert(pop3_policy_move_journal_read(path, pool, &r,
						  &error) == 0);
	pool_unref(&pool);
	test_end();
}

static void test_move_journal_damage(void)
{
	static const struct {
		const char *contents;
		const char *error;
	} tests[] = {
		{ "pop3-policy-move\t1\thold\nS\tINBOX\t1\n",
		  "truncated (2 lines)" },
		{ "pop3-policy-move\t2\thold\nS\tINBOX\t1\nD\tQ\t1\t1\n",
		  "line 1: unsupported version 2" },
		{ "pop3-policy-move\t1\tcopy\nS\tINBOX\t1\nD\tQ\t1\t1\n",
		  "line 1: unknown kind 'copy'" },
		{ "pop3-policy-move\t1\thold\nD\tQ\t1\t1\nS\tINBOX\t1\n",
		  "line 2: expected S <mailbox> <uidvalidity>" },
		{ "pop3-policy-move\t1\thold\nS\tINBOX\t1\nD\tQ\t1\t1\n0\tg\n",
		  "line 4: expected <uid> <guid>" },
	};
	const char *path = t_strconcat(tmpdir, "/damaged", NULL);
	struct pop3_policy_move_journal r;
	const char *error;
	unsigned int i, count;
	string_t *str;
	pool_t pool;

	test_begin("move journal damage");
	pool = pool_alloconly_create("test move journal", 1024);
	for (i = 0; i < N_ELEMENTS(tests); i++) {
		test_write_file(path, tests[i].contents);
		error = NULL;
		test_assert_idx(pop3_policy_move_journal_read(path, pool, &r,
							      &error) < 0, i);
		test_assert_idx(error != NULL &&
				str_begins(error, path) &&
				strstr(error, tests[i].error) != NULL, i);
		error = NULL;
		test_assert_idx(pop3_policy_move_journal_parse(
			(const unsigned char *)tests[i].contents,
			strlen(tests[i].contents), &count, &error) < 0, i);
		test_assert_idx(error != NULL &&
				strstr(error, tests[i].error) != NULL, i);
	}

	/* a message line longer than the file reader's limit */
	str = t_str_new(8192);
	str_append(str, "pop3-policy-move\t1\thold\nS\tINBOX\t1\nD\tQ\t1\t1\n");
	str_append(str, "1\t");
	for (i = 0; i < 5000; i++)
		str_append_c(str, 'a');
	str_append_c(str, '\n');
	test_write_file(path, str_c(str));
	test_assert(pop3_policy_move_journal_read(path, pool, &r,
						  &error) < 0);
	/* the fuzzer's parser has no such limit */
	test_assert(pop3_policy_move_journal_parse(str_data(str),
						   str_len(str), &count,
						   &error) == 0 && count == 1);
	pool_unref(&pool);
	test_end();
}

int main(void)
{
	static void (*const test_functions[])(void) = {
		test_move_journal_round_trip,
		test_move_journal_damage,
		NULL
	};
	char path[] = "/tmp/test-move-journal.XXXXXX";
	const char *error;
	int ret;

	lib_init();
	if (mkdtemp(path) == NULL)
		i_fatal("mkdtemp(%s): %m", path);
	tmpdir = path;
	ret = test_run(test_functions);
	if (unlink_directory(tmpdir, UNLINK_DIRECTORY_FLAG_RMDIR, &error) < 0)
		i_error("%s", error);
	lib_deinit();
	return ret;
}
