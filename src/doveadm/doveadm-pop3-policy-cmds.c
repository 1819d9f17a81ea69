/* Copyright (c) 2026 pop3-policy authors, see the included COPYING file */

/* Registration of the doveadm pop3-policy commands, and what they share:
   reading the user's settings, opening the user's store and resolving the
   user's policy the same way a POP3 session does
   (pop3-policy-mail-settings.c, pop3-policy-retention-settings.c). */

#include "lib.h"
#include "array.h"
#include "mail-user.h"
#include "doveadm-settings.h"
#include "pop3-policy-store.h"
#include "pop3-policy-retention-settings.h"
#include "doveadm-pop3-policy-plugin.h"
#include "doveadm-pop3-policy-cmds.h"

int doveadm_pop3_policy_store_open(struct mail_user *user,
				   const struct pop3_policy_mail_settings *set,
				   struct pop3_policy_store **store_r,
				   const char **error_r)
{
	struct pop3_policy_store_settings store_set;

	*store_r = NULL;
	i_zero(&store_set);
	store_set.uri = set->dict_uri;
	store_set.base_dir = user->set->base_dir;
	store_set.event_parent = user->event;
	if (store_set.uri == NULL || store_set.uri[0] == '\0')
		return 0;
	if (pop3_policy_store_init(&store_set, store_r, error_r) < 0)
		return -1;
	return 1;
}

void doveadm_pop3_policy_cmd_setup(struct doveadm_mail_cmd_context *ctx)
{
	/* doveadm drops privileges to the mail user before run(): for -u on
	   the command line for good (setuid() in restrict_access(), see
	   Dovecot's src/doveadm/doveadm-mail.c doveadm_mail_cmd_exec() and
	   src/lib-storage/mail-storage-service.c service_drop_privileges()),
	   else only the effective uid. The store's socket is root's and
	   auth's only, so ask for the temporary drop that -A gets anyway:
	   pop3-policy-store.c regains root for its dict calls. */
	ctx->service_flags |= MAIL_STORAGE_SERVICE_FLAG_TEMP_PRIV_DROP;
}

const char *const *doveadm_pop3_policy_global_envs(void)
{
	const char **envs;

	/* the userdb may override plugin { pop3_policy } in the user's
	   settings; doveadm's own settings still have the site value */
	if (array_is_created(&doveadm_settings->plugin_envs)) {
		envs = t_new(const char *,
			     array_count(&doveadm_settings->plugin_envs) + 2);
		memcpy(envs, array_front(&doveadm_settings->plugin_envs),
		       sizeof(*envs) *
		       array_count(&doveadm_settings->plugin_envs));
	} else {
		envs = t_new(const char *, 1);
	}
	return envs;
}

void doveadm_pop3_policy_settings_read(struct mail_user *user,
				       struct pop3_policy_mail_settings *set_r)
{
	pop3_policy_mail_settings_read(user, user->pool,
		doveadm_pop3_policy_global_envs(), set_r);
}

int doveadm_pop3_policy_resolve(struct mail_user *user,
				const struct pop3_policy_mail_settings *set,
				struct pop3_policy_store **store_r,
				struct pop3_policy *policy_r,
				const char **error_r)
{
	if (doveadm_pop3_policy_store_open(user, set, store_r, error_r) < 0)
		return -1;
	return pop3_policy_retention_settings_resolve(user, set, *store_r,
			NULL, user->pool, doveadm_pop3_policy_global_envs(),
			policy_r, error_r);
}

void doveadm_pop3_policy_register_policy_cmds(void)
{
	doveadm_cmd_register_ver2(&doveadm_pop3_policy_cmd_show);
	doveadm_cmd_register_ver2(&doveadm_pop3_policy_cmd_set);
	doveadm_cmd_register_ver2(&doveadm_pop3_policy_cmd_unset);
	doveadm_cmd_register_ver2(&doveadm_pop3_policy_cmd_sweep);
	doveadm_cmd_register_ver2(&doveadm_pop3_policy_cmd_restore);
}
