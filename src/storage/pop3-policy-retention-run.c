/* Copyright (c) 2026 pop3-policy authors, see the included COPYING file */

/* The retention executor (see pop3-policy-retention-run.h).

   First-retrieval time: INBOX index extension "pop3-policy-retr", one
   uint32 per message (unix time of the first whole retrieval seen at a
   QUIT, 0 = none) and a header of two uint32s: the smallest non-zero
   record, and the save time of the oldest message held in the quarantine
   (0 = none known), so that a QUIT with nothing due costs two header reads
   and one save-date lookup instead of opening mailboxes or walking one.
   The minimum may be too small (a removed message's time is still in it):
   that costs one walk, which then writes the true minimum. It is never
   too large, except after a lost index, when records and header are lost
   together (removal delayed, never advanced).

   max_age and hold expiry walk from the oldest message and stop at the
   first one not due, like Dovecot's autoexpunge, so their cost grows with
   the messages removed, not with the mailbox. */

#include "lib.h"
#include "array.h"
#include "str.h"
#include "ioloop.h"
#include "file-lock.h"
#include "mail-index.h"
#include "mail-storage-private.h"
#include "mail-namespace.h"
#include "mail-user.h"
#include "pop3-policy-rules.h"
#include "pop3-policy-mailbox.h"
#include "pop3-policy-retention-move.h"
#include "pop3-policy-retention-run.h"

struct retr_hdr {
	uint32_t min_retr;
	uint32_t oldest_held;
};

static const char *const reason_names[POP3_POLICY_REASON_COUNT] = {
	[POP3_POLICY_REASON_DELE] = "dele",
	[POP3_POLICY_REASON_HOLD_EXPIRED] = "hold_expired",
	[POP3_POLICY_REASON_EXPIRE] = "expire",
	[POP3_POLICY_REASON_MAX_AGE] = "max_age",
};

const char *pop3_policy_reason_name(enum pop3_policy_reason reason)
{
	i_assert(reason < POP3_POLICY_REASON_COUNT);
	return reason_names[reason];
}

static uint32_t run_retr_ext_id(struct mailbox *box)
{
	return mail_index_ext_register(box->index, POP3_POLICY_RETR_EXT_NAME,
				       sizeof(struct retr_hdr),
				       sizeof(uint32_t), sizeof(uint32_t));
}

static void run_read_hdr(struct mailbox *box, uint32_t ext_id,
			 struct retr_hdr *hdr_r)
{
	const void *data;
	size_t size;

	i_zero(hdr_r);
	mail_index_get_header_ext(box->view, ext_id, &data, &size);
	/* a new extension has no header yet: data is NULL then */
	if (size > 0)
		memcpy(hdr_r, data, I_MIN(size, sizeof(*hdr_r)));
}

/* Sets the oldest-held time of INBOX's header (0 = nothing held). */
static int run_set_oldest_held(struct mailbox *inbox, uint32_t value,
			       const char **error_r)
{
	struct mailbox_transaction_context *t;
	uint32_t ext_id = run_retr_ext_id(inbox);

	t = mailbox_transaction_begin(inbox, 0, __func__);
	mail_index_update_header_ext(t->itrans, ext_id,
				     offsetof(struct retr_hdr, oldest_held),
				     &value, sizeof(value));
	if (mailbox_transaction_commit(&t) < 0) {
		*error_r = pop3_policy_mailbox_error(inbox);
		return -1;
	}
	return 0;
}

static void
run_emit(struct mail_user *user, const struct pop3_policy_run_settings *set,
	 const struct pop3_policy_moved_msg *r, enum pop3_policy_reason reason,
	 const char *action, bool dry_run)
{
	struct event_passthrough *e =
		event_create_passthrough(set->event)->
		set_name("pop3_policy_removed")->
		add_str("user", user->username)->
		add_int("uid", r->uid)->
		add_str("guid", r->guid)->
		add_str("reason", pop3_policy_reason_name(reason))->
		add_str("action", action)->
		add_str("dry_run", dry_run ? "yes" : "no");

	e_info(e->event(), "%s message uid=%u guid=%s reason=%s action=%s",
	       dry_run ? "Would remove" : "Removed", r->uid, r->guid,
	       pop3_policy_reason_name(reason), action);
}

static int
run_expunge(struct mailbox *box, const ARRAY_TYPE(seq_range) *uids,
	    pool_t pool, bool dry_run,
	    ARRAY_TYPE(pop3_policy_moved_msg) *removed, const char **error_r)
{
	struct mailbox_transaction_context *t;
	struct seq_range_iter iter;
	struct mail *mail;
	struct pop3_policy_moved_msg r;
	const char *guid;
	unsigned int n = 0;
	uint32_t uid;

	t = mailbox_transaction_begin(box, 0, __func__);
	mail = mail_alloc(t, MAIL_FETCH_GUID, NULL);
	seq_range_array_iter_init(&iter, uids);
	while (seq_range_array_iter_nth(&iter, n++, &uid)) {
		if (!mail_set_uid(mail, uid))
			continue;
		if (mail_get_special(mail, MAIL_FETCH_GUID, &guid) < 0)
			guid = "";
		r.uid = uid;
		r.guid = p_strdup(pool, guid);
		array_push_back(removed, &r);
		if (!dry_run)
			mail_expunge(mail);
	}
	mail_free(&mail);
	if (mailbox_transaction_commit(&t) < 0) {
		*error_r = pop3_policy_mailbox_error(box);
		array_clear(removed);
		return -1;
	}
	return 0;
}

/* Removes the UIDs of INBOX for the reason, as the policy says. */
static int
run_remove(struct mail_user *user, const struct pop3_policy_run_settings *set,
	   struct mailbox *inbox, const ARRAY_TYPE(seq_range) *uids,
	   enum pop3_policy_reason reason,
	   struct pop3_policy_run_counts *counts, const char **error_r)
{
	const struct pop3_policy *policy = set->policy;
	bool dry_run = set->dry_run || policy->dry_run;
	enum pop3_policy_action action;
	ARRAY_TYPE(pop3_policy_moved_msg) removed;
	const struct pop3_policy_moved_msg *r;
	struct mailbox *dest;
	const char *action_str, *dest_name = NULL;
	pool_t pool;
	int ret;

	if (array_count(uids) == 0)
		return 0;
	action = pop3_policy_removal_action(policy,
		reason == POP3_POLICY_REASON_DELE);
	switch (action) {
	case POP3_POLICY_ACTION_KEEP:
		return 0;
	case POP3_POLICY_ACTION_EXPUNGE:
		action_str = "expunge";
		break;
	case POP3_POLICY_ACTION_HOLD:
		dest_name = set->quarantine;
		action_str = "hold";
		break;
	case POP3_POLICY_ACTION_MOVE:
		dest_name = policy->move_mailbox;
		action_str = t_strconcat("move:", dest_name, NULL);
		break;
	default:
		i_unreached();
	}

	if (action == POP3_POLICY_ACTION_HOLD && !dry_run) {
		struct retr_hdr hdr;

		/* tell later QUITs that the quarantine holds something,
		   before it does: a kill after the move must not leave the
		   hint unset (one set too early only costs a purge walk,
		   which rewrites it) */
		run_read_hdr(inbox, run_retr_ext_id(inbox), &hdr);
		if (hdr.oldest_held == 0 &&
		    run_set_oldest_held(inbox, ioloop_time, error_r) < 0)
			return -1;
	}

	pool = pool_alloconly_create("pop3-policy removals", 1024);
	p_array_init(&removed, pool, 32);
	if (action == POP3_POLICY_ACTION_EXPUNGE || dry_run) {
		ret = run_expunge(inbox, uids, pool, dry_run, &removed,
				  error_r);
	} else if ((ret = pop3_policy_mailbox_open(user, dest_name, TRUE,
						   &dest, error_r)) > 0) {
		ret = pop3_policy_retention_move(user,
			action == POP3_POLICY_ACTION_HOLD ?
			POP3_POLICY_MOVE_HOLD : POP3_POLICY_MOVE_TARGET,
			inbox, dest, uids, pool, &removed, error_r);
		mailbox_free(&dest);
	}
	if (ret >= 0) {
		array_foreach(&removed, r)
			run_emit(user, set, r, reason, action_str, dry_run);
		counts->removed[reason] += array_count(&removed);
		ret = 0;
	}
	pool_unref(&pool);
	if (ret == 0 && mailbox_sync(inbox, 0) < 0) {
		*error_r = pop3_policy_mailbox_error(inbox);
		return -1;
	}
	return ret;
}

/* The parent of the retention log lines and events of a run */
static struct event *
run_event(struct mail_user *user, const struct pop3_policy_run_settings *set)
{
	return set->event != NULL ? set->event : user->event;
}

static int
run_lock(struct mail_user *user, const struct pop3_policy_run_settings *set,
	 struct file_lock **lock_r, const char **error_r)
{
	const char *error;
	int ret;

	ret = mail_user_lock_file_create(user, POP3_POLICY_LOCK_FNAME,
					 set->lock_secs, lock_r, &error);
	if (ret < 0)
		*error_r = t_strdup_printf("retention lock: %s", error);
	if (ret <= 0)
		return ret;
	/* every run first finishes what a killed run left (see
	   pop3-policy-retention-move.c); without a journal this is one
	   stat() */
	if (pop3_policy_retention_move_repair(user, run_event(user, set),
					      set->quarantine, &error) < 0) {
		*error_r = t_strdup_printf("repairing an interrupted move: "
					   "%s", error);
		file_lock_free(lock_r);
		return -1;
	}
	return 1;
}

int pop3_policy_run_repair(struct mail_user *user,
			   const struct pop3_policy_run_settings *set,
			   const char **error_r)
{
	struct file_lock *lock;
	int ret;

	if ((ret = pop3_policy_retention_move_pending(user, error_r)) <= 0)
		return ret;
	/* run_lock() repairs; a run holding the lock repairs itself */
	if ((ret = run_lock(user, set, &lock, error_r)) <= 0)
		return ret;
	file_lock_free(&lock);
	return 1;
}

int pop3_policy_run_dele(struct mail_user *user,
			 const struct pop3_policy_run_settings *set,
			 const ARRAY_TYPE(seq_range) *uids,
			 struct pop3_policy_run_counts *counts,
			 const char **error_r)
{
	struct file_lock *lock;
	struct mailbox *inbox;
	int ret;

	if (array_count(uids) == 0)
		return 0;
	if ((ret = run_lock(user, set, &lock, error_r)) <= 0) {
		if (ret == 0)
			*error_r = "retention lock is held by another process";
		return -1;
	}
	if (pop3_policy_mailbox_open(user, "INBOX", FALSE, &inbox,
				     error_r) <= 0) {
		file_lock_free(&lock);
		return -1;
	}
	ret = run_remove(user, set, inbox, uids, POP3_POLICY_REASON_DELE,
			 counts, error_r);
	mailbox_free(&inbox);
	file_lock_free(&lock);
	return ret;
}

int pop3_policy_run_record_retrievals(struct mailbox *inbox,
				      const ARRAY_TYPE(seq_range) *uids,
				      const char **error_r)
{
	struct mailbox_transaction_context *t;
	struct seq_range_iter iter;
	struct retr_hdr hdr;
	const void *data;
	uint32_t ext_id, uid, seq, seq2, now = ioloop_time, min = 0;
	unsigned int n = 0;
	bool expunged, changed = FALSE;

	if (array_count(uids) == 0)
		return 0;
	ext_id = run_retr_ext_id(inbox);
	run_read_hdr(inbox, ext_id, &hdr);
	min = hdr.min_retr;
	t = mailbox_transaction_begin(inbox, 0, __func__);
	seq_range_array_iter_init(&iter, uids);
	while (seq_range_array_iter_nth(&iter, n++, &uid)) {
		mailbox_get_seq_range(inbox, uid, uid, &seq, &seq2);
		if (seq == 0)
			continue;
		mail_index_lookup_ext(inbox->view, seq, ext_id, &data,
				      &expunged);
		if (expunged || (data != NULL && *(const uint32_t *)data != 0))
			continue;
		mail_index_update_ext(t->itrans, seq, ext_id, &now, NULL);
		changed = TRUE;
	}
	if (!changed) {
		/* every one was recorded before: nothing to write */
		mailbox_transaction_rollback(&t);
		return 0;
	}
	if (min == 0 || now < min) {
		mail_index_update_header_ext(t->itrans, ext_id,
			offsetof(struct retr_hdr, min_retr), &now, sizeof(now));
	}
	if (mailbox_transaction_commit(&t) < 0) {
		*error_r = pop3_policy_mailbox_error(inbox);
		return -1;
	}
	return 0;
}

/* Collects the INBOX messages saved at least max_age ago. */
static int
run_collect_max_age(struct mailbox *inbox, unsigned int max_age,
		    ARRAY_TYPE(seq_range) *uids, const char **error_r)
{
	const struct mail_index_header *hdr;
	struct mailbox_transaction_context *t;
	struct mail *mail;
	time_t save_date;
	uint32_t seq;
	int ret = 0;

	hdr = mail_index_get_header(inbox->view);
	t = mailbox_transaction_begin(inbox, 0, __func__);
	mail = mail_alloc(t, MAIL_FETCH_SAVE_DATE, NULL);
	for (seq = 1; seq <= hdr->messages_count; seq++) {
		mail_set_seq(mail, seq);
		if (mail_get_save_date(mail, &save_date) < 0) {
			if (mail->expunged)
				continue;
			*error_r = pop3_policy_mailbox_error(inbox);
			ret = -1;
			break;
		}
		if (!pop3_policy_is_due(save_date, max_age, ioloop_time))
			break;
		seq_range_array_add(uids, mail->uid);
	}
	mail_free(&mail);
	(void)mailbox_transaction_commit(&t);
	return ret;
}

/* Collects the INBOX messages retrieved at least expire ago, and rewrites
   the header minimum for the ones left. */
static int
run_collect_expire(struct mailbox *inbox, unsigned int expire,
		   const ARRAY_TYPE(seq_range) *excluded,
		   ARRAY_TYPE(seq_range) *uids, const char **error_r)
{
	const struct mail_index_header *hdr;
	struct mailbox_transaction_context *t;
	struct retr_hdr rhdr;
	const void *data;
	uint32_t ext_id, seq, uid, retr, new_min = 0;
	bool expunged;

	ext_id = run_retr_ext_id(inbox);
	run_read_hdr(inbox, ext_id, &rhdr);
	if (!pop3_policy_is_due(rhdr.min_retr, expire, ioloop_time)) {
		/* nothing is due (or nothing recorded) */
		return 0;
	}
	hdr = mail_index_get_header(inbox->view);
	for (seq = 1; seq <= hdr->messages_count; seq++) {
		mail_index_lookup_ext(inbox->view, seq, ext_id, &data,
				      &expunged);
		if (expunged || data == NULL)
			continue;
		memcpy(&retr, data, sizeof(retr));
		if (retr == 0)
			continue;
		mail_index_lookup_uid(inbox->view, seq, &uid);
		if (pop3_policy_is_due(retr, expire, ioloop_time)) {
			if (!seq_range_exists(excluded, uid))
				seq_range_array_add(uids, uid);
		} else if (new_min == 0 || retr < new_min) {
			new_min = retr;
		}
	}
	t = mailbox_transaction_begin(inbox, 0, __func__);
	mail_index_update_header_ext(t->itrans, ext_id,
				     offsetof(struct retr_hdr, min_retr),
				     &new_min, sizeof(new_min));
	if (mailbox_transaction_commit(&t) < 0) {
		*error_r = pop3_policy_mailbox_error(inbox);
		return -1;
	}
	return 0;
}

/* Purges quarantined messages held longer than hold. */
/* Returns the save date of the quarantine's oldest message (0 if it is
   empty), for INBOX's oldest-held header. */
static int run_oldest_save_date(struct mailbox *box, uint32_t *date_r,
				const char **error_r)
{
	struct mailbox_transaction_context *t;
	struct mail *mail;
	time_t save_date;
	int ret = 0;

	*date_r = 0;
	if (mailbox_sync(box, 0) < 0) {
		*error_r = pop3_policy_mailbox_error(box);
		return -1;
	}
	if (mail_index_get_header(box->view)->messages_count == 0)
		return 0;
	t = mailbox_transaction_begin(box, 0, __func__);
	mail = mail_alloc(t, MAIL_FETCH_SAVE_DATE, NULL);
	mail_set_seq(mail, 1);
	if (mail_get_save_date(mail, &save_date) < 0) {
		*error_r = pop3_policy_mailbox_error(box);
		ret = -1;
	} else {
		/* never 0 while something is held */
		*date_r = save_date <= 0 ? 1 : (uint32_t)save_date;
	}
	mail_free(&mail);
	(void)mailbox_transaction_commit(&t);
	return ret;
}

static int
run_purge_quarantine(struct mail_user *user,
		     const struct pop3_policy_run_settings *set,
		     struct mailbox *inbox,
		     struct pop3_policy_run_counts *counts,
		     const char **error_r)
{
	const struct pop3_policy *policy = set->policy;
	bool dry_run = set->dry_run || policy->dry_run;
	ARRAY_TYPE(seq_range) uids;
	ARRAY_TYPE(pop3_policy_moved_msg) removed;
	const struct pop3_policy_moved_msg *r;
	struct mailbox *box;
	int ret;

	if (!pop3_policy_purges_quarantine(policy))
		return 0;
	if ((ret = pop3_policy_mailbox_open(user, set->quarantine, FALSE,
					    &box, error_r)) <= 0)
		return ret;
	t_array_init(&uids, 32);
	ret = run_collect_max_age(box, policy->hold_secs, &uids, error_r);
	if (ret == 0 && array_count(&uids) > 0) {
		pool_t pool = pool_alloconly_create("pop3-policy purge", 1024);

		p_array_init(&removed, pool, 32);
		ret = run_expunge(box, &uids, pool, dry_run, &removed, error_r);
		if (ret == 0) {
			array_foreach(&removed, r) {
				run_emit(user, set, r,
					 POP3_POLICY_REASON_HOLD_EXPIRED,
					 "expunge", dry_run);
			}
			counts->removed[POP3_POLICY_REASON_HOLD_EXPIRED] +=
				array_count(&removed);
		}
		pool_unref(&pool);
	}
	if (ret == 0 && inbox != NULL) {
		struct retr_hdr hdr;
		uint32_t oldest;

		run_read_hdr(inbox, run_retr_ext_id(inbox), &hdr);
		ret = run_oldest_save_date(box, &oldest, error_r);
		if (ret == 0 && oldest != hdr.oldest_held)
			ret = run_set_oldest_held(inbox, oldest, error_r);
	}
	mailbox_free(&box);
	return ret;
}

int pop3_policy_run_owed(struct mail_user *user,
			 const struct pop3_policy_run_settings *set,
			 struct pop3_policy_run_counts *counts,
			 const char **error_r)
{
	const struct pop3_policy *policy = set->policy;
	ARRAY_TYPE(seq_range) max_age_uids, expire_uids;
	struct file_lock *lock;
	struct mailbox *inbox;
	int ret;

	if ((ret = run_lock(user, set, &lock, error_r)) <= 0)
		return ret;
	ret = pop3_policy_mailbox_open(user, "INBOX", FALSE, &inbox, error_r);
	if (ret <= 0) {
		/* no INBOX: the quarantine may still owe purges */
		if (ret == 0) {
			ret = run_purge_quarantine(user, set, NULL, counts,
						   error_r);
		}
		file_lock_free(&lock);
		return ret < 0 ? -1 : 1;
	}
	t_array_init(&max_age_uids, 32);
	t_array_init(&expire_uids, 32);
	if (!policy->legal_hold && policy->max_age_secs != POP3_POLICY_NEVER) {
		ret = run_collect_max_age(inbox, policy->max_age_secs,
					  &max_age_uids, error_r);
	}
	if (ret >= 0 && !policy->legal_hold &&
	    policy->expire_secs != POP3_POLICY_NEVER) {
		ret = run_collect_expire(inbox, policy->expire_secs,
					 &max_age_uids, &expire_uids, error_r);
	}
	if (ret >= 0) {
		ret = run_remove(user, set, inbox, &max_age_uids,
				 POP3_POLICY_REASON_MAX_AGE, counts, error_r);
	}
	if (ret >= 0) {
		ret = run_remove(user, set, inbox, &expire_uids,
				 POP3_POLICY_REASON_EXPIRE, counts, error_r);
	}
	if (ret >= 0) {
		ret = run_purge_quarantine(user, set, inbox, counts,
					   error_r);
	}
	mailbox_free(&inbox);
	file_lock_free(&lock);
	return ret < 0 ? -1 : 1;
}

bool pop3_policy_run_owed_possible(struct mailbox *inbox,
				   const struct pop3_policy *policy)
{
	struct mailbox_transaction_context *t;
	struct mail *mail;
	struct retr_hdr hdr;
	time_t save_date;
	bool due = FALSE;

	if (policy->legal_hold)
		return FALSE;
	run_read_hdr(inbox, run_retr_ext_id(inbox), &hdr);
	if (pop3_policy_is_due(hdr.min_retr, policy->expire_secs,
			       ioloop_time) ||
	    (pop3_policy_purges_quarantine(policy) &&
	     pop3_policy_is_due(hdr.oldest_held, policy->hold_secs,
				ioloop_time)))
		return TRUE;
	if (policy->max_age_secs == POP3_POLICY_NEVER ||
	    mail_index_get_header(inbox->view)->messages_count == 0)
		return FALSE;
	t = mailbox_transaction_begin(inbox, 0, __func__);
	mail = mail_alloc(t, MAIL_FETCH_SAVE_DATE, NULL);
	mail_set_seq(mail, 1);
	/* a failed lookup counts as possibly due: the full run decides */
	if (mail_get_save_date(mail, &save_date) < 0 ||
	    pop3_policy_is_due(save_date, policy->max_age_secs, ioloop_time))
		due = TRUE;
	mail_free(&mail);
	/* committed, not rolled back: the commit keeps the save date in
	   Dovecot's cache, and without it every QUIT on a maildir re-reads
	   dovecot-uidlist to find it again (600 M instructions per session
	   on 100,000 messages; make -C bench callgrind-bench) */
	(void)mailbox_transaction_commit(&t);
	return due;
}

int pop3_policy_run_restore(struct mail_user *user, const char *quarantine,
			    const ARRAY_TYPE(seq_range) *uids,
			    const char **error_r)
{
	struct pop3_policy_run_settings set;
	ARRAY_TYPE(seq_range) all_uids;
	ARRAY_TYPE(pop3_policy_moved_msg) restored;
	const struct mail_index_header *hdr;
	struct mailbox *qbox, *inbox;
	struct file_lock *lock;
	struct seq_range_iter iter;
	uint32_t uid, seq, seq2;
	unsigned int n = 0;
	pool_t pool;
	int ret;

	i_zero(&set);
	set.quarantine = quarantine;
	set.lock_secs = 30;
	set.event = event_create(user->event);
	event_set_append_log_prefix(set.event, "pop3-policy: ");
	ret = run_lock(user, &set, &lock, error_r);
	event_unref(&set.event);
	if (ret <= 0) {
		if (ret == 0)
			*error_r = "retention lock is held by another process";
		return -1;
	}
	if ((ret = pop3_policy_mailbox_open(user, quarantine, FALSE, &qbox,
					    error_r)) <= 0) {
		file_lock_free(&lock);
		if (ret < 0)
			return -1;
		if (uids == NULL)
			return 0;
		*error_r = t_strdup_printf("mailbox %s does not exist",
					   quarantine);
		return -1;
	}
	t_array_init(&all_uids, 8);
	if (uids == NULL) {
		hdr = mail_index_get_header(qbox->view);
		if (hdr->messages_count > 0) {
			mail_index_lookup_uid(qbox->view, hdr->messages_count,
					      &uid);
			seq_range_array_add_range(&all_uids, 1, uid);
		}
		uids = &all_uids;
	} else {
		seq_range_array_iter_init(&iter, uids);
		while (seq_range_array_iter_nth(&iter, n++, &uid)) {
			mailbox_get_seq_range(qbox, uid, uid, &seq, &seq2);
			if (seq == 0) {
				*error_r = t_strdup_printf(
					"UID %u is not in %s", uid,
					quarantine);
				mailbox_free(&qbox);
				file_lock_free(&lock);
				return -1;
			}
		}
	}
	if (pop3_policy_mailbox_open(user, "INBOX", FALSE, &inbox,
				     error_r) <= 0) {
		mailbox_free(&qbox);
		file_lock_free(&lock);
		return -1;
	}
	pool = pool_alloconly_create("pop3-policy restore", 1024);
	p_array_init(&restored, pool, 32);
	/* the quarantine copy carries the original UIDL as its POP3 UIDL,
	   and run_served_uidl() returns it, so the INBOX copy gets it too */
	ret = pop3_policy_retention_move(user, POP3_POLICY_MOVE_RESTORE,
					 qbox, inbox, uids, pool, &restored,
					 error_r);
	if (ret == 0)
		ret = array_count(&restored);
	pool_unref(&pool);
	mailbox_free(&inbox);
	mailbox_free(&qbox);
	file_lock_free(&lock);
	return ret;
}
