/* Copyright (c) 2026 pop3-policy authors, see the included COPYING file */

/* doveadm pop3-apop delete -u USER

   Removes the user's APOP secret; APOP logins fail from then on. Exits
   with EX_NOUSER (68) when the user had none, so that scripts can tell. */

#include "lib.h"
#include "mail-user.h"
#include "mail-error.h"
#include "doveadm-mail.h"
#include "pop3-policy-store.h"
#include "doveadm-pop3-apop.h"

static int
cmd_apop_delete_run(struct doveadm_mail_cmd_context *ctx,
		    struct mail_user *user)
{
	struct pop3_policy_store *store;
	const char *const *fields, *key_file, *error;
	int ret;

	if (doveadm_pop3_apop_open(user, &store, &key_file, &error) < 0) {
		doveadm_pop3_apop_failed(ctx, MAIL_ERROR_TEMP, error);
		return -1;
	}
	/* a malformed record is deleted too: that is how an admin gets rid
	   of one, so only a store failure stops us */
	ret = pop3_policy_store_lookup(store, POP3_POLICY_RECORD_APOP,
				       user->username, &fields, &error);
	if (ret == 0) {
		pop3_policy_store_deinit(&store);
		doveadm_pop3_apop_failed(ctx, MAIL_ERROR_NOTFOUND,
			t_strdup_printf("user %s has no APOP secret",
					user->username));
		return -1;
	}
	if (ret < 0 && strstr(error, "lookup failed") != NULL) {
		pop3_policy_store_deinit(&store);
		doveadm_pop3_apop_failed(ctx, MAIL_ERROR_TEMP, error);
		return -1;
	}
	ret = pop3_policy_store_unset(store, POP3_POLICY_RECORD_APOP,
				      user->username, &error);
	pop3_policy_store_deinit(&store);
	if (ret < 0) {
		doveadm_pop3_apop_failed(ctx, MAIL_ERROR_TEMP, error);
		return -1;
	}
	return 0;
}

static struct doveadm_mail_cmd_context *cmd_apop_delete_alloc(void)
{
	struct doveadm_mail_cmd_context *ctx;

	ctx = doveadm_mail_cmd_alloc(struct doveadm_mail_cmd_context);
	doveadm_pop3_apop_cmd_setup(ctx);
	ctx->v.run = cmd_apop_delete_run;
	return ctx;
}

struct doveadm_cmd_ver2 doveadm_pop3_apop_cmd_delete = {
	.name = "pop3-apop delete",
	.mail_cmd = cmd_apop_delete_alloc,
	.usage = DOVEADM_CMD_MAIL_USAGE_PREFIX,
DOVEADM_CMD_PARAMS_START
DOVEADM_CMD_MAIL_COMMON
DOVEADM_CMD_PARAMS_END
};
