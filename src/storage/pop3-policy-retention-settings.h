#ifndef POP3_POLICY_RETENTION_SETTINGS_H
#define POP3_POLICY_RETENTION_SETTINGS_H

/* Host glue of the retention policy: gathers the policy's layers (site
   default, classes, userdb field, store record) from Dovecot 2.3's settings (plugin {} and userdb fields) and the store, and
   hands them to the pure parser. Compiled into the mail plugin and the
   doveadm plugin; the only file a 2.4 port of the policy lookup touches. */

#include "pop3-policy-rules.h"

struct mail_user;
struct pop3_policy_store;
struct pop3_policy_mail_settings;

struct pop3_policy_handed_record {
	const char *record;
};

/* Resolves the user's effective policy (pool owns its strings). The store
   layer is handed_record when not NULL (the policy record as the
   pop3_policy userdb handed it over: handed_record->record is NULL if the
   user has none), else read from store; store may be NULL (no
   pop3_policy_dict): then the store layer is empty.
   global_plugin_envs (key, value, ..., NULL) are the process's plugin {}
   settings before userdb fields, needed when the userdb sets pop3_policy;
   NULL finds them in the process's global settings, and fails closed if
   they are not there. With set->capa (the site's pop3_policy_capa = yes)
   the result is held to set->capa_bounds, which CAPA announces before
   login (logged as a warning when that changes it); set->capa_error fails
   the resolution. Returns 0 on success, -1 with error_r naming the user,
   the layer, the word and why. */
int pop3_policy_retention_settings_resolve(struct mail_user *user,
	const struct pop3_policy_mail_settings *set,
	struct pop3_policy_store *store,
	const struct pop3_policy_handed_record *handed_record, pool_t pool,
	const char *const *global_plugin_envs, struct pop3_policy *policy_r,
	const char **error_r);
/* The class lookup of the user's policy layers (pop3_policy_class_lookup_t
   with the mail user as context): the plugin setting
   pop3_policy_class_<name>. A lookup by the name a class= word gives, so
   it is no field of struct pop3_policy_mail_settings. */
int pop3_policy_retention_settings_class_lookup(const char *name,
		void *context, const char **policy_r, const char **error_r);
struct pop3_policy_capa_bounds;
/* Read through pop3_policy_mail_settings_read(): use its struct.
   Returns the bounds that CAPA announces before login (RFC 2449 EXPIRE and
   LOGIN-DELAY with USER, pop3-policy-capa.h), from the global plugin {}
   settings (global_plugin_envs as for _resolve(), or NULL for the
   process's global settings): pop3_policy, every
   pop3_policy_class_<name>, pop3_policy_capa_expire_min and
   pop3_policy_capa_login_delay_max. Returns 1 with the bounds if
   pop3_policy_capa is yes, 0 if it is not (nothing is announced, nothing
   bounded), -1 with error_r on a bad setting. */
int pop3_policy_retention_settings_capa_bounds(struct mail_user *user,
			const char *const *global_plugin_envs,
			struct pop3_policy_capa_bounds *bounds_r,
			const char **error_r);

#endif
