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
   3. applies the guard (pop3-policy-uidl-guard-session.c): if today's
      UIDLs differ from the last session's for more than
      pop3_policy_uidl_guard percent of the messages that are still there, the sync fails with a temporary error, which pop3 sends
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
#include "pop3-policy-uidl-guard-session.h"

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
	/* the INBOX's map file (NULL: its storage has none) */
	const char *map_path;
	/* its guard file and pop3_policy_uidl_guard */
	struct pop3_policy_uidl_guard_session guard;
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

int pop3_policy_uidl_session_fail(struct mailbox *box, const char *error)
{
	mail_storage_set_error(box->storage, MAIL_ERROR_TEMP, error);
	return -1;
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
		return pop3_policy_uidl_session_fail(box,
			"UIDL state is unavailable");
	}
	if (ret == 0) {
		e_debug(puser->event, "UIDL map and guard: the INBOX's "
			"storage keeps no local files");
		return 0;
	}
	ubox->map_path = p_strdup(ubox->pool, paths.map_path);
	ubox->guard.path = p_strdup(ubox->pool, paths.guard_path);
	ubox->guard.perm = paths.perm;
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
		return pop3_policy_uidl_session_fail(box,
			"pop3-policy is misconfigured");
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
		return pop3_policy_uidl_session_fail(box,
			"UIDL map is unavailable");
	}
	if (map == NULL) {
		/* nothing to serve: only the guard, the cheap way */
		const char *why = ret == 2 ? "map persisted" : "no map";

		if (ubox->guard.percent == 0)
			return 0;
		i_gettimeofday(&tv_loaded);
		ret = pop3_policy_uidl_guard_session_native(box, puser,
				&ubox->guard);
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
		return pop3_policy_uidl_session_fail(box,
			"UIDLs could not be worked out");
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
	if (ubox->guard.percent > 0)
		ret = pop3_policy_uidl_guard_session_mapped(box, puser,
				&ubox->guard, &msgs);
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
	ubox->guard.percent = puser->set.uidl_guard_percent;
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
