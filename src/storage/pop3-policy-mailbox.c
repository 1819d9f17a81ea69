/* Copyright (c) 2026 pop3-policy authors, see the included COPYING file */

#include "lib.h"
#include "mail-storage.h"
#include "mail-namespace.h"
#include "mail-user.h"
#include "pop3-policy-mailbox.h"

const char *pop3_policy_mailbox_error(struct mailbox *box)
{
	return t_strdup_printf("mailbox %s: %s", mailbox_get_vname(box),
			       mailbox_get_last_internal_error(box, NULL));
}

int pop3_policy_mailbox_open(struct mail_user *user, const char *vname,
			     bool create, struct mailbox **box_r,
			     const char **error_r)
{
	struct mail_namespace *ns;
	struct mailbox *box;
	enum mail_error mail_error;

	ns = mail_namespace_find(user->namespaces, vname);
	box = mailbox_alloc(ns->list, vname, 0);
	if (mailbox_open(box) < 0) {
		(void)mailbox_get_last_error(box, &mail_error);
		if (mail_error == MAIL_ERROR_NOTFOUND && !create) {
			mailbox_free(&box);
			*box_r = NULL;
			return 0;
		}
		if (mail_error != MAIL_ERROR_NOTFOUND ||
		    (mailbox_create(box, NULL, FALSE) < 0 &&
		     mailbox_get_last_mail_error(box) != MAIL_ERROR_EXISTS) ||
		    mailbox_open(box) < 0) {
			*error_r = pop3_policy_mailbox_error(box);
			mailbox_free(&box);
			return -1;
		}
	}
	if (mailbox_sync(box, 0) < 0) {
		*error_r = pop3_policy_mailbox_error(box);
		mailbox_free(&box);
		return -1;
	}
	*box_r = box;
	return 1;
}

int pop3_policy_mail_guid(struct mail *mail, const char **guid_r,
			  const char **error_r)
{
	if (mail_get_special(mail, MAIL_FETCH_GUID, guid_r) == 0)
		return 1;
	if (mail->expunged)
		return 0;
	*error_r = pop3_policy_mailbox_error(mail->box);
	return -1;
}
