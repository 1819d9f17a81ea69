/* Copyright (c) 2026 pop3-policy authors, see the included COPYING file */

/* doveadm pop3-policy sweep [-u USER | -A] [--dry-run]: runs the removals
   the policy owes now (expire, max_age, hold expiry) for users who may
   never log in, and prints the counts per user and reason. */

#include "lib.h"
#include "mail-user.h"
#include "doveadm-print.h"
#include "pop3-policy-store.h"
#include "pop3-policy-retention-run.h"
#include "pop3-policy-retention-settings.h"
#include "doveadm-pop3-policy-cmds.h"

/* wait this long for a session's removals to finish */
#define SWEEP_LOCK_SECS 30

struct pop3_policy_sweep_cmd_context {
	struct doveadm_mail_cmd_context ctx;
	bool dry_run;
};

static int
cmd_pop3_policy_sweep_run(struct doveadm_mail_cmd_context *_ctx,
			  struct mail_user *user)
{
	struct pop3_policy_sweep_cmd_context *ctx =
		(struct pop3_policy_sweep_cmd_context *)_ctx;
	struct pop3_policy_run_settings set = { .quarantine = NULL };
	struct pop3_policy_mail_settings mail_set;
	struct pop3_policy_run_counts counts;
	struct pop3_policy_store *store;
	struct pop3_policy policy;
	struct event *event;
	const char *error;
	unsigned int i;
	int ret;

	doveadm_pop3_policy_settings_read(user, &mail_set);
	ret = doveadm_pop3_policy_resolve(user, &mail_set, &store, &policy,
					  &error);
	if (store != NULL)
		pop3_policy_store_deinit(&store);
	if (ret == 0 && mail_set.quarantine_error != NULL) {
		error = mail_set.quarantine_error;
		ret = -1;
	}
	set.quarantine = mail_set.quarantine;
	if (ret < 0) {
		/* fail closed: nothing is removed for this user */
		i_error("%s", error);
		doveadm_mail_failed_error(_ctx, MAIL_ERROR_PARAMS);
		return -1;
	}

	event = event_create(user->event);
	event_set_append_log_prefix(event, "pop3-policy: ");
	set.policy = &policy;
	set.event = event;
	set.dry_run = ctx->dry_run;
	set.lock_secs = SWEEP_LOCK_SECS;
	i_zero(&counts);
	ret = pop3_policy_run_owed(user, &set, &counts, &error);
	event_unref(&event);
	for (i = 0; i < POP3_POLICY_REASON_COUNT; i++) {
		doveadm_print(user->username);
		doveadm_print(pop3_policy_reason_name(i));
		doveadm_print_num(counts.removed[i]);
		doveadm_print(ctx->dry_run || policy.dry_run ? "yes" : "no");
	}
	if (ret < 0) {
		i_error("user %s: %s", user->username, error);
		doveadm_mail_failed_error(_ctx, MAIL_ERROR_TEMP);
		return -1;
	}
	if (ret == 0) {
		i_error("user %s: another retention run holds the lock, "
			"nothing done", user->username);
		doveadm_mail_failed_error(_ctx, MAIL_ERROR_INUSE);
		return -1;
	}
	return 0;
}

static bool
cmd_pop3_policy_sweep_parse_arg(struct doveadm_mail_cmd_context *_ctx, int c)
{
	struct pop3_policy_sweep_cmd_context *ctx =
		(struct pop3_policy_sweep_cmd_context *)_ctx;

	switch (c) {
	case 'n':
		ctx->dry_run = TRUE;
		break;
	default:
		return FALSE;
	}
	return TRUE;
}

static void cmd_pop3_policy_sweep_init(struct doveadm_mail_cmd_context *ctx,
				       const char *const args[])
{
	(void)ctx;
	if (args[0] != NULL)
		doveadm_mail_help_name("pop3-policy sweep");
	doveadm_print_header_simple("user");
	doveadm_print_header_simple("reason");
	doveadm_print_header("count", "count",
			     DOVEADM_PRINT_HEADER_FLAG_RIGHT_JUSTIFY);
	doveadm_print_header_simple("dry_run");
}

static struct doveadm_mail_cmd_context *cmd_pop3_policy_sweep_alloc(void)
{
	struct pop3_policy_sweep_cmd_context *ctx;

	ctx = doveadm_mail_cmd_alloc(struct pop3_policy_sweep_cmd_context);
	ctx->ctx.getopt_args = "n";
	ctx->ctx.v.parse_arg = cmd_pop3_policy_sweep_parse_arg;
	ctx->ctx.v.init = cmd_pop3_policy_sweep_init;
	ctx->ctx.v.run = cmd_pop3_policy_sweep_run;
	doveadm_pop3_policy_cmd_setup(&ctx->ctx);
	doveadm_print_init(DOVEADM_PRINT_TYPE_TABLE);
	return &ctx->ctx;
}

struct doveadm_cmd_ver2 doveadm_pop3_policy_cmd_sweep = {
	.name = "pop3-policy sweep",
	.mail_cmd = cmd_pop3_policy_sweep_alloc,
	.usage = DOVEADM_CMD_MAIL_USAGE_PREFIX "[--dry-run]",
DOVEADM_CMD_PARAMS_START
DOVEADM_CMD_MAIL_COMMON
DOVEADM_CMD_PARAM('n', "dry-run", CMD_PARAM_BOOL, 0)
DOVEADM_CMD_PARAMS_END
};
