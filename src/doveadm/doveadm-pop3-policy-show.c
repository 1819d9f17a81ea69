/* Copyright (c) 2026 pop3-policy authors, see the included COPYING file */

/* doveadm pop3-policy show -u USER: each key's effective value and the
   layer that set it (default, site, class:<name>, userdb, store). */

#include "lib.h"
#include "mail-user.h"
#include "doveadm-print.h"
#include "pop3-policy-store.h"
#include "doveadm-pop3-policy-cmds.h"

static int
cmd_pop3_policy_show_run(struct doveadm_mail_cmd_context *ctx,
			 struct mail_user *user)
{
	struct pop3_policy_mail_settings set;
	struct pop3_policy_store *store;
	struct pop3_policy policy;
	const char *error;
	unsigned int i;
	int ret;

	doveadm_pop3_policy_settings_read(user, &set);
	ret = doveadm_pop3_policy_resolve(user, &set, &store, &policy, &error);
	if (store != NULL)
		pop3_policy_store_deinit(&store);
	if (ret < 0) {
		i_error("%s", error);
		doveadm_mail_failed_error(ctx, MAIL_ERROR_PARAMS);
		return -1;
	}
	for (i = 0; i < POP3_POLICY_KEY_COUNT; i++) {
		doveadm_print(user->username);
		doveadm_print(pop3_policy_key_name(i));
		doveadm_print(pop3_policy_value_str(&policy, i));
		doveadm_print(pop3_policy_origin_str(&policy, i));
	}
	return 0;
}

static void cmd_pop3_policy_show_init(struct doveadm_mail_cmd_context *ctx,
				      const char *const args[])
{
	if (args[0] != NULL)
		doveadm_mail_help_name("pop3-policy show");
	(void)ctx;
	doveadm_print_header_simple("user");
	doveadm_print_header_simple("key");
	doveadm_print_header_simple("value");
	doveadm_print_header_simple("layer");
}

static struct doveadm_mail_cmd_context *cmd_pop3_policy_show_alloc(void)
{
	struct doveadm_mail_cmd_context *ctx;

	ctx = doveadm_mail_cmd_alloc(struct doveadm_mail_cmd_context);
	ctx->v.init = cmd_pop3_policy_show_init;
	ctx->v.run = cmd_pop3_policy_show_run;
	doveadm_pop3_policy_cmd_setup(ctx);
	doveadm_print_init(DOVEADM_PRINT_TYPE_TABLE);
	return ctx;
}

struct doveadm_cmd_ver2 doveadm_pop3_policy_cmd_show = {
	.name = "pop3-policy show",
	.mail_cmd = cmd_pop3_policy_show_alloc,
	.usage = DOVEADM_CMD_MAIL_USAGE_PREFIX,
DOVEADM_CMD_PARAMS_START
DOVEADM_CMD_MAIL_COMMON
DOVEADM_CMD_PARAMS_END
};
