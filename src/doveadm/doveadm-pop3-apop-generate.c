/* Copyright (c) 2026 pop3-policy authors, see the included COPYING file */

/* doveadm pop3-apop generate -u USER

   Makes a new random secret (POP3_POLICY_APOP_SECRET_GEN_LEN characters
   of [A-Za-z0-9], about 190 bits), stores it encrypted under the newest
   key and prints it: the only time it is ever shown. */

#include "lib.h"
#include "ioloop.h"
#include "safe-memset.h"
#include "mail-user.h"
#include "mail-error.h"
#include "doveadm-mail.h"
#include "doveadm-print.h"
#include "pop3-policy-store.h"
#include "pop3-policy-apop.h"
#include "doveadm-pop3-apop.h"

static int
cmd_apop_generate_run(struct doveadm_mail_cmd_context *ctx,
		      struct mail_user *user)
{
	struct pop3_policy_store *store;
	struct pop3_policy_apop_keyring *ring;
	const char *const *fields, *key_file, *secret, *error;
	int ret;

	if (doveadm_pop3_apop_open(user, &store, &key_file, &error) < 0) {
		doveadm_pop3_apop_failed(ctx, MAIL_ERROR_TEMP, error);
		return -1;
	}
	if (doveadm_pop3_apop_keyring(key_file, &ring, &error) < 0) {
		pop3_policy_store_deinit(&store);
		doveadm_pop3_apop_failed(ctx, MAIL_ERROR_TEMP, error);
		return -1;
	}
	secret = pop3_policy_apop_secret_generate();
	fields = pop3_policy_apop_encrypt(pop3_policy_apop_keyring_newest(ring),
					  user->username, ioloop_time, secret);
	pop3_policy_apop_keyring_free(&ring);
	ret = pop3_policy_store_set(store, POP3_POLICY_RECORD_APOP,
				    user->username, fields, &error);
	pop3_policy_store_deinit(&store);
	if (ret < 0) {
		safe_memset((char *)secret, 0, strlen(secret));
		doveadm_pop3_apop_failed(ctx, MAIL_ERROR_TEMP, error);
		return -1;
	}
	/* printed only once the store has it */
	doveadm_print(secret);
	safe_memset((char *)secret, 0, strlen(secret));
	return 0;
}

static void cmd_apop_generate_init(struct doveadm_mail_cmd_context *ctx ATTR_UNUSED,
				   const char *const args[])
{
	if (args[0] != NULL)
		doveadm_mail_help_name("pop3-apop generate");
	doveadm_print_header("secret", "secret",
			     DOVEADM_PRINT_HEADER_FLAG_HIDE_TITLE);
}

static struct doveadm_mail_cmd_context *cmd_apop_generate_alloc(void)
{
	struct doveadm_mail_cmd_context *ctx;

	ctx = doveadm_mail_cmd_alloc(struct doveadm_mail_cmd_context);
	doveadm_pop3_apop_cmd_setup(ctx);
	ctx->v.init = cmd_apop_generate_init;
	ctx->v.run = cmd_apop_generate_run;
	doveadm_print_init(DOVEADM_PRINT_TYPE_FLOW);
	return ctx;
}

struct doveadm_cmd_ver2 doveadm_pop3_apop_cmd_generate = {
	.name = "pop3-apop generate",
	.mail_cmd = cmd_apop_generate_alloc,
	.usage = DOVEADM_CMD_MAIL_USAGE_PREFIX,
DOVEADM_CMD_PARAMS_START
DOVEADM_CMD_MAIL_COMMON
DOVEADM_CMD_PARAMS_END
};
