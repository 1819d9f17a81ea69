/* Copyright (c) 2026 pop3-policy authors, see the included COPYING file */

/* What the pop3-apop commands share: the store and the key file, from
   plugin { pop3_policy_dict = ...  pop3_policy_apop_key_file = ... }
   (the same URI and file that the passdb names in its args).

   The commands run as root (they read the key file), so both come from
   doveadm's global configuration only, never from the user's settings:
   there a userdb field (pop3_policy_apop_key_file=...) or a %-variable
   (%h) would let the userdb choose a path that root then reads and
   writes. A userdb field that tries is refused, so that the command does
   not silently act on another store than the one the user's field
   names. */

#include "lib.h"
#include "array.h"
#include "mail-user.h"
#include "mail-error.h"
#include "doveadm-mail.h"
#include "doveadm-settings.h"
#include "pop3-policy-store.h"
#include "pop3-policy-apop-key.h"
#include "doveadm-pop3-apop.h"

/* The value of the plugin setting name in doveadm's global settings
   (NULL if unset or empty). Returns 0, or -1 with error_r if the user's
   userdb fields set it or the value holds a %-variable. */
static int
apop_global_setting(struct mail_user *user, const char *name,
		    const char **value_r, const char **error_r)
{
	const char *const *field, *value = NULL, *const *envs;
	unsigned int i, count;

	if (user->userdb_fields != NULL) {
		for (field = user->userdb_fields; *field != NULL; field++) {
			const char *key = t_strcut(*field, '=');

			if (str_begins(key, "plugin/"))
				key += 7;
			if (strcmp(key, name) != 0)
				continue;
			*error_r = t_strdup_printf(
				"user %s: the userdb sets %s, which "
				"pop3-apop commands take from the global "
				"configuration only (they run as root)",
				user->username, name);
			return -1;
		}
	}
	if (array_is_created(&doveadm_settings->plugin_envs)) {
		envs = array_get(&doveadm_settings->plugin_envs, &count);
		for (i = 0; i + 1 < count; i += 2) {
			if (strcmp(envs[i], name) == 0)
				value = envs[i+1];
		}
	}
	if (value != NULL && strchr(value, '%') != NULL) {
		*error_r = t_strdup_printf(
			"plugin setting %s must not contain %%-variables "
			"for pop3-apop commands (they run as root)", name);
		return -1;
	}
	*value_r = value == NULL || value[0] == '\0' ? NULL : value;
	return 0;
}

int doveadm_pop3_apop_open(struct mail_user *user,
			   struct pop3_policy_store **store_r,
			   const char **key_file_r, const char **error_r)
{
	struct pop3_policy_store_settings set;
	const char *uri, *key_file;

	*store_r = NULL;
	if (apop_global_setting(user, "pop3_policy_dict", &uri,
				error_r) < 0 ||
	    apop_global_setting(user, "pop3_policy_apop_key_file", &key_file,
				error_r) < 0)
		return -1;
	i_zero(&set);
	set.uri = uri;
	set.base_dir = user->set->base_dir;
	set.event_parent = user->event;
	if (pop3_policy_store_init(&set, store_r, error_r) < 0)
		return -1;
	*key_file_r = key_file;
	return 0;
}

int doveadm_pop3_apop_keyring(const char *key_file,
			      struct pop3_policy_apop_keyring **ring_r,
			      const char **error_r)
{
	if (key_file == NULL) {
		*error_r = "pop3_policy_apop_key_file is not set (needed to "
			"encrypt APOP secrets; use --plaintext to store one "
			"unencrypted)";
		return -1;
	}
	return pop3_policy_apop_keyring_read(key_file, ring_r, error_r);
}

void doveadm_pop3_apop_failed(struct doveadm_mail_cmd_context *ctx,
			      int mail_error, const char *error)
{
	i_error("%s", error);
	doveadm_mail_failed_error(ctx, (enum mail_error)mail_error);
}

void doveadm_pop3_apop_cmd_setup(struct doveadm_mail_cmd_context *ctx)
{
	ctx->service_flags |= MAIL_STORAGE_SERVICE_FLAG_NO_RESTRICT_ACCESS |
		MAIL_STORAGE_SERVICE_FLAG_NO_NAMESPACES;
}
