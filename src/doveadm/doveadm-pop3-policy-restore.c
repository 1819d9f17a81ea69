/* Copyright (c) 2026 pop3-policy authors, see the included COPYING file */

/* doveadm pop3-policy restore -u USER [--all | UID...]: held messages
   (UIDs of the quarantine mailbox) back to INBOX with the POP3 UIDL they
   had. */

#include "lib.h"
#include "array.h"
#include "strnum.h"
#include "mail-user.h"
#include "doveadm-print.h"
#include "pop3-policy-retention-run.h"
#include "pop3-policy-retention-settings.h"
#include "doveadm-pop3-policy-cmds.h"

struct pop3_policy_restore_cmd_context {
	struct doveadm_mail_cmd_context ctx;
	ARRAY_TYPE(seq_range) uids;
	bool all;
};

static int
cmd_pop3_policy_restore_run(struct doveadm_mail_cmd_context *_ctx,
			    struct mail_user *user)
{
	struct pop3_policy_restore_cmd_context *ctx =
		(struct pop3_policy_restore_cmd_context *)_ctx;
	struct pop3_policy_mail_settings set;
	const char *error;
	int ret;

	doveadm_pop3_policy_settings_read(user, &set);
	if (set.quarantine_error != NULL) {
		i_error("%s", set.quarantine_error);
		doveadm_mail_failed_error(_ctx, MAIL_ERROR_PARAMS);
		return -1;
	}
	ret = pop3_policy_run_restore(user, set.quarantine,
				      ctx->all ? NULL : &ctx->uids, &error);
	if (ret < 0) {
		i_error("user %s: %s", user->username, error);
		doveadm_mail_failed_error(_ctx, MAIL_ERROR_NOTFOUND);
		return -1;
	}
	doveadm_print(user->username);
	doveadm_print_num(ret);
	return 0;
}

static bool
cmd_pop3_policy_restore_parse_arg(struct doveadm_mail_cmd_context *_ctx,
				  int c)
{
	struct pop3_policy_restore_cmd_context *ctx =
		(struct pop3_policy_restore_cmd_context *)_ctx;

	switch (c) {
	case 'a':
		ctx->all = TRUE;
		break;
	default:
		return FALSE;
	}
	return TRUE;
}

static void
cmd_pop3_policy_restore_init(struct doveadm_mail_cmd_context *_ctx,
			     const char *const args[])
{
	struct pop3_policy_restore_cmd_context *ctx =
		(struct pop3_policy_restore_cmd_context *)_ctx;
	uint32_t uid;

	if ((args[0] == NULL) == !ctx->all) {
		i_fatal_status(EX_USAGE, "pop3-policy restore: "
			       "give either --all or UIDs");
	}
	p_array_init(&ctx->uids, _ctx->pool, 8);
	for (; *args != NULL; args++) {
		if (str_to_uint32(*args, &uid) < 0 || uid == 0) {
			i_fatal_status(EX_USAGE, "pop3-policy restore: "
				       "invalid UID '%s'", *args);
		}
		seq_range_array_add(&ctx->uids, uid);
	}
	doveadm_print_header_simple("user");
	doveadm_print_header("restored", "restored",
			     DOVEADM_PRINT_HEADER_FLAG_RIGHT_JUSTIFY);
}

static struct doveadm_mail_cmd_context *cmd_pop3_policy_restore_alloc(void)
{
	struct pop3_policy_restore_cmd_context *ctx;

	ctx = doveadm_mail_cmd_alloc(struct pop3_policy_restore_cmd_context);
	ctx->ctx.getopt_args = "a";
	ctx->ctx.v.parse_arg = cmd_pop3_policy_restore_parse_arg;
	ctx->ctx.v.init = cmd_pop3_policy_restore_init;
	ctx->ctx.v.run = cmd_pop3_policy_restore_run;
	doveadm_print_init(DOVEADM_PRINT_TYPE_TABLE);
	return &ctx->ctx;
}

struct doveadm_cmd_ver2 doveadm_pop3_policy_cmd_restore = {
	.name = "pop3-policy restore",
	.mail_cmd = cmd_pop3_policy_restore_alloc,
	.usage = DOVEADM_CMD_MAIL_USAGE_PREFIX "[--all | <uid> [...]]",
DOVEADM_CMD_PARAMS_START
DOVEADM_CMD_MAIL_COMMON
DOVEADM_CMD_PARAM('a', "all", CMD_PARAM_BOOL, 0)
DOVEADM_CMD_PARAM('\0', "uid", CMD_PARAM_ARRAY, CMD_PARAM_FLAG_POSITIONAL)
DOVEADM_CMD_PARAMS_END
};
