#ifndef POP3_POLICY_MAIL_SETTINGS_H
#define POP3_POLICY_MAIL_SETTINGS_H

/* The plugin {} settings of the mail plugin and the doveadm plugin, read
   once per mail user into one struct by one function, so that a POP3
   session and doveadm see the same values with the same defaults. A new
   fixed-name setting gets a field here and a line in
   pop3_policy_mail_settings_read().

   Not in the struct, because their names are only known at run time or
   they are not settings: the classes (pop3_policy_class_<name>, looked up
   by the name a policy's class= word gives), the policy layers themselves
   (plugin pop3_policy and the userdb field of the same name, whose value
   depends on whether the userdb overrode the plugin setting:
   pop3-policy-retention-settings.c) and the handover fields of a login
   (pop3-policy-handover.h). A bad value is kept with its error instead of
   failing here: each one fails what it always failed, where it always
   did (the session at login, the INBOX at its first sync, a doveadm
   command). */

#include "pop3-policy-capa.h"

struct mail_user;

struct pop3_policy_mail_settings {
	/* pop3_policy_dict: the store's URI (NULL or "": no store) */
	const char *dict_uri;

	/* pop3_policy_quarantine (default POP3_POLICY_DEFAULT_QUARANTINE);
	   NULL with quarantine_error (naming the user) if it is not a
	   mailbox the package may move mail into and purge */
	const char *quarantine;
	const char *quarantine_error;

	/* pop3_policy_uidl_guard: percent, default
	   POP3_POLICY_UIDL_GUARD_DEFAULT_PERCENT, 0 disables the guard; 0
	   with uidl_guard_error if it is malformed */
	unsigned int uidl_guard_percent;
	const char *uidl_guard_error;
	/* pop3_policy_uidl_persist (default no) */
	bool uidl_persist;

	/* the site's pop3_policy_capa is yes (default no): capa_bounds are
	   what CAPA announces before login, which every user's policy is
	   held to. capa_error (naming the user) if those settings are bad. */
	bool capa;
	struct pop3_policy_capa_bounds capa_bounds;
	const char *capa_error;
};

/* Reads the user's settings into set_r (strings from pool).
   global_plugin_envs are the process's plugin {} settings before userdb
   fields (key, value, ..., NULL), as for
   pop3_policy_retention_settings_resolve(), or NULL to find them in the
   process's global settings: the CAPA settings are the site's. */
void pop3_policy_mail_settings_read(struct mail_user *user, pool_t pool,
				    const char *const *global_plugin_envs,
				    struct pop3_policy_mail_settings *set_r);

#endif
