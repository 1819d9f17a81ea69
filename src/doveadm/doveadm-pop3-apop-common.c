/* Copyright (c) 2026 pop3-policy authors, see the included COPYING file */

/* What the pop3-apop commands share: the store and the key file of a user,
   from plugin { pop3_policy_dict = ...  pop3_policy_apop_key_file = ... }
   (the same URI and file that the passdb names in its args). */

#include "lib.h"
#include "mail-user.h"
#include "mail-error.h"
#include "doveadm-mail.h"
#include "pop3-policy-store.h"
#include "pop3-policy-apop-key.h"
#include "doveadm-pop3-apop.h"

int doveadm_pop3_apop_open(struct mail_user *user,
			   struct pop3_policy_store **store_r,
			   const char **key_file_r, const char **error_r)
{
	struct pop3_policy_store_settings set;
	const char *key_file;

	i_zero(&set);
	set.uri = mail_user_plugin_getenv(user, "pop3_policy_dict");
	set.base_dir = user->set->base_dir;
	set.event_parent = user->event;
	if (pop3_policy_store_init(&set, store_r, error_r) < 0)
		return -1;
	key_file = mail_user_plugin_getenv(user, "pop3_policy_apop_key_file");
	*key_file_r = key_file == NULL || key_file[0] == '\0' ? NULL : key_file;
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
