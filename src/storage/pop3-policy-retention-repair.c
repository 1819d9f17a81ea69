/* Copyright (c) 2026 pop3-policy authors, see the included COPYING file */

/* The repair of a retention move a kill interrupted: step 3 of the scheme
   at the top of pop3-policy-retention-move.c. From the journal the move
   left, the messages found in both mailboxes are paired (by GUID, else by
   the MD5 of their text) and the one in the quarantine is expunged; a
   journal naming other mailboxes than a move of this package makes is
   refused, and nothing is removed. */

#include "lib.h"
#include "str-sanitize.h"
#include "array.h"
#include "str.h"
#include "hash.h"
#include "hex-binary.h"
#include "md5.h"
#include "istream.h"
#include "mail-storage-private.h"
#include "mail-user.h"
#include "pop3-policy-mailbox.h"
#include "pop3-policy-mailbox-name.h"
#include "pop3-policy-retention-move.h"

#include <unistd.h>

/* a message found in both mailboxes */
struct move_pair {
	uint32_t src_uid, dest_uid;
};

HASH_TABLE_DEFINE_TYPE(move_guids, const char *, void *);

/* Fills left with the journal's messages still in src: GUID -> UID. */
static int
move_repair_left(struct mailbox *src,
		 const struct pop3_policy_move_journal *j,
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
		  const struct pop3_policy_move_journal *j,
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
		ret = pop3_policy_mail_guid(mail, &guid, error_r);
		if (ret < 0)
			break;
		if (ret == 0)
			continue;
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
	ret = ret < 0 ? -1 : 0;
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
move_journal_check_names(const struct pop3_policy_move_journal *j,
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
			pop3_policy_move_kind_name(j->kind),
			want_src, want_dest,
			str_sanitize(j->src_name, 256),
			str_sanitize(j->dest_name, 256));
		return -1;
	}
	return 0;
}

static int
move_repair(struct mail_user *user, struct event *event,
	    const struct pop3_policy_move_journal *j, pool_t pool,
	    const char **error_r)
{
	HASH_TABLE_TYPE(move_guids) left;
	ARRAY_TYPE(seq_range) src_uids, dest_uids;
	struct mailbox *src = NULL, *dest = NULL;
	const char *kind = pop3_policy_move_kind_name(j->kind);
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
	struct pop3_policy_move_journal j;
	const char *path, *error;
	pool_t pool;
	int ret;

	if (pop3_policy_retention_move_journal_path(user, &path, error_r) < 0)
		return -1;
	pool = pool_alloconly_create("pop3-policy move repair", 1024);
	ret = pop3_policy_move_journal_read(path, pool, &j, error_r);
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
