/* Copyright (c) 2026 pop3-policy authors, see the included COPYING file */

/* doveadm pop3-apop rotate-key [-n|--new-key] -A|-u USER

   Re-encrypts each user's APOP secret under the newest key of the key
   file (PLAIN records get encrypted too), keeping its set time. With
   --new-key a new random key is first appended to the key file (once per
   run). The store cannot list its keys (redis has no iteration), so users
   come from the userdb (-A) or -u. Auth re-reads the key file when it
   changes, and keeps the old keys, so logins keep working throughout;
   remove an old key from the file only after a run that reported no
   failure. One row per user: old key id, new key id, result. */

#include "lib.h"
#include "safe-memset.h"
#include "mail-user.h"
#include "mail-error.h"
#include "doveadm-mail.h"
#include "doveadm-print.h"
#include "pop3-policy-store.h"
#include "pop3-policy-apop.h"
#include "doveadm-pop3-apop.h"

struct apop_rotate_cmd_context {
	struct doveadm_mail_cmd_context ctx;
	bool new_key;
	/* the key file the new key went into (only one per run) */
	const char *new_key_file;
};

static int
apop_rotate_add_key(struct apop_rotate_cmd_context *ctx, const char *key_file,
		    const char **error_r)
{
	const char *id;

	if (!ctx->new_key || key_file == NULL)
		return 0;
	if (ctx->new_key_file != NULL &&
	    strcmp(ctx->new_key_file, key_file) == 0)
		return 0;
	if (pop3_policy_apop_keyfile_add_key(key_file, &id, error_r) < 0)
		return -1;
	i_info("APOP key file %s: added key %s", key_file, id);
	ctx->new_key_file = p_strdup(ctx->ctx.pool, key_file);
	return 0;
}

static int
apop_rotate_user(struct pop3_policy_store *store,
		 const struct pop3_policy_apop_keyring *ring,
		 const char *user, const char **old_id_r,
		 const char **new_id_r, const char **result_r,
		 const char **error_r)
{
	const struct pop3_policy_apop_key *newest =
		pop3_policy_apop_keyring_newest(ring);
	const char *const *fields, *secret, *key_id;
	time_t set_time;
	int ret;

	*old_id_r = "-";
	*new_id_r = "-";
	ret = pop3_policy_store_lookup(store, POP3_POLICY_RECORD_APOP, user,
				       &fields, error_r);
	if (ret <= 0) {
		*result_r = "no secret";
		return ret;
	}
	if (pop3_policy_apop_record_info(fields, &key_id, &set_time,
					 error_r) < 0)
		return -1;
	*old_id_r = t_strdup(key_id);
	*new_id_r = t_strdup(newest->id);
	if (strcmp(key_id, newest->id) == 0) {
		*result_r = "unchanged";
		return 0;
	}
	ret = pop3_policy_apop_decrypt(ring, user, fields, &secret, &key_id,
				       error_r);
	if (ret == 0) {
		*error_r = t_strdup_printf("key id %s is not in the key file",
					   key_id);
		return -1;
	}
	if (ret < 0)
		return -1;
	fields = pop3_policy_apop_encrypt(newest, user, set_time, secret);
	safe_memset((char *)secret, 0, strlen(secret));
	if (pop3_policy_store_set(store, POP3_POLICY_RECORD_APOP, user,
				  fields, error_r) < 0)
		return -1;
	*result_r = "re-encrypted";
	return 0;
}

static int
cmd_apop_rotate_run(struct doveadm_mail_cmd_context *_ctx,
		    struct mail_user *user)
{
	struct apop_rotate_cmd_context *ctx =
		(struct apop_rotate_cmd_context *)_ctx;
	struct pop3_policy_store *store;
	struct pop3_policy_apop_keyring *ring = NULL;
	const char *key_file, *old_id = "-", *new_id = "-", *error;
	const char *result = "failed";
	int ret = -1;

	if (doveadm_pop3_apop_open(user, &store, &key_file, &error) < 0) {
		doveadm_pop3_apop_failed(_ctx, MAIL_ERROR_TEMP, error);
		return -1;
	}
	if (apop_rotate_add_key(ctx, key_file, &error) == 0 &&
	    doveadm_pop3_apop_keyring(key_file, &ring, &error) == 0) {
		ret = apop_rotate_user(store, ring, user->username, &old_id,
				       &new_id, &result, &error);
	}
	pop3_policy_apop_keyring_free(&ring);
	pop3_policy_store_deinit(&store);

	doveadm_print(old_id);
	doveadm_print(ret < 0 ? "-" : new_id);
	doveadm_print(ret < 0 ? "failed" : result);
	if (ret < 0) {
		doveadm_pop3_apop_failed(_ctx, MAIL_ERROR_TEMP,
			t_strdup_printf("user %s: %s", user->username, error));
		return -1;
	}
	return 0;
}

static bool
cmd_apop_rotate_parse_arg(struct doveadm_mail_cmd_context *_ctx, int c)
{
	struct apop_rotate_cmd_context *ctx =
		(struct apop_rotate_cmd_context *)_ctx;

	if (c != 'n')
		return FALSE;
	ctx->new_key = TRUE;
	return TRUE;
}

static void cmd_apop_rotate_init(struct doveadm_mail_cmd_context *ctx ATTR_UNUSED,
				 const char *const args[])
{
	if (args[0] != NULL)
		doveadm_mail_help_name("pop3-apop rotate-key");
	doveadm_print_header_simple("old_key_id");
	doveadm_print_header_simple("new_key_id");
	doveadm_print_header_simple("result");
}

static struct doveadm_mail_cmd_context *cmd_apop_rotate_alloc(void)
{
	struct apop_rotate_cmd_context *ctx;

	ctx = doveadm_mail_cmd_alloc(struct apop_rotate_cmd_context);
	doveadm_pop3_apop_cmd_setup(&ctx->ctx);
	ctx->ctx.getopt_args = "n";
	ctx->ctx.v.parse_arg = cmd_apop_rotate_parse_arg;
	ctx->ctx.v.init = cmd_apop_rotate_init;
	ctx->ctx.v.run = cmd_apop_rotate_run;
	doveadm_print_init(DOVEADM_PRINT_TYPE_TABLE);
	return &ctx->ctx;
}

struct doveadm_cmd_ver2 doveadm_pop3_apop_cmd_rotate_key = {
	.name = "pop3-apop rotate-key",
	.mail_cmd = cmd_apop_rotate_alloc,
	.usage = DOVEADM_CMD_MAIL_USAGE_PREFIX "[-n|--new-key]",
DOVEADM_CMD_PARAMS_START
DOVEADM_CMD_MAIL_COMMON
DOVEADM_CMD_PARAM('n', "new-key", CMD_PARAM_BOOL, 0)
DOVEADM_CMD_PARAMS_END
};
