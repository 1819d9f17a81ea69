/* Copyright (c) 2026 pop3-policy authors, see the included COPYING file */

/* The UIDL guard in a POP3 session (step 3 of
   pop3-policy-uidl-session.c): compares today's UIDLs of a sample of the
   INBOX's messages with the previous session's sketch, refuses the
   session when more than pop3_policy_uidl_guard percent of them changed,
   and otherwise stores today's sketch in the INBOX's guard file. The
   sketch and its decision are pure (pop3-policy-uidl-guard.c); this file
   picks the messages, finds their identities and UIDLs on the storage and
   logs. */

#include "lib.h"
#include "array.h"
#include "mail-storage-private.h"
#include "mail-index.h"
#include "pop3-policy-uidl-guard.h"
#include "pop3-policy-uidl-guard-file.h"
#include "pop3-policy-uidl-mailbox.h"
#include "pop3-policy-plugin.h"
#include "pop3-policy-uidl-session.h"
#include "pop3-policy-uidl-guard-session.h"

/* Returns the hash of the message's identity for the guard: its GUID
   (fetched now if the scan did not need it), else its uid: key. */
static int
uidl_msg_identity_hash(struct mail *mail, const struct pop3_policy_uidl_msg *msg,
		       uint64_t *hash_r, const char **error_r)
{
	const char *guid = msg->guid;

	if (guid == NULL) {
		if (!mail_set_uid(mail, msg->uid)) {
			*error_r = t_strdup_printf("UID %u: expunged",
						   msg->uid);
			return -1;
		}
		if (mail_get_special(mail, MAIL_FETCH_GUID, &guid) < 0) {
			*error_r = mailbox_get_last_internal_error(mail->box,
								   NULL);
			return -1;
		}
	}
	*hash_r = pop3_policy_uidl_guard_hash(guid[0] != '\0' ? guid :
					      msg->keys.uid_key);
	return 0;
}

/* Reads the previous session's sketch. Returns 1 with it, 0 if there
   is none, -1 after failing the session. */
static int
uidl_guard_previous(struct mailbox *box, struct pop3_policy_user *puser,
		    const struct pop3_policy_uidl_guard_session *guard,
		    struct pop3_policy_uidl_guard_sketch *previous)
{
	struct mail_user *user = box->storage->user;
	const char *error;
	int ret;

	t_array_init(&previous->samples, POP3_POLICY_UIDL_GUARD_SAMPLES);
	previous->uidvalidity = 0;
	ret = pop3_policy_uidl_guard_file_read(guard->path, previous,
					       &error);
	if (ret < 0) {
		e_error(puser->event, "UIDL guard: user %s: %s (if the file "
			"is damaged, doveadm pop3-uidl accept -u %s starts a "
			"new one)", user->username, error, user->username);
		return pop3_policy_uidl_session_fail(box,
			"UIDL guard state is unreadable");
	}
	return ret;
}

/* Checks today's UIDLs (in builder) against the previous sketch, and
   stores today's sketch if the session may go on. */
static int
uidl_guard_apply(struct mailbox *box, struct pop3_policy_user *puser,
		 const struct pop3_policy_uidl_guard_session *guard,
		 struct pop3_policy_uidl_guard_builder *builder,
		 const struct pop3_policy_uidl_guard_sketch *previous,
		 bool have_previous)
{
	struct mail_user *user = box->storage->user;
	struct pop3_policy_uidl_guard_result result;
	struct pop3_policy_uidl_guard_sketch today;
	const char *error;

	pop3_policy_uidl_guard_check(builder, previous, guard->percent,
				     &result);
	if (result.tripped) {
		/* Dovecot 2.3 has no log level above error: the line says
		   CRITICAL and carries a named event for alerting */
		e_error(event_create_passthrough(puser->event)->
			set_name("pop3_policy_uidl_guard_tripped")->
			add_int("changed", result.changed)->
			add_int("sampled", result.present)->
			add_int("guard_percent", guard->percent)->event(),
			"CRITICAL: UIDL guard: session refused: the "
			"UIDLs of %u of %u sampled messages changed since "
			"the last session (more than %u%%); clients would "
			"download them all again. If the change is wanted, "
			"run: doveadm pop3-uidl accept -u %s",
			result.changed, result.present,
			guard->percent, user->username);
		return pop3_policy_uidl_session_fail(box,
			"UIDLs changed unexpectedly, "
			"the mailbox is locked for POP3 until an "
			"administrator checks it");
	}
	t_array_init(&today.samples, POP3_POLICY_UIDL_GUARD_SAMPLES);
	pop3_policy_uidl_guard_builder_sketch(builder, &today);
	if (!have_previous ||
	    !pop3_policy_uidl_guard_sketch_equals(&today, previous)) {
		if (pop3_policy_uidl_guard_file_write(guard->path,
				&guard->perm, &today, &error) < 0) {
			/* the next session compares with an older sketch;
			   refusing this one would not help the client */
			e_error(puser->event, "UIDL guard: %s", error);
		}
	}
	e_debug(puser->event, "UIDL guard: %u of %u sampled messages changed",
		result.changed, result.present);
	return 0;
}

/* Ends a guard pass and frees the builder: fails the session if working
   out today's UIDLs failed (error != NULL), else applies the guard. */
static int
uidl_guard_finish(struct mailbox *box, struct pop3_policy_user *puser,
		  const struct pop3_policy_uidl_guard_session *guard,
		  struct pop3_policy_uidl_guard_builder **builder,
		  const struct pop3_policy_uidl_guard_sketch *previous,
		  bool have_previous, const char *error)
{
	int ret;

	if (error != NULL) {
		e_error(puser->event, "UIDL guard: %s", error);
		ret = pop3_policy_uidl_session_fail(box,
			"UIDLs could not be worked out");
	} else {
		ret = uidl_guard_apply(box, puser, guard, *builder, previous,
				       have_previous);
	}
	pop3_policy_uidl_guard_builder_deinit(builder);
	return ret;
}

/* Keeps the POP3_POLICY_UIDL_GUARD_SAMPLES smallest uid keys seen, sorted
   (an insertion is rare once it is full: about k*ln(n/k) of n). */
struct uidl_guard_best {
	uint64_t keys[POP3_POLICY_UIDL_GUARD_SAMPLES];
	uint32_t uids[POP3_POLICY_UIDL_GUARD_SAMPLES];
	unsigned int count;
};

static void uidl_guard_best_add(struct uidl_guard_best *best, uint32_t uid)
{
	uint64_t key = pop3_policy_uidl_guard_uid_key(uid);
	unsigned int pos;

	if (best->count == N_ELEMENTS(best->keys) &&
	    key >= best->keys[best->count - 1])
		return;
	pos = best->count == N_ELEMENTS(best->keys) ?
		best->count - 1 : best->count++;
	while (pos > 0 && best->keys[pos - 1] > key) {
		best->keys[pos] = best->keys[pos - 1];
		best->uids[pos] = best->uids[pos - 1];
		pos--;
	}
	best->keys[pos] = key;
	best->uids[pos] = uid;
}

static int uint32_cmp(const uint32_t *u1, const uint32_t *u2)
{
	return *u1 < *u2 ? -1 : (*u1 > *u2 ? 1 : 0);
}

static int uint64_cmp(const uint64_t *u1, const uint64_t *u2)
{
	return *u1 < *u2 ? -1 : (*u1 > *u2 ? 1 : 0);
}

static int uidl_sample_cmp(const struct pop3_policy_uidl_guard_sample *s1,
			   const struct pop3_policy_uidl_guard_sample *s2)
{
	return uint32_cmp(&s1->uid, &s2->uid);
}

static int uidl_sample_uid_cmp(const uint32_t *uid,
			       const struct pop3_policy_uidl_guard_sample *s)
{
	return uint32_cmp(uid, &s->uid);
}

/* Indexes the previous sketch's samples: sorted by uid into by_uid, and
   their GUID hashes sorted into guids (to find them after a new
   UIDVALIDITY). Within one UIDVALIDITY a UID names the same message, so a
   sample's GUID hash is taken from by_uid instead of asking the storage:
   on maildir the GUID is the file name, and asking for one makes the
   session read all of dovecot-uidlist (some 70 ms for 100,000 messages),
   which a POP3 session without stored UIDLs does not otherwise do. */
static void
uidl_guard_prev_index(const struct pop3_policy_uidl_guard_sketch *previous,
		      ARRAY_TYPE(pop3_policy_uidl_guard_sample) *by_uid,
		      ARRAY_TYPE(uint64_t) *guids)
{
	const struct pop3_policy_uidl_guard_sample *prev;

	t_array_init(by_uid, POP3_POLICY_UIDL_GUARD_SAMPLES);
	array_append_array(by_uid, &previous->samples);
	array_sort(by_uid, uidl_sample_cmp);
	t_array_init(guids, POP3_POLICY_UIDL_GUARD_SAMPLES);
	array_foreach(&previous->samples, prev)
		array_push_back(guids, &prev->guid_hash);
	array_sort(guids, uint64_cmp);
}

/* The guard when the map was worked out for every message anyway: the
   builder gets the messages the sketches need (see
   pop3_policy_uidl_guard_builder_init()). */
int pop3_policy_uidl_guard_session_mapped(struct mailbox *box,
		struct pop3_policy_user *puser,
		const struct pop3_policy_uidl_guard_session *guard,
		const ARRAY_TYPE(pop3_policy_uidl_msg) *msgs)
{
	struct pop3_policy_uidl_guard_builder *builder;
	struct pop3_policy_uidl_guard_sketch previous;
	const struct pop3_policy_uidl_guard_sample *prev;
	const struct pop3_policy_uidl_msg *msg;
	struct uidl_guard_best *best;
	ARRAY_TYPE(pop3_policy_uidl_guard_sample) prev_by_uid;
	ARRAY_TYPE(uint64_t) prev_guids;
	struct mailbox_status status;
	struct mailbox_transaction_context *trans;
	struct mail *mail;
	const char *error = NULL;
	uint64_t hash;
	bool same_uidvalidity, want;
	int ret;

	if ((ret = uidl_guard_previous(box, puser, guard, &previous)) < 0)
		return -1;
	mailbox_get_open_status(box, STATUS_UIDVALIDITY, &status);
	same_uidvalidity = ret > 0 &&
		previous.uidvalidity == status.uidvalidity;
	uidl_guard_prev_index(&previous, &prev_by_uid, &prev_guids);

	best = t_new(struct uidl_guard_best, 1);
	array_foreach(msgs, msg)
		uidl_guard_best_add(best, msg->uid);
	builder = pop3_policy_uidl_guard_builder_init(status.uidvalidity);
	trans = mailbox_transaction_begin(box, 0, __func__);
	/* no wanted fields: a GUID is asked for only when needed */
	mail = mail_alloc(trans, 0, NULL);
	array_foreach(msgs, msg) {
		want = best->count < N_ELEMENTS(best->keys) ||
			pop3_policy_uidl_guard_uid_key(msg->uid) <=
			best->keys[best->count - 1];
		prev = !same_uidvalidity ? NULL :
			array_bsearch(&prev_by_uid, &msg->uid,
				      uidl_sample_uid_cmp);
		if (!want && same_uidvalidity) {
			want = prev != NULL;
		} else if (!want && array_count(&prev_guids) == 0) {
			/* nothing to find */
		} else if (!want) {
			/* a new UIDVALIDITY: the previous samples are
			   found by GUID */
			if (uidl_msg_identity_hash(mail, msg, &hash,
						   &error) < 0)
				break;
			want = array_bsearch(&prev_guids, &hash,
					     uint64_cmp) != NULL;
		}
		if (!want)
			continue;
		if (prev != NULL)
			hash = prev->guid_hash;
		else if (uidl_msg_identity_hash(mail, msg, &hash, &error) < 0)
			break;
		pop3_policy_uidl_guard_builder_add(builder, msg->uid, hash,
						   msg->assign.served);
	}
	mail_free(&mail);
	(void)mailbox_transaction_commit(&trans);
	return uidl_guard_finish(box, puser, guard, &builder, &previous,
				 ret > 0, error);
}

/* Adds the message with its native UIDL; its GUID hash is the previous
   sample's (prev) when there is one, else asked for. */
static int
uidl_guard_add_msg(struct mail *mail, uint32_t uidvalidity,
		   const struct pop3_policy_uidl_guard_sample *prev,
		   struct pop3_policy_uidl_guard_builder *builder,
		   const char **error_r)
{
	const char *guid, *uidl;
	uint64_t hash;

	if (prev != NULL)
		hash = prev->guid_hash;
	else {
		if (mail_get_special(mail, MAIL_FETCH_GUID, &guid) < 0) {
			*error_r = mailbox_get_last_internal_error(mail->box,
								   NULL);
			return -1;
		}
		if (*guid == '\0')
			guid = pop3_policy_uidl_key_uid(uidvalidity, mail->uid);
		hash = pop3_policy_uidl_guard_hash(guid);
	}
	if (pop3_policy_uidl_mailbox_native(mail, uidvalidity, &uidl,
					    error_r) < 0)
		return -1;
	pop3_policy_uidl_guard_builder_add(builder, mail->uid, hash, uidl);
	return 0;
}

/* The guard without a map: Dovecot serves its own UIDLs, so only the
   sampled messages have theirs worked out. Within one UIDVALIDITY every
   other message costs a look at its UID in the index; after a new one,
   also its GUID (to find the previous samples). */
int pop3_policy_uidl_guard_session_native(struct mailbox *box,
		struct pop3_policy_user *puser,
		const struct pop3_policy_uidl_guard_session *guard)
{
	struct pop3_policy_uidl_guard_builder *builder;
	struct pop3_policy_uidl_guard_sketch previous;
	struct uidl_guard_best *best;
	ARRAY_TYPE(pop3_policy_uidl_guard_sample) prev_by_uid;
	ARRAY_TYPE(uint64_t) prev_guids;
	ARRAY(uint32_t) added_uids;
	struct mailbox_status status;
	struct mailbox_transaction_context *trans;
	struct mail *mail;
	const char *guid, *error = NULL;
	const struct pop3_policy_uidl_guard_sample *prev_list, *known;
	unsigned int i, prev_idx = 0, prev_count;
	uint32_t seq, uid;
	uint64_t hash;
	bool same_uidvalidity;
	int ret;

	if ((ret = uidl_guard_previous(box, puser, guard, &previous)) < 0)
		return -1;
	mailbox_get_open_status(box, STATUS_UIDVALIDITY | STATUS_MESSAGES,
				&status);
	same_uidvalidity = ret > 0 &&
		previous.uidvalidity == status.uidvalidity;
	uidl_guard_prev_index(&previous, &prev_by_uid, &prev_guids);
	prev_list = array_get(&prev_by_uid, &prev_count);

	best = t_new(struct uidl_guard_best, 1);
	/* ascending, as the loop below adds them */
	t_array_init(&added_uids, prev_count + 1);
	builder = pop3_policy_uidl_guard_builder_init(status.uidvalidity);
	trans = mailbox_transaction_begin(box, 0, __func__);
	/* no wanted fields: a GUID is asked for only when needed */
	mail = mail_alloc(trans, 0, NULL);
	for (seq = 1; seq <= status.messages && error == NULL; seq++) {
		mail_index_lookup_uid(box->view, seq, &uid);
		uidl_guard_best_add(best, uid);
		if (same_uidvalidity) {
			/* UIDs ascend with the sequence: the previous
			   samples (sorted) are walked along */
			while (prev_idx < prev_count &&
			       prev_list[prev_idx].uid < uid)
				prev_idx++;
			if (prev_idx == prev_count ||
			    prev_list[prev_idx].uid != uid)
				continue;
			known = &prev_list[prev_idx];
		} else if (array_count(&prev_guids) > 0) {
			known = NULL;
			mail_set_seq(mail, seq);
			if (mail_get_special(mail, MAIL_FETCH_GUID,
					     &guid) < 0) {
				error = mailbox_get_last_internal_error(box,
									NULL);
				break;
			}
			hash = pop3_policy_uidl_guard_hash(*guid != '\0' ?
				guid : pop3_policy_uidl_key_uid(
					status.uidvalidity, uid));
			if (array_bsearch(&prev_guids, &hash,
					  uint64_cmp) == NULL)
				continue;
		} else {
			continue;
		}
		/* a message of the previous sketch */
		mail_set_seq(mail, seq);
		if (uidl_guard_add_msg(mail, status.uidvalidity, known,
				       builder, &error) < 0)
			break;
		array_push_back(&added_uids, &uid);
	}
	for (i = 0; i < best->count && error == NULL; i++) {
		/* mostly the previous samples again: their UIDLs are
		   already worked out */
		if (array_bsearch(&added_uids, &best->uids[i],
				  uint32_cmp) != NULL ||
		    !mail_set_uid(mail, best->uids[i]))
			continue;
		known = !same_uidvalidity ? NULL :
			array_bsearch(&prev_by_uid, &best->uids[i],
				      uidl_sample_uid_cmp);
		(void)uidl_guard_add_msg(mail, status.uidvalidity, known,
					 builder, &error);
	}
	mail_free(&mail);
	(void)mailbox_transaction_commit(&trans);
	return uidl_guard_finish(box, puser, guard, &builder, &previous,
				 ret > 0, error);
}
