/* Copyright (c) 2026 pop3-policy authors, see the included COPYING file */

/* doveadm pop3-uidl accept -u USER|-A

   Accepts the UIDLs the guard refused: the INBOX's guard file (the sketch
   of the last session) is removed, so the next session is let through and its UIDLs
   become the new reference. */

#include "lib.h"
#include "mail-user.h"
#include "mail-error.h"
#include "doveadm-mail.h"
#include "doveadm-print.h"
#include "pop3-policy-uidl-map-file.h"
#include "pop3-policy-uidl-guard-file.h"
#include "doveadm-pop3-uidl.h"

static int
cmd_uidl_accept_run(struct doveadm_mail_cmd_context *ctx,
		   struct mail_user *user)
{
	struct pop3_policy_uidl_state_paths paths;
	struct mailbox *box;
	const char *error;
	int ret;

	if (doveadm_pop3_uidl_inbox_open(user, &box, &paths, &error) < 0) {
		doveadm_pop3_uidl_failed(ctx, MAIL_ERROR_TEMP, error);
		return -1;
	}
	ret = pop3_policy_state_file_remove(paths.guard_path, &error);
	mailbox_free(&box);
	if (ret < 0) {
		doveadm_pop3_uidl_failed(ctx, MAIL_ERROR_TEMP, error);
		return -1;
	}
	doveadm_print(user->username);
	doveadm_print("accepted");
	return 0;
}

static struct doveadm_mail_cmd_context *cmd_uidl_accept_alloc(void)
{
	return doveadm_pop3_uidl_alloc_user_result(cmd_uidl_accept_run);
}

struct doveadm_cmd_ver2 doveadm_pop3_uidl_cmd_accept = {
	.name = "pop3-uidl accept",
	.mail_cmd = cmd_uidl_accept_alloc,
	.usage = DOVEADM_CMD_MAIL_USAGE_PREFIX,
DOVEADM_CMD_PARAMS_START
DOVEADM_CMD_MAIL_COMMON
DOVEADM_CMD_PARAMS_END
};
