/* Copyright (c) 2026 pop3-policy authors, see the included COPYING file */

/* The retention move journal: its format, its parser and the atomic write
   and read of its file. What the journal is for, and how a retention run
   repairs an interrupted move from it, is at the top of
   src/storage/pop3-policy-retention-move.c; this file knows nothing of
   mailboxes, so that the fuzzer runs the very parser a repair uses.

   Format: tab-separated lines, fields tab-escaped (str_tabescape()):
     pop3-policy-move <version> <kind: hold, move or restore>
     S <source mailbox> <source UIDVALIDITY>
     D <destination mailbox> <destination UIDVALIDITY> <UIDNEXT before>
     <UID> <GUID>          (one line a message to copy, GUID may be "")
   Example, a hold of two messages:
     pop3-policy-move	1	hold
     S	INBOX	1700000000
     D	Quarantine	1700000100	7
     3	1b2c0f31c2d5e26521000000e1c4a9c3
     5	1c2c0f31c2d5e26521000000e1c4a9c3 */

#include "lib.h"
#include "array.h"
#include "str.h"
#include "strescape.h"
#include "strnum.h"
#include "istream.h"
#include "write-full.h"
#include "pop3-policy-move-journal.h"

#include <stdio.h>
#include <fcntl.h>
#include <unistd.h>

#define MOVE_JOURNAL_MAGIC "pop3-policy-move"
#define MOVE_JOURNAL_VERSION 1
/* the longest line a journal has (a GUID is at most a file name) */
#define MOVE_JOURNAL_MAX_LINE 4096

static const char *const move_kind_names[] = {
	[POP3_POLICY_MOVE_HOLD] = "hold",
	[POP3_POLICY_MOVE_TARGET] = "move",
	[POP3_POLICY_MOVE_RESTORE] = "restore",
};

const char *pop3_policy_move_kind_name(enum pop3_policy_move_kind kind)
{
	i_assert(kind < N_ELEMENTS(move_kind_names));
	return move_kind_names[kind];
}

int pop3_policy_move_journal_write(const char *path,
				   const struct pop3_policy_move_journal *j,
				   bool sync_data, const char **error_r)
{
	const struct pop3_policy_moved_msg *m;
	const char *temp_path;
	string_t *str;
	int fd, ret = 0;

	str = t_str_new(128 + array_count(&j->msgs) * 64);
	str_printfa(str, "%s\t%u\t%s\n", MOVE_JOURNAL_MAGIC,
		    MOVE_JOURNAL_VERSION, move_kind_names[j->kind]);
	str_printfa(str, "S\t%s\t%u\n", str_tabescape(j->src_name),
		    j->src_uidvalidity);
	str_printfa(str, "D\t%s\t%u\t%u\n", str_tabescape(j->dest_name),
		    j->dest_uidvalidity, j->dest_uidnext);
	array_foreach(&j->msgs, m)
		str_printfa(str, "%u\t%s\n", m->uid, str_tabescape(m->guid));

	/* all or nothing: a kill while writing leaves only the temp file,
	   and nothing has been copied yet */
	temp_path = t_strconcat(path, ".tmp", NULL);
	/* never through a link someone left in the home: the file is
	   created here, or a stale one (a kill while writing) removed */
	fd = open(temp_path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0600);
	if (fd == -1 && errno == EEXIST) {
		i_unlink_if_exists(temp_path);
		fd = open(temp_path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW,
			  0600);
	}
	if (fd == -1) {
		*error_r = t_strdup_printf("open(%s) failed: %m", temp_path);
		return -1;
	}
	if (write_full(fd, str_data(str), str_len(str)) < 0) {
		*error_r = t_strdup_printf("write(%s) failed: %m", temp_path);
		ret = -1;
	} else if (sync_data && fdatasync(fd) < 0) {
		*error_r = t_strdup_printf("fdatasync(%s) failed: %m",
					   temp_path);
		ret = -1;
	}
	if (close(fd) < 0 && ret == 0) {
		*error_r = t_strdup_printf("close(%s) failed: %m", temp_path);
		ret = -1;
	}
	if (ret == 0 && rename(temp_path, path) < 0) {
		*error_r = t_strdup_printf("rename(%s, %s) failed: %m",
					   temp_path, path);
		ret = -1;
	}
	if (ret < 0)
		i_unlink_if_exists(temp_path);
	return ret;
}

static int
move_journal_parse_line(const char *const *args, unsigned int line,
			pool_t pool, struct pop3_policy_move_journal *j,
			const char **error_r)
{
	unsigned int count = str_array_length(args);
	struct pop3_policy_moved_msg *m;
	unsigned int version;

	switch (line) {
	case 1:
		if (count != 3 || strcmp(args[0], MOVE_JOURNAL_MAGIC) != 0 ||
		    str_to_uint(args[1], &version) < 0) {
			*error_r = "not a move journal";
			return -1;
		}
		if (version != MOVE_JOURNAL_VERSION) {
			*error_r = t_strdup_printf("unsupported version %u",
						   version);
			return -1;
		}
		for (j->kind = 0; j->kind < N_ELEMENTS(move_kind_names);
		     j->kind++) {
			if (strcmp(args[2], move_kind_names[j->kind]) == 0)
				return 0;
		}
		*error_r = t_strdup_printf("unknown kind '%s'", args[2]);
		return -1;
	case 2:
		if (count != 3 || strcmp(args[0], "S") != 0 ||
		    str_to_uint32(args[2], &j->src_uidvalidity) < 0) {
			*error_r = "expected S <mailbox> <uidvalidity>";
			return -1;
		}
		j->src_name = p_strdup(pool, args[1]);
		return 0;
	case 3:
		if (count != 4 || strcmp(args[0], "D") != 0 ||
		    str_to_uint32(args[2], &j->dest_uidvalidity) < 0 ||
		    str_to_uint32(args[3], &j->dest_uidnext) < 0) {
			*error_r = "expected D <mailbox> <uidvalidity> "
				"<uidnext>";
			return -1;
		}
		j->dest_name = p_strdup(pool, args[1]);
		return 0;
	default:
		m = array_append_space(&j->msgs);
		if (count != 2 || str_to_uint32(args[0], &m->uid) < 0 ||
		    m->uid == 0) {
			*error_r = "expected <uid> <guid>";
			return -1;
		}
		m->guid = p_strdup(pool, args[1]);
		return 0;
	}
}

/* Parses a journal's lines from input, named name in errors. Returns 1, or
   -1 if it cannot be read or is malformed (error_r names the line). */
static int
move_journal_parse(struct istream *input, const char *name, pool_t pool,
		   struct pop3_policy_move_journal *j, const char **error_r)
{
	const char *line, *error;
	unsigned int line_num = 0;
	int ret = 1;

	while (ret > 0 && (line = i_stream_read_next_line(input)) != NULL) {
		line_num++;
		if (move_journal_parse_line(t_strsplit_tabescaped(line),
					    line_num, pool, j,
					    &error) < 0) {
			*error_r = t_strdup_printf("%s line %u: %s", name,
						   line_num, error);
			ret = -1;
		}
	}
	if (ret > 0 && input->stream_errno != 0) {
		*error_r = t_strdup_printf("read(%s) failed: %s", name,
					   i_stream_get_error(input));
		ret = -1;
	} else if (ret > 0 && line_num < 3) {
		/* written whole with a rename, so this is damage */
		*error_r = t_strdup_printf("%s: truncated (%u lines)", name,
					   line_num);
		ret = -1;
	}
	return ret;
}

int pop3_policy_move_journal_read(const char *path, pool_t pool,
				  struct pop3_policy_move_journal *j_r,
				  const char **error_r)
{
	struct istream *input;
	int fd, ret;

	i_zero(j_r);
	p_array_init(&j_r->msgs, pool, 32);
	fd = open(path, O_RDONLY | O_NOFOLLOW);
	if (fd == -1) {
		if (errno == ENOENT)
			return 0;
		*error_r = t_strdup_printf("open(%s) failed: %m", path);
		return -1;
	}
	input = i_stream_create_fd_autoclose(&fd, MOVE_JOURNAL_MAX_LINE);
	ret = move_journal_parse(input, path, pool, j_r, error_r);
	i_stream_unref(&input);
	return ret;
}

int pop3_policy_move_journal_parse(const unsigned char *data, size_t size,
				   unsigned int *msg_count_r,
				   const char **error_r)
{
	struct pop3_policy_move_journal j;
	struct istream *input;
	pool_t pool;
	int ret;

	pool = pool_alloconly_create("pop3-policy move journal", 1024);
	i_zero(&j);
	p_array_init(&j.msgs, pool, 32);
	input = i_stream_create_from_data(data, size);
	ret = move_journal_parse(input, "journal", pool, &j, error_r);
	i_stream_unref(&input);
	*msg_count_r = array_count(&j.msgs);
	pool_unref(&pool);
	return ret > 0 ? 0 : -1;
}
