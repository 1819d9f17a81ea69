/* Copyright (c) 2026 pop3-policy authors, see the included COPYING file */

/* doveadm pop3-policy set -u USER POLICY...: writes the user's store
   record (the last of the policy's layers), after checking that the user's
   whole policy resolves with it; a bad policy is refused and nothing is
   written. */

#include "lib.h"
#include "ioloop.h"
#include "str.h"
#include "mail-user.h"
#include "pop3-policy-store.h"
#include "pop3-policy-retention-settings.h"
#include "pop3-policy-capa.h"
#include "doveadm-pop3-policy-cmds.h"

struct pop3_policy_set_cmd_context {
	struct doveadm_mail_cmd_context ctx;
	const char *policy;
};

/* With pop3_policy_capa = yes, CAPA announces before login the smallest
   EXPIRE and the largest LOGIN-DELAY of every user (RFC 2449 6.5, 6.7).
   A record that would leave the user's effective policy outside them is
   refused: sessions would hold expire to the bound anyway, but auth
   enforces the record's login_delay as it is. Returns 0, or -1 with
   error_r saying why and what to change. */
static int
policy_set_check_capa(struct mail_user *user,
		      const struct pop3_policy_mail_settings *set,
		      const char *record, const char **error_r)
{
	struct pop3_policy policy;
	const char *error, *reason;

	if (set->capa_error != NULL) {
		*error_r = set->capa_error;
		return -1;
	}
	if (!set->capa)
		return 0;
	/* the layers below the record, as a session would see them */
	if (pop3_policy_retention_settings_resolve(user, set, NULL, NULL,
			pool_datastack_create(),
			doveadm_pop3_policy_global_envs(), &policy,
			error_r) < 0)
		return -1;
	if (pop3_policy_parse(&policy, pool_datastack_create(), record,
			      POP3_POLICY_LAYER_STORE,
			      pop3_policy_retention_settings_class_lookup,
			      user, &error) < 0) {
		*error_r = error;
		return -1;
	}
	if (!pop3_policy_capa_within(&policy, &set->capa_bounds, &reason)) {
		*error_r = t_strdup_printf("refused with pop3_policy_capa = "
			"yes: %s; widen the bound with that setting (or a "
			"class) first",
			reason);
		return -1;
	}
	return 0;
}

static int
cmd_pop3_policy_set_run(struct doveadm_mail_cmd_context *_ctx,
			struct mail_user *user)
{
	struct pop3_policy_set_cmd_context *ctx =
		(struct pop3_policy_set_cmd_context *)_ctx;
	struct pop3_policy_mail_settings set;
	struct pop3_policy_store *store;
	struct pop3_policy policy;
	const char *error, *fields[3];
	int ret;

	pop3_policy_init(&policy);
	if (pop3_policy_parse(&policy, pool_datastack_create(), ctx->policy,
			      POP3_POLICY_LAYER_STORE,
			      pop3_policy_retention_settings_class_lookup,
			      user, &error) < 0) {
		i_error("user %s: %s", user->username, error);
		doveadm_mail_failed_error(_ctx, MAIL_ERROR_PARAMS);
		return -1;
	}
	doveadm_pop3_policy_settings_read(user, &set);
	if (policy_set_check_capa(user, &set, ctx->policy, &error) < 0) {
		i_error("user %s: %s", user->username, error);
		doveadm_mail_failed_error(_ctx, MAIL_ERROR_PARAMS);
		return -1;
	}
	ret = doveadm_pop3_policy_store_open(user, &set, &store, &error);
	if (ret <= 0) {
		i_error("user %s: %s", user->username, ret < 0 ? error :
			"pop3_policy_dict is not set");
		doveadm_mail_failed_error(_ctx, MAIL_ERROR_TEMP);
		return -1;
	}
	fields[0] = dec2str(ioloop_time);
	fields[1] = ctx->policy;
	fields[2] = NULL;
	ret = pop3_policy_store_set(store, POP3_POLICY_RECORD_POLICY,
				    user->username, fields, &error);
	pop3_policy_store_deinit(&store);
	if (ret < 0) {
		i_error("%s", error);
		doveadm_mail_failed_error(_ctx, MAIL_ERROR_TEMP);
		return -1;
	}
	return 0;
}

static void cmd_pop3_policy_set_init(struct doveadm_mail_cmd_context *_ctx,
				     const char *const args[])
{
	struct pop3_policy_set_cmd_context *ctx =
		(struct pop3_policy_set_cmd_context *)_ctx;

	if (args[0] == NULL)
		doveadm_mail_help_name("pop3-policy set");
	ctx->policy = p_strdup(_ctx->pool, t_strarray_join(args, " "));
}

static struct doveadm_mail_cmd_context *cmd_pop3_policy_set_alloc(void)
{
	struct pop3_policy_set_cmd_context *ctx;

	ctx = doveadm_mail_cmd_alloc(struct pop3_policy_set_cmd_context);
	ctx->ctx.v.init = cmd_pop3_policy_set_init;
	ctx->ctx.v.run = cmd_pop3_policy_set_run;
	doveadm_pop3_policy_cmd_setup(&ctx->ctx);
	return &ctx->ctx;
}

struct doveadm_cmd_ver2 doveadm_pop3_policy_cmd_set = {
	.name = "pop3-policy set",
	.mail_cmd = cmd_pop3_policy_set_alloc,
	.usage = DOVEADM_CMD_MAIL_USAGE_PREFIX "<key=value> [...]",
DOVEADM_CMD_PARAMS_START
DOVEADM_CMD_MAIL_COMMON
DOVEADM_CMD_PARAM('\0', "policy", CMD_PARAM_ARRAY, CMD_PARAM_FLAG_POSITIONAL)
DOVEADM_CMD_PARAMS_END
};
