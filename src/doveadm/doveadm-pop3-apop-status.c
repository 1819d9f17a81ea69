/* Copyright (c) 2026 pop3-policy authors, see the included COPYING file */

/* doveadm pop3-apop status -u USER|-A

   One row per user: whether a secret exists, the key id it is encrypted
   under ("PLAIN" for --plaintext records) and when it was set. Never the
   secret, and nothing is decrypted. */

#include "lib.h"
#include "time-util.h"
#include "mail-user.h"
#include "mail-error.h"
#include "doveadm-mail.h"
#include "doveadm-print.h"
#include "pop3-policy-store.h"
#include "pop3-policy-apop.h"
#include "doveadm-pop3-apop.h"

#include <time.h>

static int
cmd_apop_status_run(struct doveadm_mail_cmd_context *ctx,
		    struct mail_user *user)
{
	struct pop3_policy_store *store;
	const char *const *fields, *key_file, *key_id, *error;
	time_t set_time;
	int ret;

	if (doveadm_pop3_apop_open(user, &store, &key_file, &error) < 0) {
		doveadm_pop3_apop_failed(ctx, MAIL_ERROR_TEMP, error);
		return -1;
	}
	ret = pop3_policy_store_lookup(store, POP3_POLICY_RECORD_APOP,
				       user->username, &fields, &error);
	pop3_policy_store_deinit(&store);
	if (ret > 0) {
		if (pop3_policy_apop_record_info(fields, &key_id, &set_time,
						 &error) < 0)
			ret = -1;
		else if (localtime(&set_time) == NULL) {
			/* the codec bounds the set time; checked anyway,
			   since t_strflocaltime() would crash on it */
			error = "malformed APOP record: set time out of range";
			ret = -1;
		}
		if (ret < 0) {
			error = t_strdup_printf(
				"pop3-policy store: user %s: key %s: %s",
				user->username,
				pop3_policy_store_key(POP3_POLICY_RECORD_APOP,
						      user->username), error);
		}
	}
	if (ret < 0) {
		doveadm_pop3_apop_failed(ctx, MAIL_ERROR_TEMP, error);
		return -1;
	}
	if (ret == 0) {
		doveadm_print("no");
		doveadm_print("-");
		doveadm_print("-");
	} else {
		doveadm_print("yes");
		doveadm_print(key_id);
		doveadm_print(t_strflocaltime("%Y-%m-%d %H:%M:%S %z", set_time));
	}
	return 0;
}

static void cmd_apop_status_init(struct doveadm_mail_cmd_context *ctx ATTR_UNUSED,
				 const char *const args[])
{
	if (args[0] != NULL)
		doveadm_mail_help_name("pop3-apop status");
	doveadm_print_header_simple("secret");
	doveadm_print_header_simple("key_id");
	doveadm_print_header_simple("set_time");
}

static struct doveadm_mail_cmd_context *cmd_apop_status_alloc(void)
{
	struct doveadm_mail_cmd_context *ctx;

	ctx = doveadm_mail_cmd_alloc(struct doveadm_mail_cmd_context);
	doveadm_pop3_apop_cmd_setup(ctx);
	ctx->v.init = cmd_apop_status_init;
	ctx->v.run = cmd_apop_status_run;
	doveadm_print_init(DOVEADM_PRINT_TYPE_TABLE);
	return ctx;
}

struct doveadm_cmd_ver2 doveadm_pop3_apop_cmd_status = {
	.name = "pop3-apop status",
	.mail_cmd = cmd_apop_status_alloc,
	.usage = DOVEADM_CMD_MAIL_USAGE_PREFIX,
DOVEADM_CMD_PARAMS_START
DOVEADM_CMD_MAIL_COMMON
DOVEADM_CMD_PARAMS_END
};
