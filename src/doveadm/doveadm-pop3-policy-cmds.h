#ifndef DOVEADM_POP3_POLICY_CMDS_H
#define DOVEADM_POP3_POLICY_CMDS_H

/* Shared by the doveadm pop3-policy commands (one file per command). */

#include "doveadm-mail.h"
#include "pop3-policy-rules.h"
#include "pop3-policy-mail-settings.h"

struct pop3_policy_store;

extern struct doveadm_cmd_ver2 doveadm_pop3_policy_cmd_show;
extern struct doveadm_cmd_ver2 doveadm_pop3_policy_cmd_set;
extern struct doveadm_cmd_ver2 doveadm_pop3_policy_cmd_unset;
extern struct doveadm_cmd_ver2 doveadm_pop3_policy_cmd_sweep;
extern struct doveadm_cmd_ver2 doveadm_pop3_policy_cmd_restore;

/* For a command that uses the store: makes doveadm drop privileges to the
   mail user only temporarily, so that the store can reach the dict
   server's socket, which the mail user cannot (see
   src/lib/pop3-policy-store.c). Call from the command's alloc. */
void doveadm_pop3_policy_cmd_setup(struct doveadm_mail_cmd_context *ctx);
/* Returns doveadm's own plugin {} settings (key, value, ..., NULL; data
   stack): the site's values, before any userdb field. */
const char *const *doveadm_pop3_policy_global_envs(void);
/* Reads the user's plugin settings into set_r (strings from user->pool),
   with the reader a POP3 session uses (pop3-policy-mail-settings.h).
   Each command's run() calls it once and passes set_r on. */
void doveadm_pop3_policy_settings_read(struct mail_user *user,
				       struct pop3_policy_mail_settings *set_r);
/* Opens the user's store (set->dict_uri). Returns 1 and the store,
   0 if pop3_policy_dict is not set (store_r NULL), -1 with error_r. */
int doveadm_pop3_policy_store_open(struct mail_user *user,
				   const struct pop3_policy_mail_settings *set,
				   struct pop3_policy_store **store_r,
				   const char **error_r);
/* Opens the store and resolves the user's effective policy into
   policy_r (strings from user->pool). Returns 0 or -1 with error_r;
   the store is returned (or NULL) on both. */
int doveadm_pop3_policy_resolve(struct mail_user *user,
				const struct pop3_policy_mail_settings *set,
				struct pop3_policy_store **store_r,
				struct pop3_policy *policy_r,
				const char **error_r);

#endif
