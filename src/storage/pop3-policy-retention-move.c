/* Copyright (c) 2026 pop3-policy authors, see the included COPYING file */

/* Moves between two mailboxes of a user that a kill -9 cannot leave
   half-done unnoticed (see pop3-policy-retention-move.h).

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
   and nothing is removed until an administrator looks.

   The journal's format and the write and read of its file are in
   src/lib/pop3-policy-move-journal.c, the repair (step 3) in
   pop3-policy-retention-repair.c; this file makes the moves. */

#include "lib.h"
#include "array.h"
#include "hash.h"
#include "fsync-mode.h"
#include "mail-storage-private.h"
#include "mail-user.h"
#include "pop3-policy-mailbox.h"
#include "pop3-policy-uidl-native.h"
#include "pop3-policy-retention-move.h"
#include "pop3-policy-test-hook.h"

#include <unistd.h>
#include <sys/stat.h>

HASH_TABLE_DEFINE_TYPE(move_guids, const char *, void *);

int pop3_policy_retention_move_journal_path(struct mail_user *user,
					    const char **path_r,
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

	if (pop3_policy_retention_move_journal_path(user, &path, error_r) < 0)
		return -1;
	if (stat(path, &st) == 0)
		return 1;
	if (errno == ENOENT)
		return 0;
	*error_r = t_strdup_printf("stat(%s) failed: %m", path);
	return -1;
}

/* Writes the journal of a move of msgs from src to dest. */
static int
move_journal_write(struct mail_user *user, const char *path,
		   enum pop3_policy_move_kind kind,
		   struct mailbox *src, struct mailbox *dest,
		   const ARRAY_TYPE(pop3_policy_moved_msg) *msgs,
		   const char **error_r)
{
	const struct mail_storage_settings *mail_set =
		mail_user_set_get_storage_set(user);
	struct mailbox_status src_status, dest_status;
	struct pop3_policy_move_journal j;

	mailbox_get_open_status(src, STATUS_UIDVALIDITY, &src_status);
	mailbox_get_open_status(dest, STATUS_UIDVALIDITY | STATUS_UIDNEXT,
				&dest_status);
	i_zero(&j);
	j.kind = kind;
	j.src_name = mailbox_get_vname(src);
	j.src_uidvalidity = src_status.uidvalidity;
	j.dest_name = mailbox_get_vname(dest);
	j.dest_uidvalidity = dest_status.uidvalidity;
	j.dest_uidnext = dest_status.uidnext;
	j.msgs = *msgs;
	return pop3_policy_move_journal_write(path, &j,
		mail_set->parsed_fsync_mode != FSYNC_MODE_NEVER, error_r);
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
		ret = pop3_policy_mail_guid(mail, &guid, error_r);
		if (ret < 0)
			break;
		if (ret > 0 && *guid != '\0') {
			guid = p_strdup(pool, guid);
			hash_table_update(*set_r, guid, POINTER_CAST(1));
		}
	}
	mail_free(&mail);
	(void)mailbox_transaction_commit(&t);
	return ret < 0 ? -1 : 0;
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
	struct mailbox_status src_status;
	const char *uidl_format = mailbox_get_settings(src)->pop3_uidl_format;
	const char *guid, *uidl, *journal = NULL;
	unsigned int n = 0;
	uint32_t uid;
	bool stored;
	int got, ret = 0;

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
	mailbox_get_open_status(src, STATUS_UIDVALIDITY, &src_status);
	st = mailbox_transaction_begin(src, 0, __func__);
	mail = mail_alloc(st, MAIL_FETCH_GUID, NULL);
	seq_range_array_iter_init(&iter, uids);
	while (seq_range_array_iter_nth(&iter, n++, &uid)) {
		if (!mail_set_uid(mail, uid))
			continue;
		got = pop3_policy_mail_guid(mail, &guid, error_r);
		if (got < 0) {
			ret = -1;
			break;
		}
		if (got == 0)
			continue;
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
		if (pop3_policy_retention_move_journal_path(user, &journal,
							    error_r) < 0 ||
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
			/* the copy keeps the UIDL its original is
			   served with */
			if (pop3_policy_uidl_native(mail,
					src_status.uidvalidity, uidl_format,
					&uidl, &stored, error_r) < 0) {
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
