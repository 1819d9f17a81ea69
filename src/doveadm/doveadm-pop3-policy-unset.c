/* Copyright (c) 2026 pop3-policy authors, see the included COPYING file */

/* doveadm pop3-policy unset -u USER: removes the user's store record, so
   that the site, class and userdb layers apply again. */

#include "lib.h"
#include "mail-user.h"
#include "pop3-policy-store.h"
#include "doveadm-pop3-policy-cmds.h"

static int
cmd_pop3_policy_unset_run(struct doveadm_mail_cmd_context *ctx,
			  struct mail_user *user)
{
	struct pop3_policy_mail_settings set;
	struct pop3_policy_store *store;
	const char *error;
	int ret;

	doveadm_pop3_policy_settings_read(user, &set);
	ret = doveadm_pop3_policy_store_open(user, &set, &store, &error);
	if (ret <= 0) {
		i_error("user %s: %s", user->username, ret < 0 ? error :
			"pop3_policy_dict is not set");
		doveadm_mail_failed_error(ctx, MAIL_ERROR_TEMP);
		return -1;
	}
	ret = pop3_policy_store_unset(store, POP3_POLICY_RECORD_POLICY,
				      user->username, &error);
	pop3_policy_store_deinit(&store);
	if (ret < 0) {
		i_error("%s", error);
		doveadm_mail_failed_error(ctx, MAIL_ERROR_TEMP);
		return -1;
	}
	return 0;
}

static void cmd_pop3_policy_unset_init(struct doveadm_mail_cmd_context *ctx,
				       const char *const args[])
{
	(void)ctx;
	if (args[0] != NULL)
		doveadm_mail_help_name("pop3-policy unset");
}

static struct doveadm_mail_cmd_context *cmd_pop3_policy_unset_alloc(void)
{
	struct doveadm_mail_cmd_context *ctx;

	ctx = doveadm_mail_cmd_alloc(struct doveadm_mail_cmd_context);
	ctx->v.init = cmd_pop3_policy_unset_init;
	ctx->v.run = cmd_pop3_policy_unset_run;
	doveadm_pop3_policy_cmd_setup(ctx);
	return ctx;
}

struct doveadm_cmd_ver2 doveadm_pop3_policy_cmd_unset = {
	.name = "pop3-policy unset",
	.mail_cmd = cmd_pop3_policy_unset_alloc,
	.usage = DOVEADM_CMD_MAIL_USAGE_PREFIX,
DOVEADM_CMD_PARAMS_START
DOVEADM_CMD_MAIL_COMMON
DOVEADM_CMD_PARAMS_END
};
