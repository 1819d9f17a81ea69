/* Copyright (c) 2026 pop3-policy authors, see the included COPYING file */

/* Where the layers come from on Dovecot 2.3:
   - site: plugin { pop3_policy } as configured. A userdb field
     pop3_policy overrides the plugin setting of the same name in the
     user's settings, so the site value is read from the service's global
     settings (before userdb fields) when the userdb sets one;
   - class=<name>: plugin { pop3_policy_class_<name> };
   - userdb: the userdb extra field pop3_policy (or plugin/pop3_policy);
   - store: shared/pop3-policy/policy/<user>. */

#include "lib.h"
#include "master-service.h"
#include "mail-user.h"
#include "mail-storage-service.h"
#include "pop3-policy-store.h"
#include "pop3-policy-retention-run.h"
#include "pop3-policy-retention-settings.h"

static int
settings_class_lookup(const char *name, void *context, const char **policy_r,
		      const char **error_r ATTR_UNUSED)
{
	struct mail_user *user = context;

	*policy_r = mail_user_plugin_getenv(user, t_strconcat(
		"pop3_policy_class_", name, NULL));
	return *policy_r == NULL ? 0 : 1;
}

static const char *settings_userdb_policy(struct mail_user *user)
{
	const char *const *field;

	if (user->userdb_fields == NULL)
		return NULL;
	for (field = user->userdb_fields; *field != NULL; field++) {
		if (str_begins(*field, "pop3_policy="))
			return *field + 12;
		if (str_begins(*field, "plugin/pop3_policy="))
			return *field + 19;
	}
	return NULL;
}

static const char *settings_site_policy(struct mail_user *user,
					bool userdb_set)
{
	const struct mail_user_settings *global_set;

	if (!userdb_set)
		return mail_user_plugin_getenv(user, "pop3_policy");
	global_set = mail_storage_service_get_settings(master_service);
	if (global_set == NULL)
		return NULL;
	return mail_user_set_plugin_getenv(global_set, "pop3_policy");
}

int pop3_policy_retention_settings_resolve(struct mail_user *user,
					   struct pop3_policy_store *store,
					   pool_t pool,
					   struct pop3_policy *policy_r,
					   const char **error_r)
{
	const char *userdb, *site, *const *fields, *error;
	int ret;

	userdb = settings_userdb_policy(user);
	site = settings_site_policy(user, userdb != NULL);
	pop3_policy_init(policy_r);
	if (pop3_policy_parse(policy_r, pool, site, POP3_POLICY_LAYER_SITE,
			      settings_class_lookup, user, &error) < 0) {
		*error_r = t_strdup_printf("user %s: plugin setting "
					   "pop3_policy: %s",
					   user->username, error);
		return -1;
	}
	if (pop3_policy_parse(policy_r, pool, userdb,
			      POP3_POLICY_LAYER_USERDB,
			      settings_class_lookup, user, &error) < 0) {
		*error_r = t_strdup_printf("user %s: userdb field "
					   "pop3_policy: %s",
					   user->username, error);
		return -1;
	}
	if (store == NULL)
		return 0;
	ret = pop3_policy_store_lookup(store, POP3_POLICY_RECORD_POLICY,
				       user->username, &fields, error_r);
	if (ret < 0)
		return -1;
	if (ret > 0 &&
	    pop3_policy_parse(policy_r, pool, fields[1],
			      POP3_POLICY_LAYER_STORE,
			      settings_class_lookup, user, &error) < 0) {
		*error_r = t_strdup_printf("user %s: store record %s: %s",
			user->username,
			pop3_policy_store_key(POP3_POLICY_RECORD_POLICY,
					      user->username), error);
		return -1;
	}
	return 0;
}

const char *pop3_policy_retention_settings_quarantine(struct mail_user *user)
{
	const char *name;

	name = mail_user_plugin_getenv(user, "pop3_policy_quarantine");
	return name == NULL || name[0] == '\0' ?
		POP3_POLICY_DEFAULT_QUARANTINE : name;
}
