/* Copyright (c) 2026 pop3-policy authors, see the included COPYING file */

/* UIDL remapping and the UIDL guard in the POP3 session.

   Only the INBOX that the pop3 process opens (MAILBOX_FLAG_POP3_SESSION,
   service "pop3") is touched. After its first successful sync (pop3 syncs
   it before reading the message list), the session:
   1. reads the mailbox's UIDL map file once, if there is one
      (pop3-policy-uidl-map-file.c; a map persisted under today's
      UIDVALIDITY is served by the storage itself, and only the file's
      header is read);
   2. works out every message's UIDL (pop3-policy-uidl-mailbox.c): mapped
      where the map matches and the UIDL stays unique, native otherwise;
      each collision is logged;
   3. applies the guard: if today's UIDLs differ from the last session's for
      more than pop3_policy_uidl_guard percent of the messages that are
      still there, the sync fails with a temporary error, which pop3 sends
      as "-ERR [SYS/TEMP] ..." and ends the session, and a critical line is
      logged; otherwise today's sketch is written to the mailbox's guard
      file if it changed (pop3-policy-uidl-guard-file.c);
   4. with pop3_policy_uidl_persist=yes on maildir, writes the served mapped
      UIDLs into dovecot-uidlist (mail_update_pop3_uidl), so that later
      sessions get them from the storage without the map.
   Both files are the mailbox's own state (pop3-policy-uidl-state.c): the
   session never reads the store for them. A map or guard file that cannot
   be read fails the session the same way: serving native UIDLs instead
   would make every client download everything again. */

#include "lib.h"
#include "array.h"
#include "time-util.h"
#include "hash.h"
#include "mail-user.h"
#include "mail-storage-private.h"
#include "mail-search-build.h"
#include "mail-index.h"
#include "mail-storage-hooks.h"
#include "pop3-policy-uidl-map-file.h"
#include "pop3-policy-uidl-guard-file.h"
#include "pop3-policy-uidl-mailbox.h"
#include "pop3-policy-uidl-state.h"
#include "pop3-policy-plugin.h"
#include "pop3-policy-uidl-session.h"

#define UIDL_BOX_CONTEXT(obj) \
	MODULE_CONTEXT(obj, pop3_policy_uidl_box_module)
#define UIDL_MAIL_CONTEXT(obj) \
	MODULE_CONTEXT_REQUIRE(obj, pop3_policy_uidl_mail_module)

struct uidl_served {
	uint32_t uid;
	unsigned int order;
	/* the mapped UIDL served (in the map), or NULL */
	const char *uidl;
};

struct uidl_box {
	union mailbox_module_context module_ctx;
	pool_t pool;
	/* every message of the session's first sync, sorted by uid: the
	   mapped UIDL it is served and its POP3 order (0: none) */
	ARRAY(struct uidl_served) served;
	/* the map the served UIDLs point into */
	struct pop3_policy_uidl_map *map;
	/* the INBOX's map and guard files (NULL: its storage has none) */
	const char *map_path, *guard_path;
	struct pop3_policy_state_file_perm perm;
	unsigned int guard_percent;
	/* pop3_policy_uidl_guard is malformed: the session fails */
	bool bad_setting:1;
	bool persist:1;
	bool ready:1;
	bool busy:1;
};

static MODULE_CONTEXT_DEFINE_INIT(pop3_policy_uidl_box_module,
				  &mail_storage_module_register);
static MODULE_CONTEXT_DEFINE_INIT(pop3_policy_uidl_mail_module,
				  &mail_module_register);

static int uidl_fail(struct mailbox *box, const char *error)
{
	mail_storage_set_error(box->storage, MAIL_ERROR_TEMP, error);
	return -1;
}

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
		    struct uidl_box *ubox,
		    struct pop3_policy_uidl_guard_sketch *previous)
{
	struct mail_user *user = box->storage->user;
	const char *error;
	int ret;

	t_array_init(&previous->samples, POP3_POLICY_UIDL_GUARD_SAMPLES);
	previous->uidvalidity = 0;
	ret = pop3_policy_uidl_guard_file_read(ubox->guard_path, previous,
					       &error);
	if (ret < 0) {
		e_error(puser->event, "UIDL guard: user %s: %s (if the file "
			"is damaged, doveadm pop3-uidl accept -u %s starts a "
			"new one)", user->username, error, user->username);
		return uidl_fail(box, "UIDL guard state is unreadable");
	}
	return ret;
}

/* Checks today's UIDLs (in builder) against the previous sketch, and
   stores today's sketch if the session may go on. */
static int
uidl_guard_apply(struct mailbox *box, struct pop3_policy_user *puser,
		 struct uidl_box *ubox,
		 struct pop3_policy_uidl_guard_builder *builder,
		 const struct pop3_policy_uidl_guard_sketch *previous,
		 bool have_previous)
{
	struct mail_user *user = box->storage->user;
	struct pop3_policy_uidl_guard_result result;
	struct pop3_policy_uidl_guard_sketch today;
	const char *error;

	pop3_policy_uidl_guard_check(builder, previous, ubox->guard_percent,
				     &result);
	if (result.tripped) {
		/* Dovecot 2.3 has no log level above error: the line says
		   CRITICAL and carries a named event for alerting */
		e_error(event_create_passthrough(puser->event)->
			set_name("pop3_policy_uidl_guard_tripped")->
			add_int("changed", result.changed)->
			add_int("sampled", result.present)->
			add_int("guard_percent", ubox->guard_percent)->event(),
			"CRITICAL: UIDL guard: session refused: the "
			"UIDLs of %u of %u sampled messages changed since "
			"the last session (more than %u%%); clients would "
			"download them all again. If the change is wanted, "
			"run: doveadm pop3-uidl accept -u %s",
			result.changed, result.present,
			ubox->guard_percent, user->username);
		return uidl_fail(box, "UIDLs changed unexpectedly, "
				 "the mailbox is locked for POP3 until an "
				 "administrator checks it");
	}
	t_array_init(&today.samples, POP3_POLICY_UIDL_GUARD_SAMPLES);
	pop3_policy_uidl_guard_builder_sketch(builder, &today);
	if (!have_previous ||
	    !pop3_policy_uidl_guard_sketch_equals(&today, previous)) {
		if (pop3_policy_uidl_guard_file_write(ubox->guard_path,
				&ubox->perm, &today, &error) < 0) {
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
		  struct uidl_box *ubox,
		  struct pop3_policy_uidl_guard_builder **builder,
		  const struct pop3_policy_uidl_guard_sketch *previous,
		  bool have_previous, const char *error)
{
	int ret;

	if (error != NULL) {
		e_error(puser->event, "UIDL guard: %s", error);
		ret = uidl_fail(box, "UIDLs could not be worked out");
	} else {
		ret = uidl_guard_apply(box, puser, ubox, *builder, previous,
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

/* Copies the previous sketch's samples sorted by uid into by_uid. Within
   one UIDVALIDITY a UID names the same message, so a sample's GUID hash is
   taken from there instead of asking the storage: on maildir the GUID is
   the file name, and asking for one makes the session read all of
   dovecot-uidlist (some 70 ms for 100,000 messages), which a POP3 session
   without stored UIDLs does not otherwise do. */
static void
uidl_guard_prev_by_uid(const struct pop3_policy_uidl_guard_sketch *previous,
		       ARRAY_TYPE(pop3_policy_uidl_guard_sample) *by_uid)
{
	t_array_init(by_uid, POP3_POLICY_UIDL_GUARD_SAMPLES);
	array_append_array(by_uid, &previous->samples);
	array_sort(by_uid, uidl_sample_cmp);
}

/* The guard when the map was worked out for every message anyway: the
   builder gets the messages the sketches need (see
   pop3_policy_uidl_guard_builder_init()). */
static int
uidl_guard(struct mailbox *box, struct pop3_policy_user *puser,
	   struct uidl_box *ubox, const ARRAY_TYPE(pop3_policy_uidl_msg) *msgs)
{
	struct pop3_policy_uidl_guard_builder *builder;
	struct pop3_policy_uidl_guard_sketch previous;
	const struct pop3_policy_uidl_guard_sample *prev;
	const struct pop3_policy_uidl_msg *msg;
	struct uidl_guard_best *best;
	ARRAY_TYPE(pop3_policy_uidl_guard_sample) prev_by_uid;
	ARRAY(uint64_t) prev_guids;
	struct mailbox_status status;
	struct mailbox_transaction_context *trans;
	struct mail *mail;
	const char *error = NULL;
	uint64_t hash;
	bool same_uidvalidity, want;
	int ret;

	if ((ret = uidl_guard_previous(box, puser, ubox, &previous)) < 0)
		return -1;
	mailbox_get_open_status(box, STATUS_UIDVALIDITY, &status);
	same_uidvalidity = ret > 0 &&
		previous.uidvalidity == status.uidvalidity;
	uidl_guard_prev_by_uid(&previous, &prev_by_uid);
	t_array_init(&prev_guids, POP3_POLICY_UIDL_GUARD_SAMPLES);
	array_foreach(&previous.samples, prev)
		array_push_back(&prev_guids, &prev->guid_hash);
	array_sort(&prev_guids, uint64_cmp);

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
	return uidl_guard_finish(box, puser, ubox, &builder, &previous,
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
static int
uidl_guard_only(struct mailbox *box, struct pop3_policy_user *puser,
		struct uidl_box *ubox)
{
	struct pop3_policy_uidl_guard_builder *builder;
	struct pop3_policy_uidl_guard_sketch previous;
	const struct pop3_policy_uidl_guard_sample *prev;
	struct uidl_guard_best *best;
	ARRAY_TYPE(pop3_policy_uidl_guard_sample) prev_by_uid;
	ARRAY(uint64_t) prev_guids;
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

	if ((ret = uidl_guard_previous(box, puser, ubox, &previous)) < 0)
		return -1;
	mailbox_get_open_status(box, STATUS_UIDVALIDITY | STATUS_MESSAGES,
				&status);
	same_uidvalidity = ret > 0 &&
		previous.uidvalidity == status.uidvalidity;
	uidl_guard_prev_by_uid(&previous, &prev_by_uid);
	t_array_init(&prev_guids, POP3_POLICY_UIDL_GUARD_SAMPLES);
	array_foreach(&previous.samples, prev)
		array_push_back(&prev_guids, &prev->guid_hash);
	array_sort(&prev_guids, uint64_cmp);
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
	return uidl_guard_finish(box, puser, ubox, &builder, &previous,
				 ret > 0, error);
}

static int
uidl_persist(struct mailbox *box, struct pop3_policy_user *puser,
	     const ARRAY_TYPE(pop3_policy_uidl_msg) *msgs)
{
	struct mailbox_transaction_context *trans;
	const struct pop3_policy_uidl_msg *msg;
	struct mail *mail;
	unsigned int count = 0;
	const char *error, *stored;

	trans = mailbox_transaction_begin(box, 0, __func__);
	mail = mail_alloc(trans, 0, NULL);
	array_foreach(msgs, msg) {
		if (msg->assign.source != POP3_POLICY_UIDL_SOURCE_MAP)
			continue;
		if (!mail_set_uid(mail, msg->uid))
			continue;
		/* already kept by the storage */
		if (mail_get_special(mail, MAIL_FETCH_UIDL_BACKEND,
				     &stored) == 0 &&
		    strcmp(stored, msg->assign.served) == 0)
			continue;
		mail_update_pop3_uidl(mail, msg->assign.served);
		count++;
	}
	mail_free(&mail);
	if (mailbox_transaction_commit(&trans) < 0) {
		error = mailbox_get_last_internal_error(box, NULL);
		e_error(puser->event, "UIDL persist: %s", error);
		return -1;
	}
	if (count > 0) {
		/* maildir writes dovecot-uidlist at its next sync */
		if (mailbox_sync(box, 0) < 0) {
			e_error(puser->event, "UIDL persist: sync failed: %s",
				mailbox_get_last_internal_error(box, NULL));
			return -1;
		}
		e_debug(puser->event, "UIDL persist: wrote %u UIDLs natively",
			count);
	}
	return 0;
}

/* Finds the INBOX's state files. Returns 1 if it has them, 0 if its
   storage keeps no local files (no map, no guard), -1 after failing the
   session. */
static int uidl_session_paths(struct mailbox *box,
			      struct pop3_policy_user *puser,
			      struct uidl_box *ubox)
{
	struct pop3_policy_uidl_state_paths paths;
	const char *error;
	int ret;

	ret = pop3_policy_uidl_state_paths(box, &paths, &error);
	if (ret < 0) {
		e_error(puser->event, "UIDL map: %s", error);
		return uidl_fail(box, "UIDL state is unavailable");
	}
	if (ret == 0) {
		e_debug(puser->event, "UIDL map and guard: the INBOX's "
			"storage keeps no local files");
		return 0;
	}
	ubox->map_path = p_strdup(ubox->pool, paths.map_path);
	ubox->guard_path = p_strdup(ubox->pool, paths.guard_path);
	ubox->perm = paths.perm;
	return 1;
}

static int uidl_session_prepare(struct mailbox *box, struct uidl_box *ubox)
{
	struct mail_user *user = box->storage->user;
	struct pop3_policy_user *puser = POP3_POLICY_USER_CONTEXT(user);
	struct pop3_policy_uidl_map *map = NULL;
	ARRAY_TYPE(pop3_policy_uidl_msg) msgs;
	const struct pop3_policy_uidl_msg *msg;
	struct uidl_served *served;
	struct mailbox_status status;
	struct timeval tv_start, tv_loaded, tv_scanned;
	uint32_t persist_uidvalidity = 0;
	const char *error;
	unsigned int count, mapped = 0;
	int ret, collisions;
	pool_t pool;

	if (ubox->bad_setting)
		return uidl_fail(box, "pop3-policy is misconfigured");
	if ((ret = uidl_session_paths(box, puser, ubox)) <= 0)
		return ret;

	if (ubox->persist && strcmp(box->storage->name, "maildir") == 0) {
		mailbox_get_open_status(box, STATUS_UIDVALIDITY, &status);
		persist_uidvalidity = status.uidvalidity;
	}
	/* a map persisted under today's UIDVALIDITY is served by the
	   storage itself: only the map file's header is read */
	i_gettimeofday(&tv_start);
	ret = pop3_policy_uidl_map_file_read(ubox->map_path,
					     persist_uidvalidity, &map, &error);
	if (ret < 0) {
		e_error(puser->event, "UIDL map: user %s: %s",
			user->username, error);
		return uidl_fail(box, "UIDL map is unavailable");
	}
	if (map == NULL) {
		/* nothing to serve: only the guard, the cheap way */
		const char *why = ret == 2 ? "map persisted" : "no map";

		if (ubox->guard_percent == 0)
			return 0;
		i_gettimeofday(&tv_loaded);
		ret = uidl_guard_only(box, puser, ubox);
		i_gettimeofday(&tv_scanned);
		e_debug(puser->event, "UIDL guard: %s (map file read "
			"in %d ms, guard in %d ms)", why,
			timeval_diff_msecs(&tv_loaded, &tv_start),
			timeval_diff_msecs(&tv_scanned, &tv_loaded));
		return ret;
	}

	pool = pool_alloconly_create("pop3-policy uidl scan", 4096);
	i_gettimeofday(&tv_loaded);
	collisions = pop3_policy_uidl_mailbox_scan(box, map,
		pop3_policy_uidl_mailbox_scan_flags(map), pool, &msgs, &error);
	if (collisions < 0) {
		e_error(puser->event, "UIDL map: %s", error);
		pool_unref(&pool);
		pop3_policy_uidl_map_free(&map);
		return uidl_fail(box, "UIDLs could not be worked out");
	}
	/* msgs are in POP3 order; served is indexed by sequence, which
	   sorts it by uid */
	count = array_count(&msgs);
	if (array_is_created(&ubox->served))
		array_free(&ubox->served);
	pop3_policy_uidl_map_free(&ubox->map);
	i_array_init(&ubox->served, count + 1);
	served = count == 0 ? NULL :
		array_idx_get_space(&ubox->served, count - 1);
	if (count > 0) {
		served = array_front_modifiable(&ubox->served);
		memset(served, 0, sizeof(*served) * count);
	}
	array_foreach(&msgs, msg) {
		if (msg->assign.source == POP3_POLICY_UIDL_SOURCE_COLLISION) {
			e_warning(puser->event, "UIDL map: UID %u: mapped UIDL "
				  "%s is not unique in the mailbox, serving the "
				  "native UIDL %s", msg->uid,
				  msg->assign.mapped, msg->native);
		}
		i_assert(msg->seq >= 1 && msg->seq <= count);
		served[msg->seq - 1].uid = msg->uid;
		served[msg->seq - 1].order = msg->pop3_order;
		if (msg->assign.source == POP3_POLICY_UIDL_SOURCE_MAP) {
			/* points into the map, kept for the session */
			served[msg->seq - 1].uidl = msg->assign.served;
			mapped++;
		}
	}
	i_gettimeofday(&tv_scanned);
	e_debug(puser->event, "UIDL map: %u entries, %u messages, "
		"%u mapped, %d collisions (map read in %d ms, messages in "
		"%d ms)", pop3_policy_uidl_map_count(map),
		count, mapped, collisions,
		timeval_diff_msecs(&tv_loaded, &tv_start),
		timeval_diff_msecs(&tv_scanned, &tv_loaded));

	ret = 0;
	if (ubox->guard_percent > 0)
		ret = uidl_guard(box, puser, ubox, &msgs);
	if (ret == 0 && persist_uidvalidity != 0 &&
	    uidl_persist(box, puser, &msgs) == 0 &&
	    pop3_policy_uidl_map_file_mark_persisted(ubox->map_path, map,
			persist_uidvalidity, &error) < 0) {
		/* a failed write only means the map is still needed */
		e_error(puser->event, "UIDL persist: %s", error);
	}
	pool_unref(&pool);
	ubox->map = map;
	return ret;
}

static int
uidl_sync_deinit(struct mailbox_sync_context *ctx,
		 struct mailbox_sync_status *status_r)
{
	struct mailbox *box = ctx->box;
	struct uidl_box *ubox = UIDL_BOX_CONTEXT(box);
	int ret;

	ret = ubox->module_ctx.super.sync_deinit(ctx, status_r);
	if (ret < 0 || ubox->ready || ubox->busy)
		return ret;
	ubox->busy = TRUE;
	T_BEGIN {
		ret = uidl_session_prepare(box, ubox);
	} T_END;
	ubox->busy = FALSE;
	if (ret == 0)
		ubox->ready = TRUE;
	return ret;
}

static void uidl_mailbox_free(struct mailbox *box)
{
	struct uidl_box *ubox = UIDL_BOX_CONTEXT(box);

	ubox->module_ctx.super.free(box);
	if (array_is_created(&ubox->served))
		array_free(&ubox->served);
	pop3_policy_uidl_map_free(&ubox->map);
	pool_unref(&ubox->pool);
}

static void uidl_mailbox_allocated(struct mailbox *box)
{
	struct mail_user *user = box->storage->user;
	struct pop3_policy_user *puser = POP3_POLICY_USER_CONTEXT(user);
	struct mailbox_vfuncs *v = box->vlast;
	struct uidl_box *ubox;
	pool_t pool;

	if ((box->flags & MAILBOX_FLAG_POP3_SESSION) == 0 ||
	    strcmp(user->service, "pop3") != 0 || puser == NULL)
		return;

	if (puser->set.uidl_guard_error != NULL) {
		/* a bad setting fails the session at its first sync rather
		   than running without the guard */
		e_error(puser->event, "%s", puser->set.uidl_guard_error);
	}
	pool = pool_alloconly_create("pop3-policy uidl box", 1024);
	ubox = p_new(pool, struct uidl_box, 1);
	ubox->pool = pool;
	ubox->guard_percent = puser->set.uidl_guard_percent;
	ubox->bad_setting = puser->set.uidl_guard_error != NULL;
	ubox->persist = puser->set.uidl_persist;
	ubox->module_ctx.super = *v;
	box->vlast = &ubox->module_ctx.super;
	v->sync_deinit = uidl_sync_deinit;
	v->free = uidl_mailbox_free;
	MODULE_CONTEXT_SET(box, pop3_policy_uidl_box_module, ubox);
}

static int uidl_served_cmp(const uint32_t *uid,
			   const struct uidl_served *served)
{
	return *uid < served->uid ? -1 : (*uid > served->uid ? 1 : 0);
}

static int
uidl_mail_get_special(struct mail *_mail, enum mail_fetch_field field,
		      const char **value_r)
{
	struct mail_private *mail = (struct mail_private *)_mail;
	union mail_module_context *umail = UIDL_MAIL_CONTEXT(mail);
	struct uidl_box *ubox = UIDL_BOX_CONTEXT(_mail->box);
	const struct uidl_served *served;

	if (ubox->ready && array_is_created(&ubox->served) &&
	    (field == MAIL_FETCH_UIDL_BACKEND ||
	     field == MAIL_FETCH_POP3_ORDER)) {
		/* served is indexed by the sequence of the first sync,
		   which POP3 keeps for the session */
		served = _mail->seq >= 1 &&
			_mail->seq <= array_count(&ubox->served) ?
			array_idx(&ubox->served, _mail->seq - 1) : NULL;
		if (served == NULL || served->uid != _mail->uid) {
			served = array_bsearch(&ubox->served, &_mail->uid,
					       uidl_served_cmp);
		}
		if (served != NULL && field == MAIL_FETCH_UIDL_BACKEND &&
		    served->uidl != NULL) {
			*value_r = served->uidl;
			return 0;
		}
		if (served != NULL && field == MAIL_FETCH_POP3_ORDER &&
		    served->order > 0) {
			*value_r = p_strdup(mail->data_pool,
					    dec2str(served->order));
			return 0;
		}
	}
	return umail->super.get_special(_mail, field, value_r);
}

static void uidl_mail_allocated(struct mail *_mail)
{
	struct mail_private *mail = (struct mail_private *)_mail;
	struct mail_vfuncs *v = mail->vlast;
	struct uidl_box *ubox = UIDL_BOX_CONTEXT(_mail->box);
	union mail_module_context *umail;

	if (ubox == NULL)
		return;
	/* pop3 allocates its mails after the first sync: without a map,
	   Dovecot's own UIDLs are served and a layer would only cost a
	   call per message (about 1% of a 100,000-message UIDL) */
	if (ubox->ready && !array_is_created(&ubox->served))
		return;
	umail = p_new(mail->pool, union mail_module_context, 1);
	umail->super = *v;
	mail->vlast = &umail->super;
	v->get_special = uidl_mail_get_special;
	MODULE_CONTEXT_SET_SELF(mail, pop3_policy_uidl_mail_module, umail);
}

static struct mail_storage_hooks uidl_mail_storage_hooks = {
	.mailbox_allocated = uidl_mailbox_allocated,
	.mail_allocated = uidl_mail_allocated,
};

void pop3_policy_uidl_init(struct module *module)
{
	mail_storage_hooks_add(module, &uidl_mail_storage_hooks);
}

void pop3_policy_uidl_deinit(void)
{
	mail_storage_hooks_remove(&uidl_mail_storage_hooks);
}
