/* Copyright (c) 2026 pop3-policy authors, see the included COPYING file */

/* Storage overrides of retention, scoped to the INBOX a pop3 session opens
   (MAILBOX_FLAG_POP3_SESSION):
   - mail expunge: the pop3 process expunges DELE'd messages only in QUIT;
     the UID is recorded instead and removed as the policy says after the
     client is gone. RSET clears DELE before that, so it needs nothing;
   - get_stream for "RETR"/"TOP": a stream read to its end means the
     message was retrieved whole (RETR, or a TOP covering the body);
   - sync with MAILBOX_SYNC_FLAG_FULL_WRITE: only QUIT does that, it marks
     the session as ended in the UPDATE state and writes the first-
     retrieval times. */

#include "lib.h"
#include "array.h"
#include "istream.h"
#include "mail-storage-private.h"
#include "mail-storage-hooks.h"
#include "pop3-policy-plugin.h"
#include "pop3-policy-retention-run.h"
#include "pop3-policy-retention.h"

#define RETENTION_BOX_CONTEXT(obj) \
	MODULE_CONTEXT_REQUIRE(obj, retention_storage_module)
#define RETENTION_MAIL_CONTEXT(obj) \
	MODULE_CONTEXT_REQUIRE(obj, retention_mail_module)

struct retention_mailbox {
	union mailbox_module_context module_ctx;
	struct pop3_policy_retention_user *ruser;
};

struct retention_retr_watch {
	struct pop3_policy_retention_user *ruser;
	struct istream *input;
	uint32_t uid;
};

static MODULE_CONTEXT_DEFINE_INIT(retention_storage_module,
				  &mail_storage_module_register);
static MODULE_CONTEXT_DEFINE_INIT(retention_mail_module,
				  &mail_module_register);

static void retention_mail_expunge(struct mail *mail)
{
	struct retention_mailbox *rbox = RETENTION_BOX_CONTEXT(mail->box);

	/* not super: removed as the policy says after the client is
	   answered (pop3 calls this only in QUIT) */
	seq_range_array_add(&rbox->ruser->dele_uids, mail->uid);
}

static void retention_retr_watch_destroyed(struct retention_retr_watch *w)
{
	uoff_t size;
	bool whole;

	/* pop3 reads a RETR to the end, and a TOP as far as its line count
	   goes: at the end (EOF seen or every byte consumed) the client got
	   the whole message */
	whole = w->input->eof ||
		(i_stream_get_size(w->input, TRUE, &size) > 0 &&
		 w->input->v_offset >= size);
	if (whole)
		seq_range_array_add(&w->ruser->retr_uids, w->uid);
	i_free(w);
}

static int
retention_mail_get_stream(struct mail *_mail, bool get_body,
			  struct message_size *hdr_size,
			  struct message_size *body_size,
			  struct istream **stream_r)
{
	struct mail_private *mail = (struct mail_private *)_mail;
	union mail_module_context *rmail = RETENTION_MAIL_CONTEXT(mail);
	struct retention_mailbox *rbox = RETENTION_BOX_CONTEXT(_mail->box);
	struct retention_retr_watch *w;
	const char *reason = mail->get_stream_reason;

	if (rmail->super.get_stream(_mail, get_body, hdr_size, body_size,
				    stream_r) < 0)
		return -1;
	if (reason != NULL &&
	    (strcmp(reason, "RETR") == 0 || strcmp(reason, "TOP") == 0)) {
		w = i_new(struct retention_retr_watch, 1);
		w->ruser = rbox->ruser;
		w->input = *stream_r;
		w->uid = _mail->uid;
		i_stream_add_destroy_callback(*stream_r,
					      retention_retr_watch_destroyed,
					      w);
	}
	return 0;
}

static struct mailbox_sync_context *
retention_sync_init(struct mailbox *box, enum mailbox_sync_flags flags)
{
	struct retention_mailbox *rbox = RETENTION_BOX_CONTEXT(box);

	struct pop3_policy_retention_user *ruser = rbox->ruser;
	const char *error;

	if ((flags & MAILBOX_SYNC_FLAG_FULL_WRITE) != 0) {
		ruser->quit_seen = TRUE;
		ruser->owed_possible =
			pop3_policy_run_owed_possible(box, &ruser->policy);
		/* written here, into the INBOX the session has open (an
		   index write, no removal), so that the work after the reply
		   need not open INBOX again for them. Also without expire in
		   the policy: one that gains it later counts from the true
		   first retrieval. Recorded in a dry run too, so that it can
		   tell what expire would remove. pop3 frees each RETR/TOP
		   stream before the next command, so retr_uids is complete
		   here. */
		if (pop3_policy_run_record_retrievals(box, &ruser->retr_uids,
						      &error) < 0) {
			/* losing it only delays the removal */
			e_error(ruser->event, "Retrieval times not "
				"recorded: %s", error);
		}
	}
	return rbox->module_ctx.super.sync_init(box, flags);
}

static void retention_mailbox_allocated(struct mailbox *box)
{
	struct pop3_policy_user *puser =
		POP3_POLICY_USER_CONTEXT(box->storage->user);
	struct pop3_policy_retention_user *ruser =
		puser == NULL ? NULL : puser->retention;
	struct mailbox_vfuncs *v = box->vlast;
	struct retention_mailbox *rbox;

	if (ruser == NULL || (box->flags & MAILBOX_FLAG_POP3_SESSION) == 0 ||
	    !box->inbox_user)
		return;
	rbox = p_new(box->pool, struct retention_mailbox, 1);
	rbox->ruser = ruser;
	rbox->module_ctx.super = *v;
	box->vlast = &rbox->module_ctx.super;
	v->sync_init = retention_sync_init;
	MODULE_CONTEXT_SET(box, retention_storage_module, rbox);
}

static void retention_mail_allocated(struct mail *_mail)
{
	struct mail_private *mail = (struct mail_private *)_mail;
	struct mail_vfuncs *v = mail->vlast;
	union mail_module_context *rmail;

	if (MODULE_CONTEXT(_mail->box, retention_storage_module) == NULL)
		return;
	rmail = p_new(mail->pool, union mail_module_context, 1);
	rmail->super = *v;
	mail->vlast = &rmail->super;
	v->expunge = retention_mail_expunge;
	v->get_stream = retention_mail_get_stream;
	MODULE_CONTEXT_SET_SELF(mail, retention_mail_module, rmail);
}

static struct mail_storage_hooks retention_hooks = {
	.mailbox_allocated = retention_mailbox_allocated,
	.mail_allocated = retention_mail_allocated,
};

void pop3_policy_retention_init(struct module *module)
{
	mail_storage_hooks_add(module, &retention_hooks);
}

void pop3_policy_retention_deinit(void)
{
	mail_storage_hooks_remove(&retention_hooks);
}
