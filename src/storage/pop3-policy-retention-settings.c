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
#include "array.h"
#include "master-service.h"
#include "mail-user.h"
#include "settings-parser.h"
#include "master-service-settings.h"
#include "mail-storage-settings.h"
#include "mail-storage-service.h"
#include "pop3-policy-mailbox-name.h"
#include "pop3-policy-store.h"
#include "pop3-policy-retention-run.h"
#include "pop3-policy-retention-settings.h"
#include "pop3-policy-capa.h"
#include "pop3-policy-mail-settings.h"

int pop3_policy_retention_settings_class_lookup(const char *name,
		void *context, const char **policy_r,
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

/* The mail_user_settings of the service before userdb fields were
   applied (the process's global settings parser), or NULL. */
static const struct mail_user_settings *settings_global_mail_user_set(void)
{
	struct setting_parser_context *parser;
	const struct setting_parser_info *const *roots;
	void **sets;
	unsigned int i;

	parser = master_service_get_settings_parser(master_service);
	if (parser == NULL)
		return NULL;
	roots = settings_parser_get_roots(parser);
	sets = settings_parser_get_list(parser);
	for (i = 0; roots[i] != NULL; i++) {
		/* dynamic settings parsers make a copy of the info, so
		   compare names as lib-storage does */
		if (null_strcmp(roots[i]->module_name,
				mail_user_setting_parser_info.module_name) == 0)
			return sets[i];
	}
	return NULL;
}

static int settings_site_policy(struct mail_user *user, bool userdb_set,
				const char *const *global_plugin_envs,
				const char **site_r, const char **error_r)
{
	const struct mail_user_settings *global_set;
	unsigned int i;

	if (!userdb_set) {
		*site_r = mail_user_plugin_getenv(user, "pop3_policy");
		return 0;
	}
	if (global_plugin_envs != NULL) {
		*site_r = NULL;
		for (i = 0; global_plugin_envs[i] != NULL &&
			    global_plugin_envs[i+1] != NULL; i += 2) {
			if (strcmp(global_plugin_envs[i], "pop3_policy") == 0)
				*site_r = global_plugin_envs[i+1];
		}
		return 0;
	}
	global_set = settings_global_mail_user_set();
	if (global_set == NULL) {
		/* fail closed rather than drop the site layer */
		*error_r = t_strdup_printf("user %s: cannot read the site "
			"policy (plugin setting pop3_policy) under the "
			"userdb field pop3_policy", user->username);
		return -1;
	}
	*site_r = mail_user_set_plugin_getenv(global_set, "pop3_policy");
	return 0;
}

static int
settings_resolve_layers(struct mail_user *user,
			struct pop3_policy_store *store,
			const struct pop3_policy_handed_record *handed_record,
			pool_t pool, const char *const *global_plugin_envs,
			struct pop3_policy *policy_r, const char **error_r)
{
	const char *userdb, *site, *const *fields, *error;
	int ret;

	userdb = settings_userdb_policy(user);
	if (settings_site_policy(user, userdb != NULL, global_plugin_envs,
				 &site, error_r) < 0)
		return -1;
	pop3_policy_init(policy_r);
	if (pop3_policy_parse(policy_r, pool, site, POP3_POLICY_LAYER_SITE,
			      pop3_policy_retention_settings_class_lookup,
			      user, &error) < 0) {
		*error_r = t_strdup_printf("user %s: plugin setting "
					   "pop3_policy: %s",
					   user->username, error);
		return -1;
	}
	if (pop3_policy_parse(policy_r, pool, userdb,
			      POP3_POLICY_LAYER_USERDB,
			      pop3_policy_retention_settings_class_lookup,
			      user, &error) < 0) {
		*error_r = t_strdup_printf("user %s: userdb field "
					   "pop3_policy: %s",
					   user->username, error);
		return -1;
	}
	if (handed_record != NULL) {
		ret = handed_record->record == NULL ? 0 : 1;
		if (ret > 0 && pop3_policy_record_decode(
				POP3_POLICY_RECORD_POLICY,
				handed_record->record, &fields, &error) < 0) {
			*error_r = t_strdup_printf("user %s: store record %s "
				"(handed over by the userdb): %s",
				user->username, pop3_policy_store_key(
					POP3_POLICY_RECORD_POLICY,
					user->username), error);
			return -1;
		}
	} else if (store == NULL) {
		return 0;
	} else {
		ret = pop3_policy_store_lookup(store, POP3_POLICY_RECORD_POLICY,
					       user->username, &fields,
					       error_r);
		if (ret < 0)
			return -1;
	}
	if (ret > 0 &&
	    pop3_policy_parse(policy_r, pool, fields[1],
			      POP3_POLICY_LAYER_STORE,
			      pop3_policy_retention_settings_class_lookup,
			      user, &error) < 0) {
		*error_r = t_strdup_printf("user %s: store record %s: %s",
			user->username,
			pop3_policy_store_key(POP3_POLICY_RECORD_POLICY,
					      user->username), error);
		return -1;
	}
	return 0;
}

/* plugin {} settings as key, value, ... */
struct settings_plugin_envs {
	const char *const *envs;
	unsigned int count;
};

static const char *
settings_plugin_env(const struct settings_plugin_envs *envs, const char *key)
{
	unsigned int i;

	for (i = 0; i + 1 < envs->count; i += 2) {
		if (strcmp(envs->envs[i], key) == 0)
			return envs->envs[i+1];
	}
	return NULL;
}

static int
settings_global_class_lookup(const char *name, void *context,
			     const char **policy_r,
			     const char **error_r ATTR_UNUSED)
{
	const struct settings_plugin_envs *envs = context;

	*policy_r = settings_plugin_env(envs, t_strconcat(
		"pop3_policy_class_", name, NULL));
	return *policy_r == NULL ? 0 : 1;
}

int pop3_policy_retention_settings_capa_bounds(struct mail_user *user,
			const char *const *global_plugin_envs,
			struct pop3_policy_capa_bounds *bounds_r,
			const char **error_r)
{
	const struct mail_user_settings *global_set;
	struct settings_plugin_envs envs;
	ARRAY_TYPE(const_string) classes;
	const char *capa, *error;
	unsigned int i;

	/* the site's settings, as pop3-login sees them: a userdb field
	   must not move the bound it is held to */
	if (global_plugin_envs != NULL) {
		envs.envs = global_plugin_envs;
		envs.count = str_array_length(global_plugin_envs);
	} else {
		global_set = settings_global_mail_user_set();
		if (global_set == NULL)
			global_set = user->set;
		envs.envs = array_get(&global_set->plugin_envs, &envs.count);
	}
	capa = settings_plugin_env(&envs, "pop3_policy_capa");
	if (capa == NULL || strcasecmp(capa, "yes") != 0)
		return 0;

	t_array_init(&classes, 8);
	for (i = 0; i + 1 < envs.count; i += 2) {
		if (str_begins(envs.envs[i], "pop3_policy_class_")) {
			const char *name = envs.envs[i] + 18;
			array_push_back(&classes, &name);
		}
	}
	array_append_zero(&classes);
	if (pop3_policy_capa_bounds_get(settings_plugin_env(&envs,
							    "pop3_policy"),
			array_front(&classes), settings_global_class_lookup,
			&envs,
			settings_plugin_env(&envs,
					    "pop3_policy_capa_expire_min"),
			settings_plugin_env(&envs,
					    "pop3_policy_capa_login_delay_max"),
			bounds_r, &error) < 0) {
		*error_r = t_strdup_printf("user %s: plugin setting %s",
					   user->username, error);
		return -1;
	}
	return 1;
}

int pop3_policy_retention_settings_resolve(struct mail_user *user,
	const struct pop3_policy_mail_settings *set,
	struct pop3_policy_store *store,
	const struct pop3_policy_handed_record *handed_record, pool_t pool,
	const char *const *global_plugin_envs, struct pop3_policy *policy_r,
	const char **error_r)
{
	const char *reason;

	if (settings_resolve_layers(user, store, handed_record, pool,
				    global_plugin_envs, policy_r, error_r) < 0)
		return -1;
	/* With pop3_policy_capa = yes, CAPA has told every client before
	   login how soon any message may be removed and how long a login
	   may be refused (RFC 2449 6.5, 6.7): a userdb field or store record
	   beyond those bounds is held to them, in sessions and in doveadm's
	   sweeps alike, so that what was announced stays true. */
	if (set->capa_error != NULL) {
		*error_r = set->capa_error;
		return -1;
	}
	if (set->capa &&
	    !pop3_policy_capa_within(policy_r, &set->capa_bounds, &reason)) {
		(void)pop3_policy_capa_bound(policy_r, &set->capa_bounds);
		e_warning(user->event, "pop3-policy: user %s: %s; using "
			  "expire=%s max_age=%s login_delay=%s",
			  user->username, reason,
			  pop3_policy_duration_str(policy_r->expire_secs),
			  pop3_policy_duration_str(policy_r->max_age_secs),
			  pop3_policy_duration_str(
				policy_r->login_delay_secs));
	}
	return 0;
}
