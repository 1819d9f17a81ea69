/* Copyright (c) 2026 pop3-policy authors, see the included COPYING file */

/* The one reader of the fixed-name plugin {} settings of the mail plugin
   and the doveadm plugin (pop3-policy-mail-settings.h): called in the
   mail plugin's mail_user_created hook and by each doveadm command for
   its user. */

#include "lib.h"
#include "str-sanitize.h"
#include "mail-user.h"
#include "pop3-policy-mailbox-name.h"
#include "pop3-policy-retention-run.h"
#include "pop3-policy-uidl-guard.h"
#include "pop3-policy-retention-settings.h"
#include "pop3-policy-mail-settings.h"

/* pop3_policy_quarantine (from plugin {} or a userdb field). Returns 0,
   or -1 with error_r naming the user, the name and why if it is not a
   mailbox the package may move mail into and purge (INBOX, a wildcard, a
   path outside the mailbox tree, ...): then nothing may be held, purged
   or restored. */
static int
settings_quarantine(struct mail_user *user, const char **name_r,
		    const char **error_r)
{
	const char *name, *reason;

	name = mail_user_plugin_getenv(user, "pop3_policy_quarantine");
	if (name == NULL || name[0] == '\0')
		name = POP3_POLICY_DEFAULT_QUARANTINE;
	/* the quarantine is purged: INBOX there would purge the mail the
	   policy keeps */
	if (!pop3_policy_mailbox_name_is_valid(name, &reason)) {
		*error_r = t_strdup_printf(
			"user %s: pop3_policy_quarantine=%s: %s",
			user->username, str_sanitize(name, 256), reason);
		return -1;
	}
	*name_r = name;
	return 0;
}

void pop3_policy_mail_settings_read(struct mail_user *user, pool_t pool,
				    const char *const *global_plugin_envs,
				    struct pop3_policy_mail_settings *set_r)
{
	const char *value, *error;
	int ret;

	i_zero(set_r);
	set_r->dict_uri = p_strdup(pool,
		mail_user_plugin_getenv(user, "pop3_policy_dict"));

	if (settings_quarantine(user, &value, &error) < 0)
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
