/* Copyright (c) 2026 pop3-policy authors, see the included COPYING file */

/* The one reader of the fixed-name plugin {} settings of the mail plugin
   and the doveadm plugin (pop3-policy-mail-settings.h): called in the
   mail plugin's mail_user_created hook and by each doveadm command for
   its user. */

#include "lib.h"
#include "mail-user.h"
#include "pop3-policy-uidl-guard.h"
#include "pop3-policy-retention-settings.h"
#include "pop3-policy-mail-settings.h"

void pop3_policy_mail_settings_read(struct mail_user *user, pool_t pool,
				    const char *const *global_plugin_envs,
				    struct pop3_policy_mail_settings *set_r)
{
	const char *value, *error;
	int ret;

	i_zero(set_r);
	set_r->dict_uri = p_strdup(pool,
		mail_user_plugin_getenv(user, "pop3_policy_dict"));

	if (pop3_policy_retention_settings_quarantine(user, &value,
						      &error) < 0)
		set_r->quarantine_error = p_strdup(pool, error);
	else
		set_r->quarantine = p_strdup(pool, value);

	if (pop3_policy_uidl_guard_parse_percent(
		mail_user_plugin_getenv(user, "pop3_policy_uidl_guard"),
		&set_r->uidl_guard_percent, &error) < 0) {
		set_r->uidl_guard_percent = 0;
		set_r->uidl_guard_error = p_strdup(pool, error);
	}
	set_r->uidl_persist = mail_user_plugin_getenv_bool(user,
		"pop3_policy_uidl_persist");

	ret = pop3_policy_retention_settings_capa_bounds(user,
			global_plugin_envs, &set_r->capa_bounds, &error);
	if (ret < 0)
		set_r->capa_error = p_strdup(pool, error);
	set_r->capa = ret > 0;
}
