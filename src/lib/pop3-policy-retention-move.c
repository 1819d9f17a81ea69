/* Copyright (c) 2026 pop3-policy authors, see the included COPYING file */

/* Moves between two mailboxes of a user that a kill -9 cannot leave
   half-done unnoticed (see include/pop3-policy-retention-move.h).

   Dovecot has no atomic move between mailboxes: mailbox_move() is a copy
   in the destination's transaction and an expunge in the source's, each
   committed on its own, and on maildir the copy alone is several steps
   (hard links in tmp/, renames to new/, dovecot-uidlist, the index). A
   process killed between the two commits leaves the message in both
   mailboxes; killed during the copy's commit, it can leave a copy that
   only the next sync of the destination assigns a UID. Neither loses
   mail, but nothing in the mailboxes tells a later run which copies are
   left over, so a move journal does:

   1. With the user's retention lock held, before the copies are made,
      the journal POP3_POLICY_MOVE_JOURNAL_FNAME in the user's home is
      written (a temporary file renamed over it; fdatasync()ed unless
      mail_fsync=never): the kind of move (hold, move, restore), the
      source's name and UIDVALIDITY, the destination's name, UIDVALIDITY
      and UIDNEXT before the copy, and the UID and GUID of each message
      to copy.
      The home, not mail_volatile_dir where the lock may live (often
      tmpfs: a reboot would lose it) nor the mail root (with mbox every
      file there is a mailbox).
   2. The copies are committed, then the originals' expunges, and a
      sync carries them out (maildir: unlinks the files); then the
      journal is unlinked.
   3. Every retention run of the user (a session's DELE run or owed
      removals, the end of a QUIT'd session with nothing else to do, a
      sweep, a restore) looks for the journal right after taking the
      lock: a stat() that fails with ENOENT is all a normal run pays. A
      journal found means the move was interrupted: the messages of the
      journal still in the source (same UID and GUID, or the GUID if the
      UIDVALIDITY changed) are paired with the destination's messages
      from the journal's UIDNEXT on with the same GUID, or, for those
      whose GUID is none of the journal's, the same text (MD5 of the
      message): maildir keeps the source's GUID as the copy's file name
      when that name carries the sizes (S=, W=, as Dovecot's LDA writes
      them), else gives the copy a new name and keeps the GUID only in
      dovecot-uidlist, and a commit killed before that write leaves a
      copy whose GUID is its new name. Such a pair is a message in both
      mailboxes, and the one in the quarantine goes: for a hold the copy
      (the message stays in INBOX, as if the DELE had not happened:
      never removed on a guess), for a restore the original (the restore
      is completed). INBOX is never touched by a repair, and neither is
      a user's move: mailbox (a copy there may already be the user's:
      those pairs are logged, and a later move of the same message finds
      the GUID there and only expunges, as before; a copy whose GUID the
      kill lost is copied again then). Then the journal is unlinked. A
      repair only ever removes a message whose twin (same GUID or same
      text) stays in the other mailbox, so nothing is lost, and a repair
      killed half-way is simply run again.

   The cost of a repair grows with the journal's messages and the
   messages added to the destination since, never with the mailbox; the
   text is read only for copies whose GUID was lost. A damaged journal
   (it is written whole or not at all, so only by outside damage) fails
   every run of the user with an error naming the file and the line,
   and nothing is removed until an administrator looks. */

#include "lib.h"
#include "str-sanitize.h"
#include "array.h"
#include "str.h"
#include "strescape.h"
#include "strnum.h"
#include "hash.h"
#include "hex-binary.h"
#include "md5.h"
#include "istream.h"
#include "write-full.h"
#include "var-expand.h"
#include "fsync-mode.h"
#include "mail-storage-private.h"
#include "mail-namespace.h"
#include "mail-user.h"
#include "pop3-policy-mailbox.h"
#include "pop3-policy-policy.h"
#include "pop3-policy-retention-move.h"
#include "pop3-policy-test-hook.h"

#include <stdio.h>
#include <fcntl.h>
#include <unistd.h>
#include <sys/stat.h>

#define MOVE_JOURNAL_MAGIC "pop3-policy-move"
#define MOVE_JOURNAL_VERSION 1
/* the longest line a journal has (a GUID is at most a file name) */
#define MOVE_JOURNAL_MAX_LINE 4096

struct move_journal {
	enum pop3_policy_move_kind kind;
	const char *src_name, *dest_name;
	uint32_t src_uidvalidity, dest_uidvalidity, dest_uidnext;
	ARRAY_TYPE(pop3_policy_moved_msg) msgs;
};

/* a message found in both mailboxes */
struct move_pair {
	uint32_t src_uid, dest_uid;
};

HASH_TABLE_DEFINE_TYPE(move_guids, const char *, void *);

static const char *const move_kind_names[] = {
	[POP3_POLICY_MOVE_HOLD] = "hold",
	[POP3_POLICY_MOVE_TARGET] = "move",
	[POP3_POLICY_MOVE_RESTORE] = "restore",
};

static int move_journal_path(struct mail_user *user, const char **path_r,
			     const char **error_r)
{
	const char *home;
	int ret;

	if ((ret = mail_user_get_home(user, &home)) <= 0) {
		*error_r = ret < 0 ? "Failed to look up the home directory" :
			"User has no home directory";
		return -1;
	}
	*path_r = t_strdup_printf("%s/%s", home,
				  POP3_POLICY_MOVE_JOURNAL_FNAME);
	return 0;
}

int pop3_policy_retention_move_pending(struct mail_user *user,
				       const char **error_r)
{
	const char *path;
	struct stat st;

	if (move_journal_path(user, &path, error_r) < 0)
		return -1;
	if (stat(path, &st) == 0)
		return 1;
	if (errno == ENOENT)
		return 0;
	*error_r = t_strdup_printf("stat(%s) failed: %m", path);
	return -1;
}

static int
move_journal_write(struct mail_user *user, const char *path,
		   enum pop3_policy_move_kind kind,
		   struct mailbox *src, struct mailbox *dest,
		   const ARRAY_TYPE(pop3_policy_moved_msg) *msgs,
		   const char **error_r)
{
	const struct mail_storage_settings *mail_set =
		mail_user_set_get_storage_set(user);
	const struct pop3_policy_moved_msg *m;
	struct mailbox_status src_status, dest_status;
	const char *temp_path;
	string_t *str;
	int fd, ret = 0;

	mailbox_get_open_status(src, STATUS_UIDVALIDITY, &src_status);
	mailbox_get_open_status(dest, STATUS_UIDVALIDITY | STATUS_UIDNEXT,
				&dest_status);
	str = t_str_new(128 + array_count(msgs) * 64);
	str_printfa(str, "%s\t%u\t%s\n", MOVE_JOURNAL_MAGIC,
		    MOVE_JOURNAL_VERSION, move_kind_names[kind]);
	str_printfa(str, "S\t%s\t%u\n", str_tabescape(mailbox_get_vname(src)),
		    src_status.uidvalidity);
	str_printfa(str, "D\t%s\t%u\t%u\n",
		    str_tabescape(mailbox_get_vname(dest)),
		    dest_status.uidvalidity, dest_status.uidnext);
	array_foreach(msgs, m)
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
	} else if (mail_set->parsed_fsync_mode != FSYNC_MODE_NEVER &&
		   fdatasync(fd) < 0) {
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
			pool_t pool, struct move_journal *j,
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
		   struct move_journal *j, const char **error_r)
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

/* Returns 1 and the journal, 0 if there is none, -1 if it cannot be read
   or is malformed (error_r names the file and the line). */
static int
move_journal_read(const char *path, pool_t pool, struct move_journal *j_r,
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

int pop3_policy_retention_move_journal_parse(const unsigned char *data,
					     size_t size,
					     unsigned int *msg_count_r,
					     const char **error_r)
{
	struct move_journal j;
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

/* The UIDL the pop3 process serves for the message, computed as
   pop3_get_uid() does (without pop3_reuse_xuidl). */
static int
move_served_uidl(struct mail *mail, const char **uidl_r, const char **error_r)
{
	const struct mail_storage_settings *mail_set =
		mail->box->storage->set;
	const char *uidl, *hdr_md5 = "", *filename = "", *guid = "";
	const char *fmt = mail_set->pop3_uidl_format, *error;
	string_t *str;

	if (mail_get_special(mail, MAIL_FETCH_UIDL_BACKEND, &uidl) == 0 &&
	    *uidl != '\0') {
		*uidl_r = uidl;
		return 0;
	}
	if (strstr(fmt, "%m") != NULL &&
	    mail_get_special(mail, MAIL_FETCH_HEADER_MD5, &hdr_md5) < 0)
		hdr_md5 = "";
	if (strstr(fmt, "%f") != NULL &&
	    mail_get_special(mail, MAIL_FETCH_STORAGE_ID, &filename) < 0)
		filename = "";
	if (strstr(fmt, "%g") != NULL &&
	    mail_get_special(mail, MAIL_FETCH_GUID, &guid) < 0)
		guid = "";
	const uint32_t uid_validity =
		mail_index_get_header(mail->box->view)->uid_validity;
	const struct var_expand_table tab[] = {
		{ 'v', dec2str(uid_validity), "uidvalidity" },
		{ 'u', dec2str(mail->uid), "uid" },
		{ 'm', hdr_md5, "md5" },
		{ 'f', filename, "filename" },
		{ 'g', guid, "guid" },
		{ '\0', NULL, NULL }
	};
	str = t_str_new(64);
	if (var_expand(str, fmt, tab, &error) <= 0) {
		*error_r = t_strdup_printf(
			"Failed to expand pop3_uidl_format=%s: %s", fmt, error);
		return -1;
	}
	*uidl_r = str_c(str);
	return 0;
}

/* Returns the GUIDs present in the box (for not copying twice into a
   move: target). */
static int
move_box_guids(struct mailbox *box, pool_t pool,
	       HASH_TABLE_TYPE(move_guids) *set_r, const char **error_r)
{
	struct mailbox_transaction_context *t;
	struct mail *mail;
	const struct mail_index_header *hdr;
	const char *guid;
	uint32_t seq;
	int ret = 0;

	hash_table_create(set_r, pool, 0, str_hash, strcmp);
	hdr = mail_index_get_header(box->view);
	t = mailbox_transaction_begin(box, 0, __func__);
	mail = mail_alloc(t, MAIL_FETCH_GUID, NULL);
	for (seq = 1; seq <= hdr->messages_count; seq++) {
		mail_set_seq(mail, seq);
		if (mail_get_special(mail, MAIL_FETCH_GUID, &guid) < 0) {
			if (mail->expunged)
				continue;
			*error_r = pop3_policy_mailbox_error(box);
			ret = -1;
			break;
		}
		if (*guid != '\0') {
			guid = p_strdup(pool, guid);
			hash_table_update(*set_r, guid, POINTER_CAST(1));
		}
	}
	mail_free(&mail);
	(void)mailbox_transaction_commit(&t);
	return ret;
}

int pop3_policy_retention_move(struct mail_user *user,
			       enum pop3_policy_move_kind kind,
			       struct mailbox *src, struct mailbox *dest,
			       const ARRAY_TYPE(seq_range) *uids, pool_t pool,
			       ARRAY_TYPE(pop3_policy_moved_msg) *moved,
			       const char **error_r)
{
	HASH_TABLE_TYPE(move_guids) dest_guids;
	ARRAY_TYPE(pop3_policy_moved_msg) copies;
	const struct pop3_policy_moved_msg *m;
	struct mailbox_transaction_context *st, *dt = NULL;
	struct mail_save_context *save;
	struct seq_range_iter iter;
	struct mail *mail;
	struct pop3_policy_moved_msg msg;
	const char *guid, *uidl, *journal = NULL;
	unsigned int n = 0;
	uint32_t uid;
	int ret = 0;

	POP3_POLICY_TEST_POINT("move-start");
	/* a move: target may have the message already (an interrupted
	   move whose pair the repair kept): then it is only expunged */
	if (kind != POP3_POLICY_MOVE_TARGET)
		hash_table_create(&dest_guids, pool, 0, str_hash, strcmp);
	else if (move_box_guids(dest, pool, &dest_guids, error_r) < 0) {
		hash_table_destroy(&dest_guids);
		return -1;
	}
	p_array_init(&copies, pool, 32);
	st = mailbox_transaction_begin(src, 0, __func__);
	mail = mail_alloc(st, MAIL_FETCH_GUID, NULL);
	seq_range_array_iter_init(&iter, uids);
	while (seq_range_array_iter_nth(&iter, n++, &uid)) {
		if (!mail_set_uid(mail, uid))
			continue;
		if (mail_get_special(mail, MAIL_FETCH_GUID, &guid) < 0) {
			if (mail->expunged)
				continue;
			*error_r = pop3_policy_mailbox_error(src);
			ret = -1;
			break;
		}
		msg.uid = uid;
		msg.guid = p_strdup(pool, guid);
		array_push_back(moved, &msg);
		if (*guid == '\0' ||
		    hash_table_lookup(dest_guids, msg.guid) == NULL)
			array_push_back(&copies, &msg);
	}
	hash_table_destroy(&dest_guids);

	if (ret == 0 && array_count(&copies) > 0) {
		/* from here a kill can leave messages in both mailboxes:
		   the journal tells the next run which */
		if (move_journal_path(user, &journal, error_r) < 0 ||
		    move_journal_write(user, journal, kind, src, dest,
				       &copies, error_r) < 0)
			ret = -1;
	}
	if (ret == 0 && array_count(&copies) > 0) {
		POP3_POLICY_TEST_POINT("move-journal-written");
		dt = mailbox_transaction_begin(dest,
			MAILBOX_TRANSACTION_FLAG_EXTERNAL, __func__);
		array_foreach(&copies, m) {
			if (!mail_set_uid(mail, m->uid))
				continue;
			if (move_served_uidl(mail, &uidl, error_r) < 0) {
				ret = -1;
				break;
			}
			save = mailbox_save_alloc(dt);
			mailbox_save_copy_flags(save, mail);
			mailbox_save_set_pop3_uidl(save, uidl);
			if (mailbox_copy(&save, mail) < 0) {
				*error_r = pop3_policy_mailbox_error(
					dest);
				ret = -1;
				break;
			}
			POP3_POLICY_TEST_POINT("move-copied");
		}
		if (ret < 0)
			mailbox_transaction_rollback(&dt);
		else if (mailbox_transaction_commit(&dt) < 0) {
			/* the journal stays: part of the copies may be
			   there */
			*error_r = pop3_policy_mailbox_error(dest);
			ret = -1;
		}
	}
	if (ret < 0) {
		mail_free(&mail);
		mailbox_transaction_rollback(&st);
		array_clear(moved);
		return -1;
	}
	POP3_POLICY_TEST_POINT("move-copies-committed");
	/* the copies are committed before the originals go */
	array_foreach(moved, m) {
		if (mail_set_uid(mail, m->uid))
			mail_expunge(mail);
	}
	mail_free(&mail);
	if (mailbox_transaction_commit(&st) < 0) {
		*error_r = pop3_policy_mailbox_error(src);
		array_clear(moved);
		return -1;
	}
	POP3_POLICY_TEST_POINT("move-expunges-committed");
	/* the expunges are in the transaction log; the sync carries them
	   out (on maildir: unlinks the files), and if a kill stops it, the
	   next sync of the mailbox by anyone finishes them */
	if (mailbox_sync(src, 0) < 0) {
		/* the move itself is done */
		i_error("%s", pop3_policy_mailbox_error(src));
	}
	POP3_POLICY_TEST_POINT("move-synced");
	if (journal != NULL && unlink(journal) < 0 && errno != ENOENT) {
		/* the next run's repair finds nothing in both and tries
		   again */
		i_error("unlink(%s) failed: %m", journal);
	}
	return 0;
}

/* Fills left with the journal's messages still in src: GUID -> UID. */
static int
move_repair_left(struct mailbox *src, const struct move_journal *j,
		 pool_t pool, HASH_TABLE_TYPE(move_guids) *left,
		 const char **error_r)
{
	HASH_TABLE_TYPE(move_guids) wanted;
	const struct pop3_policy_moved_msg *m;
	struct mailbox_transaction_context *t;
	struct mailbox_status status;
	struct mail *mail;
	const char *guid;
	void *value;
	uint32_t seq, count;
	int ret = 0;

	mailbox_get_open_status(src, STATUS_UIDVALIDITY | STATUS_MESSAGES,
				&status);
	t = mailbox_transaction_begin(src, 0, __func__);
	mail = mail_alloc(t, MAIL_FETCH_GUID, NULL);
	if (status.uidvalidity == j->src_uidvalidity) {
		array_foreach(&j->msgs, m) {
			/* a message without GUID cannot be matched, and
			   never got a copy that could */
			if (*m->guid == '\0' || !mail_set_uid(mail, m->uid))
				continue;
			if (mail_get_special(mail, MAIL_FETCH_GUID,
					     &guid) < 0) {
				if (mail->expunged)
					continue;
				ret = -1;
				break;
			}
			if (strcmp(guid, m->guid) == 0) {
				hash_table_update(*left, m->guid,
						  POINTER_CAST(m->uid));
			}
		}
	} else {
		/* the UIDs were renumbered since: find the GUIDs in the
		   whole mailbox (rare, only after a rebuilt uidlist) */
		hash_table_create(&wanted, pool, 0, str_hash, strcmp);
		array_foreach(&j->msgs, m) {
			if (*m->guid != '\0')
				hash_table_update(wanted, m->guid,
						  POINTER_CAST(1));
		}
		count = status.messages;
		for (seq = 1; seq <= count; seq++) {
			mail_set_seq(mail, seq);
			if (mail_get_special(mail, MAIL_FETCH_GUID,
					     &guid) < 0) {
				if (mail->expunged)
					continue;
				ret = -1;
				break;
			}
			if (hash_table_lookup_full(wanted, guid, &guid,
						   &value)) {
				hash_table_update(*left, guid,
						  POINTER_CAST(mail->uid));
			}
		}
		hash_table_destroy(&wanted);
	}
	if (ret < 0)
		*error_r = pop3_policy_mailbox_error(src);
	mail_free(&mail);
	(void)mailbox_transaction_commit(&t);
	return ret;
}

/* Returns the hex MD5 of the message's text: a copy is the same text. */
static int move_content_key(struct mail *mail, const char **key_r)
{
	struct istream *input;
	struct md5_context ctx;
	unsigned char digest[MD5_RESULTLEN];
	const unsigned char *data;
	size_t size;

	if (mail_get_stream(mail, NULL, NULL, &input) < 0)
		return -1;
	md5_init(&ctx);
	while (i_stream_read_more(input, &data, &size) > 0) {
		md5_update(&ctx, data, size);
		i_stream_skip(input, size);
	}
	if (input->stream_errno != 0) {
		mail_set_critical(mail, "read(%s) failed: %s",
				  i_stream_get_name(input),
				  i_stream_get_error(input));
		return -1;
	}
	md5_final(&ctx, digest);
	*key_r = binary_to_hex(digest, sizeof(digest));
	return 0;
}

/* Pairs the dest messages whose GUID the journal does not know (the
   unknown UIDs) with the messages of left by content. */
static int
move_repair_pairs_by_content(struct mailbox *src, struct mailbox *dest,
			     HASH_TABLE_TYPE(move_guids) left,
			     const ARRAY_TYPE(seq_range) *unknown,
			     pool_t pool, ARRAY_TYPE(seq_range) *src_uids,
			     ARRAY_TYPE(seq_range) *dest_uids,
			     const char **error_r)
{
	HASH_TABLE_TYPE(move_guids) keys;
	struct hash_iterate_context *iter;
	struct mailbox_transaction_context *st, *dt;
	struct mail *smail, *dmail;
	struct seq_range_iter uiter;
	const char *guid, *key;
	void *value;
	unsigned int n = 0;
	uint32_t uid;
	int ret = 0;

	hash_table_create(&keys, pool, 0, str_hash, strcmp);
	st = mailbox_transaction_begin(src, 0, __func__);
	smail = mail_alloc(st, MAIL_FETCH_STREAM_HEADER |
			   MAIL_FETCH_STREAM_BODY, NULL);
	iter = hash_table_iterate_init(left);
	while (ret == 0 && hash_table_iterate(iter, left, &guid, &value)) {
		if (!mail_set_uid(smail, POINTER_CAST_TO(value, uint32_t)))
			continue;
		if (move_content_key(smail, &key) < 0) {
			*error_r = pop3_policy_mailbox_error(src);
			ret = -1;
		} else {
			key = p_strdup(pool, key);
			hash_table_update(keys, key, value);
		}
	}
	hash_table_iterate_deinit(&iter);
	mail_free(&smail);
	(void)mailbox_transaction_commit(&st);

	dt = mailbox_transaction_begin(dest, 0, __func__);
	dmail = mail_alloc(dt, MAIL_FETCH_STREAM_HEADER |
			   MAIL_FETCH_STREAM_BODY, NULL);
	seq_range_array_iter_init(&uiter, unknown);
	while (ret == 0 && seq_range_array_iter_nth(&uiter, n++, &uid)) {
		if (!mail_set_uid(dmail, uid))
			continue;
		if (move_content_key(dmail, &key) < 0) {
			if (dmail->expunged)
				continue;
			*error_r = pop3_policy_mailbox_error(dest);
			ret = -1;
		} else if ((value = hash_table_lookup(keys, key)) != NULL) {
			seq_range_array_add(src_uids,
					    POINTER_CAST_TO(value, uint32_t));
			seq_range_array_add(dest_uids, uid);
		}
	}
	mail_free(&dmail);
	(void)mailbox_transaction_commit(&dt);
	hash_table_destroy(&keys);
	return ret;
}

/* Pairs the messages of left with their copies in dest, made from the
   journal's UIDNEXT on (from 1 if the UIDVALIDITY changed): by GUID, and
   by content for the messages there whose GUID is none of the journal's.
   Those are copies whose GUID a kill lost: maildir keeps the original's
   GUID as the copy's file name, or in dovecot-uidlist when the copy gets
   a new name (an original named without its sizes), and a commit killed
   before that write leaves a copy whose GUID is its new name. That can
   only happen before the copies' commit returned, so before any original
   was expunged: the content match then pairs a copy with its still
   present original (or with an identical twin that is). */
static int
move_repair_pairs(struct mailbox *src, struct mailbox *dest,
		  const struct move_journal *j,
		  HASH_TABLE_TYPE(move_guids) left, pool_t pool,
		  ARRAY_TYPE(seq_range) *src_uids,
		  ARRAY_TYPE(seq_range) *dest_uids, const char **error_r)
{
	HASH_TABLE_TYPE(move_guids) journal_guids;
	const struct pop3_policy_moved_msg *m;
	ARRAY_TYPE(seq_range) unknown;
	struct mailbox_transaction_context *t;
	struct mailbox_status status;
	struct mail *mail;
	const char *guid;
	void *value;
	uint32_t seq, seq1, seq2, first_uid;
	int ret = 0;

	mailbox_get_open_status(dest, STATUS_UIDVALIDITY, &status);
	first_uid = status.uidvalidity == j->dest_uidvalidity ?
		I_MAX(j->dest_uidnext, 1) : 1;
	mailbox_get_seq_range(dest, first_uid, (uint32_t)-1, &seq1, &seq2);
	if (seq1 == 0)
		return 0;
	hash_table_create(&journal_guids, pool, 0, str_hash, strcmp);
	array_foreach(&j->msgs, m)
		hash_table_update(journal_guids, m->guid, POINTER_CAST(1));
	t_array_init(&unknown, 32);
	t = mailbox_transaction_begin(dest, 0, __func__);
	mail = mail_alloc(t, MAIL_FETCH_GUID, NULL);
	for (seq = seq1; seq <= seq2; seq++) {
		mail_set_seq(mail, seq);
		if (mail_get_special(mail, MAIL_FETCH_GUID, &guid) < 0) {
			if (mail->expunged)
				continue;
			*error_r = pop3_policy_mailbox_error(dest);
			ret = -1;
			break;
		}
		if (*guid != '\0' &&
		    hash_table_lookup_full(left, guid, &guid, &value)) {
			seq_range_array_add(src_uids,
					    POINTER_CAST_TO(value, uint32_t));
			seq_range_array_add(dest_uids, mail->uid);
		} else if (hash_table_lookup(journal_guids, guid) == NULL) {
			seq_range_array_add(&unknown, mail->uid);
		}
	}
	mail_free(&mail);
	(void)mailbox_transaction_commit(&t);
	hash_table_destroy(&journal_guids);
	if (ret == 0 && array_count(&unknown) > 0) {
		ret = move_repair_pairs_by_content(src, dest, left, &unknown,
						   pool, src_uids, dest_uids,
						   error_r);
	}
	return ret;
}

static int
move_repair_expunge(struct mailbox *box, const ARRAY_TYPE(seq_range) *uids,
		    const char **error_r)
{
	struct mailbox_transaction_context *t;
	struct seq_range_iter iter;
	struct mail *mail;
	unsigned int n = 0;
	uint32_t uid;

	t = mailbox_transaction_begin(box, 0, __func__);
	mail = mail_alloc(t, 0, NULL);
	seq_range_array_iter_init(&iter, uids);
	while (seq_range_array_iter_nth(&iter, n++, &uid)) {
		if (mail_set_uid(mail, uid))
			mail_expunge(mail);
	}
	mail_free(&mail);
	if (mailbox_transaction_commit(&t) < 0 ||
	    mailbox_sync(box, 0) < 0) {
		*error_r = pop3_policy_mailbox_error(box);
		return -1;
	}
	return 0;
}

static const char *move_uids_str(const ARRAY_TYPE(seq_range) *uids)
{
	const struct seq_range *range;
	string_t *str = t_str_new(64);

	array_foreach(uids, range) {
		if (str_len(str) > 0)
			str_append_c(str, ',');
		if (range->seq1 == range->seq2)
			str_printfa(str, "%u", range->seq1);
		else
			str_printfa(str, "%u:%u", range->seq1, range->seq2);
	}
	return str_c(str);
}

/* A journal names the mailboxes whose copies its repair may expunge, and
   the file can be written by anyone who can write the home: accept only
   the pairs a move of this package makes (INBOX -> the quarantine for a
   hold, back for a restore, INBOX -> a valid mailbox for a move: target,
   whose repair removes nothing). Returns 0, or -1 with error_r. */
static int
move_journal_check_names(const struct move_journal *j,
			 const char *quarantine, const char **error_r)
{
	const char *reason, *want_src, *want_dest;

	switch (j->kind) {
	case POP3_POLICY_MOVE_HOLD:
		want_src = "INBOX";
		want_dest = quarantine;
		break;
	case POP3_POLICY_MOVE_RESTORE:
		want_src = quarantine;
		want_dest = "INBOX";
		break;
	case POP3_POLICY_MOVE_TARGET:
		if (strcmp(j->src_name, "INBOX") != 0) {
			*error_r = t_strdup_printf(
				"a move starts in INBOX, not in %s",
				str_sanitize(j->src_name, 256));
			return -1;
		}
		if (!pop3_policy_mailbox_name_is_valid(j->dest_name,
						       &reason)) {
			*error_r = t_strdup_printf("move target %s: %s",
				str_sanitize(j->dest_name, 256), reason);
			return -1;
		}
		return 0;
	default:
		i_unreached();
	}
	if (quarantine == NULL) {
		*error_r = "the quarantine's name is not known here";
		return -1;
	}
	if (strcmp(j->src_name, want_src) != 0 ||
	    strcmp(j->dest_name, want_dest) != 0) {
		*error_r = t_strdup_printf(
			"a %s moves %s -> %s, not %s -> %s",
			move_kind_names[j->kind], want_src, want_dest,
			str_sanitize(j->src_name, 256),
			str_sanitize(j->dest_name, 256));
		return -1;
	}
	return 0;
}

static int
move_repair(struct mail_user *user, struct event *event,
	    const struct move_journal *j, pool_t pool, const char **error_r)
{
	HASH_TABLE_TYPE(move_guids) left;
	ARRAY_TYPE(seq_range) src_uids, dest_uids;
	struct mailbox *src = NULL, *dest = NULL;
	const char *kind = move_kind_names[j->kind];
	unsigned int count;
	int ret;

	ret = pop3_policy_mailbox_open(user, j->src_name, FALSE, &src,
				       error_r);
	if (ret > 0) {
		ret = pop3_policy_mailbox_open(user, j->dest_name, FALSE,
					       &dest, error_r);
	}
	if (ret <= 0) {
		if (ret == 0) {
			e_info(event, "Interrupted %s (%s -> %s): a mailbox "
			       "no longer exists, no message can be in both",
			       kind, j->src_name, j->dest_name);
		}
		if (src != NULL)
			mailbox_free(&src);
		return ret;
	}
	hash_table_create(&left, pool, 0, str_hash, strcmp);
	t_array_init(&src_uids, 32);
	t_array_init(&dest_uids, 32);
	ret = move_repair_left(src, j, pool, &left, error_r);
	if (ret == 0 && hash_table_count(left) > 0) {
		ret = move_repair_pairs(src, dest, j, left, pool, &src_uids,
					&dest_uids, error_r);
	}
	hash_table_destroy(&left);
	count = seq_range_count(&dest_uids);
	if (ret < 0 || count == 0) {
		if (ret == 0) {
			e_info(event, "Interrupted %s (%s -> %s) checked: "
			       "no message is in both", kind, j->src_name,
			       j->dest_name);
		}
	} else if (j->kind == POP3_POLICY_MOVE_HOLD) {
		/* the DELE is undone: the message stays where POP3 sees
		   it, and a later DELE holds it again */
		ret = move_repair_expunge(dest, &dest_uids, error_r);
		if (ret == 0) {
			e_warning(event, "Interrupted hold repaired: %u "
				  "message(s) still in %s (UIDs %s) had a "
				  "copy in %s: removed the copies (UIDs %s)",
				  count, j->src_name,
				  move_uids_str(&src_uids), j->dest_name,
				  move_uids_str(&dest_uids));
		}
	} else if (j->kind == POP3_POLICY_MOVE_RESTORE) {
		/* the restore is completed: the INBOX copy stays */
		ret = move_repair_expunge(src, &src_uids, error_r);
		if (ret == 0) {
			e_warning(event, "Interrupted restore repaired: %u "
				  "message(s) already in %s (UIDs %s) were "
				  "still in %s: removed them there (UIDs %s)",
				  count, j->dest_name,
				  move_uids_str(&dest_uids), j->src_name,
				  move_uids_str(&src_uids));
		}
	} else {
		e_warning(event, "Interrupted move: %u message(s) are both "
			  "in %s (UIDs %s) and in %s (UIDs %s); kept in "
			  "both, %s is the user's mailbox", count,
			  j->src_name, move_uids_str(&src_uids),
			  j->dest_name, move_uids_str(&dest_uids),
			  j->dest_name);
	}
	mailbox_free(&dest);
	mailbox_free(&src);
	return ret;
}

int pop3_policy_retention_move_repair(struct mail_user *user,
				      struct event *event,
				      const char *quarantine,
				      const char **error_r)
{
	struct move_journal j;
	const char *path, *error;
	pool_t pool;
	int ret;

	if (move_journal_path(user, &path, error_r) < 0)
		return -1;
	pool = pool_alloconly_create("pop3-policy move repair", 1024);
	ret = move_journal_read(path, pool, &j, error_r);
	if (ret > 0 && move_journal_check_names(&j, quarantine, &error) < 0) {
		/* kept for the administrator: nothing is removed on it */
		*error_r = t_strdup_printf("%s: refused: %s", path, error);
		ret = -1;
	}
	if (ret > 0) {
		ret = move_repair(user, event, &j, pool, error_r);
		if (ret >= 0 && unlink(path) < 0 && errno != ENOENT) {
			*error_r = t_strdup_printf("unlink(%s) failed: %m",
						   path);
			ret = -1;
		}
		if (ret >= 0)
			ret = 1;
	}
	pool_unref(&pool);
	return ret;
}
